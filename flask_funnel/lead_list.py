"""The admin leads list: filters, search and keyset pages (fast however many leads)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from .models import Lead, LeadTerm
from .terms import name_terms

PAGE_SIZE = 50
COUNT_CAP = 10_000
SORTS = {
    "newest": (Lead.created_at.desc(), Lead.id.desc()),
    "oldest": (Lead.created_at.asc(), Lead.id.asc()),
}


@dataclass(frozen=True)
class LeadFilters:
    q: str = ""
    stage: str = ""
    landing_page: str = ""
    country: str = ""
    source: str = ""
    created_from: datetime | None = None
    created_to: datetime | None = None  # exclusive
    quarantined: str = "exclude"  # exclude | only | include
    sort: str = "newest"


@dataclass(frozen=True)
class LeadPage:
    leads: list[Lead]
    next_after: str | None
    total: int
    total_capped: bool


def filtered(filters: LeadFilters) -> Select:
    query = select(Lead)
    if filters.q:
        query = query.where(_matches(filters.q))
    for column, value in (
        (Lead.stage, filters.stage),
        (Lead.landing_page, filters.landing_page),
        (Lead.country, filters.country.upper()),
        (Lead.source, filters.source.lower()),
    ):
        if value:
            query = query.where(column == value)
    if filters.created_from:
        query = query.where(Lead.created_at >= filters.created_from)
    if filters.created_to:
        query = query.where(Lead.created_at < filters.created_to)
    if filters.quarantined == "exclude":
        query = query.where(Lead.quarantined.is_(False))
    elif filters.quarantined == "only":
        query = query.where(Lead.quarantined.is_(True))
    return query


def _prefix(column, text: str):
    """``column`` starts with ``text``, as a range an index serves (LIKE often can't)."""
    return and_(column >= text, column < text + "\U0010ffff")


def _matches(q: str):
    """An email starting with ``q``, or a name with words starting with each word of ``q``."""
    needle = q.strip().lower()
    by_email = _prefix(Lead.email, needle)
    words = name_terms(needle)
    if "@" in needle or not words:
        return by_email
    by_name = and_(
        *(Lead.id.in_(select(LeadTerm.lead_id).where(_prefix(LeadTerm.term, w))) for w in words)
    )
    return or_(by_email, by_name) if len(words) == 1 else by_name


def find_leads(session: Session, filters: LeadFilters, after: str | None = None) -> LeadPage:
    """One page of leads; ``after`` is the cursor of the previous page's last lead."""
    query = filtered(filters)
    newest = filters.sort != "oldest"
    cursor = _parse_cursor(after)
    if cursor:
        at, lead_id = cursor
        if newest:
            query = query.where(
                or_(Lead.created_at < at, and_(Lead.created_at == at, Lead.id < lead_id))
            )
        else:
            query = query.where(
                or_(Lead.created_at > at, and_(Lead.created_at == at, Lead.id > lead_id))
            )
    leads = session.scalars(
        query.order_by(*SORTS["newest" if newest else "oldest"]).limit(PAGE_SIZE + 1)
    ).all()
    next_after = _cursor(leads[PAGE_SIZE - 1]) if len(leads) > PAGE_SIZE else None
    capped = filtered(filters).with_only_columns(Lead.id).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped))
    return LeadPage(list(leads[:PAGE_SIZE]), next_after, min(total, COUNT_CAP), total > COUNT_CAP)


def _cursor(lead: Lead) -> str:
    return f"{lead.created_at.isoformat()}_{lead.id}"


def _parse_cursor(after: str | None) -> tuple[datetime, int] | None:
    if not after:
        return None
    at, _, lead_id = after.rpartition("_")
    try:
        return datetime.fromisoformat(at), int(lead_id)
    except ValueError:
        return None
