"""Expected new customers for the next 1, 2 and 3 months, with every input shown.

Two parts, both learnt from the site's own history:

- **open leads**: the leads now at ``lead``, ``mql``, ``sal`` or ``sql`` that entered
  that stage within the last ``active_days``, each times the share of earlier leads
  that reached the same stage and became a customer within the horizon;
- **new leads**: the recent daily rate of new leads, times the days of the horizon,
  times the share of new leads that became a customer within half of it (a lead
  arriving during the horizon has, on average, half of it left).

The shares come from leads that reached the stage in the ``history_days`` before the
last 90 days, so every one of them has had the full 90 days to convert.

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
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, and_, case, false, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import DateTime

from flask_funnel.analytics import lead_counts
from flask_funnel.analytics.calendars import labels
from flask_funnel.analytics.periods import ReportSettings
from flask_funnel.db.models import Lead
from flask_funnel.leads.stages import CUSTOMER, LEAD, MQL, SAL, SQL, reached_column

OPEN_STAGES = (LEAD, MQL, SAL, SQL)
HORIZONS = (1, 2, 3)  # months
DAYS_PER_MONTH = 30
RECENT_DAYS = 90  # the window of the new-lead rate, and the longest horizon
WITHIN = sorted({m * DAYS_PER_MONTH for m in HORIZONS} | {m * 15 for m in HORIZONS})
#: The normal quantile of an 80% two-sided interval.
Z_80 = 1.2816

_leads = Lead.__table__


class _days_after(FunctionElement):
    type = DateTime()
    inherit_cache = True


def days_after(moment: ColumnElement, days: int) -> ColumnElement:
    """``moment`` plus a whole number of days, in each database's own words. The days
    are written into the SQL (not bound), so each number gets its own cached statement."""
    return _days_after(moment, literal_column(str(int(days))))


@compiles(_days_after)
def _days_after_sqlite(element, compiler, **kw):
    moment, days = list(element.clauses)
    return f"datetime({compiler.process(moment, **kw)}, '+{days.name} days')"


@compiles(_days_after, "postgresql")
def _days_after_postgresql(element, compiler, **kw):
    moment, days = list(element.clauses)
    return f"({compiler.process(moment, **kw)} + interval '{days.name} days')"


@compiles(_days_after, "mysql")
@compiles(_days_after, "mariadb")
def _days_after_mysql(element, compiler, **kw):
    moment, days = list(element.clauses)
    return f"DATE_ADD({compiler.process(moment, **kw)}, INTERVAL {days.name} DAY)"


def _reached(stage: str) -> ColumnElement:
    return _leads.c[reached_column(stage)]


def _days(first: date, last: date, settings: ReportSettings) -> dict:
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "label": settings.calendar.range_label(first, last),
        "labels": labels(first, last),
    }


def open_leads_now(connection: Connection, settings: ReportSettings, now: datetime) -> dict:
    """The leads at each open stage now that entered it within ``active_days``."""
    since = [(now - timedelta(days=settings.active_days), lead_counts.NO_END)]
    now_at = lead_counts.count(connection, lead_counts.CURRENT, OPEN_STAGES, since)
    return {stage: now_at[0, stage] for stage in OPEN_STAGES}


def forecast(
    connection: Connection,
    settings: ReportSettings,
    now: datetime | None = None,
    open_leads: dict[str, int] | None = None,
):
    """The forecast made at ``now``; ``open_leads`` as they were then, when ``now`` is
    in the past (a backtest): the leads' stages today are not theirs of then."""
    now = now or datetime.now(UTC)
    history_end = now - timedelta(days=RECENT_DAYS)
    history_start = history_end - timedelta(days=settings.history_days)
    real = _leads.c.quarantined == false()
    if open_leads is None:
        open_leads = open_leads_now(connection, settings, now)

    def in_history(stage):
        return and_(_reached(stage) >= history_start, _reached(stage) < history_end)

    history = [(history_start, history_end)]
    reached_in_history = lead_counts.count(connection, lead_counts.ENTERED, OPEN_STAGES, history)
    bases = [reached_in_history[0, stage] for stage in OPEN_STAGES]
    # Only customers can have converted: read them from the customer index.
    customer = _reached(CUSTOMER)
    converted = connection.execute(
        select(
            *(
                func.count(case((and_(in_history(s), customer < days_after(_reached(s), d)), 1)))
                for s in OPEN_STAGES
                for d in WITHIN
            )
        ).where(real, customer >= history_start)
    ).one()
    shares = {
        stage: {
            days: (converted[n * len(WITHIN) + k] / bases[n]) if bases[n] else 0.0
            for k, days in enumerate(WITHIN)
        }
        for n, stage in enumerate(OPEN_STAGES)
    }
    last_90_days = [(now - timedelta(days=RECENT_DAYS), now)]
    recent = lead_counts.count(connection, lead_counts.ENTERED, [LEAD], last_90_days)[0, LEAD]
    per_day = recent / RECENT_DAYS
    learnt = {stage: bases[n] for n, stage in enumerate(OPEN_STAGES)}
    converted_within = {
        (stage, days): converted[n * len(WITHIN) + k]
        for n, stage in enumerate(OPEN_STAGES)
        for k, days in enumerate(WITHIN)
    }

    horizons = []
    for months in HORIZONS:
        days = months * DAYS_PER_MONTH
        new_leads = per_day * days
        # (how many, the stage they convert like, within how many days, extra variance)
        parts = [(open_leads[s], s, days, 0.0) for s in OPEN_STAGES if open_leads[s]]
        # A rate learnt from ``recent`` leads is uncertain by 1/recent of itself, squared.
        parts.append((new_leads, LEAD, days // 2, new_leads + new_leads**2 / max(recent, 1)))
        lacking = list(dict.fromkeys(s for _, s, _, _ in parts if learnt[s] < settings.min_history))
        from_open = sum(open_leads[s] * shares[s][days] for s in OPEN_STAGES)
        from_new = new_leads * shares[LEAD][days // 2]
        variance = sum(
            _variance(leads, learnt[s], converted_within[s, within], extra)
            for leads, s, within, extra in parts
        )
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
            "open_leads": open_leads,
            "active_days": settings.active_days,
            "conversion_to_customer": [
                {
                    "stage": stage,
                    "leads": bases[n],
                    "enough": bases[n] >= settings.min_history,
                    "within_days": {str(d): round(shares[stage][d], 6) for d in WITHIN},
                }
                for n, stage in enumerate(OPEN_STAGES)
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
