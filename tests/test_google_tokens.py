"""The checks every ID token goes through, whichever way it arrived (the redirect flow
or One Tap): issuer, audience, expiry, a verified email."""

from __future__ import annotations

import pytest
from authlib.integrations.flask_client import OAuth
from conftest import DEMO_PAGES
from flask import Flask

from flask_funnel import Funnel
from flask_funnel.auth.google import SignInError, accepted_issuers, identity_from_claims

CLIENT = "client-id.apps.googleusercontent.com"
GOOGLE = accepted_issuers("https://accounts.google.com")
NOW = 1_800_000_000.0


def claims(**changes) -> dict:
    good = {
        "iss": "https://accounts.google.com",
        "aud": CLIENT,
        "sub": "1234567890",
        "email": "Ann@Example.com",
        "email_verified": True,
        "name": "Ann",
        "iat": NOW - 10,
        "exp": NOW + 3600,
    }
    return {k: v for k, v in (good | changes).items() if v is not None}


def test_a_good_token_gives_the_verified_identity():
    identity = identity_from_claims(claims(hd="Example.com"), CLIENT, GOOGLE, now=NOW)
    assert (identity.issuer, identity.subject, identity.email) == (
        "https://accounts.google.com",
        "1234567890",
        "ann@example.com",
    )
    assert identity.hosted_domain == "example.com"


def test_google_issues_tokens_under_both_spellings():
    assert identity_from_claims(claims(iss="accounts.google.com"), CLIENT, GOOGLE, now=NOW)
    assert accepted_issuers("http://localhost:1234") == {"http://localhost:1234"}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"iss": "https://evil.example"}, "issuer"),
        ({"aud": "someone-else"}, "audience"),
        ({"aud": [CLIENT, "other"], "azp": "other"}, "authorized party"),
        ({"exp": NOW - 61}, "expiry"),
        ({"exp": None}, "expiry"),
        ({"iat": NOW + 120}, "expiry"),
        ({"sub": None}, "subject or email missing"),
        ({"email": "not an email"}, "email"),
    ],
)
def test_a_token_that_fails_a_check_is_rejected(change, why):
    with pytest.raises(SignInError, match=f"rejected: {why}"):
        identity_from_claims(claims(**change), CLIENT, GOOGLE, now=NOW)


@pytest.mark.parametrize("verified", [False, "false", None])
def test_an_unverified_email_gives_no_sign_in(verified):
    with pytest.raises(SignInError) as error:
        identity_from_claims(claims(email_verified=verified), CLIENT, GOOGLE, now=NOW)
    assert error.value.reason == "unverified"


def test_a_minute_of_clock_difference_is_tolerated():
    assert identity_from_claims(claims(exp=NOW - 30), CLIENT, GOOGLE, now=NOW)
    assert identity_from_claims(claims(iat=NOW + 30), CLIENT, GOOGLE, now=NOW)


def host_app(tmp_path, **google) -> Flask:
    app = Flask("host", root_path=str(tmp_path))
    app.config.update(
        SECRET_KEY="host",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'host.sqlite3'}",
        FUNNEL_PAGES_DIR=str(DEMO_PAGES),
        **google,
    )
    return app


def test_the_hosts_authlib_registry_is_reused(tmp_path):
    app = host_app(tmp_path, FUNNEL_GOOGLE_CLIENT_ID=CLIENT, FUNNEL_GOOGLE_CLIENT_SECRET="x")
    oauth = OAuth(app)
    oauth.register("github", client_id="x", client_secret="y")
    Funnel(app)
    assert app.extensions["authlib.integrations.flask_client"] is oauth
    assert {"github", "funnel_google"} <= set(oauth._registry)


def test_a_client_id_without_its_secret_is_a_clear_error(tmp_path):
    app = host_app(tmp_path, FUNNEL_GOOGLE_CLIENT_ID=CLIENT)
    with pytest.raises(RuntimeError, match="FUNNEL_GOOGLE_CLIENT_SECRET: required"):
        Funnel(app)
