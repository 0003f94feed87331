"""One population behind every number: visitors, quiz steps, submissions and leads are
counted over the same people, suspected bots left out of all of them by one rule, and
no conversion rate on any screen or export can pass 100%."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import ANSWERS, Visitor, flush_visits, make_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update
from test_daily_counts import assert_counts_match_leads

from flask_funnel.analytics.experiments import variant_test
from flask_funnel.analytics.funnel import BREAKDOWNS, build_report
from flask_funnel.analytics.periods import Period, ReportSettings
from flask_funnel.analytics.quiz_dropoff import quiz_dropoff
from flask_funnel.db.models import (
    DailyCount,
    Lead,
    StageChange,
    StepView,
    Submission,
    Visit,
    metadata,
)
from flask_funnel.db.models import Visitor as VisitorRow
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.leads.privacy import erase
from flask_funnel.leads.quarantine import release
from flask_funnel.leads.stages import LEAD_STAGES, move_lead

PHONE = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
CURL = "curl/8.5.0"
UTC_SETTINGS = ReportSettings(ZoneInfo("UTC"), min_group=1)


def today() -> Period:
    day = datetime.now(UTC).date()
    return Period(day, day, ZoneInfo("UTC"))


def funnel_of(app, period: Period | None = None) -> dict:
    with app.extensions["funnel"].engine.connect() as connection:
        return build_report(connection, period or today(), UTC_SETTINGS)


def dropoff_of(app, slug: str = "home-brewing", period: Period | None = None) -> dict:
    state = app.extensions["funnel"]
    with state.engine.connect() as connection:
        steps = quiz_dropoff(connection, state.pages.get(slug), period or today())["steps"]
    return {step["step"]: step["visitors"] for step in steps}


def browser(app, user_agent: str = PHONE, slug: str = "home-brewing") -> Visitor:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return Visitor(client, slug)


def test_a_script_is_no_visitor_and_what_it_sends_is_quarantined(app, db_session):
    script = browser(app, CURL)
    script.land()
    assert script.submit(email="script@example.com").status_code == 303  # answered as any
    flush_visits(app)
    report = funnel_of(app)
    assert (report["visitors"], report["stages"][0]["reached"]) == (0, 0)
    assert db_session.scalars(select(Submission.quarantine_reason)).all() == ["bot_agent"]
    assert dropoff_of(app)["landing"] == 0 and dropoff_of(app)["question_1"] == 0


def test_a_visitor_straight_at_a_quiz_link_is_a_visitor_of_the_page(app):
    person = browser(app)
    person.step(1)  # a link to the quiz, shared in a chat: no landing view
    flush_visits(app)
    report = funnel_of(app)
    assert (report["visitors"], report["signed_up"]) == (1, 0)
    assert dropoff_of(app) == {
        "landing": 1,
        "question_1": 1,
        "question_2": 0,
        "question_3": 0,
        "contact": 0,
        "sent": 0,
    }
    person.submit()
    report = funnel_of(app)
    assert (report["visitors"], report["signed_up"]) == (1, 1)
    assert report["stages"][0]["step_rate"] == 1.0
    assert set(dropoff_of(app).values()) == {1}


def test_a_step_reached_by_its_link_counts_the_steps_before_it(app):
    browser(app).step(3, {"style": "black", "time": "5min"})
    flush_visits(app)
    counts = dropoff_of(app)
    assert [counts[f"question_{n}"] for n in (1, 2, 3)] == [1, 1, 1]
    assert counts["contact"] == 0


def test_a_post_without_any_page_view_still_comes_from_a_visitor(app, db_session):
    person = browser(app)
    form = person.contact_form()
    with writing(app.extensions["funnel"].engine) as connection:  # as if never seen
        connection.execute(delete(StepView))
        connection.execute(delete(VisitorRow))
    person.submit(form)
    report = funnel_of(app)
    assert (report["visitors"], report["signed_up"], report["stages"][0]["reached"]) == (1, 1, 1)


def test_a_caught_submission_takes_its_browser_out_of_every_count_until_released(app, db_session):
    person = browser(app, DESKTOP)
    person.land()
    person.submit(website="http://spam.example")  # the honeypot
    flush_visits(app)
    report = funnel_of(app)
    assert (report["visitors"], report["signed_up"], report["stages"][0]["reached"]) == (0, 0, 0)
    assert dropoff_of(app)["landing"] == 0
    lead_id = db_session.scalars(select(Lead.id)).one()
    assert release(app.extensions["funnel"].engine, lead_id, "admin@example.com")
    report = funnel_of(app)
    assert (report["visitors"], report["signed_up"], report["stages"][0]["reached"]) == (1, 1, 1)
    assert dropoff_of(app)["sent"] == 1


def test_a_later_real_submission_makes_a_suspected_browser_a_person(app):
    person = browser(app)
    person.submit(website="http://spam.example", email="first@example.com")
    person.submit(email="second@example.com")
    report = funnel_of(app)
    assert (report["visitors"], report["signed_up"], report["stages"][0]["reached"]) == (1, 1, 1)


def test_erasing_a_lead_forgets_the_browsers_it_used(app, db_session):
    person = browser(app)
    person.land()
    person.submit()
    flush_visits(app)
    lead_id = db_session.scalars(select(Lead.id)).one()
    assert erase(app.extensions["funnel"].engine, lead_id, "admin@example.com")
    db_session.rollback()  # a new read
    assert db_session.scalar(select(func.count()).select_from(VisitorRow)) == 0


# --- any mix of traffic ------------------------------------------------------------

USER_AGENTS = (PHONE, DESKTOP, CURL, "Googlebot/2.1 (+http://www.google.com/bot.html)", "")
EMAILS = tuple(f"{name}@example.com" for name in ("ann", "bob", "cara", "dev"))

visit = st.tuples(st.just("land"), st.sampled_from(("home-brewing", "qahve-dam")), st.booleans())
step = st.tuples(st.just("step"), st.integers(1, 4), st.booleans())
send = st.tuples(st.just("submit"), st.sampled_from(EMAILS), st.sampled_from(("", "", "spam")))
admin_action = st.one_of(
    st.tuples(st.just("move"), st.integers(0, 9), st.sampled_from(LEAD_STAGES)),
    st.tuples(st.just("release"), st.integers(0, 9), st.none()),
    st.tuples(st.just("erase"), st.integers(0, 9), st.none()),
    st.tuples(st.just("import"), st.sampled_from(EMAILS), st.none()),
    st.tuples(st.just("a day passes"), st.none(), st.none()),
)
#: (which of four browsers, (action, what, how)); the admin's actions name browser 0.
traffic = st.lists(
    st.tuples(st.integers(0, 3), st.one_of(visit, step, send))
    | st.tuples(st.just(0), admin_action),
    min_size=1,
    max_size=30,
)

#: Every time column the counts read, moved back a day when "a day passes".
TIMES = {
    VisitorRow: ["first_seen_at"],
    Visit: ["at"],
    StepView: ["at"],
    Submission: ["created_at"],
    StageChange: ["at"],
    Lead: [
        "created_at",
        "stage_changed_at",
        *(c.name for c in Lead.__table__.columns if c.name.startswith("reached_")),
    ],
}


@pytest.fixture(scope="module")
def mix_app(tmp_path_factory):
    return make_app(tmp_path_factory.mktemp("mix"))


def _empty(app) -> None:
    with writing(app.extensions["funnel"].engine) as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(delete(table))
        connection.execute(delete(DailyCount))  # last: the deletions fire its triggers


def _a_day_passes(app) -> None:
    with writing(app.extensions["funnel"].engine) as connection:
        for model, columns in TIMES.items():
            key = next(iter(model.__table__.primary_key.columns))
            for row in connection.execute(select(key, *(model.__table__.c[c] for c in columns))):
                earlier = {
                    c: value - timedelta(days=1)
                    for c, value in zip(columns, row[1:], strict=True)
                    if value is not None
                }
                connection.execute(update(model).where(key == row[0]).values(**earlier))


def _run(app, tmp_path, actions) -> None:
    state = app.extensions["funnel"]
    # Two people on phones, one at a desk, and a script.
    browsers = [browser(app, agent) for agent in (PHONE, PHONE, DESKTOP, CURL)]
    for who, (action, what, how) in actions:
        person = browsers[who]
        if action == "land":
            Visitor(person.client, what).land("?utm_source=ads" if how else "")
        elif action == "step":
            person.step(what, dict(list(ANSWERS.items())[: what - 1]) if how else {})
        elif action == "submit":
            person.submit(email=what, website=how)
        elif action == "import":
            contacts = tmp_path / "contacts.csv"
            contacts.write_text(f"email\n{what}\n", encoding="utf-8")
            app.test_cli_runner().invoke(args=["funnel", "import-leads", str(contacts)])
        elif action == "a day passes":
            flush_visits(app)
            _a_day_passes(app)
        else:
            with state.engine.connect() as connection:
                ids = connection.execute(select(Lead.id).order_by(Lead.id)).scalars().all()
            if not ids:
                continue
            lead_id = ids[what % len(ids)]
            if action == "move":
                move_lead(state.engine, lead_id, how, actor="admin@example.com")
            elif action == "release":
                release(state.engine, lead_id, "admin@example.com")
            else:
                erase(state.engine, lead_id, "admin@example.com")
    flush_visits(app)


def _rates(found, where: str = ""):
    """Every (place, value) of a key naming a rate or share in ``found``, nested."""
    if isinstance(found, dict):
        for key, value in found.items():
            if isinstance(value, (int, float)) and ("rate" in key or "share" in key):
                yield f"{where}.{key}", value
            else:
                yield from _rates(value, f"{where}.{key}")
    elif isinstance(found, list):
        for n, value in enumerate(found):
            yield from _rates(value, f"{where}[{n}]")


def _is_growth(place: str) -> bool:
    """Month against month may honestly pass 100%: it is a change, not a conversion."""
    return "change" in place


@settings(
    max_examples=int(os.environ.get("FUNNEL_PROPERTY_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=traffic)
def test_no_rate_passes_100_percent_on_any_mix_of_traffic(mix_app, tmp_path, actions):
    app, state = mix_app, mix_app.extensions["funnel"]
    _empty(app)
    _run(app, tmp_path, actions)
    assert_counts_match_leads(state.engine)  # the daily counts kept every visitor too
    day = datetime.now(UTC).date()
    periods = [today(), Period(day - timedelta(days=6), day, ZoneInfo("UTC"))]
    with state.engine.connect() as connection:
        for period in periods:
            found = [build_report(connection, period, UTC_SETTINGS, by=by) for by in BREAKDOWNS]
            for page in state.pages.pages():
                found.append(quiz_dropoff(connection, page, period))
                found += [variant_test(connection, page, period, s) for s in ("lead", "mql")]
            for place, value in _rates(found):
                if not _is_growth(place):
                    assert 0 <= value <= 1, f"{place} = {value} in {period}"


def test_the_dashboard_shows_each_group_s_visitors_and_how_many_signed_up(app, admin_client):
    person, looker = browser(app), browser(app, DESKTOP)
    person.land("?utm_source=ads")
    looker.land("?utm_source=ads")
    person.submit()
    page = admin_client.get("/p/admin/?by=source").text
    table = page[page.index('id="breakdown-heading"') :]
    headers = re.findall(r'<th scope="col">([^<]*)</th>', table[: table.index("</thead>")])
    cells = re.findall(
        r"<td>([^<]*)</td>",
        table[table.index("<tbody>") : table.index("</tr>", table.index("<tbody>"))],
    )
    row = dict(zip(headers[1:], cells, strict=False))
    assert (row["Visitors"], row["Signed up"], row["Visit → lead"]) == ("2", "1", "50%")
