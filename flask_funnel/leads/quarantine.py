"""Suspected bots: a lead quarantined by the bot checks is released by an admin."""

from __future__ import annotations

from sqlalchemy import Engine, select, true, update

from flask_funnel.db.models import Lead
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.leads import audit
from flask_funnel.leads.name_terms import add_terms


def release(engine: Engine, lead_id: int, actor: str) -> bool:
    """Take a lead out of quarantine: it was a person after all."""
    with writing(engine) as connection:
        released = connection.execute(
            update(Lead)
            .where(Lead.id == lead_id, Lead.quarantined == true())
            .values(quarantined=False)
        ).rowcount
        if released:
            lead = connection.execute(
                select(Lead.name, Lead.created_at).where(Lead.id == lead_id)
            ).one()
            add_terms(connection, [(lead_id, lead.name, lead.created_at)])
            audit.record(connection, actor, audit.RELEASE, lead_id=lead_id)
    return bool(released)
