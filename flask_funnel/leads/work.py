"""What admins do to a lead besides moving it: notes, follow-ups, releasing quarantine."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from flask_funnel import signals
from flask_funnel.db.models import (
    Answer,
    Consent,
    FollowUp,
    Lead,
    Note,
    Purchase,
    StageChange,
    StepView,
    Submission,
    Visit,
)
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.db.types import utcnow
from flask_funnel.leads import audit
from flask_funnel.leads.name_terms import add_terms, drop_terms
from flask_funnel.values import FieldError, email_key

NOTE_MAX = 5000


def lead_id_for(connection: Connection, email: str) -> int | None:
    """The id of the lead with this email (matched as the quiz stores it), or None."""
    return connection.scalar(select(Lead.id).where(Lead.email == email_key(email)))


def add_note(engine: Engine, lead_id: int, author: str, body: str) -> int:
    body = (body or "").strip()
    if not body:
        raise FieldError("body", "a note needs some text")
    if len(body) > NOTE_MAX:
        raise FieldError("body", f"a note has at most {NOTE_MAX} characters")
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


def release(engine: Engine, lead_id: int, actor: str) -> bool:
    """Take a lead out of quarantine: it was a person after all."""
    with writing(engine) as connection:
        released = connection.execute(
            update(Lead)
            .where(Lead.id == lead_id, Lead.quarantined.is_(True))
            .values(quarantined=False)
        ).rowcount
        if released:
            lead = connection.execute(
                select(Lead.name, Lead.created_at).where(Lead.id == lead_id)
            ).one()
            add_terms(connection, [(lead_id, lead.name, lead.created_at)])
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


def erase(engine: Engine, lead_id: int, actor: str) -> bool:
    """Erase a person (GDPR Art. 17): the lead and everything recorded about them,
    including the anonymous visits of the browsers they used. The audit entry keeps
    only the lead's id; ``lead_erased`` is sent once the erasure committed."""
    with writing(engine) as connection:
        visitors = select(Submission.visitor_id).where(
            Submission.lead_id == lead_id, Submission.visitor_id.is_not(None)
        )
        connection.execute(delete(StepView).where(StepView.visitor_id.in_(visitors)))
        connection.execute(
            delete(Visit).where(or_(Visit.lead_id == lead_id, Visit.visitor_id.in_(visitors)))
        )
        drop_terms(connection, lead_id)
        for model in (Answer, Consent, StageChange, Purchase, Note, FollowUp, Submission):
            connection.execute(delete(model).where(model.lead_id == lead_id))
        erased = connection.execute(delete(Lead).where(Lead.id == lead_id)).rowcount
        if erased:
            audit.record(connection, actor, audit.DELETE, lead_id=lead_id, detail="erased")
    if erased:
        signals.send(signals.lead_erased, lead_id=lead_id, actor=actor)
    return bool(erased)
