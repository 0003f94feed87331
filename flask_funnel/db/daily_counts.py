"""Keeping ``funnel_daily_counts`` (``models.DailyCount``), ``funnel_daily_losses``
(``models.DailyLoss``) and ``funnel_daily_visitors`` (``models.DailyVisitors``) true:
database triggers on ``funnel_leads``, ``funnel_visitors`` and ``funnel_stage_changes``,
and a rebuild from the rows themselves.

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
or ``funnel_stage_changes`` that way calls ``install`` and ``install_losses`` again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

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

TABLE = DailyCount.__tablename__
LOSSES = DailyLoss.__tablename__
VISITOR_GROUPS = DailyVisitors.__tablename__
STEPS = DailySteps.__tablename__
STEP_VIEWS = StepView.__tablename__
LEADS = Lead.__tablename__
VISITORS = Visitor.__tablename__
CHANGES = StageChange.__tablename__
#: The kinds counted from the visitors (``stage`` is ``ANY_STAGE``): visitors first seen
#: that day, and how many of them have signed up; suspected bots are in neither.
VISITOR_KINDS = ("visitor", "signedup")
ANY_STAGE = "-"
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


@dataclass(frozen=True)
class _Source:
    """A table whose rows are counted: the triggers' names, the columns an update
    changes the counts through, and what a row (``NEW`` or ``OLD``) counts towards."""

    table: str
    prefix: str
    columns: tuple[str, ...]
    #: A condition on the row under which it counts nothing.
    excluded: str
    #: The key of what the row counts towards, one tuple of SQL expressions per count
    #: (``key`` in order): ``counted(dialect, row)``. A NULL ``day`` counts nothing.
    counted: object
    #: The table of counts, its key columns (``day`` among them) and its count column.
    target: str = TABLE
    key: tuple[str, ...] = ("kind", "stage", "day")
    value: str = "leads"

    def changes(self, dialect: str, rows: dict[str, int]) -> str:
        """The upsert adding ``sign`` for each count of each row in ``rows``
        (``{"OLD": -1, "NEW": 1}``)."""
        deltas = "\n  UNION ALL ".join(
            "SELECT "
            + ", ".join(f"{e} AS {k}" for k, e in zip(self.key, key, strict=True))
            + f", CASE WHEN {self.excluded.format(row=row)} THEN 0 ELSE {sign} END AS delta"
            for row, sign in rows.items()
            for key in self.counted(dialect, row)
        )
        keys = ", ".join(self.key)
        select = (
            f"SELECT {keys}, SUM(delta) FROM (\n  {deltas}\n) AS deltas\n"
            f"WHERE day IS NOT NULL GROUP BY {keys} HAVING SUM(delta) <> 0\nORDER BY {keys}"
        )
        return upsert(dialect, self.target, self.key, self.value, select)

    def recount(self, dialect: str) -> str:
        """Everything the table's rows count towards, counted again."""
        keys = ", ".join(self.key)
        counted = "\n  UNION ALL ".join(
            "SELECT "
            + ", ".join(f"{e} AS {k}" for k, e in zip(self.key, key, strict=True))
            + f" FROM {self.table} AS r WHERE NOT ({self.excluded.format(row='r')})"
            for key in self.counted(dialect, "r")
        )
        return (
            f"INSERT INTO {self.target} ({keys}, {self.value})\n"
            f"SELECT {keys}, COUNT(*) FROM (\n  {counted}\n) AS counted_days\n"
            f"WHERE day IS NOT NULL GROUP BY {keys}"
        )


def upsert(dialect: str, target: str, key: tuple[str, ...], value: str, select: str) -> str:
    """``select``'s rows (the key, then a number) added to ``target``'s counts."""
    keys = ", ".join(key)
    insert = f"INSERT INTO {target} ({keys}, {value})\n{select}\n"
    if dialect in ("mysql", "mariadb"):
        return insert + f"ON DUPLICATE KEY UPDATE {value} = {value} + VALUES({value})"
    return insert + (
        f"ON CONFLICT ({keys}) DO UPDATE SET {value} = {target}.{value} + excluded.{value}"
    )


def _leads(milestones: tuple[str, ...]) -> _Source:
    return _Source(
        table=LEADS,
        prefix=_PREFIX,
        columns=_counted_columns(milestones),
        excluded="{row}.quarantined",
        counted=lambda dialect, row: _counted(dialect, row, milestones),
    )


