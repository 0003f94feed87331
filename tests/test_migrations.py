"""The schema comes from Alembic revisions; they must match the models exactly."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import BACKENDS, DATABASE
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from flask_funnel.db.models import metadata
from landing import MIGRATIONS_DIR, create_app, funnel


@pytest.fixture
def database_at(fresh_database):
    """``database_at(revision, **config)``: an app and an engine on a new database of the
    pass's kind (``DATABASE``), migrated up to ``revision``."""
    apps = []

    def make(revision: str = "head", **config):
        url = fresh_database(DATABASE)
        app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url, **config})
        apps.append(app)
        with app.app_context():
            upgrade(directory=str(MIGRATIONS_DIR), revision=revision)
        return app, create_engine(url)

    yield make
    for app in apps:
        with app.app_context():
            funnel.db.engine.dispose()


def rows_after_upgrade(app, engine, sql: str) -> list:
    """Upgrade the database of ``app`` to head, then the rows of ``sql``."""

    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        rows = connection.execute(text(sql)).all()
    engine.dispose()
    return rows


def test_migrations_build_the_whole_schema_on_an_empty_database(database_at):
    app, engine = database_at()
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), metadata)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        engine.dispose()
    with app.app_context():
        downgrade(directory=str(MIGRATIONS_DIR), revision="base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()


def test_migrated_database_accepts_a_quiz_submission(database_at):
    from conftest import Visitor

    app, engine = database_at(FUNNEL_MIN_FILL_SECONDS=0)
    engine.dispose()
    assert Visitor(app.test_client()).submit().status_code == 303


def at(value) -> datetime | None:
    """A time read back from any database (SQLite gives text)."""
    return None if value is None else datetime.fromisoformat(str(value))


def test_the_search_terms_migration_indexes_existing_names(database_at):

    app, engine = database_at("0002")
    with engine.begin() as connection:
        for n, (name, bot) in enumerate(
            [("Ann Lee", False), ("Bob", False), (None, False), ("Spam Bot", True)]
        ):
            connection.execute(
                text(
                    "INSERT INTO funnel_leads (email, name, stage, stage_changed_at, quarantined,"
                    " created_at, updated_at) VALUES (:e, :n, 'lead', :t, :q, :t, :t)"
                ),
                {"e": f"p{n}@example.com", "n": name, "q": bot, "t": "2026-01-01 00:00:00.000000"},
            )
    rows = rows_after_upgrade(
        app, engine, "SELECT term, lead_id FROM funnel_lead_terms WHERE term NOT LIKE '@%'"
    )
    assert sorted(rows) == [("ann", 1), ("bob", 2), ("lee", 1)]


def test_the_domain_terms_migration_indexes_existing_emails_and_goes_away_again(database_at):

    app, engine = database_at("0016")
    t = "2026-01-01 00:00:00.123456"
    with engine.begin() as connection:
        for email, name, bot in [
            ("ann@mail.example.org", "Ann", False),
            ("bob@example.org", None, False),
            ("spam@bots.example", "Spam", True),
        ]:
            connection.execute(
                text(
                    "INSERT INTO funnel_leads (email, name, stage, stage_changed_at, quarantined,"
                    " created_at, updated_at) VALUES (:e, :n, 'lead', :t, :q, :t, :t)"
                ),
                {"e": email, "n": name, "q": bot, "t": t},
            )
        # Ann's name, indexed since 0003; Bob's domain, indexed by a newer release before
        # the revision ran (kept, not refused).
        connection.execute(
            text(
                "INSERT INTO funnel_lead_terms (term, lead_id, created_at)"
                " VALUES ('ann', 1, :t), ('@example.org', 2, :t)"
            ),
            {"t": t},
        )
    query = "SELECT term, lead_id FROM funnel_lead_terms"
    assert sorted(rows_after_upgrade(app, engine, query)) == [
        ("@example.org", 1),
        ("@example.org", 2),
        ("@mail.example.org", 1),
        ("ann", 1),
    ]
    with engine.connect() as connection:  # a search orders its matches by these
        times = connection.execute(
            text(
                "SELECT DISTINCT t.created_at = l.created_at FROM funnel_lead_terms t"
                " JOIN funnel_leads l ON l.id = t.lead_id"
            )
        ).scalars()
        assert [bool(same) for same in times] == [True]
    with app.app_context():
        downgrade(directory=str(MIGRATIONS_DIR), revision="0016")
    with engine.connect() as connection:
        assert connection.execute(text(query)).all() == [("ann", 1)]
    engine.dispose()


def test_the_report_migration_fills_in_when_leads_reached_each_stage(database_at):

    app, engine = database_at("0003")
    history = {  # lead 1 skipped to sql and went back; lead 2 only became a lead
        1: [("lead", "01"), ("sql", "03"), ("mql", "05"), ("lost", "07")],
        2: [("lead", "02")],
    }
    with engine.begin() as connection:
        for lead_id, moves in history.items():
            connection.execute(
                text(
                    "INSERT INTO funnel_leads (id, email, stage, stage_changed_at, quarantined,"
                    " created_at, updated_at) VALUES (:id, :e, :s, :t, FALSE, :t, :t)"
                ),
                {
                    "id": lead_id,
                    "e": f"p{lead_id}@example.com",
                    "s": moves[-1][0],
                    "t": "2026-01-01",
                },
            )
            for stage, day in moves:
                connection.execute(
                    text(
                        "INSERT INTO funnel_stage_changes (lead_id, to_stage, at, actor)"
                        " VALUES (:id, :s, :at, 'system')"
                    ),
                    {"id": lead_id, "s": stage, "at": f"2026-01-{day} 00:00:00.000000"},
                )
    rows = rows_after_upgrade(
        app,
        engine,
        "SELECT id, reached_mql_at, reached_sal_at, reached_sql_at, reached_customer_at"
        " FROM funnel_leads ORDER BY id",
    )
    day3 = datetime(2026, 1, 3)
    assert [(id_, *map(at, times)) for id_, *times in rows] == [
        (1, day3, day3, day3, None),
        (2, None, None, None, None),
    ]


def test_the_sign_in_migration_records_how_existing_leads_gave_their_email(database_at):

    app, engine = database_at("0004")
    with engine.begin() as connection:
        for n, origin in enumerate(["quiz-key", "import:abc"]):
            connection.execute(
                text(
                    "INSERT INTO funnel_leads (email, stage, stage_changed_at, quarantined,"
                    " origin_key, created_at, updated_at)"
                    " VALUES (:e, 'lead', :t, FALSE, :o, :t, :t)"
                ),
                {"e": f"p{n}@example.com", "o": origin, "t": "2026-01-01 00:00:00.000000"},
            )
    rows = rows_after_upgrade(
        app, engine, "SELECT email, signup_method FROM funnel_leads ORDER BY email"
    )
    assert rows == [("p0@example.com", "typed"), ("p1@example.com", "import")]


def test_the_place_version_migration_keeps_existing_rows_on_the_default(database_at):

    app, engine = database_at("0005")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO funnel_leads (email, stage, stage_changed_at, quarantined,"
                " landing_page, created_at, updated_at) VALUES"
                " ('p@example.com', 'lead', :t, FALSE, 'home-brewing', :t, :t)"
            ),
            {"t": "2026-01-01 00:00:00.000000"},
        )
        connection.execute(
            text(
                "INSERT INTO funnel_visitors (visitor_id, first_seen_at, page_slug, source,"
                " device) VALUES (:v, :t, 'home-brewing', 'direct', 'mobile')"
            ),
            {"v": "a" * 32, "t": "2026-01-01 00:00:00.000000"},
        )
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        leads = connection.execute(text("SELECT email, place_version FROM funnel_leads")).all()
        visitors = connection.execute(text("SELECT place_version FROM funnel_visitors")).all()
        cohort = {
            i["name"]: i["column_names"] for i in inspect(connection).get_indexes("funnel_leads")
        }["ix_funnel_leads_cohort"]
    engine.dispose()
    assert leads == [("p@example.com", None)] and visitors == [(None,)]
    assert cohort[-1] == "place_version"


