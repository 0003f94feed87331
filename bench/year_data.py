"""The data of ``bench/year.py``: a year of a busy site generated into PostgreSQL, stage
by stage, each stage noted in the table ``bench_year`` so that a run carries on where
the last one stopped (``year.py``'s docstring says what is made, and how). Timing it is
``year.py``'s job.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import generate_leads as generator  # noqa: E402

from flask_funnel.db import daily_counts  # noqa: E402

BIN = Path(sys.executable).parent
DAY = 86400.0
STATE = "bench_year"
VISITS, VISITORS, STEPS = "funnel_visits", "funnel_visitors", "funnel_step_views"
CHUNK = 1_000_000  # anonymous views per transaction
MONTHS, DORMANCY_DAYS = 12, 30  # the leads' history (generate_leads.py)
BOTS, QUIZ, ONWARD = 0.04, 0.10, 0.75  # anonymous browsers: bots, start the quiz, go on
LOYAL = 5  # one browser in LOYAL gets most of the returns
RETURN_DAYS = 7  # mean time before a return, in days of new browsers
VARIANT_B = 0.47  # variant b converts better: it gets fewer who never sign up
PAGES = {
    slug: tomllib.loads((ROOT / "landing" / "pages" / f"{slug}.toml").read_text("utf-8"))
    for slug in ("home-brewing", "qahve-dam")
}
HOME = 0.85  # share of the browsers landing on the first page (as generate_leads.py)
CONTACT_STEP = {slug: len(page["questions"]) + 1 for slug, page in PAGES.items()}
VARIANTS = {slug: [v["id"] for v in page.get("variants", ())] for slug, page in PAGES.items()}


# --- what has been done, kept in the database ----------------------------------------


@dataclass(frozen=True)
class Plan:
    """The sizes a database was generated for, and the moment its year ends."""

    views: int
    visitors: int
    leads: int
    seed: int
    now: float

    @property
    def start(self) -> float:
        return self.now - 365 * DAY


class State:
    """What has been generated and measured so far: rows of ``bench_year``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with engine.begin() as connection:
            connection.exec_driver_sql(
                f"CREATE TABLE IF NOT EXISTS {STATE} (key text PRIMARY KEY, value text NOT NULL)"
            )
            rows = connection.exec_driver_sql(f"SELECT key, value FROM {STATE}")
            self.values = {key: json.loads(value) for key, value in rows}

    def get(self, key: str, default=None):
        return self.values.get(key, default)

    def set(self, connection, key: str, value) -> None:
        """Note ``value`` in the transaction of ``connection`` (with the work it records)."""
        connection.execute(
            text(
                f"INSERT INTO {STATE} (key, value) VALUES (:key, :value) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            {"key": key, "value": json.dumps(value)},
        )
        self.values[key] = value

    def save(self, key: str, value) -> None:
        with self.engine.begin() as connection:
            self.set(connection, key, value)

    def took(self, label: str, seconds: float) -> None:
        self.save("seconds", [*self.get("seconds", []), [label, round(seconds, 1)]])


# --- the database and its schema -------------------------------------------------------


def make_database(url: str, fresh: bool) -> None:
    """Create the database of ``url`` when missing (drop it first when ``fresh``)."""
    target = make_url(url)
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        exists = connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        )
        if exists and fresh:
            connection.exec_driver_sql(f'DROP DATABASE "{target.database}"')
            exists = False
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    server.dispose()


