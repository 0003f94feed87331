"""The worker that sends the outbox (``flask funnel deliver``): webhook events
(``leads.webhooks``) and emails through the app's mail server (``leads.emails``).

A message that cannot be sent now (another status than 2xx, a timeout, a refused
connection, a mail server down, any error) is tried again later, after 30 s, 1 min,
2 min, ... doubling up to 6 h, each wait jittered, until ``FUNNEL_WEBHOOK_MAX_ATTEMPTS``
tries have failed. Several workers can run at once: a worker claims a batch under its
own token (``SKIP LOCKED`` on PostgreSQL and MariaDB; SQLite has one writer), holds each
message again just before sending it, and writes how it went only under that claim, so
a message is never sent by two workers; one that dies lets its claims go when the lease
ends. Delivery is at least once: a worker that dies between sending and writing it
down sends again.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from sqlalchemy import Engine, or_, select, update

from flask_funnel.db.models import Consent, Lead, OutboxMessage
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.db.types import utcnow
from flask_funnel.leads import emails, webhooks
from flask_funnel.leads.outbox import DELIVERED, FAILED, PENDING, STOPPED, WEBHOOK
from flask_funnel.leads.webhook_endpoints import all_endpoints, unsafe_address
from flask_funnel.settings import WebhookEndpoint, WebhookSettings

log = logging.getLogger("flask_funnel.delivery")

_outbox = OutboxMessage.__table__
#: How long a worker holds the messages it claimed.
LEASE = timedelta(minutes=5)
FIRST_WAIT, LONGEST_WAIT = timedelta(seconds=30), timedelta(hours=6)
BATCH = 50


@dataclass
class Delivered:
    """What one pass sent: delivered, to try again, given up."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def tried(self) -> int:
        return self.delivered + self.retrying + self.failed


def wait_before(attempt: int) -> timedelta:
    """How long to wait after failed try number ``attempt`` (from 1): doubling from
    ``FIRST_WAIT`` up to ``LONGEST_WAIT``, somewhere in its upper half, so receivers
    coming back up are not all tried again at once."""
    longest = min(LONGEST_WAIT, FIRST_WAIT * 2 ** min(attempt - 1, 20))
    return longest * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not a secret)


