"""The admin leads list: filters, search and keyset pages (fast however many leads)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Select,
    and_,
    false,
    func,
    intersect,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from flask_funnel.db.models import Lead, LeadTerm
from flask_funnel.leads.name_terms import DOMAIN, domain_needle, name_terms
from flask_funnel.values import MAX_ID, FieldError, parse_time, shown

PAGE_SIZE = 50
#: A search text that starts more terms than this is looked up as one range of them.
SPLIT_TERMS = 20
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
        query = query.where(Lead.quarantined == false())
    elif filters.quarantined == "only":
        query = query.where(Lead.quarantined == true())
    return query


def _prefix(column, text: str):
    """``column`` starts with ``text``, as a range an index serves (LIKE often can't)."""
    return and_(column >= text, column < text + "\U0010ffff")


@dataclass(frozen=True)
class _Search:
    """What a search text is looked up as: the start of an email (``ann@``), of a
    domain (``example``, ``@example.org``: a term), and of a name's words."""

    email: str | None
    domain: str | None
    words: list[str]

    @classmethod
    def of(cls, q: str) -> _Search:
        needle = q.strip().lower()
        # No address starts with "@" or holds a space ("ann lee" is a name).
        can_start_an_email = not needle.startswith(DOMAIN) and len(needle.split()) < 2
        return cls(
            email=needle if can_start_an_email else None,
            domain=domain_needle(needle),
            words=[] if "@" in needle else name_terms(needle),
        )


def _term_ids(term: str):
    return select(LeadTerm.lead_id).where(_prefix(LeadTerm.term, term))


def _matches(q: str):
    """An email starting with ``q``, a domain of it starting with ``q`` (``@`` or not),
    or a name with words starting with each word of ``q``."""
    search = _Search.of(q)
    found = []
    if search.email is not None:
        found.append(_prefix(Lead.email, search.email))
    if search.domain:
        found.append(Lead.id.in_(_term_ids(search.domain)))
    if search.words:
        found.append(and_(*(Lead.id.in_(_term_ids(w)) for w in search.words)))
    return or_(*found) if found else false()


def find_leads(session: Session, filters: LeadFilters, after: str | None = None) -> LeadPage:
    """One page of leads; ``after`` is the cursor of the previous page's last lead
    (``FieldError`` when it is none: a link edited by hand)."""
    newest = filters.sort != "oldest"
    cursor = _parse_cursor(after)
    ways = _ways_of_matching(session, filters)
    if ways is None:
        page = _page(filtered(filters), Lead.created_at, Lead.id, cursor, newest)
        leads = list(session.scalars(page))
    else:
        # A search by name alone is answered from the terms index, which holds each
        # match's creation time: only the page's own leads are read.
        ids = _matching_ids(session, ways, cursor, newest)
        by_id = {lead.id: lead for lead in session.scalars(select(Lead).where(Lead.id.in_(ids)))}
        leads = [by_id[i] for i in ids if i in by_id]
    next_after = _cursor(leads[PAGE_SIZE - 1]) if len(leads) > PAGE_SIZE else None
    if ways is not None:
        # Counting every match of a common name costs as much as finding them: a
        # search says "50+" and is refined rather than counted.
        complete = cursor is None and next_after is None
        return LeadPage(leads[:PAGE_SIZE], next_after, min(len(leads), PAGE_SIZE), not complete)
    capped = filtered(filters).with_only_columns(Lead.id).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped))
    return LeadPage(leads[:PAGE_SIZE], next_after, min(total, COUNT_CAP), total > COUNT_CAP)


def _page(rows: Select, at_column, id_column, cursor, newest: bool, size: int = PAGE_SIZE + 1):
    """The first ``size`` rows after ``cursor`` (a page and one more, which tells
    whether there is a next page), newest or oldest first."""
    if cursor:
        at, lead_id = cursor
        before = (at_column < at) if newest else (at_column > at)
        same = and_(at_column == at, (id_column < lead_id) if newest else (id_column > lead_id))
        rows = rows.where(or_(before, same))
    order = (at_column.desc(), id_column.desc()) if newest else (at_column.asc(), id_column.asc())
    return rows.order_by(*order).limit(size)


