"""Local admin accounts: creation from the command line, password checks, audit."""

from __future__ import annotations

from sqlalchemy import select

from flask_funnel.auth import accounts
from flask_funnel.db.models import Admin, AuditEntry

PASSWORD = "correct horse battery"


def test_create_admin_reads_the_password_from_stdin_and_hashes_it(runner, db_session):
    result = runner.invoke(
        args=["funnel", "create-admin", "Boss@Shop.example", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    admin = db_session.scalars(select(Admin)).one()
    assert admin.email == "boss@shop.example"
    assert PASSWORD not in admin.password_hash
    assert admin.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_create_admin_prompts_twice_when_interactive(runner, db_session):
    result = runner.invoke(
        args=["funnel", "create-admin", "boss@shop.example"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output


def test_create_admin_refuses_short_passwords_bad_emails_and_duplicates(runner):
    short = runner.invoke(
        args=["funnel", "create-admin", "a@shop.example", "--password-stdin"], input="short\n"
    )
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    bad = runner.invoke(
        args=["funnel", "create-admin", "not-an-email", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert bad.exit_code == 2 and "not a valid email address" in bad.output
    for _ in range(2):
        last = runner.invoke(
            args=["funnel", "create-admin", "a@shop.example", "--password-stdin"],
            input=PASSWORD + "\n",
        )
    assert last.exit_code == 2 and "exists already" in last.output


def test_sign_in_checks_the_password_and_audits_every_attempt(app, db_session):
    engine = app.extensions["funnel"].engine
    accounts.create_admin(engine, "boss@shop.example", PASSWORD)
    assert accounts.sign_in(engine, "boss@shop.example", "wrong password!", "10.0.0.1") is None
    assert accounts.sign_in(engine, "ghost@shop.example", PASSWORD, "10.0.0.1") is None
    signed_in = accounts.sign_in(engine, "Boss@Shop.example", PASSWORD, "10.0.0.2")
    assert signed_in is not None and signed_in.email == "boss@shop.example"
    rows = db_session.execute(
        select(AuditEntry.actor, AuditEntry.action, AuditEntry.ip).order_by(AuditEntry.id)
    ).all()
    assert rows == [
        ("boss@shop.example", "sign_in_failed", "10.0.0.1"),
        ("ghost@shop.example", "sign_in_failed", "10.0.0.1"),
        ("boss@shop.example", "sign_in", "10.0.0.2"),
    ]


def test_ending_sessions_raises_the_version_so_old_cookies_stop_working(app):
    engine = app.extensions["funnel"].engine
    admin_id = accounts.create_admin(engine, "boss@shop.example", PASSWORD)
    before = accounts.session_version(engine, admin_id)
    accounts.end_sessions(engine, admin_id, "boss@shop.example", None)
    assert accounts.session_version(engine, admin_id) == before + 1
    assert accounts.session_version(engine, 999) is None
