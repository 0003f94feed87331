"""Bots are answered like people, stored in quarantine and counted nowhere."""

from __future__ import annotations

import time

from conftest import Visitor, hidden_fields, make_app
from sqlalchemy import select

from flask_funnel.db.models import Lead, Submission


def test_honeypot_submission_is_quarantined_but_answered_like_any_other(visitor, db_session):
    response = visitor.submit(website="http://spam.example")
    assert response.status_code == 303
    assert visitor.client.get(response.headers["Location"]).status_code == 200
    submission = db_session.scalars(select(Submission)).one()
    assert submission.quarantined and submission.quarantine_reason == "honeypot"
    assert db_session.scalars(select(Lead.quarantined)).one() is True


def test_too_fast_submission_is_quarantined(tmp_path):
    app = make_app(tmp_path, FUNNEL_MIN_FILL_SECONDS=60)
    visitor = Visitor(app.test_client())
    assert visitor.submit().status_code == 303
    with app.app_context():
        from landing import funnel

        submission = funnel.db.session.scalars(select(Submission)).one()
        assert submission.quarantine_reason == "too_fast"
        assert submission.fill_seconds < 60


def test_forged_start_time_is_quarantined(visitor, db_session):
    form = visitor.contact_form()
    form["started"] = "1.0"
    visitor.submit(form)
    assert db_session.scalars(select(Submission.quarantine_reason)).one() == "no_start_time"


def test_a_start_stamp_does_not_vouch_for_a_visitor_it_was_not_made_for(visitor, db_session):
    form = visitor.contact_form()
    # A script replaying the form: the session (CSRF) kept, the visitor cookie dropped.
    visitor.client.delete_cookie("funnel_vid")
    assert visitor.submit(form, email="bot@example.com").status_code == 303
    assert db_session.scalars(select(Submission.quarantine_reason)).one() == "foreign_start"


def test_a_form_left_open_for_days_is_shown_again_to_send_once_more(
    visitor, db_session, monkeypatch
):
    from flask_funnel.capture import bots

    opened = time.time() - bots.STAMP_MAX_AGE - 60
    monkeypatch.setattr(bots.time, "time", lambda: opened)
    form = visitor.contact_form()
    monkeypatch.undo()
    again = visitor.submit(form, email="zoe@example.com")
    assert again.status_code == 400
    assert "This form expired" in again.text and 'value="zoe@example.com"' in again.text
    assert db_session.scalars(select(Submission)).all() == []
    assert visitor.submit(hidden_fields(again.text), email="zoe@example.com").status_code == 303
    db_session.rollback()  # a new read, past the first one's snapshot
    assert db_session.scalars(select(Submission.quarantined)).one() is False


def test_a_real_submission_releases_a_lead_a_bot_used_first(visitor, db_session):
    visitor.submit(website="spam")
    visitor.submit()
    assert db_session.scalars(select(Lead.quarantined)).one() is False


def test_a_bot_using_a_known_email_does_not_quarantine_the_real_lead(visitor, db_session):
    visitor.submit()
    visitor.submit(website="spam")
    assert db_session.scalars(select(Lead.quarantined)).one() is False


def test_quarantined_leads_are_left_out_of_the_export(visitor, runner):
    visitor.submit(email="person@example.com")
    visitor.submit(email="bot@example.com", website="spam")
    plain = runner.invoke(args=["funnel", "export", "--format", "json"])
    assert "person@example.com" in plain.output and "bot@example.com" not in plain.output
    everything = runner.invoke(
        args=["funnel", "export", "--format", "json", "--include-quarantined"]
    )
    assert "bot@example.com" in everything.output


def test_visits_are_linked_by_the_first_real_submission_not_by_a_quarantined_one(visitor, app):
    from conftest import flush_visits

    from flask_funnel.db.models import Visit
    from landing import funnel

    visitor.land()
    visitor.submit(website="spam")
    flush_visits(app)
    with app.app_context():
        assert funnel.db.session.scalars(select(Visit.lead_id)).all() == [None]
    visitor.submit()
    visitor.land()
    flush_visits(app)
    with app.app_context():
        lead_id = funnel.db.session.scalars(select(Lead.id)).one()
        assert funnel.db.session.scalars(select(Visit.lead_id)).all() == [lead_id, lead_id]
