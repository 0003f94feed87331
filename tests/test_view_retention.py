"""Raw page views folded into daily counts, then deleted after the retention: the report
is the same before the fold, after it and after the deletion, in any time zone; a
fold counts each view once, late views included; bots are never counted."""

from __future__ import annotations

import csv
import io
import random
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import DATABASE, make_app, sign_up
from sqlalchemy import delete, func, insert, select

from flask_funnel.analytics import page_views
from flask_funnel.analytics.csv_format import report_csv
from flask_funnel.analytics.funnel import build_report
from flask_funnel.analytics.periods import Period
from flask_funnel.analytics.text_format import report_text
from flask_funnel.capture import view_retention
from flask_funnel.capture.view_retention import delete_old_views, fold_views, watermark
from flask_funnel.capture.visits import record_visits
from flask_funnel.db.models import DailyView, Fold, Lead, Visit
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.leads import stages
from flask_funnel.settings import SettingsError

NOW = datetime.now(UTC).replace(microsecond=0)
PAGES = ("home-brewing", "espresso")
#: (page, variant, place version) of the views: A/B variants, a place version, neither.
VERSIONS = [
    ("home-brewing", "a", None),
    ("home-brewing", "b", None),
    ("home-brewing", None, "germany"),
    ("espresso", None, None),
]
SOURCES = ("direct", "google", "newsletter")
DEVICES = ("mobile", "desktop", "tablet", "bot")
COUNTRIES = ("DE", "IR", None)


def view(at: datetime, visitor: str, **values) -> dict:
    """The ``record_visits`` parameters of one page view at ``at``."""
    row = {
        "known_visitor": visitor,
        "visitor_id": visitor,
        "page_slug": "home-brewing",
        "variant": None,
        "place_version": None,
        "at": at,
        "referrer": None,
        "source": "direct",
        "device": "mobile",
        "country": None,
        "city": None,
        "ip": "203.0.113.0",
        "utm_source": None,
        "utm_medium": None,
        "utm_campaign": None,
        "utm_term": None,
        "utm_content": None,
    }
    return row | values


def store(app, rows: list[dict]) -> None:
    with writing(app.extensions["funnel"].engine) as connection:
        record_visits(connection, rows)


def history(seed: int = 7, count: int = 600) -> list[dict]:
    """``count`` page views over the last 130 days by 150 browsers, of every page
    version, source, device (bots too) and country; some at minutes either side of
    midnight in UTC and in Tehran (20:30 UTC), where a day's bounds are tested."""
    chance = random.Random(seed)
    rows = []
    for n in range(count):
        days_ago = chance.randrange(0, 130)
        if n % 5 == 0:  # beside a midnight: UTC's, or Tehran's (UTC+3:30)
            midnight = datetime.combine(NOW.date(), datetime.min.time(), UTC)
            edge = midnight + timedelta(hours=chance.choice([0, 20.5]))
            at = edge - timedelta(days=days_ago, minutes=chance.choice([-1, 1]))
        else:
            at = NOW - timedelta(days=days_ago, seconds=chance.randrange(86_400))
        page, variant, version = chance.choice(VERSIONS)
        country = chance.choice(COUNTRIES)
        rows.append(
            view(
                min(at, NOW - timedelta(seconds=1)),
                f"{chance.randrange(150):032x}",
                page_slug=page,
                variant=variant,
                place_version=version,
                source=chance.choice(SOURCES),
                device=chance.choice(DEVICES),
                country=country,
                city="Tehran" if country == "IR" else None,
            )
        )
    # Stored in a shuffled order, so that ids are not in time order (late views).
    chance.shuffle(rows)
    return rows


def add_leads(app) -> None:
    """A lead on each page version, so that the breakdowns have groups of leads too."""
    with writing(app.extensions["funnel"].engine) as connection:
        for n, (page, variant, version) in enumerate(VERSIONS):
            at = NOW - timedelta(days=3 * n + 1)
            connection.execute(
                insert(Lead.__table__),
                {
                    "email": f"lead{n}@example.com",
                    "stage": stages.LEAD,
                    "stage_changed_at": at,
                    "created_at": at,
                    "updated_at": at,
                    "quarantined": False,
                    "landing_page": page,
                    "variant": variant,
                    "place_version": version,
                    "country": COUNTRIES[n % 3],
                    "source": SOURCES[n % 3],
                },
            )


def periods(zone: ZoneInfo) -> list[Period]:
    today = NOW.astimezone(zone).date()
    return [
        Period(today - timedelta(days=6), today, zone),
        Period(today - timedelta(days=29), today, zone),
        Period(today - timedelta(days=129), today, zone),
        Period(today - timedelta(days=110), today - timedelta(days=95), zone),  # deleted
        Period(today - timedelta(days=91), today - timedelta(days=88), zone),  # the edge
        Period(today - timedelta(days=1), today - timedelta(days=1), zone),
    ]


