"""Values from outside (the quiz, admin forms, the API, the command line, CSV files)
checked one way everywhere: one error naming the field, one email normaliser, one
time parser, and what no database stores (characters, ids, days). A leaf: it imports
nothing of the package."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from email_validator import EmailNotValidError, validate_email

#: The longest email address a lead or admin may have (RFC 5321).
EMAIL_MAX_LENGTH = 254
_SHOWN_MAX = 60
#: The largest id a row can have: ids are signed 64-bit integers on every database.
MAX_ID = 2**63 - 1
#: The days a date from outside may name: no lead, purchase or follow-up lies outside
#: them, and a report of them still reaches back a period as long before the first
#: (Python's dates end with the year 9999).
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)
#: Characters no database of the funnel keeps in text: NUL (PostgreSQL refuses it) and
#: lone surrogates (no driver can encode them; a JSON body's "\ud800" makes one).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class FieldError(ValueError):
    """A value that cannot be used; ``field`` names the input at fault and ``code`` says
    what is wrong (``required``, ``too_long``, ``invalid`` or a caller's own) so a form
    can word the message in the visitor's language."""

    def __init__(self, field: str, message: str, code: str = "invalid"):
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.code = field, message, code


def shown(value: object) -> str:
    """A value quoted for a message: line breaks escaped, long values cut."""
    text = str(value)
    if len(text) > _SHOWN_MAX:
        text = text[: _SHOWN_MAX - 3] + "..."
    return repr(text)


def storable(text: str) -> str:
    """``text`` without the characters no database stores: how forms, page views and
    the audit trail take what a visitor or admin sent."""
    return _UNSTORABLE.sub("", text)


def is_storable(text: str) -> bool:
    """True when a database can store ``text`` as it is (see ``storable``)."""
    return _UNSTORABLE.search(text) is None


def normalize_email(value: str | None, field: str = "email") -> str:
    """A syntactically valid address, trimmed and lower-cased: the one form in which the
    funnel stores and compares emails (a lead is one row per such address)."""
    value = (value or "").strip()
    if not value:
        raise FieldError(field, "is required", "required")
    if len(value) > EMAIL_MAX_LENGTH:
        raise FieldError(field, f"is longer than {EMAIL_MAX_LENGTH} characters", "too_long")
    try:
        email = validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise FieldError(field, f"{shown(value)} is not a valid email address") from None
    if len(email) > EMAIL_MAX_LENGTH:
        raise FieldError(field, f"is longer than {EMAIL_MAX_LENGTH} characters", "too_long")
    return email


def email_key(value: str | None) -> str:
    """What to look an address up by, valid or not: its normal form when it has one,
    else the trimmed, lower-cased text (which then matches nobody)."""
    try:
        return normalize_email(value)
    except FieldError:
        return (value or "").strip().lower()[:EMAIL_MAX_LENGTH]


def parse_time(value: object, field: str = "at") -> datetime:
    """A date (``2026-05-02``: midnight UTC) or an ISO 8601 time (UTC when it names no
    offset), as an aware UTC datetime; ``date`` and ``datetime`` values are taken too."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except (ValueError, OverflowError):
            raise FieldError(
                field, f"{shown(value)} is not a date (YYYY-MM-DD) or an ISO 8601 time"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not FIRST_DAY <= moment.date() <= LAST_DAY:
        raise FieldError(
            field,
            f"{shown(value)} is out of range ({FIRST_DAY.year} to {LAST_DAY.year})",
            "out_of_range",
        )
    return moment
