"""The admin area: signing in and out, the leads list, the lead page and its actions."""

from __future__ import annotations

import csv
import io
import re
import time

import pytest
from conftest import Visitor, add_leads, hidden_fields, page_text
from sqlalchemy import select

from flask_funnel.auth import accounts
from flask_funnel.auth.sign_in_brake import SignInBrake
from flask_funnel.db.models import AuditEntry, FollowUp, Lead, Note

PASSWORD = "correct horse battery"
XSS = '"><img src=x onerror=alert(1)>'


def sign_in(client, email="boss@shop.example", password=PASSWORD, next_url=""):
    token = hidden_fields(client.get("/p/admin/sign-in").text)["csrf_token"]
    url = "/p/admin/sign-in" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"csrf_token": token, "email": email, "password": password})


def csrf(client, path: str) -> str:
    return hidden_fields(client.get(path).text)["csrf_token"]


def audit_actions(db_session) -> list[tuple[str, str]]:
    db_session.rollback()
    return db_session.execute(
        select(AuditEntry.actor, AuditEntry.action).order_by(AuditEntry.id)
    ).all()


@pytest.fixture
def leads(client):
    visitor = Visitor(client)
    for email, name in (("ann@example.com", "Ann"), ("bob@example.org", XSS)):
        visitor.submit(email=email, name=name)
    visitor.submit(email="bot@example.net", website="spam")


def lead_id(db_session, email):
    db_session.rollback()
    return db_session.scalars(select(Lead.id).where(Lead.email == email)).one()


# --- signing in ---------------------------------------------------------------------


def test_admin_pages_need_a_signed_in_admin(client, db_session):
    response = client.get("/p/admin/leads?stage=mql")
    assert response.status_code == 302
    assert "/p/admin/sign-in?next=/p/admin/leads?stage%3Dmql" in response.headers["Location"]
    assert ("anonymous", "access_denied") in audit_actions(db_session)
    assert client.post("/p/admin/leads/1", data={"intent": "note", "body": "x"}).status_code == 401


def test_signing_in_goes_back_to_the_page_asked_for(app, client, db_session):
    accounts.create_admin(app.extensions["funnel"].engine, "boss@shop.example", PASSWORD)
    response = sign_in(client, next_url="/p/admin/follow-ups")
    assert response.status_code == 303
    assert response.headers["Location"] == "/p/admin/follow-ups"
    assert client.get("/p/admin/follow-ups").status_code == 200
    assert ("boss@shop.example", "sign_in") in audit_actions(db_session)


def test_next_never_leads_off_the_site(app, client):
    accounts.create_admin(app.extensions["funnel"].engine, "boss@shop.example", PASSWORD)
    response = sign_in(client, next_url="//evil.example/x")
    assert response.headers["Location"] == "/p/admin/"


def test_wrong_password_and_unknown_admin_get_401_and_are_audited(app, client, db_session):
    accounts.create_admin(app.extensions["funnel"].engine, "boss@shop.example", PASSWORD)
    wrong = sign_in(client, password="not the password")
    assert wrong.status_code == 401 and "Wrong email or password." in wrong.text
    assert 'value="boss@shop.example"' in wrong.text
    assert sign_in(client, email="nobody@shop.example").status_code == 401
    assert audit_actions(db_session) == [
        ("boss@shop.example", "sign_in_failed"),
        ("nobody@shop.example", "sign_in_failed"),
    ]


def test_repeated_failures_pause_sign_in(app, client, db_session):
    state = app.extensions["funnel"]
    state.sign_in_brake = SignInBrake(state.counters, attempts=3, minutes=15)
    accounts.create_admin(app.extensions["funnel"].engine, "boss@shop.example", PASSWORD)
    for _ in range(3):
        assert sign_in(client, password="guess guess guess").status_code == 401
    blocked = sign_in(client)  # even the right password, for now
    assert blocked.status_code == 429 and "Too many attempts" in blocked.text
    assert audit_actions(db_session)[-1] == ("boss@shop.example", "sign_in_blocked")


