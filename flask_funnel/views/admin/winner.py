"""Making an A/B test's winner the page's default: the admin sees the page file's
change as a diff, and the site writes it when it may write the file
(``pages.winner``); otherwise the admin copies the change into the file."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from flask_funnel.i18n.messages import N_, isolated
from flask_funnel.leads import audit
from flask_funnel.pages.winner import Promotion, WinnerError, plan, write
from flask_funnel.state import current_funnel
from flask_funnel.views.admin.blueprint import record_audit, say
from flask_funnel.views.admin.forms import WinnerForm

#: Nested in the admin blueprint, whose guard and headers it inherits.
winner = Blueprint("winner", __name__)


@winner.route("/pages/<slug>/variants/<variant>/make-default", methods=["GET", "POST"])
def make_default(slug: str, variant: str):
    form = WinnerForm()
    try:
        promotion = _plan(slug, variant)
    except WinnerError as error:
        return _render(slug, variant, form, None, str(error)), 409
    if not form.validate_on_submit():
        form.seen.data = promotion.fingerprint
        return _render(slug, variant, form, promotion), 400 if form.is_submitted() else 200
    try:
        write(promotion, form.seen.data)
    except WinnerError as error:
        form.seen.data = promotion.fingerprint
        return _render(slug, variant, form, promotion, str(error)), 409
    record_audit(
        audit.PAGE_CHANGE,
        detail=f"variant {variant} made the default of {slug} ({promotion.path.name})",
    )
    seconds = current_funnel().settings.pages_reload_seconds
    flash(
        say(
            N_(
                "{file} now gives every visitor variant {variant}; the test has ended. The site "
                "reads the file again within {seconds} seconds."
            ),
            file=isolated(promotion.path.name),
            variant=variant,
            seconds=f"{seconds:g}",
        )
    )
    return redirect(url_for("funnel_admin.dashboard.page_report", slug=slug), code=303)


def _plan(slug: str, variant: str) -> Promotion:
    state = current_funnel()
    page_file = next((f for f in state.pages.files() if f.page and f.page.slug == slug), None)
    if page_file is None or all(v.id != variant for v in page_file.page.variants):
        abort(404)
    return plan(
        page_file.path,
        page_file.page,
        variant,
        state.pages.parser,
        allowed=state.settings.pages_writable,
    )


def _render(slug: str, variant: str, form: WinnerForm, promotion: Promotion | None, error=None):
    return render_template(
        "flask_funnel/admin/make_default.html",
        slug=slug,
        variant=variant,
        form=form,
        promotion=promotion,
        error=error,
        isolated=isolated,  # a rule's or file's name inside a right-to-left sentence
    )