def _visitors_counted(dialect: str, row: str) -> list[tuple[str, str, str]]:
    seen = _day(dialect, f"{row}.first_seen_at")
    visitor, signed_up = (f"'{kind}'" for kind in VISITOR_KINDS)
    return [
        (visitor, f"'{ANY_STAGE}'", seen),
        (signed_up, f"'{ANY_STAGE}'", f"CASE WHEN {row}.lead_id IS NULL THEN NULL ELSE {seen} END"),
    ]


#: A browser left out of every count: a bot's user agent, or caught (quarantined).
_BROWSER_LEFT_OUT = "({row}.quarantined OR {row}.device = 'bot')"

VISITOR_SOURCE = _Source(
    table=VISITORS,
    prefix="funnel_visitors_count",
    columns=("first_seen_at", "device", "quarantined", "lead_id"),
    excluded=_BROWSER_LEFT_OUT,
    counted=_visitors_counted,
)

#: What ``funnel_daily_visitors`` tells visitors apart by (a ``Visitor``'s columns, the
#: report's breakdowns but the city); the ones a visitor may lack are stored as ``""``.
GROUPS = ("page_slug", "variant", "place_version", "source", "country")
OPTIONAL_GROUPS = frozenset({"variant", "place_version", "country"})


def _visitor_groups_counted(dialect: str, row: str) -> list[tuple[str, ...]]:
    group = tuple(
        f"COALESCE({row}.{name}, '')" if name in OPTIONAL_GROUPS else f"{row}.{name}"
        for name in GROUPS
    )
    return [(kind, day, *group) for kind, _stage, day in _visitors_counted(dialect, row)]


VISITOR_GROUP_SOURCE = _Source(
    table=VISITORS,
    prefix="funnel_visitors_groups",
    columns=(*VISITOR_SOURCE.columns, *GROUPS),
    excluded=VISITOR_SOURCE.excluded,
    counted=_visitor_groups_counted,
    target=VISITOR_GROUPS,
    key=("kind", "day", *GROUPS),
    value="visitors",
)


# --- quiz steps reached, per the first-seen day of the browser -----------------------

#: A browser whose steps count (on the page it was first seen on: the join's).
_COUNTED_BROWSER = f"NOT {_BROWSER_LEFT_OUT}"
_STEP_KEY = ("day", "page_slug", "step")


def _steps_counted(dialect: str, row: str) -> list[tuple[str, str, str]]:
    """A step view counts on its browser's first-seen day, found from the browser's
    row; no such row (not written yet, or a browser not counted) counts nothing, and
    the browser's own trigger counts its steps when its row comes or changes."""
    day = (
        f"(SELECT {_day(dialect, 'v.first_seen_at')} FROM {VISITORS} AS v "
        f"WHERE v.visitor_id = {row}.visitor_id AND v.page_slug = {row}.page_slug "
        f"AND {_COUNTED_BROWSER.format(row='v')})"
    )
    return [(day, f"{row}.page_slug", f"{row}.step")]


class _StepViewSource(_Source):
    def recount(self, dialect: str) -> str:
        """Every browser's steps counted again, by one join."""
        keys = ", ".join(self.key)
        return (
            f"INSERT INTO {self.target} ({keys}, {self.value})\n"
            f"SELECT {_day(dialect, 'v.first_seen_at')}, s.page_slug, s.step, COUNT(*)\n"
            f"FROM {STEP_VIEWS} AS s JOIN {VISITORS} AS v ON v.visitor_id = s.visitor_id "
            f"AND v.page_slug = s.page_slug\nWHERE {_COUNTED_BROWSER.format(row='v')}\n"
            f"GROUP BY {_day(dialect, 'v.first_seen_at')}, s.page_slug, s.step"
        )


class _BrowserStepsSource(_Source):
    def changes(self, dialect: str, rows: dict[str, int]) -> str:
        """A browser's step views counted out (``OLD``) and in (``NEW``) again."""
        deltas = "\n  UNION ALL ".join(
            f"SELECT {_day(dialect, f'{row}.first_seen_at')} AS day, s.page_slug AS page_slug, "
            f"s.step AS step, {sign} AS delta FROM {STEP_VIEWS} AS s "
            f"WHERE s.visitor_id = {row}.visitor_id AND s.page_slug = {row}.page_slug "
            f"AND {_COUNTED_BROWSER.format(row=row)}"
            for row, sign in rows.items()
        )
        keys = ", ".join(self.key)
        select = (
            f"SELECT {keys}, SUM(delta) FROM (\n  {deltas}\n) AS deltas\n"
            f"WHERE day IS NOT NULL GROUP BY {keys} HAVING SUM(delta) <> 0\nORDER BY {keys}"
        )
        return upsert(dialect, self.target, self.key, self.value, select)


