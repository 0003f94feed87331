"""Google One Tap: the prompt on the landing page and contact step, the endpoint Google
posts the ID token to, and the Content-Security-Policy of the pages that show it.

The ID tokens are signed by the test itself, with a key a small local provider on
127.0.0.1 publishes (discovery document and JWKS)."""

from __future__ import annotations

import json
import socket
import threading
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from conftest import ANSWERS, Visitor, make_app
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from flask_funnel.views.headers import content_security_policy
from flask_funnel.views.public.signed_in import SESSION_KEY
from landing import funnel

CLIENT_ID = "one-tap-test.apps.googleusercontent.com"
GOOGLE = "https://accounts.google.com"
CSRF = "double-submit-token"


class TokenProvider:
    """Publishes a discovery document and the public half of its keys; signs ID tokens.
    ``issuer``, ``jwks_uri`` and ``published`` may be changed before the app asks."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.issuer = self.base
        self.jwks_uri = f"{self.base}/jwks"
        self.key = new_key("key-1")
        self.published = [self.key]

    def config(self, **extra) -> dict:
        return {
            "FUNNEL_GOOGLE_CLIENT_ID": CLIENT_ID,
            "FUNNEL_GOOGLE_CLIENT_SECRET": "one-tap-test-secret",
            "FUNNEL_GOOGLE_METADATA_URL": f"{self.base}/.well-known/openid-configuration",
            "FUNNEL_GOOGLE_ONE_TAP": True,
            **extra,
        }

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "authorization_endpoint": f"{self.base}/authorize",
            "token_endpoint": f"{self.base}/token",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def token(self, key: RSAKey | None = None, **claims) -> str:
        """An ID token for Ann that passes every check, unless ``claims`` say otherwise
        (a claim given as None is left out)."""
        now = int(time.time())
        body = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "1049",
            "email": "Ann@Gmail.example",
            "email_verified": True,
            "name": "Ann Example",
            "iat": now,
            "exp": now + 3600,
            **claims,
        }
        key = key or self.key
        header = {"alg": "RS256", "kid": key.kid}
        return jwt.encode(header, {k: v for k, v in body.items() if v is not None}, key)

    def wsgi(self, environ, start_response):
        request = Request(environ)
        if request.path == "/.well-known/openid-configuration":
            body = self.metadata()
        elif request.path == "/jwks":
            body = KeySet(self.published).as_dict(private=False)
        else:
            return Response(status=404)(environ, start_response)
        return Response(json.dumps(body), mimetype="application/json")(environ, start_response)


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)


@pytest.fixture
def token_provider():
    holder = {}
    server = make_server("127.0.0.1", 0, lambda e, s: holder["provider"].wsgi(e, s))
    holder["provider"] = TokenProvider(server.server_port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder["provider"]
    server.shutdown()
    thread.join(5)


@pytest.fixture
def one_tap_app(tmp_path, token_provider):
    """The demo app with One Tap on, pointed at the test's token provider."""
    app = make_app(tmp_path, **token_provider.config())
    yield app
    with app.app_context():
        funnel.db.engine.dispose()


@pytest.fixture
def client(one_tap_app):
    return one_tap_app.test_client()


def post_one_tap(client, credential, query="", *, cookie=CSRF, field=CSRF, slug="home-brewing"):
    """Post as Google's script does: the token and the double-submit field, with the
    ``g_csrf_token`` cookie it set (None leaves either out)."""
    if cookie is not None:
        client.set_cookie("g_csrf_token", cookie)
    data = {"credential": credential, "page": slug, **dict(parse_qsl(query.lstrip("?")))}
    if field is not None:
        data["g_csrf_token"] = field
    return client.post("/p/google/one-tap", data=data)


def contact_query(client) -> str:
    started = Visitor(client).contact_form()["started"]
    answers = "&".join(f"q_{k}={v}" for k, v in ANSWERS.items())
    return f"?{answers}&started={started}&step={len(ANSWERS) + 1}"


def session_identity(client):
    with client.session_transaction() as session:
        return session.get(SESSION_KEY)


def lead_count(app) -> int:
    from flask_funnel.db.models import Lead

    with Session(app.extensions["funnel"].engine) as session:
        return session.scalar(select(func.count()).select_from(Lead))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _OneTapElement(HTMLParser):
    def __init__(self):
        super().__init__()
        self.attrs: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        if dict(attrs).get("id") == "g_id_onload":
            self.attrs = dict(attrs)


def one_tap_element(html: str) -> dict[str, str] | None:
    parser = _OneTapElement()
    parser.feed(html)
    return parser.attrs


def google_error(response) -> list[str] | None:
    return parse_qs(urlsplit(response.headers["Location"]).query).get("google_error")


def assert_refused_quietly(app, client):
    assert session_identity(client) is None
    assert lead_count(app) == 0


# --- signing in ---------------------------------------------------------------------


