"""Why leads are lost, and how long each step of the funnel takes.

Lost leads are counted from their moves to ``lost`` in the period (a lead lost twice
counts twice: each loss is an event with its own reason), by the reason an admin
picked (``FUNNEL_LOST_REASONS``) and by the stage the lead was lost from: whole UTC
days from ``funnel_daily_losses`` (kept by triggers, ``db.daily_counts``), the parts
of a day at either end from the index of moves, like ``lead_counts``. The time
from a stage to the next is measured over the real leads that reached the next one
in the period, from the ``reached_<stage>_at`` times (a skipped stage takes no time).
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime
from itertools import pairwise

from sqlalchemy import Connection, false, func, select, true

from flask_funnel.analytics.lead_counts import split
from flask_funnel.analytics.periods import Month, Period
from flask_funnel.db import daily_counts
from flask_funnel.db.day_math import days_between
from flask_funnel.db.models import DailyLoss, Lead, StageChange
from flask_funnel.leads.stages import FUNNEL_ORDER, LOST, reached_column

_leads, _changes, _losses = Lead.__table__, StageChange.__table__, DailyLoss.__table__
#: What moves to lost are counted by: the daily losses' columns and the moves'.
_BY = {"reason": _changes.c.lost_reason, "from_stage": _changes.c.from_stage}


def _lost_between(
    connection: Connection, start: datetime, end: datetime, by: tuple[str, ...], kept: bool
) -> Counter:
    """Moves to lost in ``[start, end)`` by ``by`` (of ``_BY``; None where a move has no
    reason or stage), from the daily losses where ``kept`` (their triggers are in place)."""
    whole, parts = split(start, end) if kept else (None, [(start, end)])
    counts: Counter = Counter()
    if whole is not None:
        first, after = whole
        rows = connection.execute(
            select(*(_losses.c[name] for name in by), func.sum(_losses.c.moves))
            .where(_losses.c.day >= first, _losses.c.day < after)
            .group_by(*(_losses.c[name] for name in by))
        )
        for *key, moves in rows:
            counts[tuple(value or None for value in key)] += int(moves)
    for part in parts:
        counts.update(_moves_between(connection, *part, by))
    return +counts  # without the groups whose moves cancel out


def _moves_between(connection: Connection, start, end, by: tuple[str, ...]) -> dict:
    """The same from the covering index of moves; suspected bots (few) are left out by
    their ids rather than by a join."""
    group = [_BY[name] for name in by]
    suspected = select(_leads.c.id).where(_leads.c.quarantined == true())
    rows = connection.execute(
        select(*group, func.count())
        .where(
            _changes.c.to_stage == LOST,
            _changes.c.at >= start,
            _changes.c.at < end,
            _changes.c.lead_id.not_in(suspected),
        )
        .group_by(*group)
    )
    return {tuple(key): moves for *key, moves in rows}


def losses(connection: Connection, period: Period, months: list[Month]) -> dict:
    """Leads lost in the period by reason and by stage, and per reason the last month
    against the one before. A reason of None: lost without one (before the site had
    reasons, or by a rule)."""
    kept = daily_counts.installed(connection, daily_counts.LOSS_SOURCE)
    by_both = _lost_between(connection, period.start, period.end, ("reason", "from_stage"), kept)
    by_reason: Counter = Counter()
    by_stage: Counter = Counter()
    for (why, where), count in by_both.items():
        by_reason[why] += count
        by_stage[where] += count
    total = sum(by_reason.values())
    last, previous = months[-1], months[-2]
    this_month = _by_reason(connection, last.start, last.end, kept)
    month_before = _by_reason(connection, previous.start, previous.end, kept)
    reasons = sorted(set(this_month) | set(month_before), key=lambda r: (r is None, r or ""))
    return {
        "lost": total,
        "by_reason": [
            {"reason": why, "lost": count, "share": round(count / total, 6)}
            for why, count in sorted(by_reason.items(), key=lambda item: (-item[1], item[0] or ""))
        ],
        "by_stage": [
            {"stage": where, "lost": count, "share": round(count / total, 6)}
            for where, count in sorted(
                by_stage.items(), key=lambda item: FUNNEL_ORDER.index(item[0] or FUNNEL_ORDER[0])
            )
        ],
        "months": {
            "this_month": last.key,
            "previous_month": previous.key,
            "by_reason": [
                {
                    "reason": why,
                    "this_month": this_month.get(why, 0),
                    "previous_month": month_before.get(why, 0),
                    "change": this_month.get(why, 0) - month_before.get(why, 0),
                }
                for why in reasons
            ],
        },
    }


def _by_reason(connection: Connection, start, end, kept: bool) -> dict:
    counted = _lost_between(connection, start, end, ("reason",), kept)
    return {why: moves for (why,), moves in counted.items()}


def durations(connection: Connection, period: Period) -> list[dict]:
    """For each stage and the next, over the leads that reached the next in the
    period: how many, and the median and 80th percentile of the days it took."""
    steps = []
    for before, after in pairwise(FUNNEL_ORDER[1:]):
        since, until = _leads.c[reached_column(before)], _leads.c[reached_column(after)]
        took = days_between(until, since)
        leads = select(took.label("days")).where(
            _leads.c.quarantined == false(),
            until >= period.start,
            until < period.end,
            since.is_not(None),
        )
        count, median, p80 = _median_and_p80(connection, leads.subquery())
        steps.append(
            {
                "from": before,
                "to": after,
                "leads": count,
                "median_days": None if median is None else round(median, 2),
                "p80_days": None if p80 is None else round(p80, 2),
            }
        )
    return steps


def _median_and_p80(connection: Connection, took) -> tuple[int, float | None, float | None]:
    """How many of ``took``'s days there are, their median and 80th percentile (a
    negative time, a clock set back, counts as none). PostgreSQL and MariaDB work them
    out themselves: handing a year's 84,000 times to Python took 0.3 s."""
    days = func.greatest(took.c.days, 0)
    if connection.dialect.name == "postgresql":
        count, median, p80 = connection.execute(
            select(
                func.count(),
                func.percentile_cont(0.5).within_group(days),
                func.percentile_cont(0.8).within_group(days),
            )
        ).one()
        return count, median, p80
    if getattr(connection.dialect, "is_mariadb", False):  # a window function there
        whole = {"partition_by": None}
        row = connection.execute(
            select(
                func.count().over(**whole),
                func.percentile_cont(0.5).within_group(days).over(**whole),
                func.percentile_cont(0.8).within_group(days).over(**whole),
            ).limit(1)
        ).first()
        return (0, None, None) if row is None else (row[0], float(row[1]), float(row[2]))
    ordered = sorted(max(0.0, d) for d in connection.execute(select(took.c.days)).scalars().all())
    if not ordered:
        return 0, None, None
    return len(ordered), statistics.median(ordered), _percentile(ordered, 0.8)


def _percentile(ordered: list[float], share: float) -> float:
    """The value below which ``share`` of ``ordered`` lies (linear between neighbours)."""
    if len(ordered) == 1:
        return ordered[0]
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