#: The step views, counted in ``funnel_daily_steps`` when their browser counts.
STEP_SOURCE = _StepViewSource(
    table=STEP_VIEWS,
    prefix="funnel_step_views_count",
    columns=("visitor_id", "page_slug", "step"),
    excluded="FALSE",
    counted=_steps_counted,
    target=STEPS,
    key=_STEP_KEY,
    value="visitors",
)
#: A browser's step views, counted again when it comes, goes, or changes what counts.
BROWSER_STEPS_SOURCE = _BrowserStepsSource(
    table=VISITORS,
    prefix="funnel_visitors_steps",
    columns=("first_seen_at", "page_slug", "device", "quarantined"),
    excluded="FALSE",
    counted=None,
    target=STEPS,
    key=_STEP_KEY,
    value="visitors",
)


def _losses_counted(dialect: str, row: str) -> list[tuple[str, str, str]]:
    return [(_day(dialect, f"{row}.at"), *_loss_key(row))]


def _loss_key(row: str) -> tuple[str, str]:
    return f"COALESCE({row}.from_stage, '')", f"COALESCE({row}.lost_reason, '')"


#: Moves to lost, left out while their lead is a suspected bot (``_QUARANTINE_FLIP``
#: counts them in or out when that changes).
LOSS_SOURCE = _Source(
    table=CHANGES,
    prefix="funnel_losses_count",
    columns=("to_stage", "at", "from_stage", "lost_reason", "lead_id"),
    excluded=(
        "({row}.to_stage <> 'lost' OR COALESCE((SELECT l.quarantined FROM "
        f"{LEADS} AS l WHERE l.id = {{row}}.lead_id), FALSE))"
    ),
    counted=_losses_counted,
    target=LOSSES,
    key=("day", "from_stage", "reason"),
    value="moves",
)
_QUARANTINE_PREFIX = "funnel_leads_losses"


def _quarantine_flip(dialect: str) -> str:
    """A lead quarantined (released): its moves to lost counted out (in)."""
    keys = ", ".join(
        f"{e} AS {k}"
        for k, e in zip(LOSS_SOURCE.key, _losses_counted(dialect, "c")[0], strict=True)
    )
    select = (
        f"SELECT {keys}, COUNT(*) * (CASE WHEN NEW.quarantined THEN -1 ELSE 1 END)\n"
        f"FROM {CHANGES} AS c WHERE c.lead_id = NEW.id AND c.to_stage = 'lost'\n"
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
    return upsert(dialect, LOSSES, LOSS_SOURCE.key, LOSS_SOURCE.value, select)


def _quarantine_statements(dialect: str) -> list[str]:
    name, flip = _QUARANTINE_PREFIX, _quarantine_flip(dialect)
    if dialect == "postgresql":
        return [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{flip};\nRETURN NULL;\nEND $$",
            f"DROP TRIGGER IF EXISTS {name} ON {LEADS}",
            f"CREATE TRIGGER {name} AFTER UPDATE OF quarantined ON {LEADS} FOR EACH ROW "
            f"WHEN (OLD.quarantined IS DISTINCT FROM NEW.quarantined) EXECUTE FUNCTION {name}()",
        ]
    if dialect == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {name}",
            f"CREATE TRIGGER {name} AFTER UPDATE OF quarantined ON {LEADS}\n"
            f"WHEN OLD.quarantined <> NEW.quarantined\nBEGIN\n{flip};\nEND",
        ]
    return [
        f"DROP TRIGGER IF EXISTS {name}",
        f"CREATE TRIGGER {name} AFTER UPDATE ON {LEADS} FOR EACH ROW\n"
        f"IF OLD.quarantined <> NEW.quarantined THEN\n{flip};\nEND IF",
    ]


_EVENTS = {
    "insert": ("INSERT", {"NEW": 1}),
    "delete": ("DELETE", {"OLD": -1}),
    "update": ("UPDATE", {"OLD": -1, "NEW": 1}),
}


