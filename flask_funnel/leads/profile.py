"""One lead: found by email, and everything known about them for the admin lead page
(a handful of queries)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from flask_funnel.db.models import (
    Answer,
    Consent,
    FollowUp,
    Identity,
    Lead,
    Note,
    OutboxMessage,
    Purchase,
    StageChange,
    Submission,
    Visit,
)
from flask_funnel.values import email_key

RECENT_VISITS = 100


@dataclass(frozen=True)
class LeadFile:
    lead: Lead
    #: The sign-in accounts (Google) linked to the lead, first linked first.
    identities: list[Identity]
    consents: list[Consent]
    visits: list[Visit]
    submissions: list[tuple[Submission, list[Answer]]]
    stage_changes: list[StageChange]
    purchases: list[Purchase]
    notes: list[Note]
    follow_ups: list[FollowUp]
    #: What was sent or is waiting to be sent about the lead: emails and webhook events.
    messages: list[OutboxMessage]

    def subject(self, message: OutboxMessage) -> str | None:
        """An email's subject (None for a webhook event)."""
        if not message.target.startswith("email:") or not message.body:
            return None
        return json.loads(message.body).get("subject")


def lead_file(session: Session, lead_id: int) -> LeadFile | None:
    lead = session.get(Lead, lead_id)
    if lead is None:
        return None

    def rows(model, *order):
        return list(session.scalars(select(model).where(model.lead_id == lead_id).order_by(*order)))

    submissions = rows(Submission, Submission.id.desc())
    answers: dict[int, list[Answer]] = {}
    if submissions:
        for answer in session.scalars(
            select(Answer)
            .where(Answer.submission_id.in_([s.id for s in submissions]))
            .order_by(Answer.id)
        ):
            answers.setdefault(answer.submission_id, []).append(answer)
    visits = list(
        session.scalars(
            select(Visit)
            .where(Visit.lead_id == lead_id)
            .order_by(Visit.id.desc())
            .limit(RECENT_VISITS)
        )
    )
    return LeadFile(
        lead=lead,
        identities=rows(Identity, Identity.linked_at, Identity.id),
        consents=rows(Consent, Consent.id.desc()),
        visits=visits,
        submissions=[(s, answers.get(s.id, [])) for s in submissions],
        stage_changes=rows(StageChange, StageChange.id.desc()),
        purchases=rows(Purchase, Purchase.at.desc()),
        notes=rows(Note, Note.id.desc()),
        follow_ups=rows(FollowUp, FollowUp.done_at.is_not(None), FollowUp.due_at),
        messages=rows(OutboxMessage, OutboxMessage.id.desc()),
    )


def person_record(found: LeadFile) -> dict:
    """The lead file as plain data (what a person may ask to see about themselves)."""

    def row(obj, *skip: str) -> dict:
        return {
            column.key: getattr(obj, column.key)
            for column in obj.__table__.columns
            if column.key not in skip
        }

    return {
        "lead": row(found.lead, "origin_key"),
        "identities": [row(i) for i in found.identities],
        "consents": [row(c) for c in found.consents],
        "quiz_submissions": [
            {**row(s, "idempotency_key"), "answers": [row(a) for a in answers]}
            for s, answers in found.submissions
        ],
        "stage_changes": [row(c) for c in found.stage_changes],
        "purchases": [row(p) for p in found.purchases],
        "notes": [row(n) for n in found.notes],
        "follow_ups": [row(f) for f in found.follow_ups],
        "visits": [row(v) for v in found.visits],
        "messages": [row(m, "claimed_until") for m in found.messages],
    }


def lead_id_for(connection: Connection, email: str) -> int | None:
    """The id of the lead with this email (matched as the quiz stores it), or None."""
    return connection.scalar(select(Lead.id).where(Lead.email == email_key(email)))
