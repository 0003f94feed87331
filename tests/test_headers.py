"""Response headers and cookies of funnel pages."""

from __future__ import annotations


def test_pages_carry_security_headers(client):
    response = client.get("/p/home-brewing")
    csp = response.headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'self'"):
        assert directive in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    # The page depends on the visitor's cookie and place: no shared caches.
    assert "private" in response.headers["Cache-Control"]
    assert "Cookie" in response.headers["Vary"]
    assert "Strict-Transport-Security" not in response.headers


def test_quiz_and_result_pages_are_not_stored(visitor):
    assert visitor.step(1).headers["Cache-Control"] == "no-store"
    location = visitor.submit().headers["Location"]
    assert visitor.client.get(location).headers["Cache-Control"] == "no-store"


def test_https_requests_get_hsts_and_secure_cookies(client):
    response = client.get("/p/home-brewing", base_url="https://shop.example")
    assert "max-age" in response.headers["Strict-Transport-Security"]
    assert "Secure" in response.headers["Set-Cookie"]


def test_frame_ancestors_come_from_config(tmp_path):
    from conftest import make_app

    app = make_app(tmp_path, FUNNEL_FRAME_ANCESTORS="https://partner.example")
    csp = app.test_client().get("/p/home-brewing").headers["Content-Security-Policy"]
    assert "frame-ancestors https://partner.example" in csp


def test_forged_visitor_cookie_is_replaced(client):
    client.set_cookie("funnel_vid", "<script>alert(1)</script>")
    response = client.get("/p/home-brewing")
    new_id = response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    assert len(new_id) == 32 and new_id.isalnum()


def test_every_answer_under_the_prefix_carries_the_headers(tmp_path):
    from conftest import make_app

    client = make_app(tmp_path, FUNNEL_API_TOKEN="t0ken").test_client()
    answers = [
        client.get("/p/no/such/address"),  # no funnel view: an unknown address
        client.delete("/p/home-brewing"),  # 405
        client.post("/p/api/purchases", json={}, headers={"Authorization": "Bearer nope"}),
        client.get("/p/admin/no-such-screen"),
    ]
    assert [a.status_code for a in answers] == [404, 405, 401, 404]
    for answer in answers:
        assert "frame-ancestors" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers.getlist("Vary").count("Cookie") <= 1
    host_page = client.get("/")
    assert "Content-Security-Policy" not in host_page.headers  # the host's own pages


def test_the_admin_session_cookie_is_secure_over_https(tmp_path):
    from conftest import make_app

    app = make_app(tmp_path)
    client = app.test_client()
    form = client.get("/p/admin/sign-in", base_url="https://shop.example")
    cookies = form.headers.getlist("Set-Cookie")
    session_cookie = [c for c in cookies if c.startswith("session=")]
    assert session_cookie and all("; Secure" in c for c in session_cookie)
    plain = app.test_client().get("/p/admin/sign-in")
    assert all("; Secure" not in c for c in plain.headers.getlist("Set-Cookie"))