def test_the_visitor_migration_marks_who_signed_up_and_who_was_suspected(database_at):

    app, engine = database_at("0010")
    at = {"t": "2026-01-01 00:00:00.000000"}
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO funnel_leads (id, email, stage, stage_changed_at, quarantined,"
                " landing_page, created_at, updated_at) VALUES"
                " (1, 'ann@example.com', 'lead', :t, FALSE, 'home-brewing', :t, :t),"
                " (2, 'bot@example.com', 'lead', :t, TRUE, 'home-brewing', :t, :t)"
            ),
            at,
        )
        for visitor in "abc":  # a signs up (after a caught try), b is caught, c only looks
            connection.execute(
                text(
                    "INSERT INTO funnel_visitors (visitor_id, first_seen_at, page_slug, source,"
                    " device) VALUES (:v, :t, 'home-brewing', 'direct', 'mobile')"
                ),
                {"v": visitor * 32, **at},
            )
        for n, (lead, visitor, caught) in enumerate(
            [(2, "a", True), (1, "a", False), (2, "b", True)]
        ):
            connection.execute(
                text(
                    "INSERT INTO funnel_submissions (id, idempotency_key, lead_id, visitor_id,"
                    " page_slug, score, quarantined, created_at)"
                    " VALUES (:n, :key, :lead, :v, 'home-brewing', 0, :caught, :t)"
                ),
                {
                    "n": n + 1,
                    "key": f"k{n}",
                    "lead": lead,
                    "v": visitor * 32,
                    "caught": caught,
                    **at,
                },
            )
    visitors = rows_after_upgrade(
        app,
        engine,
        "SELECT visitor_id, lead_id, quarantined FROM funnel_visitors ORDER BY visitor_id",
    )
    assert [(v[0][0], v[1], bool(v[2])) for v in visitors] == [
        ("a", 1, False),
        ("b", None, True),
        ("c", None, False),
    ]


