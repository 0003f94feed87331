"""Raw page views folded into daily counts, then deleted once older than the retention
(``FUNNEL_VISIT_RETENTION_DAYS``): privacy by design, and a table that stops growing.
``flask funnel fold-views`` does both; site owners run it daily from cron.

**Exact.** A view is counted by the report either in ``funnel_daily_views`` or as a raw
row, never both and never neither: ``funnel_folds`` keeps a watermark, the highest
``funnel_visits.id`` folded, and every lower id is folded too. One transaction adds a
batch of raw rows (``watermark < id <= newest``) to the daily counts and moves the
watermark past them, so a fold stopped half-way leaves counts and watermark agreeing;
the report (``analytics.page_views``) adds the daily counts to the raw rows above the
watermark, in one statement and so one snapshot. A view the visit buffer stores late,
with an old ``at`` (it held views while the database was away), gets a new id and is
folded next time, into its own day. Folding twice folds nothing twice: the watermark
has moved. Deleting only rows at or below the watermark changes no count.

**Days.** A daily count's day is the local day of ``FUNNEL_REPORT_TIMEZONE`` when the
view was folded, so every period of the report (local days) adds up whole rows, in any
zone, summer time included. After the zone is changed, the days folded before keep the
old zone's bounds (a view near midnight may sit in the day beside); leads and visitors
are counted from their own rows and are not affected.

**Ids handed out in order.** The fold must not pass over a view whose transaction was
still open when it read the newest id: that view could have a lower id and be committed
after. PostgreSQL: ``LOCK TABLE funnel_visits IN SHARE MODE`` while reading it waits for
every transaction that wrote to the table (new writes wait the moment it takes; the
lock is given up at once). MariaDB and MySQL: ``LOCK TABLES funnel_visits READ`` does
the same (the database user needs the LOCK TABLES privilege, which ``GRANT ALL`` on the
database includes). SQLite has one writer at a time, and the read is made holding it.
A wait longer than ``LOCK_SECONDS`` (a long transaction that wrote page views) gives up
the lock and tries again, then says so: the site never stalls behind the fold. The
ids are never handed out twice: PostgreSQL's sequences and MariaDB's AUTO_INCREMENT
never go back, and SQLite's table has AUTOINCREMENT (revision 0018). PostgreSQL
sequences must keep their default ``CACHE 1`` (a cache lets a session hand out an id
lower than one already committed).

**Counted.** Page views of every user agent that is not a bot's (``device = "bot"``),
the views of browsers whose submissions were caught included: a view is counted for
good when it is folded, so the count cannot follow a quarantine that an admin may lift
later. Steps reached (``funnel_step_views``) are not folded: they are one row per
visitor and step, not per view.

**Partitions.** At 50 million views a year the fold and the batched deletes keep
``funnel_visits`` to the retention's rows (about 12 million at 90 days), and an index
on ``at`` finds the old ones. Partitioning the table by month on PostgreSQL would turn
each month's deletion into dropping a partition, and keep a BRIN index on ``at`` small
and sharp (a BRIN index on a table whose deleted pages are filled again by new views
loses its order: see revision 0018); but the primary key would have to include ``at``,
every other database would need its own layout, and someone would have to create next
month's partition ahead of time. That is the step for a billion views, not this one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Date, Engine, case, delete, func, literal, select, update
from sqlalchemy.exc import DBAPIError

from flask_funnel.capture.attribution import BOT
from flask_funnel.db.models import DailyView, Fold, Visit
from flask_funnel.db.retry import write_retrying
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.db.types import utcnow
from flask_funnel.db.upserts import add_selected, upsert

log = logging.getLogger("flask_funnel.visits")

#: The ``funnel_folds`` row of the page views.
VIEWS = "views"
#: Raw views folded per transaction, and deleted per transaction: a year of views is
#: never one huge transaction, nor one long lock on MariaDB.
FOLD_BATCH = 20_000
DELETE_BATCH = 5_000
#: Local days one grouping query tells apart; a batch whose views span more (a late
#: view among new ones) is counted in several windows of time.
MAX_SPAN_DAYS = 62
#: How long the read of the newest id waits for transactions writing page views, and
#: how often it tries.
LOCK_SECONDS = 5
LOCK_ATTEMPTS = 3
#: The dimensions of a daily count, in ``funnel_daily_views``'s key order after ``day``;
#: the ones a view may lack are stored as ``""``.
DIMENSIONS = ("page_slug", "variant", "place_version", "source", "device", "country")
OPTIONAL = frozenset({"variant", "place_version", "country"})

_visits = Visit.__table__
_daily = DailyView.__table__
_folds = Fold.__table__


class FoldError(RuntimeError):
    """Nothing was folded; the message says why."""


class FoldBusy(FoldError):
    """The page views stayed locked by other transactions."""


@dataclass(frozen=True)
class Folded:
    """What a fold did: the views added to the daily counts, the local days they fell
    on, and the bots' views passed over."""

    views: int = 0
    days: int = 0
    bots: int = 0


