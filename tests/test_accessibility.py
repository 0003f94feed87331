"""Accessibility as a test: axe-core (WCAG 2.2 A and AA rules) on every visitor page and
every admin screen, in English and Persian, on a 360 px phone and a 1366 px desktop; and
the screenshots of each, saved for a person to look at.

Collected with the other browser tests (FUNNEL_TEST_CHROMIUM); axe-core comes from npm
(``npm ci --prefix tests/browser``, as ``.ci/run`` does).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from browsers import (
    AXE,
    DESKTOP,
    SMALL_PHONE,
    axe_violations,
    served,
    small_chart_labels,
)
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, DATABASE, ROOT, sign_up
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from flask_funnel.db.models import Submission
from landing import create_app, funnel

SIZES = {"phone": SMALL_PHONE, "desktop": DESKTOP}
LANGUAGES = {"en": "en-GB", "fa": "fa-IR"}
#: Where the screenshots go (FUNNEL_TEST_SCREENSHOTS, else build/screenshots).
SCREENSHOTS = Path(os.environ.get("FUNNEL_TEST_SCREENSHOTS") or ROOT / "build" / "screenshots")


@pytest.fixture(scope="module")
def site(module_database):
    """The demo, served, with an admin and a lead that has a bit of everything: notes, a
    follow-up due, a purchase, a webhook message."""
    from flask_funnel.auth import accounts
    from flask_funnel.db.types import utcnow
    from flask_funnel.leads import notes, purchases, stages

    assert AXE.exists(), f"axe-core is missing: npm ci --prefix {AXE.parents[2]}"
    app = create_app(
        {
            "SECRET_KEY": "accessibility",
            "SQLALCHEMY_DATABASE_URI": module_database(DATABASE),
            "FUNNEL_MIN_FILL_SECONDS": 0,
            "FUNNEL_WEBHOOKS": {"crm": {"url": "http://127.0.0.1:9/hook", "secret": "s" * 32}},
            "FUNNEL_WEBHOOK_ALLOW_PRIVATE": True,
        }
    )
    with app.app_context():
        funnel.db.create_all()
    engine = app.extensions["funnel"].engine
    accounts.create_admin(engine, ADMIN_EMAIL, ADMIN_PASSWORD)
    with app.app_context():
        lead = sign_up(app, "a.very.long.address.of.someone@subdomain.example.org")
        sign_up(app, "ann@example.com")
        stages.move_lead(engine, lead, "mql", actor="test")
        notes.add_note(engine, lead, "test", "Asked about <b>grinders</b> & kettles.")
        notes.add_follow_up(engine, lead, "test", utcnow() - timedelta(hours=1), "Call back")
        purchases.record_purchase(
            engine, lead_id=lead, amount="42.50", currency="EUR", reference="A-1", actor="test"
        )
    with app.app_context():
        key = funnel.db.session.scalar(
            select(Submission.idempotency_key).where(Submission.lead_id == lead)
        )
    # The link of the emails' unsubscribe footer (tests/test_emails.py follows a real one).
    unsubscribe = URLSafeSerializer(app.secret_key, salt="flask-funnel-unsubscribe").dumps(key)
    with served(app) as base:
        yield app, base, lead, f"/p/unsubscribe/{unsubscribe}"
    with app.app_context():
        funnel.db.engine.dispose()


def visitor_pages(page, base: str, unsubscribe: str):
    """Each visitor page, as a visitor reaches it: yields its name once ``page`` shows it."""
    slug = "home-brewing"
    page.goto(f"{base}/")
    yield "host-home"
    page.goto(f"{base}/p/{slug}")
    yield "landing"
    page.locator(".hero a.button-primary").click()
    page.locator(".question legend").wait_for()
    yield "question-1"
    for n in range(3):
        page.locator(".choice").first.click()
        page.get_by_role("button", name=re.compile("Next|بعدی")).click()
        page.wait_for_url(re.compile(rf"step={n + 2}"))
    yield "contact"
    page.locator("button[type=submit]").first.click()
    page.locator(".field-error").first.wait_for()
    yield "contact-errors"
    page.locator("input[type=email]").fill(f"axe.{id(page)}@example.com")
    page.locator("input[type=checkbox]").check()
    page.locator("button[type=submit]").first.click()
    page.locator(".offer").wait_for()
    yield "result"
    page.goto(f"{base}/p/qahve-dam/quiz?q_style=black&q_time=5min&q_gear=kettle&step=4")
    page.locator("input[type=email]").fill(f"axe.code.{id(page)}@example.com")
    page.locator("input[type=checkbox]").check()
    page.locator("button[type=submit]").first.click()
    page.locator(".offer-code").wait_for()
    yield "result-code"
    page.goto(f"{base}/p/{slug}/quiz?step=2")  # no answer given: the browser lets it through
    page.locator(".field-error").wait_for()
    yield "question-unanswered"
    page.goto(f"{base}/p/{slug}/embed")
    yield "embed"
    page.goto(f"{base}/p/no-such-page")
    yield "not-found"
    page.goto(base + unsubscribe)
    yield "unsubscribe"  # the button, or (after an earlier run pressed it) the answer
    button = page.locator("form button[type=submit]")
    if button.count():
        button.click()
        page.locator("[role=status]").wait_for()
        yield "unsubscribed"


def admin_pages(page, base: str, lead: int, language: str):
    admin = f"{base}/p/admin"
    page.goto(f"{admin}/sign-in")
    yield "sign-in"
    page.get_by_label(re.compile("Email|ایمیل")).fill(ADMIN_EMAIL)
    page.get_by_label(re.compile("Password|گذرواژه|رمز")).fill("wrong password")
    page.locator("form button[type=submit]").last.click()
    yield "sign-in-failed"
    page.get_by_label(re.compile("Password|گذرواژه|رمز")).fill(ADMIN_PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/admin/$"))
    # The admin's language is kept on the account: choose this run's.
    page.locator(f"form.language button[value={language}]").click()
    page.wait_for_load_state()
    yield "dashboard"
    for name, path in (
        ("page-report", "/pages/home-brewing"),
        ("leads", "/leads"),
        ("leads-search", "/leads?q=example.org"),
        ("lead", f"/leads/{lead}"),
        ("follow-ups", "/follow-ups"),
        ("webhooks", "/webhooks"),
        ("audit", "/audit"),
        ("preview", "/preview?page=home-brewing&country=IR"),
        ("make-default", "/pages/home-brewing/variants/b/make-default"),
    ):
        page.goto(admin + path)
        yield name


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES)
def test_every_page_passes_axe_and_is_photographed(site, browser, size, language):
    _, base, lead, unsubscribe = site
    # axe-core goes in as an inline script, which the pages' CSP rightly refuses.
    context = browser.new_context(locale=LANGUAGES[language], bypass_csp=True, **SIZES[size])
    page = context.new_page()
    found = {}
    for journey in (
        visitor_pages(page, base, unsubscribe),
        admin_pages(page, base, lead, language),
    ):
        for name in journey:
            page.wait_for_load_state()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=SCREENSHOTS / f"{name}-{language}-{size}.png", full_page=True)
            violations = axe_violations(page) + [
                f"chart label under 11 px: {label}" for label in small_chart_labels(page)
            ]
            if violations:
                found[name] = violations
    context.close()
    assert not found, "\n".join(f"{name}: {v}" for name, vs in found.items() for v in vs)
