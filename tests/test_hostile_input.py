"""Hostile input at the edge: what a database refuses (NUL, lone surrogates, values past
a column, ids past 64 bits, days past the calendar) is cleaned or refused with a 4xx
before it reaches a query, on every database; never a 500, never a stuck batch."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from conftest import (
    BACKENDS,
    DEMO_PAGES,
    flush_visits,
    hidden_fields,
    make_app,
    page_text,
    parse_page,
    signed_in_admin,
)
from sqlalchemy import func, select

from flask_funnel.capture.visit_buffer import VisitBuffer
from flask_funnel.db.models import AuditEntry, Lead, Purchase, Submission, Visit
from flask_funnel.db.types import utcnow
from landing import funnel

VALID_PAGE = (DEMO_PAGES / "home-brewing.toml").read_text(encoding="utf-8")
API_TOKEN = "hostile-input-token"
HUGE = "99999999999999999999"  # past any 64-bit id
JUST_PAST = str(2**63)  # one past the largest id a database holds


@pytest.fixture(scope="module", params=BACKENDS)
def app(request, module_database, tmp_path_factory):
    """One demo app per database for the whole module (its tests share it)."""
    app = make_app(
        tmp_path_factory.mktemp(request.param),
        SQLALCHEMY_DATABASE_URI=module_database(request.param),
        FUNNEL_API_TOKEN=API_TOKEN,
        FUNNEL_VISIT_FLUSH_SECONDS=60,
        FUNNEL_RATELIMIT_ENABLED=False,  # its tests make many leads from one address
    )
    yield app
    with app.app_context():
        funnel.db.engine.dispose()


@pytest.fixture(scope="module")
def admin(app):
    """A client signed in to the admin area."""
    return signed_in_admin(app)


def scalars(app, query) -> list:
    with app.app_context():
        return funnel.db.session.scalars(query).all()


def count(app, model) -> int:
    with app.app_context():
        return funnel.db.session.scalar(select(func.count()).select_from(model))


def new_lead(app, visitor, **fields) -> Lead:
    """A lead of its own (a fresh email) made through the quiz."""
    email = f"hostile-{uuid.uuid4().hex[:12]}@example.com"
    response = visitor.submit(email=email, **fields)
    assert response.status_code == 303, response.text
    return scalars(app, select(Lead).where(Lead.email == email))[0]


def admin_token(admin) -> str:
    return hidden_fields(admin.get("/p/admin/follow-ups").text)["csrf_token"]


# --- (a) what a database refuses in text ------------------------------------------


def test_a_nul_in_a_utm_value_is_removed_and_the_views_after_it_are_stored(app, client):
    flush_visits(app)
    before = count(app, Visit)
    client.get("/p/home-brewing?utm_source=news%00letter&utm_campaign=%00&utm_term=a%00b")
    for _ in range(20):
        client.get("/p/home-brewing?utm_source=podcast")
    flush_visits(app)
    assert count(app, Visit) == before + 21
    assert "newsletter" in scalars(app, select(Visit.utm_source))
    texts = scalars(app, select(Visit.utm_campaign)) + scalars(app, select(Visit.utm_term))
    assert not any("\x00" in text for text in texts if text)


def view(visitor_id: str, **values) -> dict:
    """The parameters of one page view as ``visits.visit_row`` makes them."""
    return {
        "known_visitor": visitor_id,
        "visitor_id": visitor_id,
        "page_slug": "home-brewing",
        "variant": None,
        "at": utcnow(),
        # What must never reach a log: an address, a referrer quoting an email.
        "referrer": "https://mail.example/?to=ann.secret@example.com",
        "source": "direct",
        "device": "desktop",
        "country": None,
        "city": None,
        "ip": "203.0.113.77",
        "utm_source": None,
        "utm_medium": None,
        "utm_campaign": None,
        "utm_term": None,
        "utm_content": None,
        **values,
    }


def test_a_batch_with_a_refused_view_stores_the_others_and_logs_no_values(app, caplog):
    caplog.set_level(logging.INFO, logger="flask_funnel")
    buffer = VisitBuffer(app.extensions["funnel"].engine, seconds=60, size=1000)
    ids = [uuid.uuid4().hex for _ in range(4)]
    # A lone surrogate: no database driver can encode it (the edge removes it; a view
    # made some other way must still not hold up the batch).
    for n, visitor_id in enumerate(ids):
        buffer.add(view(visitor_id, utm_content="\ud800" if n == 1 else "spring"))
    assert buffer.flush() == 3
    assert buffer.pending() == 0
    stored = set(scalars(app, select(Visit.visitor_id).where(Visit.visitor_id.in_(ids))))
    assert stored == {ids[0], ids[2], ids[3]}
    assert "dropped 1 page views the database refused" in caplog.text
    assert "ann.secret@example.com" not in caplog.text
    assert "203.0.113" not in caplog.text
    assert all(record.exc_info is None for record in caplog.records)


def test_a_refused_view_written_in_its_request_is_dropped_and_the_next_is_stored(app):
    buffer = VisitBuffer(app.extensions["funnel"].engine, seconds=0, size=1)
    bad, good = uuid.uuid4().hex, uuid.uuid4().hex
    buffer.add(view(bad, utm_source="\udfff"))
    buffer.add(view(good))
    assert scalars(app, select(Visit.visitor_id).where(Visit.visitor_id.in_([bad, good]))) == [good]


def test_a_nul_in_the_quiz_name_is_removed(app, visitor):
    lead = new_lead(app, visitor, name="An\x00n")
    assert lead.name == "Ann"


def test_a_nul_in_the_sign_in_email_is_a_failed_sign_in(app, client):
    token = hidden_fields(client.get("/p/admin/sign-in").text)["csrf_token"]
    response = client.post(
        "/p/admin/sign-in",
        data={"csrf_token": token, "email": "nobody\x00@shop.example", "password": "guess"},
    )
    assert response.status_code == 401
    actors = scalars(app, select(AuditEntry.actor))
    assert "nobody@shop.example" in actors
    assert not any("\x00" in actor for actor in actors)


def test_a_nul_in_the_admin_filters_is_ignored(app, admin, visitor):
    lead = new_lead(app, visitor)
    for query in (
        f"q={lead.email[:22]}%00",
        f"q={lead.email}&source=direct%00&landing_page=home-brewing%00",
    ):
        response = admin.get(f"/p/admin/leads?{query}")
        assert response.status_code == 200, query
        assert lead.email in page_text(response), query
    download = admin.get(f"/p/admin/leads.csv?q={lead.email[:22]}%00")
    assert download.status_code == 200
    assert lead.email in page_text(download)


def test_a_nul_in_an_admin_address_is_not_a_500(app, admin, client):
    assert client.get("/p/admin/pages/home%00brewing").status_code == 302  # to sign in
    details = scalars(app, select(AuditEntry.detail).where(AuditEntry.action == "access_denied"))
    assert "GET /p/admin/pages/homebrewing" in details
    assert not any("\x00" in detail for detail in details if detail)
    assert admin.get("/p/admin/pages/home%00brewing").status_code == 404


# --- (b) bodies, ids, days and cursors no route expects ---------------------------


@pytest.mark.parametrize("body", ["5", "[1]", '{"email": 5}', '{"name": "\\ud800"}'])
@pytest.mark.parametrize("path", ["/p/home-brewing/quiz", "/p/admin/sign-in"])
def test_a_json_body_to_a_form_is_a_400(app, client, path, body):
    before = count(app, Submission)
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert count(app, Submission) == before


@pytest.mark.parametrize(
    "path",
    [f"/p/admin/leads/{HUGE}", f"/p/admin/leads/{JUST_PAST}", f"/p/admin/leads/{HUGE}.json"],
)
def test_a_lead_id_past_64_bits_is_a_404(admin, path):
    assert admin.get(path).status_code == 404


@pytest.mark.parametrize(
    ("path", "form"),
    [
        (f"/p/admin/leads/{HUGE}", {"intent": "note", "body": "hello"}),
        (f"/p/admin/leads/{JUST_PAST}", {"intent": "erase", "confirm": "erase"}),
        ("/p/admin/follow-ups", {"intent": "done", "follow_up_id": str(HUGE)}),
        ("/p/admin/follow-ups", {"intent": "done", "follow_up_id": "1" * 5000}),
        ("/p/admin/webhooks", {"intent": "send-again", "message_id": str(JUST_PAST)}),
        ("/p/admin/webhooks", {"intent": "remove", "endpoint_id": "-1"}),
        # Ids in range, of no lead (never made, or erased since the page was shown).
        ("/p/admin/leads/424242424242", {"intent": "note", "body": "hello"}),
        ("/p/admin/leads/424242424242", {"intent": "follow-up", "due": "2026-05-01"}),
    ],
)
def test_a_post_to_an_id_of_no_lead_is_a_404(admin, path, form):
    response = admin.post(path, data={"csrf_token": admin_token(admin), **form})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "/p/admin/leads?created_to=9999-12-31",
        "/p/admin/leads?created_from=1969-12-31",
        "/p/admin/leads?created_from=0000-01-01",
        "/p/admin/?start=0001-01-01",
        "/p/admin/?end=9999-12-31",
        "/p/admin/?start=99999-01-01",
        "/p/admin/report.csv?start=0001-01-01",
        "/p/admin/pages/home-brewing?end=9999-12-31",
    ],
)
def test_a_day_out_of_range_in_an_admin_address_is_a_422(admin, query):
    assert admin.get(query).status_code == 422


def test_the_widest_range_of_days_still_reports(admin):
    for query in (
        "/p/admin/?start=1970-01-01&end=2999-12-31",
        "/p/admin/pages/home-brewing?start=1970-01-01&end=2999-12-31",
        "/p/admin/leads?created_from=1970-01-01&created_to=2999-12-31",
    ):
        assert admin.get(query).status_code == 200, query


@pytest.mark.parametrize(
    ("action", "form", "field"),
    [
        ("follow-up", {"due": "9999-12-31", "note": "call back"}, "call back"),
        ("purchase", {"amount": "12.50", "currency": "EUR", "at": "1900-01-01"}, "12.50"),
    ],
)
def test_a_day_out_of_range_in_a_lead_form_shows_the_form_again(
    app, admin, visitor, action, form, field
):
    lead = new_lead(app, visitor)
    response = admin.post(
        f"/p/admin/leads/{lead.id}",
        data={"intent": action, "csrf_token": admin_token(admin), **form},
    )
    assert response.status_code == 422
    assert "Pick a date from 1970 to 2999." in response.text
    assert f'value="{field}"' in response.text  # the other values kept
    assert scalars(app, select(Purchase).where(Purchase.lead_id == lead.id)) == []


@pytest.mark.parametrize(
    "after",
    [
        "garbage",
        f"2026-01-01T00:00:00%2B00:00_{HUGE}",
        "2026-01-01T00:00:00%2B00:00_0",
        "0001-01-01_1",
        "9999-12-31T23:59:59_1",
        "%00_1",
    ],
)
def test_a_leads_cursor_that_is_no_place_in_the_list_is_a_400(admin, after):
    response = admin.get(f"/p/admin/leads?after={after}")
    assert response.status_code == 400
    assert "This link is not valid" in response.text


def test_the_leads_cursor_of_a_next_page_link_still_works(app, admin, visitor):
    lead = new_lead(app, visitor)
    at = lead.created_at.isoformat().replace("+", "%2B")
    response = admin.get(f"/p/admin/leads?after={at}_{lead.id + 1}")
    assert response.status_code == 200
    assert lead.email in page_text(response)


def api(client, body: str | dict):
    return client.post(
        "/p/api/purchases",
        data=body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"email": 5}, "email", "must be a string"),
        ({"email": ["ann@example.com"]}, "email", "must be a string"),
        ({"email": "{email}\x00"}, "email", "character"),
        ({"email": "\ud800{email}"}, "email", "character"),
        ({"reference": "A\x00"}, "reference", "character"),
        ({"reference": True}, "reference", "must be"),
        ({"at": "1969-12-31"}, "at", "out of range"),
        ({"at": "9999-12-31T23:00-05:00"}, "at", "out of range"),
    ],
)
def test_a_purchase_field_no_database_stores_is_a_422_naming_it(
    app, client, visitor, fields, field, says
):
    lead = new_lead(app, visitor)
    body = {"email": "{email}", "amount": 10, "currency": "EUR"} | fields
    body = {
        k: v.replace("{email}", lead.email) if isinstance(v, str) else v for k, v in body.items()
    }
    response = api(client, body)
    assert response.status_code == 422, response.text
    assert response.json["field"] == field
    assert says in response.json["error"]
    assert scalars(app, select(Purchase).where(Purchase.lead_id == lead.id)) == []


def test_a_number_as_order_reference_is_taken_as_its_digits(app, client, visitor):
    lead = new_lead(app, visitor)
    reference = uuid.uuid4().int % 10**12
    body = {"email": lead.email, "amount": 10, "currency": "EUR", "reference": reference}
    assert api(client, body).status_code == 201
    assert scalars(app, select(Purchase.reference).where(Purchase.lead_id == lead.id)) == [
        str(reference)
    ]


def test_a_json_body_nested_past_the_parser_is_a_400(client):
    response = api(client, "[" * 30_000 + "]" * 30_000)  # under the 64 KB body limit
    assert response.status_code == 400


# --- page files: which file and field, never a traceback --------------------------


def test_a_nul_in_a_page_file_names_the_file_and_field(pages_dir):
    text = VALID_PAGE.replace('version = "2026-11-01"', 'version = "2026\\u000011-01"')
    result = parse_page(pages_dir, text)
    assert result.page is None
    assert any("broken.toml: consent.version: contains a NUL" in e for e in result.errors)


def test_a_variant_id_longer_than_its_column_names_the_field(pages_dir):
    text = VALID_PAGE.replace('id = "b"\nweight = 50', f'id = "{"b" * 41}"\nweight = 50')
    result = parse_page(pages_dir, text)
    assert result.page is None
    assert any("variants[2].id: must be at most 40 characters" in e for e in result.errors)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_nul_in_the_google_return_state_is_an_expired_sign_in(
    backend, tmp_path, fresh_database, oidc_provider
):
    app = make_app(
        tmp_path, SQLALCHEMY_DATABASE_URI=fresh_database(backend), **oidc_provider.config()
    )
    try:
        response = app.test_client().get("/p/google/callback?state=abc%00def")
        assert response.status_code == 400
        assert "This sign-in has expired" in response.text
    finally:
        with app.app_context():
            funnel.db.engine.dispose()
