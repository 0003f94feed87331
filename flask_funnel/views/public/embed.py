"""The quiz inside the host's own pages: ``{{ funnel_quiz("home-brewing") }}`` in any
template of the app renders the page's first question, the way a WordPress shortcode
drops a form into a post. Choosing an answer goes on to the funnel's quiz (step 2), so
it works with the host's layout and with JavaScript off; the view counts as a visit of
the page, like its landing page."""

from __future__ import annotations

import logging

from flask import after_this_request, current_app, g, render_template
from markupsafe import Markup

from flask_funnel.capture.bots import start_stamp
from flask_funnel.capture.visits import visit_row
from flask_funnel.state import current_funnel
from flask_funnel.views.public.forms import questions_form_class
from flask_funnel.views.public.routes import (
    admin_preview,
    page_context,
    set_visitor_cookie,
    visit_record,
    visitor_id,
    visitor_version,
)

log = logging.getLogger("flask_funnel.views")


def funnel_quiz(slug: str) -> Markup:
    """The first question of page ``slug``'s quiz, in this visitor's version (an HTML
    comment, and a warning in the log, when there is no such page)."""
    page = current_funnel().pages.get(slug)
    if page is None:
        log.warning("funnel_quiz(%r): no page has this slug", slug)
        return Markup("<!-- funnel_quiz: no page with this slug -->")
    version = visitor_version(page)
    if admin_preview() is None:
        current_funnel().visits.add(visit_row(visit_record(version)))
    if g.get("_funnel_new_visitor") and not g.get("_funnel_embed_cookie"):
        g._funnel_embed_cookie = True
        after_this_request(set_visitor_cookie)
    form = questions_form_class(version)(formdata=None, meta={"csrf": False})  # a GET form
    return Markup(  # noqa: S704 (an autoescaped template's output)
        render_template(
            "flask_funnel/_embed_quiz.html",
            page=version,
            question=version.questions[0],
            form=form,
            started=start_stamp(current_app.secret_key, visitor_id()),
            auto_advance=current_funnel().settings.quiz_auto_advance,
            **page_context(version.locale),
        )
    )
