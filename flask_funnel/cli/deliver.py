"""``flask funnel deliver``: send the outbox (webhook events and emails); ``flask funnel
digest``: the sales team's daily email of follow-ups due."""

from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta

import click
from flask.cli import with_appcontext

from flask_funnel.capture.confirmation import expire
from flask_funnel.cli.group import funnel_cli
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.leads import emails, outbox
from flask_funnel.leads.delivery import deliver_due
from flask_funnel.leads.notes import due_follow_ups
from flask_funnel.state import current_funnel


@funnel_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Keep sending as events come (until stopped).")
@click.option(
    "--interval", default=5.0, show_default=True, help="Seconds between looks, with --loop."
)
@with_appcontext
def deliver(loop: bool, interval: float) -> None:
    """Send the webhook events and emails that are due, then stop; with --loop, keep
    looking every few seconds. On the way, sign-ups left unconfirmed longer than
    FUNNEL_CONFIRM_DAYS are erased and messages finished more than FUNNEL_OUTBOX_KEEP_DAYS
    ago forgotten. Several workers may run at once; SIGTERM or Ctrl-C stops a loop after
    the message it is sending."""
    state = current_funnel()
    stopping = []
    if loop:
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    tidied = float("-inf")
    try:
        while True:
            if time.monotonic() - tidied >= TIDY_SECONDS:  # days-long limits: not every look
                _tidy(state)
                tidied = time.monotonic()
            sent = deliver_due(state.engine, state.settings.webhooks, stop=lambda: bool(stopping))
            if sent.tried or not loop:
                click.echo(
                    f"{sent.delivered} delivered, {sent.retrying} to try again later, "
                    f"{sent.failed} given up"
                )
            if not loop or stopping:
                return
            time.sleep(interval)
            if stopping:
                return
    except KeyboardInterrupt:
        return


#: How often a looping worker erases expired sign-ups and forgets finished messages.
TIDY_SECONDS = 600


def _tidy(state) -> None:
    expired = expire(state.engine, state.settings.confirm_days)
    if expired:
        click.echo(f"{expired} unconfirmed sign-ups expired (erased)")
    with writing(state.engine) as connection:
        outbox.prune(connection, state.settings.outbox_keep_days)


@funnel_cli.command("digest")
@with_appcontext
def digest() -> None:
    """Email the sales team (FUNNEL_NOTIFY_EMAILS) the open follow-ups due by the end of
    today (FUNNEL_REPORT_TIMEZONE); run it once a day, e.g. from cron. `flask funnel
    deliver` sends it."""
    state = current_funnel()
    settings = state.settings
    if not settings.mail_from or not settings.notify_emails:
        raise click.ClickException("set FUNNEL_MAIL_FROM and FUNNEL_NOTIFY_EMAILS first")
    zone = settings.report.zone
    today = datetime.now(zone).date()
    end = datetime.combine(today + timedelta(days=1), datetime.min.time(), zone)
    due = [(f, lead) for f, lead in due_follow_ups(state.session) if f.due_at < end]
    if not due:
        click.echo("No follow-ups due: nothing sent.")
        return
    message = emails.follow_up_digest(
        day=today.isoformat(),
        until=end.isoformat(),
        sender=settings.mail_from,
        to=settings.notify_emails,
        locale=settings.notify_locale,
    )
    with writing(state.engine) as connection:
        outbox.add_message(connection, emails.TO_TEAM, emails.DIGEST, message, None)
    click.echo(f"A digest of {len(due)} follow-ups is queued; `flask funnel deliver` sends it.")
