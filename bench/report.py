"""Time of the funnel report (what the dashboard computes) on a large database, beside
the naive way of counting the same funnel from the stage history in one query.

Fill a database with bench/generate_leads.py first (or migrate an older one with
``flask db upgrade``), then:

    .venv/bin/python bench/report.py --database /tmp/funnel-1m.sqlite3
    .venv/bin/python bench/report.py --url postgresql+psycopg:///funnel_bench_1m

Each measurement runs a few times to warm the caches, then ``--repeat`` times; the
median and the worst are printed. The naive queries run ``--naive-repeat`` times. The
plan of every breakdown's lead query is printed too: on SQLite each should read the
cohort index alone (``USING COVERING INDEX ix_funnel_leads_cohort``), on PostgreSQL
with an index-only scan of it (run ``ANALYZE`` after a large load, and ``VACUUM`` so that
the visibility map lets the scan skip the table).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_funnel.analytics import forecast as forecast_module  # noqa: E402
from flask_funnel.analytics.calendars import CALENDARS  # noqa: E402
from flask_funnel.analytics.forecast import forecast  # noqa: E402
from flask_funnel.analytics.funnel import (  # noqa: E402
    BREAKDOWNS,
    breakdown,
    breakdown_query,
    build_report,
    funnel,
    monthly,
)
from flask_funnel.analytics.losses import durations, losses  # noqa: E402
from flask_funnel.analytics.periods import ReportSettings, months_until, parse_period  # noqa: E402
from flask_funnel.analytics.revenue import revenue  # noqa: E402
from flask_funnel.db.models import Lead, StageChange  # noqa: E402

# The same funnel counted the obvious way: every lead of the period joined to its
# stage history, its highest stage taken, then counted per highest stage. (Both naive
# queries are written to run on SQLite and PostgreSQL alike.)
NAIVE_FUNNEL = text("""
    SELECT top, count(*) FROM (
        SELECT l.id, max(CASE c.to_stage WHEN 'lead' THEN 1 WHEN 'mql' THEN 2 WHEN 'sal' THEN 3
                        WHEN 'sql' THEN 4 WHEN 'customer' THEN 5 WHEN 'repeat_customer' THEN 6
                        ELSE 0 END) AS top
        FROM funnel_leads l JOIN funnel_stage_changes c ON c.lead_id = l.id
        WHERE NOT l.quarantined AND l.created_at >= :start AND l.created_at < :end
        GROUP BY l.id
    ) AS tops GROUP BY top
""")
# ... and the month table: each lead's first arrival at each stage or a later one.
NAIVE_MONTHS = text("""
    SELECT stage, substr(CAST(first_at AS TEXT), 1, 7) AS month, count(*) FROM (
        SELECT s.stage, c.lead_id, min(c.at) AS first_at
        FROM (SELECT 'lead' AS stage, 1 AS r UNION ALL SELECT 'mql', 2 UNION ALL SELECT 'sal', 3
              UNION ALL SELECT 'sql', 4 UNION ALL SELECT 'customer', 5
              UNION ALL SELECT 'repeat_customer', 6) s
        JOIN funnel_stage_changes c ON (CASE c.to_stage WHEN 'lead' THEN 1 WHEN 'mql' THEN 2
             WHEN 'sal' THEN 3 WHEN 'sql' THEN 4 WHEN 'customer' THEN 5
             WHEN 'repeat_customer' THEN 6 ELSE 0 END) >= s.r
        JOIN funnel_leads l ON l.id = c.lead_id AND NOT l.quarantined
        GROUP BY s.stage, c.lead_id
    ) AS firsts WHERE first_at >= :start GROUP BY stage, month
