"""The admin area: sign-in, leads list and export, lead page and its actions,
due follow-ups and the audit trail. Every route needs an admin; every POST a CSRF token."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlsplit

from flask import (
    Blueprint,
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
from wtforms import SelectChoice

from .. import accounts, admin_session, audit, stages
from ..admin_forms import (
    ActionForm,
    FollowUpForm,
    LeadFilterForm,
    NoteForm,
    PurchaseForm,
    SignInForm,
    StageForm,
    any_choice,
)
from ..export import csv_chunks, json_chunks, lead_rows
from ..extension import current_funnel
from ..geo import client_address
from ..lead_detail import lead_file, person_record
from ..lead_list import LeadFilters, filtered, find_leads
from ..lead_work import (
    WorkError,
    add_follow_up,
    add_note,
    complete_follow_up,
    due_follow_ups,
    erase,
    release,
)
from ..models import AuditEntry
from ..purchases import PurchaseError, record_purchase
from ..sqlite_writer import writing
from .security import apply_security_headers

admin = Blueprint("funnel_admin", __name__, template_folder="../templates")

OPEN_ENDPOINTS = {"funnel_admin.sign_in", "funnel_admin.static"}


def _ip() -> str | None:
    return client_address(
        request.remote_addr,
        request.headers.get("X-Forwarded-For"),
        int(current_app.config["FUNNEL_PROXY_COUNT"]),
    )


def record_audit(action: str, *, actor: str | None = None, **fields) -> None:
    with writing(current_funnel().engine) as connection:
        audit.record(connection, actor or _actor(), action, ip=_ip(), **fields)


def _actor() -> str:
    user = admin_session.current_admin()
    return user.name if user else "anonymous"


@admin.before_request
def require_admin():
    """Every admin route needs a signed-in admin (the dashboard's blueprint too)."""
    request.max_content_length = current_app.config["FUNNEL_MAX_CONTENT_LENGTH"]
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if admin_session.current_admin() is None:
        record_audit("access_denied", detail=f"{request.method} {request.path}")
        if request.method == "GET":
            return redirect(url_for("funnel_admin.sign_in", next=request.full_path.rstrip("?")))
        return message(401, "Please sign in", "Your session has ended. Sign in and try again.")
    return None


@admin.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return apply_security_headers(response)


@admin.context_processor
def admin_context():
    return {"admin_user": admin_session.current_admin(), "action_form": ActionForm()}


def message(status: int, title: str, body: str):
    return render_template("flask_funnel/admin/message.html", title=title, body=body), status


def _csrf_refused(form) -> bool:
    """True (and audited) when a POST came without a valid CSRF token."""
    if getattr(form, "csrf_token", None) is not None and form.csrf_token.errors:
        record_audit("csrf_failed", detail=request.path)
        return True
    return False


def _refuse_csrf():
    return message(
        400, "This form has expired", "Go back, reload the page and send the form again."
    )


def _safe_next(target: str | None) -> str:
    """Only a path on this site; anything else goes to the leads list."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("funnel_dashboard.overview")


# --- signing in and out -------------------------------------------------------------


@admin.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    config = current_app.config
    if not form.validate_on_submit():
        if _csrf_refused(form):
            return _refuse_csrf()
        status = 422 if form.is_submitted() else 200
        return render_template("flask_funnel/admin/sign_in.html", form=form), status
    email = form.email.data.strip().lower()
    failures = accounts.recent_failures(
        current_funnel().engine,
        email=email,
        ip=_ip(),
        minutes=int(config["FUNNEL_ADMIN_FAILURE_WINDOW_MINUTES"]),
    )
    if failures >= int(config["FUNNEL_ADMIN_MAX_FAILURES"]):
        record_audit("sign_in_blocked", actor=email)
        current_app.logger.warning("admin sign-in blocked after %d failures", failures)
        return message(
            429,
            "Too many attempts",
            f"Sign-in is paused for {config['FUNNEL_ADMIN_FAILURE_WINDOW_MINUTES']} minutes "
            "after repeated failures.",
        )
    signed_in = accounts.sign_in(current_funnel().engine, email, form.password.data, _ip())
    if signed_in is None:
        current_app.logger.warning("admin sign-in failed")
        form.password.errors = ["Wrong email or password."]
        return render_template("flask_funnel/admin/sign_in.html", form=form), 401
    admin_session.start(signed_in)
    return redirect(_safe_next(request.args.get("next")), code=303)


@admin.post("/sign-out")
def sign_out():
    form = ActionForm()
    if not form.validate_on_submit():
        return _refuse_csrf() if _csrf_refused(form) else abort(400)
    user = admin_session.current_admin()
    if user.admin_id is not None:
        accounts.end_sessions(current_funnel().engine, user.admin_id, user.name, _ip())
    admin_session.end()
    flash("You are signed out.")
    return redirect(url_for(".sign_in"), code=303)


# --- leads --------------------------------------------------------------------------


def _filters() -> tuple[LeadFilterForm, LeadFilters | None]:
    form = LeadFilterForm(formdata=request.args)
    form.landing_page.choices = [any_choice("any page")] + [
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
        page = find_leads(current_funnel().session, filters, request.args.get("after"))
    query = {k: v for k, v in request.args.items() if k != "after" and v}
    status = 200 if filters is not None else 422
    return render_template(
        "flask_funnel/admin/leads.html", form=form, page=page, query=query
    ), status


@admin.get("/leads.<any(csv, json):fmt>")
def export(fmt: str):
    _, filters = _filters()
    if filters is None:
        return message(422, "Check the filters", "Some filters are not valid; fix them first.")
    rows = lead_rows(current_funnel().session, leads=filtered(filters))
    chunks = json_chunks if fmt == "json" else csv_chunks

    def stream():
        # Sent while read, in batches: a million leads never sit in memory at once.
        counter = [0]
        yield from chunks(rows, counter)
        record_audit(audit.EXPORT, detail=f"{counter[0]} leads as {fmt}")

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(stream()),
        mimetype="application/json" if fmt == "json" else "text/csv",
        headers={"Content-Disposition": f'attachment; filename="leads-{stamp}.{fmt}"'},
    )


@admin.get("/leads/<int:lead_id>")
def lead(lead_id: int):
    found = lead_file(current_funnel().session, lead_id)
    if found is None:
        return message(404, "No such lead", f"There is no lead {lead_id}; it may have been erased.")
    return render_template(
        "flask_funnel/admin/lead.html",
        file=found,
        stage_form=g.get("stage_form") or StageForm(stage=found.lead.stage),
        note_form=g.get("note_form") or NoteForm(),
        follow_up_form=g.get("follow_up_form") or FollowUpForm(),
        purchase_form=g.get("purchase_form") or PurchaseForm(),
        pages={p.slug: p for p in current_funnel().pages.pages()},
    ), g.get("lead_status", 200)


def _invalid(lead_id: int, name: str, form):
    """The lead page again with the form's values and errors, and a 422."""
    if _csrf_refused(form):
        return _refuse_csrf()
    setattr(g, name, form)
    g.lead_status = 422
    return lead(lead_id)


def _back_to(lead_id: int, message: str):
    flash(message)
    return redirect(url_for(".lead", lead_id=lead_id), code=303)


@admin.post("/leads/<int:lead_id>/stage")
def move_stage(lead_id: int):
    form = StageForm()
    if not form.validate_on_submit():
        return _invalid(lead_id, "stage_form", form)
    try:
        with writing(current_funnel().engine) as connection:
            change = stages.move(
                connection, lead_id, form.stage.data, actor=_actor(), reason=form.reason.data
            )
    except stages.LeadNotFound:
        abort(404)
    if change is None:
        return _back_to(lead_id, f"The lead is already at {form.stage.data}.")
    return _back_to(lead_id, f"Moved to {form.stage.data}.")


@admin.post("/leads/<int:lead_id>/note")
def note(lead_id: int):
    form = NoteForm()
    if not form.validate_on_submit():
        return _invalid(lead_id, "note_form", form)
    try:
        add_note(current_funnel().engine, lead_id, _actor(), form.body.data)
    except WorkError as error:
        form.body.errors = [error.message]
        return _invalid(lead_id, "note_form", form)
    return _back_to(lead_id, "Note added.")


@admin.post("/leads/<int:lead_id>/follow-up")
def follow_up(lead_id: int):
    form = FollowUpForm()
    if not form.validate_on_submit():
        return _invalid(lead_id, "follow_up_form", form)
    due = datetime.combine(form.due.data, time(9), UTC)
    add_follow_up(current_funnel().engine, lead_id, _actor(), due, form.note.data)
    return _back_to(lead_id, f"Follow-up set for {form.due.data.isoformat()}.")


@admin.post("/leads/<int:lead_id>/purchase")
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
            actor=_actor(),
        )
    except PurchaseError as error:
        field = {"at": "at", "amount": "amount", "currency": "currency"}.get(error.field)
        if field is None:
            abort(404)
        form[field].errors = [error.message]
        return _invalid(lead_id, "purchase_form", form)
    if result.duplicate:
        return _back_to(lead_id, "That order reference was recorded before; nothing changed.")
    return _back_to(lead_id, f"Purchase recorded; the lead is now {result.stage}.")


