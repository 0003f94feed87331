"""Tables of the funnel. Every table is prefixed ``funnel_`` so it never collides
with a host's own tables; times are stored as naive UTC and read back as aware UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_funnel.db.types import ExactString, Id, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


metadata = Base.metadata


#: Each milestone and the column of the stage before it (see ``Lead``'s indexes).
STEP_TIME_INDEXES = (
    ("created_at", "mql"),
    ("reached_mql_at", "sal"),
    ("reached_sal_at", "sql"),
    ("reached_sql_at", "customer"),
    ("reached_customer_at", "repeat_customer"),
)


class Lead(Base):
    """One person, keyed by normalised email."""

    __tablename__ = "funnel_leads"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(ExactString(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(20), index=True)
    stage_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(16))
    landing_page: Mapped[str | None] = mapped_column(String(100), index=True)
    source: Mapped[str | None] = mapped_column(String(255))
    utm_source: Mapped[str | None] = mapped_column(String(255))
    utm_medium: Mapped[str | None] = mapped_column(String(255))
    utm_campaign: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(128))
    # Idempotency key of the submission that created the row: tells an upsert
    # that inserted from one that updated, on every database.
    origin_key: Mapped[str | None] = mapped_column(String(64))
    # The A/B test variant of the landing page the lead signed up on.
    variant: Mapped[str | None] = mapped_column(String(40))
    # The place rule of the page version the lead signed up on (None: the default).
    place_version: Mapped[str | None] = mapped_column(String(40))
    # How the lead's email was first obtained: "typed", "google" or "import".
    signup_method: Mapped[str | None] = mapped_column(String(10))
    # When a sign-in (Google) last vouched for the email; None while it was only typed.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the lead first reached each stage after ``lead`` (reaching a later stage
    # counts as passing the ones it skipped; moving back never clears them). The
    # funnel report counts these instead of replaying the stage history.
    reached_mql_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reached_sal_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reached_sql_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reached_customer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reached_repeat_customer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Covers the cohort funnel: leads created in a period and how far they got.
        Index(
            "ix_funnel_leads_cohort",
            "quarantined",
            "created_at",
            "reached_mql_at",
            "reached_sal_at",
            "reached_sql_at",
            "reached_customer_at",
            "reached_repeat_customer_at",
            # ... and its breakdowns.
            "landing_page",
            "variant",
            "country",
            "city",
            "source",
            "signup_method",
            "place_version",
        ),
        # Leads created per month: a narrow index is quicker to count through.
        Index("ix_funnel_leads_created", "quarantined", "created_at"),
        # The forecast's leads now at each stage.
        Index("ix_funnel_leads_open", "quarantined", "stage", "stage_changed_at"),
        # One per stage, for the count entering it per month, covering when the stage
        # before was reached (the time each step takes).
        *(
            Index(f"ix_funnel_leads_reached_{stage}", "quarantined", f"reached_{stage}_at", before)
            for before, stage in STEP_TIME_INDEXES
        ),
    )


class DailyCount(Base):
    """Real leads counted per UTC day, kept by database triggers on ``funnel_leads``
    (``db.daily_counts``) in the transaction that changes a lead, so reports add up a
    few hundred rows instead of counting a million index entries. ``kind`` says what is
    counted on ``day``:

    - ``entered``: leads that first reached ``stage`` that day (``lead``: were created);
    - ``cohort``: leads created that day that have reached ``stage`` by now;
    - ``current``: leads at ``stage`` now whose stage last changed that day.
    """

    __tablename__ = "funnel_daily_counts"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    leads: Mapped[int] = mapped_column(Integer)


class DailyLoss(Base):
    """Moves to ``lost`` of real leads per UTC day, stage lost from and reason (``""``
    for none), kept by database triggers on ``funnel_stage_changes`` and on the leads'
    quarantine (``db.daily_counts``): why leads are lost, over any period, from a few
    rows a day instead of every move."""

    __tablename__ = "funnel_daily_losses"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    from_stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(String(60), primary_key=True)
    moves: Mapped[int] = mapped_column(Integer)


class DailyVisitors(Base):
    """Visitors per UTC day they were first seen, page, variant, place version, source
    and country, and how many of them have signed up (``kind``: ``visitor`` or
    ``signedup``), kept by database triggers on ``funnel_visitors``
    (``db.daily_counts``): a period's visitors per group from a few thousand rows a day
    instead of every browser (17 million a year on a busy site). ``""`` stands for no
    variant, place version or country; suspected bots are never counted, and a browser
    is counted out while its submissions are quarantined."""

    __tablename__ = "funnel_daily_visitors"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    page_slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    variant: Mapped[str] = mapped_column(String(40), primary_key=True)
    place_version: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(255), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    visitors: Mapped[int] = mapped_column(Integer)


class DailySteps(Base):
    """Quiz steps reached per UTC day the browser was first seen, page and step: how
    many of a day's new browsers reached each step of the page they were first seen on
    (suspected bots and caught browsers left out), kept by database triggers on
    ``funnel_step_views`` and ``funnel_visitors`` (``db.daily_counts``): the quiz
    drop-off of a period from a few rows a day instead of joining every browser to
    every step."""

    __tablename__ = "funnel_daily_steps"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    page_slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    visitors: Mapped[int] = mapped_column(Integer)


class Visit(Base):
    """One landing page view by an anonymous visitor (and later, a lead)."""

    __tablename__ = "funnel_visits"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    visitor_id: Mapped[str] = mapped_column(String(32), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("funnel_leads.id"), index=True)
    page_slug: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    referrer: Mapped[str | None] = mapped_column(String(1000))
    source: Mapped[str] = mapped_column(String(255))
    utm_source: Mapped[str | None] = mapped_column(String(255))
    utm_medium: Mapped[str | None] = mapped_column(String(255))
    utm_campaign: Mapped[str | None] = mapped_column(String(255))
    utm_term: Mapped[str | None] = mapped_column(String(255))
    utm_content: Mapped[str | None] = mapped_column(String(255))
    device: Mapped[str] = mapped_column(String(10))
    country: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(128))
    ip: Mapped[str | None] = mapped_column(String(45))
    variant: Mapped[str | None] = mapped_column(String(40))
    # The place rule of the page version shown (None: the default).
    place_version: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        # Covers counting a page's unique visitors, per variant.
        Index("ix_funnel_visits_page", "page_slug", "at", "variant", "visitor_id", "device"),
        # The views older than the retention, for their deletion, and a period's views not
        # folded yet, for the report (``capture.view_retention``; why a btree, not BRIN).
        Index("ix_funnel_visits_at", "at"),
        # Ids are never handed out twice, even after the newest rows were deleted: the
        # fold's watermark (the highest id folded) relies on it. PostgreSQL's sequences
        # and MariaDB's AUTO_INCREMENT behave so anyway.
        {"sqlite_autoincrement": True},
    )


class DailyView(Base):
    """Page views per day of the report's time zone, page, variant, place version,
    source, device and country: the raw views (``Visit``) folded in by ``flask funnel
    fold-views`` (``capture.view_retention``) before they are deleted. ``""`` stands for
    no variant, place version or country. Suspected bots' views (``device = "bot"``)
    are never counted."""

    __tablename__ = "funnel_daily_views"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    page_slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    variant: Mapped[str] = mapped_column(String(40), primary_key=True)
    place_version: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(255), primary_key=True)
    device: Mapped[str] = mapped_column(String(10), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    views: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # The report's page views of a period, and per page, from this index alone (a
        # year at 50 million views is about two million rows).
        Index("ix_funnel_daily_views_page", "day", "page_slug", "views"),
    )


class Fold(Base):
    """How far the rows of a raw table have been folded into their daily counts: the
    highest id folded (every lower id is folded too), and the time zone whose days they
    were counted in. One row per table (``views``: ``funnel_visits``), made by the
    first fold."""

    __tablename__ = "funnel_folds"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_id: Mapped[int] = mapped_column(Id)
    zone: Mapped[str] = mapped_column(String(64))
    folded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Visitor(Base):
    """A browser (its visitor cookie) as first seen: when, on which page, variant and
    place version, from where; first seen by a landing view, a quiz step or a
    submission, whichever came first.

    The report's visitors are the ones first seen in a period, counted from this
    table's index rather than by finding the distinct ids among all visits. Left out
    of every count: a bot's user agent (``device = "bot"``) and a browser whose
    submissions were all quarantined (``quarantined``). ``lead_id`` is the lead of its
    first real submission: how many of a period's visitors signed up."""

    __tablename__ = "funnel_visitors"

    visitor_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    page_slug: Mapped[str] = mapped_column(String(100))
    variant: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(128))
    device: Mapped[str] = mapped_column(String(10))
    place_version: Mapped[str | None] = mapped_column(String(40))
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("funnel_leads.id"))

    __table_args__ = (
        Index(
            "ix_funnel_visitors_report",
            "first_seen_at",
            "device",
            "quarantined",
            "page_slug",
            "variant",
            "source",
            "country",
            "city",
            "place_version",
            "lead_id",
        ),
        Index("ix_funnel_visitors_lead_id", "lead_id"),
    )


