"""Signing in and out of the admin area (a blueprint nested in the admin's)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from flask_funnel.auth import accounts, admin_session
from flask_funnel.capture.geo import request_address
from flask_funnel.state import current_funnel
from flask_funnel.values import email_key
from flask_funnel.views.admin.blueprint import (
    csrf_refused,
    message,
    record_audit,
    refuse_csrf,
    safe_next,
)
from flask_funnel.views.admin.forms import ActionForm, SignInForm

auth = Blueprint("auth", __name__)


@auth.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    settings = current_funnel().settings
    if not form.validate_on_submit():
        if csrf_refused(form):
            return refuse_csrf()
        status = 422 if form.is_submitted() else 200
        return render_template("flask_funnel/admin/sign_in.html", form=form), status
    email = email_key(form.email.data)
    failures = accounts.recent_failures(
        current_funnel().engine,
        email=email,
        ip=request_address(),
        minutes=settings.admin_failure_window_minutes,
    )
    if failures >= settings.admin_max_failures:
        record_audit("sign_in_blocked", actor=email)
        current_app.logger.warning("admin sign-in blocked after %d failures", failures)
        return message(
            429,
            "Too many attempts",
            f"Sign-in is paused for {settings.admin_failure_window_minutes} minutes "
            "after repeated failures.",
        )
    signed_in = accounts.sign_in(
        current_funnel().engine, email, form.password.data, request_address()
    )
    if signed_in is None:
        current_app.logger.warning("admin sign-in failed")
        form.password.errors = ["Wrong email or password."]
        return render_template("flask_funnel/admin/sign_in.html", form=form), 401
    admin_session.start(signed_in)
    return redirect(safe_next(request.args.get("next")), code=303)


@auth.post("/sign-out")
def sign_out():
    form = ActionForm()
    if not form.validate_on_submit():
        return refuse_csrf() if csrf_refused(form) else abort(400)
    user = admin_session.current_admin()
    if user.admin_id is not None:
        accounts.end_sessions(current_funnel().engine, user.admin_id, user.name, request_address())
    admin_session.end()
    flash("You are signed out.")
    return redirect(url_for(".sign_in"), code=303)
