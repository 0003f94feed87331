"""Sign in with Google, or any OpenID Connect provider, through Authlib's Flask client.

The redirect flow uses PKCE (S256), a ``state`` bound to the browser's session and
usable once, and a ``nonce``. The ID token's signature is checked against the provider's
JWKS, and so are its issuer (both spellings Google uses), its audience (our client id:
Authlib does not check it unless told) and its expiry, with a minute's leeway. The email
must be verified, and there is no sign-in without an ID token. Every call to the provider
has a timeout. Pending sign-ins live in the database (``auth.pending``), not the cookie.

The quiz and the admin area both start here and share one callback URL; the sign-in
remembers which of them to return to.

Authlib, joserfc and requests are imported where they are used: a site without Google
sign-in never loads them (about 7 MiB a worker).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

from flask import Flask, current_app, redirect, session, url_for

from flask_funnel.auth.identity import VerifiedIdentity
from flask_funnel.auth.pending import PendingStore
from flask_funnel.settings import GoogleSettings
from flask_funnel.state import current_funnel
from flask_funnel.values import FieldError, normalize_email

log = logging.getLogger("flask_funnel.auth.google")

CLIENT_NAME = "funnel_google"
GOOGLE_ISSUERS = frozenset({"https://accounts.google.com", "accounts.google.com"})
SCOPES = "openid email profile"
#: Seconds a call to the provider may take.
TIMEOUT = 10
#: Seconds of clock difference allowed on ``exp`` and ``iat``.
LEEWAY = 60
#: Seconds a visitor has to come back from the provider.
PENDING_SECONDS = 600
#: Sign-ins a session may have under way at once; older ones are forgotten.
MAX_PENDING = 3
_REGISTRY = "authlib.integrations.flask_client"
_STATE_PREFIX = f"_state_{CLIENT_NAME}_"
_RETURN_PREFIX = "_funnel_return_"


class SignInError(Exception):
    """A sign-in that did not happen; ``reason`` is one of ``denied`` (the person said
    no), ``unavailable`` (the provider did not answer), ``expired`` (an unknown, used or
    stale state), ``rejected`` (a token that failed a check), ``unverified`` (the email
    is not verified)."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        #: Where the sign-in was to return, once known (the contact step, the admin's
        #: sign-in page): the place to explain the failure.
        self.next_path: str | None = None


@dataclass(frozen=True)
class SignIn:
    identity: VerifiedIdentity
    purpose: str  # "quiz" or "admin"
    next_path: str


def init_app(app: Flask, settings: GoogleSettings | None, store: PendingStore) -> None:
    """Register the provider on the app's Authlib registry (the host's, if it has one)."""
    if settings is None:
        return
    from authlib.integrations.flask_client import OAuth

    registry = app.extensions.get(_REGISTRY)
    if registry is None:
        registry = OAuth(app, cache=store)
    registry.register(
        CLIENT_NAME,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.metadata_url,
        client_kwargs={
            "scope": SCOPES,
            "code_challenge_method": "S256",
            "default_timeout": TIMEOUT,
        },
        overwrite=True,
    )


def _client():
    return current_app.extensions[_REGISTRY].create_client(CLIENT_NAME)


def _settings() -> GoogleSettings:
    settings = current_funnel().settings.google
    if settings is None:
        raise SignInError("unavailable", "Google sign-in is not configured")
    return settings


def begin(purpose: str, next_path: str, **authorize_params):
    """The redirect to the provider; ``next_path`` (a path on this site) is where the
    callback returns with the identity."""
    from authlib.common.errors import AuthlibBaseError
    from requests.exceptions import RequestException

    settings = _settings()
    client = _client()
    redirect_uri = settings.redirect_uri or url_for("funnel.google_callback", _external=True)
    try:
        authorization = client.create_authorization_url(redirect_uri, **authorize_params)
    except (AuthlibBaseError, RequestException, ValueError) as error:
        raise SignInError("unavailable", type(error).__name__) from None
    _forget_old_attempts()
    client.save_authorize_data(redirect_uri=redirect_uri, **authorization)
    current_funnel().pending.set(
        _RETURN_PREFIX + authorization["state"],
        json.dumps({"purpose": purpose, "next": next_path}),
        PENDING_SECONDS,
    )
    return redirect(authorization["url"])


def finish(state: str | None) -> SignIn:
    """Complete the sign-in the provider sent back to the callback, or raise
    ``SignInError``: nothing is stored until it returned."""
    settings = _settings()
    pending = current_funnel().pending.take(_RETURN_PREFIX + (state or "")) if state else None
    if pending is None or _STATE_PREFIX + str(state) not in session:
        raise SignInError("expired", "unknown, used or other browser's state")
    target = json.loads(pending)
    try:
        return SignIn(_identity_from_callback(settings), target["purpose"], target["next"])
    except SignInError as error:
        error.next_path = target["next"]  # the caller can send the person back there
        raise


