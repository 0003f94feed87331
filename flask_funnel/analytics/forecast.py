"""Expected new customers for the next 1, 2 and 3 months, with every input shown.

Two parts, both learnt from the site's own history:

- **open leads**: the leads now at ``lead``, ``mql``, ``sal`` or ``sql`` that entered
  that stage within the last ``active_days``, grouped by how long they have waited
  there, each times the share of earlier leads that reached the same stage, were not
  customers after waiting as long, and became customers within the horizon after
  that (a lead that has waited two months is less likely to buy than a new one);
- **new leads**: the recent daily rate of new leads, times the days of the horizon,
  times the share of new leads that became a customer within half of it (a lead
  arriving during the horizon has, on average, half of it left).

The shares come from leads that reached the stage in the ``history_days`` before the
last 90 days (for a share over more than 90 days, before that many days), so every
one of them has been watched for as long as the share says.

A forecast is only as good as its history: a horizon says "not enough history yet"
(``customers`` None) while a stage it needs was learnt from fewer than
``min_history`` leads. Each forecast comes with an 80% interval (``low`` to ``high``):
the uncertainty of every learnt share (a binomial proportion, with Jeffreys' prior so
that 0 of 40 is not taken as certainly 0), of the new-lead rate (Poisson), and of
which leads convert, added up as variances, the normal approximation.
``bench/forecast_backtest.py`` checks it against what then happened.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from sqlalchemy import Connection, and_, case, false, func, or_, select
from sqlalchemy.sql.expression import ColumnElement

from flask_funnel.analytics import lead_counts
from flask_funnel.analytics.calendars import labels
from flask_funnel.analytics.periods import ReportSettings
from flask_funnel.db import daily_counts
from flask_funnel.db.day_math import day_number, days_after, whole_days
from flask_funnel.db.models import DailyCount, Lead
from flask_funnel.leads.stages import CUSTOMER, LEAD, MQL, SAL, SQL, reached_column

OPEN_STAGES = (LEAD, MQL, SAL, SQL)
HORIZONS = (1, 2, 3)  # months
DAYS_PER_MONTH = 30
RECENT_DAYS = 90  # the window of the new-lead rate, and the longest horizon
WITHIN = sorted({m * DAYS_PER_MONTH for m in HORIZONS} | {m * 15 for m in HORIZONS})
#: The normal quantile of an 80% two-sided interval.
Z_80 = 1.2816
#: Where the age groups of open leads (days at their stage) begin and end.
AGE_EDGES = (0, 3, 7, 15, 30, 60, 90, 180, 365)

_leads = Lead.__table__


def _reached(stage: str) -> ColumnElement:
    return _leads.c[reached_column(stage)]


def _days(first: date, last: date, settings: ReportSettings) -> dict:
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "label": settings.calendar.range_label(first, last),
        "labels": labels(first, last),
    }


def days_before(now: datetime, days: int) -> datetime:
    """The UTC midnight that begins the day ``days`` days before ``now``'s: what is
    learnt from the history is counted in whole days, from the daily counts."""
    day = (now.astimezone(UTC) - timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def history_window(now: datetime, settings: ReportSettings) -> tuple[datetime, datetime]:
    """The days the shares are learnt from: ``history_days`` ending 90 days ago."""
    end = days_before(now, RECENT_DAYS)
    return end - timedelta(days=settings.history_days), end


def age_groups(active_days: int) -> list[tuple[int, int]]:
    """The ages (days at their stage, ``[from, to)``) open leads are grouped by."""
    edges = [edge for edge in AGE_EDGES if edge < active_days] + [active_days]
    return list(pairwise(edges))


def open_leads_now(connection: Connection, settings: ReportSettings, now: datetime) -> dict:
    """``{stage: [leads per age group]}``: the leads at each open stage now, by how
    many whole UTC days ago they got there (within ``active_days``)."""
    groups = age_groups(settings.active_days)
    ranges = [
        (days_before(now, oldest), days_before(now, newest) if newest else lead_counts.NO_END)
        for newest, oldest in groups
    ]
    now_at = lead_counts.count(connection, lead_counts.CURRENT, OPEN_STAGES, ranges)
    return {stage: [now_at[n, stage] for n in range(len(groups))] for stage in OPEN_STAGES}


@dataclass(frozen=True)
class _Learnt:
    """What the history says of one stage: of the leads that reached it (early enough
    to have been watched for ``x`` days), how many became customers within ``x``."""

    reached: dict[int, int]
    converted: dict[int, int]

    def share(self, days: int) -> float:
        return self.converted[days] / self.reached[days] if self.reached[days] else 0.0


def _learn(connection: Connection, now: datetime, settings: ReportSettings, thresholds):
    """``{stage: _Learnt}`` from the leads that reached each open stage in the history
    window; for ``x`` days the window ends ``x`` days before now at the latest, so each
    lead counted has been watched that long."""
    history_start, history_end = history_window(now, settings)
    ends = {x: min(history_end, days_before(now, x)) for x in thresholds}
    windows = [(history_start, max(history_start, ends[x])) for x in thresholds]
    reached = lead_counts.count(connection, lead_counts.ENTERED, OPEN_STAGES, windows)
    customer = _reached(CUSTOMER)
    # Only customers can have converted: read them from the customer index.
    converted = connection.execute(
        select(
            *(
                func.count(
                    case(
                        (
                            and_(
                                _reached(s) >= history_start,
                                _reached(s) < ends[x],
                                customer < days_after(_reached(s), x),
                            ),
                            1,
                        )
                    )
                )
                for s in OPEN_STAGES
                for x in thresholds
            )
        ).where(_leads.c.quarantined == false(), customer >= history_start)
    ).one()
    return {
        stage: _Learnt(
            reached={x: reached[k, stage] for k, x in enumerate(thresholds)},
            converted={x: converted[n * len(thresholds) + k] for k, x in enumerate(thresholds)},
        )
        for n, stage in enumerate(OPEN_STAGES)
    }


def _still_waiting(connection, now, settings, ages, horizon_days) -> dict:
    """``{(stage, age, days): (waiting, converted)}``: of the leads that reached each
    open stage in the history window (early enough to be watched ``age + days``), how
    many were still at it ``age`` days later (not on to the next stage), and how many
    of those became customers in the ``days`` after.

    Most leads never move on: they are counted from the daily counts. Only the few that
    moved on are read (through the next stage's index), grouped by the window they fall
    in and the whole days they took to move on and to buy: ages are whole days, so
    whole days decide alike."""
    history_start, history_end = history_window(now, settings)
    pairs = [(age, days) for age in ages for days in horizon_days]
    ends = [min(history_end, days_before(now, age + days)) for age, days in pairs]
    windows = [(history_start, max(history_start, end)) for end in ends]
    reached_in = lead_counts.count(connection, lead_counts.ENTERED, OPEN_STAGES, windows)
    cut = sorted(set(ends))  # a row reached before cut[k] is in every window ending there
    customer = _reached(CUSTOMER)
    found = {}
    for stage, next_stage in pairwise((*OPEN_STAGES, CUSTOMER)):
        reached, moved_on = _reached(stage), _reached(next_stage)
        window = case(*((reached < end, k) for k, end in enumerate(cut)), else_=len(cut))
        took, bought = whole_days(moved_on, reached), whole_days(customer, reached)
        groups = connection.execute(
            select(window, took, bought, func.count())
            .where(
                _leads.c.quarantined == false(),
                moved_on >= history_start,
                reached >= history_start,
                reached < history_end,
            )
            .group_by(window, took, bought)
        ).all()
        for n, (age, days) in enumerate(pairs):
            last = cut.index(ends[n])
            waiting, converted = reached_in[n, stage], 0
            for k, took_days, bought_days, leads in groups:
                if k > last:
                    continue
                if took_days < age:
                    waiting -= leads
                elif bought_days is not None and bought_days < age + days:
                    converted += leads
            found[stage, age, days] = (waiting, converted)
    return found


#: What the history taught, per database and day: ``{key: (fingerprint, lessons)}``.
_LESSONS: dict = {}
_LESSONS_KEPT = 16


def _history_lessons(connection: Connection, key: tuple, learn):
    """``learn()`` once per database, day and settings while the history it reads is
    unchanged. It reads leads that reached a stage at least 90 days ago and when they
    became customers; new leads, and moves of recent ones, leave it as it was. What
    would change it changes the daily counts of those old days or of customers, a few
    thousand rows at most: they are read and compared (without the triggers that keep
    them, it learns every time)."""
    if not daily_counts.installed(connection):
        return learn()
    old_days = key[0] - timedelta(days=RECENT_DAYS)
    kept = DailyCount.__table__.c
    fingerprint = tuple(
        connection.execute(
            select(
                func.count(),
                func.sum(kept.leads),
                func.sum(kept.leads * day_number(kept.day)),
            ).where(
                kept.kind == lead_counts.ENTERED,
                or_(kept.day < old_days, kept.stage == CUSTOMER),
            )
        ).one()
    )
    key = (connection.engine.url.render_as_string(), *key)
    known = _LESSONS.get(key)
    if known and known[0] == fingerprint:
        return known[1]
    lessons = learn()
    if len(_LESSONS) >= _LESSONS_KEPT:
        _LESSONS.pop(next(iter(_LESSONS)))
    _LESSONS[key] = (fingerprint, lessons)
    return lessons


def forecast(
    connection: Connection,
    settings: ReportSettings,
    now: datetime | None = None,
    open_leads: dict[str, list[int]] | None = None,
):
    """The forecast made at ``now``; ``open_leads`` (per ``age_groups``) as they were
    then, when ``now`` is in the past (a backtest): today's stages are not theirs."""
    now = now or datetime.now(UTC)
    history_start, history_end = history_window(now, settings)
    groups = age_groups(settings.active_days)
    if open_leads is None:
        open_leads = open_leads_now(connection, settings, now)
    # A lead that has waited ``age`` days at its stage is judged by the earlier leads
    # that were not customers after as long.
    ages = [(newest + oldest) // 2 for newest, oldest in groups]
    horizon_days = [months * DAYS_PER_MONTH for months in HORIZONS]
    thresholds = sorted(set(WITHIN) | {days // 2 for days in horizon_days})
    learnt, waited = _history_lessons(
        connection,
        (now.astimezone(UTC).date(), settings, tuple(ages), tuple(horizon_days)),
        lambda: (
            _learn(connection, now, settings, thresholds),
            _still_waiting(connection, now, settings, ages, horizon_days),
        ),
    )
    last_90_days = [(now - timedelta(days=RECENT_DAYS), now)]
    recent = lead_counts.count(connection, lead_counts.ENTERED, [LEAD], last_90_days)[0, LEAD]
    per_day = recent / RECENT_DAYS

    horizons = []
    for months, days in zip(HORIZONS, horizon_days, strict=True):
        new_leads = per_day * days
        # (stage, leads, the share that will convert, leads it is learnt from, and the
        # variance of the number of leads when that is itself a forecast)
        parts = []
        for s in OPEN_STAGES:
            for g, age in enumerate(ages):
                if open_leads[s][g]:
                    waiting, converted = waited[s, age, days]
                    share = converted / waiting if waiting else 0.0
                    parts.append((s, open_leads[s][g], share, waiting, 0.0))
        # A rate learnt from ``recent`` leads is uncertain by 1/recent of itself, squared.
        new_share = learnt[LEAD].share(days // 2), learnt[LEAD].reached[days // 2]
        parts.append((LEAD, new_leads, *new_share, new_leads + new_leads**2 / max(recent, 1)))
        lacking = list(dict.fromkeys(p[0] for p in parts if p[3] < settings.min_history))
        from_open = sum(leads * share for _, leads, share, _, _ in parts[:-1])
        from_new = new_leads * new_share[0]
        variance = sum(_variance(leads, n, share * n, extra) for _, leads, share, n, extra in parts)
        expected = from_open + from_new
        spread = Z_80 * math.sqrt(variance)
        horizons.append(
            {
                "months": months,
                "days": days,
                "enough_history": not lacking,
                "lacking_history": lacking,
                "customers": None if lacking else round(expected, 1),
                "low": None if lacking else math.floor(max(0.0, expected - spread)),
                "high": None if lacking else math.ceil(expected + spread),
                "from_open_leads": round(from_open, 1),
                "from_new_leads": round(from_new, 1),
                "new_leads": round(new_leads),
            }
        )
    return {
        "horizons": horizons,
        "enough_history": all(h["enough_history"] for h in horizons),
        "inputs": {
            "min_history": settings.min_history,
            "open_leads": {stage: sum(by_age) for stage, by_age in open_leads.items()},
            "open_leads_by_age": [
                {
                    "days_at_stage": [newest, oldest],
                    "leads": {stage: open_leads[stage][g] for stage in OPEN_STAGES},
                }
                for g, (newest, oldest) in enumerate(groups)
            ],
            "active_days": settings.active_days,
            "conversion_to_customer": [
                {
                    "stage": stage,
                    "leads": learnt[stage].reached[max(WITHIN)],
                    "enough": learnt[stage].reached[max(WITHIN)] >= settings.min_history,
                    "within_days": {str(d): round(learnt[stage].share(d), 6) for d in WITHIN},
                }
                for stage in OPEN_STAGES
            ],
            "history": _days(history_start.date(), history_end.date(), settings),
            "new_leads_last_90_days": recent,
            "new_leads_per_month": round(per_day * DAYS_PER_MONTH, 1),
        },
    }


def _variance(leads: float, learnt: int, converted: int, leads_variance: float) -> float:
    """The variance of the customers among ``leads`` converting like ``converted`` of
    ``learnt`` did: the share's own (Jeffreys), each lead's chance, and the number of
    leads' when it is itself a forecast (``leads_variance``)."""
    share = (converted + 0.5) / (learnt + 1)
    share_variance = share * (1 - share) / (learnt + 2)
    return (
        leads**2 * share_variance
        + leads * share * (1 - share)
        + leads_variance * (share**2 + share_variance)
    )
