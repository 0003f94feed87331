"""What admins do to a lead besides moving it: notes, follow-ups, releasing quarantine."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from . import audit
from .models import FollowUp, Lead, Note, utcnow
from .sqlite_writer import writing

NOTE_MAX = 5000


class WorkError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def add_note(engine: Engine, lead_id: int, author: str, body: str) -> int:
    body = (body or "").strip()
    if not body:
        raise WorkError("body", "a note needs some text")
    if len(body) > NOTE_MAX:
        raise WorkError("body", f"a note has at most {NOTE_MAX} characters")
    with writing(engine) as connection:
        return connection.execute(
            insert(Note.__table__),
            {"lead_id": lead_id, "author": author[:100], "body": body, "created_at": utcnow()},
        ).inserted_primary_key[0]


def add_follow_up(
    engine: Engine, lead_id: int, author: str, due_at: datetime, note: str | None
) -> int:
    if due_at.tzinfo is None:
        raise WorkError("due_at", "needs a time zone")
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


def release(engine: Engine, lead_id: int, actor: str) -> bool:
    """Take a lead out of quarantine: it was a person after all."""
    with writing(engine) as connection:
        released = connection.execute(
            update(Lead)
            .where(Lead.id == lead_id, Lead.quarantined.is_(True))
            .values(quarantined=False)
        ).rowcount
        if released:
            audit.record(connection, actor, audit.RELEASE, lead_id=lead_id)
    return bool(released)


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