def test_sign_in_without_csrf_token_is_refused_and_audited(app, client, db_session):
    accounts.create_admin(app.extensions["funnel"].engine, "boss@shop.example", PASSWORD)
    response = client.post(
        "/p/admin/sign-in", data={"email": "boss@shop.example", "password": PASSWORD}
    )
    assert response.status_code == 400 and "This form has expired" in response.text
    assert ("anonymous", "csrf_failed") in audit_actions(db_session)
    assert client.get("/p/admin/leads").status_code == 302


def test_sign_out_really_ends_the_session(admin_client, db_session):
    stolen = admin_client.get_cookie("session").value
    token = csrf(admin_client, "/p/admin/leads")
    response = admin_client.post("/p/admin/sign-out", data={"csrf_token": token})
    assert response.status_code == 303
    assert admin_client.get("/p/admin/leads").status_code == 302
    admin_client.set_cookie("session", stolen)  # a copy of the old cookie is worthless
    assert admin_client.get("/p/admin/leads").status_code == 302
    assert ("boss@shop.example", "sign_out") in audit_actions(db_session)


def test_idle_sessions_expire(app, admin_client, monkeypatch):
    assert admin_client.get("/p/admin/leads").status_code == 200
    later = time.time() + 31 * 60
    monkeypatch.setattr("flask_funnel.auth.admin_session.time.time", lambda: later)
    assert admin_client.get("/p/admin/leads").status_code == 302


def test_sessions_end_after_the_absolute_lifetime_even_when_busy(app, admin_client, monkeypatch):
    start = time.time()
    for minutes in range(20, 12 * 60, 20):  # a request every 20 minutes: never idle
        monkeypatch.setattr(
            "flask_funnel.auth.admin_session.time.time", lambda m=minutes: start + m * 60
        )
        assert admin_client.get("/p/admin/leads").status_code == 200
    monkeypatch.setattr("flask_funnel.auth.admin_session.time.time", lambda: start + 12 * 3600 + 60)
    assert admin_client.get("/p/admin/leads").status_code == 302


def test_the_host_can_let_its_own_users_in(app, client, db_session):
    from flask import request

    from landing import funnel

    funnel.authorize_admins(
        lambda: "host-user" if request.headers.get("X-Role") == "sales" else None
    )
    try:
        assert client.get("/p/admin/leads").status_code == 302
        assert client.get("/p/admin/leads", headers={"X-Role": "sales"}).status_code == 200
    finally:
        funnel.admin_authorizer = None


def test_admin_pages_are_not_stored_by_caches(admin_client):
    response = admin_client.get("/p/admin/leads")
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]


# --- leads list ---------------------------------------------------------------------


def test_leads_list_hides_suspected_bots_unless_asked(admin_client, leads):
    html = page_text(admin_client.get("/p/admin/leads"))
    assert "ann@example.com" in html and "bob@example.org" in html
    assert "bot@example.net" not in html
    only = page_text(admin_client.get("/p/admin/leads?quarantined=only"))
    assert "bot@example.net" in only and "ann@example.com" not in only


def test_leads_list_searches_and_filters(admin_client, leads):
    assert "ann@example.com" in page_text(admin_client.get("/p/admin/leads?q=ann@"))
    found = page_text(admin_client.get("/p/admin/leads?q=ANN"))
    assert "ann@example.com" in found and "bob@example.org" not in found
    assert "No leads match" in page_text(admin_client.get("/p/admin/leads?stage=customer"))
    assert "ann@example.com" in page_text(admin_client.get("/p/admin/leads?stage=mql"))
    bad = admin_client.get("/p/admin/leads?created_from=yesterday&country=Germany")
    assert bad.status_code == 422
    assert "Not a valid date value." in page_text(bad)
    assert "Field must be exactly 2 characters long." in page_text(bad)


def test_hostile_names_show_as_text_everywhere(admin_client, leads, db_session):
    listing = admin_client.get("/p/admin/leads").text
    assert XSS not in listing
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in listing
    page = admin_client.get(f"/p/admin/leads/{lead_id(db_session, 'bob@example.org')}").text
    assert XSS not in page and "&lt;img src=x" in page


