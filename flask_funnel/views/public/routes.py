"""Visitor-facing pages: landing page, quiz steps, thank-you page and offer download."""

from __future__ import annotations

import logging
import uuid
from functools import partial

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import Row, bindparam, exists, select
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from flask_funnel.capture.attribution import BOT, device_class, traffic_source, utm_tags
from flask_funnel.capture.bots import check_start, quarantine_reason, start_stamp
from flask_funnel.capture.confirmation import UNCONFIRMED, awaiting
from flask_funnel.capture.confirmation import confirm as confirmed
from flask_funnel.capture.consent import consent_withdrawn, withdraw_consent
from flask_funnel.capture.geo import Place, request_address, request_place, truncate_address
from flask_funnel.capture.submissions import QuizEntry, capture
from flask_funnel.capture.visits import (
    VisitRecord,
    first_seen,
    new_visitor_id,
    steps_reached,
    visit_row,
)
from flask_funnel.db.models import Consent, Lead, Submission
from flask_funnel.i18n.messages import (
    N_,
    format_number,
    format_percent,
    text_direction,
    translate,
)
from flask_funnel.leads import emails
from flask_funnel.pages.model import Page
from flask_funnel.pages.versions import (
    VersionKey,
    accept_languages,
    page_version,
    version_by_key,
    version_key,
    with_variant,
)
from flask_funnel.state import current_funnel
from flask_funnel.views.preview import PARAM as PREVIEW_PARAM
from flask_funnel.views.preview import Preview, current_preview
from flask_funnel.views.public import signed_in
from flask_funnel.views.public.forms import (
    QuestionsForm,
    QuizForm,
    WithdrawForm,
    form_class,
    questions_form_class,
    requested_step,
)

log = logging.getLogger("flask_funnel.views")

public = Blueprint(
    "funnel",
    __name__,
    template_folder="../../templates",
    static_folder="../../static/flask_funnel",
    static_url_path="/static",
)


# --- request plumbing -------------------------------------------------------------


@public.before_request
def _limit_body_size() -> None:
    request.max_content_length = current_funnel().settings.max_content_length


@public.after_request
def _finish(response):
    set_visitor_cookie(response)
    page = g.get("_funnel_page")
    if page is not None and page.locales:  # its locale may follow the browser's
        response.vary.add("Accept-Language")
    return response


