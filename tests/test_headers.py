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
