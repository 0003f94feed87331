"""``flask funnel deliver``: send the outbox's webhook events."""

from __future__ import annotations

import signal
import time

import click
from flask.cli import with_appcontext

from flask_funnel.cli.group import funnel_cli
from flask_funnel.leads.webhooks import deliver_due
from flask_funnel.state import current_funnel


@funnel_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Keep sending as events come (until stopped).")
@click.option(
    "--interval", default=5.0, show_default=True, help="Seconds between looks, with --loop."
)
@with_appcontext
def deliver(loop: bool, interval: float) -> None:
    """Send the webhook events that are due (FUNNEL_WEBHOOKS), then stop; with --loop,
    keep looking every few seconds. Several workers may run at once. SIGTERM or
    Ctrl-C stops a loop after the batch it is sending."""
    state = current_funnel()
    stopping = []
    if loop:
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        while True:
            sent = deliver_due(state.engine, state.settings.webhooks)
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
