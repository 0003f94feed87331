"""The daily counts (``funnel_daily_counts``), losses (``funnel_daily_losses``) and
visitors per group (``funnel_daily_visitors``) stay equal to a count of the leads, their
moves and the browsers through every way they change, and the report reads the same
numbers with them as without, split by any breakdown."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import ANSWERS, BACKENDS, sign_up
from flask_migrate import upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, insert, select, update

from flask_funnel.analytics.experiments import variant_test
from flask_funnel.analytics.funnel import BREAKDOWNS, build_report
from flask_funnel.analytics.periods import Period, ReportSettings
from flask_funnel.analytics.quiz_dropoff import quiz_dropoff
from flask_funnel.capture.geo import Place
from flask_funnel.capture.submissions import QuizEntry, capture
from flask_funnel.db import daily_counts
from flask_funnel.db.models import (
    DailyCount,
    DailyLoss,
    DailySteps,
    DailyVisitors,
    Lead,
    StageChange,
    StepView,
    Visitor,
)
from flask_funnel.leads.privacy import erase
from flask_funnel.leads.purchases import record_purchase
from flask_funnel.leads.quarantine import release
from flask_funnel.leads.stages import LEAD_STAGES, MILESTONES, RANK, move_lead, reached_column
from landing import MIGRATIONS_DIR, create_app, funnel

NOW = datetime(2026, 11, 20, 15, 45, tzinfo=UTC)
ZONES = ("UTC", "Asia/Tehran", "America/St_Johns", "Asia/Kathmandu", "Pacific/Kiritimati")


def kept_counts(connection) -> dict:
    """What the triggers keep, the daily counts, losses and visitors, zero rows left out."""
    rows = connection.execute(select(DailyCount).where(DailyCount.leads != 0))
    losses = connection.execute(select(DailyLoss).where(DailyLoss.moves != 0))
    groups = connection.execute(select(DailyVisitors).where(DailyVisitors.visitors != 0))
    steps = connection.execute(select(DailySteps).where(DailySteps.visitors != 0))
    return (
        {(r.kind, r.stage, r.day): r.leads for r in rows}
        | {("lost", r.from_stage, r.reason, r.day): r.moves for r in losses}
        | {tuple(r)[:-1]: r.visitors for r in groups}
        | {("steps", *tuple(r)[:-1]): r.visitors for r in steps}
    )


def assert_counts_match_leads(engine):
    """What the triggers kept equals the leads and moves counted again (then undone)."""
    with engine.connect() as connection:
        kept = kept_counts(connection)
        daily_counts.rebuild(connection)
        daily_counts.rebuild_losses(connection)
        daily_counts.rebuild_visitor_groups(connection)
        daily_counts.rebuild_step_counts(connection)
        assert kept_counts(connection) == kept
        connection.rollback()


def test_every_way_a_lead_changes_is_counted(app, runner, tmp_path):
    state = app.extensions["funnel"]
    with app.app_context():
        ann, bob, cara = (sign_up(app, f"{name}@example.com") for name in ("ann", "bob", "cara"))
        again = sign_up(app, "ann@example.com")  # the same person, a second time
        assert again == ann
        bot = capture(
            state.engine,
            QuizEntry(
                page=state.pages.get("home-brewing"),
                email="bot@example.com",
                name=None,
                answers=ANSWERS,
                idempotency_key="bot-1",
                visitor_id=None,
                place=Place(),
                fill_seconds=0.1,
                quarantine_reason="too_fast",
            ),
        ).lead_id
        assert_counts_match_leads(state.engine)

        move_lead(state.engine, ann, "sal", actor="admin@example.com")
        move_lead(state.engine, ann, "mql", actor="admin@example.com")  # back
        move_lead(state.engine, bob, "lost", actor="admin@example.com", lost_reason="price")
        move_lead(state.engine, bot, "sql", actor="admin@example.com")
        move_lead(state.engine, bot, "lost", actor="admin@example.com")  # a bot's: not counted
        move_lead(state.engine, ann, "lost", actor="admin@example.com")
        move_lead(state.engine, ann, "mql", actor="admin@example.com")  # came back
        record_purchase(state.engine, lead_id=cara, amount="10", currency="EUR", actor="api")
        record_purchase(
            state.engine,
            lead_id=cara,
            amount="12",
            currency="EUR",
            at="2026-01-05T10:00:00+00:00",
            actor="api",
        )
        record_purchase(state.engine, lead_id=bob, amount="5", currency="EUR", actor="api")
        assert_counts_match_leads(state.engine)

        with state.engine.connect() as connection:
            assert sum(v for k, v in kept_counts(connection).items() if k[0] == "lost") == 2
        release(state.engine, bot, "admin@example.com")  # its loss counts from now on
        erase(state.engine, ann, "admin@example.com")  # and ann's no longer
        assert_counts_match_leads(state.engine)
        with state.engine.connect() as connection:
            assert sum(v for k, v in kept_counts(connection).items() if k[0] == "lost") == 2

    path = tmp_path / "leads.csv"
    path.write_text(
        "email,name,stage,created_at,mql_at,customer_at\n"
        "dan@example.com,Dan,customer,2025-01-02,2025-02-01T10:00:00+02:00,2025-03-01\n"
        "eve@example.com,Eve,lost,2025-01-05,,\n"
        "bob@example.com,Bob,sql,2024-12-01,,\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["funnel", "import-leads", str(path)])
    assert result.exit_code == 0, result.output
    assert_counts_match_leads(state.engine)

    with app.app_context(), funnel.db.engine.begin() as connection:
        kept = kept_counts(connection)
    assert kept[("entered", "customer", date(2025, 3, 1))] == 1
    assert kept[("cohort", "customer", date(2025, 1, 2))] == 1
    assert ("entered", "lead", date(2025, 1, 5)) in kept


# --- the report with and without the counts -------------------------------------------


def random_leads(seed: int, count: int) -> list[dict]:
    """Leads created over 26 months before ``NOW``, some moved on, back, lost, or quarantined."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        created = NOW - timedelta(seconds=rng.randrange(26 * 31 * 86400))
        stage, at, reached = "lead", created, {}
        for _ in range(rng.choice((0, 0, 1, 2, 3))):
            stage = rng.choice(LEAD_STAGES)
            at = min(NOW, at + timedelta(seconds=rng.randrange(60 * 86400)))
            for m in MILESTONES:
                if RANK[m] <= RANK[stage] and stage != "lost":
                    reached.setdefault(reached_column(m), at)
        rows.append(
            {
                "email": f"lead{n}@example.com",
                "stage": stage,
                "stage_changed_at": at,
                "quarantined": rng.random() < 0.1,
                "created_at": created,
                "updated_at": at,
                **{reached_column(m): reached.get(reached_column(m)) for m in MILESTONES},
            }
        )
    return rows


