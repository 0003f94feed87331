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
        rows = connection.execute(
            select(since, until).where(
                _leads.c.quarantined == false(),
                until >= period.start,
                until < period.end,
                since.is_not(None),
            )
        ).all()
        days = sorted(max(0.0, (b - a).total_seconds() / 86400) for a, b in rows)
        steps.append(
            {
                "from": before,
                "to": after,
                "leads": len(days),
                "median_days": round(statistics.median(days), 2) if days else None,
                "p80_days": round(_percentile(days, 0.8), 2) if days else None,
            }
        )
    return steps


def _percentile(ordered: list[float], share: float) -> float:
    """The value below which ``share`` of ``ordered`` lies (linear between neighbours)."""
    if len(ordered) == 1:
        return ordered[0]
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
