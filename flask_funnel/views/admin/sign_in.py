"""Signing in and out of the admin area (a blueprint nested in the admin's): with a
local password, or with Google for the accounts ``FUNNEL_ADMIN_EMAILS`` and
``FUNNEL_ADMIN_DOMAIN`` let in; and the language the admin reads it in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from flask_funnel.auth import accounts, admin_session, google
from flask_funnel.auth.identity import VerifiedIdentity
from flask_funnel.capture.geo import request_address
from flask_funnel.counters import CountersUnavailable
from flask_funnel.i18n.messages import N_
from flask_funnel.state import current_funnel
from flask_funnel.values import email_key
from flask_funnel.views.admin.blueprint import (
    csrf_refused,
    message,
    record_audit,
    refuse_csrf,
    safe_next,
    say,
)
from flask_funnel.views.admin.forms import ActionForm, LanguageForm, SignInForm

auth = Blueprint("auth", __name__)

#: What the sign-in page says when a Google sign-in came back without an admin
#: (the reasons of ``google.SignInError``), in the page's language.
GOOGLE_ERRORS = {
    "denied": N_("You cancelled the Google sign-in."),
    "unavailable": N_("Google did not answer; try again or use your password."),
    "expired": N_("That Google sign-in had expired or was already used; try again."),
    "rejected": N_("Google's answer could not be checked; try again or use your password."),
    "unverified": N_("Google has not verified this account's email, so it cannot sign in here."),
}


def _sign_in_page(form: SignInForm, status: int = 200):
    reason = request.args.get("google_error") if request.method == "GET" else None
    return render_template(
        "flask_funnel/admin/sign_in.html",
        form=form,
        google_enabled=current_funnel().settings.google is not None,
        google_error=say(GOOGLE_ERRORS[reason]) if reason in GOOGLE_ERRORS else None,
        next_target=request.args.get("next"),
    ), status


@auth.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    if not form.validate_on_submit():
        if csrf_refused(form):
            return refuse_csrf()
        return _sign_in_page(form, 422 if form.is_submitted() else 200)
    email = email_key(form.email.data)
    address = request_address() or "unknown"
    brake = current_funnel().sign_in_brake
    try:
        allowed = brake.attempt(address)
    except CountersUnavailable:
        return message(503, N_("Sign-in is unavailable"), N_("Please try again in a few minutes."))
    if not allowed:
        if current_funnel().counters.first_in(f"{brake.minutes} minutes", "braked", address):
            record_audit("sign_in_blocked", actor=email)
        current_app.logger.warning("admin sign-in braked for an address")
        return message(
            429,
            N_("Too many attempts"),
            N_("Sign-in is paused for {minutes} minutes after repeated failures."),
            minutes=brake.minutes,
        )
    signed_in = accounts.sign_in(
        current_funnel().engine, email, form.password.data, request_address()
    )
    if signed_in is None:
        current_app.logger.warning("admin sign-in failed")
        form.password.errors = [say(N_("Wrong email or password."))]
        return _sign_in_page(form, 401)
    brake.succeeded(address)
    admin_session.start(signed_in)
    return redirect(safe_next(request.args.get("next")), code=303)


@auth.get("/google", endpoint="google")
def google_sign_in():
    """Leave for Google; the shared callback comes back through ``complete_google_sign_in``
    with the sign-in page (and the ``next`` it carried) as the place to return to."""
    if current_funnel().settings.google is None:
        abort(404)
    target = safe_next(request.args.get("next"))
    try:
        return google.begin("admin", url_for(".sign_in", next=target))
    except google.SignInError as error:
        return redirect(url_for(".sign_in", next=target, google_error=error.reason), code=303)


def complete_google_sign_in(identity: VerifiedIdentity, next_path: str):
    """The end of an admin's Google sign-in (called by the shared callback): a new admin
    session for an allowed identity, a 403 for any other. ``next_path`` is the sign-in
    page that began it, with the ``next`` to go on to."""
    settings = current_funnel().settings.google
    if settings is None:
        abort(404)
    signed_in = accounts.google_admin(
        current_funnel().engine, identity, settings, request_address()
    )
    if signed_in is None:
        current_app.logger.warning("admin Google sign-in refused")
        return message(
            403,
            N_("This Google account may not use the admin area"),
            N_("Sign in with an account the site lets in, or with your email and password."),
        )
    admin_session.start(signed_in)
    target = parse_qs(urlsplit(next_path).query).get("next", [None])[0]
    return redirect(safe_next(target), code=303)


@auth.post("/sign-out")
def sign_out():
    form = ActionForm()
    if not form.validate_on_submit():
        return refuse_csrf() if csrf_refused(form) else abort(400)
    user = admin_session.current_admin()
    if user.admin_id is not None:
        accounts.end_sessions(current_funnel().engine, user.admin_id, user.name, request_address())
    admin_session.end()
    flash(say(N_("You are signed out.")))  # in the sign-in page's language
    return redirect(url_for(".sign_in"), code=303)


@auth.post("/language")
def language():
    """The header's language switch: kept on the admin's account (in the session for a
    user the host lets in), then back to the page it was sent from."""
    form = LanguageForm()
    if not form.validate_on_submit():
        return refuse_csrf() if csrf_refused(form) else abort(400)
    admin_session.choose_locale(admin_session.current_admin(), form.locale.data)
    return redirect(safe_next(request.form.get("next")), code=303)
