"""A year of a busy site on PostgreSQL (issue 15): 50 million page views, 1 million
leads and 5 million stage changes; the dashboard, the leads list and a landing view's
write timed on it and printed beside their targets.

    .venv/bin/python bench/year.py
    .venv/bin/python bench/year.py --views 1000000 --visitors 340000 --leads 20000 \\
        --curve 400000 --url postgresql+psycopg://postgres@127.0.0.1/funnel_year_small

The database (``--url``, made when missing; ``--fresh`` drops it first) gets its
schema from the project's migrations (``flask db upgrade``) and is filled in stages,
each one committed and noted in a table ``bench_year``, so that a run stopped between
stages (or between chunks of views), or started again, carries on where it was:

1. a landing view's insert cost, on the empty tables;
2. the leads, their stage changes, submissions, purchases, notes, search terms, and
   their browsers' visitors and visits, from bench/generate_leads.py over 12 months
   (``--dormancy-days 30``: 5 stage changes a lead in one year, as its default makes
   in two), then the quiz steps their browsers reached; one step, not resumable
   part-way (start again with ``--fresh``);
3. anonymous browsers (first seen over the year, more each month: three times as
   many in the last as in the first; 4% bots; a tenth start the quiz and three in four
   go on at each step) and their views (a third of the returns spread over everyone
   seen in the last weeks, the rest to one browser in five, the loyal ones), made in
   the database with INSERT ... SELECT from generate_series, in time order, a million
   views a transaction, up to each view count of ``--curve`` and then to ``--views``.
   The visits', visitors' and steps' indexes are dropped for the load and built again
   from their own definitions, the daily counts' triggers are off and then
   ``daily_counts.install`` / ``install_losses`` / ``install_visitor_groups`` /
   ``install_step_counts`` count everything again (what ``flask funnel recount``
   runs), and ``VACUUM ANALYZE`` runs; then the insert cost is measured again. (The
   triggers would cost more than the load: 300,000 visitors took 18.4 s with them,
   4.9 s without, and counting everything again 1.1 s.)

Then it times, through the app in-process (the test client, signed in as an admin:
the whole request and template) and through the functions the views call (medians of
``--repeat`` runs after 3 warm-up runs; 3 after 1 for a figure of seconds): the
dashboard for the last 30 and 365 days, unfiltered and split by page; the report of
one page (quiz drop-off, A/B test); the leads list's first page and searches.

A landing view's insert cost is the time of the visit buffer's flush
(``VisitBuffer.flush``: ``record_visits`` in a transaction of its own, commit
included) divided by the views in it, for batches of 1, 10 and 100 views (a third new
browsers, with ids as the app makes them, growing with time; the rest returning; the
sizes taking turns, after a ``CHECKPOINT``), median per view; the rows it writes are
deleted afterwards. The generated browsers' ids are random, as the cookies of a site
that ran before ids grew with time (``capture.visits.new_visitor_id``).

Page views (migration 0018, when present): when the ``flask funnel fold-views``
command exists, the database is copied (``CREATE DATABASE ... TEMPLATE``), the copy
folded with ``FUNNEL_VISIT_RETENTION_DAYS=--fold-days``, its rows folded and deleted
per second printed, the dashboard timed on it, and the copy dropped
(``--keep-fold-copy`` keeps it). The report's own figures need nothing here: the
dashboard shows whatever ``build_report`` computes.

``--explain`` prints, for each figure that misses its target, the three slowest
statements of one more run with ``EXPLAIN (ANALYZE, BUFFERS)``; ``--again`` measures
the insert cost at the full size again (the figures of a run are kept with the data).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import click
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import generate_leads as generator  # noqa: E402
from report import timed  # noqa: E402
from year_data import (  # noqa: E402
    HOME,
    STEPS,
    VARIANTS,
    VISITORS,
    VISITS,
    Plan,
    State,
    Stream,
    database_size,
    finish,
    load_leads,
    load_views,
    make_database,
    migrate,
    since,
    vacuum_analyze,
)

from flask_funnel.analytics import forecast as forecast_module  # noqa: E402
from flask_funnel.analytics.experiments import variant_test  # noqa: E402
from flask_funnel.analytics.funnel import STAGES, build_report  # noqa: E402
from flask_funnel.analytics.periods import Period, today_in  # noqa: E402
from flask_funnel.analytics.quiz_dropoff import quiz_dropoff  # noqa: E402
from flask_funnel.auth import accounts  # noqa: E402
from flask_funnel.capture.geo import Place  # noqa: E402
from flask_funnel.capture.visit_buffer import VisitBuffer  # noqa: E402
from flask_funnel.capture.visits import VisitRecord, new_visitor_id, visit_row  # noqa: E402
from flask_funnel.leads.search import LeadFilters, find_leads  # noqa: E402
from flask_funnel.state import current_funnel  # noqa: E402
from flask_funnel.values import FieldError  # noqa: E402
from landing import create_app  # noqa: E402

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/funnel_year"
DAILY_VIEWS = "funnel_daily_views"  # migration 0018's page views per day, when present
FOLD_COMMAND = "fold-views"
BATCHES = {1: 300, 10: 90, 100: 30}  # insert cost: batch size -> batches timed
ROUNDS = 3  # ... in turns
INSERT_TOLERANCE = 1.2  # "unchanged": within this factor of the empty tables' cost
ADMIN_EMAIL, ADMIN_PASSWORD = "year@bench.example", "a year of a busy site"


# --- measuring -------------------------------------------------------------------------


@dataclass
class Figure:
    name: str
    value: float | None  # ms, or µs per view for the insert cost
    unit: str
    target: float | None = None  # the value must stay under it
    note: str = ""
    run: Callable | None = None  # run again by --explain

    @property
    def passed(self) -> bool | None:
        return None if self.target is None or self.value is None else self.value < self.target


def make_app(url: str, **config):
    return create_app(
        {
            "SECRET_KEY": "bench-year",
            "SQLALCHEMY_DATABASE_URI": url,
            "FUNNEL_RATELIMIT_ENABLED": False,
            **config,
        }
    )


def dispose(app) -> None:
    """Close the app's connections (a database with any cannot be copied)."""
    with app.app_context():
        current_funnel().engine.dispose()
        current_funnel().db.engine.dispose()


