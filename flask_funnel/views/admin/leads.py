"""The admin's work on leads: the list and its downloads, a lead's page and the actions
on it, follow-ups due and the audit trail. Routes of the admin blueprint, so each needs
an admin; each POST needs a CSRF token.

A form posts to the address of the page that shows it, naming itself in its ``intent``
field: one that succeeds answers 303 (post/redirect/get); one that fails gives the
page back at that same address, with the values as typed and the errors beside them
(a 422; 400 for an expired form), so a reload never lands on an address with no page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import SelectChoice

from flask_funnel.capture.confirmation import only_unconfirmed
from flask_funnel.db.models import AuditEntry
from flask_funnel.i18n.messages import N_, SOURCE_LOCALE
from flask_funnel.leads import audit, stages
from flask_funnel.leads.export import csv_chunks, json_chunks, lead_rows
from flask_funnel.leads.notes import (
    NOTE_MAX,
    add_follow_up,
    add_note,
    complete_follow_up,
    due_follow_ups,
)
from flask_funnel.leads.privacy import erase
from flask_funnel.leads.profile import lead_file, person_record
from flask_funnel.leads.purchases import record_purchase
from flask_funnel.leads.quarantine import release
from flask_funnel.leads.search import LeadFilters, filtered, find_leads
from flask_funnel.state import current_funnel
from flask_funnel.values import MAX_ID, FieldError
from flask_funnel.views.admin import locale
from flask_funnel.views.admin.blueprint import (
    admin,
    admin_locale,
    csrf_refused,
    current_actor,
    form_id,
    message,
    record_audit,
    refuse_csrf,
    safe_next,
    say,
)
from flask_funnel.views.admin.forms import (
    ActionForm,
    FollowUpForm,
    LeadFilterForm,
    NoteForm,
    PurchaseForm,
    StageForm,
    any_choice,
)

#: A lead's pages; an id past the largest a database holds matches nothing (a 404).
LEAD = f"/leads/<int(max={MAX_ID}):lead_id>"


def stage_name(stage: str) -> str:
    return locale.stage_name(admin_locale(), stage)


def digits(text: str) -> str:
    return locale.digits(admin_locale(), text)


# --- leads --------------------------------------------------------------------------


def _filters() -> tuple[LeadFilterForm, LeadFilters | None]:
    form = LeadFilterForm(formdata=request.args)
    form.landing_page.choices = [any_choice(say(N_("any page")))] + [
        SelectChoice(p.slug) for p in current_funnel().pages.pages()
    ]
    if request.args and not form.validate():
        return form, None

    def day(value, extra=0):
        return datetime.combine(value, time(), UTC) + timedelta(days=extra) if value else None

    return form, LeadFilters(
        q=form.q.data or "",
        stage=form.stage.data or "",
        landing_page=form.landing_page.data or "",
        country=form.country.data or "",
        source=form.source.data or "",
        created_from=day(form.created_from.data),
        created_to=day(form.created_to.data, extra=1),
        quarantined=form.quarantined.data or "exclude",
        sort=form.sort.data or "newest",
    )


@admin.get("/leads")
def leads():
    form, filters = _filters()
    page = None
    if filters is not None:
        try:
            page = find_leads(current_funnel().session, filters, request.args.get("after"))
        except FieldError:  # a next-page link edited by hand
            return message(
                400, N_("This link is not valid"), N_("Go back to the first page of the list.")
            )
    query = {k: v for k, v in request.args.items() if k != "after" and v}
    status = 200 if filters is not None else 422
    caught = [lead.id for lead in page.leads if lead.quarantined] if page else []
    return render_template(
        "flask_funnel/admin/leads.html",
        form=form,
        page=page,
        query=query,
        unconfirmed=only_unconfirmed(current_funnel().session, caught),
    ), status


@admin.get("/leads.<any(csv, json):fmt>")
def export(fmt: str):
    _, filters = _filters()
    if filters is None:
        return message(
            422, N_("Check the filters"), N_("Some filters are not valid; fix them first.")
        )
    rows = lead_rows(current_funnel().session, leads=filtered(filters))
    chunks = json_chunks if fmt == "json" else csv_chunks

    # Audited before the first row: a download stopped half-way still leaves its trace.
    asked = "&".join(f"{k}={v}" for k, v in request.args.items() if v)
    record_audit(audit.EXPORT, detail=f"leads as {fmt}" + (f" where {asked}" if asked else ""))

    def stream():
        # Sent while read, in batches: a million leads never sit in memory at once.
        yield from chunks(rows, [0])

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(stream()),
        mimetype="application/json" if fmt == "json" else "text/csv",
        headers={"Content-Disposition": f'attachment; filename="leads-{stamp}.{fmt}"'},
    )


@admin.route(LEAD, methods=["GET", "POST"])
def lead(lead_id: int):
    """A lead's page; its forms post to it, each named by its ``intent`` (``LEAD_FORMS``)."""
    if request.method == "POST":
        handle = LEAD_FORMS.get(request.form.get("intent", ""))
        if handle is None:
            abort(400)
        return handle(lead_id)
    return _lead_page(lead_id)


