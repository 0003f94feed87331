"""Who is the admin of this request: a local account's session, or the host's user.

A local session lives in the Flask session under ``_funnel_admin`` with the account's
session version, when it was issued and when it was last used. It ends after
``FUNNEL_ADMIN_IDLE_MINUTES`` idle, after ``FUNNEL_ADMIN_MAX_HOURS``, and for good
on sign-out (the version goes up, so a copied cookie is worthless).

Each admin reads the admin area in a language of their own: a local account's is kept
on its row (``funnel_admins.locale``), so it follows them from one sign-in to the next;
a user the host lets in has no row, so theirs is kept in the Flask session. Before
sign-in there is no admin: the sign-in page speaks the language chosen in this browser
(kept in the session too), else the one the browser prefers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import g, request, session

from flask_funnel.auth import accounts
from flask_funnel.i18n.messages import SOURCE_LOCALE, SUPPORTED_LOCALES
from flask_funnel.state import current_funnel

SESSION_KEY = "_funnel_admin"
#: The admin area's language of a user the host lets in (they have no account row), or
#: of the sign-in page.
LOCALE_KEY = "_funnel_admin_locale"


@dataclass(frozen=True)
class AdminUser:
    name: str
    admin_id: int | None  # None for a user let in by the host's authorizer
    locale: str = SOURCE_LOCALE  # the language the admin area speaks to them


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


def area_locale() -> str:
    """The language of the admin area in this request: the admin's; before sign-in, the
    one chosen in this browser, else whichever of ``SUPPORTED_LOCALES`` the browser's
    ``Accept-Language`` prefers (English when it names none of them)."""
    user = current_admin()
    if user is not None:
        return user.locale
    chosen = session.get(LOCALE_KEY)
    if chosen in SUPPORTED_LOCALES:
        return chosen
    return request.accept_languages.best_match(SUPPORTED_LOCALES, default=SOURCE_LOCALE)


def choose_locale(user: AdminUser | None, locale: str) -> None:
    """Remember the admin area's language of ``user`` (one of ``SUPPORTED_LOCALES``), or
    of this browser's sign-in page when there is no admin."""
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    stored = None if locale == SOURCE_LOCALE else locale
    if user is None or user.admin_id is None:
        session[LOCALE_KEY] = locale
    else:
        accounts.set_locale(current_funnel().engine, user.admin_id, stored)
    g.pop("_funnel_admin_user", None)


def end() -> None:
    session.pop(SESSION_KEY, None)
    g.pop("_funnel_admin_user", None)


def _resolve() -> AdminUser | None:
    state = session.get(SESSION_KEY)
    account = _valid_account(state) if isinstance(state, dict) else None
    if account is not None:
        state["seen"] = int(time.time())
        session.modified = True
        return AdminUser(state["name"], state["id"], _supported(account[1]))
    if state is not None:
        end()
    authorizer = current_funnel().extension.admin_authorizer
    name = authorizer() if authorizer else None
    return AdminUser(str(name), None, _supported(session.get(LOCALE_KEY))) if name else None


def _supported(locale: object) -> str:
    return locale if locale in SUPPORTED_LOCALES else SOURCE_LOCALE


def _valid_account(state: dict) -> tuple[int, str | None] | None:
    """The account's (session version, locale) while the session is valid, else None."""
    settings, now = current_funnel().settings, time.time()
    try:
        if now - state["seen"] > settings.admin_idle_minutes * 60:
            return None
        if now - state["iat"] > settings.admin_max_hours * 3600:
            return None
        account = accounts.account_state(current_funnel().engine, int(state["id"]))
    except (KeyError, TypeError, ValueError):
        return None
    return account if account is not None and account[0] == state["v"] else None
