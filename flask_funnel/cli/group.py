"""The ``flask funnel`` command group; each module of this package adds its commands."""

from __future__ import annotations

import click
from flask.cli import ScriptInfo
from sqlalchemy import inspect
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from flask_funnel.db.models import metadata
from flask_funnel.state import current_funnel

MISSING_TABLES = "The funnel's tables are missing: run `flask db upgrade` first."


class FunnelGroup(click.Group):
    """A command group that answers a database without the funnel's tables in one line,
    not with the database's traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        # SQLite says "no such table" in an OperationalError, PostgreSQL and MariaDB in a
        # ProgrammingError, each in its own words: the database is asked instead.
        except (OperationalError, ProgrammingError):
            if _tables_missing(ctx):
                raise click.ClickException(MISSING_TABLES) from None
            raise


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
