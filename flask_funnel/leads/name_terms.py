"""Name search terms: the words of a name, lower-cased, each looked up by prefix."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import Connection, delete

from flask_funnel.db.models import LeadTerm
from flask_funnel.db.upserts import upsert

MAX_TERM = 64
_WORD = re.compile(r"\w+")


def name_terms(name: str | None) -> list[str]:
    """``"Ann-Marie O'Neil"`` -> ``["ann", "marie", "o", "neil"]`` (each once)."""
    if not name:
        return []
    return list(dict.fromkeys(w[:MAX_TERM] for w in _WORD.findall(name.casefold())))


def add_terms(connection: Connection, rows: list[tuple[int, str | None, datetime]]) -> None:
    """Index the names of ``(lead_id, name, created_at)`` (terms already there are kept)."""
    values = [
        {"term": term, "lead_id": lead_id, "created_at": created_at}
        for lead_id, name, created_at in rows
        for term in name_terms(name)
    ]
    if values:
        statement = upsert(connection.dialect.name, LeadTerm.__table__, ["term", "lead_id"], None)
        connection.execute(statement, values)


def drop_terms(connection: Connection, lead_id: int) -> None:
    connection.execute(delete(LeadTerm).where(LeadTerm.lead_id == lead_id))
