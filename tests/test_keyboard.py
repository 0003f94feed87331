"""Keyboard-only journeys, and the quiz's pointer behaviour, in headless Chromium: the
visitor's quiz from the landing page to the result, and an admin's main tasks (sign in,
find a lead, move its stage, record a purchase). WCAG 2.2: 2.1.1 keyboard, 2.4.3 focus
order, 2.4.7 focus visible, 3.2.2 on input (choosing never submits), 3.3.1 errors.

Collected with the other browser tests (FUNNEL_TEST_CHROMIUM).
"""

from __future__ import annotations

import re

from browsers import DESKTOP, PHONE, exported, focused, serve, tab_to
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, DATABASE, sign_up

from flask_funnel.db.models import Purchase


def step_of(page) -> str:
    return page.locator(".step-count").inner_text()


def test_a_keyboard_user_takes_the_quiz_and_choosing_never_submits(browser, site):
    app, base = site
    page = browser.new_page(**DESKTOP)
    page.goto(f"{base}/p/home-brewing")
    tab_to(page, lambda e: e["tag"] == "a" and "button-primary" in e["classes"])
    page.keyboard.press("Enter")

    # Each step starts at its question, as a screen reader would read it.
    page.wait_for_url(re.compile(r"/quiz"))
    assert focused(page)["text"] == "How do you like your coffee?"
    assert step_of(page) == "Question 1 of 3"
    choice = tab_to(page, lambda e: e["type"] == "radio")
    assert choice["visible"], "the focused answer shows no focus ring"
    # Arrow keys move between the answers and choose as they go, but never submit.
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    page.wait_for_timeout(600)  # longer than a tap's wait before it goes on
    assert step_of(page) == "Question 1 of 3"
    assert focused(page)["value"] == "espresso"
    page.keyboard.press("ArrowUp")
    assert focused(page)["value"] == "iced"
    page.keyboard.press("Enter")  # the form's own submit: Next

    page.get_by_text("Question 2 of 3").wait_for()
    assert focused(page)["text"] == "How much time do you have in the morning?"
    tab_to(page, lambda e: e["type"] == "radio")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.get_by_text("Question 3 of 3").wait_for()
    tab_to(page, lambda e: e["type"] == "radio")
    page.keyboard.press("Space")
    page.wait_for_timeout(600)
    assert step_of(page) == "Question 3 of 3"
    next_button = tab_to(page, lambda e: e["tag"] == "button")
    assert next_button["text"] == "Next" and next_button["visible"]
    page.keyboard.press("Enter")

    page.get_by_text("Last step").wait_for()
    assert focused(page)["text"] == "Where should we send your result?"
    assert page.locator("progress").get_attribute("value") == "3"  # of 4: one to go
    tab_to(page, lambda e: e["name"] == "email")
    page.keyboard.type("keys.only@example.com")
    tab_to(page, lambda e: e["tag"] == "button" and e["type"] == "submit")
    page.keyboard.press("Enter")

    # The error is beside the field, the focus on it, and the field says it is invalid.
    page.get_by_text("Please tick the box to continue.").wait_for()
    assert focused(page)["name"] == "consent"
    assert page.locator("input[name=consent]").get_attribute("aria-describedby") == (
        "consent-error"
    )
    page.keyboard.press("Space")
    tab_to(page, lambda e: e["tag"] == "button" and e["type"] == "submit")
    page.keyboard.press("Enter")
    page.locator(".offer").wait_for()
    [lead] = exported(app)
    assert lead["email"] == "keys.only@example.com"
    assert lead["answers"] == {"style": "iced", "time": "5min", "gear": "none"}


def test_tapping_the_answer_chosen_before_goes_on(browser, site):
    """After Previous, the answer given is shown chosen; tapping it again continues."""
    _, base = site
    page = browser.new_page(**PHONE)
    page.goto(f"{base}/p/home-brewing/quiz")
    page.get_by_text("With milk").click()
    page.get_by_text("Question 2 of 3").wait_for()
    page.get_by_role("button", name="Previous").click()
    page.get_by_text("Question 1 of 3").wait_for()
    assert page.get_by_label("With milk").is_checked()
    page.get_by_text("With milk").click()
    page.get_by_text("Question 2 of 3").wait_for()


