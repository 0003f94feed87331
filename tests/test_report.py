"""The funnel report: counts of leads that reached each stage, month over month,
breakdowns, the forecast, and the dashboard, CLI and downloads agreeing."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from conftest import BACKENDS, make_app
from flask_migrate import upgrade
from sqlalchemy import insert, update

from flask_funnel.analytics.calendars import (
    GREGORIAN,
    PERSIAN,
    PERSIAN_MONTH_NAMES,
    persian_month_label,
)
from flask_funnel.analytics.forecast import forecast
from flask_funnel.analytics.funnel import BREAKDOWNS, breakdown_query, build_report, monthly
from flask_funnel.analytics.periods import (
    Period,
    ReportSettings,
    months_until,
    parse_period,
    preset_period,
)
from flask_funnel.capture.visits import record_visits
from flask_funnel.db.models import Lead, Visitor
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.leads import stages
from landing import MIGRATIONS_DIR, create_app, funnel

NOW = datetime.now(UTC)
EMAILS = count()
UTC_ZONE = ReportSettings(zone=ZoneInfo("UTC"))


def add(engine, number: int, *, at: datetime, **values) -> list[int]:
    """``number`` leads created at ``at`` (quarantined False unless given); their ids."""
    with writing(engine) as connection:
        first = connection.execute(
            insert(Lead.__table__).returning(Lead.id),
            [
                {
                    "email": f"lead{next(EMAILS)}@example.com",
                    "stage": stages.LEAD,
                    "stage_changed_at": at,
                    "created_at": at,
                    "updated_at": at,
                    "quarantined": False,
                    **values,
                }
                for _ in range(number)
            ],
            # RETURNING with executemany, so every id comes back.
        ).scalars()
        return list(first)


def move(engine, lead_ids, stage: str, at: datetime) -> None:
    with writing(engine) as connection:
        for lead_id in lead_ids:
            stages.move(connection, lead_id, stage, actor=stages.SYSTEM, at=at)


def report(
    app, first: date | None = None, last: date | None = None, by=None, settings=None, now=None
):
    state = app.extensions["funnel"]
    settings = settings or state.settings.report
    period = (
        Period(first, last, settings.zone) if first else parse_period(None, None, settings.zone)
    )
    with state.engine.connect() as connection:
        return build_report(connection, period, settings, by=by, now=now)


def reached(result) -> dict[str, int]:
    return {row["stage"]: row["reached"] for row in result["stages"]}


@pytest.fixture
def textbook(app):
    """The model funnel: 32,000 leads, 5% mql, half sal, half sql, a quarter customers."""
    engine = app.extensions["funnel"].engine
    created = NOW - timedelta(days=10)
    leads = add(engine, 32_000, at=created)
    move(engine, leads[:1600], stages.MQL, created + timedelta(days=1))
    move(engine, leads[:800], stages.SAL, created + timedelta(days=2))
    move(engine, leads[:400], stages.SQL, created + timedelta(days=3))
    move(engine, leads[:100], stages.CUSTOMER, created + timedelta(days=4))
    move(engine, leads[1600:2000], stages.LOST, created + timedelta(days=5))
    return app


def test_the_textbook_funnel_gives_its_counts_and_rates(textbook, runner):
    result = runner.invoke(args=["funnel", "report", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["stage"]: row for row in json.loads(result.output)["stages"]}
    assert {s: r["reached"] for s, r in rows.items()} == {
        "lead": 32_000,
        "mql": 1_600,
        "sal": 800,
        "sql": 400,
        "customer": 100,
        "repeat_customer": 0,
    }
    assert [rows[s]["step_rate"] for s in ("mql", "sal", "sql", "customer")] == [
        0.05,
        0.5,
        0.5,
        0.25,
    ]
    assert rows["customer"]["cumulative_rate"] == 0.003125
    assert rows["mql"]["drop_off"] == 30_400 and rows["mql"]["drop_off_rate"] == 0.95

    text = runner.invoke(args=["funnel", "report"]).output
    assert "customer" in text and "100" in text and "0.3125%" in text


def test_the_dashboard_the_downloads_and_the_cli_agree_to_the_lead(
    textbook, client, runner, sign_in_admin
):
    sign_in_admin(client)
    query = "?by=landing_page"
    download = client.get(f"/p/admin/report.json{query}")
    assert download.headers["Cache-Control"] == "no-store"
    downloaded = download.get_json()
    printed = json.loads(
        runner.invoke(args=["funnel", "report", "--json", "--by", "landing_page"]).output
    )
    assert downloaded == printed

    page = client.get(f"/p/admin/{query}")
    assert page.status_code == 200
    assert "32,000" in page.text and "1,600" in page.text and "0.3125%" in page.text
    assert 'role="img"' in page.text  # the funnel chart, with its text alternative

    table = list(csv.DictReader(io.StringIO(client.get(f"/p/admin/report.csv{query}").text)))
    funnel_rows = {r["stage"]: r for r in table if r["section"] == "funnel"}
    assert funnel_rows["customer"]["reached"] == "100"
    assert funnel_rows["sal"]["step_rate"] == "0.5"


def test_a_lead_that_skipped_stages_counts_as_having_passed_them(app):
    engine = app.extensions["funnel"].engine
    [lead] = add(engine, 1, at=NOW - timedelta(days=3))
    move(engine, [lead], stages.CUSTOMER, NOW - timedelta(days=1))
    assert reached(report(app)) == dict.fromkeys(("lead", "mql", "sal", "sql", "customer"), 1) | {
        "repeat_customer": 0
    }


def test_a_lead_that_went_back_is_counted_once(app):
    engine = app.extensions["funnel"].engine
    [lead] = add(engine, 1, at=NOW - timedelta(days=6))
    for days, stage in [(5, "mql"), (4, "sal"), (3, "sql"), (2, "mql"), (1, "sql"), (0, "lost")]:
        move(engine, [lead], stage, NOW - timedelta(days=days, minutes=1))
    counts = reached(report(app))
    assert counts["sql"] == 1 and counts["sal"] == 1 and counts["mql"] == 1
    assert counts["customer"] == 0
    months = report(app)["months"]["rows"]
    assert sum(row["counts"]["sql"] for row in months) == 1  # entering again is no new entry


def test_suspected_bots_are_never_counted(app):
    engine = app.extensions["funnel"].engine
    add(engine, 3, at=NOW - timedelta(days=1), quarantined=True)
    add(engine, 2, at=NOW - timedelta(days=1))
    result = report(app)
    assert reached(result)["lead"] == 2
    assert sum(row["counts"]["lead"] for row in result["months"]["rows"]) == 2


def test_days_and_months_are_counted_in_the_configured_time_zone(tmp_path):
    app = make_app(tmp_path, FUNNEL_REPORT_TIMEZONE="Asia/Tehran")
    engine = app.extensions["funnel"].engine
    # 22:00 UTC on 31 January is 01:30 on 1 February in Tehran (UTC+3:30).
    add(engine, 1, at=datetime(2026, 1, 31, 22, 0, tzinfo=UTC))
    add(engine, 1, at=datetime(2026, 1, 31, 20, 0, tzinfo=UTC))  # 23:30 on 31 January
    tehran = app.extensions["funnel"].settings.report
    february = report(app, date(2026, 2, 1), date(2026, 2, 28), settings=tehran)
    january = report(app, date(2026, 1, 1), date(2026, 1, 31), settings=tehran)
    assert reached(february)["lead"] == 1 and reached(january)["lead"] == 1
    months = {row["month"]: row["counts"]["lead"] for row in february["months"]["rows"]}
    assert months["2026-01"] == 1 and months["2026-02"] == 1

    in_utc = report(app, date(2026, 2, 1), date(2026, 2, 28), settings=UTC_ZONE)
    assert reached(in_utc)["lead"] == 0
    assert {r["month"]: r["counts"]["lead"] for r in in_utc["months"]["rows"]}["2026-01"] == 2


def test_the_month_table_marks_the_running_month_and_compares_it_fairly(app):
    engine = app.extensions["funnel"].engine
    now = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
    add(engine, 4, at=datetime(2026, 11, 3, tzinfo=UTC))
    add(engine, 2, at=datetime(2026, 10, 10, tzinfo=UTC))  # before the same point
    add(engine, 6, at=datetime(2026, 10, 20, tzinfo=UTC))  # after it
    months = months_until(date(2026, 11, 15), 24, ZoneInfo("UTC"), now)
    with engine.connect() as connection:
        table = monthly(connection, months, now)
    assert len(table["rows"]) == 24 and table["rows"][0]["month"] == "2024-12"
    assert table["rows"][-1] == {
        "month": "2026-11",
        "from": "2026-11-01",
        "to": "2026-11-30",
        "label": "November 2026",
        "labels": {"gregorian": "November 2026", "persian": "10 Aban to 9 Azar 1405"},
        "partial": True,
        "counts": {"lead": 4, "mql": 0, "sal": 0, "sql": 0, "customer": 0, "repeat_customer": 0},
    }
    lead = table["change"]["lead"]
    assert (lead["previous_month"], lead["change"], lead["change_rate"]) == (8, -4, -0.5)
    assert (lead["previous_month_same_point"], lead["change_same_point"]) == (2, 2)
    assert lead["change_same_point_rate"] == 1.0


def test_small_groups_are_folded_into_other(app):
    engine = app.extensions["funnel"].engine
    at = NOW - timedelta(days=2)
    move(engine, add(engine, 12, at=at, country="DE", source="google")[:3], stages.MQL, NOW)
    add(engine, 3, at=at, country="FR", source="google")
    add(engine, 2, at=at, country="IT", source="<script>x</script>")
    groups = report(app, by="country")["breakdown"]["groups"]
    assert [(g["label"], g["stages"][0]["reached"]) for g in groups] == [
        ("Germany (DE)", 12),
        ("other", 5),
    ]
    assert groups[0]["stages"][1]["reached"] == 3 and groups[1]["folded_groups"] == 2
    assert [g["label"] for g in report(app, by="source")["breakdown"]["groups"]] == [
        "google",
        "other",
    ]


def test_visitors_stand_on_top_of_the_funnel(app):
    engine = app.extensions["funnel"].engine
    visit = {"page_slug": "home-brewing", "source": "direct", "variant": None, "city": None}
    visit |= {"known_visitor": None, "referrer": None, "ip": None, "country": "DE"}
    visit |= dict.fromkeys(("utm_source", "utm_medium", "utm_campaign", "utm_term"))
    visit |= {"utm_content": None}
    with writing(engine) as connection:
        record_visits(
            connection,
            [
                {
                    **visit,
                    "visitor_id": f"{n % 4:032x}",
                    "device": "mobile",
                    "at": NOW - timedelta(hours=n),
                }
                for n in range(8)
            ]
            + [{**visit, "visitor_id": "f" * 32, "device": "bot", "at": NOW}],
        )
    [lead] = add(engine, 1, at=NOW - timedelta(hours=1), country="DE", landing_page="home-brewing")
    result = report(app)
    assert result["visitors"] == 4  # unique, bots left out
    # A lead that is not one of the visitors (imported, say) is no visitor's conversion.
    assert (result["signed_up"], result["stages"][0]["step_rate"]) == (0, 0.0)
    with writing(engine) as connection:  # one of them signs up (as capture records it)
        connection.execute(
            update(Visitor).where(Visitor.visitor_id == f"{0:032x}").values(lead_id=lead)
        )
    result = report(app)
    assert (result["signed_up"], result["stages"][0]["step_rate"]) == (1, 0.25)
    [group] = report(app, by="landing_page", settings=ReportSettings(ZoneInfo("UTC"), min_group=1))[
        "breakdown"
    ]["groups"]
    assert (group["label"], group["visitors"], group["signed_up"]) == ("home-brewing", 4, 1)


def test_the_forecast_multiplies_open_leads_by_past_conversion(app):
    engine = app.extensions["funnel"].engine
    now = datetime(2026, 11, 22, tzinfo=UTC)
    past = now - timedelta(days=200)  # inside the history window (the 180 days before the last 90)
    history = add(engine, 10, at=past - timedelta(days=1))
    move(engine, history, stages.SQL, past)
    move(engine, history[:4], stages.CUSTOMER, past + timedelta(days=20))  # within 30 days
    move(engine, history[4:5], stages.CUSTOMER, past + timedelta(days=50))  # within 60
    open_now = add(engine, 5, at=now - timedelta(days=20))
    move(engine, open_now, stages.SQL, now - timedelta(days=10))
    with engine.connect() as connection:
        result = forecast(connection, replace(UTC_ZONE, min_history=5), now)
    sql = next(c for c in result["inputs"]["conversion_to_customer"] if c["stage"] == "sql")
    assert sql["leads"] == 10
    assert sql["within_days"]["30"] == 0.4 and sql["within_days"]["60"] == 0.5
    assert result["inputs"]["open_leads"]["sql"] == 5
    assert result["inputs"]["new_leads_last_90_days"] == 5
    one, two, _ = result["horizons"]
    assert one["from_open_leads"] == 2.0  # 5 open sql leads x 40%
    assert two["from_open_leads"] == 2.5  # 5 x 50%
    # New leads: 5 in 90 days; of the 10 past leads, 4 became customers within 15 days of
    # being created? No: within 21 days, so none within 15, four within 30.
    lead = next(c for c in result["inputs"]["conversion_to_customer"] if c["stage"] == "lead")
    assert lead["within_days"]["15"] == 0.0 and lead["within_days"]["30"] == 0.4
    assert two["from_new_leads"] == round(5 / 90 * 60 * 0.4, 1)


def _history(engine, now: datetime, leads: int, customers: int) -> None:
    """``leads`` leads created in the forecast's history, ``customers`` of them buying
    within 10 days; and as many new leads in the last 90 days."""
    past = now - timedelta(days=200)
    history = add(engine, leads, at=past)
    move(engine, history[:customers], stages.CUSTOMER, past + timedelta(days=10))
    add(engine, leads, at=now - timedelta(days=30))


def test_the_forecast_says_when_it_has_too_little_history(app, admin_client, runner):
    engine = app.extensions["funnel"].engine
    now = datetime.now(UTC)
    _history(engine, now, 4, 2)  # four contacts imported, two of them bought
    with engine.connect() as connection:
        result = forecast(connection, UTC_ZONE, now)
    assert not result["enough_history"]
    assert [h["customers"] for h in result["horizons"]] == [None, None, None]
    assert result["horizons"][0]["lacking_history"] == ["lead"]
    page = admin_client.get("/p/admin/").text
    assert "Not enough history yet" in page and "Needs 30 past leads at each of: lead." in page
    printed = runner.invoke(args=["funnel", "report"]).output
    assert "next 30 days: not enough history yet (needs 30 past leads at each of: lead)" in printed


def test_the_forecast_gives_a_range_that_narrows_with_more_history(app):
    engine = app.extensions["funnel"].engine
    now = datetime.now(UTC)
    settings = replace(UTC_ZONE, min_history=30)
    _history(engine, now, 40, 10)
    with engine.connect() as connection:
        small = forecast(connection, settings, now)["horizons"][0]
    _history(engine, now, 4000, 1000)  # the same share, a hundred times the leads
    with engine.connect() as connection:
        large = forecast(connection, settings, now)["horizons"][0]
    for horizon in (small, large):
        assert horizon["low"] <= horizon["customers"] <= horizon["high"]
    assert small["low"] < small["customers"] < small["high"]
    small_width = (small["high"] - small["low"]) / small["customers"]
    large_width = (large["high"] - large["low"]) / large["customers"]
    assert large_width < small_width / 3


def test_the_forecast_judges_a_lead_that_has_waited_by_those_who_waited_as_long(app):
    """Half the past sql leads bought within five days, the rest never: a lead new at
    sql is a coin toss, one that has sat there for six weeks is not."""
    engine = app.extensions["funnel"].engine
    now = datetime.now(UTC)
    past = now - timedelta(days=200)
    history = add(engine, 100, at=past)
    move(engine, history, stages.SQL, past)
    move(engine, history[:50], stages.CUSTOMER, past + timedelta(days=5))
    settings = replace(UTC_ZONE, min_history=30)

    def from_open_leads(entered_days_ago: int) -> float:
        waiting = add(engine, 10, at=now - timedelta(days=entered_days_ago))
        move(engine, waiting, stages.SQL, now - timedelta(days=entered_days_ago))
        with engine.connect() as connection:
            result = forecast(connection, settings, now)["horizons"][0]["from_open_leads"]
        move(engine, waiting, stages.LOST, now)  # out of the next forecast
        return result

    assert from_open_leads(2) == 5.0  # 10 leads x 50%
    assert from_open_leads(42) == 0.0


def test_a_bad_period_is_explained_beside_the_field(admin_client):
    client = admin_client
    response = client.get("/p/admin/?start=2026-03-10&end=2026-03-01")
    assert response.status_code == 422
    assert "The end is before the start." in response.text
    assert 'value="2026-03-10"' in response.text
    download = client.get("/p/admin/report.json?start=nonsense")
    assert download.status_code == 422 and "Not a valid date" in download.text


def test_the_cli_names_a_bad_date(runner):
    result = runner.invoke(args=["funnel", "report", "--from", "2026-13-01"])
    assert result.exit_code != 0
    assert "from: '2026-13-01' is not a date (use YYYY-MM-DD)" in result.output


def test_the_dashboard_needs_an_admin_and_escapes_lead_data(app, client, sign_in_admin):
    assert client.get("/p/admin/").status_code == 302
    engine = app.extensions["funnel"].engine
    add(engine, 10, at=NOW - timedelta(days=1), source='"><img src=x onerror=alert(1)>')
    sign_in_admin(client)
    page = client.get("/p/admin/?by=source")
    assert page.status_code == 200
    assert "<img src=x" not in page.text and "&lt;img src=x" in page.text


def test_a_wrong_time_zone_names_the_setting(tmp_path):
    with pytest.raises(RuntimeError, match="FUNNEL_REPORT_TIMEZONE: 'Mars/Olympus'"):
        make_app(tmp_path, FUNNEL_REPORT_TIMEZONE="Mars/Olympus")


def test_imported_leads_count_at_the_stages_they_passed(app, runner, tmp_path):
    day = (NOW - timedelta(days=5)).date().isoformat()
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(f"email,stage,created_at\nold@example.com,customer,{day}\n")
    result = runner.invoke(args=["funnel", "import-leads", str(contacts)])
    assert result.exit_code == 0, result.output
    counts = reached(report(app))
    assert counts == dict.fromkeys(("lead", "mql", "sal", "sql", "customer"), 1) | {
        "repeat_customer": 0
    }


def test_the_terminal_report_never_prints_control_characters(app, runner):
    add(app.extensions["funnel"].engine, 10, at=NOW - timedelta(days=1), source="\x1b]0;owned\x07")
    output = runner.invoke(args=["funnel", "report", "--by", "source"]).output
    assert "\x1b" not in output and "\\u001b]0;owned\\u0007" in output


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_report_counts_the_same_on_every_database(backend, fresh_database):
    """Dates and their arithmetic (the forecast's "within 30 days") differ per database."""
    url = fresh_database(backend)
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    try:
        with app.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
        engine = app.extensions["funnel"].engine
        created = NOW - timedelta(days=200)
        leads = add(engine, 12, at=created, country="DE")
        move(engine, leads[:4], stages.SQL, created + timedelta(days=2))
        move(engine, leads[:3], stages.CUSTOMER, created + timedelta(days=20))
        first = (NOW - timedelta(days=365)).date()
        result = report(app, first, NOW.date(), by="country")
        assert [row["reached"] for row in result["stages"]] == [12, 4, 4, 4, 3, 0]
        assert result["breakdown"]["groups"][0]["label"] == "Germany (DE)"
        history = {c["stage"]: c for c in result["forecast"]["inputs"]["conversion_to_customer"]}
        within = {"15": 0.0, "30": 0.25, "45": 0.25, "60": 0.25, "90": 0.25}
        assert history["lead"]["within_days"] == within  # customers 20 days after creation
        assert history["sql"]["within_days"]["15"] == 0.0  # ... 18 days after reaching sql
        assert history["sql"]["within_days"]["30"] == 0.75
    finally:
        with app.app_context():
            funnel.db.engine.dispose()


def test_a_lead_the_quiz_made_mql_counts_as_mql(app, visitor):
    assert visitor.submit().status_code == 303  # its answers score 7, the page's threshold
    assert reached(report(app))["mql"] == 1
    assert sum(row["counts"]["mql"] for row in report(app)["months"]["rows"]) == 1


# --- how the email was obtained -------------------------------------------------------


def test_leads_split_by_how_they_gave_their_email(app):
    engine = app.extensions["funnel"].engine
    at = NOW - timedelta(days=2)
    google = add(engine, 12, at=at, signup_method="google")
    typed = add(engine, 20, at=at, signup_method="typed")
    add(engine, 30, at=at, signup_method="google", quarantined=True)  # bots: never counted
    add(engine, 3, at=at, signup_method="import")
    move(engine, google[:6], stages.MQL, NOW)
    move(engine, typed[:2], stages.MQL, NOW)
    breakdown = report(app, by="signup_method")["breakdown"]
    assert breakdown["title"] == "Sign-up method"
    assert [
        (g["label"], g["key"], [r["reached"] for r in g["stages"][:2]]) for g in breakdown["groups"]
    ] == [
        ("typed", ["typed"], [20, 2]),
        ("Google", ["google"], [12, 6]),
        ("other", None, [3, 0]),
    ]
    assert [g["stages"][1]["step_rate"] for g in breakdown["groups"][:2]] == [0.1, 0.5]
    # A visitor has no sign-up method: visitors are not split by it.
    assert [g["visitors"] for g in breakdown["groups"]] == [None, None, None]
    everyone = ReportSettings(ZoneInfo("UTC"), min_group=1)
    labels = [
        g["label"]
        for g in report(app, by="signup_method", settings=everyone)["breakdown"]["groups"]
    ]
    assert labels == ["typed", "Google", "imported"]


def test_a_lead_the_quiz_made_and_an_imported_one_say_how_they_came(app, runner, visitor, tmp_path):
    assert visitor.submit().status_code == 303
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("email\nold@example.com\n")
    assert runner.invoke(args=["funnel", "import-leads", str(contacts)]).exit_code == 0
    everyone = ReportSettings(ZoneInfo("UTC"), min_group=1)
    groups = report(app, by="signup_method", settings=everyone)["breakdown"]["groups"]
    assert sorted(g["label"] for g in groups) == ["imported", "typed"]


def test_the_cli_and_the_dashboard_break_down_by_sign_up_method(app, runner, admin_client):
    engine = app.extensions["funnel"].engine
    add(engine, 10, at=NOW - timedelta(days=1), signup_method="google")
    add(engine, 10, at=NOW - timedelta(days=1), signup_method="typed")
    text = runner.invoke(args=["funnel", "report", "--by", "signup_method"])
    assert text.exit_code == 0, text.output
    assert "By sign-up method" in text.output and "\n Google\n" in text.output
    printed = runner.invoke(args=["funnel", "report", "--json", "--by", "signup_method"])
    assert printed.exit_code == 0, printed.output
    assert len(json.loads(printed.output)["breakdown"]["groups"]) == 2

    page = admin_client.get("/p/admin/?by=signup_method")
    assert page.status_code == 200
    assert '<option selected value="signup_method">Sign-up method</option>' in page.text
    assert "By sign-up method" in page.text and '<th scope="row">Google' in page.text
    table = csv.DictReader(
        io.StringIO(admin_client.get("/p/admin/report.csv?by=signup_method").text)
    )
    rows = [r for r in table if r["section"] == "by signup_method" and r["stage"] == "lead"]
    assert sorted((r["group"], r["reached"], r["visitors"]) for r in rows) == [
        ("Google", "10", ""),
        ("typed", "10", ""),
    ]


@pytest.mark.parametrize("by", list(BREAKDOWNS))
def test_every_breakdown_is_counted_from_the_cohort_index_alone(app, by):
    """The breakdown's lead query looks ``ix_funnel_leads_cohort`` up by its first columns
    (real leads created in the period) and never reads the table: among leads of more
    than a year, so that PostgreSQL's and MariaDB's planners weigh it as they would."""
    engine = app.extensions["funnel"].engine
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(Lead),
            [
                {
                    "email": f"p{n}@example.com",
                    "stage": "lead",
                    "stage_changed_at": now - timedelta(days=n % 400),
                    "created_at": now - timedelta(days=n % 400),
                    "updated_at": now,
                    "quarantined": n % 20 == 0,
                }
                for n in range(2000)
            ],
        )
    compiled = breakdown_query(by, parse_period(None, None, ZoneInfo("UTC"))).compile(engine)
    params = {  # as the database is given them: times in naive UTC
        name: value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) else value
        for name, value in compiled.params.items()
    }
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            positional = tuple(str(params[name]) for name in compiled.positiontup)
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", positional)
            steps = [row[-1] for row in plan]
        assert steps[0].startswith(
            "SEARCH funnel_leads USING COVERING INDEX ix_funnel_leads_cohort (quarantined=? AND"
        )
        assert not any("SCAN" in step for step in steps)
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE funnel_leads")  # as autovacuum would
            plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {compiled}", params).scalars())
        assert "Index Only Scan using ix_funnel_leads_cohort" in plan, plan
        assert "Index Cond: ((quarantined = false) AND (created_at >= " in plan, plan
        assert "Seq Scan" not in plan and "Heap" not in plan, plan
    else:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE TABLE funnel_leads").all()
            [step] = connection.exec_driver_sql(f"EXPLAIN {compiled}", params).mappings()
        # "range": the period's part of the index; "index" would be all of it.
        assert (step["key"], step["type"]) == ("ix_funnel_leads_cohort", "range"), step
        assert "Using index;" in step["Extra"], step  # and not the table