BREAKDOWNS = (None, "landing_page", "variant", "place_version", "country", "source", "city")


def reports(app) -> list[tuple[dict, str]]:
    """The whole report and its CSV for each period, and with each breakdown for the
    last 30 days and for days whose views are deleted (no group folded into "other":
    every page's views are shown)."""
    state = app.extensions["funnel"]
    settings = replace(state.settings.report, min_group=0)
    found = []
    with state.engine.connect() as connection:
        for n, period in enumerate(periods(settings.zone)):
            for by in BREAKDOWNS if n in (1, 3) else BREAKDOWNS[:1]:
                report = build_report(connection, period, settings, by=by, now=NOW)
                found.append((report, report_csv(report)))
    return found


def report_of(app, period: Period, by: str | None = None) -> dict:
    state = app.extensions["funnel"]
    settings = replace(state.settings.report, min_group=0)
    with state.engine.connect() as connection:
        return build_report(connection, period, settings, by=by, now=NOW)


def counted(rows: list[dict], period: Period) -> int:
    """The views of ``period`` a person would count: every one but the bots'."""
    return sum(1 for r in rows if r["device"] != "bot" and period.start <= r["at"] < period.end)


def raw_views(app) -> list:
    with app.extensions["funnel"].engine.connect() as connection:
        return connection.execute(select(Visit.id, Visit.at).order_by(Visit.id)).all()


def daily_views(app) -> dict[tuple, int]:
    with app.extensions["funnel"].engine.connect() as connection:
        rows = connection.execute(select(DailyView)).all()
    return {tuple(row)[:-1]: row.views for row in rows}


def fold(app, **options) -> view_retention.Folded:
    state = app.extensions["funnel"]
    return fold_views(state.engine, state.settings.report.zone, **options)


@pytest.fixture(params=["UTC", "Asia/Tehran"])
def site(request, tmp_path):
    """The demo app counting days in ``zone``, with 600 views and a few leads."""
    app = make_app(tmp_path, FUNNEL_REPORT_TIMEZONE=request.param)
    rows = history()
    store(app, rows)
    add_leads(app)
    yield app, rows


def test_the_report_is_the_same_before_and_after_the_fold_and_the_deletion(site):
    app, rows = site
    before = reports(app)
    zone = app.extensions["funnel"].settings.report.zone
    for period in periods(zone):
        assert report_of(app, period)["page_views"] == counted(rows, period) > 0
    month = periods(zone)[1]
    by_page = report_of(app, month, "landing_page")["breakdown"]["groups"]
    assert {g["label"]: g["page_views"] for g in by_page} == {
        page: counted([r for r in rows if r["page_slug"] == page], month) for page in PAGES
    }

    folded = fold(app, batch=97)  # several batches, some spanning many days
    assert folded.views == len([r for r in rows if r["device"] != "bot"])
    assert folded.bots == len(rows) - folded.views
    assert sum(daily_views(app).values()) == folded.views
    with app.extensions["funnel"].engine.connect() as connection:
        assert watermark(connection) == max(i for i, _ in raw_views(app))
    assert reports(app) == before

    deleted = delete_old_views(app.extensions["funnel"].engine, 90, now=NOW, batch=50)
    cutoff = NOW - timedelta(days=90)
    assert deleted == len([r for r in rows if r["at"] < cutoff]) > 50
    assert min(at for _, at in raw_views(app)) >= cutoff
    assert len(raw_views(app)) == len(rows) - deleted
    assert reports(app) == before


def test_a_second_fold_changes_nothing(site):
    app, _ = site
    fold(app)
    counts = daily_views(app)
    report = reports(app)
    assert fold(app) == view_retention.Folded(views=0, days=0, bots=0)
    assert daily_views(app) == counts
    assert reports(app) == report


def test_a_fold_between_reading_the_watermark_and_counting_counts_nothing_twice(site, monkeypatch):
    """The report reads the watermark, then counts with it written into the SQL: a fold
    committing in between leaves that number behind, and the count is still exact."""
    app, rows = site
    zone = app.extensions["funnel"].settings.report.zone
    month = periods(zone)[1]
    expected = report_of(app, month, "landing_page")
    read = page_views.watermark

    def fold_after_reading(connection):
        value = read(connection)
        fold(app)  # another process folds every view, then the report's statement runs
        return value

    monkeypatch.setattr(page_views, "watermark", fold_after_reading)
    assert report_of(app, month, "landing_page") == expected
    assert expected["page_views"] == counted(rows, month)


