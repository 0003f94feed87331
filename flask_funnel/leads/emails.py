"""Emails to leads and to the sales team, through Flask-Mailman and the host's
``MAIL_*`` settings.

An email is rendered while the visitor's request is at hand (their page version,
language and variant, the site's own addresses for links) and written to the outbox
with the sign-up; ``flask funnel deliver`` sends it. Every email carries a one-click
unsubscribe (RFC 8058: ``List-Unsubscribe`` and ``List-Unsubscribe-Post``).
"""

from __future__ import annotations

import smtplib
from datetime import datetime
from functools import partial
from urllib.parse import urlsplit

import mistune
from flask import current_app, has_request_context, render_template, url_for
from markupsafe import Markup

from flask_funnel.i18n.messages import text_direction, translate
from flask_funnel.pages.model import NurtureEmail, Outcome, Page

#: The outbox targets of emails to leads and to the sales team.
TO_LEAD, TO_TEAM = "email:lead", "email:team"
#: The outbox event of a nurture email: it is not sent to a lead who has unsubscribed,
#: bought or been lost by then.
NURTURE = "email.nurture"
#: The outbox event of the team's digest: rendered when sent, so it holds no erased lead.
DIGEST = "email.digest"


def offer_email(
    page: Page,
    outcome: Outcome,
    *,
    to: str,
    name: str | None,
    sender: str,
    offer_url: str,
    result_url: str,
    unsubscribe_url: str,
    link_days: int,
) -> dict:
    """The lead magnet by email: the result and the offer in the page's version, as the
    outbox keeps it (plain text and HTML)."""
    return _email(
        "offer",
        page,
        subject=page.offer.title,
        sender=sender,
        to=to,
        headers=_list_headers(unsubscribe_url, page.locale),
        outcome=outcome,
        name=name,
        offer_url=offer_url,
        result_url=result_url,
        unsubscribe_url=unsubscribe_url,
        link_days=link_days,
    )


def confirmation_email(
    page: Page,
    *,
    to: str,
    name: str | None,
    sender: str,
    confirm_url: str,
    days: int,
    unsubscribe_url: str,
) -> dict:
    """Double opt-in: the link that confirms the address (and, like every email, the
    one-click unsubscribe)."""
    subject = translate(page.locale, "Confirm your email to get {offer}", offer=page.offer.title)
    return _email(
        "confirm",
        page,
        subject=subject,
        sender=sender,
        to=to,
        headers=_list_headers(unsubscribe_url, page.locale),
        name=name,
        confirm_url=confirm_url,
        days=days,
        unsubscribe_url=unsubscribe_url,
    )


def nurture_email(
    page: Page,
    email: NurtureEmail,
    *,
    to: str,
    name: str | None,
    sender: str,
    unsubscribe_url: str,
) -> dict:
    """One email of the page's nurture sequence, its Markdown as text and as HTML (the
    page file's own HTML escaped, like everything else)."""
    return _email(
        "nurture",
        page,
        subject=email.subject,
        sender=sender,
        to=to,
        headers=_list_headers(unsubscribe_url, page.locale),
        email=email,
        name=name,
        unsubscribe_url=unsubscribe_url,
        body_html=Markup(_markdown(email.body)),  # noqa: S704 (mistune escapes HTML)
    )


def _email(template: str, page: Page, *, subject, sender, to, headers, **context) -> dict:
    """An email to a lead in the page's version: ``email/<template>.txt`` and ``.html``
    rendered in its language and direction, as the outbox keeps it."""
    context |= {
        "page": page,
        "subject": subject,
        "locale": page.locale,
        "direction": text_direction(page.locale),
        "t": partial(translate, page.locale),
    }
    return {
        "from": sender,
        "to": to,
        "subject": subject,
        "text": render_template(f"flask_funnel/email/{template}.txt", **context),
        "html": render_template(f"flask_funnel/email/{template}.html", **context),
        "headers": headers,
    }


def _list_headers(unsubscribe_url: str, locale: str) -> dict:
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Content-Language": locale,
    }


_markdown = mistune.create_markdown(escape=True)


def team_notice(lead, change: dict, *, sender: str, to: tuple[str, ...], locale: str) -> dict:
    """Tell the sales team a lead reached their stage (plain text, in ``locale``)."""
    t = partial(translate, locale)
    stage_name = t(change["to_stage"])  # the admin's name of the stage (``mql``)
    context = {
        "t": t,
        "lead": lead,
        "change": change,
        "stage_name": stage_name,
        "link": admin_lead_url(lead.id),
    }
    return {
        "from": sender,
        "to": list(to),
        "subject": t("{stage}: {email}", stage=stage_name, email=lead.email),
        "text": render_template("flask_funnel/email/team_notice.txt", **context),
        "headers": {"Content-Language": locale},
    }


def follow_up_digest(*, day: str, until: str, sender: str, to, locale: str) -> dict:
    """The team's digest as the outbox keeps it: only what to render when it is sent
    (``digest_now``): the follow-ups due by the end of ``day`` (``until``, ISO UTC)."""
    return {"from": sender, "to": list(to), "locale": locale, "day": day, "until": until}


def digest_now(queued: dict) -> dict:
    """The digest's email, from the open follow-ups due by then, as they are now."""
    from flask_funnel.leads.notes import due_follow_ups

    until = datetime.fromisoformat(queued["until"])
    session = current_app.extensions["funnel"].session
    items = [(f, lead) for f, lead in due_follow_ups(session) if f.due_at < until]
    t = partial(translate, queued["locale"])
    linked = [(follow_up, lead, admin_lead_url(lead.id)) for follow_up, lead in items]
    day = queued["day"]
    return {
        "from": queued["from"],
        "to": queued["to"],
        "subject": t("Follow-ups due by {day}: {count}", day=day, count=len(items)),
        "text": render_template("flask_funnel/email/digest.txt", t=t, items=linked, day=day),
        "headers": {"Content-Language": queued["locale"]},
    }


def admin_lead_url(lead_id: int) -> str | None:
    """The lead's admin page, absolute (``external_url``); None when there is no way to
    know the site's address (outside a request, without FUNNEL_SITE_URL)."""
    if not has_request_context() and current_app.extensions["funnel"].settings.site_url is None:
        return None
    return external_url("funnel_admin.lead", lead_id=lead_id)


def external_url(endpoint: str, **values) -> str:
    """An absolute link for an email: on FUNNEL_SITE_URL when it is set (a request's own
    Host header could name another site), else on the request's address."""
    site = current_app.extensions["funnel"].settings.site_url
    if site is None:
        return url_for(endpoint, **values, _external=True)
    parts = urlsplit(site)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or None, url_scheme=parts.scheme
    )
    return adapter.build(endpoint, values, force_external=True)


def send(message: dict, timeout: float) -> str | None:
    """Send an outbox email over the app's Flask-Mailman; what went wrong, or None."""
    from flask_mailman import EmailMultiAlternatives

    mail = current_app.extensions["mailman"]
    try:
        with mail.get_connection(timeout=timeout) as connection:
            to = message["to"]
            email = EmailMultiAlternatives(
                " ".join(message["subject"].split()),  # one line, whatever the page file says
                message["text"],
                message["from"],
                to if isinstance(to, list) else [to],
                headers=message["headers"],
                connection=connection,
            )
            if "html" in message:
                email.attach_alternative(message["html"], "text/html")
            email.send()
    except (smtplib.SMTPException, OSError) as error:
        return f"{type(error).__name__}: the mail server refused or could not be reached"
    return None
