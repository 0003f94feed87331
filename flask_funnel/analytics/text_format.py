"""The funnel report as plain text for the terminal (``flask funnel report``, which shows
control characters of lead data as visible escapes: see ``cli/terminal.py``)."""

from __future__ import annotations

from collections.abc import Iterator


def percent(value: float | None, *, signed: bool = False) -> str:
    """A rate for people: "5%", "0.3125%", "+12.5%" when ``signed``; "-" for none."""
    if value is None:
        return "-"
    points = value * 100
    shown = f"{points:.{1 if abs(points) >= 1 else 4}f}".rstrip("0").rstrip(".")
    return f"{'+' if signed and value > 0 else ''}{shown}%"


def signed(number: int) -> str:
    """A change: "+12", "-3", "0"."""
    return f"{number:+,}" if number else "0"


def _stage_table(rows: list[dict]) -> Iterator[str]:
    yield f"  {'stage':<16}{'reached':>10}{'step':>10}{'from lead':>11}{'dropped':>10}"
    for row in rows:
        dropped = "-" if row["drop_off"] is None else f"{row['drop_off']:,}"
        yield (
            f"  {row['stage']:<16}{row['reached']:>10,}{percent(row['step_rate']):>10}"
            f"{percent(row['cumulative_rate']):>11}{dropped:>10}"
        )


def report_text(report: dict) -> Iterator[str]:
    period = report["period"]
    calendar = "" if period["calendar"] == "gregorian" else f", {period['calendar']} calendar"
    yield (
        f"Funnel {period['label']} ({period['from']} to {period['to']}, "
        f"{period['time_zone']}{calendar})"
    )
    yield (
        f"  page views {report['page_views']:,}; visitors {report['visitors']:,}, of whom "
        f"{report['signed_up']:,} signed up"
    )
    yield from _stage_table(report["stages"])

    months = report["months"]
    stages = list(months["rows"][0]["counts"])
    yield ""
    yield "Entering each stage per month"
    width = max(len(row["label"]) for row in months["rows"]) + 2
    yield "  " + f"{'month':<{width}}" + "".join(f"{s:>16}" for s in stages)
    for row in months["rows"]:
        mark = " (so far)" if row["partial"] else ""
        cells = "".join(f"{row['counts'][s]:>16,}" for s in stages)
        yield f"  {row['label']:<{width}}{cells}{mark}"
    current = months["current"]
    yield f"  {current['label']} against {current['against_label']}:"
    for stage, change in months["change"].items():
        yield (
            f"    {stage:<16}{change['change']:>+8,} ({percent(change['change_rate'])}); "
            f"same point last month {change['change_same_point']:+,} "
            f"({percent(change['change_same_point_rate'])})"
        )

    if report["breakdown"]:
        breakdown = report["breakdown"]
        yield ""
        title, least = breakdown["title"].lower(), breakdown["min_group"]
        yield f"By {title} (groups under {least} leads are folded into other)"
        for group in breakdown["groups"]:
            views, visitors = group["page_views"], group["visitors"]
            counted = [] if views is None else [f"page views {views:,}"]
            if visitors is not None:
                counted.append(f"visitors {visitors:,} ({group['signed_up']:,} signed up)")
            yield f" {group['label']}" + (f"  {', '.join(counted)}" if counted else "")
            yield from _stage_table(group["stages"])

    losses = report["losses"]
    yield ""
    yield f"Lost in the period: {losses['lost']:,}"
    for row in losses["by_reason"]:
        reason = row["reason"] or "(no reason given)"
        yield f"  {reason:<28}{row['lost']:>8,}{percent(row['share']):>8}"
    for row in losses["by_stage"]:
        yield f"  from {row['stage']:<23}{row['lost']:>8,}{percent(row['share']):>8}"
    yield ""
    yield "Time from each stage to the next (median, 80% within, in days)"
    for step in report["durations"]:
        if step["leads"]:
            yield (
                f"  {step['from'] + ' -> ' + step['to']:<28}{step['leads']:>8,} leads"
                f"{step['median_days']:>9}{step['p80_days']:>9}"
            )
    yield from _revenue(report["revenue"])
    yield ""
    yield "Forecast of new customers"
    forecast = report["forecast"]
    for horizon in forecast["horizons"]:
        if horizon["customers"] is None:
            lacking = ", ".join(horizon["lacking_history"])
            least = forecast["inputs"]["min_history"]
            yield (
                f"  next {horizon['days']} days: not enough history yet "
                f"(needs {least:,} past leads at each of: {lacking})"
            )
            continue
        yield (
            f"  next {horizon['days']} days: {horizon['customers']:,} "
            f"(likely {horizon['low']:,} to {horizon['high']:,}, 80%; "
            f"{horizon['from_open_leads']:,} from open leads, "
            f"{horizon['from_new_leads']:,} from new ones)"
        )


def _revenue(revenue: dict) -> Iterator[str]:
    """Revenue per currency (never added across currencies), per group, what a lead and
    a customer are worth, and how many of each month's new customers bought again."""
    yield ""
    if not revenue["period"]:
        yield "Revenue in the period: none"
    for row in revenue["period"]:
        yield (
            f"Revenue in the period: {row['revenue']} {row['currency']} from "
            f"{row['purchases']:,} purchases by {row['customers']:,} customers"
        )
    for row in revenue["by_group"]:
        yield f"  {row['label']:<28}{row['revenue']:>14} {row['currency']}"
    if revenue["lead_value"]:
        yield f"Worth per lead and per customer, by {revenue['by']}"
        for row in revenue["lead_value"]:
            per_lead = row["per_lead"] or "-"
            yield (
                f"  {row['label']:<28}{per_lead:>12} per lead"
                f"{row['per_customer']:>12} per customer ({row['currency']})"
            )
    yield "Customers who bought again, by month of first purchase"
    for month in revenue["retention"]:
        if month["customers"]:
            yield (
                f"  {month['label']:<20}{month['bought_again']:>6,} of "
                f"{month['customers']:,} ({percent(month['rate'])})"
            )
