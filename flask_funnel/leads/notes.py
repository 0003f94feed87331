"""Notes and follow-ups: what admins write down about a lead and when to call back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from flask_funnel.db.models import (
    FollowUp,
    Lead,
    Note,
)
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.db.types import utcnow
from flask_funnel.values import FieldError

"""What admins do to a lead besides moving it: notes, follow-ups, releasing quarantine."""


NOTE_MAX = 5000


def add_note(engine: Engine, lead_id: int, author: str, body: str) -> int:
    body = (body or "").strip()
    if not body:
        raise FieldError("body", "a note needs some text", "required")
    if len(body) > NOTE_MAX:
        raise FieldError("body", f"a note has at most {NOTE_MAX} characters", "too_long")
    with writing(engine) as connection:
        return connection.execute(
            insert(Note.__table__),
            {"lead_id": lead_id, "author": author[:100], "body": body, "created_at": utcnow()},
        ).inserted_primary_key[0]


def add_follow_up(
    engine: Engine, lead_id: int, author: str, due_at: datetime, note: str | None
) -> int:
    if due_at.tzinfo is None:
        raise FieldError("due_at", "needs a time zone")
    with writing(engine) as connection:
        return connection.execute(
            insert(FollowUp.__table__),
            {
                "lead_id": lead_id,
                "due_at": due_at,
                "note": (note or "").strip()[:500] or None,
                "created_by": author[:100],
                "created_at": utcnow(),
                "done_at": None,
            },
        ).inserted_primary_key[0]


def complete_follow_up(engine: Engine, follow_up_id: int) -> bool:
    with writing(engine) as connection:
        return bool(
            connection.execute(
                update(FollowUp)
                .where(FollowUp.id == follow_up_id, FollowUp.done_at.is_(None))
                .values(done_at=utcnow())
            ).rowcount
        )


def due_follow_ups(session: Session, limit: int = 200) -> list[tuple[FollowUp, Lead]]:
    """Open follow-ups, the longest overdue first."""
    return list(
        session.execute(
            select(FollowUp, Lead)
            .join(Lead, Lead.id == FollowUp.lead_id)
            .where(FollowUp.done_at.is_(None))
            .order_by(FollowUp.due_at)
            .limit(limit)
        )
    )