def _identity_from_callback(settings: GoogleSettings) -> VerifiedIdentity:
    from authlib.common.errors import AuthlibBaseError
    from joserfc.errors import JoseError
    from requests.exceptions import RequestException

    client = _client()
    try:
        token = client.authorize_access_token(
            claims_options=_claims_options(settings), leeway=LEEWAY
        )
    except AuthlibBaseError as error:
        if getattr(error, "error", None) == "access_denied":
            raise SignInError("denied") from None
        raise SignInError("rejected", getattr(error, "error", type(error).__name__)) from None
    except JoseError as error:
        raise SignInError("rejected", type(error).__name__) from None
    except RequestException as error:
        raise SignInError("unavailable", type(error).__name__) from None
    claims = token.get("userinfo")
    if not claims:
        raise SignInError("rejected", "no ID token")
    return identity_from_claims(claims, settings.client_id, _issuers())


def verify_id_token(credential: str) -> VerifiedIdentity:
    """An ID token handed to us directly (Google One Tap), checked as ``finish`` checks
    the one the provider returns."""
    from joserfc import jwt
    from joserfc.errors import InvalidKeyIdError, JoseError
    from joserfc.jwk import KeySet
    from requests.exceptions import RequestException

    settings = _settings()
    client = _client()
    try:
        metadata = client.load_server_metadata()
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        try:
            decoded = jwt.decode(
                credential, KeySet.import_key_set(client.fetch_jwk_set()), algorithms=algorithms
            )
        except InvalidKeyIdError:
            # The provider rotates its keys; the cached set may predate this token's.
            fresh = KeySet.import_key_set(client.fetch_jwk_set(force=True))
            decoded = jwt.decode(credential, fresh, algorithms=algorithms)
    except (JoseError, ValueError, KeyError) as error:
        raise SignInError("rejected", type(error).__name__) from None
    except RequestException as error:
        raise SignInError("unavailable", type(error).__name__) from None
    return identity_from_claims(decoded.claims, settings.client_id, _issuers())


def _issuers() -> frozenset[str]:
    return accepted_issuers(_client().load_server_metadata().get("issuer", ""))


def accepted_issuers(issuer: str) -> frozenset[str]:
    """The ``iss`` values an ID token may carry: the provider's, and for Google both of
    the spellings its tokens use."""
    return GOOGLE_ISSUERS if issuer in GOOGLE_ISSUERS else frozenset({issuer})


def _claims_options(settings: GoogleSettings) -> dict:
    return {
        "iss": {"essential": True, "values": sorted(_issuers())},
        "aud": {"essential": True, "value": settings.client_id},
    }


def identity_from_claims(
    claims: dict, client_id: str, issuers: frozenset[str], now: float | None = None
) -> VerifiedIdentity:
    """The identity in checked ID token claims; every check is done here again, so no
    path depends on what a library validated for it."""
    now = time.time() if now is None else now
    if claims.get("iss") not in issuers:
        raise SignInError("rejected", "issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise SignInError("rejected", "audience")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SignInError("rejected", "authorized party")
    try:
        expires = float(claims["exp"])
    except (KeyError, TypeError, ValueError):
        raise SignInError("rejected", "expiry") from None
    if expires + LEEWAY < now or float(claims.get("iat", now)) - LEEWAY > now:
        raise SignInError("rejected", "expiry")
    subject, email = claims.get("sub"), claims.get("email")
    if not subject or not email:
        raise SignInError("rejected", "subject or email missing")
    if claims.get("email_verified") not in (True, "true"):
        raise SignInError("unverified")
    try:
        email = normalize_email(str(email))
    except FieldError:
        raise SignInError("rejected", "email") from None
    name = claims.get("name")
    return VerifiedIdentity(
        issuer=str(claims["iss"]),
        subject=str(subject)[:255],
        email=email,
        name=str(name)[:200] if name else None,
        hosted_domain=str(claims["hd"]).lower() if claims.get("hd") else None,
    )


def _forget_old_attempts() -> None:
    """Keep the session's markers of pending sign-ins to the newest few."""
    markers = sorted(
        (key for key in session if key.startswith(_STATE_PREFIX)),
        key=lambda key: (session[key] or {}).get("exp", 0) if isinstance(session[key], dict) else 0,
    )
    for key in markers[: max(0, len(markers) - (MAX_PENDING - 1))]:
        session.pop(key, None)