def test_one_tap_on_the_contact_step_signs_in_and_keeps_the_answers(
    one_tap_app, client, token_provider
):
    query = contact_query(client)
    response = post_one_tap(client, token_provider.token(), query)
    assert response.status_code == 303, response.text
    target = urlsplit(response.headers["Location"])
    assert target.path == "/p/home-brewing/quiz"
    kept = parse_qs(target.query)
    sent = parse_qs(query[1:])
    assert kept["step"] == ["4"] and "google_error" not in kept
    assert all(kept[f"q_{k}"] == [v] for k, v in ANSWERS.items())
    assert kept["started"] == sent["started"]
    identity = session_identity(client)
    assert identity["email"] == "ann@gmail.example"
    assert (identity["issuer"], identity["subject"]) == (token_provider.issuer, "1049")
    assert identity["at"] <= time.time()
    # The contact step takes over from here; signed in, it asks no more.
    step = client.get(response.headers["Location"])
    assert step.status_code == 200
    assert one_tap_element(step.text) is None and "gsi/client" not in step.text
    assert lead_count(one_tap_app) == 0  # only the contact step's POST makes a lead


def test_one_tap_on_the_landing_page_continues_with_the_first_step(client, token_provider):
    response = post_one_tap(client, token_provider.token())
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/p/home-brewing/quiz"
    assert session_identity(client)["email"] == "ann@gmail.example"


@pytest.mark.parametrize("token_issuer", ["accounts.google.com", GOOGLE])
def test_both_spellings_of_googles_issuer_are_accepted(client, token_provider, token_issuer):
    token_provider.issuer = GOOGLE
    response = post_one_tap(client, token_provider.token(iss=token_issuer))
    assert response.status_code == 303
    assert "google_error" not in response.headers["Location"]
    assert session_identity(client)["issuer"] == token_issuer


def test_a_token_signed_after_the_provider_rotated_its_keys_is_accepted(client, token_provider):
    assert post_one_tap(client, token_provider.token()).status_code == 303  # keys cached
    with client.session_transaction() as session:
        session.clear()
    token_provider.key = new_key("key-2")
    token_provider.published = [token_provider.key]
    response = post_one_tap(client, token_provider.token())
    assert "google_error" not in response.headers["Location"]
    assert session_identity(client) is not None


# --- tokens refused -----------------------------------------------------------------


def _other_key_same_kid(provider):
    return provider.token(key=new_key(provider.key.kid))


REFUSED_TOKENS = {
    "wrong_audience": (lambda p: p.token(aud="someone-else.apps.googleusercontent.com")),
    "audience_list_for_another_party": (
        lambda p: p.token(aud=[CLIENT_ID, "other-client"], azp="other-client")
    ),
    "expired": (lambda p: p.token(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)),
    "issued_in_the_future": (lambda p: p.token(iat=int(time.time()) + 3600)),
    "issuer_not_accepted": (lambda p: p.token(iss="https://accounts.google.example")),
    "signed_by_another_key": _other_key_same_kid,
    "signed_by_an_unknown_key": (lambda p: p.token(key=new_key("not-published"))),
    "not_a_token": (lambda p: "not.a.token"),
    "empty": (lambda p: ""),
    "no_email": (lambda p: p.token(email=None)),
}


@pytest.mark.parametrize("case", list(REFUSED_TOKENS))
def test_a_token_that_fails_a_check_is_refused(one_tap_app, client, token_provider, case):
    query = contact_query(client)
    response = post_one_tap(client, REFUSED_TOKENS[case](token_provider), query)
    assert response.status_code == 303
    target = urlsplit(response.headers["Location"])
    assert target.path == "/p/home-brewing/quiz"
    assert parse_qs(target.query)["google_error"] == ["rejected"]
    assert parse_qs(target.query)["q_style"] == [ANSWERS["style"]]  # back where they were
    assert_refused_quietly(one_tap_app, client)


def test_an_unverified_email_is_refused(one_tap_app, client, token_provider):
    token = token_provider.token(email_verified=False)
    response = post_one_tap(client, token, contact_query(client))
    assert google_error(response) == ["unverified"]
    assert_refused_quietly(one_tap_app, client)


def test_a_refusal_from_the_landing_page_goes_back_there(one_tap_app, client, token_provider):
    response = post_one_tap(client, token_provider.token(aud="other"))
    assert response.status_code == 303
    assert response.headers["Location"] == "/p/home-brewing?google_error=rejected"
    assert_refused_quietly(one_tap_app, client)
    # Just back from a failure, the page does not prompt again at once.
    assert one_tap_element(client.get(response.headers["Location"]).text) is None


def test_an_unreachable_provider_is_unavailable_not_an_error_page(
    one_tap_app, client, token_provider
):
    token_provider.jwks_uri = f"http://127.0.0.1:{closed_port()}/jwks"
    response = post_one_tap(client, token_provider.token(), contact_query(client))
    assert response.status_code == 303
    assert google_error(response) == ["unavailable"]
    assert_refused_quietly(one_tap_app, client)


# --- the double-submit token --------------------------------------------------------


