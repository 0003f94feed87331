"""A/B tests of a landing page: each variant's visitors and how many of them reached a
chosen stage, with a significance test and a plain verdict."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import Connection, func, select

from flask_funnel.analytics.funnel import counted_leads, rate, reached
from flask_funnel.analytics.periods import Period
from flask_funnel.analytics.significance import Arm, compare
from flask_funnel.db.models import Lead, Visit
from flask_funnel.pages.model import Page

_leads = Lead.__table__


def variant_test(connection: Connection, page: Page, period: Period, stage: str) -> dict | None:
    """None when the page runs no test. Visitors are the unique visitors shown each
    variant in the period; conversions, the leads of that variant created in the
    period that reached ``stage`` by now."""
    if not page.variants:
        return None
    visitors = dict(
        connection.execute(
            select(Visit.variant, func.count(Visit.visitor_id.distinct()))
            .where(
                Visit.page_slug == page.slug,
                Visit.at >= period.start,
                Visit.at < period.end,
                Visit.device != "bot",
            )
            .group_by(Visit.variant)
        ).all()
    )
    conversions = dict(
        connection.execute(
            select(_leads.c.variant, func.count(reached(stage)))
            .where(*counted_leads(period.start, period.end), _leads.c.landing_page == page.slug)
            .group_by(_leads.c.variant)
        ).all()
    )
    arms = []
    for variant in page.variants:
        converted = conversions.get(variant.id, 0)
        # A lead may have come from a visit before the period: it still saw the page.
        seen = max(visitors.get(variant.id, 0), converted)
        arms.append(Arm(variant.id, seen, converted))
    comparison = compare(arms)
    return {
        "page": page.slug,
        "stage": stage,
        "variants": [
            {
                "variant": arm.name,
                "weight": variant.weight,
                "headline": variant.hero.headline,
                "visitors": arm.visitors,
                "conversions": arm.conversions,
                "rate": rate(arm.conversions, arm.visitors),
            }
            for arm, variant in zip(arms, page.variants, strict=True)
        ],
        "comparison": asdict(comparison),
    }
