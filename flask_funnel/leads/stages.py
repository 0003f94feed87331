"""The lead lifecycle: stage names and the rows that record every move.

Journeys are not linear: a lead may skip stages or move back, so a move is valid
between any two different stages; each one is a ``StageChange`` row of its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, func, insert, select, update

from flask_funnel import signals
from flask_funnel.db.models import Lead, StageChange
from flask_funnel.db.retry import write_retrying
from flask_funnel.db.types import utcnow
from flask_funnel.leads import audit, outbox

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


#: Position in the funnel; ``lost`` ranks below every stage a lead can still move up from.
RANK = {stage: n for n, stage in enumerate(FUNNEL_ORDER)} | {LOST: 0}
#: The stages after ``lead`` whose first arrival a lead remembers (``reached_<stage>_at``).
MILESTONES = FUNNEL_ORDER[2:]


def reached_column(stage: str) -> str:
    """The lead column holding when it first reached ``stage`` (``created_at`` for lead)."""
    return "created_at" if stage == LEAD else f"reached_{stage}_at"


def passed(stage: str) -> tuple[str, ...]:
    """The milestones a lead at ``stage`` has passed, skipped ones included."""
    return tuple(m for m in MILESTONES if RANK[m] <= RANK[stage])


def reached_values(stage: str, at: datetime) -> dict:
    """What a lead moving to ``stage`` at ``at`` sets: the first arrival at every
    milestone it has now passed, keeping the times of those it had reached before."""
    return {
        reached_column(m): func.coalesce(getattr(Lead, reached_column(m)), at)
        for m in passed(stage)
    }


class LeadNotFound(LookupError):
    pass


class UnknownStage(ValueError):
    def __init__(self, stage: str):
        super().__init__(f"unknown stage {stage!r}; expected one of {', '.join(LEAD_STAGES)}")
        self.stage = stage


def log_changes(
    connection: Connection,
    lead_id: int,
    moves: list[tuple[str, str, str]],
    *,
    actor: str = SYSTEM,
    at: datetime,
    lost_reason: str | None = None,
    notify: bool = True,
) -> list[dict]:
    """History rows of several moves at once (``(from, to, reason)`` each), for a lead
    whose stage (and ``reached_values``) the caller has set already; a move to ``lost``
    keeps ``lost_reason``. With ``notify``, each is also a ``lead.stage_changed`` in the
    outbox. Returns the rows, which are also the keyword arguments of
    ``signals.stage_changed``."""
    changes = [
        {
            "lead_id": lead_id,
            "from_stage": a,
            "to_stage": b,
            "actor": actor,
            "reason": why,
            "lost_reason": lost_reason if b == LOST else None,
            "at": at,
        }
        for a, b, why in moves
    ]
    connection.execute(_INSERT_CHANGE, changes)
    if notify:
        outbox.add_stage_changes(connection, changes)
    return changes


def move(
    connection: Connection,
    lead_id: int,
    to_stage: str,
    *,
    actor: str,
    reason: str | None = None,
    at: datetime | None = None,
    current: str | None = None,
    lost_reason: str | None = None,
) -> dict | None:
    """Move a lead to any other stage: forwards, back, skipping, or to ``lost`` (why,
    from ``FUNNEL_LOST_REASONS``, in ``lost_reason``).

    Returns the change (None when the lead is already there). A move by a person is
    also written to the audit trail. ``current`` saves a query when the caller has
    just read the lead's stage in the same transaction (its row locked). It writes in the caller's
    transaction, so the caller sends the change (``signals.send_stage_changes``) once
    that transaction has committed; ``move_lead`` does both."""
    if to_stage not in LEAD_STAGES:
        raise UnknownStage(to_stage)
    current = current or _stage_of(connection, lead_id)
    if current == to_stage:
        return None
    at = at or utcnow()
    [change] = log_changes(
        connection,
        lead_id,
        [(current, to_stage, reason)],
        actor=actor,
        at=at,
        lost_reason=lost_reason,
    )
    connection.execute(
        update(Lead)
        .where(Lead.id == lead_id)
        .values(stage=to_stage, stage_changed_at=at, **reached_values(to_stage, at))
    )
    if actor != SYSTEM:
        audit.record(
            connection,
            actor,
            audit.STAGE_CHANGE,
            lead_id=lead_id,
            detail=f"{current} -> {to_stage}"
            + (f" ({lost_reason})" if lost_reason and to_stage == LOST else "")
            + (f": {reason}" if reason else ""),
        )
    return change


def move_lead(
    engine: Engine,
    lead_id: int,
    to_stage: str,
    *,
    actor: str,
    reason: str | None = None,
    lost_reason: str | None = None,
) -> dict | None:
    """``move`` in a transaction of its own, then ``stage_changed`` once it committed:
    a person moving a lead from the admin or the command line."""
    change = write_retrying(
        engine,
        lambda connection: move(
            connection, lead_id, to_stage, actor=actor, reason=reason, lost_reason=lost_reason
        ),
    )
    if change is not None:
        signals.send_stage_changes([change])
    return change


def advance(
    connection: Connection,
    lead_id: int,
    to_stage: str,
    *,
    actor: str = SYSTEM,
    reason: str | None = None,
    at: datetime | None = None,
    current: str | None = None,
) -> dict | None:
    """Move a lead forward to ``to_stage`` unless it is already there or further on
    (a ``lost`` lead comes back). For rules such as "a purchase makes a customer"."""
    current = current or _stage_of(connection, lead_id)
    if not is_behind(current, to_stage):
        return None
    return move(connection, lead_id, to_stage, actor=actor, reason=reason, at=at, current=current)


def is_behind(current: str, stage: str) -> bool:
    """True when a lead at ``current`` has not reached ``stage`` yet (or was lost)."""
    return current == LOST or RANK[current] < RANK[stage]


def _stage_of(connection: Connection, lead_id: int) -> str:
    """The lead's stage, its row locked until the transaction ends: two moves of one lead
    take turns, and the second starts from where the first left it."""
    current = connection.execute(
        select(Lead.stage).where(Lead.id == lead_id).with_for_update()
    ).scalar_one_or_none()
    if current is None:
        raise LeadNotFound(lead_id)
    return current
