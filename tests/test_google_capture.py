"""One Google account is one lead, also when its sign-ups race each other, on every
database (SQLite always; PostgreSQL and MariaDB when their URLs are given)."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from conftest import ANSWERS
from sqlalchemy import func, select

from flask_funnel.auth.identity import VerifiedIdentity
from flask_funnel.capture.geo import Place
from flask_funnel.capture.submissions import QuizEntry, capture
from flask_funnel.db.models import Identity, Lead, Submission
from landing import funnel

ALICE = VerifiedIdentity("https://accounts.google.com", "alice-sub", "alice@gmail.example", "Alice")


def entry(app, identity=ALICE, email=None, visitor=None) -> QuizEntry:
    return QuizEntry(
        page=app.extensions["funnel"].pages.get("home-brewing"),
        email=email or identity.email,
        name=identity.name if identity else None,
        answers=ANSWERS,
        idempotency_key=uuid.uuid4().hex,
        visitor_id=visitor or uuid.uuid4().hex,
        place=Place(),
        fill_seconds=10.0,
        identity=identity,
    )


def count(app, model) -> int:
    with app.app_context(), funnel.db.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model))


def test_racing_sign_ups_of_one_google_account_make_one_lead(migrated):
    engine = migrated.extensions["funnel"].engine
    entries = [entry(migrated) for _ in range(12)]
    barrier = threading.Barrier(len(entries))

    def sign_up(one):
        barrier.wait()
        with migrated.app_context():
            return capture(engine, one)

    with ThreadPoolExecutor(len(entries)) as pool:
        results = list(pool.map(sign_up, entries))
    assert len({result.lead_id for result in results}) == 1
    assert count(migrated, Lead) == 1 and count(migrated, Identity) == 1
    assert count(migrated, Submission) == 12
    assert sum(result.created for result in results) == 1


def test_a_typed_lead_and_a_google_sign_up_racing_make_one_lead(migrated):
    engine = migrated.extensions["funnel"].engine
    typed = [entry(migrated, identity=None, email=ALICE.email) for _ in range(6)]
    google = [entry(migrated) for _ in range(6)]
    barrier = threading.Barrier(12)

    def sign_up(one):
        barrier.wait()
        with migrated.app_context():
            return capture(engine, one)

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(sign_up, typed + google))
    assert len({result.lead_id for result in results}) == 1
    assert count(migrated, Lead) == 1 and count(migrated, Identity) == 1
    with migrated.app_context(), engine.connect() as connection:
        lead = connection.execute(select(Lead.email, Lead.email_verified_at)).one()
    assert lead.email == ALICE.email and lead.email_verified_at is not None
