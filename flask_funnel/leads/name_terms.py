"""Search terms: the words of a lead's name and the domains of its email, lower-cased,
each looked up by prefix in ``funnel_lead_terms`` (``models.LeadTerm``).

A name gives its words (``ann``); an email its domain and each parent domain but the
last label, marked with ``@`` (``@mail.example.org``, ``@example.org``), so a domain
never matches a search by name and a name's word never a search by domain."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

from sqlalchemy import Connection, delete

from flask_funnel.db.models import LeadTerm
from flask_funnel.db.upserts import upsert

MAX_TERM = 64
#: What marks a domain term (a name's words are made of word characters only).
DOMAIN = "@"
_WORD = re.compile(r"\w+")


def name_terms(name: str | None) -> list[str]:
    """``"Ann-Marie O'Neil"`` -> ``["ann", "marie", "o", "neil"]`` (each once)."""
    if not name:
        return []
    return list(dict.fromkeys(w[:MAX_TERM] for w in _WORD.findall(name.casefold())))


def domain_terms(email: str | None) -> list[str]:
    """``"ann@mail.example.org"`` -> ``["@mail.example.org", "@example.org"]``: so that a
    search for ``example`` or ``example.org`` finds the people of its subdomains too (a
    top-level domain alone, ``@org``, would only fill the index)."""
    if not email or "@" not in email:
        return []
    labels = email.rpartition("@")[2].split(".")
    return list(
        dict.fromkeys(
            (DOMAIN + ".".join(labels[i:]))[:MAX_TERM]
            for i in range(max(len(labels) - 1, 1))
            if labels[i]
        )
    )


def domain_needle(text: str) -> str | None:
    """The term prefix a search looks domains up by: ``example``, ``@example.org`` ->
    ``@example``, ``@example.org``; None when ``text`` cannot start a domain (``ann@``
    names the start of an address, a space is in no domain)."""
    needle = text.strip().lower()
    if needle.startswith(DOMAIN):
        needle = needle[len(DOMAIN) :]
    if not needle or "@" in needle or any(c.isspace() for c in needle):
        return None
    return (DOMAIN + needle)[:MAX_TERM]


def lead_terms(name: str | None, email: str | None) -> list[str]:
    """Every term of a lead: the words of its name, then the domains of its email."""
    return name_terms(name) + domain_terms(email)


def add_terms(
    connection: Connection, rows: list[tuple[int, str | None, str | None, datetime]]
) -> None:
    """Index the names and emails of ``(lead_id, name, email, created_at)`` (terms
    already there are kept). Only leads that are not suspected bots are indexed."""
    values = [
        {"term": term, "lead_id": lead_id, "created_at": created_at}
        for lead_id, name, email, created_at in rows
        for term in lead_terms(name, email)
    ]
    if values:
        connection.execute(_insert_terms(connection.dialect.name), values)


@cache
def _insert_terms(dialect: str):
    """Built once per database kind: every submission indexes its lead."""
    return upsert(dialect, LeadTerm.__table__, ["term", "lead_id"], None)


def drop_terms(connection: Connection, lead_id: int) -> None:
    """Forget every term of a lead (its name's and its email's)."""
    connection.execute(delete(LeadTerm).where(LeadTerm.lead_id == lead_id))