def test_a_late_view_is_counted_once_in_its_own_day(site):
    app, _ = site
    zone = app.extensions["funnel"].settings.report.zone
    fold(app)
    late_at = NOW - timedelta(days=20)
    day = late_at.astimezone(zone).date()
    period = Period(day, day, zone)
    state = app.extensions["funnel"]

    def views() -> int:
        with state.engine.connect() as connection:
            return build_report(connection, period, state.settings.report, now=NOW)["page_views"]

    before = views()
    # The visit buffer held it while the database was away: stored now, with an old time.
    store(app, [view(late_at, "f" * 32, page_slug="espresso", country="DE")])
    assert views() == before + 1  # counted from its row, above the watermark
    key = (day, "espresso", "", "", "direct", "mobile", "DE")
    counts = daily_views(app)
    assert fold(app) == view_retention.Folded(views=1, days=1, bots=0)
    assert daily_views(app)[key] == counts.get(key, 0) + 1
    assert views() == before + 1
    fold(app)
    assert views() == before + 1


def test_bots_views_are_never_counted(tmp_path):
    app = make_app(tmp_path)
    at = NOW - timedelta(hours=1)
    store(app, [view(at, "a" * 32), view(at, "b" * 32, device="bot"), view(at, "a" * 32)])
    state = app.extensions["funnel"]
    today = Period(at.date(), at.date(), ZoneInfo("UTC"))

    def views() -> int:
        with state.engine.connect() as connection:
            return build_report(connection, today, state.settings.report)["page_views"]

    assert views() == 2
    assert fold(app) == view_retention.Folded(views=2, days=1, bots=1)
    assert [count for key, count in daily_views(app).items()] == [2]
    assert "bot" not in {key[5] for key in daily_views(app)}
    assert views() == 2


def test_old_views_go_newer_stay_and_the_lead_page_still_shows(tmp_path, sign_in_admin):
    app = make_app(tmp_path, FUNNEL_VISIT_RETENTION_DAYS=30)
    lead_id = sign_up(app, "ann@example.com")
    visitor = "c" * 32
    times = [NOW - timedelta(days=d) for d in (45, 31, 29, 2)]
    store(app, [view(at, visitor, source=f"ref{n}.example") for n, at in enumerate(times)])
    with writing(app.extensions["funnel"].engine) as connection:  # linked as a capture does
        connection.execute(Visit.__table__.update().values(lead_id=lead_id))
    result = app.test_cli_runner().invoke(args=["funnel", "fold-views"])
    assert result.exit_code == 0, result.output
    kept = raw_views(app)
    assert sorted(at for _, at in kept) == sorted(times[2:])
    page = sign_in_admin(app.test_client()).get(f"/p/admin/leads/{lead_id}")
    assert page.status_code == 200
    assert "ref3.example" in page.text and "ref2.example" in page.text
    assert "ref1.example" not in page.text and "ref0.example" not in page.text


