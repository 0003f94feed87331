"""Purchases: the first one makes a lead a customer, the second a repeat customer."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import Engine, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from flask_funnel import signals
from flask_funnel.db.models import Lead, Purchase
from flask_funnel.db.retry import write_retrying
from flask_funnel.db.types import utcnow
from flask_funnel.leads import audit, outbox, stages
from flask_funnel.leads.profile import lead_id_for
from flask_funnel.values import FieldError, parse_time

log = logging.getLogger("flask_funnel.leads.purchases")

_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = Decimal("9999999999.99")

_PURCHASES_OF_LEAD = (
    select(Purchase.id).where(Purchase.lead_id == bindparam("lead_id")).with_for_update()
)


@dataclass(frozen=True)
class RecordedPurchase:
    purchase_id: int
    lead_id: int
    stage: str
    duplicate: bool
    stage_change: dict | None = None


#: How far ahead of the server's clock a purchase's time may be (a shop's clock, a
#: time zone typed wrong by an hour): more is a typo, refused.
FUTURE_GRACE = timedelta(minutes=10)


def parse_amount(value: object) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise FieldError("amount", f"{value!r} is not a number", "not_a_number") from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise FieldError("amount", "must be a positive amount", "not_positive")
    if amount.as_tuple().exponent < -2:
        raise FieldError("amount", "has more than two decimal places", "too_precise")
    return amount


def parse_currency(value: object) -> str:
    currency = str(value or "").strip().upper()
    if not _CURRENCY.match(currency):
        raise FieldError("currency", f"{value!r} is not a three-letter currency code")
    return currency


def record_purchase(
    engine: Engine,
    *,
    email: str | None = None,
    lead_id: int | None = None,
    amount: object,
    currency: object,
    at: object | None = None,
    reference: str | None = None,
    actor: str,
) -> RecordedPurchase:
    """Record a purchase of a lead (by id or email) and move the lead on: its first
    purchase makes it a ``customer``, its second a ``repeat_customer``. A reference
    seen before is not counted again (``duplicate=True``). Once committed, sends
    ``purchase_recorded`` and then ``stage_changed`` if the lead moved on."""
    amount, currency = parse_amount(amount), parse_currency(currency)
    moment = utcnow() if at in (None, "") else parse_time(at)
    if moment > utcnow() + FUTURE_GRACE:
        raise FieldError("at", "is in the future", "future")
    reference = (reference or "").strip() or None
    if reference and len(reference) > 100:
        raise FieldError("reference", "must be at most 100 characters")

    def work(connection):
        locked_id = _locked_lead(connection, email, lead_id)
        purchase_id = connection.execute(
            insert(Purchase.__table__),
            {
                "lead_id": locked_id,
                "amount": amount,
                "currency": currency,
                "at": moment,
                "reference": reference,
                "recorded_by": actor[:100],
                "created_at": utcnow(),
            },
        ).inserted_primary_key[0]
        if outbox.endpoints_for("purchase.recorded", connection):
            _tell_purchase(connection, locked_id, purchase_id, amount, currency, moment, reference)
        # A locking read: on MariaDB a plain one could miss a purchase committed by the
        # transaction this one waited for.
        count = len(connection.execute(_PURCHASES_OF_LEAD, {"lead_id": locked_id}).all())
        target = stages.CUSTOMER if count == 1 else stages.REPEAT_CUSTOMER
        change = stages.advance(
            connection, locked_id, target, reason=f"purchase {reference or purchase_id}", at=moment
        )
        audit.record(
            connection,
            actor,
            audit.PURCHASE,
            lead_id=locked_id,
            detail=f"{amount} {currency}" + (f" ref {reference}" if reference else ""),
        )
        stage = connection.execute(
            select(Lead.stage).where(Lead.id == locked_id).with_for_update()
        ).scalar_one()
        return purchase_id, locked_id, change, stage

    try:
        purchase_id, lead_id, change, stage = write_retrying(engine, work)
    except IntegrityError:
        if reference is None:
            raise
        with engine.connect() as connection:
            existing = connection.execute(
                select(
                    Purchase.id, Purchase.lead_id, Purchase.amount, Purchase.currency, Lead.stage
                )
                .join(Lead, Lead.id == Purchase.lead_id)
                .where(Purchase.reference == reference)
            ).one()
        if (Decimal(existing.amount), existing.currency) != (amount, currency):
            raise FieldError(
                "reference",
                f"was recorded with {existing.amount} {existing.currency}, not {amount} {currency}",
                "conflict",
            ) from None
        return RecordedPurchase(existing.id, existing.lead_id, existing.stage, True)
    log.info("purchase %s recorded for lead %s", purchase_id, lead_id)
    signals.send(
        signals.purchase_recorded,
        lead_id=lead_id,
        purchase_id=purchase_id,
        amount=amount,
        currency=currency,
        at=moment,
        reference=reference,
        actor=actor,
    )
    if change is not None:
        signals.send_stage_changes([change])
    return RecordedPurchase(purchase_id, lead_id, stage, False, change)


def _tell_purchase(connection, lead_id, purchase_id, amount, currency, moment, reference):
    email = connection.execute(select(Lead.email).where(Lead.id == lead_id)).scalar()
    data = {
        "lead_id": lead_id,
        "email": email,
        "purchase_id": purchase_id,
        "amount": str(amount),
        "currency": currency,
        "at": moment,
        "reference": reference,
    }
    outbox.add_event(connection, "purchase.recorded", data, lead_id=lead_id, at=moment)


def _locked_lead(connection, email: str | None, lead_id: int | None) -> int:
    """The lead's id, its row locked until the purchase is recorded: purchases of one
    lead take turns, so the second of two at once makes the repeat customer."""
    if lead_id is None:
        if not (email or "").strip():
            raise FieldError("email", "is required")
        lead_id = lead_id_for(connection, email)
        if lead_id is None:
            raise FieldError("email", "no lead has this email address")
    found = connection.execute(select(Lead.id).where(Lead.id == lead_id).with_for_update()).scalar()
    if found is None:
        raise FieldError("lead", f"there is no lead {lead_id}")
    return found