def test_the_daily_views_migration_keeps_the_views_and_never_gives_an_id_twice(database_at):
    app, engine = database_at("0017")
    insert_view = text(
        "INSERT INTO funnel_visits (visitor_id, page_slug, at, source, device)"
        " VALUES (:v, 'home-brewing', '2026-01-01 00:00:00.000000', 'direct', 'mobile')"
    )
    with engine.begin() as connection:
        for visitor in "abc":
            connection.execute(insert_view, {"v": visitor * 32})
    ids = "SELECT id, visitor_id FROM funnel_visits ORDER BY id"
    assert rows_after_upgrade(app, engine, ids) == [(n + 1, v * 32) for n, v in enumerate("abc")]
    with engine.begin() as connection:  # the newest deleted: its id is not handed out again
        connection.execute(text("DELETE FROM funnel_visits WHERE id = 3"))
        connection.execute(insert_view, {"v": "d" * 32})
        assert connection.execute(text(ids)).all()[-1] == (4, "d" * 32)
        indexes = {i["name"] for i in inspect(connection).get_indexes("funnel_visits")}
    engine.dispose()
    assert {"ix_funnel_visits_at", "ix_funnel_visits_page"} <= indexes


# The newest revisions, each with the column (None: the table) its downgrade must take
# away again.
DOWNGRADES = [
    ("0006", "funnel_leads", "place_version"),
    ("0007", "funnel_admins", "locale"),
    ("0011", "funnel_visitors", "lead_id"),
    ("0012", "funnel_stage_changes", "lost_reason"),
    ("0013", "funnel_daily_losses", None),
    ("0015", "funnel_outbox", None),
    ("0016", "funnel_webhook_endpoints", None),
    ("0018", "funnel_daily_views", None),
    ("0019", "funnel_daily_visitors", None),
    ("0020", "funnel_daily_steps", None),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("revision", "table", "column"), DOWNGRADES)
def test_a_revision_runs_down_and_up_again_on_every_database(
    backend, revision, table, column, fresh_database
):
    """Up to head (matching the models), down below ``revision`` and up again, on SQLite
    and, when their URLs are given, PostgreSQL and MariaDB."""
    url = fresh_database(backend)
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    before = f"{int(revision) - 1:04}"
    try:
        with app.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
            downgrade(directory=str(MIGRATIONS_DIR), revision=before)
        engine = create_engine(url)
        if column is None:
            assert table not in inspect(engine).get_table_names()
        else:
            assert column not in {c["name"] for c in inspect(engine).get_columns(table)}
        engine.dispose()
        with app.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
        engine = create_engine(url)
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), metadata)
        engine.dispose()
        assert diff == [], f"models and migrations differ on {backend}: {diff}"
    finally:
        with app.app_context():
            funnel.db.engine.dispose()
