"""The ``flask funnel`` command group."""

from __future__ import annotations

import sys

import click
from flask import current_app, url_for
from flask.cli import with_appcontext

from .export import lead_rows, write_csv, write_json
from .extension import current_funnel


@click.group("funnel")
def funnel_cli() -> None:
    """Landing pages and leads of the funnel."""


@funnel_cli.command("pages")
@with_appcontext
def list_pages() -> None:
    """List every page file: slug, URL and whether it is valid (exit 1 if one is not)."""
    files = current_funnel().pages.files()
    if not files:
        click.echo(f"No page files in {current_funnel().pages.pages_dir}")
        return
    broken = 0
    for page_file in files:
        if page_file.page is not None:
            page = page_file.page
            click.echo(f"ok       {page.slug:<24} {_page_url(page.slug):<32} {page_file.path.name}")
            continue
        broken += 1
        click.echo(f"INVALID  {'-':<24} {'-':<32} {page_file.path.name}")
        for error in page_file.errors:
            click.echo(f"         {error}")
    if broken:
        click.echo(f"{broken} of {len(files)} page files are invalid.", err=True)
        sys.exit(1)


def _page_url(slug: str) -> str:
    with current_app.test_request_context():
        return url_for("funnel.landing", slug=slug)


@funnel_cli.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="csv", show_default=True
)
@click.option(
    "--output",
    "-o",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="File to write (default: standard output).",
)
@click.option("--include-quarantined", is_flag=True, help="Also export suspected bot entries.")
@with_appcontext
def export_leads(fmt: str, output, include_quarantined: bool) -> None:
    """Write every captured lead (email, name, stage, page, answers, score, source, time)."""
    rows = lead_rows(current_funnel().session, include_quarantined=include_quarantined)
    count = (write_json if fmt == "json" else write_csv)(rows, output)
    click.echo(f"Exported {count} leads.", err=True)
