"""The ``flask funnel`` commands: page check and lead export."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from conftest import BACKENDS, DEMO_PAGES, Visitor, add_leads, make_app


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


# --- admin accounts -----------------------------------------------------------------

PASSWORD_RULE = "The password needs at least 12 characters."
NEW_PASSWORD = "a brand new passphrase"


def _sign_in(client, email, password):
    from conftest import hidden_fields

    token = hidden_fields(client.get("/p/admin/sign-in").text)["csrf_token"]
    return client.post(
        "/p/admin/sign-in", data={"csrf_token": token, "email": email, "password": password}
    )


def _audit(db_session) -> list[tuple[str, str, str | None]]:
    from sqlalchemy import select

    from flask_funnel.db.models import AuditEntry

    db_session.rollback()
    query = select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail)
    return db_session.execute(query.order_by(AuditEntry.id)).all()


def test_create_admin_states_the_rule_then_asks_again_after_a_short_password(runner, db_session):
    from sqlalchemy import select

    from flask_funnel.db.models import Admin

    result = runner.invoke(
        args=["funnel", "create-admin", "boss@shop.example"],
        input=f"short\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.index(PASSWORD_RULE) < result.output.index("Password:")
    assert "Error: the password must have at least 12 characters" in result.output
    assert result.output.count("Password:") == 2 and "Admin 1 created." in result.output
    assert db_session.scalars(select(Admin.email)).all() == ["boss@shop.example"]


def test_create_admin_with_a_short_password_on_stdin_fails_at_once(runner, db_session):
    from sqlalchemy import select

    from flask_funnel.db.models import Admin

    result = runner.invoke(
        args=["funnel", "create-admin", "boss@shop.example", "--password-stdin"],
        input=f"short\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 2
    assert "password: must have at least 12 characters" in result.output
    assert "Password:" not in result.output
    assert db_session.scalars(select(Admin)).all() == []


def test_reset_password_asks_twice_ends_the_sessions_and_is_audited(
    app, runner, admin_client, db_session
):
    from conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    result = runner.invoke(
        args=["funnel", "reset-password", ADMIN_EMAIL],
        input=f"short\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.index(PASSWORD_RULE) < result.output.index("New password:")
    assert "Error: the password must have at least 12 characters" in result.output
    assert "Repeat for confirmation:" in result.output and NEW_PASSWORD not in result.output
    assert admin_client.get("/p/admin/leads").status_code == 302  # signed out
    assert _sign_in(app.test_client(), ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 401
    assert _sign_in(app.test_client(), ADMIN_EMAIL, NEW_PASSWORD).status_code == 303
    assert ("cli", "password_reset", ADMIN_EMAIL) in _audit(db_session)


def test_reset_password_from_stdin_keeps_the_rule(app, runner):
    from flask_funnel.auth import accounts

    accounts.create_admin(app.extensions["funnel"].engine, "boss@shop.example", NEW_PASSWORD)
    args = ["funnel", "reset-password", "boss@shop.example", "--password-stdin"]
    short = runner.invoke(args=args, input="short\n")
    assert short.exit_code == 2 and "password: must have at least 12 characters" in short.output
    assert runner.invoke(args=args, input="another good passphrase\n").exit_code == 0
    signed_in = _sign_in(app.test_client(), "boss@shop.example", "another good passphrase")
    assert signed_in.status_code == 303


def test_admin_commands_name_an_unknown_admin_before_asking_anything(runner):
    for command in ("reset-password", "disable-admin", "enable-admin"):
        result = runner.invoke(args=["funnel", command, "Nobody@Shop.example"])
        assert result.exit_code == 2, result.output
        assert "EMAIL: no admin has the address nobody@shop.example" in result.output
        assert "Password" not in result.output


def test_a_disabled_admin_cannot_sign_in_until_enabled_again(app, runner, admin_client, db_session):
    from conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    old_cookie = admin_client.get_cookie("session").value
    disabled = runner.invoke(args=["funnel", "disable-admin", ADMIN_EMAIL.upper()])
    assert disabled.exit_code == 0, disabled.output
    assert f"{ADMIN_EMAIL} is disabled" in disabled.output
    assert admin_client.get("/p/admin/leads").status_code == 302  # its session ended
    assert _sign_in(app.test_client(), ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 401
    again = runner.invoke(args=["funnel", "disable-admin", ADMIN_EMAIL])
    assert again.exit_code == 0 and "disabled already" in again.output

    enabled = runner.invoke(args=["funnel", "enable-admin", ADMIN_EMAIL])
    assert enabled.exit_code == 0 and f"{ADMIN_EMAIL} may sign in again." in enabled.output
    assert _sign_in(app.test_client(), ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 303
    admin_client.set_cookie("session", old_cookie)  # re-enabling brings no old session back
    assert admin_client.get("/p/admin/leads").status_code == 302
    assert "is not disabled" in runner.invoke(args=["funnel", "enable-admin", ADMIN_EMAIL]).output

    changes = [(action, detail) for actor, action, detail in _audit(db_session) if actor == "cli"]
    assert changes == [("admin_disabled", ADMIN_EMAIL), ("admin_enabled", ADMIN_EMAIL)]


# --- a database without the funnel's tables -----------------------------------------

MISSING_TABLES = "Error: The funnel's tables are missing: run `flask db upgrade` first.\n"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_command_on_an_unmigrated_database_says_to_migrate(backend, fresh_database, tmp_path):
    from landing import create_app, funnel

    leads = tmp_path / "leads.csv"
    leads.write_text("email\nann@example.com\n", encoding="utf-8")
    exported = tmp_path / "export.json"
    app = create_app(
        {
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": fresh_database(backend),
            "FUNNEL_GEOIP_PATH": None,
            "FUNNEL_MAIL_FROM": "guide@shop.example",
            "FUNNEL_NOTIFY_EMAILS": ["sales@shop.example"],
        }
    )
    commands = [
        ["export", "--format", "json"],
        ["export", "--format", "csv"],
        ["export", "--format", "json", "-o", str(exported)],
        ["import-leads", str(leads)],
        ["purchase", "ann@example.com", "--amount", "49", "--currency", "EUR"],
        ["stage", "ann@example.com", "sal", "--reason", "called"],
        ["note", "ann@example.com", "called"],
        ["follow-up", "ann@example.com", "--due", "2030-01-02"],
        ["follow-ups"],
        ["report"],
        ["recount"],
        ["deliver"],
        ["digest"],
        ["create-admin", "boss@shop.example", "--password-stdin"],
        ["reset-password", "boss@shop.example", "--password-stdin"],
        ["disable-admin", "boss@shop.example"],
        ["enable-admin", "boss@shop.example"],
    ]
    try:
        runner = app.test_cli_runner()
        for command in commands:
            result = runner.invoke(args=["funnel", *command], input=f"{NEW_PASSWORD}\n")
            assert result.exit_code == 1, (command, result.output)
            assert result.output == MISSING_TABLES, (command, result.output)
            assert result.stdout == "", command  # not even an export's "[" or CSV header
        assert not exported.exists()
    finally:
        with app.app_context():
            funnel.db.engine.dispose()


def test_other_database_errors_are_not_taken_for_missing_tables(app, runner, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def locked(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr("flask_funnel.cli.leads.due_follow_ups", locked)
    result = runner.invoke(args=["funnel", "follow-ups"])
    assert isinstance(result.exception, OperationalError)
    assert "tables are missing" not in result.output


# --- what the commands print ----------------------------------------------------------


def test_commands_do_not_warn_about_the_embedded_sqlite_database_but_serving_does(
    tmp_path, monkeypatch, caplog
):
    from flask import Flask

    from landing import create_app, funnel

    # No database named: the demo makes an SQLite file in its instance folder, here.
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path))
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "FUNNEL_GEOIP_PATH": None})
    with app.app_context():
        funnel.db.create_all()
    try:
        for command in (["pages"], ["follow-ups"], ["export"]):
            assert app.test_cli_runner().invoke(args=["funnel", *command]).exit_code == 0
        assert "embedded SQLite" not in caplog.text
        client = app.test_client()
        client.get("/")
        client.get("/p/home-brewing")
        warnings = [r for r in caplog.records if "embedded SQLite" in r.getMessage()]
        assert len(warnings) == 1 and str(tmp_path / "funnel.sqlite3") in warnings[0].getMessage()
    finally:
        with app.app_context():
            funnel.db.engine.dispose()


def test_report_forecast_speaks_of_the_days_the_dashboard_shows(runner, admin_client):
    printed = runner.invoke(args=["funnel", "report"]).output
    dashboard = admin_client.get("/p/admin/").text
    for days in (30, 60, 90):
        assert f"next {days} days:" in printed
        assert f"Next {days} days" in dashboard
    assert "month(s)" not in printed


LONG_EMAIL = f"{'x' * 48}@example.com"  # 60 characters


def test_follow_ups_line_up_with_a_60_character_email(app, runner):
    from datetime import UTC, datetime, timedelta

    from conftest import sign_up

    from flask_funnel.leads.notes import add_follow_up

    assert len(LONG_EMAIL) == 60
    engine = app.extensions["funnel"].engine
    now = datetime.now(UTC)
    for email, days, note in (
        ("ann@example.com", -1, "call back"),
        (LONG_EMAIL, 1, "send the offer"),
        ("bo@example.com", 2, ""),
    ):
        add_follow_up(engine, sign_up(app, email), "boss", now + timedelta(days=days), note)
    lines = runner.invoke(args=["funnel", "follow-ups"]).output.splitlines()
    assert len(lines) == 3 and lines[0].startswith("OVERDUE ")
    emails = ("ann@example.com", LONG_EMAIL, "bo@example.com")
    starts = {line.index(email) for line, email in zip(lines, emails, strict=True)}
    stages = {line.index(" mql", line.index("@")) for line in lines}
    notes = {lines[0].index("call back"), lines[1].index("send the offer")}
    assert len(starts) == len(stages) == len(notes) == 1, "\n".join(lines)
    assert stages.pop() >= starts.pop() + 60 and lines[2].endswith("mql")


def test_pages_line_up_with_a_long_slug(pages_dir):
    import re

    page = (pages_dir / "home-brewing.toml").read_text("utf-8")
    slug = "home-brewing-for-the-whole-autumn-campaign"
    (pages_dir / "autumn.toml").write_text(page.replace('"home-brewing"', f'"{slug}"'), "utf-8")
    app = make_app(pages_dir.parent, FUNNEL_PAGES_DIR=str(pages_dir))
    output = app.test_cli_runner().invoke(args=["funnel", "pages"]).output
    headings = [line for line in output.splitlines() if line.startswith("ok ")]
    assert len(headings) == 3 and f"/p/{slug}" in output
    assert len({line.index("/p/") for line in headings}) == 1, output
    assert len({re.search(r"\S+\.toml$", line).start() for line in headings}) == 1, output
    assert all(line.startswith("ok       ") for line in headings)  # under it, the details
