"""Page views and quiz steps reached: the anonymous side of the funnel, written in
batches by the visit buffer (views) or at once (steps, once per visitor and step)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import Connection, Engine, bindparam, false, insert, select

from flask_funnel.capture.geo import Place
from flask_funnel.db.models import StepView, Submission, Visit, Visitor
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.db.types import utcnow
from flask_funnel.db.upserts import upsert
from flask_funnel.values import storable

_visits = Visit.__table__


@dataclass(frozen=True)
class VisitRecord:
    visitor_id: str
    page_slug: str
    variant: str | None
    referrer: str | None
    source: str
    utm: dict[str, str | None]
    device: str
    place: Place
    ip: str | None
    #: The place rule of the page version shown (``Page.place_version``), None: default.
    place_version: str | None = None


INSERT_VISIT = insert(_visits).values(
    lead_id=select(Submission.lead_id)
    .where(
        Submission.visitor_id == bindparam("known_visitor"),
        Submission.quarantined == false(),
    )
    .order_by(Submission.id.desc())
    .limit(1)
    .scalar_subquery()
)


@cache
def _insert_visitor(dialect: str):
    return upsert(dialect, Visitor.__table__, ["visitor_id"], None)


@cache
def _insert_step(dialect: str):
    return upsert(dialect, StepView.__table__, ["page_slug", "step", "visitor_id"], None)


def visit_row(visit: VisitRecord) -> dict:
    """The parameters of ``INSERT_VISIT`` for one page view, every text storable (a
    query string or header may carry characters no database keeps)."""
    row = {
        "known_visitor": visit.visitor_id,
        "visitor_id": visit.visitor_id,
        "page_slug": visit.page_slug,
        "variant": visit.variant,
        "at": utcnow(),
        "referrer": (visit.referrer or "")[:1000] or None,
        "source": visit.source,
        "device": visit.device,
        "country": visit.place.country,
        "city": visit.place.city,
        "ip": visit.ip,
        "place_version": visit.place_version,
        **visit.utm,
    }
    return {key: storable(value) if isinstance(value, str) else value for key, value in row.items()}


def record_visits(connection: Connection, rows: list[dict]) -> None:
    """Store page views (``visit_row`` parameters), and each visitor's first one."""
    connection.execute(INSERT_VISIT, rows)
    first_seen = {}
    for row in rows:
        first_seen.setdefault(row["visitor_id"], row)
    connection.execute(
        _insert_visitor(connection.dialect.name),
        [
            {
                "visitor_id": row["visitor_id"],
                "first_seen_at": row["at"],
                "page_slug": row["page_slug"],
                "variant": row["variant"],
                "source": row["source"],
                "country": row["country"],
                "city": row["city"],
                "device": row["device"],
                "place_version": row.get("place_version"),
            }
            for row in first_seen.values()
        ],
    )


def record_step(engine: Engine, visitor_id: str, page_slug: str, step: int) -> None:
    """Remember that a visitor reached a quiz step (once per visitor, page and step)."""
    with writing(engine) as connection:
        connection.execute(
            _insert_step(connection.dialect.name),
            {"visitor_id": visitor_id, "page_slug": page_slug, "step": step, "at": utcnow()},
        )