""")


class Explain(Executable, ClauseElement):
    """The database's plan of a query (its parameters bound as the query's own)."""

    inherit_cache = False

    def __init__(self, query) -> None:
        self.query = query


@compiles(Explain)
def _explain(element: Explain, compiler, **kw) -> str:
    verb = "EXPLAIN QUERY PLAN" if compiler.dialect.name == "sqlite" else "EXPLAIN"
    return f"{verb} {compiler.process(element.query, **kw)}"


def forecast_anew(connection, settings):
    """The forecast as the first one of a day, or after a change to old history: what
    the history taught is forgotten first (see ``forecast._history_lessons``)."""
    forecast_module._LESSONS.clear()
    return forecast(connection, settings)


def timed(run, repeat: int, warm: int = 3) -> tuple[float, float]:
    """Median and worst ms of ``repeat`` runs after ``warm`` ones (3 runs after 1 when
    a run takes seconds: such a figure is far from any target anyway)."""
    for _ in range(warm):
        started = time.perf_counter()
        run()
        if time.perf_counter() - started > 2:
            repeat = min(repeat, 3)
            break
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def plan(connection, by: str, period) -> list[str]:
    """The database's plan of the breakdown's lead query, one step a line."""
    rows = connection.execute(Explain(breakdown_query(by, period)))
    return [row[-1].strip() for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--database", type=Path, help="an SQLite file")
    target.add_argument("--url", help="a SQLAlchemy URL (PostgreSQL, MariaDB)")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--naive-repeat", type=int, default=3)
    parser.add_argument("--by", default="country")
    parser.add_argument("--calendar", choices=list(CALENDARS), default="gregorian")
    args = parser.parse_args()

    engine = create_engine(args.url or f"sqlite:///{args.database}")
    settings = ReportSettings(zone=ZoneInfo("UTC"), calendar=CALENDARS[args.calendar])
    period = parse_period(None, None, settings.zone)
    year = parse_period(
        (period.last.replace(year=period.last.year - 1)).isoformat(), None, settings.zone
    )
    months = months_until(period.last, settings.months, settings.zone, calendar=settings.calendar)
    with engine.connect() as connection:
        leads = connection.scalar(select(func.count()).select_from(Lead))
        changes = connection.scalar(select(func.count()).select_from(StageChange))
        where = args.database or engine.url.render_as_string()
        print(f"{where}: {leads:,} leads, {changes:,} stage changes")
        print(f"period {period.first} to {period.last}; median and worst of {args.repeat} runs")
        print(f"months of the {args.calendar} calendar, {months[0].key} to {months[-1].key}")

        def dashboard():
            return {
                **funnel(connection, period),
                "months": monthly(connection, months),
                "breakdown": breakdown(connection, period, args.by, settings.min_group),
            }

        rows = [
            ("funnel, last 30 days", lambda: funnel(connection, period)),
            (
                "bounds of 24 months (no query)",
                lambda: months_until(
                    period.last, settings.months, settings.zone, calendar=settings.calendar
                ),
            ),
            ("24-month table", lambda: monthly(connection, months)),
            (f"breakdown by {args.by}", lambda: breakdown(connection, period, args.by, 10)),
            (
                "breakdown by signup_method",
                lambda: breakdown(connection, period, "signup_method", 10),
            ),
            ("forecast", lambda: forecast(connection, settings)),
            (
                "forecast, learning from the history anew",
                lambda: forecast_anew(connection, settings),
            ),
            ("dashboard: funnel + 24 months + breakdown", dashboard),
            ("... the same as JSON", lambda: json.dumps(dashboard())),
            (
                "JSON report (all of it, forecast included)",
                lambda: json.dumps(build_report(connection, period, settings, by=args.by)),
            ),
            ("funnel, last 365 days", lambda: funnel(connection, year)),
            ("lost leads by reason, stage and month", lambda: losses(connection, period, months)),
            ("time from each stage to the next", lambda: durations(connection, period)),
            (
                "revenue, lead value and retention (breakdown included)",
                lambda: revenue(
                    connection,
                    period,
                    months,
                    args.by,
                    breakdown(connection, period, args.by, settings.min_group),
                ),
            ),
        ]
        for label, run in rows:
            median, worst = timed(run, args.repeat)
            print(f"  {label:<46} median {median:8.1f} ms   worst {worst:8.1f} ms")

        for by in BREAKDOWNS:
            print(f"  plan of breakdown by {by:<14}", "; ".join(plan(connection, by, period)))

        bounds = {
            "start": period.start.replace(tzinfo=None),
            "end": period.end.replace(tzinfo=None),
        }
        naive = [
            ("naive funnel from stage history, 30 days", NAIVE_FUNNEL, bounds),
            (
                "naive 24-month table from stage history",
                NAIVE_MONTHS,
                {"start": months[0].start.strftime("%Y-%m-%d")},
            ),
        ]
        # Both ways must give the same funnel.
        tops = dict(connection.execute(NAIVE_FUNNEL, bounds).all())
        naive_counts = [sum(n for top, n in tops.items() if top >= rank) for rank in range(1, 7)]
        indexed = [row["reached"] for row in funnel(connection, period)["stages"]]
        agree = "agree" if naive_counts == indexed else f"DISAGREE: {naive_counts} != {indexed}"
        print(f"  naive and indexed funnel {agree}: {indexed}")
        for label, query, params in naive:
            median, worst = timed(
                lambda q=query, p=params: connection.execute(q, p).all(), args.naive_repeat, warm=1
            )
            print(f"  {label:<46} median {median:8.1f} ms   worst {worst:8.1f} ms")


if __name__ == "__main__":
    main()