def _lead_page(lead_id: int):
    """The lead's page (again, after a refused form: with its values and errors)."""
    found = lead_file(current_funnel().session, lead_id)
    if found is None:
        return message(
            404,
            N_("No such lead"),
            N_("There is no lead {lead_id}; it may have been erased."),
            lead_id=lead_id,
        )
    return render_template(
        "flask_funnel/admin/lead.html",
        file=found,
        stage_form=g.get("stage_form") or StageForm(stage=found.lead.stage),
        note_form=g.get("note_form") or NoteForm(),
        follow_up_form=g.get("follow_up_form") or FollowUpForm(),
        purchase_form=g.get("purchase_form") or PurchaseForm(),
        pages={p.slug: p for p in current_funnel().pages.pages()},
        unconfirmed=found.lead.quarantined
        and bool(only_unconfirmed(current_funnel().session, [lead_id])),
    ), g.get("lead_status", 200)


def _invalid(lead_id: int, name: str, form):
    """The lead page again with the form's values and errors, and a 422."""
    if csrf_refused(form):
        return refuse_csrf()
    setattr(g, name, form)
    g.lead_status = 422
    return _lead_page(lead_id)


#: What the admin reads when the domain refuses a value of the lead page's forms (a
#: ``FieldError``), by field and code; in English, the domain's own words.
REFUSALS = {
    ("body", "required"): N_("A note needs some text."),
    ("body", "too_long"): N_("A note has at most {limit} characters."),
    ("amount", "not_a_number"): N_('"{value}" is not a number.'),
    ("amount", "not_positive"): N_("The amount must be above zero."),
    ("amount", "too_precise"): N_("The amount has more than two decimal places."),
    ("currency", "invalid"): N_('"{value}" is not a three-letter currency code.'),
    ("at", "future"): N_("This date is in the future."),
    ("reference", "conflict"): N_("This order reference was recorded with another amount."),
}


def _refusal(error: FieldError, value: object) -> str:
    """``error`` (raised for the form's ``value``) in the admin's language."""
    if admin_locale() == SOURCE_LOCALE:
        return error.message
    text = " ".join(str(value or "").split())
    text = text if len(text) <= 60 else text[:57] + "..."
    message = REFUSALS.get((error.field, error.code), N_("This value cannot be used."))
    return say(message, value=text, limit=NOTE_MAX)


def _back_to(lead_id: int, message: str):
    flash(message)
    return redirect(url_for(".lead", lead_id=lead_id), code=303)


def move_stage(lead_id: int):
    form = StageForm()
    if not form.validate_on_submit():
        return _invalid(lead_id, "stage_form", form)
    try:
        change = stages.move_lead(
            current_funnel().engine,
            lead_id,
            form.stage.data,
            actor=current_actor(),
            reason=form.reason.data,
            lost_reason=form.lost_reason.data or None,
        )
    except stages.LeadNotFound:
        abort(404)
    if change is None:
        return _back_to(
            lead_id, say(N_("The lead is already at {stage}."), stage=stage_name(form.stage.data))
        )
    return _back_to(lead_id, say(N_("Moved to {stage}."), stage=stage_name(form.stage.data)))


def note(lead_id: int):
    form = NoteForm()
    if not form.validate_on_submit():
        return _invalid(lead_id, "note_form", form)
    try:
        add_note(current_funnel().engine, lead_id, current_actor(), form.body.data)
    except FieldError as error:
        form.body.errors = [_refusal(error, form.body.data)]
        return _invalid(lead_id, "note_form", form)
    except IntegrityError:  # no such lead (erased, or never was)
        abort(404)
    return _back_to(lead_id, say(N_("Note added.")))