class StepView(Base):
    """First time a visitor reached a quiz step (1..questions, then the contact step).
    Reaching a step means passing the ones before it: they are recorded too."""

    __tablename__ = "funnel_step_views"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    visitor_id: Mapped[str] = mapped_column(String(32))
    page_slug: Mapped[str] = mapped_column(String(100))
    step: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("page_slug", "step", "visitor_id", name="uq_funnel_step_views_visit"),
        # A page's visitors' steps, found from the visitors (analytics.quiz_dropoff).
        Index("ix_funnel_step_views_visitor", "visitor_id", "page_slug", "step"),
    )


class Submission(Base):
    """One completed quiz, stored once per idempotency key."""

    __tablename__ = "funnel_submissions"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(ExactString(64), unique=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("funnel_leads.id"), index=True)
    visitor_id: Mapped[str | None] = mapped_column(String(32), index=True)
    page_slug: Mapped[str] = mapped_column(String(100))
    locale: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer)
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False)
    quarantine_reason: Mapped[str | None] = mapped_column(String(50))
    fill_seconds: Mapped[float | None] = mapped_column(Float)
    # "typed" or "google": how the email of this submission was given.
    signup_method: Mapped[str | None] = mapped_column(String(10))
    # The sign-in that vouched for the email, when there was one.
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("funnel_identities.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_funnel_submissions_page_slug_created_at", "page_slug", "created_at"),
    )


