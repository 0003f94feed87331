"""The webhook delivery log: what was sent to which endpoint, with what answer, and a
button to send a message again."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from flask_funnel.db.sqlite_writer import writing
from flask_funnel.i18n.messages import N_
from flask_funnel.leads import audit, outbox
from flask_funnel.state import current_funnel
from flask_funnel.values import MAX_ID
from flask_funnel.views.admin.blueprint import record_audit, say
from flask_funnel.views.admin.forms import ActionForm

#: Nested in the admin blueprint, whose guard and headers it inherits.
webhooks = Blueprint("webhooks", __name__)
#: The states as the template shows them (``t(state)``), marked for the catalogue.
STATE_NAMES = (N_("pending"), N_("delivered"), N_("failed"), N_("stopped"))


@webhooks.get("/webhooks")
def delivery_log():
    state = request.args.get("state") or None
    if state not in (None, *outbox.STATES):
        abort(404)
    with current_funnel().engine.connect() as connection:
        messages = outbox.recent(connection, state)
    endpoints = [
        (e.name, urlsplit(e.url).netloc, sorted(e.events))
        for e in current_funnel().settings.webhooks.endpoints
    ]
    return render_template(
        "flask_funnel/admin/webhooks.html",
        messages=messages,
        endpoints=endpoints,
        state=state,
        states=outbox.STATES,
    )


@webhooks.post("/webhooks/<int:message_id>/send-again")
def send_again(message_id: int):
    if message_id > MAX_ID or not ActionForm().validate_on_submit():
        abort(400 if message_id <= MAX_ID else 404)
    with writing(current_funnel().engine) as connection:
        queued = outbox.send_again(connection, message_id)
    if queued:
        record_audit(audit.WEBHOOK_REPLAY, detail=f"outbox message {message_id}")
        flash(say(N_("Message {id} will be sent again by the next delivery."), id=message_id))
    else:
        flash(say(N_("Message {id} is already waiting to be sent, or is gone."), id=message_id))
    return redirect(url_for(".delivery_log"), code=303)