# --- the Persian (Solar Hijri) calendar ---------------------------------------------
# Tehran is at UTC+3:30 all year (no daylight saving time since 2022), so local
# midnight is 20:30 UTC the day before. 1 Farvardin 1405 (Nowruz) is 21 March 2026;
# 1404 is a common year (Esfand has 29 days), 1403 a leap year (Esfand has 30).

TEHRAN = ZoneInfo("Asia/Tehran")
IN_TEHRAN = {"FUNNEL_REPORT_TIMEZONE": "Asia/Tehran", "FUNNEL_REPORT_CALENDAR": "persian"}


def lead_months(result) -> dict[str, int]:
    return {row["month"]: row["counts"]["lead"] for row in result["months"]["rows"]}


def test_persian_months_begin_at_local_midnight_of_their_first_day():
    esfand, farvardin = months_until(date(2026, 3, 21), 2, TEHRAN, calendar=PERSIAN)
    assert (esfand.key, esfand.first, esfand.last) == (
        "1404-12",
        date(2026, 2, 20),
        date(2026, 3, 20),
    )
    assert esfand.start == datetime(2026, 2, 19, 20, 30, tzinfo=UTC)
    assert esfand.end == farvardin.start == datetime(2026, 3, 20, 20, 30, tzinfo=UTC)
    assert farvardin.end == datetime(2026, 4, 20, 20, 30, tzinfo=UTC)  # Farvardin has 31 days
    assert (esfand.label, farvardin.label) == ("Esfand 1404", "Farvardin 1405")
    assert farvardin.labels == {
        "gregorian": "21 March to 20 April 2026",
        "persian": "Farvardin 1405",
    }