@admin.post("/leads/<int:lead_id>/release")
def release_lead(lead_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        return _invalid(lead_id, "action_form", form)
    release(current_funnel().engine, lead_id, _actor())
    return _back_to(lead_id, "Released from quarantine.")


@admin.get("/leads/<int:lead_id>.json")
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


@admin.post("/leads/<int:lead_id>/erase")
def erase_lead(lead_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        return _invalid(lead_id, "action_form", form)
    if request.form.get("confirm") != "erase":
        flash("Type erase to confirm.")
        return redirect(url_for(".lead", lead_id=lead_id), code=303)
    if not erase(current_funnel().engine, lead_id, _actor()):
        abort(404)
    flash(f"Lead {lead_id} and everything recorded about them are erased.")
    return redirect(url_for(".leads"), code=303)


# --- follow-ups and audit -----------------------------------------------------------


@admin.get("/follow-ups")
def follow_ups():
    due = due_follow_ups(current_funnel().session)
    now = datetime.now(UTC)
    return render_template("flask_funnel/admin/follow_ups.html", due=due, now=now)


@admin.post("/follow-ups/<int:follow_up_id>/done")
def follow_up_done(follow_up_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        return _refuse_csrf() if _csrf_refused(form) else abort(400)
    complete_follow_up(current_funnel().engine, follow_up_id)
    flash("Follow-up done.")
    return redirect(_safe_next(request.form.get("next")), code=303)


@admin.get("/audit")
def audit_trail():
    entries = (
        current_funnel()
        .session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(200))
        .all()
    )
    return render_template("flask_funnel/admin/audit.html", entries=entries)