def test_auto_advance_can_be_turned_off(browser, fresh_database):
    serving = serve(fresh_database(DATABASE), FUNNEL_QUIZ_AUTO_ADVANCE=False)
    _, base = next(serving)
    try:
        page = browser.new_page(**PHONE)
        page.goto(f"{base}/p/home-brewing/quiz")
        page.get_by_text("With milk").click()
        page.wait_for_timeout(600)
        assert step_of(page) == "Question 1 of 3"
        page.get_by_role("button", name="Next").click()
        page.get_by_text("Question 2 of 3").wait_for()
    finally:
        next(serving, None)


def test_the_copy_button_shows_only_when_it_can_copy(browser, site):
    """Without JavaScript the Persian result page shows the code and no dead button."""
    _, base = site
    answers = "q_style=black&q_time=5min&q_gear=kettle&step=4"
    for javascript in (False, True):
        context = browser.new_context(java_script_enabled=javascript, locale="fa-IR", **PHONE)
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.goto(f"{base}/p/qahve-dam/quiz?{answers}")
        page.locator("input[type=email]").fill(f"copy.{javascript}@example.com")
        page.locator("input[type=checkbox]").check()
        page.locator("button[type=submit]").first.click()
        page.get_by_text("BLOOM15").wait_for()
        assert page.get_by_role("button", name="کپی کد").is_visible() is javascript
        context.close()


def test_reduced_motion_is_respected(browser, site):
    _, base = site
    context = browser.new_context(reduced_motion="reduce", **PHONE)
    page = context.new_page()
    page.goto(f"{base}/p/home-brewing/quiz")
    durations = page.evaluate(
        "() => [...document.querySelectorAll('.choice')]"
        ".map(e => getComputedStyle(e).transitionDuration)"
    )
    assert durations and set(durations) == {"0s"}
    context.close()


def test_an_admin_does_the_main_tasks_by_keyboard(browser, site):
    app, base = site
    from flask_funnel.auth import accounts

    accounts.create_admin(app.extensions["funnel"].engine, ADMIN_EMAIL, ADMIN_PASSWORD)
    with app.app_context():
        lead_id = sign_up(app, "kim.keyboard@example.org")
        sign_up(app, "other@example.com")
    page = browser.new_page(**DESKTOP)
    page.goto(f"{base}/p/admin/")

    # Sign in: the email field has the focus; Tab to the password, Enter.
    assert focused(page)["name"] == "email"
    page.keyboard.type(ADMIN_EMAIL)
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "password"
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Funnel").wait_for()

    # Find the lead: the menu, the search field, the lead's link.
    link = tab_to(page, lambda e: e["tag"] == "a" and e["text"] == "Leads")
    assert link["visible"]
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/admin/leads"))
    tab_to(page, lambda e: e["name"] == "q")
    page.keyboard.type("kim")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=kim"))
    tab_to(page, lambda e: e["tag"] == "a" and "kim.keyboard" in e["text"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/leads/{lead_id}$"))

    # Move its stage: the select takes arrow keys, the button Enter.
    tab_to(page, lambda e: e["name"] == "stage")
    page.keyboard.press("ArrowDown")  # lead -> mql
    tab_to(page, lambda e: e["tag"] == "button" and e["text"] == "Move")
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    page.locator(".heading .stage-mql").wait_for()

    # Record a purchase.
    tab_to(page, lambda e: e["name"] == "amount")
    page.keyboard.type("19.90")
    tab_to(page, lambda e: e["name"] == "currency")
    page.keyboard.type("EUR")
    tab_to(page, lambda e: e["tag"] == "button" and "purchase" in e["text"].lower())
    page.keyboard.press("Enter")
    page.locator(".heading .stage-customer").wait_for()
    from landing import funnel

    with app.app_context():
        [purchase] = funnel.db.session.query(Purchase).all()
    assert (purchase.lead_id, str(purchase.amount), purchase.currency) == (lead_id, "19.90", "EUR")
