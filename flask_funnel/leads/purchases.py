"""Purchases: the first one makes a lead a customer, the second a repeat customer."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from flask_funnel import signals
from flask_funnel.db.models import Lead, Purchase
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.db.types import utcnow
from flask_funnel.leads import audit, stages
from flask_funnel.leads.profile import lead_id_for
from flask_funnel.values import FieldError, parse_time

log = logging.getLogger("flask_funnel.leads.purchases")

_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = Decimal("9999999999.99")


@dataclass(frozen=True)
class RecordedPurchase:
    purchase_id: int
    lead_id: int
    stage: str
    duplicate: bool
    stage_change: dict | None = None


def parse_amount(value: object) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise FieldError("amount", f"{value!r} is not a number") from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise FieldError("amount", "must be a positive amount")
    if amount.as_tuple().exponent < -2:
        raise FieldError("amount", "has more than two decimal places")
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
    reference = (reference or "").strip() or None
    if reference and len(reference) > 100:
        raise FieldError("reference", "must be at most 100 characters")
    try:
        with writing(engine) as connection:
            lead_id = _lead_id(connection, email, lead_id)
            purchase_id = connection.execute(
                insert(Purchase.__table__),
                {
                    "lead_id": lead_id,
                    "amount": amount,
                    "currency": currency,
                    "at": moment,
                    "reference": reference,
                    "recorded_by": actor[:100],
                    "created_at": utcnow(),
                },
            ).inserted_primary_key[0]
            count = connection.execute(
                select(func.count()).where(Purchase.lead_id == lead_id)
            ).scalar_one()
            target = stages.CUSTOMER if count == 1 else stages.REPEAT_CUSTOMER
            change = stages.advance(
                connection,
                lead_id,
                target,
                reason=f"purchase {reference or purchase_id}",
                at=moment,
            )
            audit.record(
                connection,
                actor,
                audit.PURCHASE,
                lead_id=lead_id,
                detail=f"{amount} {currency}" + (f" ref {reference}" if reference else ""),
            )
            stage = connection.execute(select(Lead.stage).where(Lead.id == lead_id)).scalar_one()
    except IntegrityError:
        if reference is None:
            raise
        with engine.connect() as connection:
            existing = connection.execute(
                select(Purchase.id, Purchase.lead_id, Lead.stage)
                .join(Lead, Lead.id == Purchase.lead_id)
                .where(Purchase.reference == reference)
            ).one()
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


def _lead_id(connection, email: str | None, lead_id: int | None) -> int:
    if lead_id is not None:
        found = connection.execute(select(Lead.id).where(Lead.id == lead_id)).scalar()
        if found is None:
            raise FieldError("lead", f"there is no lead {lead_id}")
        return found
    if not (email or "").strip():
        raise FieldError("email", "is required")
    found = lead_id_for(connection, email)
    if found is None:
        raise FieldError("email", "no lead has this email address")
    return found
