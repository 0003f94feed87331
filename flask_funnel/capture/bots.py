"""Bot checks: a hidden honeypot field, the user agent (``attribution.device_class``)
and a minimum fill time, measured from a start stamp the server signed when the quiz
began. A submission that trips one is answered
like any other and stored quarantined, out of the exports and the funnel.

The stamp names the visitor it was made for (their visitor cookie), so one stamp
fetched once cannot vouch for a flood from other browsers, and it is only good for
``STAMP_MAX_AGE`` (a form left open longer is shown again to be sent once more)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

_SALT = "flask-funnel-started"
#: A quiz begun longer ago than this is asked to be sent again (seconds).
STAMP_MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class StartCheck:
    """What a submission's start stamp says: seconds since the quiz began (None when the
    stamp is missing, forged or another visitor's), or that it is too old to use."""

    seconds: float | None
    expired: bool = False
    foreign: bool = False


def start_stamp(secret_key: str, visitor_id: str) -> str:
    """The signed time the quiz began and who began it, carried through the steps in a
    hidden field."""
    return URLSafeSerializer(secret_key, salt=_SALT).dumps([time.time(), visitor_id])


def check_start(stamp: str | None, secret_key: str, visitor_id: str) -> StartCheck:
    try:
        data = URLSafeSerializer(secret_key, salt=_SALT).loads(stamp or "")
        # Stamps made before they named the visitor are a bare time.
        started, owner = (data, None) if isinstance(data, (int, float)) else data
        seconds = round(time.time() - float(started), 1)
    except (BadSignature, TypeError, ValueError):
        return StartCheck(None)
    if seconds > STAMP_MAX_AGE:
        return StartCheck(seconds, expired=True)
    if owner is not None and owner != visitor_id:
        return StartCheck(None, foreign=True)
    return StartCheck(seconds)


def quarantine_reason(
    *, honeypot: str | None, start: StartCheck, min_seconds: float, agent_is_bot: bool = False
):
    """Why a submission looks automated (``honeypot``, ``bot_agent``: sent by a crawler
    or an HTTP library, ``foreign_start``, ``no_start_time``, ``too_fast``), or None."""
    if honeypot:
        return "honeypot"
    if agent_is_bot:
        return "bot_agent"
    if start.foreign:
        return "foreign_start"
    if start.seconds is None:
        return "no_start_time"
    if start.seconds < min_seconds:
        return "too_fast"
    return None
