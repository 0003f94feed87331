"""Backtest of the dashboard's forecast of new customers: the history is split at a
date, the forecast made at that date (from what was known then) is set against the
customers that came in the 30, 60 and 90 days after it, and the error printed.

Fill a database with bench/generate_leads.py first (a smaller one is enough: its
conversion rates are the same), then:

    .venv/bin/python bench/generate_leads.py --database /tmp/funnel-100k.sqlite3 --leads 100000
    .venv/bin/python bench/forecast_backtest.py --database /tmp/funnel-100k.sqlite3
    .venv/bin/python bench/forecast_backtest.py --url postgresql+psycopg:///funnel_bench_1m

What was known at the split: the shares are learnt from leads that reached a stage
before it (``forecast`` already looks only there); the open leads are read from the
stage history as it stood (each lead's last stage change before the split, if it came
within the active days), not from the leads' stages today.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, false, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_funnel.analytics.forecast import OPEN_STAGES, age_groups, forecast  # noqa: E402
from flask_funnel.analytics.periods import ReportSettings  # noqa: E402
from flask_funnel.db.models import Lead, StageChange  # noqa: E402

_leads, _changes = Lead.__table__, StageChange.__table__


def open_leads_at(connection, when: datetime, settings: ReportSettings) -> dict:
    """The real leads whose last stage change before ``when`` took them to an open
    stage within the ``active_days`` before it, per age group: the forecast's open
    leads, back then."""
    last = (
        select(
            _changes.c.lead_id,
            _changes.c.to_stage,
            _changes.c.at,
            func.row_number()
            .over(
                partition_by=_changes.c.lead_id,
                order_by=(_changes.c.at.desc(), _changes.c.id.desc()),
            )
            .label("newest"),
        )
        .where(_changes.c.at >= when - timedelta(days=settings.active_days), _changes.c.at < when)
        .subquery()
    )
    groups = age_groups(settings.active_days)
    opened = {stage: [0] * len(groups) for stage in OPEN_STAGES}
    rows = connection.execute(
        select(last.c.to_stage, last.c.at)
        .join(_leads, _leads.c.id == last.c.lead_id)
        .where(
            last.c.newest == 1, last.c.to_stage.in_(OPEN_STAGES), _leads.c.quarantined == false()
        )
    )
    for stage, at in rows:
        waited = (when - (at.replace(tzinfo=UTC) if at.tzinfo is None else at)).days
        group = next(g for g, (_, oldest) in enumerate(groups) if waited < oldest)
        opened[stage][group] += 1
    return opened


def customers_between(connection, start: datetime, end: datetime) -> int:
    """Real leads that became customers (for the first time) in ``[start, end)``."""
    reached = _leads.c.reached_customer_at
    return connection.execute(
        select(func.count()).where(_leads.c.quarantined == false(), reached >= start, reached < end)
    ).scalar()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--database", type=Path, help="an SQLite file")
    target.add_argument("--url", help="a SQLAlchemy URL (PostgreSQL, MariaDB)")
    parser.add_argument("--splits", type=int, default=6, help="split dates, 60 days apart")
    args = parser.parse_args()

    engine = create_engine(args.url or f"sqlite:///{args.database}")
    settings = ReportSettings(ZoneInfo("UTC"))
    with engine.connect() as connection:
        newest = connection.execute(select(func.max(_leads.c.created_at))).scalar()
        end = newest.replace(tzinfo=UTC) if newest.tzinfo is None else newest
        errors: dict[int, list[float]] = {}
        inside: dict[int, list[bool]] = {}
        print(f"{'split':<12}{'days':>6}{'forecast':>10}{'80% range':>16}{'actual':>8}{'error':>9}")
        for n in range(args.splits):
            when = end - timedelta(days=90 + 60 * n)
            opened = open_leads_at(connection, when, settings)
            made = forecast(connection, settings, when, open_leads=opened)
            for horizon in made["horizons"]:
                days = horizon["days"]
                actual = customers_between(connection, when, when + timedelta(days=days))
                if horizon["customers"] is None:
                    print(f"{when.date()!s:<12}{days:>6}  not enough history yet")
                    continue
                error = (horizon["customers"] - actual) / actual if actual else float("nan")
                within = horizon["low"] <= actual <= horizon["high"]
                errors.setdefault(days, []).append(abs(error))
                inside.setdefault(days, []).append(within)
                span = f"{horizon['low']:,}-{horizon['high']:,}"
                print(
                    f"{when.date()!s:<12}{days:>6}{horizon['customers']:>10,.1f}{span:>16}"
                    f"{actual:>8,}{error:>+9.1%}{'' if within else '  outside'}"
                )
        print()
        for days in sorted(errors):
            print(
                f"next {days} days: mean absolute error {statistics.mean(errors[days]):.1%}, "
                f"actual inside the 80% range {sum(inside[days])} of {len(inside[days])}"
            )


if __name__ == "__main__":
    main()