def test_leads_around_nowruz_land_in_their_persian_months(tmp_path):
    app = make_app(tmp_path, **IN_TEHRAN)
    engine = app.extensions["funnel"].engine
    add(engine, 1, at=datetime(2026, 2, 19, 20, 29, tzinfo=UTC))  # 23:59, 30 Bahman 1404
    add(engine, 1, at=datetime(2026, 2, 19, 20, 30, tzinfo=UTC))  # 00:00, 1 Esfand 1404
    add(engine, 2, at=datetime(2026, 3, 20, 20, 29, tzinfo=UTC))  # 23:59, 29 Esfand 1404
    add(engine, 3, at=datetime(2026, 3, 20, 20, 30, tzinfo=UTC))  # 00:00, 1 Farvardin 1405
    add(engine, 1, at=datetime(2026, 4, 20, 20, 29, tzinfo=UTC))  # 23:59, 31 Farvardin 1405
    add(engine, 1, at=datetime(2026, 4, 20, 20, 30, tzinfo=UTC))  # 00:00, 1 Ordibehesht 1405
    now = datetime(2026, 5, 10, tzinfo=UTC)
    result = report(app, date(2026, 3, 1), date(2026, 4, 30), now=now)

    assert result["period"] | {"labels": None} == {
        "from": "2026-03-01",
        "to": "2026-04-30",
        "time_zone": "Asia/Tehran",
        "calendar": "persian",
        "label": "10 Esfand 1404 to 10 Ordibehesht 1405",
        "labels": None,
    }
    assert result["period"]["labels"]["gregorian"] == "1 March to 30 April 2026"
    assert reached(result)["lead"] == 7
    months = lead_months(result)
    assert len(months) == 24 and result["months"]["rows"][0]["month"] == "1403-03"
    assert {
        key: months[key] for key in ("1404-10", "1404-11", "1404-12", "1405-01", "1405-02")
    } == {
        "1404-10": 0,
        "1404-11": 1,
        "1404-12": 3,
        "1405-01": 4,
        "1405-02": 1,
    }
    assert sum(months.values()) == 9
    esfand = next(row for row in result["months"]["rows"] if row["month"] == "1404-12")
    assert (esfand["from"], esfand["to"], esfand["label"]) == (
        "2026-02-20",
        "2026-03-20",
        "Esfand 1404",
    )
    assert esfand["labels"]["gregorian"] == "20 February to 20 March 2026"

    # The same leads by Gregorian months of the same days.
    gregorian = replace(app.extensions["funnel"].settings.report, calendar=GREGORIAN)
    by_gregorian = lead_months(report(app, date(2026, 3, 1), date(2026, 4, 30), settings=gregorian))
    assert {key: by_gregorian[key] for key in ("2026-02", "2026-03", "2026-04")} == {
        "2026-02": 2,
        "2026-03": 5,
        "2026-04": 2,
    }


