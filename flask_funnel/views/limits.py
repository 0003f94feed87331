"""Rate limits (Flask-Limiter) on what a bot would flood: sign-ups per address and per
email, the purchases API per token.

Counters live in ``FUNNEL_RATELIMIT_STORAGE_URI``: ``memory://`` counts per process
(enough for one worker), ``redis://host:6379`` is shared by every worker and host. When
that storage is unreachable the limits fall back to per-process memory counters instead
of failing: a visitor is never turned away because Redis is down. (The admin sign-in
brake is stricter: see ``auth/sign_in_brake.py``.)
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, request
from flask_limiter import Limiter

from flask_funnel.capture.geo import request_address
from flask_funnel.settings import Settings
from flask_funnel.values import email_key

#: Prefix of every counter, so apps sharing one Redis count the same keys.
KEY_PREFIX = "flask_funnel"


def init_limits(app: Flask, settings: Settings) -> Limiter:
    """Create the funnel's limiter and put its limits on the funnel's views (registered
    already). A host's own Flask-Limiter, if any, is left alone."""
    limits = settings.rate_limits
    limiter = Limiter(
        key_func=_address,
        app=app,
        storage_uri=limits.storage_uri,
        key_prefix=KEY_PREFIX,
        strategy="moving-window",
        enabled=limits.enabled,
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        headers_enabled=False,
    )
    per_address = limiter.shared_limit(limits.submit, scope="sign-up", methods=["POST"])
    per_email = limiter.limit(
        limits.submit_per_email,
        key_func=_posted_email,
        exempt_when=lambda: not request.form.get("email"),
        methods=["POST"],
    )
    _wrap(app, "funnel.quiz", per_email, per_address)
    _wrap(app, "funnel.google_one_tap", per_address)
    _wrap(app, "funnel_api.purchases", limiter.limit(limits.api, key_func=_api_key))
    return limiter


def _wrap(app: Flask, endpoint: str, *decorators) -> None:
    view = app.view_functions.get(endpoint)
    if view is None:
        return
    for decorate in decorators:
        view = decorate(view)
    app.view_functions[endpoint] = view


def _address() -> str:
    return request_address() or "unknown"


def _posted_email() -> str:
    return "email:" + hashlib.sha256(email_key(request.form.get("email")).encode()).hexdigest()


def _api_key() -> str:
    """The API's caller: its token when it is the right one, else its address (so a
    wrong-token guesser is limited by where it calls from)."""
    from flask_funnel.state import current_funnel

    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    expected = current_funnel().settings.api_token or ""
    if expected and hmac.compare_digest(given.encode(), str(expected).encode()):
        return "token:" + hashlib.sha256(given.encode()).hexdigest()[:16]
    return "address:" + _address()
