"""Different people stay different and one person's history stays one story, on every
database (SQLite always; PostgreSQL and MariaDB when their URLs are given): emails that
differ only in accents are two leads, and stage moves and purchases racing each other on
one lead leave a history that agrees with the lead."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from conftest import ANSWERS, sign_up
from sqlalchemy import func, select, update

from flask_funnel.auth.identity import VerifiedIdentity
from flask_funnel.db.models import Answer, Consent, Identity, Lead, Purchase, StageChange
from flask_funnel.leads import stages
from flask_funnel.leads.purchases import record_purchase

GOOGLE = "https://accounts.google.com"


def _at_once(jobs: list) -> list:
    """Run the callables together, released by one barrier; their results (or errors)."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        barrier.wait()
        try:
            return job()
        except Exception as error:
            return error

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def test_emails_that_differ_only_in_accents_are_different_people(migrated):
    addresses = ["jose@example.com", "josé@example.com", "anna@example.com", "ånna@example.com"]
    styles = ["black", "milk", "iced", "espresso"]
    ids = [
        sign_up(migrated, email, answers=ANSWERS | {"style": style})
        for email, style in zip(addresses, styles, strict=True)
    ]
    assert len(set(ids)) == 4
    with migrated.extensions["funnel"].engine.connect() as connection:
        emails = dict(connection.execute(select(Lead.id, Lead.email)).all())
        consents = connection.execute(select(func.count(Consent.id.distinct()))).scalar()
        answered = {
            emails[lead]: choice
            for lead, choice in connection.execute(
                select(Answer.lead_id, Answer.choice_id).where(Answer.question_id == "style")
            )
        }
    assert [emails[i] for i in ids] == addresses
    assert consents >= 4
    assert answered == dict(zip(addresses, styles, strict=True))


def test_google_subjects_that_differ_only_in_case_are_different_accounts(migrated):
    first = sign_up(migrated, identity=VerifiedIdentity(GOOGLE, "AbC", "one@example.com"))
    second = sign_up(migrated, identity=VerifiedIdentity(GOOGLE, "abc", "two@example.com"))
    assert first != second
    with migrated.extensions["funnel"].engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Identity)).scalar() == 2


def test_times_are_kept_to_the_microsecond(migrated):
    """MariaDB's plain DATETIME would keep whole seconds: a lead read back as created
    before the moment it was made, and the events of one second out of order."""
    lead_id = sign_up(migrated, "ann@example.com")
    at = datetime(2026, 5, 4, 3, 2, 1, 987654, tzinfo=UTC)
    with migrated.extensions["funnel"].engine.begin() as connection:
        connection.execute(update(Lead).where(Lead.id == lead_id).values(created_at=at))
        assert connection.scalar(select(Lead.created_at).where(Lead.id == lead_id)) == at


def test_racing_stage_moves_leave_a_history_that_agrees_with_the_lead(migrated):
    engine = migrated.extensions["funnel"].engine
    lead_id = sign_up(migrated, "ann@example.com")
    targets = [stages.SAL, stages.SQL, stages.LOST, stages.CUSTOMER, stages.LEAD, stages.SAL] * 2
    results = _at_once(
        [
            lambda stage=stage, n=n: stages.move_lead(engine, lead_id, stage, actor=f"admin-{n}")
            for n, stage in enumerate(targets)
        ]
    )
    assert [r for r in results if isinstance(r, Exception)] == []
    with engine.connect() as connection:
        stage = connection.execute(select(Lead.stage).where(Lead.id == lead_id)).scalar_one()
        history = connection.execute(
            select(StageChange.from_stage, StageChange.to_stage)
            .where(StageChange.lead_id == lead_id)
            .order_by(StageChange.id)
        ).all()
    # Each move starts where the one before it ended, and the last ends at the lead's stage.
    for (_, before), (after, _) in itertools.pairwise(history):
        assert after == before
    assert history[-1].to_stage == stage


def test_racing_purchases_make_a_repeat_customer_once(migrated):
    engine = migrated.extensions["funnel"].engine
    lead_id = sign_up(migrated, "ann@example.com")
    results = _at_once(
        [
            lambda n=n: record_purchase(
                engine, lead_id=lead_id, amount="10", currency="EUR", actor=f"shop-{n}"
            )
            for n in range(8)
        ]
    )
    assert [r for r in results if isinstance(r, Exception)] == []
    with engine.connect() as connection:
        stage = connection.execute(select(Lead.stage).where(Lead.id == lead_id)).scalar_one()
        bought = connection.execute(
            select(func.count()).where(Purchase.lead_id == lead_id)
        ).scalar_one()
        moves = connection.execute(
            select(StageChange.to_stage)
            .where(StageChange.lead_id == lead_id, StageChange.actor == stages.SYSTEM)
            .order_by(StageChange.id)
        ).scalars()
        purchase_moves = [m for m in moves if m in (stages.CUSTOMER, stages.REPEAT_CUSTOMER)]
    assert (stage, bought) == (stages.REPEAT_CUSTOMER, 8)
    assert purchase_moves == [stages.CUSTOMER, stages.REPEAT_CUSTOMER]