@pytest.mark.parametrize(
    ("cookie", "field"),
    [(None, CSRF), (CSRF, None), (None, None), (CSRF, "another-token"), ("", "")],
    ids=["no_cookie", "no_field", "neither", "mismatch", "both_empty"],
)
def test_a_post_without_googles_double_submit_token_is_refused(
    one_tap_app, client, token_provider, cookie, field
):
    response = post_one_tap(
        client, token_provider.token(), contact_query(client), cookie=cookie, field=field
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert_refused_quietly(one_tap_app, client)


def test_the_refusal_speaks_the_pages_language(client, token_provider):
    response = post_one_tap(client, token_provider.token(), slug="qahve-dam", cookie=None)
    assert response.status_code == 400
    assert '<html lang="fa" dir="rtl">' in response.text
    assert "مشکلی پیش آمد" in response.text


# --- where the prompt shows ---------------------------------------------------------


def test_one_tap_on_shows_the_prompt_on_the_landing_page(client):
    response = client.get("/p/home-brewing")
    assert '<script src="https://accounts.google.com/gsi/client" async></script>' in response.text
    element = one_tap_element(response.text)
    assert element["data-client_id"] == CLIENT_ID
    assert element["data-login_uri"] == "http://localhost/p/google/one-tap"
    assert element["data-page"] == "home-brewing" and "data-step" not in element
    assert element["data-auto_prompt"] == "true"
    assert element["data-context"] == "signup"
    assert element["data-itp_support"] == "true"


def test_the_contact_steps_prompt_carries_the_answers(client):
    visitor = Visitor(client)
    started = visitor.contact_form()["started"]
    step = visitor.step(4, ANSWERS, started)
    element = one_tap_element(step.text)
    assert element["data-login_uri"] == "http://localhost/p/google/one-tap"  # one to register
    assert {
        k: v
        for k, v in element.items()
        if k.startswith("data-")
        and k[5:] not in ("client_id", "login_uri", "auto_prompt", "context", "itp_support")
    } == {
        "data-page": "home-brewing",
        **{f"data-q_{k}": v for k, v in ANSWERS.items()},
        "data-started": started,
        "data-step": "4",
    }


def test_the_persian_pages_prompt_posts_to_the_persian_page(client):
    landing = one_tap_element(client.get("/p/qahve-dam").text)
    assert landing["data-login_uri"] == "http://localhost/p/google/one-tap"
    assert landing["data-page"] == "qahve-dam"


def test_only_the_pages_with_the_prompt_let_google_in(client, one_tap_app):
    default = content_security_policy("'self'")
    landing = client.get("/p/home-brewing").headers["Content-Security-Policy"]
    assert landing != default
    assert "script-src 'self' https://accounts.google.com/gsi/client" in landing
    assert "frame-src https://accounts.google.com/gsi/" in landing
    assert "connect-src 'self' https://accounts.google.com/gsi/" in landing
    assert "style-src 'self' https://accounts.google.com/gsi/style" in landing
    assert "form-action 'self';" in landing and "form-action 'self' " not in landing
    visitor = Visitor(client)
    question = visitor.step(1)
    assert one_tap_element(question.text) is None
    assert question.headers["Content-Security-Policy"] == default
    contact = visitor.step(4, ANSWERS, visitor.contact_form()["started"])
    assert contact.headers["Content-Security-Policy"] == landing
    admin = client.get("/p/admin/sign-in")
    assert admin.headers["Content-Security-Policy"] == default
    assert client.get("/p/no-such-page").headers["Content-Security-Policy"] == default


def test_the_default_policy_is_unchanged():
    assert content_security_policy("'self'") == (
        "default-src 'self'; img-src 'self' https: data:; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    )


# --- off ----------------------------------------------------------------------------


def test_one_tap_off_shows_nothing_and_has_no_endpoint(tmp_path, token_provider):
    app = make_app(tmp_path, **token_provider.config(FUNNEL_GOOGLE_ONE_TAP=False))
    client = app.test_client()
    landing = client.get("/p/home-brewing")
    assert "accounts.google.com" not in landing.text and one_tap_element(landing.text) is None
    assert landing.headers["Content-Security-Policy"] == content_security_policy("'self'")
    response = post_one_tap(client, token_provider.token())
    assert response.status_code == 404
    assert_refused_quietly(app, client)
    with app.app_context():
        funnel.db.engine.dispose()


def test_without_google_there_is_no_one_tap(tmp_path, token_provider):
    app = make_app(tmp_path, FUNNEL_GOOGLE_ONE_TAP=True)
    client = app.test_client()
    assert "accounts.google.com" not in client.get("/p/home-brewing").text
    assert post_one_tap(client, token_provider.token()).status_code == 404
    with app.app_context():
        funnel.db.engine.dispose()


def test_an_unknown_page_has_no_one_tap_endpoint(client, token_provider):
    assert post_one_tap(client, token_provider.token(), slug="no-such-page").status_code == 404
    assert session_identity(client) is None
