"""The funnel pages' Content-Security-Policy, as the host needs it (FUNNEL_CSP): extended
with the host's analytics, replaced, or left to the host; and a nonce for the inline
code of the host's layout."""

from __future__ import annotations

import os
import re
import threading

import pytest
from conftest import PHONE_BROWSER, make_app
from jinja2 import ChoiceLoader, DictLoader
from werkzeug.serving import make_server

from flask_funnel.settings import SettingsError

#: A host layout with an inline script and style, as analytics snippets come.
LAYOUT = """<!doctype html><html lang="{{ locale }}" dir="{{ direction }}"><head>
<title>{% block title %}{% endblock %}</title>{% block funnel_head %}{% endblock %}
<style nonce="{{ csp_nonce() }}">body { outline: 1px solid red; }</style>
<script nonce="{{ csp_nonce() }}">document.documentElement.dataset.analytics = "on";</script>
</head><body>{% block funnel_body %}{% endblock %}</body></html>"""


def host_app(tmp_path, **config):
    app = make_app(tmp_path, FUNNEL_BASE_TEMPLATE="host/layout.html", **config)
    app.jinja_env.loader = ChoiceLoader(
        [DictLoader({"host/layout.html": LAYOUT}), app.jinja_env.loader]
    )
    return app


def landing(app):
    return app.test_client().get("/p/home-brewing", headers={"User-Agent": PHONE_BROWSER})


def test_the_host_layout_s_inline_code_passes_with_the_nonce(tmp_path):
    response = landing(host_app(tmp_path))
    policy = response.headers["Content-Security-Policy"]
    [nonce] = set(re.findall(r'nonce="([^"]+)"', response.text))
    assert f"script-src 'self' 'nonce-{nonce}'" in policy
    assert f"style-src 'self' 'nonce-{nonce}'" in policy
    other = landing(host_app(tmp_path))  # a new nonce for every response
    assert nonce not in other.headers["Content-Security-Policy"]


def test_a_page_without_the_nonce_keeps_the_strict_policy(app):
    policy = landing(app).headers["Content-Security-Policy"]
    assert "nonce" not in policy and "script-src" not in policy


def test_the_policy_can_be_extended_replaced_or_left_to_the_host(tmp_path):
    extended = make_app(
        tmp_path, FUNNEL_CSP={"script-src": ["https://plausible.io"], "connect-src": ["https:"]}
    )
    policy = landing(extended).headers["Content-Security-Policy"]
    assert "script-src 'self' https://plausible.io" in policy
    assert "connect-src 'self' https:" in policy and "object-src 'none'" in policy
    (tmp_path / "b").mkdir()
    replaced = host_app(tmp_path / "b", FUNNEL_CSP="default-src 'self' 'nonce-{nonce}'")
    response = landing(replaced)
    [nonce] = set(re.findall(r'nonce="([^"]+)"', response.text))
    assert response.headers["Content-Security-Policy"] == f"default-src 'self' 'nonce-{nonce}'"
    (tmp_path / "c").mkdir()
    left = landing(make_app(tmp_path / "c", FUNNEL_CSP=False))
    assert "Content-Security-Policy" not in left.headers
    assert left.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"script-src": "https://x"}, "must be a list of sources"),
        ({"script-src": ["https://x; script-src *"]}, "must be a list of sources"),
        ({"Script Src": ["x"]}, "is not a directive name"),
        ("default-src 'self'\nX-Evil: 1", "one non-empty line"),
        (42, "must be None, False"),
    ],
)
def test_a_wrong_policy_stops_the_app_and_names_the_key(tmp_path, value, expected):
    with pytest.raises(SettingsError, match=expected):
        make_app(tmp_path, FUNNEL_CSP=value)


@pytest.mark.skipif(not os.environ.get("FUNNEL_TEST_CHROMIUM"), reason="needs Chromium")
def test_in_a_browser_the_layout_s_script_runs_and_a_foreign_one_does_not(tmp_path):
    from playwright.sync_api import sync_playwright

    app = host_app(tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ["FUNNEL_TEST_CHROMIUM"], args=["--no-sandbox"]
            )
            page = browser.new_page(user_agent=PHONE_BROWSER)
            blocked = []
            page.on(
                "console",
                lambda m: blocked.append(m.text) if "Content Security" in m.text else None,
            )
            page.goto(f"http://127.0.0.1:{server.server_port}/p/home-brewing")
            assert page.evaluate("document.documentElement.dataset.analytics") == "on"
            page.evaluate(
                "() => { const s = document.createElement('script');"
                " s.textContent = 'window.injected = 1'; document.head.appendChild(s); }"
            )
            assert page.evaluate("window.injected") is None  # no nonce: refused
            assert blocked
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
