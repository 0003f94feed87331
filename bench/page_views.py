"""Page views at 50 million a year on PostgreSQL: the fold, the report's count and the
deletion of old views (``capture/view_retention.py``, ``analytics/page_views.py``).

    createdb funnel_views
    .venv/bin/python bench/page_views.py --url postgresql+psycopg:///funnel_views

The database must be empty; the real migrations build its schema. It stores
``--per-day`` views (137,000: 50 million a year) for ``--days`` days ending now, in
time order, over 3 pages, 2 variants, a place version, 10 sources, 4 devices (3% bots)
and 20 countries (skewed, as traffic is), then times:

- the last 30 days' page views counted from the raw rows (nothing folded yet);
- the first fold of them all;
- with a year of daily counts (the folded days copied further back) and one more day
  of views not folded: the page views of the last 30 days, of a year, and per page and
  per source (best of three each);
- the fold of that day, and the deletion of the views older than half of ``--days``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade

from flask_funnel.analytics import page_views
from flask_funnel.analytics.periods import Period
from flask_funnel.capture.view_retention import delete_old_views, fold_views
from landing import MIGRATIONS_DIR, create_app, funnel

UTC_ZONE = ZoneInfo("UTC")
FILL = """
INSERT INTO funnel_visits (visitor_id, page_slug, at, source, device, country, city, ip,
                           variant, place_version)
SELECT md5((g % 3000000)::text),
  (ARRAY['home-brewing', 'espresso', 'qahve-dam'])[1 + (g % 7 = 0)::int + (g % 11 = 0)::int],
  CAST(:start AS timestamp) + g * :step * interval '1 second',
  (ARRAY['direct', 'google', 'newsletter', 'instagram', 'facebook', 'bing', 'duckduckgo',
         't.co', 'reddit', 'youtube'])[1 + floor(10 * random() ^ 3)::int],
  CASE WHEN random() < 0.03 THEN 'bot' WHEN random() < 0.6 THEN 'mobile'
       WHEN random() < 0.9 THEN 'desktop' ELSE 'tablet' END,
  (ARRAY['DE', 'US', 'IR', 'GB', 'FR', 'NL', 'IT', 'ES', 'PL', 'SE', 'AT', 'CH', 'BE', 'DK',
         'NO', 'FI', 'IE', 'PT', 'CZ', 'TR'])[1 + floor(20 * random() ^ 3)::int],
  'City', '203.0.113.0', (ARRAY['a', 'b', NULL])[1 + g % 3],
  CASE WHEN g % 13 = 0 THEN 'germany' END
FROM generate_series(1, :count) AS g
"""


def timed(label: str, work):
    start = time.perf_counter()
    result = work()
    print(f"{label}: {(time.perf_counter() - start) * 1000:,.0f} ms ({result})", flush=True)
    return result


def best(label: str, work, runs: int = 3) -> None:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - start) * 1000)
    print(f"{label}: best {min(times):,.0f} ms of {runs} ({result:,} views)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--per-day", type=int, default=137_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": args.url})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
        funnel.db.engine.dispose()
    engine = create_engine(args.url)
    if engine.dialect.name != "postgresql":
        raise SystemExit("--url: a PostgreSQL database")
    now = datetime.now(UTC).replace(microsecond=0)

    def fill(count: int, start: datetime, seconds: float) -> int:
        with engine.begin() as connection:
            naive = start.replace(tzinfo=None)
            values = {"start": naive, "step": seconds / count, "count": count}
            return connection.execute(text(FILL), values).rowcount

    def vacuum() -> None:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))

    def count(period: Period, columns: tuple[str, ...] = ()) -> int:
        with engine.connect() as connection:
            return sum(page_views.count(connection, period, columns).values())

    days = args.days
    stored = timed(
        f"store {args.per_day * days:,} views over {days} days",
        lambda: fill(args.per_day * days, now - timedelta(days=days), days * 86400),
    )
    vacuum()
    today = now.date()
    month = Period(today - timedelta(days=29), today, UTC_ZONE)
    year = Period(today - timedelta(days=364), today, UTC_ZONE)
    best("30 days, counted from the raw views", lambda: count(month), runs=1)
    timed(f"first fold of {stored:,} views", lambda: fold_views(engine, UTC_ZONE))
    with engine.begin() as connection:  # a year of daily counts
        for k in range(1, 365 // (days + 1) + 1):
            connection.execute(
                text(
                    "INSERT INTO funnel_daily_views SELECT day - :shift, page_slug, variant,"
                    " place_version, source, device, country, views FROM funnel_daily_views"
                    " WHERE day > CAST(:today AS date) - :span"
                ),
                {"shift": (days + 1) * k, "today": today, "span": days + 1},
            )
    timed("another day of views", lambda: fill(args.per_day, now - timedelta(hours=23), 82800))
    vacuum()
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT count(*) FROM funnel_daily_views")).scalar()
    print(f"daily counts: {rows:,} rows", flush=True)
    best("30 days", lambda: count(month))
    best("365 days", lambda: count(year))
    best("30 days per page", lambda: count(month, ("page_slug",)))
    best("30 days per source", lambda: count(month, ("source",)))
    timed("fold of the day", lambda: fold_views(engine, UTC_ZONE))
    timed(
        f"delete the views older than {days // 2} days",
        lambda: delete_old_views(engine, days // 2),
    )
    engine.dispose()


if __name__ == "__main__":
    main()
