"""Every form of the admin area posts to the address of the page that shows it: one that
succeeds answers 303 (post/redirect/get), one that fails gives that page back at that
same address (a 422, or 400 for an expired form) with the values typed and the errors,
so the browser never rests on an address that is only a POST."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Visitor, hidden_fields
from sqlalchemy import func, select

from flask_funnel.db.models import FollowUp, Lead, Note, Purchase, StageChange, WebhookEndpointRow
from flask_funnel.leads.notes import add_follow_up
from flask_funnel.leads.webhook_endpoints import add_endpoint

#: The header's forms, on every page, post to their own addresses and answer 303 back.
HEADER_ACTIONS = ("/p/admin/language", "/p/admin/sign-out")


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"method": (attrs.get("method") or "get").lower(), **attrs})
        elif tag == "input" and attrs.get("name") == "intent" and self.forms:
            self.forms[-1]["intent"] = attrs.get("value")


def decoded(app, cookie: str) -> str:
    """What a session cookie holds (signed, not encrypted: anyone holding it can read it)."""
    return str(app.session_interface.get_signing_serializer(app).loads(cookie))


def post_forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return [f for f in parser.forms if f["method"] == "post"]


@pytest.fixture
def lead(app, admin_client) -> str:
    """The page of a lead (its address)."""
    Visitor(admin_client).submit(email="ann@example.com", name="Ann")
    with app.extensions["funnel"].engine.connect() as connection:
        lead_id = connection.scalar(select(Lead.id))
    return f"/p/admin/leads/{lead_id}"


def count(app, model) -> int:
    with app.extensions["funnel"].engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def token(client, page: str) -> str:
    return hidden_fields(client.get(page).text)["csrf_token"]


@pytest.mark.parametrize("page", ["lead", "/p/admin/webhooks", "/p/admin/follow-ups"])
def test_every_form_of_a_page_posts_to_the_page_itself(app, admin_client, lead, page):
    engine = app.extensions["funnel"].engine
    lead_id = int(lead.rsplit("/", 1)[1])
    add_follow_up(engine, lead_id, "boss", datetime.now(UTC), "call")
    with engine.begin() as connection:
        connection.execute(Lead.__table__.update().values(quarantined=True))  # shows Release
    settings = app.extensions["funnel"].settings.webhooks
    add_endpoint(  # shows Remove
        engine,
        settings,
        name="crm",
        url="http://127.0.0.1:9/h",
        events=["lead.captured"],
        actor="boss",
        allow_private=True,
    )
    path = lead if page == "lead" else page
    forms = [
        f for f in post_forms(admin_client.get(path).text) if f["action"] not in HEADER_ACTIONS
    ]
    assert forms
    assert {f["action"] for f in forms} == {path}
    assert all(f.get("intent") for f in forms)  # each says which form it is
    assert {f["intent"] for f in forms} == {
        "lead": {"release", "erase", "stage", "follow-up", "purchase", "note"},
        "/p/admin/webhooks": {"add", "remove"},
        "/p/admin/follow-ups": {"done"},
    }[page]


@pytest.mark.parametrize(
    ("fields", "error", "kept"),
    [
        ({"intent": "stage", "stage": "sal", "reason": ""}, "This field is required.", None),
        ({"intent": "stage", "stage": "won", "reason": "kept"}, "Not a valid choice.", "kept"),
        ({"intent": "note", "body": "x" * 5001}, "5000 characters", "x" * 5001),
        ({"intent": "follow-up", "due": "soon", "note": "ring"}, "Pick a date.", "ring"),
        (
            {"intent": "purchase", "amount": "forty", "currency": "EUR", "reference": "ORD-7"},
            "&#39;forty&#39; is not a number",
            "ORD-7",
        ),
        ({"intent": "erase", "confirm": "no"}, "Type erase to confirm.", None),
    ],
)
def test_a_refused_lead_form_shows_the_lead_page_again_at_its_own_address(
    app, admin_client, lead, fields, error, kept
):
    response = admin_client.post(lead, data={"csrf_token": token(admin_client, lead), **fields})
    assert response.status_code == 422
    assert response.request.path == lead  # where the browser is: the lead's page
    assert error in response.text
    if kept is not None:
        assert kept in response.text
    assert 'id="csrf_token"' in response.text  # the page, with its forms, not a message
    assert admin_client.get(lead).status_code == 200  # a reload's GET: the same page
    assert count(app, Note) == count(app, Purchase) == count(app, FollowUp) == 0
    assert count(app, Lead) == 1
    assert count(app, StageChange) == 2  # its capture's, no more


def test_an_expired_lead_form_is_refused_at_the_lead_page_s_address(admin_client, lead):
    response = admin_client.post(lead, data={"intent": "note", "body": "hello"})
    assert response.status_code == 400 and "This form has expired" in response.text
    assert response.request.path == lead


def test_a_form_naming_no_form_of_the_page_is_a_400(admin_client, lead):
    data = {"csrf_token": token(admin_client, lead), "body": "hello"}
    assert admin_client.post(lead, data=data).status_code == 400
    assert admin_client.post(lead, data={**data, "intent": "nope"}).status_code == 400
    data = {"csrf_token": token(admin_client, "/p/admin/webhooks")}
    assert admin_client.post("/p/admin/webhooks", data=data).status_code == 400


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"intent": "stage", "stage": "sal", "reason": "called"}, "Moved to sal."),
        ({"intent": "note", "body": "Prefers email."}, "Note added."),
        ({"intent": "follow-up", "due": "2030-01-01", "note": "call"}, "Follow-up set for"),
        ({"intent": "purchase", "amount": "49", "currency": "EUR"}, "Purchase recorded"),
    ],
)
def test_a_lead_form_that_succeeds_answers_303_to_the_lead_page(
    admin_client, lead, fields, message
):
    response = admin_client.post(lead, data={"csrf_token": token(admin_client, lead), **fields})
    assert response.status_code == 303 and response.location == lead
    assert message in admin_client.get(lead).text


def new_endpoint(client, name: str, url: str) -> dict:
    """The webhooks page's form adding an endpoint for new leads, filled in."""
    return {
        "intent": "add",
        "csrf_token": token(client, "/p/admin/webhooks"),
        "name": name,
        "url": url,
        "events": ["lead.captured"],
    }