def deliver_due(
    engine: Engine,
    settings: WebhookSettings,
    *,
    now: datetime | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> Delivered:
    """Send every message due by ``now`` (default: the current time), a batch at a time,
    until none is left that this worker may take or ``stop()`` says so."""
    result = Delivered()
    endpoints = {WEBHOOK + e.name: e for e in all_endpoints(engine, settings)}
    configured = {WEBHOOK + e.name for e in settings.endpoints}
    worker = uuid.uuid4().hex
    with requests.Session() as http:
        while not stop() and (batch := _claim(engine, now or utcnow(), worker)):
            for message in batch:
                if stop():
                    break
                # Held again for this one message: a batch may take longer than a lease,
                # and a message gone (its lead erased) or taken over is not sent.
                if _hold(engine, message.id, worker):
                    target = endpoints.get(message.target)
                    if target and message.target not in configured:  # an admin's: checked
                        target = _still_safe(target, settings)  # again (DNS may change)
                    _send(engine, http, message, target, settings, result, worker)
    return result


def _still_safe(endpoint: WebhookEndpoint, settings: WebhookSettings):
    """The endpoint, or None when its address now leads into a private network."""
    if unsafe_address(endpoint.url, settings.allow_private):
        log.warning("webhook endpoint %s now resolves to a private address", endpoint.name)
        return None
    return endpoint


def _claim(engine: Engine, now: datetime, worker: str) -> list:
    with writing(engine) as connection:
        due = (
            connection.execute(
                select(_outbox.c.id)
                .where(
                    _outbox.c.state == PENDING,
                    _outbox.c.next_attempt_at <= now,
                    or_(_outbox.c.claimed_until.is_(None), _outbox.c.claimed_until < now),
                )
                .order_by(_outbox.c.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        if not due:
            return []
        connection.execute(
            update(_outbox)
            .where(_outbox.c.id.in_(due))
            .values(claimed_until=utcnow() + LEASE, claimed_by=worker)
        )
        return connection.execute(
            select(_outbox).where(_outbox.c.id.in_(due)).order_by(_outbox.c.id)
        ).all()


def _hold(engine: Engine, message_id: int, worker: str) -> bool:
    with writing(engine) as connection:
        return bool(
            connection.execute(
                update(_outbox)
                .where(
                    _outbox.c.id == message_id,
                    _outbox.c.claimed_by == worker,
                    _outbox.c.state == PENDING,
                )
                .values(claimed_until=utcnow() + LEASE)
            ).rowcount
        )


def _finish(engine: Engine, message_id: int, worker: str, values: dict) -> None:
    """Record how it went, unless another worker took the message over meanwhile."""
    with writing(engine) as connection:  # gone if its lead was erased meanwhile
        connection.execute(
            update(_outbox)
            .where(_outbox.c.id == message_id, _outbox.c.claimed_by == worker)
            .values(claimed_until=None, claimed_by=None, **values)
        )


def _send(engine, http, message, endpoint, settings, result, worker: str) -> None:
    attempt = message.attempts + 1
    stop = _why_not_nurture(engine, message.lead_id) if message.event == emails.NURTURE else None
    if stop is not None:
        _finish(engine, message.id, worker, {"state": STOPPED, "last_error": stop})
        return
    # A webhook whose endpoint left the configuration (or now leads into a private
    # network) will never go: given up at once. The mail server is always there.
    nowhere = endpoint is None and not message.target.startswith("email:")
    try:
        if message.target.startswith("email:"):
            status, error = None, emails.send(_email_of(message), settings.timeout)
        elif nowhere:
            status, error = None, "the endpoint is no longer configured"
        else:
            status, error = webhooks.post(http, endpoint, message, settings.timeout)
    except Exception as exc:  # one bad message must not stop the others
        status, error = None, f"{type(exc).__name__} while sending"
        log.exception("outbox message %s could not be sent", message.id)
    values = {"attempts": attempt, "last_status": status}
    if error is None:
        values |= {"state": DELIVERED, "delivered_at": utcnow(), "last_error": None}
        result.delivered += 1
    elif attempt >= settings.max_attempts or nowhere:
        values |= {"state": FAILED, "last_error": error[:300]}
        result.failed += 1
        log.warning(
            "outbox %s %s gave up after %s tries: %s", message.target, message.id, attempt, error
        )
    else:
        values |= {"next_attempt_at": utcnow() + wait_before(attempt), "last_error": error[:300]}
        result.retrying += 1
        log.info("outbox %s %s try %s failed: %s", message.target, message.id, attempt, error)
    _finish(engine, message.id, worker, values)


def _email_of(message) -> dict:
    """An email as stored, or, for the digest, rendered now (erased leads left out)."""
    if message.event == emails.DIGEST:
        return emails.digest_now(json.loads(message.body))
    return json.loads(message.body)


#: Stages at which a lead's nurture sequence stops.
_DONE_WITH_NURTURE = ("customer", "repeat_customer", "lost")


def _why_not_nurture(engine: Engine, lead_id: int | None) -> str | None:
    """Why a nurture email must not go out now (None: it may)."""
    with engine.connect() as connection:
        stage = connection.execute(select(Lead.stage).where(Lead.id == lead_id)).scalar()
        consenting = connection.execute(
            select(Consent.id)
            .where(Consent.lead_id == lead_id, Consent.withdrawn_at.is_(None))
            .limit(1)
        ).first()
    if stage is None:
        return "the lead is gone"
    if consenting is None:
        return "the lead unsubscribed"
    if stage in _DONE_WITH_NURTURE:
        return f"the lead is at {stage}"
    return None