def test_pages_of_fifty_with_a_next_link(app, admin_client):
    add_leads(app, 120)
    first = admin_client.get("/p/admin/leads?sort=oldest")
    assert "120 leads" in first.text
    assert "p000@" in first.text and "p050@" not in first.text
    next_url = next(part for part in first.text.split('"') if "after=" in part)
    next_url = next_url.replace("&amp;", "&")
    second = admin_client.get(next_url)
    assert "p050@" in second.text and "p000@" not in second.text and "p100@" not in second.text


def test_filtered_export_is_spreadsheet_safe_and_audited(admin_client, leads, db_session):
    response = admin_client.get("/p/admin/leads.csv?q=bob")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["email"] for r in rows] == ["bob@example.org"]
    assert rows[0]["name"] == XSS  # starts with '"', not a formula character
    json_rows = admin_client.get("/p/admin/leads.json?stage=mql").json
    assert {r["email"] for r in json_rows} == {"ann@example.com", "bob@example.org"}
    actions = audit_actions(db_session)
    assert ("boss@shop.example", "export") in actions


# --- the lead page and its actions ---------------------------------------------------


def test_lead_page_shows_contact_consent_answers_history_and_visits(
    admin_client, leads, db_session
):
    html = admin_client.get(f"/p/admin/leads/{lead_id(db_session, 'ann@example.com')}").text
    assert "ann@example.com" in html
    assert "version 2026-11-01" in html
    # A question that ends in its own punctuation gets no colon after it.
    assert "How do you like your coffee? <strong>Black, nothing added</strong>" in html
    assert "quiz score 7 reached 7" in html
    assert admin_client.get("/p/admin/leads/999").status_code == 404


def test_an_admin_works_a_lead_through_to_repeat_customer(admin_client, leads, db_session):
    ann = lead_id(db_session, "ann@example.com")
    page = f"/p/admin/leads/{ann}"
    token = csrf(admin_client, page)
    for stage in ("sal", "sql"):
        response = admin_client.post(
            page,
            data={
                "intent": "stage",
                "csrf_token": token,
                "stage": stage,
                "reason": "call went well",
            },
        )
        assert response.status_code == 303
    for ref in ("ORDER-1", "ORDER-2"):
        admin_client.post(
            page,
            data={
                "intent": "purchase",
                "csrf_token": token,
                "amount": "49",
                "currency": "EUR",
                "reference": ref,
            },
        )
    admin_client.post(page, data={"intent": "note", "csrf_token": token, "body": "Prefers email."})
    admin_client.post(
        page, data={"intent": "follow-up", "csrf_token": token, "due": "2020-01-01", "note": "call"}
    )
    db_session.rollback()
    assert db_session.get(Lead, ann).stage == "repeat_customer"
    assert db_session.scalars(select(Note.body)).all() == ["Prefers email."]
    html = admin_client.get(page).text
    assert "call went well" in html and "ORDER-2" in html
    due = admin_client.get("/p/admin/follow-ups").text
    assert "overdue" in due and "Ann" in due
    follow_up_id = db_session.scalars(select(FollowUp.id)).one()
    done = {"intent": "done", "follow_up_id": follow_up_id, "csrf_token": token}
    assert admin_client.post("/p/admin/follow-ups", data=done).status_code == 303
    assert "Nothing due" in admin_client.get("/p/admin/follow-ups").text
    assert ("boss@shop.example", "stage_change") in audit_actions(db_session)


