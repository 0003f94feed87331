"""``flask funnel create-admin``: local admin accounts."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from flask_funnel.auth.accounts import create_admin
from flask_funnel.cli.group import funnel_cli
from flask_funnel.state import current_funnel
from flask_funnel.values import FieldError


@funnel_cli.command("create-admin")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_admin_command(email: str, password_stdin: bool) -> None:
    """Create a local admin account (the password is prompted for, never an argument)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        admin_id = create_admin(current_funnel().engine, email, password)
    except FieldError as error:
        raise click.UsageError(str(error)) from None
    click.echo(f"Admin {admin_id} created.")