def _matching_ids(session: Session, ways: list[Select], cursor, newest: bool) -> list[int]:
    """The ids of the page after ``cursor`` (and one more) of the leads that any of
    ``ways`` (each selecting ``id, created_at``) finds.

    Each way picks its own page in one statement, and the pages are merged here: a
    common first name matches tens of thousands of leads, and making the database join
    all of them to drop the repeats took 231 ms at a million leads, against 8.5 a page
    at a time. A way may find a lead twice (two of its name's words or domains start
    with the text): one whose page holds a repeat is asked again for more rows."""
    wanted = size = PAGE_SIZE + 1
    if not ways:
        return []
    while True:
        pages = []
        for n, way in enumerate(ways):
            matched = way.subquery()
            # (A subquery: SQLite takes no ORDER BY or LIMIT in a member of a UNION.)
            page = _page(select(matched), matched.c.created_at, matched.c.id, cursor, newest, size)
            chosen = page.subquery()
            pages.append(select(literal(n).label("way"), chosen.c.id, chosen.c.created_at))
        rows = session.execute(union_all(*pages) if len(pages) > 1 else pages[0]).all()
        short = [
            n
            for n in range(len(ways))
            if sum(row.way == n for row in rows) == size
            and len({row.id for row in rows if row.way == n}) < wanted
        ]
        if not short:
            break
        size *= 4
    found = sorted({(row.created_at, row.id) for row in rows}, reverse=newest)
    return [lead_id for _, lead_id in found[:wanted]]


def _ways_of_matching(session: Session, filters: LeadFilters) -> list[Select] | None:
    """How a search by name or domain (and nothing else) finds leads: selects of the
    ``id, created_at`` of the leads each way matches; None when other filters apply.
    Terms exist only for leads that are not suspected bots, which is what the list
    shows by default."""
    search = _Search.of(filters.q)
    others = (filters.stage, filters.landing_page, filters.country, filters.source)
    if (
        not (search.words or search.domain)
        or any(others)
        or filters.created_from
        or filters.created_to
        or filters.quarantined != "exclude"
    ):
        return None

    def by_term(condition):
        return select(LeadTerm.lead_id.label("id"), LeadTerm.created_at).where(condition)

    def starting(text: str) -> list[Select]:
        """One way per term that starts with ``text``: the index holds each term's
        leads in time order, so each finds its page without reading the others (a
        domain like "example" starts three terms held by a million leads: 200 ms as
        one range, a few as three)."""
        terms = _terms_starting(session, text)
        if terms is None:
            return [by_term(_prefix(LeadTerm.term, text))]
        return [by_term(LeadTerm.term == term) for term in terms]

    found = []
    if len(search.words) > 1:  # every word must start one of the name's words
        both = intersect(*(by_term(_prefix(LeadTerm.term, w)) for w in search.words)).subquery()
        found.append(select(both.c.id, both.c.created_at))
    elif search.words:
        found += starting(search.words[0])
    if search.domain:
        found += starting(search.domain)
    if search.email is not None:
        found.append(
            select(Lead.id, Lead.created_at).where(
                _prefix(Lead.email, search.email), Lead.quarantined == false()
            )
        )
    return found


def _terms_starting(session: Session, text: str) -> list[str] | None:
    """The terms that start with ``text``, one index probe each, or None when there
    are more than ``SPLIT_TERMS``."""
    terms: list[str] = []
    while len(terms) <= SPLIT_TERMS:
        after = [LeadTerm.term > terms[-1]] if terms else []
        term = session.scalar(
            select(func.min(LeadTerm.term)).where(_prefix(LeadTerm.term, text), *after)
        )
        if term is None:
            return terms
        terms.append(term)
    return None


def _cursor(lead: Lead) -> str:
    return f"{lead.created_at.isoformat()}_{lead.id}"


def _parse_cursor(after: str | None) -> tuple[datetime, int] | None:
    if not after:
        return None
    at, _, lead_id = after.rpartition("_")
    try:
        cursor = parse_time(at, "after"), int(lead_id)
    except ValueError:  # FieldError too
        cursor = None
    if cursor is None or not 0 < cursor[1] <= MAX_ID:
        raise FieldError("after", f"{shown(after)} is not a place in the list")
    return cursor
