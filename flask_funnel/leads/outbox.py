"""The outbox: what other systems and people must be told (webhook events, emails),
written in the transaction that made it happen, so nothing is told about a change
that was rolled back and nothing that committed goes untold. ``flask funnel deliver``
sends it later (``leads.webhooks``), so a slow or broken receiver or mail server never
slows a visitor's sign-up.

Each event has one id for all its receivers (they drop an id they have seen: sending
is at least once) and one row per webhook endpoint that wants it. Nothing is written
while no endpoint is configured. A lead's rows go when the lead is erased.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app, has_app_context
from sqlalchemy import Connection, delete, insert, select, update

from flask_funnel.db.models import Lead, OutboxMessage
from flask_funnel.db.types import utcnow
from flask_funnel.leads import emails
from flask_funnel.leads.webhook_endpoints import all_endpoints

if TYPE_CHECKING:
    from flask_funnel.settings import WebhookEndpoint

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
#: Not sent because it no longer should be (a nurture email to a lead who unsubscribed).
STOPPED = "stopped"
STATES = (PENDING, DELIVERED, FAILED, STOPPED)
WEBHOOK = "webhook:"

_outbox = OutboxMessage.__table__
_INSERT = insert(_outbox)


def endpoints_for(event: str, connection: Connection) -> tuple[WebhookEndpoint, ...]:
    """The webhook endpoints of the current app that want ``event``."""
    if not has_app_context() or "funnel" not in current_app.extensions:
        return ()
    state = current_app.extensions["funnel"]
    endpoints = all_endpoints(state.engine, state.settings.webhooks, connection)
    return tuple(e for e in endpoints if event in e.events)


def add_event(
    connection: Connection,
    event: str,
    data: dict,
    *,
    lead_id: int | None,
    at: datetime | None,
    delay: timedelta | None = None,
) -> str | None:
    """Write ``event`` with ``data`` for each endpoint that wants it, in the caller's
    transaction, to be sent after ``delay``; its id (None when no endpoint wants it)."""
    endpoints = endpoints_for(event, connection)
    if not endpoints:
        return None
    now = utcnow()
    event_id = uuid.uuid4().hex
    body = json.dumps(
        {"id": event_id, "type": event, "created_at": _iso(at or now), "data": data},
        ensure_ascii=False,
        separators=(",", ":"),
        default=_iso,
    )
    rows = [_row(event_id, event, WEBHOOK + e.name, lead_id, body, now) for e in endpoints]
    if delay:
        rows = [row | {"next_attempt_at": now + delay} for row in rows]
    connection.execute(_INSERT, rows)
    return event_id


def add_message(
    connection: Connection,
    target: str,
    event: str,
    message: dict,
    lead_id: int | None,
    *,
    not_before: datetime | None = None,
) -> None:
    """Write one message for ``target`` (an email: ``emails.TO_LEAD``), to be sent from
    ``not_before`` on (now by default)."""
    body = json.dumps(message, ensure_ascii=False)
    row = _row(uuid.uuid4().hex, event, target, lead_id, body, utcnow())
    connection.execute(_INSERT, row | ({"next_attempt_at": not_before} if not_before else {}))


def _row(event_id: str, event: str, target: str, lead_id, body: str, now: datetime) -> dict:
    return {
        "event_id": event_id,
        "event": event,
        "target": target,
        "lead_id": lead_id,
        "body": body,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def add_stage_changes(connection: Connection, changes: list[dict]) -> None:
    """``lead.stage_changed`` for each change row (``stages.log_changes``), and an email
    to the sales team for a move to FUNNEL_NOTIFY_STAGE."""
    if not changes:
        return
    hooked = bool(endpoints_for("lead.stage_changed", connection))
    team = _team()
    told = [c for c in changes if team and c["to_stage"] == team.notify_stage]
    if not hooked and not told:
        return
    lead_id = changes[0]["lead_id"]
    lead = connection.execute(select(Lead).where(Lead.id == lead_id)).first()
    for change in changes if hooked else ():
        data = {
            "lead_id": lead_id,
            "email": lead.email,
            "from_stage": change["from_stage"],
            "to_stage": change["to_stage"],
            "at": change["at"],
            "lost_reason": change["lost_reason"],
        }
        add_event(connection, "lead.stage_changed", data, lead_id=lead_id, at=change["at"])
    for change in told:
        notice = emails.team_notice(
            lead,
            change,
            sender=team.mail_from,
            to=team.notify_emails,
            locale=team.notify_locale,
        )
        add_message(connection, emails.TO_TEAM, "email.team", notice, lead_id)


def _team():
    """The settings, when the sales team is to be told (a sender and addresses)."""
    if not has_app_context() or "funnel" not in current_app.extensions:
        return None
    settings = current_app.extensions["funnel"].settings
    return settings if settings.mail_from and settings.notify_emails else None


def recent(connection: Connection, state: str | None = None, limit: int = 100) -> list:
    """The latest messages, newest first (only those in ``state`` when given)."""
    query = select(_outbox).order_by(_outbox.c.id.desc()).limit(limit)
    if state:
        query = query.where(_outbox.c.state == state)
    return connection.execute(query).all()


def send_again(connection: Connection, message_id: int) -> bool:
    """Queue a message again now (a replay: the receiver gets the same event id)."""
    return bool(
        connection.execute(
            update(_outbox)
            .where(_outbox.c.id == message_id, _outbox.c.state != PENDING)
            .values(state=PENDING, next_attempt_at=utcnow(), claimed_until=None, attempts=0)
        ).rowcount
    )


def stop_nurture(connection: Connection, lead_id: int) -> None:
    """A lead who signs up again starts a new sequence: the old one stops."""
    connection.execute(
        update(_outbox)
        .where(
            _outbox.c.lead_id == lead_id,
            _outbox.c.event == emails.NURTURE,
            _outbox.c.state == PENDING,
        )
        .values(state=STOPPED, last_error="a newer sequence started")
    )


def prune(connection: Connection, days: int) -> int:
    """Forget the messages finished (sent, given up, stopped) more than ``days`` ago:
    the outbox is a log of recent work, not an archive of personal data."""
    cutoff = utcnow() - timedelta(days=days)
    return connection.execute(
        delete(_outbox).where(_outbox.c.created_at < cutoff, _outbox.c.state != PENDING)
    ).rowcount


def drop_for_lead(connection: Connection, lead_id: int) -> int:
    """Forget every message about an erased lead, sent or not (they hold their email)."""
    return connection.execute(delete(_outbox).where(_outbox.c.lead_id == lead_id)).rowcount


def _iso(value) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
