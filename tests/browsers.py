"""Headless Chromium for the browser tests: Debian's binary (FUNNEL_TEST_CHROMIUM),
driven by Playwright, nothing downloaded; the demo served over real HTTP; axe-core
(npm, tests/browser/) injected into pages."""

from __future__ import annotations

import json
import os
import threading
from contextlib import contextmanager
from pathlib import Path

from conftest import PHONE_BROWSER
from werkzeug.serving import make_server

from landing import create_app, funnel

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "user_agent": PHONE_BROWSER,  # Chromium's own says HeadlessChrome: a bot's
}
SMALL_PHONE = PHONE | {"viewport": {"width": 360, "height": 740}}
DESKTOP = {
    "viewport": {"width": 1366, "height": 768},
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/130.0.0.0 Safari/537.36",
}

AXE = Path(__file__).resolve().parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ["FUNNEL_TEST_CHROMIUM"],
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def served(app):
    """``app`` on 127.0.0.1 until the block ends: yields its address."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def serve(url, **config):
    """The demo app on the empty database at ``url``, served on 127.0.0.1 until the test
    ends."""
    app = create_app(
        {
            "SECRET_KEY": "browser",
            "SQLALCHEMY_DATABASE_URI": url,
            "FUNNEL_MIN_FILL_SECONDS": 0,
            **config,
        }
    )
    with app.app_context():
        funnel.db.create_all()
    with served(app) as base:
        yield app, base
    with app.app_context():
        funnel.db.engine.dispose()


def exported(app) -> list[dict]:
    result = app.test_cli_runner().invoke(args=["funnel", "export", "--format", "json"])
    return json.loads(result.stdout)


def axe_violations(page, impacts=("serious", "critical")) -> list[str]:
    """What axe-core (WCAG 2.0-2.2 A and AA rules) finds on ``page`` at ``impacts``, one
    line each: the rule, and where."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, {runOnly: {type: 'tag', values:
            ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)}));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {node}"
        for v in result
        if v["impact"] in impacts
        for node in v["nodes"]
    ]


def focused(page) -> dict:
    """The element that has the keyboard focus: its tag, type, name, text, and whether
    the focus shows (an outline or a box-shadow on it or on the choice around it)."""
    return page.evaluate(
        """() => {
          const e = document.activeElement;
          const ring = (n) => { const s = getComputedStyle(n);
            return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                   || s.boxShadow !== 'none'; };
          const around = e.closest('.choice');
          return {tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '',
                  value: e.value || '', text: (e.innerText || '').trim().slice(0, 80),
                  classes: e.className || '', visible: ring(e) || (!!around && ring(around))};
        }"""
    )


def tab_to(page, matches, presses: int = 40, key: str = "Tab") -> dict:
    """Press Tab until the focused element ``matches`` (a predicate on ``focused``):
    what a keyboard user does to reach it. Fails after ``presses`` presses."""
    for _ in range(presses):
        page.keyboard.press(key)
        element = focused(page)
        if matches(element):
            return element
    raise AssertionError(f"{presses} presses of {key} never reached it; last: {element}")


def small_chart_labels(page, smallest: float = 11) -> list[str]:
    """The visible chart labels (SVG text) on ``page`` drawn smaller than ``smallest``
    CSS pixels, each with its size."""
    return page.evaluate(
        """(smallest) => [...document.querySelectorAll('svg text')].filter(t => {
            const box = t.getBoundingClientRect();
            return box.width > 0 && box.height > 0;
          }).map(t => {
            const size = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
            return [t.textContent.trim(), size];
          }).filter(([, size]) => size < smallest)
          .map(([text, size]) => `${text}: ${size.toFixed(1)} px`)""",
        smallest,
    )
