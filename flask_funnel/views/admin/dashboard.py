"""The dashboard, the admin's first screen: the funnel for a period, month over month,
a breakdown and a forecast; per page, quiz drop-off and A/B tests. Read-only, so GET
only; every route needs an admin (the guard of ``blueprint.py``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, render_template, request

from flask_funnel.analytics import charts
from flask_funnel.analytics.csv_format import report_csv
from flask_funnel.analytics.experiments import variant_test
from flask_funnel.analytics.funnel import BREAKDOWNS, STAGES, build_report
from flask_funnel.analytics.periods import Period, PeriodError
from flask_funnel.analytics.quiz_dropoff import quiz_dropoff
from flask_funnel.i18n.messages import N_, SOURCE_LOCALE, format_number, isolated, translate
from flask_funnel.leads import audit
from flask_funnel.pages.model import Page
from flask_funnel.state import current_funnel
from flask_funnel.views.admin.blueprint import admin_locale, message, record_audit
from flask_funnel.views.admin.forms import ReportForm
from flask_funnel.views.admin.locale import stage_name

#: Nested in the admin blueprint, whose guard and headers it inherits.
dashboard = Blueprint("dashboard", __name__)


@dashboard.context_processor
def _report_helpers():
    return {
        "charts": charts,
        "calendar": current_funnel().settings.report.calendar,
        # ``t``, ``number``, ``percent``, ``signed``, ``days``, ``month`` in the admin's
        # language come from the admin blueprint's context.
        "trend_class": _trend_class,
    }


def _trend_class(change: int) -> str:
    return "up" if change > 0 else "down" if change < 0 else ""


def _report_form() -> tuple[ReportForm, Period | None]:
    """The form, and its period when the form is valid (else None)."""
    form = ReportForm(formdata=request.args)
    if request.args and not form.validate():
        return form, None
    try:
        return form, form.period_of(current_funnel().settings.report)
    except PeriodError as error:
        form.start.errors = [str(error)]
        return form, None


@dashboard.get("/")
def overview():
    form, period = _report_form()
    if period is None:
        return render_template("flask_funnel/admin/dashboard.html", form=form, report=None), 422
    state, language = current_funnel(), admin_locale()
    with state.engine.connect() as connection:
        report = build_report(connection, period, state.settings.report, by=form.by.data or None)
    return render_template(
        "flask_funnel/admin/dashboard.html",
        form=form,
        report=report,
        funnel_steps=[(stage_name(language, "visitors"), report["visitors"])]
        + [(stage_name(language, row["stage"]), row["reached"]) for row in report["stages"]],
        pages=state.pages.pages(),
        query={k: v for k, v in request.args.items() if v},
        breakdowns=BREAKDOWNS,
    )


@dashboard.get("/report.<any(csv, json):fmt>")
def report_download(fmt: str):
    form, period = _report_form()
    if period is None:
        return message(422, N_("Check the report's settings"), _errors(form))
    state = current_funnel()
    with state.engine.connect() as connection:
        report = build_report(connection, period, state.settings.report, by=form.by.data or None)
    record_audit(audit.EXPORT, detail=f"funnel report {period.first} to {period.last} as {fmt}")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    body = json.dumps(report, indent=2) if fmt == "json" else report_csv(report)
    return Response(
        body,
        mimetype="application/json" if fmt == "json" else "text/csv",
        headers={"Content-Disposition": f'attachment; filename="funnel-report-{stamp}.{fmt}"'},
    )


@dashboard.get("/pages/<slug>")
def page_report(slug: str):
    state = current_funnel()
    page = state.pages.get(slug)
    if page is None:
        abort(404)
    form, period = _report_form()
    if period is None:
        return render_template(
            "flask_funnel/admin/page_report.html", form=form, page=page, quiz=None
        ), 422
    stage = form.stage.data if form.stage.data in STAGES else STAGES[0]
    with state.engine.connect() as connection:
        quiz = quiz_dropoff(connection, page, period)
        test = variant_test(connection, page, period, stage)
    for step in quiz["steps"]:  # for the table and the chart
        step["label"] = _step_label(admin_locale(), page, step)
    return render_template(
        "flask_funnel/admin/page_report.html",
        form=form,
        page=page,
        period=period,
        quiz=quiz,
        test=test,
        step_bars=[
            (step["label"], step["visitors"], format_number(admin_locale(), step["visitors"]))
            for step in quiz["steps"]
        ],
    )


#: The quiz steps that are not questions (``quiz_dropoff`` names them in English).
_STEP_NAMES = {"landing": N_("Landing page"), "contact": N_("Contact step"), "sent": N_("Sent")}


def _step_label(language: str, page: Page, step: dict) -> str:
    """A quiz step as the admin reads it; a question keeps the page's own text (isolated:
    it may be written the other way)."""
    if language == SOURCE_LOCALE:
        return step["label"]
    if step["step"] in _STEP_NAMES:
        return translate(language, _STEP_NAMES[step["step"]])
    number = int(step["step"].removeprefix("question_"))
    text = isolated(page.questions[number - 1].text)
    return translate(language, N_("Question {number}: {text}"), number=number, text=text)


def _errors(form: ReportForm) -> str:
    return "; ".join(f"{form[name].label.text}: {' '.join(e)}" for name, e in form.errors.items())
