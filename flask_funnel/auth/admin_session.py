"""Who is the admin of this request: a local account's session, or the host's user.

A local session lives in the Flask session under ``_funnel_admin`` with the account's
session version, when it was issued and when it was last used. It ends after
``FUNNEL_ADMIN_IDLE_MINUTES`` idle, after ``FUNNEL_ADMIN_MAX_HOURS``, and for good
on sign-out (the version goes up, so a copied cookie is worthless).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import g, request, session

from flask_funnel.auth import accounts
from flask_funnel.state import current_funnel

SESSION_KEY = "_funnel_admin"


@dataclass(frozen=True)
class AdminUser:
    name: str
    admin_id: int | None  # None for a user let in by the host's authorizer


def current_admin() -> AdminUser | None:
    # Cached per request (``g`` can outlive one when a test keeps an app context open).
    this_request = id(request._get_current_object())
    cached = g.get("_funnel_admin_user")
    if cached is None or cached[0] != this_request:
        cached = g._funnel_admin_user = (this_request, _resolve())
    return cached[1]


def start(signed_in: accounts.SignedIn) -> None:
    session.clear()  # nothing from before sign-in survives it
    now = int(time.time())
    session[SESSION_KEY] = {
        "id": signed_in.admin_id,
        "name": signed_in.email,
        "v": signed_in.session_version,
        "iat": now,
        "seen": now,
    }
    g.pop("_funnel_admin_user", None)


def end() -> None:
    session.pop(SESSION_KEY, None)
    g.pop("_funnel_admin_user", None)


def _resolve() -> AdminUser | None:
    state = session.get(SESSION_KEY)
    if isinstance(state, dict) and _still_valid(state):
        state["seen"] = int(time.time())
        session.modified = True
        return AdminUser(state["name"], state["id"])
    if state is not None:
        end()
    authorizer = current_funnel().extension.admin_authorizer
    name = authorizer() if authorizer else None
    return AdminUser(str(name), None) if name else None


def _still_valid(state: dict) -> bool:
    settings, now = current_funnel().settings, time.time()
    try:
        if now - state["seen"] > settings.admin_idle_minutes * 60:
            return False
        if now - state["iat"] > settings.admin_max_hours * 3600:
            return False
        version = accounts.session_version(current_funnel().engine, int(state["id"]))
    except (KeyError, TypeError, ValueError):
        return False
    return version is not None and version == state["v"]
