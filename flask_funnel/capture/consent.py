"""Consent as given with a submission, and withdrawn with one click."""

from __future__ import annotations

import hashlib
import logging
from functools import cache

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from flask_funnel.db.models import Consent
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.db.types import utcnow

log = logging.getLogger("flask_funnel.capture.consent")


@cache
def consent_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def withdraw_consent(engine: Engine, lead_id: int) -> int:
    """Withdraw every consent the lead still has given; returns how many were open."""
    with writing(engine) as connection:
        withdrawn = connection.execute(
            update(Consent)
            .where(Consent.lead_id == lead_id, Consent.withdrawn_at.is_(None))
            .values(withdrawn_at=utcnow())
        ).rowcount
    if withdrawn:
        log.info("lead %s withdrew consent", lead_id)
    return withdrawn


def consent_withdrawn(session: Session, lead_id: int) -> bool:
    """True when the lead has no consent left that was not withdrawn."""
    open_consent = session.scalar(
        select(Consent.id)
        .where(Consent.lead_id == lead_id, Consent.withdrawn_at.is_(None))
        .limit(1)
    )
    session.commit()
    return open_consent is None
