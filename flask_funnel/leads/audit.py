"""The audit trail: who signed in (or failed to), moved, exported, imported or deleted,
and which page files the admin area changed."""

from __future__ import annotations

from sqlalchemy import Connection, insert

from flask_funnel.db.models import AuditEntry
from flask_funnel.db.types import utcnow
from flask_funnel.values import storable

SIGN_IN = "sign_in"
SIGN_IN_FAILED = "sign_in_failed"
#: A verified Google account that may not use the admin area, or a disabled one.
SIGN_IN_REFUSED = "sign_in_refused"
SIGN_OUT = "sign_out"
PASSWORD_RESET = "password_reset"  # noqa: S105  (an action's name, not a password)
ADMIN_DISABLED = "admin_disabled"
ADMIN_ENABLED = "admin_enabled"
STAGE_CHANGE = "stage_change"
PURCHASE = "purchase"
EXPORT = "export"
IMPORT = "import"
DELETE = "delete"
RELEASE = "release"
#: A page file the admin area rewrote (an A/B test's winner made the default).
PAGE_CHANGE = "page_change"
#: A webhook message queued again by an admin.
WEBHOOK_REPLAY = "webhook_replay"
#: A webhook endpoint added or removed in the admin area.
WEBHOOK_ENDPOINT = "webhook_endpoint"

_INSERT = insert(AuditEntry.__table__)


def record(
    connection: Connection,
    actor: str,
    action: str,
    *,
    lead_id: int | None = None,
    detail: str | None = None,
    ip: str | None = None,
) -> None:
    """Add an audit entry in the caller's transaction (it commits with the change).
    ``actor`` and ``detail`` may quote a request (a typed email, a path): kept storable."""
    connection.execute(
        _INSERT,
        {
            "at": utcnow(),
            "actor": storable(actor)[:254],
            "action": action,
            "lead_id": lead_id,
            "detail": storable(detail or "")[:1000] or None,
            "ip": ip,
        },
    )
