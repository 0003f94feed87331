"""A visitor's path: landing page, one question per step, contact step, thank-you page."""

from __future__ import annotations

from conftest import ANSWERS, flush_visits, hidden_fields, shows_hero
from sqlalchemy import func, select

from flask_funnel.db.models import Answer, Consent, Lead, StepView, Submission


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_landing_page_shows_hero_and_starts_the_quiz(visitor):
    response = visitor.land()
    assert response.status_code == 200
    assert shows_hero(response.text)
    assert 'href="/p/home-brewing/quiz"' in response.text
    assert "/p/assets/images/hero-coffee.svg" in response.text


def test_unknown_page_is_a_404_page(client):
    response = client.get("/p/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_each_question_is_its_own_step_with_picture_choices_and_progress(visitor):
    first = visitor.client.get("/p/home-brewing/quiz")
    assert first.status_code == 200
    assert "How do you like your coffee?" in first.text
    assert first.text.count('type="radio"') == 4
    assert "/p/assets/images/cup-black.svg" in first.text
    # Counted as the landing page counts them ("3 quick questions"); the bar shows the
    # steps done, the contact step one of them.
    assert "Question 1 of 3" in first.text and 'max="4" value="0"' in first.text
    assert "checked" not in first.text

    second = visitor.step(2, {"style": "milk"})
    assert "How much time do you have in the morning?" in second.text
    assert "Question 2 of 3" in second.text and 'max="4" value="1"' in second.text
    contact = visitor.step(4, {"style": "milk", "time": "5min", "gear": "grinder"})
    assert "Last step" in contact.text and 'max="4" value="3"' in contact.text
    assert hidden_fields(second.text)["q_style"] == "milk"


def test_previous_returns_to_the_earlier_question_with_its_answer_kept(visitor):
    back = visitor.step(1, {"style": "iced", "time": "10min"})
    assert "How do you like your coffee?" in back.text
    assert 'value="iced" checked' in back.text
    # The later answer travels along, so going forward again keeps it too.
    assert hidden_fields(back.text)["q_time"] == "10min"


def test_next_without_an_answer_shows_the_question_again_with_an_error(visitor):
    response = visitor.step(2, {})
    assert response.status_code == 422
    assert "How do you like your coffee?" in response.text
    assert "Please choose an answer." in response.text


def test_full_quiz_stores_a_lead_and_redirects_to_the_result(visitor, db_session):
    response = visitor.submit(email="  Ann@Example.COM ")
    assert response.status_code == 303
    assert "/p/home-brewing/thanks/" in response.headers["Location"]

    lead = db_session.scalars(select(Lead)).one()
    assert lead.email == "ann@example.com"
    assert lead.name == "Ann"
    assert lead.stage == "mql"  # 7 points reach the page's mql_threshold
    submission = db_session.scalars(select(Submission)).one()
    assert submission.score == 7
    assert not submission.quarantined
    answers = {a.question_id: a.choice_id for a in db_session.scalars(select(Answer))}
    assert answers == ANSWERS

    thanks = visitor.client.get(response.headers["Location"])
    assert thanks.status_code == 200
    assert "You are a pour-over person" in thanks.text
    assert "Download the guide" in thanks.text


def test_outcome_follows_the_score_band(visitor):
    low = {"style": "iced", "time": "1min", "gear": "none"}
    response = visitor.submit(visitor.contact_form(low), email="low@example.com")
    assert "Start with a French press" in visitor.client.get(response.headers["Location"]).text
    high = {"style": "espresso", "time": "10min", "gear": "machine"}
    response = visitor.submit(visitor.contact_form(high), email="high@example.com")
    assert "Home espresso is your thing" in visitor.client.get(response.headers["Location"]).text


def test_offer_file_downloads_only_with_the_thank_you_token(visitor):
    response = visitor.submit()
    token = response.headers["Location"].rsplit("/", 1)[1]
    download = visitor.client.get(f"/p/home-brewing/offer/{token}")
    assert download.status_code == 200
    assert download.data.startswith(b"%PDF")
    assert "attachment" in download.headers["Content-Disposition"]
    download.close()
    assert visitor.client.get("/p/home-brewing/offer/forged.token").status_code == 404
    assert visitor.client.get("/p/home-brewing/thanks/forged.token").status_code == 404


def test_consent_record_keeps_version_hash_and_time(visitor, db_session, app):
    visitor.submit()
    consent = db_session.scalars(select(Consent)).one()
    page = app.extensions["funnel"].pages.get("home-brewing")
    assert consent.text == page.consent.text
    assert consent.text_version == "2026-11-01"
    import hashlib

    assert consent.text_hash == hashlib.sha256(page.consent.text.encode()).hexdigest()
    assert consent.given_at.tzinfo is not None
    assert consent.purpose == "newsletter"


def test_consent_box_is_unticked_by_default(visitor):
    html = visitor.step(4, ANSWERS).text
    consent_input = html[html.index('name="consent"') - 60 : html.index('name="consent"') + 60]
    assert "checked" not in consent_input


def test_missing_consent_gives_the_form_back_with_values_kept(visitor, db_session):
    response = visitor.submit(consent=None, email="keep@example.com", name="Keep Me")
    assert response.status_code == 422
    assert "Please tick the box to continue." in response.text
    assert 'value="keep@example.com"' in response.text
    assert 'value="Keep Me"' in response.text
    assert count(db_session, Lead) == 0


def test_invalid_email_gives_the_form_back_with_the_error_beside_it(visitor, db_session):
    response = visitor.submit(email="not-an-email", name="Ann")
    assert response.status_code == 422
    assert 'id="email-error"' in response.text
    assert "Please enter a valid email address" in response.text
    assert 'value="not-an-email"' in response.text
    assert count(db_session, Lead) == 0 and count(db_session, Submission) == 0


def test_overlong_email_is_rejected(visitor, db_session):
    response = visitor.submit(email="a" * 250 + "@example.com")
    assert response.status_code == 422
    assert "too long" in response.text
    assert count(db_session, Lead) == 0


def test_unknown_choice_id_is_rejected_and_nothing_stored(visitor, db_session):
    form = visitor.contact_form()
    form["q_gear"] = "rocket"
    response = visitor.submit(form)
    assert response.status_code == 422
    assert "What do you already have at home?" in response.text
    assert "That answer is not one of the options" in response.text
    assert count(db_session, Lead) == 0 and count(db_session, Submission) == 0


def test_missing_earlier_answer_sends_the_visitor_back_to_that_question(visitor, db_session):
    form = visitor.contact_form()
    del form["q_time"]
    response = visitor.submit(form)
    assert response.status_code == 422
    assert "How much time do you have in the morning?" in response.text
    assert count(db_session, Submission) == 0


def test_post_without_csrf_token_is_rejected_and_stores_nothing(visitor, db_session):
    form = visitor.contact_form()
    del form["csrf_token"]
    response = visitor.submit(form, email="nocsrf@example.com")
    assert response.status_code == 400
    assert 'value="nocsrf@example.com"' in response.text
    assert count(db_session, Lead) == 0


def test_expired_csrf_token_shows_the_form_again_with_values_kept(tmp_path, db_session):
    from conftest import Visitor, make_app

    (tmp_path / "expired").mkdir()
    app = make_app(tmp_path / "expired", WTF_CSRF_TIME_LIMIT=1)
    visitor = Visitor(app.test_client())
    form = visitor.contact_form()
    import time

    time.sleep(2.1)
    response = visitor.submit(form, email="late@example.com", name="Late")
    assert response.status_code == 400
    assert "This form expired" in response.text
    assert 'value="late@example.com"' in response.text
    fresh = hidden_fields(response.text)
    assert fresh["csrf_token"] != form["csrf_token"]
    assert fresh["key"] == form["key"]
    assert visitor.submit(fresh, email="late@example.com").status_code == 303


def test_body_over_the_limit_is_413(client):
    response = client.post("/p/home-brewing/quiz", data={"email": "x" * (1024 * 1024)})
    assert response.status_code == 413
    assert "larger than this form accepts" in response.text


def test_step_views_are_recorded_once_per_visitor_and_step(visitor, db_session):
    visitor.client.get("/p/home-brewing/quiz")
    visitor.step(2, {"style": "black"})
    # Steps go through the visit buffer with the page views: written in one batch.
    assert db_session.execute(select(StepView.step)).scalars().all() == []
    visitor.step(2, {"style": "black"})
    visitor.step(3, {"style": "black", "time": "1min"})
    flush_visits(visitor.client)
    db_session.rollback()  # a new snapshot
    rows = db_session.execute(select(StepView.step)).scalars().all()
    assert sorted(rows) == [1, 2, 3]


def test_quiz_works_without_javascript(visitor):
    """Every step is a plain HTML form: GET steps, then a POST; the script is optional."""
    html = visitor.client.get("/p/home-brewing/quiz").text
    assert '<form class="quiz-step" method="get"' in html
    assert 'type="submit" name="step" value="2"' in html
    assert 'method="post"' in visitor.step(4, ANSWERS).text


def test_withdrawing_consent_is_one_click_on_the_result_page(visitor, db_session):
    location = visitor.submit().headers["Location"]
    page = visitor.client.get(location).text
    assert "Withdraw my consent" in page
    token = hidden_fields(page)["csrf_token"]
    assert visitor.client.post(f"{location}/withdraw").status_code == 400  # no CSRF token
    assert db_session.scalars(select(Consent.withdrawn_at)).one() is None
    response = visitor.client.post(f"{location}/withdraw", data={"csrf_token": token})
    assert response.status_code == 303
    db_session.rollback()  # end the read snapshot
    assert db_session.scalars(select(Consent.withdrawn_at)).one() is not None
    assert "Your consent is withdrawn" in visitor.client.get(location).text


def test_a_database_outage_answers_503_with_the_form_intact(visitor, monkeypatch, db_session):
    from sqlalchemy.exc import OperationalError

    import flask_funnel.views.public.routes as public

    def unavailable(engine, entry, **_):
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    form = visitor.contact_form()
    monkeypatch.setattr(public, "capture", unavailable)
    response = visitor.submit(form, email="retry@example.com", name="Retry")
    assert response.status_code == 503
    assert "We could not save this just now" in response.text
    assert 'value="retry@example.com"' in response.text
    assert hidden_fields(response.text)["key"] == form["key"]
    monkeypatch.undo()
    assert (
        visitor.submit(hidden_fields(response.text), email="retry@example.com").status_code == 303
    )
    assert count(db_session, Lead) == 1
