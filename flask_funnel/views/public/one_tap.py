"""Google One Tap on the landing page and the quiz's contact step (``FUNNEL_GOOGLE_ONE_TAP``).

Google's script shows the prompt; when the visitor picks an account, it posts the ID token
(``credential``) to our endpoint, which checks it like the redirect flow's and keeps the
identity in the session for the contact step. Nothing here creates a lead: only the
contact step's POST, with consent, does that.

CSRF: the POST is made by Google's script, not by our form, so it carries no WTForms
token. Its defence is Google's double-submit token instead: the script sets a
``g_csrf_token`` cookie on this site and posts the same value as a form field; a page on
another site can post the field but can neither read nor set the cookie. Both must be
present and equal (a constant-time compare), or the request is refused before anything
is verified or stored.

The pages that show the prompt mark the request (``g._funnel_one_tap``), and only their
Content-Security-Policy lets in Google's script, frame and style (``views.headers``).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping

from flask import abort, g, redirect, render_template, request, url_for

from flask_funnel.auth import google
from flask_funnel.pages.model import Page
from flask_funnel.state import current_funnel
from flask_funnel.views.public import signed_in
from flask_funnel.views.public.google import contact_step_url
from flask_funnel.views.public.routes import page_context, public

log = logging.getLogger("flask_funnel.views")

#: The name of Google's double-submit token, as cookie and as form field.
CSRF_NAME = "g_csrf_token"
#: Google's client library, loaded only on the pages that show the prompt.
SCRIPT_URL = "https://accounts.google.com/gsi/client"


def one_tap_prompt(
    page: Page, answers: Mapping[str, str] | None = None, started: str | None = None
) -> dict | None:
    """What the One Tap markup needs on this page (the landing page without ``answers``,
    the contact step with them), or None when it is not shown: One Tap off, Google not
    configured, the visitor already signed in, just back from a failed attempt, or just
    chose to type another email.

    Showing it marks the request, so the response's policy admits Google's script."""
    settings = current_funnel().settings.google
    if settings is None or not settings.one_tap or g.get("_funnel_embed"):
        return None
    if signed_in.signed_in_identity() is not None:
        return None
    if request.args.get("google_error") or request.args.get("google") == "off":
        return None
    params = {"page": page.slug}
    if answers is not None:
        params |= {f"q_{k}": v for k, v in answers.items() if v}
        params |= {"started": started or "", "step": page.contact_step}
    g._funnel_one_tap = True
    return {
        "script_url": SCRIPT_URL,
        "client_id": settings.client_id,
        # One address for every page, to register once with Google; the page and the
        # answers ride along as data attributes, which Google posts with the token.
        "login_uri": url_for("funnel.google_one_tap", _external=True),
        "params": params,
    }


@public.context_processor
def _one_tap_helper() -> dict:
    return {"one_tap_prompt": one_tap_prompt}


@public.post("/google/one-tap")
def google_one_tap():
    """Where Google posts the ID token the visitor chose on the prompt, with the prompt's
    data attributes: the ``page``, and on the contact step its ``step``, answers and
    start stamp; from the landing page the visitor continues with the quiz's first step."""
    slug = request.form.get("page", "")
    page = current_funnel().pages.get(slug)
    settings = current_funnel().settings.google
    if page is None or settings is None or not settings.one_tap:
        abort(404)
    g._funnel_page = page
    if "step" in request.form:  # the contact step: its answers and start stamp ride along
        here = onward = contact_step_url(slug, request.form)
    else:
        here, onward = url_for("funnel.landing", slug=slug), url_for("funnel.quiz", slug=slug)
    if not _double_submit_matches():
        log.info("one tap refused: g_csrf_token missing or mismatched")
        return _refused(page)
    try:
        identity = google.verify_id_token(request.form.get("credential", ""))
    except google.SignInError as error:
        log.info("one tap refused: %s", error)
        return redirect(f"{here}{'&' if '?' in here else '?'}google_error={error.reason}", 303)
    signed_in.remember(identity)  # as the redirect flow's callback does
    return redirect(onward, code=303)


def _double_submit_matches() -> bool:
    cookie = request.cookies.get(CSRF_NAME, "")
    posted = request.form.get(CSRF_NAME, "")
    return bool(cookie and posted) and hmac.compare_digest(cookie.encode(), posted.encode())


def _refused(page: Page):
    context = page_context(page.locale)
    t = context["t"]
    body = render_template(
        "flask_funnel/error.html",
        **context,
        code=400,
        title=t("Something went wrong"),
        body=t("Google sign-in did not work. Please try again, or type your email."),
    )
    return body, 400, {"Cache-Control": "no-store"}
