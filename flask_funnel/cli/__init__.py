"""The ``flask funnel`` command group, one module per area (``group.COMMAND_MODULES``),
imported when the command line asks for a command, never in a web worker."""

from __future__ import annotations

from flask import Flask

from flask_funnel.cli.group import funnel_cli


def init_app(app: Flask) -> None:
    app.cli.add_command(funnel_cli)
