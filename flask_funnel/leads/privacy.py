"""A person's right to be forgotten (GDPR Art. 17): erasing a lead and everything
recorded about them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, delete, or_, select, update

from flask_funnel import signals
from flask_funnel.db.models import (
    Answer,
    Consent,
    FollowUp,
    Identity,
    Lead,
    Note,
    Purchase,
    StageChange,
    StepView,
    Submission,
    Visit,
    Visitor,
)
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.leads import audit, outbox
from flask_funnel.leads.name_terms import drop_terms

#: ``lead.erased`` waits this long, so that a worker's send of the lead's own messages
#: already under way (at most FUNNEL_WEBHOOK_TIMEOUT) reaches the receiver first.
ERASED_EVENT_DELAY = timedelta(minutes=1)


def erase(engine: Engine, lead_id: int, actor: str) -> bool:
    """Erase a person (GDPR Art. 17): the lead and everything recorded about them,
    including the anonymous visits of the browsers they used and the sign-in accounts
    (Google) linked to them. The audit entry keeps only the lead's id; ``lead_erased``
    is sent once the erasure committed."""
    with writing(engine) as connection:
        visitors = select(Submission.visitor_id).where(
            Submission.lead_id == lead_id, Submission.visitor_id.is_not(None)
        )
        connection.execute(delete(StepView).where(StepView.visitor_id.in_(visitors)))
        connection.execute(
            delete(Visitor).where(or_(Visitor.lead_id == lead_id, Visitor.visitor_id.in_(visitors)))
        )
        connection.execute(
            delete(Visit).where(or_(Visit.lead_id == lead_id, Visit.visitor_id.in_(visitors)))
        )
        drop_terms(connection, lead_id)
        # Rows go before the rows they point at (PostgreSQL and MariaDB enforce foreign
        # keys): answers and consents before submissions, submissions before identities.
        # A submission of another lead that points at one of these identities loses it.
        identities = select(Identity.id).where(Identity.lead_id == lead_id)
        connection.execute(
            update(Submission)
            .where(Submission.identity_id.in_(identities))
            .values(identity_id=None)
        )
        tables = (Answer, Consent, StageChange, Purchase, Note, FollowUp, Submission, Identity)
        for model in tables:
            connection.execute(delete(model).where(model.lead_id == lead_id))
        erased = connection.execute(delete(Lead).where(Lead.id == lead_id)).rowcount
        if erased:
            audit.record(connection, actor, audit.DELETE, lead_id=lead_id, detail="erased")
            outbox.drop_for_lead(connection, lead_id)  # pending or sent, they hold the email
            outbox.add_event(  # after any send of its messages already under way
                connection,
                "lead.erased",
                {"lead_id": lead_id},
                lead_id=None,
                at=None,
                delay=ERASED_EVENT_DELAY,
            )
    if erased:
        signals.send(signals.lead_erased, lead_id=lead_id, actor=actor)
    return bool(erased)
