"""Bot checks: a hidden honeypot field and a minimum fill time, measured from a start
stamp the server signed when the quiz began. A submission that trips one is answered
like any other and stored quarantined, out of the exports and the funnel."""

from __future__ import annotations

import time

from itsdangerous import BadSignature, URLSafeSerializer

_SALT = "flask-funnel-started"


def start_stamp(secret_key: str) -> str:
    """The signed time the quiz began, carried through the steps in a hidden field."""
    return URLSafeSerializer(secret_key, salt=_SALT).dumps(time.time())


def fill_seconds(stamp: str | None, secret_key: str) -> float | None:
    """Seconds since ``stamp``; None when it is missing or forged."""
    try:
        started = float(URLSafeSerializer(secret_key, salt=_SALT).loads(stamp or ""))
    except (BadSignature, TypeError, ValueError):
        return None
    return round(time.time() - started, 1)


def quarantine_reason(*, honeypot: str | None, seconds: float | None, min_seconds: float):
    """Why a submission looks automated (``honeypot``, ``no_start_time``, ``too_fast``),
    or None."""
    if honeypot:
        return "honeypot"
    if seconds is None:
        return "no_start_time"
    if seconds < min_seconds:
        return "too_fast"
    return None