def test_a_thirty_day_esfand_and_a_twenty_nine_day_one_both_count_right(tmp_path):
    app = make_app(tmp_path, **IN_TEHRAN)
    engine = app.extensions["funnel"].engine
    add(engine, 1, at=datetime(2024, 3, 19, 20, 29, tzinfo=UTC))  # 23:59, 29 Esfand 1402
    add(engine, 1, at=datetime(2024, 3, 19, 20, 30, tzinfo=UTC))  # 00:00, 1 Farvardin 1403
    add(engine, 1, at=datetime(2024, 3, 20, 8, 30, tzinfo=UTC))  # 12:00, 1 Farvardin 1403
    add(engine, 1, at=datetime(2025, 3, 20, 8, 30, tzinfo=UTC))  # 12:00, 30 Esfand 1403
    add(engine, 1, at=datetime(2025, 3, 20, 20, 29, tzinfo=UTC))  # 23:59, 30 Esfand 1403
    add(engine, 1, at=datetime(2025, 3, 20, 20, 30, tzinfo=UTC))  # 00:00, 1 Farvardin 1404
    now = datetime(2025, 4, 10, tzinfo=UTC)
    result = report(app, date(2025, 3, 1), date(2025, 3, 31), now=now)
    months = lead_months(result)
    assert (months["1402-12"], months["1403-01"]) == (1, 2)
    assert (months["1403-12"], months["1404-01"]) == (2, 1)
    rows = {row["month"]: row for row in result["months"]["rows"]}
    assert (rows["1402-12"]["from"], rows["1402-12"]["to"]) == ("2024-02-20", "2024-03-19")
    assert (rows["1403-12"]["from"], rows["1403-12"]["to"]) == ("2025-02-19", "2025-03-20")

    leap, common = (
        months_until(day, 1, TEHRAN, now, calendar=PERSIAN)[0]
        for day in (date(2025, 3, 20), date(2024, 3, 19))
    )
    assert leap.end - leap.start == timedelta(days=30)
    assert common.end - common.start == timedelta(days=29)


