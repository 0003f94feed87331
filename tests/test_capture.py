"""Visits and leads: every visitor recorded, every submission stored exactly once."""

from __future__ import annotations

import time

from conftest import ANSWERS, flush_visits
from sqlalchemy import func, select

from flask_funnel import lead_captured, stage_changed
from flask_funnel.db.models import Lead, StageChange, Submission, Visit

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"


def test_first_view_sets_an_anonymous_visitor_cookie_and_records_the_visit(visitor, db_session):
    response = visitor.land(
        "?utm_source=Newsletter&utm_medium=email&utm_campaign=autumn",
        Referer="https://mail.example.org/inbox",
        **{"User-Agent": PHONE},
    )
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("funnel_vid=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    flush_visits(visitor.client)
    visit = db_session.scalars(select(Visit)).one()
    assert len(visit.visitor_id) == 32
    assert visit.page_slug == "home-brewing"
    assert (visit.utm_source, visit.utm_medium, visit.utm_campaign) == (
        "Newsletter",
        "email",
        "autumn",
    )
    assert visit.source == "newsletter"
    assert visit.referrer == "https://mail.example.org/inbox"
    assert visit.device == "mobile"
    assert visit.lead_id is None
    assert visit.ip == "127.0.0.0"  # stored truncated to its /24


def test_new_visitors_ids_start_with_the_time_and_end_at_random(app):
    """Each new browser's rows go to the end of the indexes on ``visitor_id``: the first
    12 hex digits are the time in milliseconds, the other 20 random."""
    client = app.test_client()
    before = time.time_ns() // 1_000_000
    ids = []
    for _ in range(3):
        client.get("/p/home-brewing")
        ids.append(client.get_cookie("funnel_vid").value)
        client.delete_cookie("funnel_vid")
        time.sleep(0.002)
    after = time.time_ns() // 1_000_000
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert all(len(i) == 32 and set(i) <= set("0123456789abcdef") for i in ids)
    assert before <= int(ids[0][:12], 16) <= int(ids[-1][:12], 16) <= after
    assert len({i[12:] for i in ids}) == 3


def test_referrer_domain_is_the_source_when_there_are_no_utm_tags(visitor, db_session):
    visitor.land(Referer="https://www.google.com/search?q=coffee")
    visitor.land(Referer="http://localhost/p/home-brewing")  # our own site: direct
    visitor.land()
    flush_visits(visitor.client)
    sources = db_session.scalars(select(Visit.source).order_by(Visit.id)).all()
    assert sources == ["google.com", "direct", "direct"]


def test_returning_visitor_keeps_one_id(visitor, db_session):
    visitor.land()
    visitor.land()
    flush_visits(visitor.client)
    ids = db_session.scalars(select(Visit.visitor_id)).all()
    assert len(ids) == 2 and len(set(ids)) == 1


def test_submission_links_earlier_anonymous_visits_and_later_ones(visitor, db_session):
    visitor.land("?utm_source=ads")
    visitor.land()
    visitor.submit()
    visitor.land()
    flush_visits(visitor.client)
    lead = db_session.scalars(select(Lead)).one()
    assert db_session.scalars(select(Visit.lead_id)).all() == [lead.id] * 3
    assert lead.source == "ads"  # first touch
    assert lead.utm_source == "ads"


def test_double_submit_stores_one_submission(visitor, db_session):
    form = visitor.contact_form()
    first = visitor.submit(form)
    second = visitor.submit(form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db_session.scalar(select(func.count()).select_from(Submission)) == 1


def test_same_email_in_other_case_updates_the_one_lead(visitor, db_session):
    visitor.submit(email="Ann@Example.com", name="Ann")
    visitor.submit(email="ANN@example.COM", name="Ann Smith")
    visitor.submit(email="ann@example.com", name="")
    lead = db_session.scalars(select(Lead)).one()
    assert lead.email == "ann@example.com"
    assert lead.name == "Ann Smith"  # an empty name never erases a known one
    assert db_session.scalar(select(func.count()).select_from(Submission)) == 3


LOW_SCORE = {"style": "iced", "time": "1min", "gear": "none"}  # 1 point, threshold 7


def test_new_lead_enters_the_lead_stage_with_a_stage_change_row(visitor, db_session):
    visitor.submit(visitor.contact_form(LOW_SCORE))
    visitor.submit(visitor.contact_form(LOW_SCORE))  # a returning lead does not enter again
    assert db_session.scalars(select(Lead.stage)).one() == "lead"
    change = db_session.scalars(select(StageChange)).one()
    assert (change.from_stage, change.to_stage, change.actor) == ("visitor", "lead", "system")
    assert "home-brewing" in change.reason
    assert change.at.tzinfo is not None


def test_signals_tell_the_host_about_new_leads(app, visitor):
    captured, changed = [], []

    def on_capture(sender, **kw):
        captured.append(kw)

    def on_change(sender, **kw):
        changed.append(kw)

    with lead_captured.connected_to(on_capture, app), stage_changed.connected_to(on_change, app):
        form = visitor.contact_form()
        visitor.submit(form)
        visitor.submit(form)  # a repeat is not news
    assert len(captured) == 1
    assert captured[0]["created"] is True and captured[0]["page"] == "home-brewing"
    assert [c["to_stage"] for c in changed] == ["lead", "mql"]


def test_hostile_text_is_stored_exactly_as_typed(visitor, db_session):
    name = "Robert'); DROP TABLE funnel_leads;-- <script>"
    assert visitor.submit(name=name).status_code == 303
    assert db_session.scalars(select(Lead.name)).one() == name


def test_name_newlines_are_folded_so_they_cannot_forge_log_lines(visitor, db_session):
    visitor.submit(name="Ann\nINFO fake log line")
    assert db_session.scalars(select(Lead.name)).one() == "Ann INFO fake log line"


def test_logs_name_the_lead_id_never_the_email(visitor, caplog):
    caplog.set_level("INFO", logger="flask_funnel")
    visitor.submit(email="secret.person@example.com", name="Secret Person")
    text = caplog.text
    assert "lead 1 created" in text
    assert "secret.person" not in text and "Secret Person" not in text


def test_answers_are_stored_per_question(visitor, db_session):
    from flask_funnel.db.models import Answer

    visitor.submit()
    rows = db_session.execute(select(Answer.question_id, Answer.choice_id, Answer.points)).all()
    assert sorted(rows) == sorted(
        [("style", "black", 2), ("time", "5min", 2), ("gear", "grinder", 3)]
    )
    assert {q: c for q, c, _ in rows} == ANSWERS


def test_a_score_reaching_the_page_threshold_makes_the_lead_marketing_qualified(
    visitor, db_session
):
    visitor.submit(visitor.contact_form(LOW_SCORE))
    assert db_session.scalars(select(Lead.stage)).one() == "lead"
    visitor.submit()  # 7 points: the page's mql_threshold
    db_session.rollback()  # end the read snapshot
    assert db_session.scalars(select(Lead.stage)).one() == "mql"
    rows = db_session.execute(
        select(
            StageChange.from_stage, StageChange.to_stage, StageChange.actor, StageChange.reason
        ).order_by(StageChange.id)
    ).all()
    assert rows[-1] == ("lead", "mql", "system", "quiz score 7 reached 7 on page home-brewing")


def test_a_quarantined_high_score_qualifies_nobody(visitor, db_session):
    visitor.submit(website="spam")
    assert db_session.scalars(select(Lead.stage)).one() == "lead"


def test_a_lead_further_on_is_not_moved_back_by_a_new_quiz(visitor, db_session, app):
    from flask_funnel.db.sqlite_writer import writing
    from flask_funnel.leads import stages

    visitor.submit(visitor.contact_form(LOW_SCORE))
    lead_id = db_session.scalars(select(Lead.id)).one()
    with writing(app.extensions["funnel"].engine) as connection:
        stages.move(connection, lead_id, "sql", actor="admin@example.com")
    visitor.submit()
    db_session.rollback()  # end the read snapshot
    assert db_session.scalars(select(Lead.stage)).one() == "sql"
