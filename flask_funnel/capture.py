"""The write side: visits, quiz steps reached and completed submissions.

A submission is written in one transaction: the lead (one per normalised email,
by upsert), the submission (one per idempotency key), its answers, the consent
record, the first stage change, and the link from the visitor's earlier visits.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import stages
from .geo import Place
from .models import Answer, Consent, Lead, StepView, Submission, Visit, utcnow
from .pages import Page
from .storage import upsert

log = logging.getLogger("flask_funnel.capture")


@dataclass(frozen=True)
class Touch:
    """Where a visitor came from: the attribution a lead keeps from its first visit."""

    source: str
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None


@dataclass(frozen=True)
class VisitRecord:
    visitor_id: str
    page_slug: str
    referrer: str | None
    source: str
    utm: dict[str, str | None]
    device: str
    place: Place
    ip: str | None


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
    touch: Touch = field(default_factory=lambda: Touch("direct"))


@dataclass(frozen=True)
class Captured:
    submission_id: int
    lead_id: int
    created: bool
    duplicate: bool
    quarantined: bool
    stage_change: dict | None = None


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def record_visit(session: Session, visit: VisitRecord) -> None:
    """Store one page view; a visitor who already became a lead is linked at once."""
    known_lead = (
        select(Submission.lead_id)
        .where(Submission.visitor_id == visit.visitor_id, Submission.quarantined.is_(False))
        .order_by(Submission.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    session.execute(
        insert(Visit).values(
            visitor_id=visit.visitor_id,
            lead_id=known_lead,
            page_slug=visit.page_slug,
            at=utcnow(),
            referrer=(visit.referrer or "")[:1000] or None,
            source=visit.source,
            device=visit.device,
            country=visit.place.country,
            city=visit.place.city,
            ip=visit.ip,
            **visit.utm,
        )
    )
    session.commit()


def record_step(session: Session, visitor_id: str, page_slug: str, step: int) -> None:
    """Remember that a visitor reached a quiz step (once per visitor, page and step)."""
    values = {"visitor_id": visitor_id, "page_slug": page_slug, "step": step, "at": utcnow()}
    keys = ["page_slug", "step", "visitor_id"]
    session.execute(upsert(_dialect(session), StepView.__table__, values, keys, None))
    session.commit()


def first_touch(session: Session, visitor_id: str | None) -> Touch | None:
    """Attribution from the visitor's first recorded visit, if any."""
    if not visitor_id:
        return None
    row = session.execute(
        select(Visit.source, Visit.utm_source, Visit.utm_medium, Visit.utm_campaign)
        .where(Visit.visitor_id == visitor_id)
        .order_by(Visit.id)
        .limit(1)
    ).first()
    session.commit()
    return Touch(*row) if row else None


def consent_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def capture(session: Session, entry: QuizEntry) -> Captured:
    """Store a completed quiz once; a repeat of the same idempotency key returns the
    first result with ``duplicate=True`` and writes nothing."""
    try:
        result = _write(session, entry)
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = session.execute(
            select(Submission.id, Submission.lead_id, Submission.quarantined).where(
                Submission.idempotency_key == entry.idempotency_key
            )
        ).first()
        session.commit()
        if existing is None:
            raise
        return Captured(existing.id, existing.lead_id, False, True, existing.quarantined)
    except Exception:
        session.rollback()
        raise
    log.info(
        "lead %s %s from page %s (submission %s%s)",
        result.lead_id,
        "created" if result.created else "updated",
        entry.page.slug,
        result.submission_id,
        ", quarantined: " + entry.quarantine_reason if entry.quarantine_reason else "",
    )
    return result


def _write(session: Session, entry: QuizEntry) -> Captured:
    now = utcnow()
    page = entry.page
    quarantined = entry.quarantine_reason is not None
    lead_table = Lead.__table__
    values = {
        "email": entry.email,
        "name": entry.name,
        "stage": stages.LEAD,
        "stage_changed_at": now,
        "quarantined": quarantined,
        "locale": page.locale,
        "landing_page": page.slug,
        "source": entry.touch.source,
        "utm_source": entry.touch.utm_source,
        "utm_medium": entry.touch.utm_medium,
        "utm_campaign": entry.touch.utm_campaign,
        "country": entry.place.country,
        "city": entry.place.city,
        "origin_key": entry.idempotency_key,
        "created_at": now,
        "updated_at": now,
    }

    def merge(new):
        # A lead stays quarantined only while every submission of it was.
        return {
            "name": func.coalesce(new.name, lead_table.c.name),
            "updated_at": new.updated_at,
            "quarantined": and_(lead_table.c.quarantined, new.quarantined),
        }

    session.execute(upsert(_dialect(session), lead_table, values, ["email"], merge))
    lead = session.execute(select(Lead.id, Lead.origin_key).where(Lead.email == entry.email)).one()
    created = lead.origin_key == entry.idempotency_key

    score = page.score(entry.answers)
    submission_id = session.execute(
        insert(Submission).values(
            idempotency_key=entry.idempotency_key,
            lead_id=lead.id,
            visitor_id=entry.visitor_id,
            page_slug=page.slug,
            locale=page.locale,
            score=score,
            quarantined=quarantined,
            quarantine_reason=entry.quarantine_reason,
            fill_seconds=entry.fill_seconds,
            created_at=now,
        )
    ).inserted_primary_key[0]
    session.execute(
        insert(Answer),
        [
            {
                "submission_id": submission_id,
                "lead_id": lead.id,
                "page_slug": page.slug,
                "question_id": question.id,
                "choice_id": entry.answers[question.id],
                "points": question.choice(entry.answers[question.id]).points,
            }
            for question in page.questions
        ],
    )
    session.execute(
        insert(Consent).values(
            lead_id=lead.id,
            submission_id=submission_id,
            page_slug=page.slug,
            purpose=page.consent.purpose,
            text_version=page.consent.version,
            text_hash=consent_hash(page.consent.text),
            text=page.consent.text,
            given_at=now,
        )
    )
    change = None
    if created:
        change = stages.record_change(
            session,
            lead.id,
            stages.VISITOR,
            stages.LEAD,
            reason=f"quiz on page {page.slug}",
            at=now,
        )
    if entry.visitor_id and not quarantined:
        session.execute(
            update(Visit)
            .where(Visit.visitor_id == entry.visitor_id, Visit.lead_id.is_(None))
            .values(lead_id=lead.id)
        )
    return Captured(submission_id, lead.id, created, False, quarantined, change)


def withdraw_consent(session: Session, lead_id: int) -> int:
    """Withdraw every consent the lead still has given; returns how many were open."""
    withdrawn = session.execute(
        update(Consent)
        .where(Consent.lead_id == lead_id, Consent.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow())
    ).rowcount
    session.commit()
    if withdrawn:
        log.info("lead %s withdrew consent", lead_id)
    return withdrawn


def consent_withdrawn(session: Session, lead_id: int) -> bool:
    """True when the lead has no consent left that was not withdrawn."""
    open_consent = session.scalar(
        select(Consent.id)
        .where(Consent.lead_id == lead_id, Consent.withdrawn_at.is_(None))
        .limit(1)
    )
    session.commit()
    return open_consent is None