def test_bad_action_input_gives_the_lead_page_back_with_the_error(admin_client, leads, db_session):
    page = f"/p/admin/leads/{lead_id(db_session, 'ann@example.com')}"
    token = csrf(admin_client, page)
    bad_stage = admin_client.post(
        page, data={"intent": "stage", "csrf_token": token, "stage": "won", "reason": "x"}
    )
    assert bad_stage.status_code == 422 and "Not a valid choice." in bad_stage.text
    no_reason = admin_client.post(
        page, data={"intent": "stage", "csrf_token": token, "stage": "sal"}
    )
    assert no_reason.status_code == 422 and "This field is required." in no_reason.text
    amount = admin_client.post(
        page, data={"intent": "purchase", "csrf_token": token, "amount": "forty", "currency": "EUR"}
    )
    assert amount.status_code == 422 and "&#39;forty&#39; is not a number" in amount.text
    assert 'value="forty"' in amount.text
    future = admin_client.post(
        page,
        data={
            "intent": "purchase",
            "csrf_token": token,
            "amount": "40",
            "currency": "EUR",
            "at": "2998-01-01",
        },
    )
    assert future.status_code == 422 and "is in the future" in future.text
    date = admin_client.post(page, data={"intent": "follow-up", "csrf_token": token, "due": "soon"})
    assert date.status_code == 422 and "Pick a date." in date.text
    no_csrf = admin_client.post(page, data={"intent": "note", "body": "hi"})
    assert no_csrf.status_code == 400
    db_session.rollback()
    assert db_session.scalars(select(Note.id)).all() == []
    assert (
        db_session.scalars(select(Lead.stage).where(Lead.email == "ann@example.com")).one() == "mql"
    )


def test_a_suspected_bot_can_be_released(admin_client, leads, db_session):
    bot = lead_id(db_session, "bot@example.net")
    token = csrf(admin_client, f"/p/admin/leads/{bot}")
    admin_client.post(f"/p/admin/leads/{bot}", data={"intent": "release", "csrf_token": token})
    db_session.rollback()
    assert db_session.get(Lead, bot).quarantined is False
    assert ("boss@shop.example", "release") in audit_actions(db_session)


def test_follow_ups_tell_two_people_of_one_name_apart_by_their_email(app, admin_client):
    from datetime import UTC, datetime

    from flask_funnel.leads.notes import add_follow_up

    visitor = Visitor(admin_client)
    people = [
        ("ann@first.example", "Ann Example"),
        ("ann@second.example", "Ann Example"),
        ("nameless@example.com", None),
        ("hostile@example.com", XSS),
    ]
    for email, name in people:
        visitor.submit(email=email, name=name)
    engine = app.extensions["funnel"].engine
    with engine.connect() as connection:
        ids = dict(connection.execute(select(Lead.email, Lead.id)).all())
    for email, _ in people:
        add_follow_up(engine, ids[email], "boss", datetime.now(UTC), f"call {email}")
    html = admin_client.get("/p/admin/follow-ups").text
    rows = {
        email: next(row for row in html.split("<tr")[1:] if f"call {email}" in row)
        for email, _ in people
    }

    def text(row: str) -> str:  # what a reader sees of the lead's cell
        cell = row.split("<td")[2].replace("<wbr>", "")
        return " ".join(re.sub(r"<[^>]+>", " ", cell.split(">", 1)[1]).split())

    assert text(rows["ann@first.example"]) == "Ann Example ann@first.example"
    assert text(rows["ann@second.example"]) == "Ann Example ann@second.example"
    assert text(rows["nameless@example.com"]) == "nameless@example.com"  # once
    assert XSS not in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in rows["hostile@example.com"]


def test_the_audit_page_lists_what_happened(admin_client):
    html = admin_client.get("/p/admin/audit").text
    assert "sign_in" in html and "boss@shop.example" in html


def test_everything_about_a_person_downloads_as_json(admin_client, leads, db_session):
    ann = lead_id(db_session, "ann@example.com")
    response = admin_client.get(f"/p/admin/leads/{ann}.json")
    record = response.json
    assert record["lead"]["email"] == "ann@example.com"
    assert {a["choice_id"] for a in record["quiz_submissions"][0]["answers"]} == {
        "black",
        "5min",
        "grinder",
    }
    assert record["consents"][0]["text_version"] == "2026-11-01"
    assert "idempotency_key" not in record["quiz_submissions"][0]
    assert ("boss@shop.example", "export") in audit_actions(db_session)