class Answer(Base):
    """One chosen answer of a submission (a row each, so answers can be counted)."""

    __tablename__ = "funnel_answers"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("funnel_submissions.id"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("funnel_leads.id"))
    page_slug: Mapped[str] = mapped_column(String(100))
    question_id: Mapped[str] = mapped_column(String(64))
    choice_id: Mapped[str] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_funnel_answers_question", "page_slug", "question_id", "choice_id"),)


class Consent(Base):
    """Consent as given: the exact text's version and hash, when, where, for what."""

    __tablename__ = "funnel_consents"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("funnel_leads.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("funnel_submissions.id"))
    page_slug: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(100))
    text_version: Mapped[str] = mapped_column(String(50))
    text_hash: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StageChange(Base):
    """A lead moving between stages; the funnel report is computed from these rows."""

    __tablename__ = "funnel_stage_changes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("funnel_leads.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(500))
    # Why a lead was lost, one of FUNNEL_LOST_REASONS (moves to lost only).
    lost_reason: Mapped[str | None] = mapped_column(String(60))

    __table_args__ = (
        # Moves to a stage in a period, and (covered) where from and why: lost leads.
        Index(
            "ix_funnel_stage_changes_to_stage_at",
            "to_stage",
            "at",
            "from_stage",
            "lost_reason",
            "lead_id",
        ),
    )


