"""Continue with Google on the quiz's contact step: the redirect there and back, and the
verified identity the contact step then uses instead of a typed email."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for

from flask_funnel.auth import google
from flask_funnel.state import current_funnel
from flask_funnel.values import storable
from flask_funnel.views.public import signed_in as signed_in_module
from flask_funnel.views.public.routes import page_context, public


def contact_step_url(slug: str, args) -> str:
    """The contact step with the answers and start stamp of ``args`` (a path)."""
    page = current_funnel().pages.get(slug)
    kept = {k: v for k, v in args.items() if k.startswith("q_") or k == "started"}
    return url_for("funnel.quiz", slug=slug, step=page.contact_step, **kept)


@public.get("/<slug>/google")
def google_start(slug: str):
    """Leave for the provider; come back to this contact step with its answers."""
    if current_funnel().pages.get(slug) is None or current_funnel().settings.google is None:
        abort(404)
    back = contact_step_url(slug, request.args)
    try:
        return google.begin("quiz", back)
    except google.SignInError as error:
        return redirect(_with_error(back, error.reason), code=303)


@public.get("/google/callback")
def google_callback():
    """Where the provider sends the visitor (or admin) back, for every page."""
    if current_funnel().settings.google is None:
        abort(404)
    try:
        signed_in = google.finish(storable(request.args.get("state") or "") or None)
    except google.SignInError as error:
        return _failed(error)
    if signed_in.purpose == "admin":
        from flask_funnel.views.admin.sign_in import complete_google_sign_in

        return complete_google_sign_in(signed_in.identity, signed_in.next_path)
    signed_in_module.remember(signed_in.identity)
    return redirect(signed_in.next_path, code=303)


def _failed(error: google.SignInError):
    if error.next_path:
        return redirect(_with_error(error.next_path, error.reason), code=303)
    return render_template(
        "flask_funnel/error.html",
        **page_context("en"),
        code=400,
        title="This sign-in has expired",
        body="Go back to the quiz and choose Continue with Google again, or type your email.",
    ), 400


def _with_error(path: str, reason: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}google_error={reason}"