def test_erasing_a_person_removes_them_and_their_visits(admin_client, db_session):
    from flask_funnel.db.models import Answer, Consent, StageChange, Submission, Visit

    visitor = Visitor(admin_client)
    visitor.land()
    visitor.submit(email="forget.me@example.com", name="Forget Me")
    admin_client.application.extensions["funnel"].visits.flush()
    gone = lead_id(db_session, "forget.me@example.com")
    page = f"/p/admin/leads/{gone}"
    token = csrf(admin_client, page)
    unconfirmed = admin_client.post(page, data={"intent": "erase", "csrf_token": token})
    assert unconfirmed.status_code == 422 and "Type erase to confirm." in unconfirmed.text
    assert db_session.get(Lead, gone) is not None
    response = admin_client.post(
        page, data={"intent": "erase", "csrf_token": token, "confirm": "erase"}
    )
    assert response.status_code == 303
    db_session.rollback()
    assert db_session.get(Lead, gone) is None
    for model in (Submission, Answer, Consent, StageChange):
        assert db_session.scalars(select(model.id).where(model.lead_id == gone)).all() == []
    assert db_session.scalars(select(Visit.id)).all() == []
    entry = db_session.execute(
        select(AuditEntry.action, AuditEntry.lead_id, AuditEntry.detail).where(
            AuditEntry.action == "delete"
        )
    ).one()
    assert entry == ("delete", gone, "erased")
    assert admin_client.get(page).status_code == 404


def test_search_finds_names_by_any_word_and_emails_by_their_start(admin_client):
    visitor = Visitor(admin_client)
    visitor.submit(email="maria@example.com", name="María José García-López")
    visitor.submit(email="jo@example.com", name="Jo Smith")
    visitor.submit(email="bot@example.com", name="Garcia Bot", website="spam")

    def found(q):
        html = admin_client.get("/p/admin/leads", query_string={"q": q, "quarantined": "include"})
        return sorted(e for e in ("maria@", "jo@", "bot@") if e in html.text)

    assert found("garc") == ["maria@"]  # a suspected bot's name is not indexed
    assert found("lópez") == ["maria@"]
    assert found("maría jo") == ["maria@"]  # every word must match the start of one
    assert found("jo") == ["jo@", "maria@"]  # "Jo", "José"
    assert found("smith jo") == ["jo@"]
    assert found("jo@") == ["jo@"]
    assert found("%") == []


@pytest.mark.parametrize(
    ("name", "q"),
    [
        ("Sam Smith", "smith"),
        # Both words start with "sam": the terms index finds each lead twice.
        ("Sam Samson", "sam"),
    ],
)
def test_a_name_search_pages_through_every_match_once(app, admin_client, name, q):
    from flask_funnel.db.sqlite_writer import writing
    from flask_funnel.leads.name_terms import add_terms
    from landing import funnel

    add_leads(app, 60)
    with app.app_context():
        leads = funnel.db.session.scalars(select(Lead)).all()
        for lead in leads:
            lead.name = f"{name} {lead.id}"
        funnel.db.session.commit()
        with writing(app.extensions["funnel"].engine) as connection:
            add_terms(
                connection, [(lead.id, lead.name, lead.email, lead.created_at) for lead in leads]
            )
    first = admin_client.get(f"/p/admin/leads?q={q}")
    assert "50+ leads" in first.text
    next_url = next(part for part in first.text.split('"') if "after=" in part)
    second = admin_client.get(next_url.replace("&amp;", "&"))
    seen = [f"p{n:03}@" for n in range(60)]
    on_first = {e for e in seen if e in first.text}
    on_second = {e for e in seen if e in second.text}
    assert len(on_first) == 50 and len(on_second) == 10 and not on_first & on_second


def test_an_export_stopped_half_way_is_still_audited(admin_client, leads, db_session):
    response = admin_client.get("/p/admin/leads.csv?stage=mql", buffered=False)
    next(response.response)  # the header row reaches the browser, then the download stops
    response.close()
    db_session.rollback()
    details = db_session.scalars(
        select(AuditEntry.detail).where(AuditEntry.action == "export")
    ).all()
    assert details == ["leads as csv where stage=mql"]