@pytest.mark.parametrize(
    ("now", "this_month", "last_month", "this_year"),
    [
        (  # 23:59 on 29 Esfand 1404, the last minute of the year
            datetime(2026, 3, 20, 20, 29, tzinfo=UTC),
            (date(2026, 2, 20), date(2026, 3, 20)),
            (date(2026, 1, 21), date(2026, 2, 19)),  # Bahman 1404, 30 days
            (date(2025, 3, 21), date(2026, 3, 20)),
        ),
        (  # 00:00 on 1 Farvardin 1405, a minute later
            datetime(2026, 3, 20, 20, 30, tzinfo=UTC),
            (date(2026, 3, 21), date(2026, 3, 21)),
            (date(2026, 2, 20), date(2026, 3, 20)),  # Esfand 1404, 29 days
            (date(2026, 3, 21), date(2026, 3, 21)),
        ),
    ],
)
def test_this_and_last_month_and_this_year_follow_the_persian_calendar(
    now, this_month, last_month, this_year
):
    def days(preset):
        period = preset_period(preset, TEHRAN, now, calendar=PERSIAN)
        return period.first, period.last

    assert (days("this_month"), days("last_month"), days("this_year")) == (
        this_month,
        last_month,
        this_year,
    )
    assert preset_period("30d", TEHRAN, now, calendar=PERSIAN).days == 30


