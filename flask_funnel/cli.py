"""The ``flask funnel`` command group."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click
from flask import current_app, url_for
from flask.cli import with_appcontext

from . import stages
from .accounts import AccountError, create_admin
from .export import lead_rows, write_csv, write_json
from .extension import current_funnel
from .imports import import_leads
from .lead_work import WorkError, add_follow_up, add_note, due_follow_ups, lead_id_for
from .purchases import PurchaseError
from .report import BREAKDOWNS, build_report
from .report_period import PeriodError, parse_period
from .report_text import report_text
from .sqlite_writer import writing


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


@funnel_cli.command("purchase")
@click.argument("email")
@click.option("--amount", required=True, help="e.g. 49 or 49.90")
@click.option("--currency", required=True, help="three-letter code, e.g. EUR")
@click.option("--at", "at", default=None, help="date (YYYY-MM-DD) or ISO time; default now")
@click.option("--ref", "reference", default=None, help="the shop's order reference")
@with_appcontext
def purchase(email: str, amount: str, currency: str, at: str | None, reference: str | None):
    """Record a purchase: the first makes the lead a customer, the second a repeat customer."""
    try:
        result = current_funnel().extension.record_purchase(
            email=email, amount=amount, currency=currency, at=at, reference=reference, actor="cli"
        )
    except PurchaseError as error:
        raise click.UsageError(
            f"--{error.field}: {error.message}"
            if error.field in ("amount", "currency", "at", "ref")
            else str(error)
        ) from None
    if result.duplicate:
        click.echo(
            f"Purchase {reference} was recorded before (lead {result.lead_id}); nothing changed."
        )
        return
    click.echo(
        f"Purchase {result.purchase_id} recorded; lead {result.lead_id} is now {result.stage}."
    )


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
    except AccountError as error:
        raise click.UsageError(str(error)) from None
    click.echo(f"Admin {admin_id} created.")


@funnel_cli.command("import-leads")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the valid rows and report the others (default: all or nothing).",
)
@with_appcontext
def import_leads_command(file: str, skip_invalid: bool) -> None:
    """Import existing contacts and past customers from a UTF-8 CSV FILE.

    Columns: email (required), name, stage, created_at, landing_page, country, city,
    utm_source, and lead_at, mql_at, sal_at, sql_at, customer_at, repeat_customer_at.
    Leads already known by email are left unchanged, so a file can be imported again.
    Exits with status 1 when a row was reported.
    """
    report = import_leads(current_funnel().engine, file, skip_invalid=skip_invalid)
    for error in report.errors:
        click.echo(str(error), err=True)
    summary = report.summary()
    if not report.written and report.readable and report.valid:
        summary += " Fix them, or use --skip-invalid to import the valid ones."
    click.echo(summary)
    if report.errors:
        sys.exit(1)


def _lead_id(email: str) -> int:
    with current_funnel().engine.connect() as connection:
        lead_id = lead_id_for(connection, email)
    if lead_id is None:
        raise click.UsageError(f"EMAIL: no lead has the address {email.strip().lower()}")
    return lead_id


@funnel_cli.command("stage")
@click.argument("email")
@click.argument("stage", type=click.Choice(stages.LEAD_STAGES))
@click.option("--reason", required=True, help="Why (kept in the lead's history).")
@with_appcontext
def move_stage(email: str, stage: str, reason: str) -> None:
    """Move a lead to STAGE (forwards, back or to lost)."""
    with writing(current_funnel().engine) as connection:
        change = stages.move(connection, _lead_id(email), stage, actor="cli", reason=reason)
    click.echo(f"Moved from {change['from_stage']} to {stage}." if change else f"Already {stage}.")


@funnel_cli.command("note")
@click.argument("email")
@click.argument("text")
@with_appcontext
def note_command(email: str, text: str) -> None:
    """Add a note to a lead."""
    try:
        add_note(current_funnel().engine, _lead_id(email), "cli", text)
    except WorkError as error:
        raise click.UsageError(f"TEXT: {error.message}") from None
    click.echo("Note added.")


@funnel_cli.command("follow-up")
@click.argument("email")
@click.option("--due", required=True, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--note", default=None, help="What to do.")
@with_appcontext
def follow_up_command(email: str, due: datetime, note: str | None) -> None:
    """Set a follow-up reminder for a lead (due at 09:00 UTC that day)."""
    add_follow_up(
        current_funnel().engine, _lead_id(email), "cli", due.replace(hour=9, tzinfo=UTC), note
    )
    click.echo(f"Follow-up set for {due.date().isoformat()}.")


@funnel_cli.command("follow-ups")
@with_appcontext
def follow_ups_command() -> None:
    """List the open follow-ups, the longest overdue first."""
    now = datetime.now(UTC)
    due = due_follow_ups(current_funnel().session)
    for follow_up, lead in due:
        flag = "OVERDUE " if follow_up.due_at < now else "        "
        click.echo(
            f"{flag}{follow_up.due_at.date().isoformat()}  {lead.email:<32} {lead.stage:<16} "
            f"{follow_up.note or ''}"
        )
    if not due:
        click.echo("Nothing due.")


@funnel_cli.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.option("--from", "first", metavar="YYYY-MM-DD", help="First day (default: 30 days ago).")
@click.option("--to", "last", metavar="YYYY-MM-DD", help="Last day (default: today).")
@click.option("--by", type=click.Choice(list(BREAKDOWNS)), help="Also split the funnel by this.")
@with_appcontext
def report(as_json: bool, first: str | None, last: str | None, by: str | None) -> None:
    """The funnel report the dashboard shows: stages, months, breakdown, forecast.

    Days are in FUNNEL_REPORT_TIMEZONE; quarantined leads are never counted."""
    state = current_funnel()
    try:
        period = parse_period(first, last, state.report.zone)
    except PeriodError as error:
        raise click.BadParameter(str(error)) from None
    with state.engine.connect() as connection:
        result = build_report(connection, period, state.report, by=by)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for line in report_text(result):
        click.echo(line)
