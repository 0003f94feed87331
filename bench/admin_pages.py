"""Server time of the admin dashboard, leads list and lead page on a large database.

Fill one with bench/generate_leads.py first, then:

    .venv/bin/python bench/admin_pages.py --database /tmp/funnel-1m.sqlite3
    .venv/bin/python bench/admin_pages.py --url postgresql+psycopg:///funnel_bench_1m

Each page is requested through the Flask app in-process (no network), a few times to
warm the caches, then ``--repeat`` times; the median and the worst are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_funnel.db.models import Lead  # noqa: E402
from landing import create_app, funnel  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--database", type=Path, help="an SQLite file")
    target.add_argument("--url", help="a SQLAlchemy URL (PostgreSQL, MariaDB)")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{args.database}"

    engine = create_engine(url)
    with engine.connect() as connection:
        leads = connection.scalar(select(func.count()).select_from(Lead))
        some_lead = connection.scalar(select(Lead.id).order_by(Lead.id.desc()).limit(1))
        some_email = connection.scalar(select(Lead.email).where(Lead.id == some_lead))
        a_country = connection.scalar(select(Lead.country).where(Lead.country.is_not(None)))
        a_name = connection.scalar(
            select(Lead.name).where(Lead.name.is_not(None), Lead.name.contains(" ")).limit(1)
        )
        if args.database:
            size = args.database.stat().st_size
        else:
            size = connection.scalar(text("SELECT pg_database_size(current_database())"))
    engine.dispose()

    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    funnel.authorize_admins(lambda: "bench")
    client = app.test_client()
    pages = {
        "dashboard (funnel, months, forecast)": "/p/admin/",
        "dashboard, breakdown by country": "/p/admin/?by=country",
        "leads list, first page": "/p/admin/leads",
        "leads list, page 2": None,  # filled from the first page's next link
        "leads list, stage = sql": "/p/admin/leads?stage=sql",
        "leads list, country + stage": f"/p/admin/leads?country={a_country}&stage=mql",
        "leads list, search by email": f"/p/admin/leads?q={some_email[:8]}",
        "leads list, search first name": f"/p/admin/leads?q={a_name.split()[0]}",
        "leads list, search full name": f"/p/admin/leads?q={a_name}",
        "leads list, date range": "/p/admin/leads?created_from=2026-01-01&created_to=2026-01-31",
        "lead page": f"/p/admin/leads/{some_lead}",
    }
    first = client.get(pages["leads list, first page"]).text
    after = first.split("after=", 1)[1].split('"', 1)[0].replace("&amp;", "&")
    pages["leads list, page 2"] = f"/p/admin/leads?after={after}"

    where = args.database or engine.url.render_as_string()
    print(f"{leads:,} leads in {where} ({size / 1e9:.2f} GB)")
    print(f"{'page':<38}{'median ms':>10}{'max ms':>9}")
    for name, url in pages.items():
        times = []
        for n in range(args.repeat + 3):
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            if n >= 3:
                times.append(elapsed)
        print(f"{name:<38}{statistics.median(times):>10.1f}{max(times):>9.1f}")


if __name__ == "__main__":
    main()
