"""What customers are worth: revenue per period, group and currency (never added
across currencies), what a period's leads brought in, and whether customers return."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from test_report import add, report

from flask_funnel.analytics.periods import ReportSettings
from flask_funnel.leads.purchases import record_purchase

NOW = datetime.now(UTC)


def buy(app, lead_id, amount, currency, at):
    with app.app_context():
        record_purchase(
            app.extensions["funnel"].engine,
            lead_id=lead_id,
            amount=Decimal(amount),
            currency=currency,
            at=at,
            actor="shop",
        )


def test_revenue_per_currency_group_and_lead(app):
    engine = app.extensions["funnel"].engine
    tehran = add(engine, 2, at=NOW - timedelta(days=5), country="IR", city="Tehran", source="ads")
    berlin = add(engine, 3, at=NOW - timedelta(days=5), country="DE", city="Berlin", source="mail")
    [bot] = add(engine, 1, at=NOW - timedelta(days=5), source="ads", quarantined=True)
    buy(app, tehran[0], "100", "EUR", NOW - timedelta(days=4))
    buy(app, tehran[0], "50", "EUR", NOW - timedelta(days=2))  # came back
    buy(app, berlin[0], "30", "USD", NOW - timedelta(days=3))
    buy(app, bot, "999", "EUR", NOW - timedelta(days=3))  # a suspected bot's
    money = report(app, by="city", settings=ReportSettings(ZoneInfo("UTC"), min_group=1))["revenue"]
    assert money["period"] == [
        {"currency": "EUR", "revenue": "150.00", "purchases": 2, "customers": 1},
        {"currency": "USD", "revenue": "30.00", "purchases": 1, "customers": 1},
    ]
    assert [(g["label"], g["currency"], g["revenue"]) for g in money["by_group"]] == [
        ("Tehran, Iran (IR)", "EUR", "150.00"),
        ("Berlin, Germany (DE)", "USD", "30.00"),
    ]
    value = {(v["label"], v["currency"]): v for v in money["lead_value"]}
    tehran_eur = value["Tehran, Iran (IR)", "EUR"]
    assert (
        tehran_eur["leads"],
        tehran_eur["customers"],
        tehran_eur["per_lead"],
        tehran_eur["per_customer"],
    ) == (2, 1, "75.00", "150.00")
    assert value["Berlin, Germany (DE)", "USD"]["per_lead"] == "10.00"  # 30 over 3 leads
    assert report(app)["revenue"]["lead_value"] is None  # no breakdown: no groups to divide by


def test_retention_is_the_share_of_a_month_s_new_customers_who_bought_again(app):
    engine = app.extensions["funnel"].engine
    leads = add(engine, 4, at=NOW - timedelta(days=3))
    for lead in leads:
        buy(app, lead, "10", "EUR", NOW - timedelta(days=2))
    buy(app, leads[0], "10", "EUR", NOW - timedelta(days=1))
    first_bought = (NOW - timedelta(days=2)).date().isoformat()
    [cohort] = [
        row
        for row in report(app)["revenue"]["retention"]
        if row["from"] <= first_bought <= row["to"]
    ]
    assert (cohort["customers"], cohort["bought_again"], cohort["rate"]) == (4, 1, 0.25)


def test_the_dashboard_shows_revenue_per_currency_and_the_retention_table(app, admin_client):
    [lead] = add(app.extensions["funnel"].engine, 1, at=NOW - timedelta(days=3), city="Tehran")
    buy(app, lead, "1234.50", "IRR", NOW - timedelta(days=2))
    page = admin_client.get("/p/admin/?by=city").text
    assert "What customers are worth" in page and "1234.50" in page and "IRR" in page
    assert "Do customers come back?" in page


def test_the_downloads_and_the_cli_carry_losses_revenue_and_retention(app, admin_client, runner):
    import csv
    import io

    from flask_funnel.leads.stages import move_lead

    engine = app.extensions["funnel"].engine
    tehran = add(engine, 2, at=NOW - timedelta(days=5), country="IR", city="Tehran")
    buy(app, tehran[0], "100", "EUR", NOW - timedelta(days=4))
    buy(app, tehran[0], "25.50", "EUR", NOW - timedelta(days=1))
    buy(app, tehran[1], "7", "USD", NOW - timedelta(days=1))
    move_lead(engine, tehran[1], "lost", actor="admin", lost_reason="=cmd|' /c calc'!A1")
    table = list(csv.DictReader(io.StringIO(admin_client.get("/p/admin/report.csv?by=city").text)))
    sections = {row["section"] for row in table}
    assert {"lost by reason", "lost from stage", "time to next stage", "revenue"} <= sections
    assert {"revenue by city", "lead value by city", "retention"} <= sections
    [eur] = [r for r in table if r["section"] == "revenue" and r["currency"] == "EUR"]
    assert (eur["revenue"], eur["purchases"], eur["customers"]) == ("125.50", "2", "1")
    [lost] = [r for r in table if r["section"] == "lost by reason"]
    assert lost["reached"] == "1" and lost["group"].startswith("'=")  # no formula
    assert any(r["section"] == "retention" and r["bought_again"] == "1" for r in table)
    text = runner.invoke(args=["funnel", "report"]).output
    assert "Revenue in the period: 125.50 EUR from 2 purchases by 1 customers" in text
    assert "Revenue in the period: 7.00 USD" in text
    assert "Customers who bought again, by month of first purchase" in text
