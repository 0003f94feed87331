"""The account a visitor signed in with for the quiz (Google), kept in the session until
the contact step uses it: a short record, never grown by abandoned attempts."""

from __future__ import annotations

import time

from flask import session

from flask_funnel.auth.identity import VerifiedIdentity
from flask_funnel.i18n.messages import N_

#: The session key of the quiz's sign-in (the admin area never reads it).
SESSION_KEY = "_funnel_google"
#: Seconds a sign-in stays usable for the contact step.
FRESH_SECONDS = 30 * 60
#: What the contact step says when a sign-in did not happen, by ``SignInError.reason``
#: (anything else reads as ``rejected``).
MESSAGES = {
    "denied": N_("You cancelled the Google sign-in. You can type your email instead."),
    "unavailable": N_(
        "Google could not be reached just now. Please type your email, or try again."
    ),
    "expired": N_("That Google sign-in has expired. Please try again, or type your email."),
    "rejected": N_("Google sign-in did not work. Please try again, or type your email."),
    "unverified": N_("Google has not verified this email address. Please type your email instead."),
}


def remember(identity: VerifiedIdentity) -> None:
    session[SESSION_KEY] = {**identity.as_dict(), "at": int(time.time())}


def signed_in_identity() -> VerifiedIdentity | None:
    """The identity this browser signed in with for the quiz, while it is fresh."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        fresh = time.time() - float(data.get("at", 0)) <= FRESH_SECONDS
    except (TypeError, ValueError):
        fresh = False
    return VerifiedIdentity.from_dict(data) if fresh else None


def forget() -> None:
    session.pop(SESSION_KEY, None)