def follow_up(lead_id: int):
    form = FollowUpForm()
    if not form.validate_on_submit():
        return _invalid(lead_id, "follow_up_form", form)
    due = datetime.combine(form.due.data, time(9), UTC)
    try:
        add_follow_up(current_funnel().engine, lead_id, current_actor(), due, form.note.data)
    except IntegrityError:  # no such lead (erased, or never was)
        abort(404)
    return _back_to(
        lead_id, say(N_("Follow-up set for {day}."), day=digits(form.due.data.isoformat()))
    )


def purchase(lead_id: int):
    form = PurchaseForm()
    if not form.validate_on_submit():
        return _invalid(lead_id, "purchase_form", form)
    try:
        result = record_purchase(
            current_funnel().engine,
            lead_id=lead_id,
            amount=form.amount.data,
            currency=form.currency.data,
            at=form.at.data,
            reference=form.reference.data,
            actor=current_actor(),
        )
    except FieldError as error:
        fields = ("at", "amount", "currency", "reference")
        field = error.field if error.field in fields else None
        if field is None:
            abort(404)
        form[field].errors = [_refusal(error, form[field].data)]
        return _invalid(lead_id, "purchase_form", form)
    if result.duplicate:
        return _back_to(
            lead_id, say(N_("That order reference was recorded before; nothing changed."))
        )
    return _back_to(
        lead_id,
        say(N_("Purchase recorded; the lead is now {stage}."), stage=stage_name(result.stage)),
    )


def release_lead(lead_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        return _invalid(lead_id, "action_form", form)
    release(current_funnel().engine, lead_id, current_actor())
    return _back_to(lead_id, say(N_("Released from quarantine.")))


@admin.get(f"{LEAD}.json")
def lead_json(lead_id: int):
    """Everything about one person, for a subject access request (GDPR Art. 15)."""
    found = lead_file(current_funnel().session, lead_id)
    if found is None:
        abort(404)
    record_audit(audit.EXPORT, lead_id=lead_id, detail="one person as json")
    response = current_app.response_class(
        json.dumps(person_record(found), ensure_ascii=False, indent=2, default=str),
        mimetype="application/json",
    )
    response.headers["Content-Disposition"] = f'attachment; filename="lead-{lead_id}.json"'
    return response


def erase_lead(lead_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        return _invalid(lead_id, "action_form", form)
    if request.form.get("confirm") != "erase":
        flash(say(N_("Type erase to confirm.")))
        g.lead_status = 422
        return _lead_page(lead_id)
    if not erase(current_funnel().engine, lead_id, current_actor()):
        abort(404)
    flash(say(N_("Lead {lead_id} and everything recorded about them are erased."), lead_id=lead_id))
    return redirect(url_for(".leads"), code=303)


#: The forms of a lead's page, by the ``intent`` each one sends.
LEAD_FORMS = {
    "stage": move_stage,
    "note": note,
    "follow-up": follow_up,
    "purchase": purchase,
    "release": release_lead,
    "erase": erase_lead,
}


# --- follow-ups and audit -----------------------------------------------------------


@admin.route("/follow-ups", methods=["GET", "POST"])
def follow_ups():
    """The open follow-ups; each one's Done button posts here."""
    if request.method == "POST":
        return _follow_up_done()
    due = due_follow_ups(current_funnel().session)
    now = datetime.now(UTC)
    return render_template("flask_funnel/admin/follow_ups.html", due=due, now=now)


def _follow_up_done():
    """A follow-up's Done button (``intent=done`` and its ``follow_up_id``)."""
    form = ActionForm()
    if not form.validate_on_submit():
        return refuse_csrf() if csrf_refused(form) else abort(400)
    if request.form.get("intent") != "done":
        abort(400)
    complete_follow_up(current_funnel().engine, form_id("follow_up_id"))
    flash(say(N_("Follow-up done.")))
    return redirect(safe_next(request.form.get("next") or url_for(".follow_ups")), code=303)


@admin.get("/audit")
def audit_trail():
    entries = (
        current_funnel()
        .session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(200))
        .all()
    )
    return render_template("flask_funnel/admin/audit.html", entries=entries)
