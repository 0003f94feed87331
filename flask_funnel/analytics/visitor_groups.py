"""A period's visitors and how many of them signed up, per group of a breakdown (page,
variant, place version, source, country, or several), and how many of a page's
visitors reached each step of its quiz: whole UTC days added up from
``funnel_daily_visitors`` and ``funnel_daily_steps``, the parts of a day at either end
of the period counted from the browsers themselves, as ``lead_counts`` does for the
leads. A breakdown the daily counts cannot tell apart (a city), or a database without
their triggers, is counted from the browsers over the whole period."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, case, func, select, union_all

from flask_funnel.analytics import lead_counts
from flask_funnel.analytics.periods import Period
from flask_funnel.db import daily_counts
from flask_funnel.db.models import DailySteps, DailyVisitors, StepView, Visitor

_daily = DailyVisitors.__table__
_daily_steps = DailySteps.__table__
_visitors = Visitor.__table__
_steps = StepView.__table__

Counts = dict[tuple, tuple[int, int]]


def count(connection: Connection, period: Period, columns: Sequence[str]) -> Counts:
    """``{group: (visitors, signed_up)}`` of the browsers first seen in the period, per
    value of ``columns`` (``Visitor`` columns); a group with no variant, place version
    or country is the group of None."""
    kept = set(columns) <= set(daily_counts.GROUPS) and daily_counts.installed(
        connection, daily_counts.VISITOR_GROUP_SOURCE
    )
    if not kept:
        return _from_visitors(connection, columns, [(period.start, period.end)])
    whole, parts = lead_counts.split(period.start, period.end)
    totals: Counts = _from_visitors(connection, columns, parts) if parts else {}
    if whole is not None:
        first, after = whole
        keys = [_daily.c[name] for name in columns]
        of_kind = (
            func.sum(case((_daily.c.kind == kind, _daily.c.visitors), else_=0))
            for kind in daily_counts.VISITOR_KINDS
        )
        rows = connection.execute(
            select(*keys, *of_kind)
            .where(_daily.c.day >= first, _daily.c.day < after)
            .group_by(*keys)
        )
        for *values, visitors, signed_up in rows:
            key = tuple(
                None if name in daily_counts.OPTIONAL_GROUPS and value == "" else value
                for name, value in zip(columns, values, strict=True)
            )
            before = totals.get(key, (0, 0))
            totals[key] = (before[0] + int(visitors), before[1] + int(signed_up))
    return {key: counts for key, counts in totals.items() if counts[0]}


def _from_visitors(connection: Connection, columns: Sequence[str], ranges) -> Counts:
    """The same from the browsers' own index, over each of ``ranges`` (start, end)."""
    keys = [_visitors.c[name] for name in columns]
    parts = [
        select(
            *keys,
            func.count().label("visitors"),
            func.count(_visitors.c.lead_id).label("signed_up"),
        )
        .where(*lead_counts.counted_visitors(start, end))
        .group_by(*keys)
        for start, end in ranges
    ]
    totals: Counts = {}
    statement = parts[0] if len(parts) == 1 else union_all(*parts)
    for *key, visitors, signed_up in connection.execute(statement):
        before = totals.get(tuple(key), (0, 0))
        totals[tuple(key)] = (before[0] + visitors, before[1] + signed_up)
    return totals


def steps_reached(connection: Connection, period: Period, page_slug: str) -> dict[int, int]:
    """``{step: visitors}``: how many of the browsers first seen on the page in the
    period (no bots, none caught) have reached each step of its quiz by now."""
    if not daily_counts.steps_installed(connection):
        return _steps_from_visitors(connection, page_slug, [(period.start, period.end)])
    whole, parts = lead_counts.split(period.start, period.end)
    reached = _steps_from_visitors(connection, page_slug, parts) if parts else {}
    if whole is not None:
        first, after = whole
        rows = connection.execute(
            select(_daily_steps.c.step, func.sum(_daily_steps.c.visitors))
            .where(
                _daily_steps.c.page_slug == page_slug,
                _daily_steps.c.day >= first,
                _daily_steps.c.day < after,
            )
            .group_by(_daily_steps.c.step)
        )
        for step, visitors in rows:
            reached[step] = reached.get(step, 0) + int(visitors)
    return {step: visitors for step, visitors in reached.items() if visitors}


def _steps_from_visitors(connection: Connection, page_slug: str, ranges) -> dict[int, int]:
    """The same from the browsers and their steps, over each of ``ranges``."""
    parts = [
        select(_steps.c.step, func.count().label("visitors"))
        .join(_visitors, _visitors.c.visitor_id == _steps.c.visitor_id)
        .where(
            *lead_counts.counted_visitors(start, end),
            _visitors.c.page_slug == page_slug,
            _steps.c.page_slug == page_slug,
        )
        .group_by(_steps.c.step)
        for start, end in ranges
    ]
    reached: dict[int, int] = {}
    statement = parts[0] if len(parts) == 1 else union_all(*parts)
    for step, visitors in connection.execute(statement):
        reached[step] = reached.get(step, 0) + visitors
    return reached
