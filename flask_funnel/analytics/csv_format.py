"""The funnel report as one CSV table: a row per stage of the funnel, of each month,
of each breakdown group, per forecast horizon, per reason and stage leads were lost,
per step's time, per currency of revenue (of the period, per group, per lead) and per
month of first purchase; the ``section`` column says which."""

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
    # Landing page views of the period (of the group; empty where views have no such
    # value, as for a city).
    "page_views",
    "visitors",
    # Of the visitors, how many have signed up (the lead row's step_rate is their share).
    "signed_up",
    "partial",
    # A forecast's 80% interval (empty, like reached, without enough history).
    "low",
    "high",
    # Lost leads (the reason is in group), revenue (money as exact decimal strings,
    # never summed across currencies), the time to the next stage (stage: from->to),
    # and the retention of a month's new customers.
    "share",
    "currency",
    "revenue",
    "purchases",
    "customers",
    "per_lead",
    "per_customer",
    "median_days",
    "p80_days",
    "bought_again",
    "repeat_rate",
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
                "page_views": report["page_views"],
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
                        "page_views": group["page_views"],
                        "visitors": group["visitors"],
                        "signed_up": group["signed_up"],
                        **row,
                        **days,
                    }
                )
    _losses(writer, report, period, days)
    _revenue(writer, report["revenue"], period, days)
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


def _losses(writer: csv.DictWriter, report: dict, period: str, days: dict) -> None:
    losses = report["losses"]
    for row in losses["by_reason"]:
        reason = neutralize(row["reason"]) if row["reason"] else "(none)"
        writer.writerow(
            {"section": "lost by reason", "group": reason, "stage": "lost"}
            | {"reached": row["lost"], "share": row["share"], **days}
        )
    for row in losses["by_stage"]:
        writer.writerow(
            {"section": "lost from stage", "group": period, "stage": row["stage"] or ""}
            | {"reached": row["lost"], "share": row["share"], **days}
        )
    for step in report["durations"]:
        writer.writerow(
            {
                "section": "time to next stage",
                "group": period,
                "stage": f"{step['from']}->{step['to']}",
                "reached": step["leads"],
                "median_days": step["median_days"],
                "p80_days": step["p80_days"],
                **days,
            }
        )


def _revenue(writer: csv.DictWriter, revenue: dict, period: str, days: dict) -> None:
    for row in revenue["period"]:
        writer.writerow({"section": "revenue", "group": period, **row, **days})
    for row in revenue["by_group"]:
        group = neutralize(row["label"])
        writer.writerow({"section": f"revenue by {revenue['by']}", **row, "group": group, **days})
    for row in revenue["lead_value"] or ():
        value = {**row, "group": neutralize(row["label"]), "reached": row["leads"]}
        writer.writerow({"section": f"lead value by {revenue['by']}", **value, **days})
    for month in revenue["retention"]:
        writer.writerow(
            {
                "section": "retention",
                "month": month["month"],
                "customers": month["customers"],
                "bought_again": month["bought_again"],
                "repeat_rate": month["rate"],
                "from": month["from"],
                "to": month["to"],
            }
        )