def migrate(url: str) -> float:
    """``flask db upgrade`` through the demo app, as a site owner runs it; its seconds."""
    started = time.monotonic()
    env = os.environ | {"SQLALCHEMY_DATABASE_URI": url, "FLASK_APP": "landing"}
    env["SECRET_KEY"] = secrets.token_hex(32)
    subprocess.run(
        [BIN / "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return time.monotonic() - started


def counts_off(connection) -> None:
    """The triggers of the daily counts, losses, visitors and steps dropped (the counts
    go stale)."""
    daily_counts.uninstall(connection)
    daily_counts.uninstall_losses(connection)
    daily_counts.uninstall_visitor_groups(connection)
    daily_counts.uninstall_step_counts(connection)


def counts_on(connection) -> int:
    """The triggers back, and everything counted again (``flask funnel recount``)."""
    return (
        daily_counts.install(connection)
        + daily_counts.install_losses(connection)
        + daily_counts.install_visitor_groups(connection)
        + daily_counts.install_step_counts(connection)
    )


def counts_installed(connection) -> bool:
    sources = (
        None,
        daily_counts.VISITOR_SOURCE,
        daily_counts.LOSS_SOURCE,
        daily_counts.VISITOR_GROUP_SOURCE,
    )
    kept = all(daily_counts.installed(connection, source) for source in sources)
    return kept and daily_counts.steps_installed(connection)


SECONDARY_INDEXES = """
SELECT c.conname, pg_get_constraintdef(c.oid), i.indexrelid::regclass::text,
       pg_get_indexdef(i.indexrelid)
FROM pg_index i
LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
    AND c.contype IN ('p', 'u')
WHERE i.indrelid = CAST(:table AS regclass)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
"""


def drop_indexes(connection, tables: tuple[str, ...]) -> list[str]:
    """Drop every index of ``tables`` but an ``id`` primary key (and any a foreign key
    needs); the statements that make them again, from their own definitions."""
    again = []
    for table in tables:
        for constraint, definition, index, index_definition in connection.execute(
            text(SECONDARY_INDEXES), {"table": table}
        ).all():
            if definition == "PRIMARY KEY (id)":
                continue
            if constraint:
                connection.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
                again.append(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} {definition}")
            else:
                connection.exec_driver_sql(f"DROP INDEX {index}")
                again.append(index_definition)
    return again


def database_size(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(text("SELECT pg_database_size(current_database())"))


def vacuum_analyze(engine: Engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


def bulk_session(connection) -> None:
    """Settings of this transaction only, for building and loading (nothing global)."""
    for setting in (
        "work_mem = '256MB'",
        "maintenance_work_mem = '1GB'",
        "synchronous_commit = off",
    ):
        connection.exec_driver_sql(f"SET LOCAL {setting}")


# --- the leads --------------------------------------------------------------------


LEAD_STEPS = """
INSERT INTO funnel_step_views (visitor_id, page_slug, step, at)
SELECT s.visitor_id, s.page_slug, n, s.created_at - (p.steps - n + 1) * interval '20 seconds'
FROM (SELECT DISTINCT ON (visitor_id, page_slug) visitor_id, page_slug, created_at
      FROM funnel_submissions WHERE visitor_id IS NOT NULL
      ORDER BY visitor_id, page_slug, created_at) AS s
JOIN (SELECT unnest(CAST(:slugs AS text[])) AS slug, unnest(CAST(:steps AS int[])) AS steps) AS p
  ON p.slug = s.page_slug
CROSS JOIN LATERAL generate_series(1, p.steps) AS n
"""


def load_leads(engine: Engine, state: State, plan: Plan) -> None:
    """Stage 2: the leads and all about them (generate_leads.py), and their quiz steps."""
    started = time.monotonic()
    with engine.begin() as connection:
        counts_off(connection)
    args = argparse.Namespace(
        leads=plan.leads, months=MONTHS, seed=plan.seed, dormancy_days=DORMANCY_DAYS
    )
    funnel = generator.Funnel(args, datetime.fromtimestamp(plan.now, UTC))
    print(f"generating {plan.leads:,} leads over {MONTHS} months (bench/generate_leads.py)")
    rows = generator.fill(engine, funnel, plan.leads, 10_000, started)
    with engine.begin() as connection:
        steps = connection.execute(
            text(LEAD_STEPS), {"slugs": list(CONTACT_STEP), "steps": list(CONTACT_STEP.values())}
        ).rowcount
    rows[STEPS] = steps
    elapsed = time.monotonic() - started
    state.save(
        "leads",
        {"rows": dict(rows), "visits": rows[VISITS], "visitors": rows[VISITORS]},
    )
    state.took(f"leads and all about them ({rows.total():,} rows)", elapsed)
    print(f"  {rows.total():,} rows in {elapsed:.0f} s; by stage: {dict(funnel.stages)}")


# --- the anonymous browsers and their views ---------------------------------------------


class Stream:
    """The anonymous views as one time-ordered stream: view ``k`` (1..``views``) at
    ``start + span * (sqrt(1 + 8 k / views) - 1) / 2`` (three times as dense at the end
    as at the start), ``ceil(k * visitors / views)`` browsers seen by then; view ``k`` is
    the first of browser ``i`` when that count grows, else a return of one seen before.
    A browser's attributes come from hashes of its number, the same on every view."""

    def __init__(self, plan: Plan, views: int, visitors: int) -> None:
        self.plan, self.views, self.visitors = plan, views, visitors

    def params(self, k0: int, k1: int) -> dict:
        sources = generator.SOURCES
        direct = sources.values.index(generator.DIRECT)
        params = {
            "k0": k0,
            "k1": k1,
            "w": self.views,
            "v": self.visitors,
            "start": self.plan.start,
            "span": self.plan.now - self.plan.start,
            "gap": self.visitors / 365 * RETURN_DAYS,
            "prefix": f"year{self.plan.seed}:",
            "salt": self.plan.seed * 100,
            "home": HOME,
            "bots": BOTS,
            "quiz": QUIZ,
            "onward": ONWARD,
            "loyal": LOYAL,
            "variant_b": VARIANT_B,
            "pages": list(PAGES),
            "variants": [",".join(VARIANTS[slug]) for slug in PAGES],
            "steps": [CONTACT_STEP[slug] for slug in PAGES],
            "direct": direct + 1,
            "device_cum": cumulative(generator.DEVICES),
            "devices": generator.DEVICES.values,
            "source_cum": cumulative(sources),
        }
        for n, name in enumerate(
            ("source", "referrer", "utm_source", "utm_medium", "utm_campaign")
        ):
            params[f"{name}s"] = [value[n] for value in sources.values]
        for p, slug in enumerate(PAGES, start=1):
            places = generator.PLACES[slug]
            params[f"place_cum{p}"] = cumulative(places)
            params[f"countries{p}"] = [country for country, _ in places.values]
            params[f"cities{p}"] = [city for _, city in places.values]
        return params


def cumulative(weighted: generator.Weighted) -> list[float]:
    """The inner bounds of a ``Weighted``'s buckets in [0, 1), for ``width_bucket``."""
    return [c / weighted.cum[-1] for c in weighted.cum[:-1]]


def _draw(j: str, n: int) -> str:
    """A uniform draw in [0, 1) fixed by browser ``j`` and ``n``."""
    return f"CAST(hashint8extended({j}, :salt + {n}) & 16777215 AS float8) / 16777216"


def _pick(values: str, bounds: str, draw: str) -> str:
    return f"(CAST(:{values} AS text[]))[width_bucket({draw}, CAST(:{bounds} AS float8[])) + 1]"


_PLACE = "CASE a.page_n WHEN 1 THEN {0} ELSE {1} END"
VIEWS = f"""
WITH v AS MATERIALIZED (
  SELECT k, at, first_view,
    CASE WHEN first_view THEN i
         WHEN random() < 1.0 / 3 THEN greatest(1, i - back)
         ELSE greatest(1, (i - back) / :loyal * :loyal)
    END AS j
  FROM (
    SELECT k, (k * :v + :w - 1) / :w AS i,
           (k * :v + :w - 1) / :w > ((k - 1) * :v + :w - 1) / :w AS first_view,
           to_timestamp(:start + :span * (sqrt(1 + 8 * CAST(k AS float8) / :w) - 1) / 2)
             AT TIME ZONE 'UTC' AS at,
           CAST(floor(-ln(1 - random()) * :gap) AS bigint) AS back
    FROM generate_series(CAST(:k0 AS bigint), CAST(:k1 AS bigint) - 1) AS k
  ) AS views
), a AS MATERIALIZED (
  SELECT v.*, md5(:prefix || v.j) AS visitor_id,
    CASE WHEN {_draw("v.j", 1)} < :home THEN 1 ELSE 2 END AS page_n,
    {_draw("v.j", 2)} < :bots AS bot,
    {_draw("v.j", 3)} AS device_draw,
    {_draw("v.j", 4)} AS place_draw,
    {_draw("v.j", 5)} AS variant_draw,
    CASE WHEN first_view THEN {_draw("v.j", 6)} ELSE random() END AS source_draw,
    {_draw("v.j", 7)} AS quiz_draw,
    hashint8extended(v.j, :salt + 8) AS h
  FROM v
), b AS MATERIALIZED (
  SELECT a.k, a.at, a.first_view, a.visitor_id, a.quiz_draw, a.bot,
    (CAST(:pages AS text[]))[a.page_n] AS page_slug,
    (CAST(:steps AS int[]))[a.page_n] AS steps,
    CASE WHEN a.bot THEN 'bot' ELSE {_pick("devices", "device_cum", "a.device_draw")} END
      AS device,
    CASE WHEN a.bot THEN :direct
         ELSE width_bucket(a.source_draw, CAST(:source_cum AS float8[])) + 1 END AS source_n,
    {_PLACE.format(*(_pick(f"countries{p}", f"place_cum{p}", "a.place_draw") for p in "12"))}
      AS country,
    {_PLACE.format(*(_pick(f"cities{p}", f"place_cum{p}", "a.place_draw") for p in "12"))}
      AS city,
    nullif(split_part((CAST(:variants AS text[]))[a.page_n], ',',
                      CASE WHEN a.variant_draw < :variant_b THEN 2 ELSE 1 END), '') AS variant,
    (11 + (a.h & 255) % 213) || '.' || ((a.h >> 8) & 255) || '.' || ((a.h >> 16) & 255)
      || '.0' AS ip
  FROM a
), new_visitors AS (
  INSERT INTO funnel_visitors (visitor_id, first_seen_at, page_slug, variant, source,
                               country, city, device, place_version, quarantined, lead_id)
  SELECT visitor_id, at, page_slug, variant, (CAST(:sources AS text[]))[source_n], country,
         city, device, NULL, FALSE, NULL
  FROM b WHERE first_view
), new_steps AS (
  INSERT INTO funnel_step_views (visitor_id, page_slug, step, at)
  SELECT visitor_id, page_slug, n, at + n * interval '25 seconds'
  FROM b CROSS JOIN LATERAL generate_series(1, b.steps) AS n
  WHERE first_view AND NOT bot AND quiz_draw < :quiz * power(:onward, n - 1)
)
INSERT INTO funnel_visits (visitor_id, lead_id, page_slug, at, referrer, source, utm_source,
                           utm_medium, utm_campaign, utm_term, utm_content, device, country,
                           city, ip, variant, place_version)
SELECT visitor_id, NULL, page_slug, at, (CAST(:referrers AS text[]))[source_n],
       (CAST(:sources AS text[]))[source_n], (CAST(:utm_sources AS text[]))[source_n],
       (CAST(:utm_mediums AS text[]))[source_n], (CAST(:utm_campaigns AS text[]))[source_n],
       NULL, NULL, device, country, city, ip, variant, NULL
FROM b
"""


def load_views(engine: Engine, state: State, stream: Stream, until: int) -> None:
    """Stage 3: anonymous views ``k`` up to ``until`` (and their browsers and steps),
    a chunk a transaction, the indexes of the three tables dropped meanwhile."""
    done = state.get("k", 0)
    started = time.monotonic()
    with engine.begin() as connection:
        if not state.get("dropped"):
            state.set(connection, "dropped", drop_indexes(connection, (VISITS, VISITORS, STEPS)))
        if counts_installed(connection):
            counts_off(connection)
    print(f"anonymous views {done + 1:,} to {until:,} of {stream.views:,}")
    while done < until:
        end = min(until, done + CHUNK)
        with engine.begin() as connection:
            bulk_session(connection)
            seed = (stream.plan.seed * 7919 + done) % 2_000_003 / 1_000_001.5 - 1
            connection.execute(text("SELECT setseed(:seed)"), {"seed": seed})
            connection.execute(text(VIEWS), stream.params(done + 1, end + 1))
            state.set(connection, "k", end)
        done = end
        elapsed = time.monotonic() - started
        print(f"  {done:>12,} views {elapsed:7.0f} s")
    state.took(f"anonymous views and browsers, to {until:,} views", elapsed)


def finish(engine: Engine, state: State, point: int) -> None:
    """Indexes built again, everything counted, ``VACUUM ANALYZE``: ready to measure."""
    if state.get("dropped"):
        started = time.monotonic()
        with engine.begin() as connection:
            bulk_session(connection)
            for statement in state.get("dropped"):
                connection.exec_driver_sql(statement)
            state.set(connection, "dropped", [])
        state.took(f"indexes of visits, visitors, steps at {point:,} views", since(started))
    with engine.connect() as connection:
        installed = counts_installed(connection)
    if not installed or state.get("counted") != point:
        started = time.monotonic()
        with engine.begin() as connection:
            bulk_session(connection)
            rows = counts_on(connection)
            state.set(connection, "counted", point)
        state.took(f"recount ({rows:,} daily rows) at {point:,} views", since(started))
    if state.get("vacuumed") != point:
        started = time.monotonic()
        vacuum_analyze(engine)
        state.save("vacuumed", point)
        state.took(f"VACUUM ANALYZE at {point:,} views", since(started))


def since(started: float) -> float:
    return time.monotonic() - started
