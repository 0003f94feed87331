"""The ``flask funnel`` commands: page check and lead export."""

from __future__ import annotations

import csv
import io
import json
import shutil

from conftest import DEMO_PAGES, Visitor, add_leads, make_app


def test_pages_lists_every_page_with_its_url(runner):
    result = runner.invoke(args=["funnel", "pages"])
    assert result.exit_code == 0, result.output
    assert "home-brewing" in result.output and "/p/home-brewing" in result.output
    assert "qahve-dam" in result.output and "/p/qahve-dam" in result.output


def test_pages_names_the_broken_file_and_field_and_exits_non_zero(tmp_path):
    pages = tmp_path / "pages"
    shutil.copytree(DEMO_PAGES, pages)
    broken = (pages / "home-brewing.toml").read_text("utf-8").replace("mql_threshold = 7", "")
    (pages / "broken.toml").write_text(broken.replace('"home-brewing"', '"other"'), "utf-8")
    app = make_app(tmp_path, FUNNEL_PAGES_DIR=str(pages))
    result = app.test_cli_runner().invoke(args=["funnel", "pages"])
    assert result.exit_code == 1
    assert "INVALID" in result.output
    assert "broken.toml: mql_threshold: is required" in result.output
    assert "ok       home-brewing" in result.output


def _submit(client, **fields):
    response = Visitor(client).submit(**fields)
    assert response.status_code == 303, response.text
    return response


def test_export_json_has_the_lead_fields(client, runner):
    client.get("/p/home-brewing?utm_source=newsletter")
    _submit(client, email="Ann@Example.com", name="Ann")
    result = runner.invoke(args=["funnel", "export", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert row["email"] == "ann@example.com"
    assert row["name"] == "Ann"
    assert row["stage"] == "mql"  # 7 points reach the page's mql_threshold
    assert row["landing_page"] == "home-brewing"
    assert row["answers"] == {"style": "black", "time": "5min", "gear": "grinder"}
    assert row["score"] == 7
    assert row["source"] == "newsletter"
    assert row["created_at"].endswith("+00:00")


def test_export_csv_neutralises_formulas_and_round_trips_awkward_text(client, runner, tmp_path):
    _submit(client, email="a@example.com", name='=HYPERLINK("http://x","y")')
    _submit(client, email="b@example.com", name='Quote ", comma')
    _submit(client, email="c@example.com", name="@SUM(A1)")
    out = tmp_path / "leads.csv"
    result = runner.invoke(args=["funnel", "export", "--format", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    names = [r["name"] for r in rows]
    assert names == ['\'=HYPERLINK("http://x","y")', 'Quote ", comma', "'@SUM(A1)"]
    assert json.loads(rows[0]["answers"]) == {"style": "black", "time": "5min", "gear": "grinder"}
    assert rows[0]["score"] == "7"


def test_export_keeps_the_latest_answers_of_a_returning_lead(client, runner):
    visitor = Visitor(client)
    visitor.submit(email="x@example.com")
    form = visitor.contact_form({"style": "iced", "time": "1min", "gear": "none"})
    visitor.submit(form, email="x@example.com")
    rows = json.loads(runner.invoke(args=["funnel", "export", "--format", "json"]).stdout)
    assert rows[0]["answers"]["style"] == "iced" and rows[0]["score"] == 1


def test_export_of_many_leads_streams_in_batches(tmp_path):
    app = make_app(tmp_path)
    add_leads(app, 2500)
    result = app.test_cli_runner().invoke(args=["funnel", "export", "--format", "json"])
    rows = json.loads(result.stdout)
    assert len(rows) == 2500 and len({r["email"] for r in rows}) == 2500


def test_pages_lists_each_pages_locales_and_place_rules(runner):
    output = runner.invoke(args=["funnel", "pages"]).output
    assert "locales: en, fa" in output
    assert "place london: city GB/london" in output
    assert "place persian: country AF, IR, TJ -> fa" in output


ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m"


def test_escape_sequences_in_lead_data_never_reach_the_terminal(app, runner):
    from datetime import UTC, datetime, timedelta

    from conftest import sign_up

    from flask_funnel.leads.notes import add_follow_up

    engine = app.extensions["funnel"].engine
    lead_id = sign_up(app, "ann@example.com")
    add_follow_up(engine, lead_id, "boss", datetime.now(UTC) - timedelta(days=1), ESCAPES)
    output = runner.invoke(args=["funnel", "follow-ups"]).output
    assert not any(c in output for c in "\x1b\x07\x9b"), output
    assert "\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m" in output


def test_a_failed_statement_keeps_its_parameters_out_of_the_error(app):
    import traceback

    import pytest
    from conftest import sign_up
    from sqlalchemy import insert
    from sqlalchemy.exc import DBAPIError

    from flask_funnel.db.models import Lead
    from flask_funnel.db.types import utcnow

    engine = app.extensions["funnel"].engine
    sign_up(app, "secret.person@example.com")
    now = utcnow()
    lead = {"stage": "lead", "stage_changed_at": now, "created_at": now, "updated_at": now}
    # A row missing a required value, and one whose email is taken: PostgreSQL and
    # MariaDB quote the row in their own message about either.
    for values in (
        {"email": "no.stage@example.com", "quarantined": False},
        {"email": "secret.person@example.com", "quarantined": False, **lead},
    ):
        with pytest.raises(DBAPIError) as failure, engine.begin() as connection:
            connection.execute(insert(Lead), values)
        logged = "".join(traceback.format_exception(failure.value))  # with its cause
        assert values["email"] not in logged, logged
        assert "SQL parameters hidden" in str(failure.value)


def test_an_export_to_a_terminal_shows_escapes_and_to_a_file_keeps_them(app, runner, tmp_path):
    import os

    from conftest import sign_up
    from sqlalchemy import update

    from flask_funnel.db.models import Lead

    sign_up(app, "ann@example.com")
    with app.extensions["funnel"].engine.begin() as connection:
        connection.execute(update(Lead).values(name=f"Ann{ESCAPES}"))
    import select

    main, terminal = os.openpty()
    try:
        result = runner.invoke(args=["funnel", "export", "-o", os.ttyname(terminal)])
        assert result.exit_code == 0, result.output
        shown = b""  # one read may return only the first of the lines written
        while select.select([main], [], [], 0.5)[0]:
            shown += os.read(main, 65536)
        shown = shown.decode("utf-8")
    finally:
        os.close(main), os.close(terminal)
    assert "Ann\\u001b]0;pwned" in shown and "\x1b" not in shown
    saved = tmp_path / "leads.csv"
    runner.invoke(args=["funnel", "export", "-o", str(saved)])
    assert f"Ann{ESCAPES}" in saved.read_text(encoding="utf-8")