def test_the_command_says_what_it_folded_and_deleted(tmp_path):
    app = make_app(tmp_path)
    day = NOW - timedelta(days=100)
    store(
        app,
        [view(day, "a" * 32), view(day, "b" * 32, device="bot")]
        + [view(NOW - timedelta(days=d), "a" * 32) for d in (1, 2, 2)],
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["funnel", "fold-views"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Folded 4 page views of 3 days into the daily counts (1 view by bots not counted).",
        "Deleted 2 page views older than 90 days.",
    ]
    again = runner.invoke(args=["funnel", "fold-views"]).output
    assert again.splitlines() == [
        "Folded 0 page views of 0 days into the daily counts.",
        "Deleted 0 page views older than 90 days.",
    ]


def test_with_no_retention_the_views_are_folded_and_kept(tmp_path):
    app = make_app(tmp_path, FUNNEL_VISIT_RETENTION_DAYS=None)
    store(app, [view(NOW - timedelta(days=400), "a" * 32)])
    result = app.test_cli_runner().invoke(args=["funnel", "fold-views"])
    assert result.output.splitlines() == [
        "Folded 1 page view of 1 day into the daily counts.",
        "Raw page views are kept: FUNNEL_VISIT_RETENTION_DAYS is None.",
    ]
    assert len(raw_views(app)) == 1


@pytest.mark.parametrize(("value", "kept"), [(90, 90), ("30", 30), (None, None), (1, 1)])
def test_the_retention_is_a_number_of_days_or_none(tmp_path, value, kept):
    app = make_app(tmp_path, FUNNEL_VISIT_RETENTION_DAYS=value)
    assert app.extensions["funnel"].settings.visit_retention_days == kept


@pytest.mark.parametrize("value", [0, -5, "ninety", 1.5, True, "", [90]])
def test_a_bad_retention_stops_the_app_and_names_the_key(tmp_path, value):
    with pytest.raises(SettingsError, match=r"^FUNNEL_VISIT_RETENTION_DAYS: must be a whole"):
        make_app(tmp_path, FUNNEL_VISIT_RETENTION_DAYS=value)


def test_the_text_report_shows_the_page_views(site):
    app, rows = site
    month = periods(app.extensions["funnel"].settings.report.zone)[1]
    report = report_of(app, month, "landing_page")
    text = "\n".join(report_text(report))
    assert f"page views {counted(rows, month):,}; visitors " in text
    espresso = counted([r for r in rows if r["page_slug"] == "espresso"], month)
    assert f" espresso  page views {espresso:,}, visitors" in text


def test_folds_at_once_count_every_view_once(site):
    app, rows = site
    errors = []

    def run():
        try:
            fold(app, batch=31)
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(daily_views(app).values()) == len([r for r in rows if r["device"] != "bot"])


@pytest.mark.skipif(DATABASE == "sqlite", reason="SQLite has one writer: no view is in flight")
def test_a_view_still_being_written_is_waited_for(tmp_path):
    """A view with a lower id committed after one with a higher id: the fold waits for
    it rather than move its watermark past it (it would never be counted)."""
    app = make_app(tmp_path)
    state = app.extensions["funnel"]
    slow = state.engine.connect()
    in_flight = slow.begin()
    record_visits(slow, [view(NOW - timedelta(minutes=5), "a" * 32)])  # id 1, not committed
    # id 2, committed (first seen on another day: its visitor's count is not waiting)
    store(app, [view(NOW - timedelta(days=2), "b" * 32)])
    done = []
    folding = threading.Thread(target=lambda: done.append(fold(app)))
    folding.start()
    time.sleep(1)
    assert done == []  # waiting for the view in flight
    in_flight.commit()
    slow.close()
    folding.join(timeout=30)
    assert done == [view_retention.Folded(views=2, days=2, bots=0)]


@pytest.mark.skipif(DATABASE == "sqlite", reason="SQLite has one writer: no view is in flight")
def test_a_fold_that_cannot_wait_any_longer_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(view_retention, "LOCK_SECONDS", 1)
    monkeypatch.setattr(view_retention, "LOCK_ATTEMPTS", 2)
    app = make_app(tmp_path)
    state = app.extensions["funnel"]
    with state.engine.connect() as slow:
        record_visits(slow, [view(NOW, "a" * 32)])
        result = app.test_cli_runner().invoke(args=["funnel", "fold-views"])
        slow.rollback()
    assert result.exit_code == 1
    assert "stayed locked by other transactions (2 waits of 1 s); nothing was folded" in (
        result.output
    )
    assert daily_views(app) == {}
    # ... and the database's own limit was given back.
    store(app, [view(NOW, "b" * 32)])
    assert fold(app) == view_retention.Folded(views=1, days=1, bots=0)


def test_an_id_is_never_handed_out_again(tmp_path):
    """The watermark relies on it: a deleted newest view's id must not come back."""
    app = make_app(tmp_path)
    store(app, [view(NOW, "a" * 32), view(NOW, "b" * 32)])
    fold(app)
    engine = app.extensions["funnel"].engine
    with writing(engine) as connection:
        connection.execute(delete(Visit.__table__))
    store(app, [view(NOW, "c" * 32)])
    ((newest, _),) = raw_views(app)
    assert newest == 3
    assert fold(app) == view_retention.Folded(views=1, days=1, bots=0)


def test_the_fold_keeps_its_place_in_one_row(tmp_path):
    app = make_app(tmp_path)
    store(app, [view(NOW, "a" * 32)])
    fold(app)
    engine = app.extensions["funnel"].engine
    with engine.connect() as connection:
        (row,) = connection.execute(select(Fold.name, Fold.last_id, Fold.zone)).all()
        assert tuple(row) == ("views", 1, "UTC")
        assert connection.execute(select(func.count()).select_from(DailyView)).scalar() == 1


def test_the_dashboard_and_its_csv_show_the_page_views(tmp_path, sign_in_admin):
    app = make_app(tmp_path)
    at = NOW - timedelta(hours=2)
    store(
        app,
        [view(at, f"{n:032x}", page_slug="espresso") for n in range(1234)]
        + [view(at, "b" * 32, device="bot")],
    )
    fold(app)
    store(app, [view(NOW - timedelta(hours=1), "c" * 32)])  # not folded yet
    client = sign_in_admin(app.test_client())
    page = client.get("/p/admin/?by=landing_page").text
    assert '<p class="card-label">Page views</p><p class="card-value">1,235</p>' in page
    # Pages without leads are folded into "other": its row holds their views.
    other = page[page.index("(2 groups)") :]
    assert other[other.index("<td>") :].startswith("<td>1,235</td>")
    rows = list(csv.DictReader(io.StringIO(client.get("/p/admin/report.csv").text)))
    assert {row["page_views"] for row in rows if row["section"] == "funnel"} == {"1235"}