def random_visitors(seed: int, count: int, lead_ids: list[int]) -> list[dict]:
    """Browsers first seen over the same 26 months, on two pages, some in an A/B test or
    a place version, a few bots; one in four signed up."""
    rng = random.Random(seed)
    return [
        {
            "visitor_id": f"{n:032x}",
            "first_seen_at": NOW - timedelta(seconds=rng.randrange(26 * 31 * 86400)),
            "page_slug": rng.choice(("home-brewing", "espresso")),
            "variant": rng.choice(("a", "b", None)),
            "place_version": rng.choice(("germany", None, None)),
            "source": rng.choice(("direct", "google", "newsletter")),
            "country": rng.choice(("DE", "IR", None)),
            "city": rng.choice(("Berlin", None)),
            "device": rng.choice(("mobile", "desktop", "bot")),
            "quarantined": rng.random() < 0.05,
            "lead_id": rng.choice(lead_ids) if rng.random() < 0.25 else None,
        }
        for n in range(count)
    ]


def random_steps(seed: int, visitors: list[dict]) -> list[dict]:
    """The quiz steps some of the browsers reached (each step with the ones before),
    mostly on the page they were first seen on, some on the other one."""
    rng = random.Random(seed)
    rows = []
    for visitor in rng.sample(visitors, len(visitors) // 3):
        page = visitor["page_slug"] if rng.random() < 0.8 else "espresso"
        at = visitor["first_seen_at"] + timedelta(seconds=rng.randrange(1, 600))
        for step in range(1, rng.randint(1, 5) + 1):
            rows.append(
                {"visitor_id": visitor["visitor_id"], "page_slug": page, "step": step, "at": at}
            )
    return rows


def random_moves(seed: int, lead_ids: list[int]) -> list[dict]:
    """Moves over the same 26 months, a third of them to lost, with or without a reason."""
    rng = random.Random(seed)
    moves = []
    for lead_id in rng.sample(lead_ids, len(lead_ids) // 2):
        for _ in range(rng.choice((1, 1, 2))):
            moves.append(
                {
                    "lead_id": lead_id,
                    "from_stage": rng.choice(("lead", "mql", "sal", "sql", None)),
                    "to_stage": rng.choice(("lost", "mql", "sal")),
                    "at": NOW - timedelta(seconds=rng.randrange(26 * 31 * 86400)),
                    "actor": "test",
                    "lost_reason": rng.choice(("price", "no budget", None)),
                }
            )
    return moves


@pytest.fixture(scope="module", params=BACKENDS)
def history(request, module_database):
    """A database of each backend, built by the real migrations, filled once with random
    leads: inserted, then some changed and some deleted (each trigger has its turn)."""
    url = module_database(request.param)
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        funnel.db.engine.dispose()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(Lead), random_leads(seed=7, count=1500))
        ids = connection.execute(select(Lead.id).order_by(Lead.id)).scalars().all()
        connection.execute(insert(StageChange), random_moves(seed=7, lead_ids=ids))
        staying = [lead_id for n, lead_id in enumerate(ids) if n % 13]  # see the last delete
        visitors = random_visitors(seed=7, count=3000, lead_ids=staying)
        steps = random_steps(7, visitors)
        # Some browsers' steps are stored before the browser's own row, most after.
        early = {v["visitor_id"] for v in visitors[::5]}
        connection.execute(insert(StepView), [s for s in steps if s["visitor_id"] in early])
        connection.execute(insert(Visitor), visitors)
        connection.execute(insert(StepView), [s for s in steps if s["visitor_id"] not in early])
        browsers = connection.execute(select(Visitor.visitor_id)).scalars().all()
        connection.execute(delete(StepView).where(StepView.visitor_id.in_(browsers[4::31])))
        connection.execute(  # each trigger of the browsers has its turn too
            update(Visitor)
            .where(Visitor.visitor_id.in_(browsers[::9]))
            .values(quarantined=True, lead_id=None)
        )
        connection.execute(
            update(Visitor).where(Visitor.visitor_id.in_(browsers[1::9])).values(lead_id=staying[0])
        )
        connection.execute(
            update(Visitor).where(Visitor.visitor_id.in_(browsers[2::23])).values(device="bot")
        )
        connection.execute(delete(Visitor).where(Visitor.visitor_id.in_(browsers[3::17])))
        connection.execute(update(Lead).where(Lead.id.in_(ids[::7])).values(quarantined=False))
        connection.execute(update(Lead).where(Lead.id.in_(ids[3::17])).values(quarantined=True))
        connection.execute(
            update(StageChange)
            .where(StageChange.lead_id.in_(ids[::19]), StageChange.to_stage == "lost")
            .values(lost_reason="timing")
        )
        connection.execute(delete(StageChange).where(StageChange.lead_id.in_(ids[::13])))
        assert sum(1 for key in kept_counts(connection) if key[0] == "lost") > 100
        connection.execute(
            update(Lead)
            .where(Lead.id.in_(ids[::11]))
            .values(stage="lost", stage_changed_at=NOW - timedelta(days=3))
        )
        connection.execute(delete(Lead).where(Lead.id.in_(ids[::13])))
    assert_counts_match_leads(engine)
    yield engine, app.extensions["funnel"].pages.get("home-brewing")  # it runs an A/B test
    engine.dispose()


def report(connection, page, zone: str, first: date, last: date, months: int, by) -> tuple:
    """The whole report, and the report of one page (quiz drop-off, A/B test)."""
    settings_ = ReportSettings(zone=ZoneInfo(zone), months=months, active_days=45, min_group=0)
    period = Period(first, last, ZoneInfo(zone))
    return (
        build_report(connection, period, settings_, by=by, now=NOW),
        quiz_dropoff(connection, page, period),
        [variant_test(connection, page, period, stage) for stage in ("lead", "mql")],
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    zone=st.sampled_from(ZONES),
    first=st.dates(date(2024, 8, 1), date(2026, 11, 20)),
    days=st.integers(1, 400),
    months=st.integers(2, 26),
    by=st.sampled_from([None, *BREAKDOWNS]),
)
def test_the_report_is_the_same_with_the_daily_counts_as_without(
    history, zone, first, days, months, by
):
    """Whole days come from the counts, the parts of days at either end of a period or
    month (local midnight in Tehran is 20:30 UTC) from the leads: the sums are exact."""
    last = min(first + timedelta(days=days - 1), date(2026, 11, 20))
    engine, page = history
    with engine.begin() as connection:
        assert daily_counts.installed(connection)
        assert daily_counts.installed(connection, daily_counts.LOSS_SOURCE)
        assert daily_counts.installed(connection, daily_counts.VISITOR_GROUP_SOURCE)
        assert daily_counts.steps_installed(connection)
        counted = report(connection, page, zone, first, last, months, by)
        daily_counts.uninstall(connection)  # MariaDB commits DDL at once: no rollback
        daily_counts.uninstall_losses(connection)
        daily_counts.uninstall_visitor_groups(connection)
        daily_counts.uninstall_step_counts(connection)
        try:
            assert not daily_counts.installed(connection)
            assert not daily_counts.installed(connection, daily_counts.LOSS_SOURCE)
            assert not daily_counts.installed(connection, daily_counts.VISITOR_GROUP_SOURCE)
            assert not daily_counts.steps_installed(connection)
            from_leads = report(connection, page, zone, first, last, months, by)
        finally:
            daily_counts.install(connection)
            daily_counts.install_losses(connection)
            daily_counts.install_visitor_groups(connection)
            daily_counts.install_step_counts(connection)
    assert counted == from_leads
