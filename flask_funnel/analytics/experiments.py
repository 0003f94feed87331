"""A/B tests of a landing page: each variant's visitors and how many of them reached a
chosen stage, with a significance test and a plain verdict."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import Connection, and_, false, func, select

from flask_funnel.analytics import visitor_groups
from flask_funnel.analytics.funnel import new_visitors, rate, reached
from flask_funnel.analytics.periods import Period
from flask_funnel.analytics.significance import Arm, compare
from flask_funnel.db.models import Lead, Visitor
from flask_funnel.pages.model import Page


def variant_test(connection: Connection, page: Page, period: Period, stage: str) -> dict | None:
    """None when the page runs no test. Each variant's visitors are the page's visitors
    (first seen on it in the period, not suspected bots) shown that variant; its
    conversions, how many of them have signed up and reached ``stage`` by now."""
    if not page.variants:
        return None
    visitors, leads = Visitor.__table__, Lead.__table__
    shown = {
        variant: seen
        for (slug, variant), (seen, _) in visitor_groups.count(
            connection, period, ["page_slug", "variant"]
        ).items()
        if slug == page.slug
    }
    # Only a browser that signed up can have reached a stage: the join starts from those.
    converted = dict(
        connection.execute(
            select(visitors.c.variant, func.count(reached(stage)))
            .select_from(
                visitors.join(
                    leads, and_(leads.c.id == visitors.c.lead_id, leads.c.quarantined == false())
                )
            )
            .where(*new_visitors(period), visitors.c.page_slug == page.slug)
            .group_by(visitors.c.variant)
        ).all()
    )
    arms = [
        Arm(variant.id, shown.get(variant.id, 0), converted.get(variant.id, 0))
        for variant in page.variants
    ]
    comparison = compare(arms)
    return {
        "page": page.slug,
        "stage": stage,
        "variants": [
            {
                "variant": arm.name,
                "weight": variant.weight,
                "changes": {".".join(map(str, path)): value for path, value in variant.changes},
                "visitors": arm.visitors,
                "conversions": arm.conversions,
                "rate": rate(arm.conversions, arm.visitors),
            }
            for arm, variant in zip(arms, page.variants, strict=True)
        ],
        "comparison": asdict(comparison),
    }
