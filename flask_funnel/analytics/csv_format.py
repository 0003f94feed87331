"""The funnel report as one CSV table: a row per stage of the funnel, of each month,
of each breakdown group, and per forecast horizon; the ``section`` column says which."""

from __future__ import annotations

import csv
import io

from flask_funnel.leads.export import neutralize

COLUMNS = (
    "section",
    "group",
    "month",
    "stage",
    "reached",
    "step_rate",
    "cumulative_rate",
    "drop_off",
    "drop_off_rate",
    "visitors",
    # Of the visitors, how many have signed up (the lead row's step_rate is their share).
    "signed_up",
    "partial",
    # A forecast's 80% interval (empty, like reached, without enough history).
    "low",
    "high",
    # The days of the row (ISO dates), and their names in each calendar.
    "from",
    "to",
    "label_gregorian",
    "label_persian",
)


def _days(labelled: dict) -> dict:
    """The ``from``, ``to`` and label columns of a period or month of the report."""
    names = {f"label_{calendar}": label for calendar, label in labelled["labels"].items()}
    return {"from": labelled["from"], "to": labelled["to"], **names}


def report_csv(report: dict) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, extrasaction="ignore")
    writer.writeheader()
    period = f"{report['period']['from']}..{report['period']['to']}"
    days = _days(report["period"])
    for row in report["stages"]:
        writer.writerow(
            {
                "section": "funnel",
                "group": period,
                "visitors": report["visitors"],
                "signed_up": report["signed_up"],
                **row,
                **days,
            }
        )
    for month in report["months"]["rows"]:
        for stage, count in month["counts"].items():
            writer.writerow(
                {
                    "section": "month",
                    "month": month["month"],
                    "stage": stage,
                    "reached": count,
                    "partial": month["partial"],
                    **_days(month),
                }
            )
    if report["breakdown"]:
        by = report["breakdown"]["by"]
        for group in report["breakdown"]["groups"]:
            for row in group["stages"]:
                writer.writerow(
                    {
                        "section": f"by {by}",
                        "group": neutralize(group["label"]),
                        "visitors": group["visitors"],
                        "signed_up": group["signed_up"],
                        **row,
                        **days,
                    }
                )
    for horizon in report["forecast"]["horizons"]:
        writer.writerow(
            {
                "section": "forecast",
                "month": f"next {horizon['days']} days",
                "stage": "customer",
                "reached": horizon["customers"],
                "low": horizon["low"],
                "high": horizon["high"],
            }
        )
    return out.getvalue()
