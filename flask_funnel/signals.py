"""Blinker signals: how a host app hears about what the funnel records.

Receivers get the Flask app as sender plus keyword arguments. The function that owns
the database transaction sends them once the transaction has committed, whatever
called it (the quiz, the admin, the command line, the API, ``Funnel.record_purchase``,
an import), so the ids a receiver gets are real rows. A rolled-back write, a repeated
quiz submission and a purchase reference seen before send nothing.

A receiver cannot undo or break a write that has already committed: when one raises,
the error is logged (logger ``flask_funnel.signals``, naming the signal and the lead id,
never an email or a name) and the other receivers still run; the request, command or
call goes on as if nothing happened. A receiver that must not miss an event should
therefore do its own retrying (or queue the work), not count on an error page.

Connect for one app with ``signal.connect(receiver, sender=app)``::

    @stage_changed.connect_via(app)
    def on_stage_changed(sender, lead_id, from_stage, to_stage, **extra): ...
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from inspect import iscoroutinefunction

from blinker import NamedSignal, Namespace
from flask import current_app, has_app_context

log = logging.getLogger("flask_funnel.signals")

_signals = Namespace()

#: A quiz submission was stored. Keyword arguments: ``lead_id``, ``submission_id``,
#: ``page`` (slug), ``created`` (True for a new lead), ``quarantined``.
lead_captured = _signals.signal("funnel-lead-captured")

#: A lead moved between stages. Keyword arguments: ``lead_id``, ``from_stage``,
#: ``to_stage``, ``actor``, ``reason`` (may be None), ``at`` (aware datetime).
#: Sent once per stage-change row, so a new lead that qualifies at once sends
#: ``visitor -> lead`` and then ``lead -> mql``.
stage_changed = _signals.signal("funnel-stage-changed")

#: A purchase was recorded (a reference seen before is not). Keyword arguments:
#: ``lead_id``, ``purchase_id``, ``amount`` (Decimal), ``currency`` (ISO 4217 code),
#: ``at`` (aware datetime), ``reference`` (may be None), ``actor``. The stage change it
#: causes, if any, follows as its own ``stage_changed``.
purchase_recorded = _signals.signal("funnel-purchase-recorded")

#: A lead and everything recorded about them were erased. Keyword arguments:
#: ``lead_id`` (no longer in the database), ``actor``.
lead_erased = _signals.signal("funnel-lead-erased")


def listened(signal: NamedSignal) -> bool:
    """True when ``send`` would reach a receiver: lets a big write skip collecting what
    it would send. Costs next to nothing while no receiver is connected at all."""
    if not signal.receivers or signal.is_muted or not has_app_context():
        return False
    return any(True for _ in signal.receivers_for(current_app._get_current_object()))


def send(signal: NamedSignal, **kwargs) -> None:
    """Send ``signal`` from the current app to each receiver; one that raises is logged
    and does not stop the others. Call it after the transaction committed."""
    if not signal.receivers or signal.is_muted:
        return  # nobody listens: the usual case, kept cheap
    if not has_app_context():
        log.warning("%s for lead %s not sent: no app context", signal.name, kwargs.get("lead_id"))
        return
    app = current_app._get_current_object()
    for receiver in signal.receivers_for(app):
        if iscoroutinefunction(receiver):
            log.error("%s cannot be sent to a coroutine function", signal.name)
            continue
        try:
            receiver(app, **kwargs)
        except Exception:
            log.exception("a receiver of %s failed for lead %s", signal.name, kwargs.get("lead_id"))


def send_stage_changes(changes: Iterable[dict]) -> None:
    """``stage_changed`` for each change (the dicts ``leads.stages`` returns), in order."""
    if not stage_changed.receivers:
        return
    for change in changes:
        send(stage_changed, **change)
