"""Completed quizzes: one transaction stores the lead (one per normalised email, by
upsert), the submission (one per idempotency key), its answers, the consent record,
the first stage changes, the link from the visitor's earlier visits, and the visitor
(first seen now if not before, having passed every quiz step, signed up or suspected).

Statements are built once per database dialect and executed with parameters, so a
request spends its time in the database rather than in building SQL.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from flask_funnel import signals
from flask_funnel.auth.identity import VerifiedIdentity
from flask_funnel.capture import identities
from flask_funnel.capture.attribution import DIRECT
from flask_funnel.capture.confirmation import UNCONFIRMED
from flask_funnel.capture.consent import consent_hash
from flask_funnel.capture.geo import Place
from flask_funnel.capture.visit_buffer import Taken, VisitBuffer, refused_value
from flask_funnel.capture.visits import record_steps, record_visitors
from flask_funnel.db.models import Answer, Consent, Lead, Submission, Visit, Visitor
from flask_funnel.db.retry import write_retrying
from flask_funnel.db.types import utcnow
from flask_funnel.db.upserts import supports_returning, upsert
from flask_funnel.leads import emails, outbox, stages
from flask_funnel.leads.name_terms import add_terms
from flask_funnel.pages.model import Page

log = logging.getLogger("flask_funnel.capture.submissions")


_leads = Lead.__table__
_visits = Visit.__table__
_visitors = Visitor.__table__


_submissions = Submission.__table__


@dataclass(frozen=True)
class Touch:
    """Where a visitor came from: the attribution a lead keeps from its first visit."""

    source: str
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None


DIRECT_TOUCH = Touch(DIRECT)


@dataclass(frozen=True)
class QuizEntry:
    """A completed quiz as the form checked it."""

    page: Page
    email: str
    name: str | None
    answers: dict[str, str]
    idempotency_key: str
    visitor_id: str | None
    place: Place
    fill_seconds: float | None
    quarantine_reason: str | None = None
    #: The sign-in that vouched for ``email`` (then ``email`` is the identity's).
    identity: VerifiedIdentity | None = None
    #: The visitor's ``visits.first_seen`` row, stored if the browser is new.
    arrival: dict | None = None
    #: Emails to the lead: ``(days after sign-up, event, message)`` (``leads.emails``).
    emails_to_lead: tuple[tuple[int, str, dict], ...] = ()

    @property
    def signup_method(self) -> str:
        return "google" if self.identity else "typed"


@dataclass(frozen=True)
class Captured:
    submission_id: int
    lead_id: int
    created: bool
    duplicate: bool
    quarantined: bool
    stage_changes: tuple[dict, ...] = ()


_FIRST_TOUCH = (
    select(Visit.source, Visit.utm_source, Visit.utm_medium, Visit.utm_campaign, Visit.lead_id)
    .where(Visit.visitor_id == bindparam("visitor_id"))
    .order_by(Visit.id)
    .limit(1)
)


# MariaDB's upsert returns nothing; read the row back with a locking read, which sees
# the row another transaction committed after this one's snapshot (a plain read would
# miss it when the upsert's update changed nothing).
_LEAD_BY_EMAIL = (
    select(Lead.id, Lead.origin_key, Lead.stage, Lead.created_at, Lead.name)
    .where(Lead.email == bindparam("email"))
    .with_for_update()
)


_INSERT_SUBMISSION = insert(_submissions)


_INSERT_ANSWERS = insert(Answer.__table__)


_INSERT_CONSENT = insert(Consent.__table__)


_LINK_VISITS = (
    update(_visits)
    .where(_visits.c.visitor_id == bindparam("known_visitor"), _visits.c.lead_id.is_(None))
    .values(lead_id=bindparam("new_lead_id"))
)


# A browser becomes one of the visitors who signed up with its first real submission;
# it is a suspected bot while all of its submissions were quarantined.
_VISITOR_SIGNED_UP = (
    update(_visitors)
    .where(_visitors.c.visitor_id == bindparam("known_visitor"))
    .values(lead_id=func.coalesce(_visitors.c.lead_id, bindparam("new_lead_id")), quarantined=False)
)
_VISITOR_SUSPECTED = (
    update(_visitors)
    .where(_visitors.c.visitor_id == bindparam("known_visitor"), _visitors.c.lead_id.is_(None))
    .values(quarantined=True)
)


_SUBMISSION_BY_KEY = select(Submission.id, Submission.lead_id, Submission.quarantined).where(
    Submission.idempotency_key == bindparam("key")
)


def _merge_lead(new) -> dict:
    # A lead stays quarantined only while every submission of it was.
    return {
        "name": func.coalesce(new.name, _leads.c.name),
        "updated_at": new.updated_at,
        "quarantined": and_(_leads.c.quarantined, new.quarantined),
    }


# What a submission changes on a lead found by its sign-in, as the upsert's update does.
_UPDATE_LEAD = (
    update(_leads)
    .where(_leads.c.id == bindparam("lead_id"))
    .values(
        name=func.coalesce(bindparam("new_name"), _leads.c.name),
        updated_at=bindparam("now"),
        quarantined=and_(_leads.c.quarantined, bindparam("new_quarantined")),
    )
)


@cache
def _upsert_lead(dialect: str):
    stmt = upsert(dialect, _leads, ["email"], _merge_lead)
    if supports_returning(dialect):
        stmt = stmt.returning(
            _leads.c.id, _leads.c.origin_key, _leads.c.stage, _leads.c.created_at, _leads.c.name
        )
    return stmt


def capture(engine: Engine, entry: QuizEntry, views: VisitBuffer | None = None) -> Captured:
    """Store a completed quiz once, in one transaction; a repeat of the same
    idempotency key returns the first result with ``duplicate=True``. Once committed,
    sends ``lead_captured`` and a ``stage_changed`` per stage change (a repeat sends
    nothing). With ``views`` (the process's visit buffer), the page views and steps it
    holds are written first in the same transaction: the visitor's own are in place for
    attribution, and one commit does the work of two."""
    try:
        result = _store(engine, entry, views)
    except IntegrityError:
        with engine.connect() as connection:
            existing = connection.execute(
                _SUBMISSION_BY_KEY, {"key": entry.idempotency_key}
            ).first()
        if existing is None:
            raise
        return Captured(existing.id, existing.lead_id, False, True, existing.quarantined)
    log.info(
        "lead %s %s from page %s (submission %s%s)",
        result.lead_id,
        "created" if result.created else "updated",
        entry.page.slug,
        result.submission_id,
        ", quarantined: " + entry.quarantine_reason if entry.quarantine_reason else "",
    )
    signals.send(
        signals.lead_captured,
        lead_id=result.lead_id,
        submission_id=result.submission_id,
        page=entry.page.slug,
        created=result.created,
        quarantined=result.quarantined,
    )
    signals.send_stage_changes(result.stage_changes)
    return result


def _store(engine: Engine, entry: QuizEntry, views: VisitBuffer | None) -> Captured:
    if views is None:
        return write_retrying(engine, lambda connection: _write(connection, entry, None))
    with views.take() as queued:
        try:
            result = write_retrying(engine, lambda connection: _write(connection, entry, queued))
        except Exception as error:
            if not refused_value(error):
                raise
            # A value the database refuses, of a view or of this submission (a repeated
            # key): the views go back to the queue, whose own flush sets a refused one
            # aside, and the submission is tried alone, as it would have been.
            return write_retrying(engine, lambda connection: _write(connection, entry, None))
        queued.written = True
        return result


def _write(connection: Connection, entry: QuizEntry, queued: Taken | None) -> Captured:
    if queued is not None:
        queued.write(connection)
    now = utcnow()
    page = entry.page
    quarantined = entry.quarantine_reason is not None
    dialect = connection.dialect.name
    first = None
    if entry.visitor_id:
        first = connection.execute(_FIRST_TOUCH, {"visitor_id": entry.visitor_id}).first()
    touch = Touch(*first[:4]) if first else DIRECT_TOUCH  # came straight to the quiz

    score = page.score(entry.answers)
    qualifies = not quarantined and score >= page.mql_threshold
    lead_values = {
        "email": entry.email,
        "name": entry.name,
        # A new lead whose score qualifies starts at mql (its history says how).
        "stage": stages.MQL if qualifies else stages.LEAD,
        "stage_changed_at": now,
        "quarantined": quarantined,
        "locale": page.locale,
        "landing_page": page.slug,
        "source": touch.source,
        "utm_source": touch.utm_source,
        "utm_medium": touch.utm_medium,
        "utm_campaign": touch.utm_campaign,
        "country": entry.place.country,
        "city": entry.place.city,
        "origin_key": entry.idempotency_key,
        "variant": page.variant,
        # The place version of the page the quiz was taken in (insert only, like variant).
        "place_version": page.place_version,
        # Set on insert only: the upsert's update leaves an existing lead's alone.
        "reached_mql_at": now if qualifies else None,
        "signup_method": entry.signup_method,
        "email_verified_at": None,
        "created_at": now,
        "updated_at": now,
    }
    linked = identities.linked_lead(connection, entry.identity) if entry.identity else None
    if linked is not None:  # a returning sign-in: its lead, whatever its email is now
        lead_id, stage, created_at, created = linked.lead_id, linked.stage, linked.created_at, False
        # The lead keeps its own email (and its name unless this one gives another).
        lead_email, lead_name = linked.email, entry.name or linked.name
        connection.execute(
            _UPDATE_LEAD,
            {
                "lead_id": lead_id,
                "new_name": entry.name,
                "now": now,
                "new_quarantined": quarantined,
            },
        )
    else:
        result = connection.execute(_upsert_lead(dialect), lead_values)
        if not supports_returning(dialect):
            result = connection.execute(_LEAD_BY_EMAIL, {"email": entry.email})
        lead_id, origin_key, stage, created_at, lead_name = result.one()
        created = origin_key == entry.idempotency_key
        lead_email = entry.email
    identity_id = None
    if entry.identity:
        how = identities.NEW_LEAD if created else identities.EXISTING_EMAIL
        identity_id = identities.link(connection, entry.identity, lead_id, how, now)

    submission_id = connection.execute(
        _INSERT_SUBMISSION,
        {
            "idempotency_key": entry.idempotency_key,
            "lead_id": lead_id,
            "visitor_id": entry.visitor_id,
            "page_slug": page.slug,
            "locale": page.locale,
            "score": score,
            "quarantined": quarantined,
            "quarantine_reason": entry.quarantine_reason,
            "fill_seconds": entry.fill_seconds,
            "signup_method": entry.signup_method,
            "identity_id": identity_id,
            "created_at": now,
        },
    ).inserted_primary_key[0]
    connection.execute(
        _INSERT_ANSWERS,
        [
            {
                "submission_id": submission_id,
                "lead_id": lead_id,
                "page_slug": page.slug,
                "question_id": question.id,
                "choice_id": entry.answers[question.id],
                "points": question.choice(entry.answers[question.id]).points,
            }
            for question in page.questions
        ],
    )
    connection.execute(
        _INSERT_CONSENT,
        {
            "lead_id": lead_id,
            "submission_id": submission_id,
            "page_slug": page.slug,
            "purpose": page.consent.purpose,
            "text_version": page.consent.version,
            "text_hash": consent_hash(page.consent.text),
            "text": page.consent.text,
            "given_at": now,
            "withdrawn_at": None,
        },
    )
    if not quarantined:  # a new lead, or one this submission merged into (or released)
        add_terms(connection, [(lead_id, lead_name, lead_email, created_at)])
    # A suspected bot gets nothing; an unconfirmed sign-up its confirmation email.
    to_lead = entry.emails_to_lead if entry.quarantine_reason in (None, UNCONFIRMED) else ()
    if any(event == emails.NURTURE for _, event, _ in to_lead):
        outbox.stop_nurture(connection, lead_id)
    for days, event, message in to_lead:
        later = now + timedelta(days=days)
        outbox.add_message(connection, emails.TO_LEAD, event, message, lead_id, not_before=later)
    if not quarantined:
        outbox.add_event(
            connection,
            "lead.captured",
            _captured(entry, lead_values, lead_id, submission_id, created, score),
            lead_id=lead_id,
            at=now,
        )
    mql_reason = f"quiz score {score} reached {page.mql_threshold} on page {page.slug}"
    if created:
        # The upsert already put the new lead at its stage (and reached_mql_at); only its
        # history is missing.
        moves = [(stages.VISITOR, stages.LEAD, f"quiz on page {page.slug}")]
        if qualifies:
            moves.append((stages.LEAD, stages.MQL, mql_reason))
        changes = stages.log_changes(connection, lead_id, moves, at=now, notify=not quarantined)
    elif qualifies and stages.is_behind(stage, stages.MQL):
        change = stages.move(
            connection,
            lead_id,
            stages.MQL,
            actor=stages.SYSTEM,
            current=stage,
            at=now,
            reason=mql_reason,
        )
        changes = [change]
    else:
        changes = []
    # Views are linked from the first real submission on (later ones at insert), so an
    # unlinked first view means there are views to link.
    if first and first.lead_id is None and not quarantined:
        connection.execute(
            _LINK_VISITS, {"known_visitor": entry.visitor_id, "new_lead_id": lead_id}
        )
    if entry.visitor_id:
        _record_visitor(connection, entry, lead_id, quarantined, queued)
    return Captured(submission_id, lead_id, created, False, quarantined, tuple(changes))


def _record_visitor(
    connection: Connection,
    entry: QuizEntry,
    lead_id: int,
    quarantined: bool,
    queued: Taken | None,
):
    """The browser that sent the quiz: a visitor of the page (even if this is the first
    of it seen), past every step, and now signed up or suspected."""
    page = entry.page
    # Usually the contact step's view, written just before, recorded all of this.
    written = queued is not None and (
        queued.furthest_step(entry.visitor_id, page.slug) >= page.contact_step
    )
    if not written:
        if entry.arrival:
            record_visitors(connection, [entry.arrival])
        record_steps(connection, entry.visitor_id, page.slug, range(1, page.contact_step + 1))
    marking = _VISITOR_SUSPECTED if quarantined else _VISITOR_SIGNED_UP
    connection.execute(marking, {"known_visitor": entry.visitor_id, "new_lead_id": lead_id})


def _captured(entry: QuizEntry, lead: dict, lead_id: int, submission_id: int, created, score):
    """What ``lead.captured`` tells a CRM: who, from which page and version, their
    answers and score, where they came from, and what they agreed to."""
    page = entry.page
    return {
        "lead_id": lead_id,
        "created": created,
        "email": entry.email,
        "name": entry.name,
        "submission_id": submission_id,
        "page": page.slug,
        "locale": page.locale,
        "variant": page.variant,
        "place_version": page.place_version,
        "answers": entry.answers,
        "score": score,
        "signup_method": entry.signup_method,
        **{key: lead[key] for key in ("source", "utm_source", "utm_medium", "utm_campaign")},
        "country": entry.place.country,
        "city": entry.place.city,
        "consent": {"purpose": page.consent.purpose, "version": page.consent.version},
    }