def set_visitor_cookie(response):
    """Give a browser seen for the first time its anonymous visitor id."""
    new_visitor = g.get("_funnel_new_visitor")
    if new_visitor:
        settings = current_funnel().settings
        response.set_cookie(
            settings.visitor_cookie,
            new_visitor,
            max_age=settings.visitor_cookie_days * 86400,
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response


@public.context_processor
def _carried_context() -> dict:
    return {
        "carried_args": carried_args(),
        "embedded": embedded() is not None,
        "auto_advance": current_funnel().settings.quiz_auto_advance,
    }


def carried_args() -> dict[str, str]:
    """What the links and forms of the flow carry: an admin's preview (see
    ``views.preview``) and an embed's visitor (``embedded``)."""
    carried = {}
    token = request.values.get(PREVIEW_PARAM) if g.get("_funnel_preview") else None
    if token:
        carried[PREVIEW_PARAM] = token
    if embedded() is not None:
        carried[EMBED_PARAM] = _serializer("embed").dumps(embedded())
    return carried


#: The parameter that marks the pages of an iframe on another site (``<slug>/embed``).
EMBED_PARAM = "embed"


def embedded() -> str | None:
    """In an iframe on another site: the visitor id the embed carries from page to page
    (a browser may not keep or send our cookies there), else None."""
    if "_funnel_embed" not in g:
        visitor = None
        token = request.args.get(EMBED_PARAM)  # a POST carries it in its address too
        if token:
            try:
                visitor = _serializer("embed").loads(token)
            except BadSignature:
                visitor = None
        valid = isinstance(visitor, str) and len(visitor) == 32
        g._funnel_embed = (
            visitor if valid and all(c in "0123456789abcdef" for c in visitor) else None
        )
    return g._funnel_embed


@public.errorhandler(429)
def _too_many_sign_ups(error: HTTPException):
    """A rate limit (``views/limits.py``) refused the request: the contact step comes back
    with what was typed, and says to wait."""
    current_funnel().session.rollback()
    headers = {"Retry-After": "60"}
    if request.endpoint == "funnel.quiz" and request.method == "POST":
        slug = request.view_args["slug"]
        page = _version_or_404(slug, _posted_version(slug))
        body, status, _ = _render_step(
            page, _quiz_form(page), page.contact_step, status=429, rate_limited=True
        )
        return body, status, headers | {"Cache-Control": "no-store"}
    return _render_error(429), 429, headers


@public.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    current_funnel().session.rollback()
    return _render_error(error.code or 500), error.code


@public.errorhandler(OperationalError)
def _database_unavailable(error: OperationalError):
    current_funnel().session.rollback()
    log.error("database unavailable: %s", type(error.orig).__name__)
    return _render_error(503), 503


def _render_error(code: int):
    locale = getattr(g.get("_funnel_page"), "locale", "en")
    messages = {
        404: (N_("Page not found"), N_("This page does not exist or is no longer available.")),
        410: (
            N_("This link has expired"),
            N_("Open your result page from the email to download it again."),
        ),
        413: (N_("Too much data"), N_("What you sent is larger than this form accepts.")),
        429: (N_("Too many attempts"), N_("Please wait a minute and try again.")),
        503: (N_("Please try again"), N_("We could not save this just now. Please try again.")),
    }
    title, body = messages.get(code, (N_("Something went wrong"), N_("Please try again later.")))
    return render_template(
        "flask_funnel/error.html",
        **page_context(locale),
        code=code,
        title=translate(locale, title),
        body=translate(locale, body),
    )


def page_context(locale: str) -> dict:
    return {
        "locale": locale,
        "direction": text_direction(locale),
        "t": partial(translate, locale),
        "number": partial(format_number, locale),
        "percent": partial(format_percent, locale),
        "asset_url": asset_url,
        # In an iframe on another site: the funnel's own bare layout, not the host's.
        "base_template": (
            "flask_funnel/base.html"
            if has_request_context() and embedded() is not None
            else current_funnel().settings.base_template
        ),
    }


def _render(template: str, page: Page, status: int = 200, **context):
    body = render_template(template, page=page, **page_context(page.locale), **context)
    return body, status


def _page_or_404(slug: str) -> Page:
    page = current_funnel().pages.get(slug)
    if page is None:
        abort(404)
    g._funnel_page = page
    return page


def _version_or_404(slug: str, key: VersionKey | None = None) -> Page:
    """The version of the page this visitor sees (from their place, Accept-Language and
    A/B variant, see ``pages.versions``), or the one ``key`` names when the page still
    has it (the contact form and the result link carry the version the visitor was shown)."""
    page = _page_or_404(slug)
    version = version_by_key(page, key) if key else None
    if version is None:
        version = visitor_version(page)
    g._funnel_page = version
    return version


def visitor_version(page: Page) -> Page:
    """The version of ``page`` this request's visitor sees: their place, languages and
    A/B variant (an admin's preview: the place, languages and variant previewed)."""
    preview = admin_preview()
    accept = accept_languages(preview.accept_language) if preview else request.accept_languages
    version = page_version(page, _visitor_place() if page.places else None, accept)
    if preview is not None:  # an admin looking as someone else: no variant of theirs
        return with_variant(version, preview.variant)
    if version.variants:
        return with_variant(version, version.variant_for(visitor_id()).id)
    return version


def admin_preview() -> Preview | None:
    """An admin's preview of the page as a visitor from some place: nothing is recorded."""
    if "_funnel_preview" not in g:
        g._funnel_preview = current_preview()
    return g._funnel_preview


def _visitor_place() -> Place:
    """Where this request's visitor is (the previewed place in a preview), looked up once."""
    if "_funnel_place" not in g:
        preview = admin_preview()
        g._funnel_place = preview.place if preview else _place(request_address())
    return g._funnel_place


def _version_token(page: Page) -> str:
    rule_ids, locale, variant = version_key(page)
    return _serializer("version").dumps([page.slug, list(rule_ids), locale, variant])


def _posted_version(slug: str) -> VersionKey | None:
    """The version the contact form was shown in (its signed ``version`` field)."""
    try:
        posted_slug, rule_ids, locale, variant = _serializer("version").loads(
            request.form.get("version", "")
        )
    except (BadSignature, TypeError, ValueError):
        return None
    return (tuple(rule_ids), locale, variant) if posted_slug == slug else None


def visitor_id() -> str:
    if embedded() is not None:
        return embedded()
    cookie = request.cookies.get(current_funnel().settings.visitor_cookie, "")
    if len(cookie) == 32 and all(c in "0123456789abcdef" for c in cookie):
        return cookie
    if "_funnel_new_visitor" not in g:
        g._funnel_new_visitor = new_visitor_id()
    return g._funnel_new_visitor


def _place(address: str | None) -> Place:
    return request_place(address)


def _serializer(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=f"flask-funnel-{purpose}")


def _timed_serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=f"flask-funnel-{purpose}")


