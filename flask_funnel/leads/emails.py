"""Emails to leads, through Flask-Mailman and the host's ``MAIL_*`` settings.

An email is rendered while the visitor's request is at hand (their page version,
language and variant, the site's own addresses for links) and written to the outbox
with the sign-up; ``flask funnel deliver`` sends it. Every email carries a one-click
unsubscribe (RFC 8058: ``List-Unsubscribe`` and ``List-Unsubscribe-Post``).
"""

from __future__ import annotations

import smtplib
from functools import partial

from flask import current_app, render_template

from flask_funnel.i18n.messages import text_direction, translate
from flask_funnel.pages.model import Outcome, Page

#: The outbox target of emails to leads.
TO_LEAD = "email:lead"


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
    context = {
        "page": page,
        "outcome": outcome,
        "name": name,
        "offer_url": offer_url,
        "result_url": result_url,
        "unsubscribe_url": unsubscribe_url,
        "link_days": link_days,
        "locale": page.locale,
        "direction": text_direction(page.locale),
        "t": partial(translate, page.locale),
    }
    return {
        "from": sender,
        "to": to,
        "subject": page.offer.title,
        "text": render_template("flask_funnel/email/offer.txt", **context),
        "html": render_template("flask_funnel/email/offer.html", **context),
        "headers": {
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Content-Language": page.locale,
        },
    }


def send(message: dict, timeout: float) -> str | None:
    """Send an outbox email over the app's Flask-Mailman; what went wrong, or None."""
    from flask_mailman import EmailMultiAlternatives

    mail = current_app.extensions["mailman"]
    try:
        with mail.get_connection(timeout=timeout) as connection:
            email = EmailMultiAlternatives(
                message["subject"],
                message["text"],
                message["from"],
                [message["to"]],
                headers=message["headers"],
                connection=connection,
            )
            email.attach_alternative(message["html"], "text/html")
            email.send()
    except (smtplib.SMTPException, OSError) as error:
        return f"{type(error).__name__}: the mail server refused or could not be reached"
    return None
