"""How many real leads did something within a time range, read from the daily counts.

A range ``[start, end)`` in any time zone is whole UTC days plus, at either end, part
of a day. The whole days are added up from ``funnel_daily_counts`` (a row per stage and
day); the parts are counted from the leads' own indexes, which hold less than a day
each. Both are exact, so the sum is. Where the triggers that keep the daily counts are
missing (``daily_counts.installed``), every range is counted from the leads.

The three kinds of count (``models.DailyCount``):

- ``entered``: leads that first reached the stage in the range (``lead``: created);
- ``cohort``: leads created in the range that have reached the stage by now;
- ``current``: leads at the stage now whose stage last changed in the range;

and two of visitors (their only stage is ``ANY_STAGE``), suspected bots left out:

- ``visitor``: visitors first seen in the range;
- ``signedup``: visitors first seen in the range who have signed up by now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, and_, case, false, func, literal, select, union_all

from flask_funnel.capture.attribution import BOT
from flask_funnel.db import daily_counts
from flask_funnel.db.models import DailyCount, Lead, Visitor
from flask_funnel.leads.stages import reached_column

ENTERED, COHORT, CURRENT = "entered", "cohort", "current"
VISITOR, SIGNED_UP = daily_counts.VISITOR_KINDS
ANY_STAGE = daily_counts.ANY_STAGE
#: A range's end when it has none.
NO_END = datetime.max.replace(tzinfo=UTC)

_leads = Lead.__table__
_visitors = Visitor.__table__
_days = DailyCount.__table__

Range = tuple[datetime, datetime]


def count(
    connection: Connection, kind: str, stages: Sequence[str], ranges: Sequence[Range]
) -> dict[tuple[int, str], int]:
    """``{(n, stage): leads}`` for each of ``ranges`` (by position) and ``stages``."""
    source = daily_counts.VISITOR_SOURCE if kind in daily_counts.VISITOR_KINDS else None
    if not daily_counts.installed(connection, source):
        return _from_leads(connection, kind, stages, dict(enumerate(ranges)))
    days: dict[int, tuple[date, date]] = {}
    edges: list[Range] = []
    edge_of: list[int] = []
    for n, (start, end) in enumerate(ranges):
        whole, parts = split(start, end)
        if whole is not None:
            days[n] = whole
        edges += parts
        edge_of += [n] * len(parts)
    counts = dict.fromkeys(((n, s) for n in range(len(ranges)) for s in stages), 0)
    if days:
        sums = _day_sums(connection, kind, stages, list(days.values()))
        for n, span in days.items():
            for stage in stages:
                counts[n, stage] += sums.get((stage, span), 0)
    for (e, stage), leads in _from_leads(connection, kind, stages, dict(enumerate(edges))).items():
        counts[edge_of[e], stage] += leads
    return counts


def split(start: datetime, end: datetime) -> tuple[tuple[date, date] | None, list[Range]]:
    """``[start, end)`` as whole UTC days ``[first, after)`` (None: not one whole day)
    and the parts of a day left at either end."""
    first, after = _first_whole_day(start), _day_of(end)
    if first >= after:
        return None, [(start, end)]
    parts = [(start, _midnight(first)), (_midnight(after), end)]
    return (first, after), [(a, b) for a, b in parts if a < b]


def _day_sums(
    connection: Connection, kind: str, stages: Sequence[str], spans: list[tuple[date, date]]
) -> dict[tuple[str, tuple[date, date]], int]:
    """``{(stage, span): leads}`` over the whole days ``[first, after)`` of each span:
    the database adds up the days of each span, a row per stage."""
    sums = [
        func.sum(case((and_(_days.c.day >= first, _days.c.day < after), _days.c.leads), else_=0))
        for first, after in spans
    ]
    rows = connection.execute(
        select(_days.c.stage, *sums)
        .where(
            _days.c.kind == kind,
            _days.c.stage.in_(stages),
            _days.c.day >= min(first for first, _ in spans),
            _days.c.day < max(after for _, after in spans),
        )
        .group_by(_days.c.stage)
    )
    return {
        (stage, span): int(total or 0)
        for stage, *totals in rows
        for span, total in zip(spans, totals, strict=True)
    }


def _from_leads(
    connection: Connection, kind: str, stages: Sequence[str], ranges: dict[int, Range]
) -> dict[tuple[int, str], int]:
    """The same counts from the leads' indexes, one small count per range and stage."""
    if not ranges:
        return {}
    parts = [
        select(literal(n), literal(stage), func.count()).where(*_in_range(kind, stage, start, end))
        for n, (start, end) in ranges.items()
        for stage in stages
    ]
    return {(n, stage): leads for n, stage, leads in connection.execute(union_all(*parts))}


def counted_visitors(start: datetime, end: datetime) -> list:
    """Conditions for the visitors first seen in ``[start, end)`` that are not
    suspected bots: the one rule every visitor count follows."""
    return [
        _visitors.c.first_seen_at >= start,
        _visitors.c.first_seen_at < end,
        _visitors.c.device != BOT,
        _visitors.c.quarantined == false(),
    ]


def _in_range(kind: str, stage: str, start: datetime, end: datetime) -> list:
    if kind in daily_counts.VISITOR_KINDS:
        signed_up = [_visitors.c.lead_id.is_not(None)] if kind == SIGNED_UP else []
        return [*counted_visitors(start, end), *signed_up]
    real = _leads.c.quarantined == false()
    if kind == ENTERED:
        moment = _leads.c[reached_column(stage)]
        return [real, moment >= start, moment < end]
    if kind == COHORT:
        created = _leads.c.created_at
        return [real, created >= start, created < end, _leads.c[reached_column(stage)].is_not(None)]
    changed = _leads.c.stage_changed_at
    return [real, _leads.c.stage == stage, changed >= start, changed < end]


def _day_of(moment: datetime) -> date:
    return date.max if moment >= NO_END else moment.astimezone(UTC).date()


def _first_whole_day(moment: datetime) -> date:
    """The first UTC day that begins at or after ``moment``."""
    day = _day_of(moment)
    return day if day == date.max or _midnight(day) == moment else day + timedelta(days=1)


def _midnight(day: date) -> datetime:
    return NO_END if day == date.max else datetime.combine(day, time(), UTC)
