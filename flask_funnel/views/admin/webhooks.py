"""The webhook delivery log: what was sent to which endpoint, with what answer, and a
button to send a message again; the endpoints an admin added, and the form to add one.

Every form of the page posts to the page itself, naming itself in its ``intent`` field
(as the lead page's do): success answers 303, a refused endpoint gives the page back
at its own address with the values typed and the errors beside them."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for

from flask_funnel.db.sqlite_writer import writing
from flask_funnel.db.types import utcnow
from flask_funnel.i18n.messages import N_
from flask_funnel.leads import audit, outbox
from flask_funnel.leads.webhook_endpoints import add_endpoint, added_endpoints, remove_endpoint
from flask_funnel.state import current_funnel
from flask_funnel.values import FieldError
from flask_funnel.views.admin.blueprint import (
    csrf_refused,
    current_actor,
    form_id,
    record_audit,
    refuse_csrf,
    say,
)
from flask_funnel.views.admin.forms import ActionForm, WebhookEndpointForm

#: Nested in the admin blueprint, whose guard and headers it inherits.
webhooks = Blueprint("webhooks", __name__)
#: The states as the template shows them (``t(state)``), marked for the catalogue.
STATE_NAMES = (N_("pending"), N_("delivered"), N_("failed"), N_("stopped"))


#: The session key naming the endpoint just added, whose secret the page shows once.
NEW_ENDPOINT = "_funnel_new_endpoint"
#: How long after it was added an endpoint's secret may still be shown (once).
SECRET_SHOWN_FOR = timedelta(minutes=10)


@webhooks.route("/webhooks", methods=["GET", "POST"])
def delivery_log():
    """The page; its forms post to it, each named by its ``intent``."""
    if request.method == "POST":
        handle = {"add": add, "remove": remove, "send-again": send_again}.get(
            request.form.get("intent", "")
        )
        if handle is None:
            abort(400)
        return handle()
    return _page(WebhookEndpointForm(formdata=None))


def _page(form: WebhookEndpointForm, status: int = 200):
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
    added = added_endpoints(funnel.engine)
    # The secret of the endpoint this admin just added: on this answer only (the session
    # names the endpoint, never its secret).
    just_added = session.pop(NEW_ENDPOINT, None) if request.method == "GET" else None
    recently = utcnow() - SECRET_SHOWN_FOR
    new_secret = next(
        (e.secret for e in added if e.name == just_added and e.created_at >= recently), None
    )
    return render_template(
        "flask_funnel/admin/webhooks.html",
        messages=messages,
        configured=configured,
        added=added,
        form=form,
        new_secret=new_secret,
        state=state,
        states=outbox.STATES,
    ), status


def add():
    """Add an endpoint: its secret is shown on the page this answer leads to, once
    (nobody can read it back)."""
    form = WebhookEndpointForm()
    if not form.validate_on_submit():
        return refuse_csrf() if csrf_refused(form) else _page(form, 422)
    funnel = current_funnel()
    try:
        add_endpoint(
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
    session[NEW_ENDPOINT] = form.name.data.strip()
    return redirect(url_for(".delivery_log"), code=303)


#: Why the domain refused an endpoint, in the admin's language.
_REFUSALS = {
    "invalid": N_("Use 1 to 40 of a-z, 0-9, _ and -."),
    "taken": N_("An endpoint already has this name."),
    "unsafe": N_("Give a public http:// or https:// address (not a private or local one)."),
    "required": N_("Pick at least one event."),
}


def remove():
    """An added endpoint's Remove button (its ``endpoint_id``)."""
    form = ActionForm()
    if not form.validate_on_submit():
        return refuse_csrf() if csrf_refused(form) else abort(400)
    if remove_endpoint(current_funnel().engine, form_id("endpoint_id"), current_actor()):
        flash(say(N_("The endpoint is removed; nothing more is sent to it.")))
    return redirect(url_for(".delivery_log"), code=303)


def send_again():
    """A message's Send again button (its ``message_id``)."""
    form = ActionForm()
    if not form.validate_on_submit():
        return refuse_csrf() if csrf_refused(form) else abort(400)
    message_id = form_id("message_id")
    with writing(current_funnel().engine) as connection:
        queued = outbox.send_again(connection, message_id)
    if queued:
        record_audit(audit.WEBHOOK_REPLAY, detail=f"outbox message {message_id}")
        flash(say(N_("Message {id} will be sent again by the next delivery."), id=message_id))
    else:
        flash(say(N_("Message {id} is already waiting to be sent, or is gone."), id=message_id))
    return redirect(url_for(".delivery_log"), code=303)
