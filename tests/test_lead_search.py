"""Searching the leads list by the domain of an email (``example.org``, ``@example.org``,
``example``), served by the search-terms index like names, and the terms kept true
through every way a lead's email is written: capture, a merge into a known lead, a
returning sign-in, release from quarantine, import and erasure."""

from __future__ import annotations

import csv
import io
import re

import pytest
from conftest import DATABASE, Visitor, hidden_fields, sign_up
from sqlalchemy import select

from flask_funnel.auth.identity import VerifiedIdentity
from flask_funnel.db.models import Lead, LeadTerm

PEOPLE = [
    ("ann@example.org", "Ann"),
    ("bob@mail.example.org", "Bob"),  # a subdomain
    ("cy@elsewhere.net", "Cy Example"),  # "example" in the name only
    ("dee@example.com", None),
    ("org.fan@fans.net", None),
]


def terms_of(app, lead_id: int) -> list[str]:
    with app.extensions["funnel"].engine.connect() as connection:
        return sorted(connection.scalars(select(LeadTerm.term).where(LeadTerm.lead_id == lead_id)))


@pytest.fixture
def people(app, admin_client):
    """The leads of ``PEOPLE`` (typed into the quiz) and a suspected bot; ids by email."""
    visitor = Visitor(admin_client)
    for email, name in PEOPLE:
        assert visitor.submit(email=email, name=name).status_code == 303
    assert visitor.submit(email="bot@example.org", name="Bot", website="spam").status_code == 303
    with app.extensions["funnel"].engine.connect() as connection:
        return dict(connection.execute(select(Lead.email, Lead.id)).all())


@pytest.fixture
def found(admin_client, people):
    """``found(q, **filters)``: the emails the leads list shows for a search."""
    emails = {lead_id: email for email, lead_id in people.items()}

    def search(q: str, **filters) -> list[str]:
        response = admin_client.get("/p/admin/leads", query_string={"q": q, **filters})
        assert response.status_code == 200
        shown = {int(i) for i in re.findall(r'href="/p/admin/leads/(\d+)"', response.text)}
        return sorted(emails[i] for i in shown)

    return search


def test_a_domain_finds_the_people_of_it_and_of_its_subdomains(found):
    both = ["ann@example.org", "bob@mail.example.org"]
    assert found("example.org") == both
    assert found("@example.org") == both
    assert found("  EXAMPLE.ORG ") == both
    assert found("@mail.example.org") == ["bob@mail.example.org"]
    assert found("mail") == ["bob@mail.example.org"]


def test_the_start_of_a_domain_finds_it_beside_names_and_emails(found):
    # example.org, mail.example.org and example.com by their domain; Cy by name.
    assert found("example") == [
        "ann@example.org",
        "bob@mail.example.org",
        "cy@elsewhere.net",
        "dee@example.com",
    ]
    assert found("@example") == ["ann@example.org", "bob@mail.example.org", "dee@example.com"]
    assert found("exa") == found("example")


def test_a_domain_is_found_by_its_start_only(found):
    assert found("xample.org") == []
    assert found("@org") == []  # a top-level domain alone is not a term
    assert found("org") == ["org.fan@fans.net"]  # the start of an email, as before
    assert found("@") == []


def test_a_full_email_or_its_start_finds_what_it_found_before(found):
    assert found("ann@example.org") == ["ann@example.org"]
    assert found("ann@") == ["ann@example.org"]
    assert found("ann@exa") == ["ann@example.org"]
    assert found("ann@mail.example.org") == []  # the address, not the domain
    assert found("bob") == ["bob@mail.example.org"]
    assert found("org.fan") == ["org.fan@fans.net"]  # a dot in it made two name words
    assert found("cy example") == ["cy@elsewhere.net"]  # a name's words, as before


def test_a_domain_search_with_filters_finds_the_same_leads(found):
    """With another filter the search goes through the leads table, not the terms alone."""
    assert found("example.org", sort="oldest") == ["ann@example.org", "bob@mail.example.org"]
    assert found("example.org", stage="mql") == ["ann@example.org", "bob@mail.example.org"]
    assert found("example.org", source="direct") == found("example.org")
    assert found("@example.org", stage="customer") == []
    # A suspected bot is not indexed (as its name is not): only its email's start finds it.
    assert found("example.org", quarantined="include") == [
        "ann@example.org",
        "bob@mail.example.org",
    ]
    assert found("bot@", quarantined="only") == ["bot@example.org"]


@pytest.mark.skipif(DATABASE != "sqlite", reason="reads SQLite's query plan")
@pytest.mark.parametrize("q", ["example.org", "@example.org", "example", "cy example"])
def test_a_search_without_filters_finds_its_page_in_the_terms_index(app, people, q):
    """At a million leads the list must not read the leads table through: a search by a
    domain or a name finds its page in the covering index of the terms (which holds each
    lead's creation time), then reads the page's own leads by id."""
    from sqlalchemy import event

    from flask_funnel.leads.search import LeadFilters, find_leads

    engine = app.extensions["funnel"].engine
    statements = []

    def seen(_connection, _cursor, statement, parameters, _context, _many):
        if statement.startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with app.app_context():
            page = find_leads(app.extensions["funnel"].session, LeadFilters(q=q))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert page.leads
    with engine.connect() as connection:
        plans = [
            [row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + s, p)]
            for s, p in statements
        ]
    # The terms a search text starts are found one index probe each, then the page.
    pairs = zip(statements, plans, strict=True)
    page_plan = next(plan for (s, _), plan in pairs if "ORDER BY" in s)
    by_terms = "SEARCH funnel_lead_terms USING COVERING INDEX ix_funnel_lead_terms_term_created"
    assert any(step.startswith(by_terms) for step in page_plan), page_plan
    scans = [s for plan in plans for s in plan if s.startswith("SCAN funnel_")]
    assert scans == [], plans


