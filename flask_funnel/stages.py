"""The lead lifecycle: stage names and the rows that record every move.

Journeys are not linear: a lead may skip stages or move back, so a move is valid
between any two different stages; each one is a ``StageChange`` row of its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert

from .models import StageChange, utcnow

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

_INSERT_CHANGE = insert(StageChange.__table__)


class UnknownStage(ValueError):
    def __init__(self, stage: str):
        super().__init__(f"unknown stage {stage!r}; expected one of {', '.join(LEAD_STAGES)}")
        self.stage = stage


def log_change(
    connection: Connection,
    lead_id: int,
    from_stage: str | None,
    to_stage: str,
    *,
    actor: str = SYSTEM,
    reason: str | None = None,
    at: datetime | None = None,
) -> dict:
    """Write the history row of a stage move (the caller sets the lead's stage in the
    same transaction). Returns the change, for the ``stage_changed`` signal once
    committed."""
    if to_stage not in LEAD_STAGES:
        raise UnknownStage(to_stage)
    change = {
        "lead_id": lead_id,
        "from_stage": from_stage,
        "to_stage": to_stage,
        "actor": actor,
        "reason": reason,
    }
    connection.execute(_INSERT_CHANGE, {**change, "at": at or utcnow()})
    return change
