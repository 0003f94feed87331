"""Admins sign in with Google: who is let in (listed emails, the Workspace domain of the
``hd`` claim), who is not, and where they land, against a real OpenID Connect provider."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import hidden_fields, make_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flask_funnel.auth import accounts
from flask_funnel.db.models import Admin, AuditEntry
from landing import funnel

ALICE = "alice@gmail.example"  # the provider's Alice@Gmail.example, normalised


@pytest.fixture
def admin_app(tmp_path, oidc_provider):
    """``admin_app(**config)``: the demo app with Google sign-in and these settings."""
    apps = []

    def make(**config):
        app = make_app(tmp_path, **oidc_provider.config(**config))
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            funnel.db.engine.dispose()


def google_sign_in(client, provider, sub="alice", next_url=None, deny=False):
    """Press "Sign in with Google", pick ``sub`` on the provider, come back."""
    start = client.get("/p/admin/google", query_string={"next": next_url} if next_url else None)
    assert start.status_code == 302, start.text
    return client.get(provider.choose(start.headers["Location"], sub, deny=deny))


def audit_rows(app) -> list[tuple[str, str, str | None]]:
    with Session(app.extensions["funnel"].engine) as session:
        return session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.id)
        ).all()


def admin_emails(app) -> list[str]:
    with Session(app.extensions["funnel"].engine) as session:
        return session.scalars(select(Admin.email).order_by(Admin.id)).all()


def is_admin(client) -> bool:
    response = client.get("/p/admin/")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def sign_in_error(response) -> str:
    """The ``google_error`` of a redirect back to the sign-in page."""
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["Location"])
    assert location.path == "/p/admin/sign-in"
    return parse_qs(location.query)["google_error"][0]


# --- the button ---------------------------------------------------------------------


def test_the_sign_in_page_offers_google_and_keeps_the_next_page(admin_app):
    client = admin_app().test_client()
    page = client.get("/p/admin/sign-in?next=/p/admin/leads")
    assert "Sign in with Google" in page.text
    assert 'href="/p/admin/google?next=/p/admin/leads"' in page.text


def test_without_google_there_is_no_button_and_no_route(client):
    assert "Sign in with Google" not in client.get("/p/admin/sign-in").text
    assert client.get("/p/admin/google").status_code == 404


# --- who is let in ------------------------------------------------------------------


def test_a_listed_email_signs_in_with_google(admin_app, oidc_provider):
    app = admin_app(FUNNEL_ADMIN_EMAILS=[ALICE])
    client = app.test_client()
    response = google_sign_in(client, oidc_provider, "alice")
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/p/admin/"
    assert is_admin(client)
    assert ALICE in client.get("/p/admin/leads").text  # the admin bar names her
    assert admin_emails(app) == [ALICE]
    assert (ALICE, "sign_in", "google") in audit_rows(app)


def test_a_google_only_admin_has_no_password(admin_app, oidc_provider):
    app = admin_app(FUNNEL_ADMIN_EMAILS=[ALICE])
    google_sign_in(app.test_client(), oidc_provider, "alice")
    engine = app.extensions["funnel"].engine
    assert accounts.sign_in(engine, ALICE, accounts.UNUSABLE_PASSWORD, None) is None
    client = app.test_client()
    token = hidden_fields(client.get("/p/admin/sign-in").text)["csrf_token"]
    form = {"csrf_token": token, "email": ALICE, "password": ""}
    for password in ("", accounts.UNUSABLE_PASSWORD, "google-only"):
        form["password"] = password
        assert client.post("/p/admin/sign-in", data=form).status_code in (401, 422)
    assert not is_admin(client)


def test_a_listed_local_admin_keeps_the_password(admin_app, oidc_provider):
    app = admin_app(FUNNEL_ADMIN_EMAILS=[ALICE])
    engine = app.extensions["funnel"].engine
    accounts.create_admin(engine, ALICE, "correct horse battery")
    assert google_sign_in(app.test_client(), oidc_provider, "alice").status_code == 303
    assert admin_emails(app) == [ALICE]
    assert accounts.sign_in(engine, ALICE, "correct horse battery", None) is not None


def test_the_workspace_domain_lets_in_by_the_hd_claim(admin_app, oidc_provider):
    app = admin_app(FUNNEL_ADMIN_DOMAIN="shop.example")
    client = app.test_client()
    assert google_sign_in(client, oidc_provider, "bob").status_code == 303
    assert is_admin(client)
    assert admin_emails(app) == ["bob@shop.example"]


# --- who is not ---------------------------------------------------------------------


def test_a_verified_account_not_listed_is_refused(admin_app, oidc_provider):
    app = admin_app(FUNNEL_ADMIN_EMAILS=["boss@shop.example"], FUNNEL_ADMIN_DOMAIN="shop.example")
    client = app.test_client()
    response = google_sign_in(client, oidc_provider, "alice")
    assert response.status_code == 403
    assert "This Google account may not use the admin area" in response.text
    assert (ALICE, "sign_in_refused", "google") in audit_rows(app)
    assert not is_admin(client)
    assert client.get("/p/admin/").headers["Location"].startswith("/p/admin/sign-in")
    assert admin_emails(app) == []


def test_an_email_in_the_domain_without_the_hd_claim_is_refused(admin_app, oidc_provider):
    app = admin_app(FUNNEL_ADMIN_DOMAIN="shop.example")
    client = app.test_client()
    response = google_sign_in(client, oidc_provider, "eve")  # eve@shop.example, no hd
    assert response.status_code == 403
    assert ("eve@shop.example", "sign_in_refused", "google") in audit_rows(app)
    assert not is_admin(client)
    assert admin_emails(app) == []


def test_a_disabled_admin_is_refused(admin_app, oidc_provider):
    app = admin_app(FUNNEL_ADMIN_EMAILS=[ALICE])
    google_sign_in(app.test_client(), oidc_provider, "alice")
    with app.extensions["funnel"].engine.begin() as connection:
        connection.execute(update(Admin).where(Admin.email == ALICE).values(disabled=True))
    client = app.test_client()
    assert google_sign_in(client, oidc_provider, "alice").status_code == 403
    assert audit_rows(app)[-1] == (ALICE, "sign_in_refused", "google: disabled")
    assert not is_admin(client)


def test_an_unverified_email_goes_back_to_sign_in_with_the_reason(admin_app, oidc_provider):
    app = admin_app(FUNNEL_ADMIN_EMAILS=["mallory@example.com"])  # listed, yet unverified
    client = app.test_client()
    response = google_sign_in(client, oidc_provider, "mallory", next_url="/p/admin/leads")
    assert sign_in_error(response) == "unverified"
    assert "next=/p/admin/leads" in response.headers["Location"]
    page = client.get(response.headers["Location"])
    assert "Google has not verified this account" in page.text
    assert not is_admin(client)
    assert admin_emails(app) == []


def test_denying_on_the_provider_is_explained(admin_app, oidc_provider):
    app = admin_app(FUNNEL_ADMIN_EMAILS=[ALICE])
    client = app.test_client()
    response = google_sign_in(client, oidc_provider, deny=True)
    assert sign_in_error(response) == "denied"
    assert "You cancelled the Google sign-in." in client.get(response.headers["Location"]).text
    assert not is_admin(client)
    assert admin_emails(app) == []


def test_an_unreachable_provider_is_explained(tmp_path):
    app = make_app(
        tmp_path,
        FUNNEL_GOOGLE_CLIENT_ID="id",
        FUNNEL_GOOGLE_CLIENT_SECRET="secret",
        FUNNEL_GOOGLE_METADATA_URL="http://127.0.0.1:9/.well-known/openid-configuration",
        FUNNEL_ADMIN_EMAILS=[ALICE],
    )
    client = app.test_client()
    response = client.get("/p/admin/google?next=/p/admin/leads")
    assert sign_in_error(response) == "unavailable"
    assert "Google did not answer" in client.get(response.headers["Location"]).text
    with app.app_context():
        funnel.db.engine.dispose()


def test_a_quiz_sign_in_does_not_make_an_admin(admin_app, oidc_provider):
    app = admin_app(FUNNEL_ADMIN_EMAILS=[ALICE])
    client = app.test_client()
    start = client.get("/p/home-brewing/google")
    assert start.status_code == 302, start.text
    back = client.get(oidc_provider.choose(start.headers["Location"], "alice"))
    assert back.status_code == 303
    assert urlsplit(back.headers["Location"]).path == "/p/home-brewing/quiz"
    assert not is_admin(client)
    assert admin_emails(app) == []


# --- where they land ----------------------------------------------------------------


def test_google_sign_in_goes_on_to_the_page_asked_for(admin_app, oidc_provider):
    client = admin_app(FUNNEL_ADMIN_EMAILS=[ALICE]).test_client()
    asked = client.get("/p/admin/follow-ups")
    assert asked.status_code == 302
    sign_in_page = client.get(asked.headers["Location"])
    assert 'href="/p/admin/google?next=/p/admin/follow-ups"' in sign_in_page.text
    response = google_sign_in(client, oidc_provider, "alice", next_url="/p/admin/follow-ups")
    assert response.headers["Location"] == "/p/admin/follow-ups"
    assert client.get("/p/admin/follow-ups").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x"])
def test_google_sign_in_never_leads_off_the_site(admin_app, oidc_provider, target):
    client = admin_app(FUNNEL_ADMIN_EMAILS=[ALICE]).test_client()
    response = google_sign_in(client, oidc_provider, "alice", next_url=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/p/admin/"


def test_a_google_admins_cookie_dies_at_sign_out(admin_app, oidc_provider):
    app = admin_app(FUNNEL_ADMIN_EMAILS=[ALICE])
    client = app.test_client()
    google_sign_in(client, oidc_provider, "alice")
    stolen = client.get_cookie("session").value
    token = hidden_fields(client.get("/p/admin/leads").text)["csrf_token"]
    assert client.post("/p/admin/sign-out", data={"csrf_token": token}).status_code == 303
    assert not is_admin(client)
    client.set_cookie("session", stolen)  # a copy of the old cookie is worthless
    assert not is_admin(client)
    assert (ALICE, "sign_out", None) in audit_rows(app)