def test_the_gregorian_presets_are_unchanged_in_the_same_zone():
    nowruz = datetime(2026, 3, 20, 20, 30, tzinfo=UTC)  # 21 March in Tehran, 20 in UTC
    assert preset_period("this_month", TEHRAN, nowruz).first == date(2026, 3, 1)
    assert preset_period("last_month", TEHRAN, nowruz) == Period(
        date(2026, 2, 1), date(2026, 2, 28), TEHRAN
    )
    assert preset_period("this_year", TEHRAN, nowruz).first == date(2026, 1, 1)


def test_the_running_persian_month_is_compared_up_to_the_same_point(app):
    engine = app.extensions["funnel"].engine
    add(engine, 4, at=datetime(2026, 3, 23, 8, 30, tzinfo=UTC))  # 12:00, 3 Farvardin 1405
    add(engine, 2, at=datetime(2026, 3, 1, 8, 29, tzinfo=UTC))  # 11:59, 10 Esfand 1404
    add(engine, 1, at=datetime(2026, 3, 1, 8, 30, tzinfo=UTC))  # 12:00, 10 Esfand: at the point
    add(engine, 3, at=datetime(2026, 3, 20, 20, 29, tzinfo=UTC))  # 23:59, 29 Esfand 1404
    # 12:00 on 10 Farvardin: 9 days 12 hours into the month; the same point of Esfand is
    # 12:00 on 10 Esfand.
    now = datetime(2026, 3, 30, 8, 30, tzinfo=UTC)
    months = months_until(date(2026, 3, 30), 24, TEHRAN, now, calendar=PERSIAN)
    with engine.connect() as connection:
        table = monthly(connection, months, now)
    assert len(table["rows"]) == 24 and table["rows"][0]["month"] == "1403-02"
    assert table["current"] == {
        "month": "1405-01",
        "label": "Farvardin 1405",
        "partial": True,
        "against": "1404-12",
        "against_label": "Esfand 1404",
    }
    lead = table["change"]["lead"]
    assert (lead["this_month"], lead["previous_month"], lead["change"]) == (4, 6, -2)
    assert lead["change_rate"] == -0.333333
    assert (lead["previous_month_same_point"], lead["change_same_point"]) == (2, 2)
    assert lead["change_same_point_rate"] == 1.0

    # On 31 Farvardin more time has passed than the 29 days of Esfand: all of it counts.
    late = datetime(2026, 4, 20, 8, 30, tzinfo=UTC)
    months = months_until(date(2026, 4, 20), 24, TEHRAN, late, calendar=PERSIAN)
    with engine.connect() as connection:
        lead = monthly(connection, months, late)["change"]["lead"]
    assert lead["previous_month_same_point"] == lead["previous_month"] == 6


