"""Keeping ``funnel_daily_counts`` (``models.DailyCount``) true: database triggers on
``funnel_leads``, and a rebuild from the leads themselves.

Triggers, not application code, because every way a lead changes must count: the
capture upsert, stage moves, purchases, imports, quarantine and release, erasure, and
anything a site owner runs by hand. Each trigger turns the old row into minus ones and
the new row into plus ones, one per counted (kind, stage, day), and adds up what does
not cancel out, in a fixed order so two transactions lock the same counters in turn.

The report uses the counts only while the triggers are in place (``installed``) and
counts the leads themselves otherwise. The shipped revisions install them;
``create_all`` does too (``models``); with ``FUNNEL_MIGRATIONS = "host"`` run
``flask funnel recount`` once after the host's migration. SQLite drops a table's
triggers when a batch migration rebuilds it: a revision that alters ``funnel_leads``
that way calls ``install`` again.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from flask_funnel.db.models import DailyCount, Lead

TABLE = DailyCount.__tablename__
LEADS = Lead.__tablename__
#: The stages after ``lead`` a lead remembers reaching, from its ``reached_<stage>_at``.
MILESTONES = tuple(
    column.name[len("reached_") : -len("_at")]
    for column in Lead.__table__.columns
    if column.name.startswith("reached_")
)
_PREFIX = "funnel_leads_count"


def _counted_columns(milestones: tuple[str, ...]) -> tuple[str, ...]:
    """The lead columns a count depends on: an update of any other changes no count."""
    return (
        "quarantined",
        "created_at",
        "stage",
        "stage_changed_at",
        *(f"reached_{m}_at" for m in milestones),
    )


def _day(dialect: str, moment: str) -> str:
    """The UTC day of a stored time (times are stored as naive UTC)."""
    if dialect == "sqlite":
        return f"date({moment})"
    if dialect == "postgresql":
        return f"CAST({moment} AS DATE)"
    return f"DATE({moment})"


def _counted(dialect: str, row: str, milestones: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """(kind, stage, day) of everything a lead counts towards; ``row`` is ``NEW`` or
    ``OLD`` in a trigger. The day is NULL where the lead does not count."""
    created = _day(dialect, f"{row}.created_at")
    counted = [("'entered'", "'lead'", created)]
    for m in milestones:
        reached = f"{row}.reached_{m}_at"
        counted.append(("'entered'", f"'{m}'", _day(dialect, reached)))
        in_cohort = f"CASE WHEN {reached} IS NULL THEN NULL ELSE {created} END"
        counted.append(("'cohort'", f"'{m}'", in_cohort))
    counted.append(("'current'", f"{row}.stage", _day(dialect, f"{row}.stage_changed_at")))
    return counted


def _changes(dialect: str, rows: dict[str, int], milestones: tuple[str, ...]) -> str:
    """The upsert adding ``sign`` for each count of each row in ``rows``
    (``{"OLD": -1, "NEW": 1}``): quarantined rows count nothing."""
    deltas = "\n  UNION ALL ".join(
        f"SELECT {kind} AS kind, {stage} AS stage, {day} AS day, "
        f"CASE WHEN {row}.quarantined THEN 0 ELSE {sign} END AS delta"
        for row, sign in rows.items()
        for kind, stage, day in _counted(dialect, row, milestones)
    )
    select = (
        f"SELECT kind, stage, day, SUM(delta) FROM (\n  {deltas}\n) AS deltas\n"
        "WHERE day IS NOT NULL GROUP BY kind, stage, day HAVING SUM(delta) <> 0\n"
        "ORDER BY kind, stage, day"
    )
    insert = f"INSERT INTO {TABLE} (kind, stage, day, leads)\n{select}\n"
    if dialect in ("mysql", "mariadb"):
        return insert + "ON DUPLICATE KEY UPDATE leads = leads + VALUES(leads)"
    return insert + (
        f"ON CONFLICT (kind, stage, day) DO UPDATE SET leads = {TABLE}.leads + excluded.leads"
    )


_EVENTS = {
    "insert": ("INSERT", {"NEW": 1}),
    "delete": ("DELETE", {"OLD": -1}),
    "update": ("UPDATE", {"OLD": -1, "NEW": 1}),
}


def trigger_statements(dialect: str, milestones: tuple[str, ...] = MILESTONES) -> list[str]:
    """The statements that (re)create the triggers on ``dialect``; a revision passes the
    ``milestones`` of its time, so it installs the same triggers whatever came later."""
    columns = ", ".join(_counted_columns(milestones))
    if dialect == "postgresql":
        body = "\n".join(
            f"{'ELSIF' if n else 'IF'} TG_OP = '{op}' THEN\n{_changes(dialect, rows, milestones)};"
            for n, (op, rows) in enumerate(_EVENTS.values())
        )
        return [
            f"CREATE OR REPLACE FUNCTION {_PREFIX}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{body}\nEND IF;\nRETURN NULL;\nEND $$",
            f"DROP TRIGGER IF EXISTS {_PREFIX} ON {LEADS}",
            f"CREATE TRIGGER {_PREFIX} AFTER INSERT OR DELETE OR UPDATE OF {columns} ON {LEADS} "
            f"FOR EACH ROW EXECUTE FUNCTION {_PREFIX}()",
        ]
    statements = []
    for name, (op, rows) in _EVENTS.items():
        event_ = f"UPDATE OF {columns}" if op == "UPDATE" else op
        if dialect == "sqlite":
            statements += [
                f"DROP TRIGGER IF EXISTS {_PREFIX}_{name}",
                f"CREATE TRIGGER {_PREFIX}_{name} AFTER {event_} ON {LEADS}\n"
                f"BEGIN\n{_changes(dialect, rows, milestones)};\nEND",
            ]
        else:  # MariaDB and MySQL: no column list, and the statement is the body
            statements += [
                f"DROP TRIGGER IF EXISTS {_PREFIX}_{name}",
                f"CREATE TRIGGER {_PREFIX}_{name} AFTER {op} ON {LEADS} FOR EACH ROW\n"
                f"{_changes(dialect, rows, milestones)}",
            ]
    return statements


def drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {_PREFIX} ON {LEADS}",
            f"DROP FUNCTION IF EXISTS {_PREFIX}()",
        ]
    return [f"DROP TRIGGER IF EXISTS {_PREFIX}_{name}" for name in _EVENTS]


_TRIGGERS_FOUND = {
    "sqlite": (
        "SELECT count(*) FROM sqlite_master "
        "WHERE type = 'trigger' AND tbl_name = :leads AND name LIKE :names"
    ),
    "postgresql": (
        "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relname = :leads AND t.tgname LIKE :names "
        "AND c.relnamespace = to_regnamespace(current_schema())"
    ),
    "mysql": (
        "SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = DATABASE() "
        "AND event_object_table = :leads AND trigger_name LIKE :names"
    ),
}


def installed(connection: Connection) -> bool:
    """Whether the triggers keep the counts on this database."""
    dialect = _name(connection)
    expected = 1 if dialect == "postgresql" else len(_EVENTS)
    found = connection.execute(
        text(_TRIGGERS_FOUND[dialect]).bindparams(leads=LEADS, names=f"{_PREFIX}%")
    )
    return found.scalar() == expected


def rebuild(connection: Connection, milestones: tuple[str, ...] = MILESTONES) -> int:
    """Count every lead again from scratch; returns the rows written. PostgreSQL holds
    new writes to the leads until the transaction ends; elsewhere run it when the site
    is quiet (a migration, ``flask funnel recount``)."""
    dialect = _name(connection)
    if dialect == "postgresql":  # writers wait: none is counted twice or missed
        connection.exec_driver_sql(f"LOCK TABLE {LEADS} IN SHARE ROW EXCLUSIVE MODE")
    counted = "\n  UNION ALL ".join(
        f"SELECT {kind} AS kind, {stage} AS stage, {day} AS day FROM {LEADS} AS lead_row "
        f"WHERE NOT lead_row.quarantined"
        for kind, stage, day in _counted(dialect, "lead_row", milestones)
    )
    connection.exec_driver_sql(f"DELETE FROM {TABLE}")
    return connection.exec_driver_sql(
        f"INSERT INTO {TABLE} (kind, stage, day, leads)\n"
        f"SELECT kind, stage, day, COUNT(*) FROM (\n  {counted}\n) AS lead_days\n"
        "WHERE day IS NOT NULL GROUP BY kind, stage, day"
    ).rowcount


def install(connection: Connection, milestones: tuple[str, ...] = MILESTONES) -> int:
    """Create (or replace) the triggers and count the leads there are."""
    for statement in trigger_statements(_name(connection), milestones):
        connection.exec_driver_sql(statement)
    return rebuild(connection, milestones)


def uninstall(connection: Connection) -> None:
    for statement in drop_statements(_name(connection)):
        connection.exec_driver_sql(statement)


def _name(connection: Connection) -> str:
    name = connection.dialect.name
    return "mysql" if name == "mariadb" else name