def test_a_refused_endpoint_is_shown_again_at_the_webhooks_address(admin_client):
    page = "/p/admin/webhooks"
    response = admin_client.post(
        page, data=new_endpoint(admin_client, "Bad Name!", "https://crm.example/hook")
    )
    assert response.status_code == 422 and response.request.path == page
    assert "Use 1 to 40 of a-z, 0-9, _ and -." in response.text
    assert (
        'value="Bad Name!"' in response.text and 'value="https://crm.example/hook"' in response.text
    )
    assert admin_client.get(page).status_code == 200


def test_an_added_endpoint_answers_303_and_the_page_shows_its_secret_once(tmp_path):
    from conftest import make_app, signed_in_admin

    app = make_app(tmp_path, FUNNEL_WEBHOOK_ALLOW_PRIVATE=True)
    admin = signed_in_admin(app)
    page = "/p/admin/webhooks"
    data = new_endpoint(admin, "crm", "http://127.0.0.1:9/hook")
    added = admin.post(page, data=data)
    assert added.status_code == 303 and added.location == page
    with app.extensions["funnel"].engine.connect() as connection:
        secret = connection.scalar(select(WebhookEndpointRow.secret))
    # The session (a cookie anyone holding it can read) names the endpoint, not its secret.
    session = decoded(app, admin.get_cookie(app.config["SESSION_COOKIE_NAME"]).value)
    assert "crm" in session and secret not in session
    shown = admin.get(page).text
    assert f'<code dir="ltr" class="secret">{secret}</code>' in shown
    assert secret not in admin.get(page).text  # once
    again = admin.post(page, data=data)  # the form sent again: refused, nothing added
    assert again.status_code == 422 and "An endpoint already has this name." in again.text


def test_a_follow_up_s_done_button_posts_to_the_follow_ups_page(app, admin_client, lead):
    lead_id = int(lead.rsplit("/", 1)[1])
    engine = app.extensions["funnel"].engine
    follow_up = add_follow_up(engine, lead_id, "boss", datetime.now(UTC), "call")
    page = "/p/admin/follow-ups"
    expired = admin_client.post(page, data={"intent": "done", "follow_up_id": follow_up})
    assert expired.status_code == 400 and expired.request.path == page
    data = {"intent": "done", "follow_up_id": follow_up, "csrf_token": token(admin_client, page)}
    done = admin_client.post(page, data=data)
    assert done.status_code == 303 and done.location == page
    assert "Follow-up done." in admin_client.get(page).text


def test_a_failed_sign_in_stays_at_the_sign_in_address_with_the_email_kept(app, client):
    from flask_funnel.auth import accounts

    accounts.create_admin(app.extensions["funnel"].engine, ADMIN_EMAIL, ADMIN_PASSWORD)
    page = "/p/admin/sign-in?next=/p/admin/leads"
    data = {"csrf_token": token(client, page), "email": ADMIN_EMAIL, "password": "nope"}
    response = client.post(page, data=data)
    assert response.status_code == 401
    assert response.request.full_path == page
    assert f'value="{ADMIN_EMAIL}"' in response.text
    assert 'value="nope"' not in response.text  # a password is never sent back
    assert re.search(r'<form method="post"(?! action)', response.text)  # posts where it is
