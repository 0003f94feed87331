"""The dashboard, the admin's first screen: the funnel for a period, month over month,
a breakdown and a forecast; per page, quiz drop-off and A/B tests. Read-only, so GET
only; every route needs an admin, as in ``admin.py``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import Blueprint, Response, abort, render_template, request

from .. import audit, charts
from ..ab_report import variant_test
from ..admin_forms import ReportForm
from ..extension import current_funnel
from ..quiz_report import quiz_dropoff
from ..report import STAGES, build_report
from ..report_csv import report_csv
from ..report_period import Period, PeriodError
from ..report_text import percent, signed
from .admin import admin_context, message, no_store, record_audit, require_admin

dashboard = Blueprint("funnel_dashboard", __name__, template_folder="../templates")
dashboard.before_request(require_admin)
dashboard.after_request(no_store)
dashboard.context_processor(admin_context)


@dashboard.context_processor
def _report_helpers():
    return {
        "charts": charts,
        "number": "{:,}".format,
        "percent": percent,
        "signed": signed,
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
        return form, form.period_of(current_funnel().report.zone)
    except PeriodError as error:
        form.start.errors = [str(error)]
        return form, None


@dashboard.get("/")
def overview():
    form, period = _report_form()
    if period is None:
        return render_template("flask_funnel/admin/dashboard.html", form=form, report=None), 422
    state = current_funnel()
    with state.engine.connect() as connection:
        report = build_report(connection, period, state.report, by=form.by.data or None)
    return render_template(
        "flask_funnel/admin/dashboard.html",
        form=form,
        report=report,
        funnel_steps=[("visitors", report["visitors"])]
        + [(row["stage"], row["reached"]) for row in report["stages"]],
        pages=state.pages.pages(),
        query={k: v for k, v in request.args.items() if v},
    )


@dashboard.get("/report.<any(csv, json):fmt>")
def report_download(fmt: str):
    form, period = _report_form()
    if period is None:
        return message(422, "Check the report's settings", _errors(form))
    state = current_funnel()
    with state.engine.connect() as connection:
        report = build_report(connection, period, state.report, by=form.by.data or None)
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
    return render_template(
        "flask_funnel/admin/page_report.html",
        form=form,
        page=page,
        period=period,
        quiz=quiz,
        test=test,
        step_bars=[
            (step["label"], step["visitors"], f"{step['visitors']:,}") for step in quiz["steps"]
        ],
    )


def _errors(form: ReportForm) -> str:
    return "; ".join(f"{form[name].label.text}: {' '.join(e)}" for name, e in form.errors.items())
