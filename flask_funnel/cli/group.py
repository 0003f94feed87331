"""The ``flask funnel`` command group; each module of this package adds its commands."""

from __future__ import annotations

import click


@click.group("funnel")
def funnel_cli() -> None:
    """Landing pages and leads of the funnel."""
