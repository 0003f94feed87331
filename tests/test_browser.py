"""A visitor in a real browser (headless Chromium through Playwright), on a phone.

Collected when FUNNEL_TEST_CHROMIUM names a Chromium binary (``.ci/run`` installs
Debian's and sets it; see conftest.py); Playwright drives it, nothing is downloaded.
"""

from __future__ import annotations

import threading

import pytest
from browsers import PHONE, exported, serve, served
from conftest import DATABASE, host_layout_app


def test_a_phone_visitor_taps_through_the_quiz_and_becomes_a_lead(browser, site):
    app, base = site
    page = browser.new_page(**PHONE)
    page.goto(f"{base}/p/home-brewing?utm_source=instagram")
    page.locator(".hero a.button-primary").click()

    # With JavaScript on, tapping a picture is enough to go to the next step.
    page.get_by_text("With milk").click()
    page.get_by_text("How much time do you have in the morning?").wait_for()
    page.get_by_text("About five minutes").click()
    page.get_by_text("What do you already have at home?").wait_for()
    page.get_by_role("button", name="Previous").click()
    assert page.get_by_label("About five minutes").is_checked()
    page.get_by_role("button", name="Next").click()
    page.get_by_text("A grinder").click()

    page.get_by_label("Email", exact=True).fill("Phone.User@Example.com")
    page.get_by_role("button", name="Get my result").click()
    assert page.get_by_text("Please tick the box to continue.").is_visible()
    assert page.get_by_label("Email", exact=True).input_value() == "Phone.User@Example.com"
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Get my result").click()

    page.get_by_text("You are a pour-over person").wait_for()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the guide").click()
    assert download.value.suggested_filename == "home-brewing-guide.pdf"

    leads = exported(app)
    assert [(lead["email"], lead["source"], lead["score"]) for lead in leads] == [
        ("phone.user@example.com", "instagram", 7)
    ]
    assert leads[0]["answers"] == {"style": "milk", "time": "5min", "gear": "grinder"}


def test_the_quiz_works_with_javascript_off(browser, site):
    app, base = site
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    page.goto(f"{base}/p/qahve-dam/quiz")
    assert page.locator("html").get_attribute("dir") == "rtl"
    for label in ("سرد", "فقط آخر هفته‌ها", "کتری"):
        page.get_by_text(label).click()
        page.get_by_role("button", name="بعدی").click()
    page.get_by_label("ایمیل", exact=True).fill("no-js@example.com")
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="نتیجه‌ام را ببینم").click()
    page.get_by_text("BLOOM15").wait_for()
    assert [lead["email"] for lead in exported(app)] == ["no-js@example.com"]
    context.close()


@pytest.fixture
def google_site(fresh_database, oidc_provider):
    yield from serve(fresh_database(DATABASE), **oidc_provider.config())


def test_a_phone_visitor_signs_up_with_google_in_one_tap_of_a_button(browser, google_site):
    app, base = google_site
    page = browser.new_page(**PHONE)
    page.goto(f"{base}/p/home-brewing?utm_source=instagram")
    page.locator(".hero a.button-primary").click()
    page.get_by_text("Black, nothing added").click()
    page.get_by_text("How much time do you have in the morning?").wait_for()
    page.get_by_text("About five minutes").click()
    page.get_by_text("What do you already have at home?").wait_for()
    page.get_by_text("A grinder").click()

    page.get_by_role("link", name="Continue with Google").click()
    page.get_by_role("button", name="alice").click()  # the account chooser of the provider

    page.get_by_text("Signed in with Google as").wait_for()
    assert page.get_by_text("alice@gmail.example").is_visible()
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Get my result").click()
    page.get_by_text("You are a pour-over person").wait_for()

    [lead] = exported(app)
    assert (lead["email"], lead["name"], lead["source"], lead["score"]) == (
        "alice@gmail.example",
        "Alice Gee",
        "instagram",
        7,
    )


def take_the_quiz(where, email: str, first=None) -> None:
    """Tap through the demo quiz (pour-over answers) in ``where`` (a page or a frame)
    and sign up as ``email``; ``first`` is the first answer's element, if not the
    page's own "With milk"."""
    (first or where.get_by_text("With milk")).click()
    where.get_by_text("About five minutes").click()
    where.get_by_text("A grinder").click()
    where.get_by_label("Email", exact=True).fill(email)
    where.get_by_role("checkbox").check()
    where.get_by_role("button", name="Get my result").click()
    where.get_by_text("You are a pour-over person").wait_for()


def test_the_quiz_inside_the_host_s_page_goes_on_in_the_funnel(browser, site):
    """``{{ funnel_quiz("home-brewing") }}`` on the demo's home page: a tap on a picture
    there continues with the second question, then on to a lead."""
    app, base = site
    page = browser.new_page(**PHONE)
    page.goto(f"{base}/")
    page.get_by_text("Or start right here").wait_for()
    take_the_quiz(
        page, "home.page@example.com", page.locator(".funnel-embed").get_by_text("With milk")
    )
    [lead] = exported(app)
    assert (lead["email"], lead["landing_page"]) == ("home.page@example.com", "home-brewing")


def test_the_quiz_in_an_iframe_on_another_site_signs_up_and_sizes_its_frame(
    browser, fresh_database
):
    """A static page on http://localhost:<port> (another site than 127.0.0.1, so the
    browser sends the funnel none of its SameSite=Lax cookies in the frame) embeds
    ``/p/home-brewing/embed`` with the README's snippet; a visitor signs up inside."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    host = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    host_url = f"http://localhost:{host.server_port}"
    serving = serve(fresh_database(DATABASE), FUNNEL_FRAME_ANCESTORS=host_url)
    app, base = next(serving)
    snippet = (
        f"<!doctype html><title>A blog post</title><h1>Our coffee blog</h1>"
        f'<iframe data-flask-funnel src="{base}/p/home-brewing/embed" title="Quiz"'
        f' style="width:100%;border:0;height:150px"></iframe>'
        f'<script src="{base}/p/static/embed.js" async></script>'
    )

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(snippet.encode())

        def log_message(self, *args):
            pass

    host.RequestHandlerClass = Page
    threading.Thread(target=host.serve_forever, daemon=True).start()
    try:
        page = browser.new_page(**PHONE)
        page.goto(host_url)
        frame = page.frame_locator("iframe[data-flask-funnel]")
        frame.locator(".hero a.button-primary").click()
        take_the_quiz(frame, "in.a.frame@example.com")
        page.wait_for_function(
            "document.querySelector('iframe[data-flask-funnel]').offsetHeight > 400"
        )
        [lead] = exported(app)
        assert lead["email"] == "in.a.frame@example.com"
        assert lead["source"] == "localhost"  # the page that embeds it
    finally:
        host.shutdown()
        host.server_close()
        next(serving, None)


def test_a_host_layout_s_nonced_script_runs_and_an_injected_one_does_not(browser, tmp_path):
    """FUNNEL_CSP's nonce (see tests/test_csp.py) in a real browser."""
    app = host_layout_app(tmp_path)
    with served(app) as base:
        page = browser.new_page(user_agent=PHONE["user_agent"])
        blocked = []
        page.on(
            "console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None
        )
        page.goto(f"{base}/p/home-brewing")
        assert page.evaluate("document.documentElement.dataset.analytics") == "on"
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.injected = 1'; document.head.appendChild(s); }"
        )
        assert page.evaluate("window.injected") is None  # no nonce: refused
        assert blocked
