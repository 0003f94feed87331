"""The admin blueprint and its guard: every admin page needs a signed-in admin (or the
host's authorizer), every answer is ``no-store``, and every refusal is audited. The
sign-in and dashboard blueprints nest inside it, so they inherit all of this."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, url_for

from flask_funnel.auth import admin_session
from flask_funnel.capture.geo import request_address
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.i18n.messages import N_, translate
from flask_funnel.leads import audit
from flask_funnel.state import current_funnel
from flask_funnel.values import MAX_ID
from flask_funnel.views.admin import locale
from flask_funnel.views.admin.forms import ActionForm
from flask_funnel.views.admin.text import breakable_email

admin = Blueprint("funnel_admin", __name__, template_folder="../../templates")

OPEN_ENDPOINTS = {
    "funnel_admin.auth.sign_in",
    "funnel_admin.auth.google",
    # The sign-in page's language switch (a signed-in admin's is kept on the account).
    "funnel_admin.auth.language",
    "funnel_admin.static",
}


def record_audit(action: str, *, actor: str | None = None, **fields) -> None:
    with writing(current_funnel().engine) as connection:
        audit.record(connection, actor or current_actor(), action, ip=request_address(), **fields)


def current_actor() -> str:
    user = admin_session.current_admin()
    return user.name if user else "anonymous"


@admin.before_request
def require_admin():
    """Every admin route needs a signed-in admin (the nested blueprints' too)."""
    request.max_content_length = current_funnel().settings.max_content_length
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if admin_session.current_admin() is None:
        # Audited once per address in ten minutes: a flood of anonymous hits must not
        # bury the entries that matter.
        address = request_address() or "unknown"
        if current_funnel().counters.first_in("10 minutes", "admin-denied", address):
            record_audit("access_denied", detail=f"{request.method} {request.path}")
        if request.method == "GET":
            return redirect(
                url_for("funnel_admin.auth.sign_in", next=request.full_path.rstrip("?"))
            )
        return message(
            401, N_("Please sign in"), N_("Your session has ended. Sign in and try again.")
        )
    return None


@admin.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@admin.context_processor
def admin_context():
    """The admin, the forms of the header, and ``t``, ``number``, ``percent``, ``when``...
    in the admin's language (before sign-in, the browser's)."""
    user = admin_session.current_admin()
    return {
        "admin_user": user,
        "action_form": ActionForm(),
        "email": breakable_email,
        **locale.helpers(admin_locale(), current_funnel().settings.report.calendar),
    }


def admin_locale() -> str:
    """The language of this admin's pages (before sign-in, the one chosen in this browser
    or the one it prefers)."""
    return admin_session.area_locale()


def say(message: str, **values) -> str:
    """``message`` (English, marked with ``N_``) in the admin's language, for a flash."""
    return translate(admin_locale(), message, **values)


def message(status: int, title: str, body: str, **values):
    """A page with one message; ``title`` and ``body`` are English (marked with ``N_``),
    shown in the admin's language with ``values`` filled in."""
    language = admin_locale()
    return render_template(
        "flask_funnel/admin/message.html",
        title=translate(language, title, **values),
        body=translate(language, body, **values),
        # Also outside the admin blueprint (the shared Google callback), so without
        # its context processor.
        **locale.helpers(language, current_funnel().settings.report.calendar),
    ), status


def csrf_refused(form) -> bool:
    """True (and audited) when a POST came without a valid CSRF token."""
    if getattr(form, "csrf_token", None) is not None and form.csrf_token.errors:
        record_audit("csrf_failed", detail=request.path)
        return True
    return False


def refuse_csrf():
    return message(
        400, N_("This form has expired"), N_("Go back, reload the page and send the form again.")
    )


def form_id(field: str) -> int:
    """The id of the row a form acts on, from its ``field`` (a button posted to the page
    that lists the rows); a 404 when it names none a database could hold, as such an id
    in an address does."""
    value = request.form.get(field, "")
    if len(value) > 20 or not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_ID:
        abort(404)
    return int(value)


def safe_next(target: str | None) -> str:
    """Only a path on this site; anything else goes to the dashboard."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("funnel_admin.dashboard.overview")