def visit_record(page: Page) -> VisitRecord:
    """This request as a view of ``page``: who, where from, on what, shown which version."""
    utm = utm_tags(request.args)
    return VisitRecord(
        visitor_id=visitor_id(),
        page_slug=page.slug,
        variant=page.variant,
        referrer=request.referrer,
        source=traffic_source(utm["utm_source"], request.referrer, request.host),
        utm=utm,
        device=device_class(request.user_agent.string),
        place=_visitor_place(),
        ip=truncate_address(request_address(), current_funnel().settings.store_full_ip),
        place_version=page.place_version,
    )


# --- landing page -----------------------------------------------------------------


@public.get("/<slug>")
def landing(slug: str):
    page = _version_or_404(slug)
    if admin_preview() is not None:  # an admin looking as someone else: no visit
        body, status = _render("flask_funnel/landing.html", page)
        return body, status, {"Cache-Control": "no-store"}
    current_funnel().visits.add(visit_row(visit_record(page)))
    body, status = _render("flask_funnel/landing.html", page)
    return body, status, {"Cache-Control": "private, no-cache"}


@public.get("/<slug>/embed")
def embed(slug: str):
    """The landing page for an iframe on another site (``static/embed.js`` sizes the
    frame); every page of the flow after it stays in the frame's own layout."""
    g._funnel_embed = visitor_id()  # carried by the embed's links from here on
    return landing(slug)


# --- quiz -------------------------------------------------------------------------


@public.route("/<slug>/quiz", methods=["GET", "POST"])
def quiz(slug: str):
    """Steps travel as GET (answers in the query, so Back and reload just work);
    only the contact step, which carries the email, is a POST."""
    page = _version_or_404(slug, _posted_version(slug) if request.method == "POST" else None)
    if request.method == "POST":
        form = _quiz_form(page)
        return _submit(page, form)

    # A question step has no token to render: only the contact step (a POST) needs one,
    # so only it signs one (and starts the visitor's session).
    on_contact_step = requested_step(page, request.args.get("step")) == page.contact_step
    form = _quiz_form(page, contact=on_contact_step, formdata=request.args or None)
    if request.args.get("google") == "off":  # "use another email"
        signed_in.forget()
    step = form.current_step()
    if not form.started.data:
        form.started.data = start_stamp(current_app.secret_key, visitor_id())
    if step > 1:
        invalid = form.first_invalid_step(step - 1)
        if invalid is not None:
            return _render_step(page, form, invalid, status=422)
    if admin_preview() is None:
        current_funnel().visits.add_steps(steps_reached(visit_record(page), step))
    return _render_step(page, form, step)


def _quiz_form(page: Page, *, contact: bool = True, **kwargs) -> QuestionsForm:
    """The page's quiz form: a question step's without ``contact`` (no token), else the
    contact step's. In an embed on another site its POST is proven by its Origin
    instead of the session's CSRF token (``_from_this_site``): a browser may not send
    our session cookie there."""
    if not contact or embedded() is not None:
        kwargs["meta"] = {"csrf": False}
    return (form_class if contact else questions_form_class)(page)(**kwargs)


def _from_this_site() -> bool:
    """The POST came from a page of this site: its Origin (or, without one, its
    Referer) is this site's. What a CSRF token proves, for a form in a cross-site iframe."""
    here = request.host_url.rstrip("/")
    origin = request.headers.get("Origin")
    if origin:
        return origin == here
    referrer = request.referrer or ""
    return referrer == here or referrer.startswith(here + "/")


