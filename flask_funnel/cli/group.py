"""The ``flask funnel`` command group; each module of this package adds its commands."""

from __future__ import annotations

import importlib

import click
from flask.cli import ScriptInfo
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from flask_funnel.db.models import metadata
from flask_funnel.state import current_funnel

MISSING_TABLES = "The funnel's tables are missing: run `flask db upgrade` first."
#: The modules of this package that add commands. They import what their commands need
#: (an HTTP client, a TOML writer, the report), so they load only when the command
#: line lists or runs a command: a web worker never pays for them.
COMMAND_MODULES = ("admins", "deliver", "leads", "pages", "report")


class FunnelGroup(click.Group):
    """A command group whose commands load on first use, and that answers a database
    without the funnel's tables in one line, not with the database's traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        _load_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        _load_commands()
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        # SQLite says "no such table" in an OperationalError, PostgreSQL and MariaDB in a
        # ProgrammingError, each in its own words: the database is asked instead.
        except (OperationalError, ProgrammingError):
            if _tables_missing(ctx):
                raise click.ClickException(MISSING_TABLES) from None
            raise


def _load_commands() -> None:
    for module in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{module}")


def _tables_missing(ctx: click.Context) -> bool:
    script_info = ctx.find_object(ScriptInfo)
    if script_info is None:
        return False
    app = script_info.load_app()
    with app.app_context():
        try:
            present = set(inspect(current_funnel().engine).get_table_names())
        except SQLAlchemyError:  # e.g. the server is unreachable: its own error says more
            return False
    return not set(metadata.tables) <= present


@click.group("funnel", cls=FunnelGroup)
def funnel_cli() -> None:
    """Landing pages and leads of the funnel."""