def insert_cost(app, state: State, stream: Stream | None, views: int) -> dict[str, float]:
    """µs per view of the visit buffer's flush, per batch size (see the docstring)."""
    rng = random.Random(views)
    with app.app_context():
        engine = current_funnel().engine
        # What a load left dirty is written now, not in the middle of the timed commits.
        with engine.connect() as connection, contextlib.suppress(DBAPIError):
            connection.exec_driver_sql("CHECKPOINT")
        with engine.connect() as connection:
            before = connection.scalar(text(f"SELECT coalesce(max(id), 0) FROM {VISITS}"))
            leads = connection.scalars(
                text(
                    "SELECT visitor_id FROM funnel_submissions TABLESAMPLE SYSTEM (1) "
                    "WHERE visitor_id IS NOT NULL LIMIT 2000"
                )
            ).all()
        # Returning browsers: the leads' and the anonymous ones generated so far.
        returning = [*leads]
        if stream and state.get("k"):
            seen = -(-state.get("k") * stream.visitors // stream.views)
            prefix = f"year{stream.plan.seed}:"
            returning += [
                hashlib.md5(f"{prefix}{rng.randint(1, seen)}".encode()).hexdigest()
                for _ in range(8000)
            ]
        new: list[str] = []
        buffer = VisitBuffer(engine, seconds=3600, size=10**9)

        def view() -> dict:
            if returning and rng.random() < 2 / 3:
                visitor = rng.choice(returning)
            else:
                visitor = new_visitor_id()
                new.append(visitor)
                returning.append(visitor)
            slug = "home-brewing" if rng.random() < HOME else "qahve-dam"
            source, referrer, *utm = generator.SOURCES(rng)
            country, city = generator.PLACES[slug](rng)
            variants = VARIANTS[slug]
            return visit_row(
                VisitRecord(
                    visitor_id=visitor,
                    page_slug=slug,
                    variant=rng.choice(variants) if variants else None,
                    referrer=referrer,
                    source=source,
                    utm=dict(
                        zip(
                            ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"),
                            [*utm, None, None],
                            strict=True,
                        )
                    ),
                    device=generator.DEVICES(rng),
                    place=Place(country=country, city=city),
                    ip=f"203.0.{rng.randrange(256)}.0",
                )
            )

        # The sizes take turns, a third of each one's batches a round, so that a busy
        # moment of the machine falls on all of them alike.
        times: dict[int, list[float]] = {size: [] for size in BATCHES}
        wal = dict.fromkeys(BATCHES, 0)  # bytes of WAL the server wrote meanwhile
        for round_ in range(ROUNDS):
            for size, batches in BATCHES.items():
                count = batches // ROUNDS + (3 if round_ == 0 else 0)
                lsn = wal_position(engine)
                for n in range(count):
                    for _ in range(size):
                        buffer.add(view())
                    started = time.perf_counter()
                    written = buffer.flush()
                    elapsed = time.perf_counter() - started
                    if written != size:
                        raise SystemExit(f"the visit buffer wrote {written} of {size} views")
                    if round_ or n >= 3:  # 3 warm-up batches
                        times[size].append(elapsed / size * 1e6)
                wal[size] += (wal_position(engine) - lsn) / (count * size)
        costs = {str(size): round(statistics.median(t), 1) for size, t in times.items()}
        costs |= {f"wal{size}": round(bytes_ / ROUNDS) for size, bytes_ in wal.items()}
        with engine.begin() as connection:  # the figures' rows out again (the counts too)
            connection.execute(text(f"DELETE FROM {VISITS} WHERE id > :id"), {"id": before})
            connection.execute(
                text(f"DELETE FROM {VISITORS} WHERE visitor_id = ANY(:ids)"), {"ids": new}
            )
    return costs


def wal_position(engine: Engine) -> int:
    """The server's WAL insert position, in bytes (every database of the server)."""
    with engine.connect() as connection:
        return connection.scalar(text("SELECT pg_current_wal_insert_lsn() - '0/0'"))


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""


def signed_in(app):
    """A test client signed in to the admin area with an account of its own."""
    with app.app_context(), contextlib.suppress(FieldError):  # made by an earlier run
        accounts.create_admin(current_funnel().engine, ADMIN_EMAIL, ADMIN_PASSWORD)
    client = app.test_client()
    inputs = _Inputs()
    inputs.feed(client.get("/p/admin/sign-in").text)
    response = client.post(
        "/p/admin/sign-in",
        data={
            "csrf_token": inputs.fields["csrf_token"],
            "email": ADMIN_EMAIL,
            "password": ADMIN_PASSWORD,
        },
    )
    if response.status_code != 303:
        raise SystemExit(f"signing in answered {response.status_code}")
    return client


def get(client, url: str) -> Callable:
    def run():
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")

    return run


def in_app(app, work: Callable) -> Callable:
    """``work(state, connection)`` in an app context, as a view runs it."""

    def run():
        with app.app_context():
            state = current_funnel()
            with state.engine.connect() as connection:
                return work(state, connection)

    return run


def reads(app, repeat: int, suffix: str = "", only: str = "") -> list[Figure]:
    """The dashboard and the leads list, through the app and through their functions
    (those whose name starts with ``only``)."""
    client = signed_in(app)
    with app.app_context():
        settings = current_funnel().settings.report
        page = current_funnel().pages.get("home-brewing")
    today = today_in(settings.zone)
    year = Period(today - timedelta(days=364), today, settings.zone)
    month = Period(today - timedelta(days=29), today, settings.zone)
    custom = f"period=custom&start={year.first}&end={year.last}"
    with app.app_context():
        engine = current_funnel().engine
        with engine.connect() as connection:
            a_name = connection.scalar(
                text("SELECT name FROM funnel_leads WHERE name > '' ORDER BY id DESC LIMIT 1")
            )
            last = connection.scalar(text("SELECT max(id) FROM funnel_leads")) or 1
    name = (a_name or "Emma").split()[0]  # a first name
    email = f"lead{max(1, last // 9)}"  # the start of some leads' emails

    def report(period: Period, by: str | None = None) -> Callable:
        return in_app(app, lambda s, c: build_report(c, period, s.settings.report, by=by))

    def page_report(period: Period) -> Callable:
        def both(state, connection) -> tuple:
            # As the page's report computes them (its A/B test to the first stage).
            quiz = quiz_dropoff(connection, page, period)
            return quiz, variant_test(connection, page, period, STAGES[0])

        return in_app(app, both)

    def leads(filters: LeadFilters) -> Callable:
        def run():
            with app.app_context():
                return find_leads(current_funnel().session, filters)

        return run

    def anew(run: Callable) -> Callable:
        def first_of_the_day():
            forecast_module._LESSONS.clear()
            run()

        return first_of_the_day

    board, lists = 500.0, 100.0
    runs = [
        ("dashboard, 30 days (page)", get(client, "/p/admin/"), board),
        ("dashboard, 30 days (build_report)", report(month), board),
        ("dashboard, 30 days, day's first (page)", anew(get(client, "/p/admin/")), board),
        ("dashboard, 365 days (page)", get(client, f"/p/admin/?{custom}"), board),
        ("dashboard, 365 days (build_report)", report(year), board),
        ("dashboard, 30 days, by page (page)", get(client, "/p/admin/?by=landing_page"), board),
        ("dashboard, 30 days, by page (build_report)", report(month, "landing_page"), board),
        (
            "dashboard, 365 days, by page (page)",
            get(client, f"/p/admin/?{custom}&by=landing_page"),
            board,
        ),
        ("dashboard, 365 days, by page (build_report)", report(year, "landing_page"), board),
        ("one page's report, 30 days (page)", get(client, f"/p/admin/pages/{page.slug}"), board),
        ("one page's report, 30 days (functions)", page_report(month), board),
        (
            "one page's report, 365 days (page)",
            get(client, f"/p/admin/pages/{page.slug}?{custom}"),
            board,
        ),
        ("one page's report, 365 days (functions)", page_report(year), board),
        ("leads list, first page (page)", get(client, "/p/admin/leads"), lists),
        ("leads list, first page (find_leads)", leads(LeadFilters()), lists),
        (f"leads list, search {name!r} (page)", get(client, f"/p/admin/leads?q={name}"), lists),
        (f"leads list, search {name!r} (find_leads)", leads(LeadFilters(q=name)), lists),
        (f"leads list, search {email!r} (page)", get(client, f"/p/admin/leads?q={email}"), lists),
        (f"leads list, search {email!r} (find_leads)", leads(LeadFilters(q=email)), lists),
        # Every generated lead's domain (example.com): a million matches.
        ("leads list, search 'example' (page)", get(client, "/p/admin/leads?q=example"), lists),
        ("leads list, search 'example' (find_leads)", leads(LeadFilters(q="example")), lists),
    ]
    figures = []
    for name, run, target in runs:
        if not name.startswith(only):
            continue
        median, worst = timed(run, repeat)
        figures.append(
            Figure(name + suffix, median, "ms", target, f"worst {worst:,.0f} ms", run=run)
        )
        print(f"  {figures[-1].name:<58} {median:9.1f} ms  (worst {worst:,.1f})")
    return figures


# --- explaining a missed target ------------------------------------------------------------


def explain(app, figure: Figure, top: int = 3) -> None:
    """The slowest statements of one more run of ``figure``, with their plans."""
    with app.app_context():
        engine = current_funnel().engine
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        elapsed = time.perf_counter() - conn.info["bench_started"].pop()
        statements.append((elapsed * 1000, statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        figure.run()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    slowest = sorted(statements, key=lambda s: -s[0])[:top]
    print(f"\n{figure.name}: {figure.value:,.0f} ms; the slowest of {len(statements)} statements")
    with engine.connect() as connection:
        for ms, statement, parameters in slowest:
            print(f"--- {ms:,.1f} ms\n{statement}\n{parameters}")
            plan = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
            ).scalars()
            print("\n".join(plan))


# --- the fold of page views (migration 0018) ------------------------------------------------


def fold_command(app) -> click.Command | None:
    """The app's ``flask funnel fold-views``, if this version of the funnel has one."""
    group = app.cli.get_command(click.Context(app.cli), "funnel")
    return group and group.get_command(click.Context(group), FOLD_COMMAND)


def fold(url: str, app, args) -> list[Figure]:
    """Fold the views and delete those older than ``--fold-days`` on a copy of the
    database, and time the dashboard on the copy; nothing when there is no fold."""
    with app.app_context():
        present = inspect(current_funnel().engine).has_table(DAILY_VIEWS)
    if fold_command(app) is None or not present:
        print(f"no `flask funnel {FOLD_COMMAND}` or no {DAILY_VIEWS} table: fold not timed")
        return []
    source = make_url(url)
    copy = source.set(database=f"{source.database}_fold")
    server = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        size = connection.scalar(text("SELECT pg_database_size(:name)"), {"name": source.database})
        directory = connection.scalar(text("SHOW data_directory"))
    free = shutil.disk_usage(directory).free if os.access(directory, os.R_OK) else None
    if free is not None and free < 1.3 * size:
        print(f"fold not timed: a copy needs {size / 1e9:.0f} GB, {free / 1e9:.0f} GB free")
        return []
    dispose(app)
    started = time.monotonic()
    with server.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{copy.database}"')
        for attempt in range(30):  # autovacuum may be on the source for a moment more
            try:
                connection.exec_driver_sql(
                    f'CREATE DATABASE "{copy.database}" TEMPLATE "{source.database}"'
                )
                break
            except DBAPIError:
                if attempt == 29:
                    raise
                time.sleep(2)
    print(f"\ncopied to {copy.database} in {since(started):.0f} s; folding it")
    copy_url = copy.render_as_string(hide_password=False)
    folding = make_app(copy_url, FUNNEL_VISIT_RETENTION_DAYS=args.fold_days)
    engine = create_engine(copy_url)

    def rows() -> tuple[int, int]:
        with engine.connect() as connection:
            return (
                connection.scalar(text(f"SELECT count(*) FROM {VISITS}")),
                connection.scalar(text(f"SELECT coalesce(sum(views), 0) FROM {DAILY_VIEWS}")),
            )

    visits, folded = rows()
    began = datetime.now(UTC)
    result = folding.test_cli_runner().invoke(args=["funnel", FOLD_COMMAND])
    seconds = (datetime.now(UTC) - began).total_seconds()
    print(result.output.strip())
    if result.exit_code:
        raise SystemExit(f"{FOLD_COMMAND} failed: {result.exception!r}")
    visits_after, folded_after = rows()
    deleted, folded = visits - visits_after, folded_after - folded
    # When the fold ended: its watermark's last move (funnel_folds, migration 0018).
    with engine.connect() as connection:
        ended = inspect(connection).has_table("funnel_folds") and connection.scalar(
            text("SELECT max(folded_at) FROM funnel_folds")
        )
    folding_seconds = (ended.replace(tzinfo=UTC) - began).total_seconds() if ended else seconds
    deleting_seconds = seconds - folding_seconds if ended else seconds
    figures = [
        Figure(f"{FOLD_COMMAND}, {args.fold_days}-day retention, whole command", seconds, " s"),
        Figure("... views folded per second", folded / folding_seconds, "/s", note=f"{folded:,}"),
        Figure(
            "... views deleted per second", deleted / deleting_seconds, "/s", note=f"{deleted:,}"
        ),
    ]
    vacuum_analyze(engine)
    engine.dispose()
    figures += reads(folding, args.repeat, suffix=", folded", only="dashboard")
    for figure in figures if args.explain else ():
        if figure.passed is False and figure.run is not None:
            explain(folding, figure)
    dispose(folding)
    if not args.keep_fold_copy:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{copy.database}"')
    server.dispose()
    return figures


# --- the run ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=URL, help="a PostgreSQL SQLAlchemy URL")
    parser.add_argument("--views", type=int, default=50_000_000, help="page views in all")
    parser.add_argument("--visitors", type=int, default=17_000_000, help="browsers in all")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument(
        "--curve",
        default="10000000",
        help="view counts (comma-separated) at which to measure the insert cost on the way",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--fold-days", type=int, default=90)
    parser.add_argument("--keep-fold-copy", action="store_true")
    parser.add_argument("--fresh", action="store_true", help="drop the database first")
    parser.add_argument("--explain", action="store_true", help="plans of missed targets")
    parser.add_argument("--again", action="store_true", help="measure the insert cost again")
    args = parser.parse_args()

    make_database(args.url, args.fresh)
    upgrade = migrate(args.url)
    engine = create_engine(args.url)
    state = State(engine)
    print(f"{make_url(args.url).database}: flask db upgrade in {upgrade:.1f} s")
    asked = {"views": args.views, "visitors": args.visitors, "leads": args.leads, "seed": args.seed}
    if state.get("plan") is None:
        state.save("plan", asked | {"now": datetime.now(UTC).timestamp()})
    elif {k: state.get("plan")[k] for k in asked} != asked:
        sys.exit(f"the database was made for {state.get('plan')}; give the same or --fresh")
    plan = Plan(**state.get("plan"))
    app = make_app(args.url)
    fold_command(app)  # the command line's modules loaded now, with the rest of the code

    costs = state.get("insert_cost", {})
    if "0" not in costs:
        with engine.connect() as connection:
            empty = not any(
                connection.scalar(text(f"SELECT EXISTS (SELECT FROM {table})"))
                for table in (VISITS, VISITORS, "funnel_leads")
            )
        if empty:
            print("insert cost on the empty tables")
            costs["0"] = insert_cost(app, state, None, 0)
            state.save("insert_cost", costs)
    if state.get("leads") is None:
        load_leads(engine, state, plan)
    made = state.get("leads")
    stream = Stream(plan, plan.views - made["visits"], plan.visitors - made["visitors"])
    if stream.views < stream.visitors or stream.visitors < 0:
        sys.exit(f"the leads alone made {made['visits']:,} views of {made['visitors']:,} visitors")
    points = sorted({int(p) for p in args.curve.split(",") if p} | {plan.views})
    for point in (p for p in points if p <= plan.views):
        until = min(stream.views, max(0, point - made["visits"]))
        if state.get("k", 0) < until:
            load_views(engine, state, stream, until)
        total = made["visits"] + state.get("k", 0)
        finish(engine, state, total)
        if str(total) not in costs or (args.again and point == points[-1]):
            print(f"insert cost at {total:,} views")
            costs[str(total)] = insert_cost(app, state, stream, total)
            state.save("insert_cost", costs)

    with engine.connect() as connection:
        tables = {
            table: connection.scalar(text(f"SELECT count(*) FROM {table}"))
            for table in (
                "funnel_leads",
                "funnel_stage_changes",
                VISITS,
                VISITORS,
                STEPS,
                "funnel_submissions",
                "funnel_daily_counts",
                *([DAILY_VIEWS] if inspect(connection).has_table(DAILY_VIEWS) else []),
            )
        }
        linked = connection.scalar(text(f"SELECT count(lead_id) FROM {VISITORS}"))
        sizes = {
            table: connection.scalar(text("SELECT pg_total_relation_size(:t)"), {"t": table})
            for table in (VISITS, VISITORS, STEPS)
        }
    size = database_size(engine)
    engine.dispose()

    print("\ntimings, through the app as a signed-in admin and through the functions")
    base, figures = costs.get("0"), []
    for at, by_size in sorted(costs.items(), key=lambda item: int(item[0])):
        for batch in (str(size) for size in BATCHES if str(size) in by_size):
            wal = by_size.get(f"wal{batch}")
            figures.append(
                Figure(
                    f"landing view insert, batch of {batch}, at {int(at):,} views",
                    by_size[batch] / 1000,
                    "ms",
                    base[batch] / 1000 * INSERT_TOLERANCE if base and at != "0" else None,
                    f"WAL {wal / 1024:,.1f} kB a view" if wal is not None else "",
                )
            )
    figures += reads(app, args.repeat)
    missed = [f for f in figures if f.passed is False and f.run is not None]
    if args.explain:
        for figure in missed:
            explain(app, figure)
    figures += fold(args.url, app, args)

    print(f"\n{make_url(args.url).database} on PostgreSQL, {size / 1e9:.1f} GB:")
    print(", ".join(f"{table} {rows:,}" for table, rows in tables.items()))
    print(f"visitors linked to a lead: {linked:,}")
    print(", ".join(f"{table} {n / 1e9:.1f} GB with indexes" for table, n in sizes.items()))
    seconds = state.get("seconds", [])
    for label, took in seconds:
        print(f"  {label:<60} {took:8.0f} s")
    print(f"  {'generation in all':<60} {sum(s for _, s in seconds):8.0f} s")
    print(f"\n{'figure':<66}{'value':>12}  {'target':<29}result")
    for f in figures:
        if f.unit == "ms":
            value = f"{f.value:,.2f} ms" if f.value < 10 else f"{f.value:,.0f} ms"
        else:
            value = f"{f.value:,.0f}{f.unit}"
        target = ""
        if f.target is not None:
            target = f"< {f.target:,.2f} ms" if f.target < 10 else f"< {f.target:,.0f} ms"
            if f.name.startswith("landing"):
                target = f"≤ {INSERT_TOLERANCE} × at 0 ({f.target:.2f} ms)"
        result = {True: "pass", False: "MISSED", None: ""}[f.passed]
        print(f"{f.name:<66}{value:>12}  {target:<29}{result}  {f.note}".rstrip())
    if missed and not args.explain:
        print("\n(--explain prints the plans of the slowest statements of each missed figure)")


if __name__ == "__main__":
    main()
