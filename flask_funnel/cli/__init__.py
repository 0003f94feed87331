"""The ``flask funnel`` command group, one module per area."""

from __future__ import annotations

from flask import Flask

from flask_funnel.cli import admins, deliver, leads, pages, report  # noqa: F401  (they add commands)
from flask_funnel.cli.group import funnel_cli


def init_app(app: Flask) -> None:
    app.cli.add_command(funnel_cli)