@pytest.mark.parametrize(
    ("domain", "q"),
    [
        (lambda n: "many.example", "many.example"),
        # Three domains: each term finds its own page, and the pages are merged.
        (lambda n: f"many{n % 3}.example", "many"),
        # More domains than are looked up one by one: one range of terms.
        (lambda n: f"many{n}.example", "many"),
    ],
)
def test_a_domain_search_pages_through_every_match_once(app, admin_client, domain, q):
    for n in range(53):
        sign_up(app, f"p{n:02}@{domain(n)}")
    first = admin_client.get(f"/p/admin/leads?q={q}")
    assert "50+ leads" in first.text
    next_url = next(part for part in first.text.split('"') if "after=" in part)
    second = admin_client.get(next_url.replace("&amp;", "&"))
    seen = [re.findall(r'href="/p/admin/leads/(\d+)"', page.text) for page in (first, second)]
    assert [len(ids) for ids in seen] == [50, 3]
    assert len(set(seen[0]) | set(seen[1])) == 53


def test_an_export_of_a_domain_search_holds_its_leads(admin_client, people):
    rows = csv.DictReader(io.StringIO(admin_client.get("/p/admin/leads.csv?q=example.org").text))
    assert sorted(row["email"] for row in rows) == [
        "ann@example.org",
        "bob@mail.example.org",
    ]


# --- the terms kept true ----------------------------------------------------------------


def test_a_capture_indexes_the_domains_without_a_name(app):
    lead_id = sign_up(app, "zoe@a.b.example.co")
    assert terms_of(app, lead_id) == ["@a.b.example.co", "@b.example.co", "@example.co"]


def test_a_suspected_bot_is_indexed_once_released(app, admin_client):
    bot = sign_up(app, "sam@released.example", "Sam", bot=True)
    assert terms_of(app, bot) == []
    page = f"/p/admin/leads/{bot}"
    data = {
        "intent": "release",
        "csrf_token": hidden_fields(admin_client.get(page).text)["csrf_token"],
    }
    assert admin_client.post(page, data=data).status_code == 303
    assert terms_of(app, bot) == ["@released.example", "sam"]
    assert f'href="/p/admin/leads/{bot}"' in admin_client.get("/p/admin/leads?q=released").text


def test_a_bot_merged_into_by_a_person_is_indexed_with_its_name(app):
    """A real submission of a suspected bot's email makes the lead a person: its name (kept
    from before when this one gives none) and its domain are indexed."""
    lead_id = sign_up(app, "max@merged.example", "Max Power", bot=True)
    assert sign_up(app, "max@merged.example") == lead_id
    assert terms_of(app, lead_id) == ["@merged.example", "max", "power"]


def test_a_returning_sign_in_with_a_new_email_keeps_the_lead_s_own_domain(app):
    """The lead found by its Google account keeps its email, so it keeps that email's
    domain: the sign-in's new address is not the lead's, and is not indexed."""
    google = "https://accounts.google.com"
    lead_id = sign_up(app, "", identity=VerifiedIdentity(google, "1089", "al@first.example"))
    again = VerifiedIdentity(google, "1089", "al@second.example")
    assert sign_up(app, "", "Al", identity=again) == lead_id
    with app.extensions["funnel"].engine.connect() as connection:
        assert connection.scalar(select(Lead.email).where(Lead.id == lead_id)) == "al@first.example"
    assert terms_of(app, lead_id) == ["@first.example", "al"]


def test_imported_leads_are_found_by_their_domain(app, admin_client, tmp_path):
    from flask_funnel.leads.csv_import import import_leads

    path = tmp_path / "leads.csv"
    path.write_text("email,name\nivy@imported.example,Ivy\nann@example.org,\n", encoding="utf-8")
    report = import_leads(app.extensions["funnel"].engine, path)
    assert report.imported == 2
    html = admin_client.get("/p/admin/leads?q=imported.example").text
    with app.extensions["funnel"].engine.connect() as connection:
        ivy = connection.scalar(select(Lead.id).where(Lead.email == "ivy@imported.example"))
    assert re.findall(r'href="/p/admin/leads/(\d+)"', html) == [str(ivy)]
    assert terms_of(app, ivy) == ["@imported.example", "ivy"]


def test_an_erased_lead_leaves_no_term_behind(app, admin_client, people):
    from flask_funnel.leads.privacy import erase

    ann = people["ann@example.org"]
    assert erase(app.extensions["funnel"].engine, ann, "test")
    assert terms_of(app, ann) == []
    html = admin_client.get("/p/admin/leads?q=example.org").text
    assert f'href="/p/admin/leads/{ann}"' not in html
    assert f'href="/p/admin/leads/{people["bob@mail.example.org"]}"' in html
