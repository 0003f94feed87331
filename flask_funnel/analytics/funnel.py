"""The read side: how many leads reached each stage, per period, per month, per group.

A period's funnel is a cohort: the leads created in it, and how far each has got by
now. A lead reached a stage when it moved there or to any later stage (skipping
counts as passing); moving back never takes that away, so every lead is counted
once per stage.

Visitors are a cohort too: the browsers first seen in the period (by a landing view,
a quiz step or a submission), of whom ``signed_up`` have sent a real quiz since. The
visitor → lead rate is their share, never the period's leads (which include imports
and visitors first seen earlier) over its visitors. Suspected bots are left out of
every count by one rule: a bot's user agent, or a submission caught by the honeypot
or the time trap (its lead is quarantined, its browser with it) until an admin
releases the lead.

Page views are every landing page view of the period by a user agent that is not a
bot's (a caught browser's too: a view is counted for good once folded into the daily
counts, which are read with the views not folded yet: ``page_views``).

All counting happens in the database, over the ``reached_<stage>_at`` columns and
their indexes (see ``models.Lead``); Python only shapes the few numbers that return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from itertools import pairwise

from babel import Locale
from sqlalchemy import Connection, Select, false, func, select

from flask_funnel.analytics import lead_counts, page_views, visitor_groups
from flask_funnel.analytics.calendars import labels
from flask_funnel.analytics.forecast import forecast
from flask_funnel.analytics.losses import durations, losses
from flask_funnel.analytics.periods import Month, Period, ReportSettings, months_until
from flask_funnel.db.models import Lead, Visitor
from flask_funnel.i18n.messages import N_, SOURCE_LOCALE, translate
from flask_funnel.leads.stages import (
    FUNNEL_ORDER,
    LEAD,
    MILESTONES,
    REPEAT_CUSTOMER,
    reached_column,
)

#: The stages of the report, from ``lead`` (gave an email) to ``repeat_customer``.
STAGES = FUNNEL_ORDER[1:]
OTHER = N_("other")
NONE_LABEL = N_("(unknown)")
#: A variant breakdown's group of leads shown no A/B test, a place version's of none.
NO_TEST, NO_PLACE_VERSION = N_("no test"), N_("default")
#: How a lead's email was obtained (``Lead.signup_method``), as the report names it.
SIGNUP_METHODS = {"typed": N_("typed"), "google": N_("Google"), "import": N_("imported")}

_leads = Lead.__table__
_visitors = Visitor.__table__


@cache
def country_name(code: str, locale: str = SOURCE_LOCALE) -> str:
    """``Germany (DE)`` for ``DE`` (``آلمان (DE)`` in Persian): the name admins read in
    their language, from CLDR, with the code they filter by."""
    name = Locale.parse(locale).territories.get(code)
    return f"{name} ({code})" if name else code


@dataclass(frozen=True)
class Dimension:
    """A way to split the funnel: the lead columns and the matching visitor columns
    (none when visitors have no such value: their groups' visitors are not counted)."""

    name: str
    title: str
    lead_columns: tuple[str, ...]
    visitor_columns: tuple[str, ...]

    def label(self, key: tuple, locale: str = SOURCE_LOCALE) -> str:
        """The group of ``key`` as ``locale`` names it: countries in that language, the
        values of leads and visitors (pages, cities, sources) as stored."""
        unknown = translate(locale, NONE_LABEL)
        if self.name == "variant":
            page, variant = key
            return f"{page or unknown} / {variant or translate(locale, NO_TEST)}"
        if self.name == "place_version":
            page, version = key
            return f"{page or unknown} / {version or translate(locale, NO_PLACE_VERSION)}"
        if self.name == "city":
            country, city = key
            if city and country:
                place = country_name(country, locale)
                return translate(locale, N_("{city}, {country}"), city=city, country=place)
            return city or unknown
        if self.name == "country":
            return country_name(key[0], locale) if key[0] else unknown
        if self.name == "signup_method":
            method = SIGNUP_METHODS.get(key[0])
            return translate(locale, method) if method else key[0] or unknown
        return key[0] or unknown


BREAKDOWNS = {
    d.name: d
    for d in (
        Dimension("landing_page", N_("Landing page"), ("landing_page",), ("page_slug",)),
        Dimension("variant", N_("Variant"), ("landing_page", "variant"), ("page_slug", "variant")),
        # The place rule whose version of the page was shown (pages.versions).
        Dimension(
            "place_version",
            N_("Place version"),
            ("landing_page", "place_version"),
            ("page_slug", "place_version"),
        ),
        Dimension("country", N_("Country"), ("country",), ("country",)),
        Dimension("city", N_("City"), ("country", "city"), ("country", "city")),
        Dimension("source", N_("Source"), ("source",), ("source",)),
        # A visitor has no sign-up method until they sign up.
        Dimension("signup_method", N_("Sign-up method"), ("signup_method",), ()),
    )
}


def reached(stage: str):
    return _leads.c[reached_column(stage)]


def counted_leads(start: datetime, end: datetime) -> list:
    """Conditions for the real (not quarantined) leads created in ``[start, end)``."""
    return [
        # ``= false``, never ``IS FALSE``: MariaDB looks up the indexes that begin with
        # ``quarantined`` by the former only, and reads all of one for the latter.
        _leads.c.quarantined == false(),
        _leads.c.created_at >= start,
        _leads.c.created_at < end,
    ]


def _stage_counts():
    return [func.count(reached(stage)) for stage in STAGES]


def new_visitors(period: Period) -> list:
    """Conditions for the visitors (not suspected bots) first seen in the period: the
    cohort of visitors, as the period's leads are the cohort of leads."""
    return lead_counts.counted_visitors(period.start, period.end)


# --- the funnel -------------------------------------------------------------------


def rate(part: int | None, whole: int | None) -> float | None:
    if part is None or not whole:
        return None
    return round(part / whole, 6)


def stage_rows(visitors: int | None, signed_up: int | None, counts: Sequence[int]) -> list[dict]:
    """Each stage with the leads that reached it, the conversion from the step before,
    from ``lead``, and how many dropped out on the way. For ``lead``, the step before
    is the visitors, and its conversion the share of them who ``signed_up``."""
    rows = []
    for n, stage in enumerate(STAGES):
        before, after = (visitors, signed_up) if n == 0 else (counts[n - 1], counts[n])
        drop_off = None if before is None or after is None else max(before - after, 0)
        rows.append(
            {
                "stage": stage,
                "reached": counts[n],
                "step_rate": rate(after, before),
                "cumulative_rate": rate(counts[n], counts[0]),
                "drop_off": drop_off,
                "drop_off_rate": rate(drop_off, before),
            }
        )
    return rows


def biggest_drop(rows: list[dict]) -> dict | None:
    """The step from ``lead`` to ``customer`` where the largest share of leads stops."""
    steps = [
        (before, row)
        for before, row in pairwise(rows)
        if row["stage"] != REPEAT_CUSTOMER and row["drop_off_rate"] is not None
    ]
    if not steps:
        return None
    before, row = max(steps, key=lambda step: step[1]["drop_off_rate"])
    return {"from": before["stage"], "to": row["stage"], "drop_off_rate": row["drop_off_rate"]}


def funnel(connection: Connection, period: Period) -> dict:
    span = [(period.start, period.end)]
    reached_by = lead_counts.count(connection, lead_counts.ENTERED, [LEAD], span)
    reached_by |= lead_counts.count(connection, lead_counts.COHORT, MILESTONES, span)
    visitors, signed_up = (
        lead_counts.count(connection, kind, [lead_counts.ANY_STAGE], span)[0, lead_counts.ANY_STAGE]
        for kind in (lead_counts.VISITOR, lead_counts.SIGNED_UP)
    )
    rows = stage_rows(visitors, signed_up, [reached_by[0, stage] for stage in STAGES])
    return {
        # Every landing page view of the period, not a cohort (``analytics.page_views``).
        "page_views": page_views.count(connection, period)[()],
        "visitors": visitors,
        "signed_up": signed_up,
        "stages": rows,
        "biggest_drop": biggest_drop(rows),
    }


# --- month over month -----------------------------------------------------------


def monthly(connection: Connection, months: list[Month], now: datetime | None = None) -> dict:
    """Leads entering each stage per month (when they first reached it), and the last
    month against the one before, in full and up to the same point (as much time
    after its start as has passed in the last). The months' bounds come from
    ``months_until`` in the report's calendar; the counting is the same for every one."""
    now = now or datetime.now(UTC)
    ranges = [(m.start, m.end) for m in months]
    last, previous = months[-1], months[-2]
    same_point = min(previous.end, previous.start + (min(now, last.end) - last.start))
    ranges.append((previous.start, same_point))
    counts = lead_counts.count(connection, lead_counts.ENTERED, STAGES, ranges)
    rows = [
        {
            "month": m.key,
            "from": m.first.isoformat(),
            "to": m.last.isoformat(),
            "label": m.label,
            "labels": m.labels,
            "partial": m.partial,
            "counts": {stage: counts[n, stage] for stage in STAGES},
        }
        for n, m in enumerate(months)
    ]
    until = len(months)
    change = {
        stage: {
            "this_month": counts[until - 1, stage],
            "previous_month": counts[until - 2, stage],
            "change": counts[until - 1, stage] - counts[until - 2, stage],
            "change_rate": _change_rate(counts[until - 1, stage], counts[until - 2, stage]),
            "previous_month_same_point": counts[until, stage],
            "change_same_point": counts[until - 1, stage] - counts[until, stage],
            "change_same_point_rate": _change_rate(counts[until - 1, stage], counts[until, stage]),
        }
        for stage in STAGES
    }
    return {
        "rows": rows,
        "current": {
            "month": last.key,
            "label": last.label,
            "partial": last.partial,
            "against": previous.key,
            "against_label": previous.label,
        },
        "change": change,
    }


def _change_rate(now: int, before: int) -> float | None:
    return None if not before else round((now - before) / before, 6)


# --- breakdowns -----------------------------------------------------------------


def breakdown_query(by: str, period: Period) -> Select:
    """The period's leads counted per stage and group of ``by``: answered from the
    cohort index alone (``ix_funnel_leads_cohort`` ends with every breakdown column)."""
    lead_keys = [_leads.c[c] for c in BREAKDOWNS[by].lead_columns]
    return (
        select(*lead_keys, *_stage_counts())
        .where(*counted_leads(period.start, period.end))
        .group_by(*lead_keys)
    )


def breakdown(connection: Connection, period: Period, by: str, min_group: int) -> dict:
    """The funnel per group of ``by``; groups with fewer than ``min_group`` leads are
    folded into "other", so nobody reads meaning into noise or picks out a person.
    A group's ``visitors`` is None when visitors cannot be told apart by ``by``, its
    ``page_views`` when views cannot (a city, a sign-up method)."""
    dimension = BREAKDOWNS[by]
    width = len(dimension.lead_columns)
    no_visitors = 0 if dimension.visitor_columns else None
    by_views = page_views.splits(dimension.visitor_columns)

    def empty() -> dict:
        return {
            "page_views": 0 if by_views else None,
            "visitors": no_visitors,
            "signed_up": no_visitors,
            "counts": [0] * len(STAGES),
        }

    groups: dict[tuple, dict] = {}
    for row in connection.execute(breakdown_query(by, period)):
        groups[tuple(row[:width])] = empty() | {"counts": list(row[width:])}
    if dimension.visitor_columns:
        for key, (visitors, signed_up) in visitor_groups.count(
            connection, period, dimension.visitor_columns
        ).items():
            group = groups.setdefault(key, empty())
            group["visitors"], group["signed_up"] = visitors, signed_up
    if by_views:
        for key, views in page_views.count(connection, period, dimension.visitor_columns).items():
            groups.setdefault(key, empty())["page_views"] = views

    kept, other = [], empty() | {"groups": 0}
    for key, group in groups.items():
        if group["counts"][0] >= min_group:
            kept.append((key, group))
            continue
        other["groups"] += 1
        if group["page_views"] is not None:
            other["page_views"] += group["page_views"]
        if group["visitors"] is not None:
            other["visitors"] += group["visitors"]
            other["signed_up"] += group["signed_up"]
        other["counts"] = [a + b for a, b in zip(other["counts"], group["counts"], strict=True)]
    kept.sort(key=lambda item: (-item[1]["counts"][0], dimension.label(item[0])))
    result = [
        {
            "key": list(key),
            "label": dimension.label(key),
            "page_views": group["page_views"],
            "visitors": group["visitors"],
            "signed_up": group["signed_up"],
            "stages": stage_rows(group["visitors"], group["signed_up"], group["counts"]),
        }
        for key, group in kept
    ]
    if other["groups"]:
        result.append(
            {
                "key": None,
                "label": OTHER,
                "folded_groups": other["groups"],
                "page_views": other["page_views"],
                "visitors": other["visitors"],
                "signed_up": other["signed_up"],
                "stages": stage_rows(other["visitors"], other["signed_up"], other["counts"]),
            }
        )
    return {"by": by, "title": dimension.title, "min_group": min_group, "groups": result}


# --- the whole report -------------------------------------------------------------


def build_report(
    connection: Connection,
    period: Period,
    settings: ReportSettings,
    *,
    by: str | None = None,
    now: datetime | None = None,
) -> dict:
    """What the dashboard shows, ``flask funnel report --json`` prints and the
    downloads hold: one dict, so they agree to the lead."""
    from flask_funnel.analytics.revenue import revenue  # it builds on this module

    report_breakdown = breakdown(connection, period, by, settings.min_group) if by else None

    calendar = settings.calendar
    months = months_until(period.last, settings.months, settings.zone, now, calendar=calendar)
    report = {
        "period": {
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "time_zone": settings.zone.key,
            "calendar": calendar.name,
            "label": period.label(calendar),
            "labels": labels(period.first, period.last),
        },
        **funnel(connection, period),
        "months": monthly(connection, months, now),
        "breakdown": report_breakdown,
        "forecast": forecast(connection, settings, now),
        "losses": losses(connection, period, months),
        "durations": durations(connection, period),
        "revenue": revenue(connection, period, months, by, report_breakdown),
    }
    return report