class Purchase(Base):
    """A sale to a lead; the first makes a customer, the second a repeat customer."""

    __tablename__ = "funnel_purchases"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("funnel_leads.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The shop's order reference: the same reference is never counted twice.
    reference: Mapped[str | None] = mapped_column(ExactString(100), unique=True)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Note(Base):
    __tablename__ = "funnel_notes"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("funnel_leads.id"), index=True)
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FollowUp(Base):
    """A reminder to contact a lead by a date; open until marked done."""

    __tablename__ = "funnel_follow_ups"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("funnel_leads.id"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_funnel_follow_ups_open", "done_at", "due_at"),)


class Admin(Base):
    """A local admin account (hosts may also let their own users in: see admin.py)."""

    __tablename__ = "funnel_admins"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(ExactString(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Raised on sign-out and password change: older session cookies stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language of the admin area for this admin (None: English, the source language).
    locale: Mapped[str | None] = mapped_column(String(16))


class AuditEntry(Base):
    """Who did what: sign-ins (and failures), stage changes, exports, imports, deletions."""

    __tablename__ = "funnel_audit"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40))
    lead_id: Mapped[int | None] = mapped_column(Id)
    detail: Mapped[str | None] = mapped_column(String(1000))
    ip: Mapped[str | None] = mapped_column(String(45))

    __table_args__ = (Index("ix_funnel_audit_action_at", "action", "at"),)


class OutboxMessage(Base):
    """Something to tell another system (a webhook event for one endpoint), written in
    the transaction that made it happen and sent by ``flask funnel deliver``: never lost,
    never blocking the visitor, sent at least once (``leads.outbox``)."""

    __tablename__ = "funnel_outbox"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    #: The event's id, the same for every endpoint: receivers drop what they have seen.
    event_id: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(40))
    #: Where it goes: ``webhook:<endpoint name>``.
    target: Mapped[str] = mapped_column(String(60))
    #: The lead it is about (its messages are dropped when the lead is erased).
    lead_id: Mapped[int | None] = mapped_column(Id)
    body: Mapped[str | None] = mapped_column(Text)
    #: pending, delivered, failed (gave up) or dropped (its lead was erased).
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: A worker sending it holds it until then (one that died lets it go), by this token.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_funnel_outbox_due", "state", "next_attempt_at"),
        Index("ix_funnel_outbox_lead", "lead_id"),
        Index("ix_funnel_outbox_created", "created_at"),
    )


class WebhookEndpointRow(Base):
    """A webhook endpoint an admin added in the admin area (``FUNNEL_WEBHOOKS`` holds
    the configured ones); its secret signs what it is sent, so it is kept as given."""

    __tablename__ = "funnel_webhook_endpoints"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    #: The events it wants, comma-separated.
    events: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(254))


class LeadTerm(Base):
    """A word of a lead's name, or a domain of its email marked with ``@``
    (``@example.org``), lower-cased: what search looks up by prefix (``leads.name_terms``).

    It carries the lead's creation time, so a search can order its matches by it from
    this table's index alone."""

    __tablename__ = "funnel_lead_terms"

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    lead_id: Mapped[int] = mapped_column(
        ForeignKey("funnel_leads.id"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_funnel_lead_terms_term_created", "term", "created_at", "lead_id"),)


class Identity(Base):
    """A sign-in identity (an OpenID Connect issuer and subject, e.g. a Google account)
    linked to a lead: a later sign-in with the same account finds the same lead, even
    after its email changed. ``linked_how`` records the merge: ``new_lead`` (the sign-in
    made the lead) or ``existing_email`` (it joined a lead that had typed that email)."""

    __tablename__ = "funnel_identities"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("funnel_leads.id"), index=True)
    issuer: Mapped[str] = mapped_column(ExactString(255))
    subject: Mapped[str] = mapped_column(ExactString(255))
    # The verified email the provider gave when the identity was linked.
    email: Mapped[str] = mapped_column(ExactString(254))
    linked_how: Mapped[str] = mapped_column(String(20))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_funnel_identities_subject"),)


class PendingSignIn(Base):
    """A sign-in under way (state, nonce, PKCE verifier, where to return), kept here
    rather than in the session cookie so abandoned attempts cannot grow it."""

    __tablename__ = "funnel_pending_sign_ins"

    key: Mapped[str] = mapped_column(ExactString(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


@event.listens_for(metadata, "after_create")
def _keep_daily_counts(_metadata, connection, **_kw) -> None:
    """``create_all`` installs the triggers of the daily counts, losses, visitors and
    steps as well."""
    from flask_funnel.db import daily_counts  # it builds on the tables above

    daily_counts.install(connection)
    daily_counts.install_losses(connection)
    daily_counts.install_visitor_groups(connection)
    daily_counts.install_step_counts(connection)