def _render_step(page: Page, form: QuestionsForm, step: int, status: int = 200, **context):
    answers = {k: v for k, v in form.answers().items() if v}
    if step == page.contact_step:
        if not form.idempotency_key():
            form.key.data = uuid.uuid4().hex
        context = (
            _sign_in_context(page, form, answers) | {"version": _version_token(page)} | context
        )
    body, status = _render(
        "flask_funnel/quiz.html",
        page,
        status,
        form=form,
        step=step,
        question=page.questions[step - 1] if step < page.contact_step else None,
        answers=answers,
        previous_url=url_for(
            ".quiz",
            slug=page.slug,
            step=step - 1,
            started=form.started.data,
            **{f"q_{k}": v for k, v in answers.items()},
            **carried_args(),
        )
        if step > 1
        else url_for(".landing", slug=page.slug, **carried_args()),
        **context,
    )
    return body, status, {"Cache-Control": "no-store"}


def _sign_in_context(page: Page, form: QuizForm, answers: dict[str, str]) -> dict:
    """What the contact step shows of Google sign-in (nothing when it is not set up)."""
    if current_funnel().settings.google is None or embedded() is not None:
        return {}  # Google does not sign in inside another site's frame
    query = {"started": form.started.data, **{f"q_{k}": v for k, v in answers.items()}}
    identity = signed_in.signed_in_identity()
    if identity is not None:
        form.use_google.data = "1"
    error = request.args.get("google_error")
    return {
        "google_start_url": url_for("funnel.google_start", slug=page.slug, **query),
        "google_identity": identity,
        "google_off_url": url_for(
            ".quiz", slug=page.slug, step=page.contact_step, google="off", **query
        ),
        "google_error": (error if error in signed_in.MESSAGES else "rejected") if error else None,
        "google_messages": signed_in.MESSAGES,
    }


def _submit(page: Page, form: QuizForm):
    invalid = form.first_invalid_step(page.contact_step)
    start = check_start(form.started.data, current_app.secret_key, visitor_id())
    if start.expired:  # a form left open for a day gets a fresh stamp
        form.started.data = start_stamp(current_app.secret_key, visitor_id())
    forged = form.csrf_failed or (embedded() is not None and not _from_this_site())
    if forged or start.expired:
        return _render_step(page, form, page.contact_step, status=400, form_expired=True)
    if invalid is not None:
        return _render_step(page, form, invalid, status=422)
    identity = None
    if form.use_google.data:
        identity = signed_in.signed_in_identity()
        if identity is None:  # signed in too long ago, or in another browser
            form.use_google.data = ""
            return _render_step(page, form, page.contact_step, 422, google_error="expired")
    if admin_preview() is not None:  # an admin's preview stores nothing
        return _render_step(page, form, page.contact_step, preview_only=True)
    key = form.idempotency_key() or uuid.uuid4().hex
    visit = visit_record(page)
    email = identity.email if identity else form.normalized_email
    name = form.name.data or (identity.name if identity else None)
    settings = current_funnel().settings
    reason = quarantine_reason(
        honeypot=form.website.data,
        start=start,
        min_seconds=settings.min_fill_seconds,
        agent_is_bot=visit.device == BOT,
    )
    if reason is None and page.confirm and settings.mail_from:
        reason = UNCONFIRMED
    score = page.score(form.answers())
    entry = QuizEntry(
        page=page,
        email=email,
        name=name,
        identity=identity,
        answers=form.answers(),
        idempotency_key=key,
        visitor_id=visit.visitor_id,
        arrival=first_seen(visit_row(visit)),
        place=visit.place,
        fill_seconds=start.seconds,
        quarantine_reason=reason,
        emails_to_lead=(
            _confirmation_email(page, key, email, name)
            if reason == UNCONFIRMED
            else _lead_emails(page, score, key, email, name)
        ),
    )
    try:
        capture(current_funnel().engine, entry, views=current_funnel().visits)
    except OperationalError as exc:
        log.error("submission not stored, database unavailable: %s", type(exc.orig).__name__)
        return _render_step(page, form, page.contact_step, status=503, unavailable=True)
    signed_in.forget()
    thanks_url = url_for(
        ".thanks", slug=page.slug, token=_thanks_token(page, key), **carried_args()
    )
    return redirect(thanks_url, code=303)


def _thanks_token(page: Page, key: str) -> str:
    """The result page's link: the submission and the version it was taken in."""
    return _serializer("thanks").dumps([key, *version_key(page)])