def trigger_statements(dialect: str, source: _Source) -> list[str]:
    """The statements that (re)create the triggers of ``source`` on ``dialect``."""
    columns = ", ".join(source.columns)
    name, table = source.prefix, source.table
    if dialect == "postgresql":
        body = "\n".join(
            f"{'ELSIF' if n else 'IF'} TG_OP = '{op}' THEN\n{source.changes(dialect, rows)};"
            for n, (op, rows) in enumerate(_EVENTS.values())
        )
        return [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{body}\nEND IF;\nRETURN NULL;\nEND $$",
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} AFTER INSERT OR DELETE OR UPDATE OF {columns} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()",
        ]
    statements = []
    for event_name, (op, rows) in _EVENTS.items():
        event_ = f"UPDATE OF {columns}" if op == "UPDATE" else op
        if dialect == "sqlite":
            statements += [
                f"DROP TRIGGER IF EXISTS {name}_{event_name}",
                f"CREATE TRIGGER {name}_{event_name} AFTER {event_} ON {table}\n"
                f"BEGIN\n{source.changes(dialect, rows)};\nEND",
            ]
        else:  # MariaDB and MySQL: no column list, and the statement is the body
            statements += [
                f"DROP TRIGGER IF EXISTS {name}_{event_name}",
                f"CREATE TRIGGER {name}_{event_name} AFTER {op} ON {table} FOR EACH ROW\n"
                f"{source.changes(dialect, rows)}",
            ]
    return statements


def drop_statements(dialect: str, source: _Source) -> list[str]:
    if dialect == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {source.prefix} ON {source.table}",
            f"DROP FUNCTION IF EXISTS {source.prefix}()",
        ]
    return [f"DROP TRIGGER IF EXISTS {source.prefix}_{name}" for name in _EVENTS]


_TRIGGERS_FOUND = {
    "sqlite": (
        "SELECT count(*) FROM sqlite_master "
        "WHERE type = 'trigger' AND tbl_name = :table AND name LIKE :names"
    ),
    "postgresql": (
        "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relname = :table AND t.tgname LIKE :names "
        "AND c.relnamespace = to_regnamespace(current_schema())"
    ),
    "mysql": (
        "SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = DATABASE() "
        "AND event_object_table = :table AND trigger_name LIKE :names"
    ),
}


def installed(connection: Connection, source: _Source | None = None) -> bool:
    """Whether the triggers keep the counts of ``source`` (the leads' by default)."""
    source = source or _leads(MILESTONES)
    dialect = _name(connection)
    expected = 1 if dialect == "postgresql" else len(_EVENTS)
    if _triggers(connection, source.table, source.prefix) != expected:
        return False
    return source is not LOSS_SOURCE or _triggers(connection, LEADS, _QUARANTINE_PREFIX) == 1


def _triggers(connection: Connection, table: str, prefix: str) -> int:
    query = text(_TRIGGERS_FOUND[_name(connection)])
    return connection.execute(query.bindparams(table=table, names=f"{prefix}%")).scalar()


