"""Suspected bots: a lead quarantined by the bot checks is released by an admin."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, func, select, true, update

from flask_funnel.db.models import Lead, Submission, Visit, Visitor
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.leads import audit
from flask_funnel.leads.name_terms import add_terms


def release(engine: Engine, lead_id: int, actor: str) -> bool:
    """Take a lead out of quarantine: it was a person after all."""
    with writing(engine) as connection:
        caught = connection.execute(select(Lead.quarantined).where(Lead.id == lead_id)).scalar()
        if not caught:  # a real lead keeps its caught submissions caught
            return False
        count_as_a_person(connection, lead_id)
        audit.record(connection, actor, audit.RELEASE, lead_id=lead_id)
    return True


def count_as_a_person(connection: Connection, lead_id: int) -> bool:
    """Count the lead from now on (True when it was quarantined), with what the bot
    checks kept out with it: its submissions (the reason they were caught stays on
    record), its browsers as visitors who signed up, and their page views linked to it,
    as capture links them."""
    released = connection.execute(
        update(Lead).where(Lead.id == lead_id, Lead.quarantined == true()).values(quarantined=False)
    ).rowcount
    if released:
        lead = connection.execute(
            select(Lead.name, Lead.email, Lead.created_at).where(Lead.id == lead_id)
        ).one()
        add_terms(connection, [(lead_id, lead.name, lead.email, lead.created_at)])
    connection.execute(
        update(Submission).where(Submission.lead_id == lead_id).values(quarantined=False)
    )
    browsers = select(Submission.visitor_id).where(Submission.lead_id == lead_id)
    connection.execute(
        update(Visitor)
        .where(Visitor.visitor_id.in_(browsers))
        .values(quarantined=False, lead_id=func.coalesce(Visitor.lead_id, lead_id))
    )
    connection.execute(
        update(Visit)
        .where(Visit.visitor_id.in_(browsers), Visit.lead_id.is_(None))
        .values(lead_id=lead_id)
    )
    return bool(released)
