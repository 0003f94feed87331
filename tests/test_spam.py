"""Bots are answered like people, stored in quarantine and counted nowhere."""

from __future__ import annotations

from conftest import Visitor, make_app
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
