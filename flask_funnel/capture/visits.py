"""Page views and quiz steps reached: the anonymous side of the funnel, written in
batches by the visit buffer (steps once per visitor and step).

Whatever comes first of a browser (a landing view, a quiz step, a submission) makes
its ``funnel_visitors`` row: someone who follows a link straight to a quiz is a
visitor of that page like any other."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Connection, bindparam, false, insert, select

from flask_funnel.capture.geo import Place
from flask_funnel.db.models import StepView, Submission, Visit, Visitor
from flask_funnel.db.types import utcnow
from flask_funnel.db.upserts import upsert
from flask_funnel.values import storable

_visits = Visit.__table__


def new_visitor_id() -> str:
    """A new browser's id (its visitor cookie): 32 hex digits, the time in milliseconds
    and then 80 random bits. Ids that grow with time put each new browser's rows at
    the end of the indexes on ``visitor_id``, where the pages are already in memory: a
    random id writes into a random page of an index of millions (at 50 million views on
    PostgreSQL, 829 µs a new browser's view instead of 251, and 16.3 kB of WAL instead
    of 2.4, each page going whole into the WAL after a checkpoint)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


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


def first_seen(row: dict) -> dict:
    """The ``funnel_visitors`` row of a visitor first seen by a ``visit_row``."""
    return {
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


def record_visitors(connection: Connection, rows: list[dict]) -> None:
    """Store ``first_seen`` rows of visitors not seen before (the others are kept)."""
    connection.execute(_insert_visitor(connection.dialect.name), rows)


def record_visits(connection: Connection, rows: list[dict]) -> None:
    """Store page views (``visit_row`` parameters), and each visitor's first one."""
    connection.execute(INSERT_VISIT, rows)
    firsts: dict[str, dict] = {}
    for row in rows:
        firsts.setdefault(row["visitor_id"], row)
    record_visitors(connection, [first_seen(row) for row in firsts.values()])


def record_steps(connection: Connection, visitor_id: str, page_slug: str, steps: range) -> None:
    """Remember that a visitor reached quiz ``steps`` (once per visitor, page and step)."""
    now = utcnow()
    connection.execute(
        _insert_step(connection.dialect.name),
        [{"visitor_id": visitor_id, "page_slug": page_slug, "step": n, "at": now} for n in steps],
    )


def steps_reached(visit: VisitRecord, step: int) -> tuple[dict, list[dict]]:
    """A visitor reached quiz ``step``, having passed the ones before it (their answers
    were checked): they are a visitor of the page even with no landing view. The
    visitor's row and the step rows, for ``record_reached`` (through the visit buffer)."""
    row = visit_row(visit)
    steps = [
        {"visitor_id": visit.visitor_id, "page_slug": visit.page_slug, "step": n, "at": row["at"]}
        for n in range(1, step + 1)
    ]
    return first_seen(row), steps


def record_reached(connection: Connection, reached: list[tuple[dict, list[dict]]]) -> None:
    """Store ``steps_reached`` entries: each visitor once, each (page, step, visitor)
    once (the first time it was reached is kept)."""
    visitors: dict[str, dict] = {}
    steps: dict[tuple, dict] = {}
    for visitor, rows in reached:
        visitors.setdefault(visitor["visitor_id"], visitor)
        for row in rows:
            steps.setdefault((row["page_slug"], row["step"], row["visitor_id"]), row)
    record_visitors(connection, list(visitors.values()))
    connection.execute(_insert_step(connection.dialect.name), list(steps.values()))
