"""Sign-in identities on leads: a Google account finds its lead again (even after its
email changed), and joining an identity to a lead is recorded with how it happened."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import Connection, select, update

from flask_funnel.auth.identity import VerifiedIdentity
from flask_funnel.db.models import Identity, Lead
from flask_funnel.db.upserts import upsert

#: How an identity came to a lead.
NEW_LEAD = "new_lead"  # the sign-in made the lead
EXISTING_EMAIL = "existing_email"  # the lead had typed the same email before


def linked_lead(connection: Connection, identity: VerifiedIdentity):
    """The lead this identity signed in as before (id, lead_id, stage, created_at, and
    the lead's email and name), or None."""
    return connection.execute(
        select(Identity.id, Identity.lead_id, Lead.stage, Lead.created_at, Lead.email, Lead.name)
        .join(Lead, Lead.id == Identity.lead_id)
        .where(Identity.issuer == identity.issuer, Identity.subject == identity.subject)
    ).first()


@cache
def _insert_identity(dialect: str):
    return upsert(dialect, Identity.__table__, ["issuer", "subject"], None)


def link(
    connection: Connection, identity: VerifiedIdentity, lead_id: int, how: str, at: datetime
) -> int:
    """Join ``identity`` to ``lead_id`` (once: a second sign-in racing this one finds the
    same row) and mark the lead's email verified; returns the identity's id."""
    connection.execute(
        _insert_identity(connection.dialect.name),
        {
            "lead_id": lead_id,
            "issuer": identity.issuer,
            "subject": identity.subject,
            "email": identity.email,
            "linked_how": how,
            "linked_at": at,
            "last_seen_at": at,
        },
    )
    return seen_again(connection, identity, lead_id, at)


def seen_again(connection: Connection, identity: VerifiedIdentity, lead_id: int, at: datetime):
    """A returning sign-in: its latest email and time, and the lead's email verified."""
    connection.execute(
        update(Identity)
        .where(Identity.issuer == identity.issuer, Identity.subject == identity.subject)
        .values(email=identity.email, last_seen_at=at)
    )
    connection.execute(update(Lead).where(Lead.id == lead_id).values(email_verified_at=at))
    # A locking read: on MariaDB a plain one sees the transaction's snapshot, which
    # misses a row another sign-in committed a moment ago.
    return connection.execute(
        select(Identity.id)
        .where(Identity.issuer == identity.issuer, Identity.subject == identity.subject)
        .with_for_update()
    ).scalar_one()