def _confirmation_email(page: Page, key: str, to: str, name: str | None):
    """Double opt-in: the email with the link that confirms the address."""
    settings = current_funnel().settings
    token = _timed_serializer("confirm").dumps([key, *version_key(page)])
    message = emails.confirmation_email(
        page,
        to=to,
        name=name,
        sender=settings.mail_from,
        confirm_url=emails.external_url("funnel.confirm", slug=page.slug, token=token),
        days=settings.confirm_days,
        unsubscribe_url=_unsubscribe_url(key),
    )
    return ((0, "email.confirm", message),)


def _unsubscribe_url(key: str) -> str:
    return emails.external_url("funnel.unsubscribe", token=_serializer("unsubscribe").dumps(key))


def _lead_emails(page: Page, score: int, key: str, to: str, name: str | None):
    """The lead magnet by email now and the page's nurture emails later, when the
    site sends email (``leads.emails``): ``(days after sign-up, event, message)``."""
    settings = current_funnel().settings
    if not settings.mail_from:
        return ()
    unsubscribe_url = _unsubscribe_url(key)
    link = _timed_serializer("offer-link").dumps([key, *version_key(page)])
    offer = emails.offer_email(
        page,
        page.outcome_for(score),
        to=to,
        name=name,
        sender=settings.mail_from,
        offer_url=emails.external_url("funnel.offer_link", slug=page.slug, token=link),
        result_url=emails.external_url(
            "funnel.thanks", slug=page.slug, token=_thanks_token(page, key)
        ),
        unsubscribe_url=unsubscribe_url,
        link_days=settings.offer_link_days,
    )
    nurture = (
        (
            email.after_days,
            emails.NURTURE,
            emails.nurture_email(
                page,
                email,
                to=to,
                name=name,
                sender=settings.mail_from,
                unsubscribe_url=unsubscribe_url,
            ),
        )
        for email in page.nurture
    )
    return ((0, "email.offer", offer), *nurture)


# --- after the quiz ---------------------------------------------------------------


def _result_version_or_404(slug: str, token: str) -> tuple[Page, str]:
    """The version of the page the visitor took the quiz in (the result link carries it;
    links made before it did give the version of this request), and the submission key."""
    try:
        data = _serializer("thanks").loads(token)
    except BadSignature:
        abort(404)
    if isinstance(data, list) and len(data) == 4:
        key, rule_ids, locale, variant = data
        return _version_or_404(slug, (tuple(rule_ids), locale, variant)), str(key)
    if isinstance(data, list) and len(data) == 3:  # made before variants changed offers
        key, rule_ids, locale = data
        page = _version_or_404(slug, (tuple(rule_ids), locale, None))
        variant = page.variant_for(visitor_id())
        return with_variant(page, variant.id if variant else None), str(key)
    return _version_or_404(slug), str(data)


#: What the pages after the quiz need of its submission, and whether the lead still
#: consents: one read by the unique key (the result page is on every visitor's way),
#: built once (building it per request cost more than running it).
_RESULT = select(
    Submission.id,
    Submission.lead_id,
    Submission.page_slug,
    Submission.score,
    Submission.quarantined,
    Submission.quarantine_reason,
    exists()
    .where(Consent.lead_id == Submission.lead_id, Consent.withdrawn_at.is_(None))
    .label("consenting"),
).where(Submission.idempotency_key == bindparam("key"))


def _submission_or_404(page: Page, key: str) -> Row:
    with current_funnel().engine.connect() as connection:
        submission = connection.execute(_RESULT, {"key": key}).first()
    if submission is None or submission.page_slug != page.slug:
        abort(404)
    return submission


@public.get("/<slug>/thanks/<token>")
def thanks(slug: str, token: str):
    page, key = _result_version_or_404(slug, token)
    submission = _submission_or_404(page, key)
    body, status = _render(
        "flask_funnel/thanks.html",
        page,
        awaiting_confirmation=awaiting(submission),
        outcome=page.outcome_for(submission.score),
        token=token,
        withdraw_form=WithdrawForm(),
        withdrawn=not submission.consenting,
    )
    return body, status, {"Cache-Control": "no-store"}


