"""The webhook delivery log: what was sent to which endpoint, with what answer, and a
button to send a message again."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from flask_funnel.db.sqlite_writer import writing
from flask_funnel.i18n.messages import N_
from flask_funnel.leads import audit, outbox
from flask_funnel.leads.webhook_endpoints import add_endpoint, added_endpoints, remove_endpoint
from flask_funnel.state import current_funnel
from flask_funnel.values import MAX_ID, FieldError
from flask_funnel.views.admin.blueprint import (
    csrf_refused,
    current_actor,
    record_audit,
    refuse_csrf,
    say,
)
from flask_funnel.views.admin.forms import ActionForm, WebhookEndpointForm

#: Nested in the admin blueprint, whose guard and headers it inherits.
webhooks = Blueprint("webhooks", __name__)
#: The states as the template shows them (``t(state)``), marked for the catalogue.
STATE_NAMES = (N_("pending"), N_("delivered"), N_("failed"), N_("stopped"))


@webhooks.get("/webhooks")
def delivery_log():
    return _page(WebhookEndpointForm(formdata=None))


def _page(form: WebhookEndpointForm, status: int = 200, new_secret: str | None = None):
    state = request.args.get("state") or None
    if state not in (None, *outbox.STATES):
        abort(404)
    funnel = current_funnel()
    with funnel.engine.connect() as connection:
        messages = outbox.recent(connection, state)
    configured = [
        (e.name, urlsplit(e.url).netloc, sorted(e.events))
        for e in funnel.settings.webhooks.endpoints
    ]
    return render_template(
        "flask_funnel/admin/webhooks.html",
        messages=messages,
        configured=configured,
        added=added_endpoints(funnel.engine),
        form=form,
        new_secret=new_secret,
        state=state,
        states=outbox.STATES,
    ), status


@webhooks.post("/webhooks/endpoints")
def add():
    """Add an endpoint: its secret is shown on this answer only (nobody can read it back)."""
    form = WebhookEndpointForm()
    if not form.validate_on_submit():
        return refuse_csrf() if csrf_refused(form) else _page(form, 422)
    funnel = current_funnel()
    try:
        secret = add_endpoint(
            funnel.engine,
            funnel.settings.webhooks,
            name=form.name.data,
            url=form.url.data,
            events=form.events.data,
            actor=current_actor(),
            allow_private=funnel.settings.webhooks.allow_private,
        )
    except FieldError as error:
        form[error.field].errors = [say(_REFUSALS.get(error.code, N_("This is not valid.")))]
        return _page(form, 422)
    return _page(WebhookEndpointForm(formdata=None), 201, new_secret=secret)


#: Why the domain refused an endpoint, in the admin's language.
_REFUSALS = {
    "invalid": N_("Use 1 to 40 of a-z, 0-9, _ and -."),
    "taken": N_("An endpoint already has this name."),
    "unsafe": N_("Give a public http:// or https:// address (not a private or local one)."),
    "required": N_("Pick at least one event."),
}


@webhooks.post("/webhooks/endpoints/<int:endpoint_id>/remove")
def remove(endpoint_id: int):
    if endpoint_id > MAX_ID or not ActionForm().validate_on_submit():
        abort(400 if endpoint_id <= MAX_ID else 404)
    if remove_endpoint(current_funnel().engine, endpoint_id, current_actor()):
        flash(say(N_("The endpoint is removed; nothing more is sent to it.")))
    return redirect(url_for(".delivery_log"), code=303)


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
