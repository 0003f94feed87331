"""Local admin accounts from a terminal: ``flask funnel create-admin``, ``reset-password``,
``disable-admin`` and ``enable-admin``. Passwords are prompted for, never arguments."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import Row, select

from flask_funnel.auth import accounts
from flask_funnel.cli.group import funnel_cli
from flask_funnel.db.models import Admin
from flask_funnel.state import current_funnel
from flask_funnel.values import FieldError, email_key

PASSWORD_RULE = f"The password needs at least {accounts.MIN_PASSWORD_LENGTH} characters."
#: Who the audit trail says made a change from the command line (as for purchases, stages).
ACTOR = "cli"

_password_stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input."
)


@funnel_cli.command("create-admin")
@click.argument("email")
@_password_stdin_option
@with_appcontext
def create_admin_command(email: str, password_stdin: bool) -> None:
    """Create a local admin account (the password is prompted for, never an argument)."""
    password = _new_password("Password", password_stdin)
    try:
        admin_id = accounts.create_admin(current_funnel().engine, email, password)
    except FieldError as error:
        raise click.UsageError(str(error)) from None
    click.echo(f"Admin {admin_id} created.")


@funnel_cli.command("reset-password")
@click.argument("email")
@_password_stdin_option
@with_appcontext
def reset_password(email: str, password_stdin: bool) -> None:
    """Give the admin EMAIL a new password; the admin's sessions end."""
    admin = _admin(email)
    password = _new_password("New password", password_stdin)
    accounts.set_password(current_funnel().engine, admin.id, password, ACTOR)
    click.echo(f"The password of {admin.email} is changed; its sessions have ended.")
    if admin.disabled:
        click.echo(f"It is disabled: `flask funnel enable-admin {admin.email}` lets it sign in.")


@funnel_cli.command("disable-admin")
@click.argument("email")
@with_appcontext
def disable_admin(email: str) -> None:
    """Stop the admin EMAIL from signing in (with a password or Google); the admin's
    sessions end. `enable-admin` undoes it."""
    admin = _admin(email)
    if accounts.set_disabled(current_funnel().engine, admin.id, True, ACTOR):
        click.echo(f"{admin.email} is disabled: it cannot sign in, and its sessions have ended.")
    else:
        click.echo(f"{admin.email} is disabled already.")


@funnel_cli.command("enable-admin")
@click.argument("email")
@with_appcontext
def enable_admin(email: str) -> None:
    """Let the admin EMAIL, disabled by `disable-admin`, sign in again."""
    admin = _admin(email)
    if accounts.set_disabled(current_funnel().engine, admin.id, False, ACTOR):
        click.echo(f"{admin.email} may sign in again.")
    else:
        click.echo(f"{admin.email} is not disabled.")


def _admin(email: str) -> Row:
    with current_funnel().engine.connect() as connection:
        admin = connection.execute(
            select(Admin.id, Admin.email, Admin.disabled).where(Admin.email == email_key(email))
        ).first()
    if admin is None:
        raise click.UsageError(f"EMAIL: no admin has the address {email_key(email)}")
    return admin


def _new_password(prompt: str, from_stdin: bool) -> str:
    """A password that keeps the rule. From standard input, a wrong one ends the command;
    at a prompt, the rule is said first and the question asked again until one keeps it."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
        try:
            accounts.check_password_rule(password)
        except FieldError as error:
            raise click.UsageError(str(error)) from None
        return password
    click.echo(PASSWORD_RULE)
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True, value_proc=_kept_rule)


def _kept_rule(password: str) -> str:
    try:
        accounts.check_password_rule(password)
    except FieldError as error:
        raise click.BadParameter(f"the password {error.message}") from None
    return password
