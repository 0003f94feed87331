"""Working leads from a terminal: export, import, purchases, stages, notes, follow-ups."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from itertools import chain

import click
from flask.cli import with_appcontext

from flask_funnel.cli.group import funnel_cli
from flask_funnel.cli.terminal import PrintableStream, columns, echo
from flask_funnel.leads import stages
from flask_funnel.leads.csv_import import import_leads
from flask_funnel.leads.export import lead_rows, write_csv, write_json
from flask_funnel.leads.notes import add_follow_up, add_note, due_follow_ups
from flask_funnel.leads.profile import lead_id_for
from flask_funnel.state import current_funnel
from flask_funnel.values import FieldError, email_key


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
@click.option(
    "--bom/--no-bom",
    default=True,
    show_default=True,
    help="Start a CSV with a byte order mark (spreadsheet programs need it for UTF-8).",
)
@with_appcontext
def export_leads(fmt: str, output, include_quarantined: bool, bom: bool) -> None:
    """Write every captured lead (email, name, stage, page, answers, score, source, the
    time of each stage) in a form `import-leads` reads back."""
    rows = lead_rows(current_funnel().session, include_quarantined=include_quarantined)
    # The first batch is read before a character is written (or the file created), so
    # a failing query leaves no "[" or header behind.
    first = next(rows, None)
    rows = chain([first], rows) if first is not None else iter(())
    stream = PrintableStream(output) if output.isatty() else output
    if fmt == "json":
        count = write_json(rows, stream)
    else:
        count = write_csv(rows, stream, bom=bom and not output.isatty())
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
    except FieldError as error:
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
        echo(str(error), err=True)
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
        raise click.UsageError(f"EMAIL: no lead has the address {email_key(email)}")
    return lead_id


@funnel_cli.command("stage")
@click.argument("email")
@click.argument("stage", type=click.Choice(stages.LEAD_STAGES))
@click.option("--reason", required=True, help="Why (kept in the lead's history).")
@click.option("--lost-reason", default=None, help="With lost: one of FUNNEL_LOST_REASONS.")
@with_appcontext
def move_stage(email: str, stage: str, reason: str, lost_reason: str | None) -> None:
    """Move a lead to STAGE (forwards, back or to lost)."""
    reasons = current_funnel().settings.lost_reasons
    if stage == stages.LOST and lost_reason not in reasons:
        given = f"{lost_reason!r} is not one of" if lost_reason else "is required with lost:"
        raise click.UsageError(f"--lost-reason {given} {', '.join(map(repr, reasons))}")
    change = stages.move_lead(
        current_funnel().engine,
        _lead_id(email),
        stage,
        actor="cli",
        reason=reason,
        lost_reason=lost_reason if stage == stages.LOST else None,
    )
    click.echo(f"Moved from {change['from_stage']} to {stage}." if change else f"Already {stage}.")


@funnel_cli.command("note")
@click.argument("email")
@click.argument("text")
@with_appcontext
def note_command(email: str, text: str) -> None:
    """Add a note to a lead."""
    try:
        add_note(current_funnel().engine, _lead_id(email), "cli", text)
    except FieldError as error:
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
    rows = []
    for follow_up, lead in due:
        flag = "OVERDUE" if follow_up.due_at < now else ""
        day = f"{flag:<8}{follow_up.due_at.date().isoformat()}"
        rows.append((day, lead.email, lead.stage, follow_up.note or ""))
    for line in columns(rows):
        click.echo(line)
    if not due:
        click.echo("Nothing due.")