@public.post("/<slug>/thanks/<token>/withdraw")
def withdraw(slug: str, token: str):
    """Withdrawing consent takes one click, like giving it."""
    page, key = _result_version_or_404(slug, token)
    submission = _submission_or_404(page, key)
    if not WithdrawForm().validate_on_submit():
        abort(400)
    withdraw_consent(current_funnel().engine, submission.lead_id)
    return redirect(url_for(".thanks", slug=page.slug, token=token), code=303)


@public.get("/<slug>/offer/<token>")
def offer(slug: str, token: str):
    page, key = _result_version_or_404(slug, token)
    if awaiting(_submission_or_404(page, key)):  # double opt-in: not before confirming
        abort(404)
    return _send_offer(page)


def _send_offer(page: Page):
    if page.offer.kind != "download":
        abort(404)
    response = send_from_directory(
        current_funnel().settings.offers_dir, page.offer.file, as_attachment=True, max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _emailed_link(purpose: str, slug: str, token: str, days: int) -> tuple[Page, str] | None:
    """The page version and submission key of a link an email carried (valid ``days``);
    None when it has expired; 404 when it was never one of ours."""
    try:
        key, *version = _timed_serializer(purpose).loads(token, max_age=days * 86400)
    except SignatureExpired:
        _page_or_404(slug)
        return None
    except (BadSignature, TypeError, ValueError):
        abort(404)
    return _version_or_404(slug, tuple(version) if len(version) == 3 else None), str(key)


@public.get("/<slug>/offer-link/<token>")
def offer_link(slug: str, token: str):
    """The download link of the lead magnet email: it works for FUNNEL_OFFER_LINK_DAYS."""
    found = _emailed_link("offer-link", slug, token, current_funnel().settings.offer_link_days)
    if found is None:
        return _render_error(410), 410
    page, key = found
    if awaiting(_submission_or_404(page, key)):
        abort(404)
    return _send_offer(page)


@public.get("/<slug>/confirm/<token>")
def confirm(slug: str, token: str):
    """Double opt-in: the link in the confirmation email. The sign-up counts from now
    on, and the offer and the nurture emails are queued; then the result page."""
    found = _emailed_link("confirm", slug, token, current_funnel().settings.confirm_days)
    if found is None:
        return _render_error(410), 410
    page, key = found
    submission = _submission_or_404(page, key)
    lead = current_funnel().session.get(Lead, submission.lead_id)
    if awaiting(submission):
        queued = _lead_emails(page, submission.score, str(key), lead.email, lead.name)
        confirmed(current_funnel().engine, submission.id, queued)
    thanks_url = url_for(".thanks", slug=page.slug, token=_thanks_token(page, str(key)))
    return redirect(thanks_url, code=303)


@public.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """An email's unsubscribe link: a page with a button, and the one-click POST of RFC
    8058 that mail programs send without a form (the signed token is the proof)."""
    try:
        key = _serializer("unsubscribe").loads(token)
    except BadSignature:
        abort(404)
    session = current_funnel().session
    submission = session.execute(
        select(Submission).where(Submission.idempotency_key == str(key))
    ).scalar_one_or_none()
    if submission is None:
        abort(404)
    page = current_funnel().pages.get(submission.page_slug)
    locale = submission.locale or (page.locale if page else "en")
    if request.method == "POST":
        withdraw_consent(current_funnel().engine, submission.lead_id)
        done = True
    else:
        done = consent_withdrawn(session, submission.lead_id)
    body = render_template(
        "flask_funnel/unsubscribe.html", **page_context(locale), token=token, done=done
    )
    return body, 200, {"Cache-Control": "no-store"}


def asset_url(path: str) -> str:
    """Where the browser gets a page file's image: an ``https://`` address as it is,
    else this site's ``asset`` route (built once per image: a step shows four)."""
    if path.startswith("https://"):
        return path
    built = current_funnel().asset_urls
    key = (request.script_root, path)
    url = built.get(key)
    if url is None:
        url = url_for("funnel.asset", filename=path)
        if len(built) < _MAX_ASSET_URLS:  # a script root a proxy header sets cannot fill it
            built[key] = url
    return url


_MAX_ASSET_URLS = 4096


@public.get("/assets/<path:filename>")
def asset(filename: str):
    """Images referenced by page files."""
    return send_from_directory(current_funnel().settings.assets_dir, filename, max_age=3600)