def fold_views(engine: Engine, zone: ZoneInfo, *, batch: int = FOLD_BATCH) -> Folded:
    """Fold every page view stored so far into the daily counts, in batches of
    ``batch`` views (one transaction each). Several folds at once wait for each other
    and fold each view once."""
    newest = newest_id(engine)
    views = bots = 0
    days: set[date] = set()
    while True:
        done = write_retrying(
            engine, lambda connection: _fold_next(connection, zone, newest, batch)
        )
        if done is None:
            return Folded(views=views, days=len(days), bots=bots)
        views += done.views
        bots += done.bots
        days |= done.days


def delete_old_views(
    engine: Engine, retention_days: int, *, now: datetime | None = None, batch: int = DELETE_BATCH
) -> int:
    """Delete the page views older than ``retention_days`` that are folded, ``batch``
    per transaction; how many were deleted."""
    before = (now or utcnow()) - timedelta(days=retention_days)
    with engine.connect() as connection:
        folded = watermark(connection)
    # The ids of a batch, chosen by the index on ``at``; nested once more, because
    # MariaDB neither deletes from a table a subquery reads nor takes LIMIT in IN (...).
    chosen = (
        select(_visits.c.id)
        .where(_visits.c.at < before, _visits.c.id <= folded)
        .limit(batch)
        .subquery()
    )
    statement = delete(_visits).where(_visits.c.id.in_(select(chosen.c.id)))
    deleted = 0
    while True:
        count = write_retrying(engine, lambda connection: connection.execute(statement).rowcount)
        deleted += count
        if count < batch:
            return deleted


def watermark(connection: Connection) -> int:
    """The highest id of ``funnel_visits`` folded so far (0: none)."""
    return connection.execute(select(folded_id())).scalar_one()


def folded_id():
    """The watermark, the highest id folded, as an expression (0 before the first fold)."""
    last = select(_folds.c.last_id).where(_folds.c.name == VIEWS).scalar_subquery()
    return func.coalesce(last, 0)


def newest_id(engine: Engine) -> int:
    """The highest id of ``funnel_visits`` such that no view with a lower id can still
    be committed (see the module's docstring)."""
    newest = select(func.coalesce(func.max(_visits.c.id), 0))
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            with _visits_held(engine) as connection:
                return connection.execute(newest).scalar_one()
        except DBAPIError as error:
            if _lock_refused(error):
                raise FoldError(
                    "the database user may not lock funnel_visits (MariaDB and MySQL: grant "
                    "it the LOCK TABLES privilege); nothing was folded"
                ) from None
            if not _lock_timed_out(error):
                raise
            log.info("page views locked by another transaction; attempt %d", attempt)
    raise FoldBusy(
        f"the page views stayed locked by other transactions ({LOCK_ATTEMPTS} waits of "
        f"{LOCK_SECONDS} s); nothing was folded: try again later"
    )


@contextmanager
def _visits_held(engine: Engine) -> Iterator[Connection]:
    """A connection on which no other transaction is writing page views."""
    dialect = engine.dialect.name
    if dialect == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_SECONDS}s'")
            connection.exec_driver_sql(f"LOCK TABLE {_visits.name} IN SHARE MODE")
            yield connection
    elif dialect in ("mysql", "mariadb"):
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            wait = connection.exec_driver_sql("SELECT @@SESSION.lock_wait_timeout").scalar_one()
            connection.exec_driver_sql(f"SET SESSION lock_wait_timeout = {LOCK_SECONDS}")
            try:
                connection.exec_driver_sql(f"LOCK TABLES {_visits.name} READ")
                try:
                    yield connection
                finally:
                    connection.exec_driver_sql("UNLOCK TABLES")
            finally:
                connection.exec_driver_sql(f"SET SESSION lock_wait_timeout = {int(wait)}")
    else:  # SQLite: holding the one writer's lock
        with writing(engine) as connection:
            yield connection


def _lock_refused(error: DBAPIError) -> bool:
    """MariaDB and MySQL: access denied (to LOCK TABLES)."""
    args = getattr(error.orig, "args", ())
    return bool(args) and args[0] in (1044, 1142)


def _lock_timed_out(error: DBAPIError) -> bool:
    original = error.orig
    if getattr(original, "sqlstate", None) == "55P03":  # PostgreSQL: lock_not_available
        return True
    args = getattr(original, "args", ())
    return bool(args) and args[0] == 1205  # MariaDB, MySQL: lock wait timeout


@dataclass(frozen=True)
class _Batch:
    views: int
    bots: int
    days: frozenset[date]


