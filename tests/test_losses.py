"""Why leads are lost (a reason from the site's list, asked for on every move to lost)
and how long each step of the funnel takes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import Visitor
from sqlalchemy import select
from test_admin import csrf, lead_id
from test_report import add, move, report

from flask_funnel.db.models import StageChange
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.leads import stages
from flask_funnel.settings import SettingsError

NOW = datetime.now(UTC)


@pytest.fixture
def ann(client):
    Visitor(client).submit(email="ann@example.com", name="Ann")


def lose(engine, lead_ids, why, at=NOW - timedelta(hours=1)):
    with writing(engine) as connection:
        for lead in lead_ids:
            stages.move(connection, lead, "lost", actor="x", at=at, lost_reason=why)


def test_an_admin_moving_a_lead_to_lost_is_asked_why(admin_client, ann, db_session):
    page = f"/p/admin/leads/{lead_id(db_session, 'ann@example.com')}"
    token = csrf(admin_client, page)
    form = admin_client.get(page).text
    assert 'name="lost_reason"' in form and "chose another offer" in form
    unasked = admin_client.post(
        page, data={"intent": "stage", "csrf_token": token, "stage": "lost", "reason": "went quiet"}
    )
    assert unasked.status_code == 422 and "Pick why the lead was lost." in unasked.text
    assert 'value="went quiet"' in unasked.text  # what was typed stays
    made_up = admin_client.post(
        page,
        data={
            "intent": "stage",
            "csrf_token": token,
            "stage": "lost",
            "lost_reason": "aliens",
            "reason": "x",
        },
    )
    assert made_up.status_code == 422 and "Not a valid choice." in made_up.text
    moved = admin_client.post(
        page,
        data={
            "intent": "stage",
            "csrf_token": token,
            "stage": "lost",
            "lost_reason": "no budget",
            "reason": "x",
        },
    )
    assert moved.status_code == 303
    db_session.rollback()
    lost = select(StageChange.lost_reason).where(StageChange.to_stage == "lost")
    assert db_session.scalars(lost).all() == ["no budget"]
    assert "no budget" in admin_client.get("/p/admin/").text


def test_the_command_line_asks_why_too(runner, ann):
    asked = runner.invoke(args=["funnel", "stage", "ann@example.com", "lost", "--reason", "x"])
    assert asked.exit_code == 2 and "--lost-reason is required with lost" in asked.output
    moved = runner.invoke(
        args=[
            *("funnel", "stage", "ann@example.com", "lost", "--reason", "x"),
            *("--lost-reason", "bad timing"),
        ]
    )
    assert moved.exit_code == 0, moved.output


def test_the_report_counts_lost_leads_by_reason_by_stage_and_month(app):
    engine = app.extensions["funnel"].engine
    early = add(engine, 6, at=NOW - timedelta(days=3))
    move(engine, early[:4], "sal", NOW - timedelta(days=2))
    lose(engine, early[:3], "no budget")
    lose(engine, early[3:5], "chose another offer")
    lose(engine, early[5:], None)  # lost by a rule, no reason
    losses = report(app)["losses"]
    assert losses["lost"] == 6
    assert [(r["reason"], r["lost"]) for r in losses["by_reason"]] == [
        ("no budget", 3),
        ("chose another offer", 2),
        (None, 1),
    ]
    assert [(r["stage"], r["lost"]) for r in losses["by_stage"]] == [("lead", 2), ("sal", 4)]
    this_month = {r["reason"]: r["this_month"] for r in losses["months"]["by_reason"]}
    assert this_month["no budget"] == 3


def test_each_step_s_median_and_80th_percentile(app):
    engine = app.extensions["funnel"].engine
    for days in (1, 2, 3, 4, 10):
        [lead] = add(engine, 1, at=NOW - timedelta(days=days + 1))
        move(engine, [lead], "mql", NOW - timedelta(days=1))
    steps = {(d["from"], d["to"]): d for d in report(app)["durations"]}
    lead_to_mql = steps["lead", "mql"]
    assert (lead_to_mql["leads"], lead_to_mql["median_days"], lead_to_mql["p80_days"]) == (
        5,
        3.0,
        5.2,  # between 4 and 10 days, 80% of the way along the sorted five
    )
    assert steps["mql", "sal"]["leads"] == 0 and steps["mql", "sal"]["median_days"] is None


@pytest.mark.parametrize("reasons", [[], ["ok", "ok"], ["x" * 61], "no budget", [5]])
def test_a_bad_list_of_reasons_stops_the_app_and_names_the_key(tmp_path, reasons):
    from conftest import make_app

    with pytest.raises(SettingsError, match="FUNNEL_LOST_REASONS"):
        make_app(tmp_path, FUNNEL_LOST_REASONS=reasons)