def rebuild(
    connection: Connection, milestones: tuple[str, ...] = MILESTONES, visitors: bool = True
) -> int:
    """Count every lead (and visitor) again from scratch; returns the rows written.
    PostgreSQL holds new writes to the counted tables until the transaction ends;
    elsewhere run it when the site is quiet (a migration, ``flask funnel recount``)."""
    dialect = _name(connection)
    sources = [_leads(milestones), *([VISITOR_SOURCE] if visitors else [])]
    if dialect == "postgresql":  # writers wait: none is counted twice or missed
        tables = ", ".join(source.table for source in sources)
        connection.exec_driver_sql(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")
    connection.exec_driver_sql(f"DELETE FROM {TABLE}")
    return sum(connection.exec_driver_sql(source.recount(dialect)).rowcount for source in sources)


def install(connection: Connection, milestones: tuple[str, ...] = MILESTONES) -> int:
    """Create (or replace) the triggers of the leads and the visitors, and count them."""
    dialect = _name(connection)
    for source in (_leads(milestones), VISITOR_SOURCE):
        for statement in trigger_statements(dialect, source):
            connection.exec_driver_sql(statement)
    return rebuild(connection, milestones)


def install_lead_counts(connection: Connection, milestones: tuple[str, ...]) -> int:
    """The leads' triggers alone, as revision 0010 installed them (the visitors' columns
    they need came in 0011)."""
    for statement in trigger_statements(_name(connection), _leads(milestones)):
        connection.exec_driver_sql(statement)
    return rebuild(connection, milestones, visitors=False)


def install_losses(connection: Connection) -> int:
    """Create (or replace) the triggers that keep the daily losses, and count them."""
    dialect = _name(connection)
    for statement in [*trigger_statements(dialect, LOSS_SOURCE), *_quarantine_statements(dialect)]:
        connection.exec_driver_sql(statement)
    return rebuild_losses(connection)


def rebuild_losses(connection: Connection) -> int:
    """Count every move to lost again (see ``rebuild`` for when)."""
    return _count_again(connection, LOSS_SOURCE, (CHANGES, LEADS))


def uninstall_losses(connection: Connection) -> None:
    """Drop the triggers of the daily losses (the counts stay, and go stale)."""
    dialect = _name(connection)
    statements = drop_statements(dialect, LOSS_SOURCE)
    if dialect == "postgresql":
        statements += [
            f"DROP TRIGGER IF EXISTS {_QUARANTINE_PREFIX} ON {LEADS}",
            f"DROP FUNCTION IF EXISTS {_QUARANTINE_PREFIX}()",
        ]
    else:
        statements.append(f"DROP TRIGGER IF EXISTS {_QUARANTINE_PREFIX}")
    for statement in statements:
        connection.exec_driver_sql(statement)


def install_visitor_groups(connection: Connection) -> int:
    """Create (or replace) the triggers that keep the daily visitors per group, and
    count them."""
    _create_triggers(connection, VISITOR_GROUP_SOURCE)
    return rebuild_visitor_groups(connection)


def rebuild_visitor_groups(connection: Connection) -> int:
    """Count every visitor per group again (see ``rebuild`` for when)."""
    return _count_again(connection, VISITOR_GROUP_SOURCE, (VISITORS,))


def uninstall_visitor_groups(connection: Connection) -> None:
    """Drop the triggers of the daily visitors per group (the counts stay, and go
    stale)."""
    _drop_triggers(connection, VISITOR_GROUP_SOURCE)


def install_step_counts(connection: Connection) -> int:
    """Create (or replace) the triggers that keep the daily steps reached, and count
    them."""
    _create_triggers(connection, STEP_SOURCE, BROWSER_STEPS_SOURCE)
    return rebuild_step_counts(connection)


def rebuild_step_counts(connection: Connection) -> int:
    """Count every browser's steps again (see ``rebuild`` for when)."""
    return _count_again(connection, STEP_SOURCE, (STEP_VIEWS, VISITORS))


def steps_installed(connection: Connection) -> bool:
    """Whether both triggers of the daily steps are in place."""
    return installed(connection, STEP_SOURCE) and installed(connection, BROWSER_STEPS_SOURCE)


def uninstall_step_counts(connection: Connection) -> None:
    """Drop the triggers of the daily steps (the counts stay, and go stale)."""
    _drop_triggers(connection, STEP_SOURCE, BROWSER_STEPS_SOURCE)


def uninstall(connection: Connection, leads: bool = True, visitors: bool = True) -> None:
    """Drop the triggers (the counts they kept stay, and go stale)."""
    dialect = _name(connection)
    sources = [*([_leads(MILESTONES)] if leads else []), *([VISITOR_SOURCE] if visitors else [])]
    for source in sources:
        for statement in drop_statements(dialect, source):
            connection.exec_driver_sql(statement)


def _create_triggers(connection: Connection, *sources: _Source) -> None:
    for source in sources:
        for statement in trigger_statements(_name(connection), source):
            connection.exec_driver_sql(statement)


def _drop_triggers(connection: Connection, *sources: _Source) -> None:
    for source in sources:
        for statement in drop_statements(_name(connection), source):
            connection.exec_driver_sql(statement)


def _count_again(connection: Connection, source: _Source, tables: tuple[str, ...]) -> int:
    """``source``'s counts made again from its rows; on PostgreSQL, writers to
    ``tables`` wait meanwhile, so none is counted twice or missed."""
    dialect = _name(connection)
    if dialect == "postgresql":
        connection.exec_driver_sql(f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE")
    connection.exec_driver_sql(f"DELETE FROM {source.target}")
    return connection.exec_driver_sql(source.recount(dialect)).rowcount


def _name(connection: Connection) -> str:
    name = connection.dialect.name
    return "mysql" if name == "mariadb" else name