def _fold_next(connection: Connection, zone: ZoneInfo, newest: int, batch: int) -> _Batch | None:
    """Fold the next ``batch`` views up to id ``newest`` in this transaction, moving the
    watermark past them; None when there are none left."""
    connection.execute(
        _new_fold(connection.dialect.name),
        {"name": VIEWS, "last_id": 0, "zone": zone.key, "folded_at": utcnow()},
    )
    # Another fold running now waits here until it has committed, then goes on from
    # where that one stopped.
    last = connection.execute(
        select(_folds.c.last_id).where(_folds.c.name == VIEWS).with_for_update()
    ).scalar_one()
    if last >= newest:
        return None
    until = connection.execute(
        select(_visits.c.id)
        .where(_visits.c.id > last, _visits.c.id <= newest)
        .order_by(_visits.c.id)
        .offset(batch - 1)
        .limit(1)
    ).scalar()
    until = newest if until is None else until
    folded = _fold_range(connection, zone, last, until)
    connection.execute(
        update(_folds)
        .where(_folds.c.name == VIEWS)
        .values(last_id=until, zone=zone.key, folded_at=utcnow())
    )
    return folded


def _fold_range(connection: Connection, zone: ZoneInfo, after: int, until: int) -> _Batch:
    """Add the views with ids in ``(after, until]`` to the daily counts, counted by the
    database in windows of at most ``MAX_SPAN_DAYS`` local days from the oldest view on
    (stretches of time without a view are passed over)."""
    in_range = (_visits.c.id > after, _visits.c.id <= until)
    dialect = connection.dialect.name
    values = [
        func.coalesce(_visits.c[name], "") if name in OPTIONAL else _visits.c[name]
        for name in DIMENSIONS
    ]
    is_bot = case((_visits.c.device == BOT, 1), else_=0)
    views = bots = 0
    days: set[date] = set()
    since = None
    while True:
        later = () if since is None else (_visits.c.at >= since,)
        # count(): with min() and max() alone, PostgreSQL would look for them along the
        # index on ``at``, through every view but these.
        first, last, found = connection.execute(
            select(func.min(_visits.c.at), func.max(_visits.c.at), func.count()).where(
                *in_range, *later
            )
        ).one()
        if not found:
            return _Batch(views=views, bots=bots, days=frozenset(days))
        window_days = _local_days(first, last, zone)
        since = window_days[-1][1]
        window = (*in_range, *later, _visits.c.at < since)
        positions = [literal(n) for n in range(len(window_days))]
        seen_on = (
            select(_day_of(window_days, positions).label("day"), is_bot.label("bot"))
            .where(*window)
            .subquery()
        )
        for n, seen, by_bots in connection.execute(
            select(seen_on.c.day, func.count(), func.sum(seen_on.c.bot)).group_by(seen_on.c.day)
        ):
            by_bots = int(by_bots)  # MariaDB sums to a decimal
            views += seen - by_bots
            bots += by_bots
            if seen > by_bots:
                days.add(window_days[n][0])
        dates = [literal(d, Date) for d, _ in window_days]
        counted = (
            select(
                _day_of(window_days, dates).label("day"),
                *(v.label(n) for v, n in zip(values, DIMENSIONS, strict=True)),
            )
            .where(*window, _visits.c.device != BOT)
            .subquery()
        )
        keys = [counted.c.day, *(counted.c[name] for name in DIMENSIONS)]
        connection.execute(
            add_selected(
                dialect,
                _daily,
                ["day", *DIMENSIONS],
                "views",
                # (A WHERE clause: SQLite would read ON CONFLICT as a join's ON without.)
                select(*keys, func.count()).where(counted.c.day.is_not(None)).group_by(*keys),
            )
        )


def _local_days(first: datetime, last: datetime, zone: ZoneInfo) -> list[tuple[date, datetime]]:
    """Each local day of ``zone`` from the one holding ``first`` to the one holding
    ``last`` (at most ``MAX_SPAN_DAYS``), with its end in UTC."""
    day, final = first.astimezone(zone).date(), last.astimezone(zone).date()
    days = []
    while day <= final and len(days) < MAX_SPAN_DAYS:
        following = day + timedelta(days=1)
        days.append((day, datetime.combine(following, time(), zone).astimezone(UTC)))
        day = following
    return days


def _day_of(days: list[tuple[date, datetime]], values: list):
    """``values[n]`` for a view of ``days[n]``: comparisons with the days' ends, halving
    the days at each step."""
    if len(days) == 1:
        return values[0]
    half = len(days) // 2
    return case(
        (_visits.c.at < days[half - 1][1], _day_of(days[:half], values[:half])),
        else_=_day_of(days[half:], values[half:]),
    )


@cache
def _new_fold(dialect: str):
    """The fold's row, made when missing (its watermark at 0)."""
    return upsert(dialect, _folds, ["name"], None)
