"""What customers are worth: revenue per period and per group, what a period's leads
have brought in so far, and whether customers come back.

Amounts in different currencies are never added together: every sum is per currency.
Suspected bots' purchases (quarantined leads) are left out like everything else of
theirs.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, false, func, select

from flask_funnel.analytics.funnel import BREAKDOWNS, counted_leads
from flask_funnel.analytics.periods import Month, Period
from flask_funnel.db.models import Lead, Purchase

_leads, _purchases = Lead.__table__, Purchase.__table__
#: The groups revenue is split by when the report's breakdown has no lead column.
DEFAULT_GROUP = "source"


def _money(amount) -> str:
    """An exact decimal amount as text (JSON has no decimals)."""
    return str(Decimal(amount).quantize(Decimal("0.01")))


def revenue(
    connection: Connection,
    period: Period,
    months: list[Month],
    by: str | None,
    breakdown: dict | None = None,
) -> dict:
    """Revenue of the period per currency and per group of ``by``; with the report's
    ``breakdown`` (its leads per group), what each group's leads are worth."""
    by = by if by in BREAKDOWNS and by != "signup_method" else DEFAULT_GROUP
    groups = [_leads.c[c] for c in BREAKDOWNS[by].lead_columns]
    real = _leads.c.quarantined == false()
    bought = _purchases.join(_leads, _leads.c.id == _purchases.c.lead_id)
    in_period = [_purchases.c.at >= period.start, _purchases.c.at < period.end, real]
    totals = connection.execute(
        select(
            _purchases.c.currency,
            func.sum(_purchases.c.amount),
            func.count(),
            func.count(_purchases.c.lead_id.distinct()),
        )
        .select_from(bought)
        .where(*in_period)
        .group_by(_purchases.c.currency)
        .order_by(_purchases.c.currency)
    ).all()
    by_group = connection.execute(
        select(*groups, _purchases.c.currency, func.sum(_purchases.c.amount), func.count())
        .select_from(bought)
        .where(*in_period)
        .group_by(*groups, _purchases.c.currency)
    ).all()
    width = len(groups)
    return {
        "by": by,
        "period": [
            {"currency": cur, "revenue": _money(total), "purchases": n, "customers": buyers}
            for cur, total, n, buyers in totals
        ],
        "by_group": sorted(
            (
                {
                    "key": list(row[:width]),
                    "label": BREAKDOWNS[by].label(tuple(row[:width])),
                    "currency": row[width],
                    "revenue": _money(row[width + 1]),
                    "purchases": row[width + 2],
                }
                for row in by_group
            ),
            key=lambda g: (g["currency"], -Decimal(g["revenue"]), g["label"]),
        ),
        "lead_value": _lead_value(connection, period, breakdown) if breakdown else None,
        "retention": _retention(connection, months),
    }


def _lead_value(connection: Connection, period: Period, breakdown: dict) -> list[dict]:
    """Per group of the breakdown and currency, what the leads created in the period
    have bought so far: revenue per lead (of the group's leads, as the breakdown
    counted them) and per customer (of those who bought)."""
    dimension = BREAKDOWNS[breakdown["by"]]
    keys = [_leads.c[c] for c in dimension.lead_columns]
    leads = {
        tuple(g["key"]): (g["label"], g["stages"][0]["reached"])
        for g in breakdown["groups"]
        if g["key"] is not None
    }
    rows = connection.execute(
        select(
            *keys,
            _purchases.c.currency,
            func.sum(_purchases.c.amount),
            func.count(_purchases.c.lead_id.distinct()),
        )
        .select_from(_purchases.join(_leads, _leads.c.id == _purchases.c.lead_id))
        .where(*counted_leads(period.start, period.end))
        .group_by(*keys, _purchases.c.currency)
    ).all()
    width = len(keys)
    found = []
    for row in rows:
        key, (currency, total, buyers) = tuple(row[:width]), row[width:]
        label, count = leads.get(key, (dimension.label(key), None))
        found.append(
            {
                "key": list(key),
                "label": label,
                "currency": currency,
                "leads": count,
                "customers": buyers,
                "revenue": _money(total),
                "per_lead": _money(Decimal(total) / count) if count else None,
                "per_customer": _money(Decimal(total) / buyers),
            }
        )
    return sorted(found, key=lambda row: (row["currency"], -Decimal(row["revenue"]), row["label"]))


def _retention(connection: Connection, months: list[Month]) -> list[dict]:
    """Per month of first purchase (the report's months): the customers who first bought
    then, how many have bought again since, and that share."""
    first = (
        select(
            _purchases.c.lead_id, func.min(_purchases.c.at).label("first"), func.count().label("n")
        )
        .select_from(_purchases.join(_leads, _leads.c.id == _purchases.c.lead_id))
        .where(_leads.c.quarantined == false())
        .group_by(_purchases.c.lead_id)
        .having(func.min(_purchases.c.at) >= months[0].start)
        .subquery()
    )
    customers = connection.execute(select(first.c.first, first.c.n)).all()
    rows = []
    for month in months:
        cohort = [n for at, n in customers if month.start <= at < month.end]
        again = sum(1 for n in cohort if n > 1)
        rows.append(
            {
                "month": month.key,
                "from": month.first.isoformat(),
                "to": month.last.isoformat(),
                "label": month.label,
                "customers": len(cohort),
                "bought_again": again,
                "rate": round(again / len(cohort), 6) if cohort else None,
            }
        )
    return rows