def test_persian_month_names_come_in_english_and_in_persian():
    assert persian_month_label(date(2026, 3, 21)) == "Farvardin 1405"
    assert persian_month_label("2026-03-21", "fa") == "فروردین ۱۴۰۵"
    assert persian_month_label("2025-03-20", "fa") == "اسفند ۱۴۰۳"
    assert PERSIAN_MONTH_NAMES["en"][11] == "Esfand" and PERSIAN_MONTH_NAMES["fa"][0] == "فروردین"


def test_a_wrong_calendar_names_the_setting(tmp_path):
    with pytest.raises(RuntimeError, match="FUNNEL_REPORT_CALENDAR: 'jalali' is not one of"):
        make_app(tmp_path, FUNNEL_REPORT_CALENDAR="jalali")


class TestAReportInThePersianCalendar:
    """The CLI, the dashboard and the downloads of a site configured with ``IN_TEHRAN``."""

    @pytest.fixture
    def app(self, tmp_path):
        app = make_app(tmp_path, **IN_TEHRAN)
        engine = app.extensions["funnel"].engine
        add(engine, 2, at=datetime(2026, 3, 20, 20, 29, tzinfo=UTC))  # 23:59, 29 Esfand 1404
        add(engine, 3, at=datetime(2026, 3, 20, 20, 30, tzinfo=UTC))  # 00:00, 1 Farvardin 1405
        yield app
        with app.app_context():
            funnel.db.engine.dispose()

    def test_the_terminal_report_names_persian_months(self, runner):
        result = runner.invoke(
            args=["funnel", "report", "--from", "2026-03-01", "--to", "2026-03-31"]
        )
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert lines[0] == (
            "Funnel 10 Esfand 1404 to 11 Farvardin 1405 "
            "(2026-03-01 to 2026-03-31, Asia/Tehran, persian calendar)"
        )
        # A month's row: its label, then the leads that entered each stage in it.
        rows = {line[:20].strip(): line[20:].split() for line in lines if line.startswith("  ")}
        assert rows["Esfand 1404"][0] == "2" and rows["Farvardin 1405"][0] == "3"
        assert any(line.startswith("  Farvardin 1405 against Esfand 1404:") for line in lines)

    def test_the_dashboard_and_the_downloads_name_persian_months(self, admin_client, runner):
        query = "?start=2026-03-01&end=2026-03-31"
        page = admin_client.get(f"/p/admin/{query}")
        assert page.status_code == 200
        assert (
            '<p class="count">10 Esfand 1404 to 11 Farvardin 1405 '
            '<span class="muted">(2026-03-01 to 2026-03-31)</span> · Asia/Tehran</p>'
        ) in page.text
        assert "month of the Persian (Solar Hijri) calendar" in page.text
        assert '<th scope="row" title="2026-03-21 to 2026-04-20">Farvardin 1405' in page.text
        assert '<th scope="row" title="2026-02-20 to 2026-03-20">Esfand 1404' in page.text

        downloaded = admin_client.get(f"/p/admin/report.json{query}").get_json()
        printed = runner.invoke(
            args=["funnel", "report", "--json", "--from", "2026-03-01", "--to", "2026-03-31"]
        )
        assert downloaded == json.loads(printed.output)
        assert lead_months(downloaded)["1405-01"] == 3

        table = csv.DictReader(io.StringIO(admin_client.get(f"/p/admin/report.csv{query}").text))
        months = {r["month"]: r for r in table if r["section"] == "month" and r["stage"] == "lead"}
        assert {k: months["1404-12"][k] for k in ("from", "to", "reached")} == {
            "from": "2026-02-20",
            "to": "2026-03-20",
            "reached": "2",
        }
        assert months["1405-01"]["label_persian"] == "Farvardin 1405"
        assert months["1405-01"]["label_gregorian"] == "21 March to 20 April 2026"

    def test_the_last_month_preset_is_the_last_persian_month(self, admin_client):
        today = datetime.now(TEHRAN).date()
        last = PERSIAN.month_first(today) - timedelta(days=1)
        first = PERSIAN.month_first(last)
        page = admin_client.get("/p/admin/?period=last_month")
        assert page.status_code == 200
        assert (
            f'<p class="count">{persian_month_label(last)} '
            f'<span class="muted">({first} to {last})</span> · Asia/Tehran</p>'
        ) in page.text


@pytest.mark.parametrize("backend", BACKENDS)
def test_persian_months_count_the_same_on_every_database(backend, fresh_database):
    """The month bounds are instants compared in SQL: the second before Nowruz and
    Nowruz itself fall on their sides on every database."""
    url = fresh_database(backend)
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url, **IN_TEHRAN})
    try:
        with app.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
        engine = app.extensions["funnel"].engine
        add(engine, 2, at=datetime(2026, 3, 20, 20, 29, 59, tzinfo=UTC))  # 23:59:59, 29 Esfand
        add(engine, 3, at=datetime(2026, 3, 20, 20, 30, tzinfo=UTC))  # 00:00:00, 1 Farvardin
        add(engine, 1, at=datetime(2025, 3, 20, 20, 29, 59, tzinfo=UTC))  # 30 Esfand 1403
        now = datetime(2026, 4, 1, tzinfo=UTC)
        months = lead_months(report(app, date(2026, 3, 1), date(2026, 3, 31), now=now))
        assert (months["1403-12"], months["1404-01"]) == (1, 0)
        assert (months["1404-12"], months["1405-01"]) == (2, 3)
    finally:
        with app.app_context():
            funnel.db.engine.dispose()
