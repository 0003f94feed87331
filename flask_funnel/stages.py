"""The lead lifecycle: stage names and the rows that record every move.

Journeys are not linear: a lead may skip stages or move back, so a move is valid
between any two different stages; each one is a ``StageChange`` row of its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from .models import Lead, StageChange, utcnow

VISITOR = "visitor"
LEAD = "lead"
MQL = "mql"
SAL = "sal"
SQL = "sql"
CUSTOMER = "customer"
REPEAT_CUSTOMER = "repeat_customer"
LOST = "lost"

#: The funnel's order, from anonymous visitor to repeat customer.
FUNNEL_ORDER = (VISITOR, LEAD, MQL, SAL, SQL, CUSTOMER, REPEAT_CUSTOMER)
#: Every stage a lead can be at (``visitor`` is only ever a ``from_stage``).
STAGES = (*FUNNEL_ORDER, LOST)
LEAD_STAGES = tuple(s for s in STAGES if s != VISITOR)

SYSTEM = "system"


class UnknownStage(ValueError):
    def __init__(self, stage: str):
        super().__init__(f"unknown stage {stage!r}; expected one of {', '.join(LEAD_STAGES)}")
        self.stage = stage


def record_change(
    session: Session,
    lead_id: int,
    from_stage: str | None,
    to_stage: str,
    *,
    actor: str = SYSTEM,
    reason: str | None = None,
    at: datetime | None = None,
) -> dict:
    """Write one stage-change row and set the lead's current stage.

    Returns the change as a dict, for the ``stage_changed`` signal once committed.
    """
    if to_stage not in LEAD_STAGES:
        raise UnknownStage(to_stage)
    at = at or utcnow()
    session.execute(
        insert(StageChange).values(
            lead_id=lead_id,
            from_stage=from_stage,
            to_stage=to_stage,
            at=at,
            actor=actor,
            reason=reason,
        )
    )
    session.execute(
        update(Lead).where(Lead.id == lead_id).values(stage=to_stage, stage_changed_at=at)
    )
    return {
        "lead_id": lead_id,
        "from_stage": from_stage,
        "to_stage": to_stage,
        "actor": actor,
        "reason": reason,
    }
