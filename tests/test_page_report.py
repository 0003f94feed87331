"""A page's A/B test (sticky variants, the comparison) and its quiz drop-off report."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from conftest import ANSWERS, DEMO_PAGES, Visitor, flush_visits, parse_page

from flask_funnel.analytics.experiments import variant_test
from flask_funnel.analytics.periods import Period
from flask_funnel.analytics.quiz_dropoff import quiz_dropoff
from flask_funnel.db.models import Lead
from flask_funnel.pages.versions import with_variant

VALID = (DEMO_PAGES / "home-brewing.toml").read_text(encoding="utf-8")


def today(app) -> Period:
    zone = app.extensions["funnel"].settings.report.zone
    now = datetime.now(UTC).date()
    return Period(now - timedelta(days=1), now + timedelta(days=1), zone)


def test_a_visitor_sees_one_variant_and_keeps_it(app, client):
    page = app.extensions["funnel"].pages.get("home-brewing")
    first = client.get("/p/home-brewing").text
    shown = next(
        version
        for version in (with_variant(page, v.id) for v in page.variants)
        if version.hero.cta in first
    )
    for _ in range(3):
        assert shown.hero.headline in client.get("/p/home-brewing").text
        assert shown.hero.cta in client.get("/p/home-brewing").text


def test_variants_are_drawn_by_weight(app):
    page = app.extensions["funnel"].pages.get("home-brewing")
    drawn = Counter(page.variant_for(f"{n:032x}").id for n in range(4000))
    assert set(drawn) == {"a", "b"}
    assert 1850 < drawn["a"] < 2150  # 50/50 within about 5 standard deviations


def test_a_broken_variant_names_its_field(pages_dir):
    broken = VALID.replace('id = "b"\nweight = 50', 'id = "b"\nweight = 0\ncolour = "red"')
    errors = parse_page(pages_dir, broken).errors
    assert any("variants[2].weight: must be 1 or more" in e for e in errors)
    assert any("variants[2].colour: is not a known field" in e for e in errors)


def test_the_lead_keeps_its_variant_and_the_test_compares_them(app, client, db_session):
    visitors = []
    for n in range(6):
        visitor_client = app.test_client()
        Visitor(visitor_client).land()
        visitors.append(visitor_client)
        if n < 4:
            Visitor(visitor_client).submit(email=f"v{n}@example.com")
    flush_visits(app)
    page = app.extensions["funnel"].pages.get("home-brewing")
    variants = {
        lead.email: lead.variant for lead in db_session.query(Lead).order_by(Lead.email).all()
    }
    assert set(variants.values()) <= {"a", "b"} and len(variants) == 4
    with app.extensions["funnel"].engine.connect() as connection:
        test = variant_test(connection, page, today(app), "lead")
    assert sum(v["visitors"] for v in test["variants"]) == 6
    assert sum(v["conversions"] for v in test["variants"]) == 4
    assert test["comparison"]["verdict"] == "not_enough_data"
    assert test["comparison"]["message"].startswith("Not enough data yet")


def test_quiz_drop_off_counts_each_step_and_follows_answers(app, db_session):
    walkers = [Visitor(app.test_client()) for _ in range(3)]
    for walker in walkers:
        walker.land()
        walker.client.get("/p/home-brewing/quiz")  # question 1
    walkers[0].step(2, {"style": "black"})
    walkers[1].step(2, {"style": "black"})
    walkers[1].step(3, {"style": "black", "time": "5min"})
    walkers[1].submit(email="keen@example.com")  # answers score 7: mql
    flush_visits(app)
    page = app.extensions["funnel"].pages.get("home-brewing")
    with app.extensions["funnel"].engine.connect() as connection:
        quiz = quiz_dropoff(connection, page, today(app))
    steps = {s["step"]: s for s in quiz["steps"]}
    assert steps["landing"]["visitors"] == 3
    assert steps["question_1"]["visitors"] == 3
    assert steps["question_2"]["visitors"] == 2
    assert steps["contact"]["visitors"] == 1
    assert steps["sent"]["visitors"] == 1
    assert steps["question_2"]["left"] == 1
    style = quiz["answers"][0]
    black = next(c for c in style["choices"] if c["choice"] == ANSWERS["style"])
    assert black["leads"] == 1 and black["share"] == 1.0
    assert black["stages"]["mql"] == {"leads": 1, "rate": 1.0}
    assert black["stages"]["customer"] == {"leads": 0, "rate": 0.0}


def test_the_page_report_shows_the_verdict_and_escapes_answers(app, admin_client):
    client = admin_client
    Visitor(app.test_client()).submit(email="one@example.com")
    page = client.get(f"/p/admin/pages/home-brewing?start={date.today()}&stage=mql")
    assert page.status_code == 200
    assert "Where visitors leave the quiz" in page.text
    assert "Not enough data yet" in page.text
    assert "Black, nothing added" in page.text
    assert client.get("/p/admin/pages/nope").status_code == 404
