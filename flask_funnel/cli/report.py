"""``flask funnel report``: the dashboard's numbers in a terminal or as JSON."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from flask_funnel.analytics.funnel import BREAKDOWNS, build_report
from flask_funnel.analytics.periods import PeriodError, parse_period
from flask_funnel.analytics.text_format import report_text
from flask_funnel.capture.view_retention import FoldError, delete_old_views, fold_views
from flask_funnel.cli.group import funnel_cli
from flask_funnel.cli.terminal import echo
from flask_funnel.db import daily_counts
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.state import current_funnel


@funnel_cli.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.option("--from", "first", metavar="YYYY-MM-DD", help="First day (default: 30 days ago).")
@click.option("--to", "last", metavar="YYYY-MM-DD", help="Last day (default: today).")
@click.option("--by", type=click.Choice(list(BREAKDOWNS)), help="Also split the funnel by this.")
@with_appcontext
def report(as_json: bool, first: str | None, last: str | None, by: str | None) -> None:
    """The funnel report the dashboard shows: stages, months, breakdown, forecast.

    Days are in FUNNEL_REPORT_TIMEZONE, months in FUNNEL_REPORT_CALENDAR (the dates
    given and printed as YYYY-MM-DD are Gregorian); quarantined leads are never counted."""
    state = current_funnel()
    try:
        period = parse_period(first, last, state.settings.report.zone)
    except PeriodError as error:
        raise click.BadParameter(str(error)) from None
    with state.engine.connect() as connection:
        result = build_report(connection, period, state.settings.report, by=by)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for line in report_text(result):
        echo(line)


@funnel_cli.command("recount")
@with_appcontext
def recount() -> None:
    """Install the triggers that keep the daily counts, losses, visitors and quiz
    steps, and count again.

    The shipped migrations do this. Run it once after your own migration created the
    funnel's tables (FUNNEL_MIGRATIONS = "host"), or after loading leads with the
    triggers off; until then the report counts the leads themselves (right, but slower)."""
    with writing(current_funnel().engine) as connection:
        rows = daily_counts.install(connection)
        losses = daily_counts.install_losses(connection)
        groups = daily_counts.install_visitor_groups(connection)
        steps = daily_counts.install_step_counts(connection)
    echo(
        f"Counted every lead and visitor again ({rows} daily counts, {groups} of visitors "
        f"per group, {steps} of quiz steps) and every move to lost ({losses} daily "
        "losses); the triggers keep them from now on."
    )


@funnel_cli.command("fold-views")
@with_appcontext
def fold_views_command() -> None:
    """Fold the page views into their daily counts, then delete the raw views older
    than FUNNEL_VISIT_RETENTION_DAYS (none when it is None); run it daily, e.g. from
    cron. The report is the same before and after; several runs at once fold each view
    once."""
    state = current_funnel()
    settings = state.settings
    try:
        folded = fold_views(state.engine, settings.report.zone)
    except FoldError as error:
        raise click.ClickException(str(error)) from None
    bots = f" ({_many(folded.bots, 'view')} by bots not counted)" if folded.bots else ""
    echo(
        f"Folded {_many(folded.views, 'page view')} of {_many(folded.days, 'day')} into "
        f"the daily counts{bots}."
    )
    keep = settings.visit_retention_days
    if keep is None:
        echo("Raw page views are kept: FUNNEL_VISIT_RETENTION_DAYS is None.")
        return
    deleted = delete_old_views(state.engine, keep)
    echo(f"Deleted {_many(deleted, 'page view')} older than {_many(keep, 'day')}.")


def _many(count: int, thing: str) -> str:
    """``1 day``, ``2 days``, ``1,000 page views``."""
    return f"{count:,} {thing}{'' if count == 1 else 's'}"
