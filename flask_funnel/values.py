"""Values from outside (the quiz, admin forms, the API, the command line, CSV files)
checked one way everywhere: one error naming the field, one email normaliser, one
time parser. A leaf: it imports nothing of the package."""

from __future__ import annotations

from datetime import UTC, date, datetime

from email_validator import EmailNotValidError, validate_email

#: The longest email address a lead or admin may have (RFC 5321).
EMAIL_MAX_LENGTH = 254
_SHOWN_MAX = 60


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
        return moment.astimezone(UTC)
    except OverflowError:
        raise FieldError(field, f"{shown(value)} is out of range") from None
