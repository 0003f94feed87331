"""Double opt-in (a page with ``confirm = true``): a sign-up is kept out of every count
and gets no offer until its email is confirmed by the link sent to it; one not
confirmed within FUNNEL_CONFIRM_DAYS is erased.

An unconfirmed submission is quarantined with the reason ``unconfirmed``, so the one
rule that leaves suspected bots out of the counts leaves it out too; confirming takes
it (and its lead, if the lead had nothing else) out of quarantine the way an admin's
release does, and queues the emails it was waiting for.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, exists, false, select, true, update

from flask_funnel.db.models import Lead, Submission
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.db.types import utcnow
from flask_funnel.leads import emails, outbox
from flask_funnel.leads.privacy import erase
from flask_funnel.leads.quarantine import count_as_a_person

UNCONFIRMED = "unconfirmed"


def awaiting(submission: Submission) -> bool:
    """True while the submission's email is not confirmed."""
    return submission.quarantined and submission.quarantine_reason == UNCONFIRMED


def only_unconfirmed(session, lead_ids: list[int]) -> set[int]:
    """Of these quarantined leads, those kept out only until they confirm their email
    (the admin shows them apart from suspected bots)."""
    if not lead_ids:
        return set()
    caught = select(Submission.lead_id).where(
        Submission.lead_id.in_(lead_ids),
        Submission.quarantined == true(),
        Submission.quarantine_reason != UNCONFIRMED,
    )
    waiting = select(Submission.lead_id).where(
        Submission.lead_id.in_(lead_ids), Submission.quarantine_reason == UNCONFIRMED
    )
    return set(session.scalars(waiting.except_(caught)))


def confirm(
    engine: Engine, submission_id: int, emails_to_lead: tuple[tuple[int, str, dict], ...]
) -> bool:
    """Confirm the submission's email and queue ``emails_to_lead`` (``(days after now,
    event, message)``); False when it was confirmed already (nothing is queued twice)."""
    now = utcnow()
    with writing(engine) as connection:
        waiting = connection.execute(
            select(Submission.lead_id)
            .where(
                Submission.id == submission_id,
                Submission.quarantined == true(),
                Submission.quarantine_reason == UNCONFIRMED,
            )
            .with_for_update()
        ).scalar()
        if waiting is None:
            return False
        connection.execute(
            update(Submission).where(Submission.id == submission_id).values(quarantined=False)
        )
        count_as_a_person(connection, waiting)
        if any(event == emails.NURTURE for _, event, _ in emails_to_lead):
            outbox.stop_nurture(connection, waiting)
        for days, event, message in emails_to_lead:
            later = now + timedelta(days=days)
            outbox.add_message(
                connection, emails.TO_LEAD, event, message, waiting, not_before=later
            )
    return True


def expire(engine: Engine, days: int, actor: str = "expiry") -> int:
    """Erase the leads that signed up only unconfirmed, longer than ``days`` ago."""
    cutoff = utcnow() - timedelta(days=days)
    other = exists().where(
        Submission.lead_id == Lead.id,
        (Submission.quarantine_reason != UNCONFIRMED) | (Submission.quarantined == false()),
    )
    newer = exists().where(Submission.lead_id == Lead.id, Submission.created_at >= cutoff)
    with engine.connect() as connection:
        stale = (
            connection.execute(select(Lead.id).where(Lead.quarantined == true(), ~other, ~newer))
            .scalars()
            .all()
        )
    return sum(erase(engine, lead_id, actor) for lead_id in stale)
