"""Fill a new database with a realistic funnel history, for performance work on the admin
leads list, the lead page and the funnel report.

    .venv/bin/python bench/generate_leads.py --database /tmp/funnel-1m.sqlite3
    .venv/bin/python bench/generate_leads.py --database /tmp/quick.sqlite3 --leads 20000
    .venv/bin/python bench/generate_leads.py --url postgresql+psycopg:///funnel --seed 7

--database (SQLite) must not exist yet; a --url database must hold no leads. The schema
comes from the real migrations (``flask db upgrade``); rows go through the models'
tables with SQLAlchemy Core (on PostgreSQL with COPY), one transaction per --batch
leads. A seed gives the same rows again, except that times are placed relative to the
moment of the run. Run ``ANALYZE`` afterwards (on PostgreSQL ``VACUUM ANALYZE``, which
also lets the report's index-only scans skip the table).

What a run makes, per lead on average (it prints the actual counts):
- leads over --months ending now, three times as many in the last month as in the
  first; 85% from page home-brewing (en), 15% from qahve-dam (fa); 1% quarantined (bot
  signals), which stay at ``lead``. Emails are ``lead{id}@example.com``. 30% of the
  real ones signed up with Google (``signup_method`` google, the email verified, an
  identity row linked as ``new_lead``), the others typed their email.
- visits: ~2 of the lead's browser (earlier visits, the first giving the lead its source
  and UTM tags, then the quiz visit), and ~1 of anonymous visitors (bots among them).
- submissions with answers and consent: one each, a second for 5% (quiz taken again);
  3% of consents later withdrawn. Answers score below the page's mql threshold unless
  the quiz made the lead mql, as capture would have done.
- ~5 stage changes: visitor -> lead at created_at for every lead. The funnel: 5% reach
  mql (a third at once by quiz score, the rest 1-21 days later by an admin), 50% of those
  sal, 50% of those sql, 25% of those customer (first purchase) and 30% of customers
  repeat_customer (second purchase, maybe more after). 10% of moves up from lead or mql
  skip a stage; every sal lead bounces sal -> mql -> sal ~2.5 times (handed back to
  nurturing, accepted again); 20% of sql leads go back to mql and up again; 45% of
  leads that stop before customer end lost. Churn, most of the rows: the 95% who never
  qualify go dormant and come back (lead -> lost -> lead) ~1.9 times (at most once per
  60 days of age), and 19% of them end lost. Moves are days to weeks apart; a journey
  that would reach past now stops there, so recent leads are early on.
- purchases of customers (unique references), notes on most qualified leads and 1% of
  the others, follow-ups on half the admins' moves (mostly done, some open or overdue).
- search terms (the words of the name, the domain of the email) of every lead that is not
  quarantined, as capture indexes them, so the leads list's search finds them.

--dormancy-days sets how often a lead may go dormant and come back (at most once per
that many days of age): bench/year.py passes 30, so that one year of history has the 5
stage changes a lead that two years have with the default 60.

Ids are in time order within a batch, and batches follow the leads' creation.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import subprocess
import sys
import time
import tomllib
from bisect import bisect
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from itertools import accumulate, count, product
from pathlib import Path

from sqlalchemy import create_engine, event, func, insert, select, text

from flask_funnel.capture.consent import consent_hash
from flask_funnel.db import daily_counts
from flask_funnel.db import models as m
from flask_funnel.leads import stages
from flask_funnel.leads.name_terms import lead_terms

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DAY = 86400.0
ROWS_PER_INSERT = 50_000
LEADS, SUBMISSIONS, ANSWERS = m.Lead.__table__, m.Submission.__table__, m.Answer.__table__
CONSENTS, VISITS, CHANGES = m.Consent.__table__, m.Visit.__table__, m.StageChange.__table__
PURCHASES, NOTES, FOLLOW_UPS = m.Purchase.__table__, m.Note.__table__, m.FollowUp.__table__
VISITORS, IDENTITIES, TERMS = m.Visitor.__table__, m.Identity.__table__, m.LeadTerm.__table__
# In the order they are written: leads and submissions before the rows that point at them.
TABLES = [
    LEADS, IDENTITIES, SUBMISSIONS, ANSWERS, CONSENTS, VISITS, VISITORS, CHANGES, PURCHASES,
    NOTES, FOLLOW_UPS, TERMS,
]  # fmt: skip
LADDER = LEAD, MQL, SAL, SQL, CUSTOMER, REPEAT_CUSTOMER = stages.FUNNEL_ORDER[1:]
VISITOR, LOST, SYSTEM = stages.VISITOR, stages.LOST, stages.SYSTEM
GOOGLE = 0.3  # share of the real leads who sign up with Google rather than typing
GOOGLE_ISSUER = "https://accounts.google.com"
REACH = (0.05, 0.5, 0.5, 0.25, 0.3)  # share of each rung's leads that reach the next one
DAYS = {MQL: (1, 21), SAL: (1, 14), SQL: (3, 21), CUSTOMER: (7, 45), REPEAT_CUSTOMER: (20, 120)}
DAYS[LOST] = (7, 60)  # how many days a move to each stage takes (back and forth too)
DORMANCY_CYCLES = 3.8  # mean of the exponential draw, before the once-per-60-days cap
DORMANCY_DAYS = 60  # ... the default of that cap (--dormancy-days)
ADMINS = ("anna@beanandbloom.example", "omid@beanandbloom.example", "jo@beanandbloom.example")
REASONS = {
    MQL: ("opened five newsletters in a row", "asked about wholesale beans", "booked a tasting"),
    SAL: ("accepted by sales", "called in, ready to talk", "qualified on a discovery call"),
    SQL: ("call booked", "asked for an office quote", "trial pack sent"),
    LOST: ("no budget", "went with another roaster", "unreachable", "not interested any more"),
}
NOTE_BODIES = ("Prefers email.", "Asked for decaf options.", "Runs a small café.", "Call back.")
CURRENCIES = {"US": "USD", "GB": "GBP", "CA": "CAD", "AU": "AUD"}  # others EUR
dt = partial(datetime.fromtimestamp, tz=UTC)
VISITOR_KEYS = ("visitor_id", "page_slug", "variant", "source", "country", "city", "device")
MILESTONES_UNSET = {stages.reached_column(m): None for m in stages.MILESTONES}
hex32 = "{:032x}".format


class Weighted:
    """Draws the keys of ``{value: weight}`` by weight."""

    def __init__(self, weights: dict) -> None:
        self.values, self.cum = list(weights), list(accumulate(weights.values()))

    def __call__(self, rng: random.Random):
        return self.values[bisect(self.cum, rng.random() * self.cum[-1])]


DIRECT = ("direct", None, None, None, None)  # source, referrer, utm_source, _medium, _campaign
SOURCES = Weighted({
    ("google.com", "https://www.google.com/", None, None, None): 34, DIRECT: 20,
    ("newsletter", None, "newsletter", "email", "weekly-tips"): 12,
    ("instagram", "https://l.instagram.com/", "instagram", "social", "brew-quiz"): 12,
    ("facebook.com", "https://m.facebook.com/", None, None, None): 7,
    ("bing.com", "https://www.bing.com/", None, None, None): 4,
    ("pinterest", "https://www.pinterest.com/", "pinterest", "social", "brew-quiz"): 4,
    ("duckduckgo.com", "https://duckduckgo.com/", None, None, None): 3,
    ("youtube.com", "https://www.youtube.com/", None, None, None): 2,
    ("reddit.com", "https://www.reddit.com/", None, None, None): 2,
})  # fmt: skip
DEVICES = Weighted({"mobile": 62, "desktop": 32, "tablet": 6})
QUARANTINE = Weighted({"too_fast": 70, "honeypot": 25, "no_start_time": 5})
PLACES = {
    "home-brewing": Weighted({
        ("US", "New York"): 9, ("US", "Seattle"): 5, ("US", "Austin"): 4, ("US", None): 4,
        ("GB", "London"): 9, ("GB", "Manchester"): 3, ("DE", "Berlin"): 7, ("DE", "Munich"): 3,
        ("NL", "Amsterdam"): 5, ("SE", "Stockholm"): 3, ("IE", "Dublin"): 3, ("FR", "Paris"): 3,
        ("CA", "Toronto"): 4, ("AU", "Melbourne"): 4, (None, None): 3,
    }),
    "qahve-dam": Weighted({
        ("IR", "Tehran"): 30, ("IR", "Isfahan"): 8, ("IR", "Mashhad"): 6, ("IR", "Shiraz"): 5,
        ("DE", "Berlin"): 8, ("US", "Los Angeles"): 10, ("CA", "Toronto"): 8, ("AE", "Dubai"): 6,
        ("TR", "Istanbul"): 5, ("GB", "London"): 5, (None, None): 3,
    }),
}  # fmt: skip
NAMES = {
    "en": (("Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Jonas", "Sofia", "Sam"),
           ("Smith", "Jones", "Brown", "Müller", "de Vries", "Walsh", "Martin", "Lee", "Berg")),
    "fa": (("سارا", "علی", "مریم", "رضا", "زهرا", "امیر", "نگار", "حسین"),
           ("احمدی", "حسینی", "کریمی", "رحیمی", "مرادی", "تهرانی")),
}  # fmt: skip


@dataclass(frozen=True, eq=False)  # hashed by identity
class Page:
    slug: str
    locale: str
    threshold: int
    consent: dict  # the columns of its consent rows that come from the page
    low: Weighted  # (answers, score) scoring below the mql threshold
    high: Weighted  # ... and at or above it
    variants: tuple[str, ...]  # ids of its A/B test's variants, if it runs one

    @classmethod
    def load(cls, slug: str) -> Page:
        page = tomllib.loads((ROOT / "landing" / "pages" / f"{slug}.toml").read_text("utf-8"))
        questions = [
            [(q["id"], c["id"], c["points"]) for c in q["choices"]] for q in page["questions"]
        ]
        scored = [(answers, sum(a[2] for a in answers)) for answers in product(*questions)]
        threshold, consent = page["mql_threshold"], page["consent"]
        consent = {"page_slug": slug, "purpose": consent["purpose"], "text": consent["text"],
                   "text_version": consent["version"],
                   "text_hash": consent_hash(consent["text"])}  # fmt: skip
        return cls(slug, page["locale"], threshold, consent,
                   Weighted({s: 1 for s in scored if s[1] < threshold}),
                   Weighted({s: 1 for s in scored if s[1] >= threshold}),
                   tuple(v["id"] for v in page.get("variants", ())))  # fmt: skip


class Funnel:
    """Makes the rows of one batch of leads at a time; ids run on across batches."""

    def __init__(self, args: argparse.Namespace, now: datetime) -> None:
        self.rng = random.Random(args.seed)
        self.total, self.now = args.leads, now.timestamp()
        self.span = args.months * 30.44 * DAY
        self.dormancy_days = getattr(args, "dormancy_days", DORMANCY_DAYS)
        self.start = self.now - self.span
        self.pages = Weighted({Page.load("home-brewing"): 85, Page.load("qahve-dam"): 15})
        self.submission_ids, self.orders = count(1), count(100_001)
        self.identity_ids = count(1)
        self.stages: Counter[str] = Counter()
        self.caught: set[str] = set()  # browsers whose submissions were quarantined

    def batch(self, first: int, size: int) -> dict:
        rng, self.rows = self.rng, {table: [] for table in TABLES}
        start, end = self.created(first) - DAY, self.created(first + size)
        for lead_id in range(first, first + size):
            self.lead(lead_id)
        for _ in range(int(0.7 * size)):  # anonymous visitors who never converted
            page = self.pages(rng)
            visitor = self.visitor(page, bot=rng.random() < 0.04, lead=False)
            at = rng.uniform(start, end)
            for _ in range(1 + self.geometric(0.3)):
                self.visit(visitor, None, page.slug, at)
                at = min(self.now, at + rng.uniform(0.01, 7) * DAY)
        for table in (VISITS, CHANGES):  # time order, as a live database would have them
            self.rows[table].sort(key=lambda row: row["at"])
        first_seen = {}  # each visitor as their first visit saw them (record_visits)
        for visit in self.rows[VISITS]:
            first_seen.setdefault(visit["visitor_id"], visit)
        self.rows[VISITORS] = [
            {
                "first_seen_at": visit["at"],
                **{key: visit[key] for key in VISITOR_KEYS},
                "lead_id": visit["lead_id"],  # who signed up (the visits are linked to it)
                "quarantined": visit["visitor_id"] in self.caught,
            }
            for visit in first_seen.values()
        ]
        return self.rows

    def created(self, lead_id: int) -> float:
        """Creation times in id order, their density rising linearly to 3x."""
        u = min(1.0, (lead_id - 1 + self.rng.random()) / self.total)
        return self.start + self.span * ((1 + 8 * u) ** 0.5 - 1) / 2

    def lead(self, lead_id: int) -> None:
        rng, rows, page, created = self.rng, self.rows, self.pages(self.rng), self.created(lead_id)
        quarantine = QUARANTINE(rng) if rng.random() < 0.01 else None
        visitor, linked = self.visitor(page), None if quarantine else lead_id  # as capture links
        if quarantine:
            self.caught.add(visitor[0])
        country, city = visitor[3]
        reached = {}  # when the lead first reached each milestone, as capture keeps it
        times = sorted(created - rng.uniform(0.05, 21) * DAY for _ in range(self.geometric(0.5)))
        times.append(created - rng.uniform(30, 600))  # the quiz visit
        source, *_ = [self.visit(visitor, linked, page.slug, at) for at in times]  # first touch
        moves, answers, top = self.journey(lead_id, created, page, country, quarantine)
        identity = None  # bots type
        if not quarantine and rng.random() < GOOGLE:
            identity = {
                "id": next(self.identity_ids), "lead_id": lead_id, "issuer": GOOGLE_ISSUER,
                "subject": str(rng.randrange(10**20, 10**21)),
                "email": f"lead{lead_id}@example.com", "linked_how": "new_lead",
                "linked_at": dt(created), "last_seen_at": dt(created),
            }  # fmt: skip
            rows[IDENTITIES].append(identity)
        identity_id = identity and identity["id"]
        key = self.submission(lead_id, visitor, page, created, answers, quarantine, identity_id)
        updated = created
        if rng.random() < 0.05 and (again := created + rng.uniform(1, 60) * DAY) < self.now:
            self.visit(visitor, linked, page.slug, again - rng.uniform(30, 600))
            self.submission(lead_id, visitor, page, again, None, quarantine, identity_id)
            updated = again
            if identity:
                identity["last_seen_at"] = dt(again)  # signed in again
        first_names, last_names = NAMES[page.locale]
        name = f"{rng.choice(first_names)} {rng.choice(last_names)}"
        stage, changed = moves[-1][:2]
        for to_stage, at, *_ in moves:
            for milestone in stages.passed(to_stage):
                reached.setdefault(stages.reached_column(milestone), dt(at))
        self.stages[stage] += 1
        rows[LEADS].append({
            "id": lead_id, "email": f"lead{lead_id}@example.com", "stage": stage,
            "name": name if rng.random() < 0.85 else None, "stage_changed_at": dt(changed),
            "quarantined": quarantine is not None, "locale": page.locale,
            "landing_page": page.slug, "source": source[0], "utm_source": source[2],
            "utm_medium": source[3], "utm_campaign": source[4], "country": country,
            "city": city, "origin_key": key, "created_at": dt(created), "updated_at": dt(updated),
            "variant": visitor[4], "signup_method": "google" if identity else "typed",
            "email_verified_at": dt(updated) if identity else None, **MILESTONES_UNSET, **reached,
        })  # fmt: skip
        if not quarantine:  # as capture indexes a real lead (name_terms.add_terms)
            lead = rows[LEADS][-1]
            rows[TERMS] += [
                {"term": term, "lead_id": lead_id, "created_at": lead["created_at"]}
                for term in lead_terms(lead["name"], lead["email"])
            ]
        previous = VISITOR
        for to_stage, at, actor, reason in moves:
            rows[CHANGES].append({
                "lead_id": lead_id, "from_stage": previous, "to_stage": to_stage, "at": dt(at),
                "actor": actor, "reason": reason,
            })  # fmt: skip
            previous = to_stage
            if actor != SYSTEM and rng.random() < 0.5:  # a follow-up, mostly done by now
                done = at + rng.uniform(0.5, 16) * DAY
                rows[FOLLOW_UPS].append({
                    "lead_id": lead_id, "due_at": dt(at + rng.uniform(2, 14) * DAY),
                    "note": "Call back", "created_by": actor, "created_at": dt(at),
                    "done_at": dt(done) if done < self.now and rng.random() < 0.9 else None,
                })  # fmt: skip
        for _ in range(rng.randint(1, 3) if rng.random() < (0.7 if top else 0.01) else 0):
            rows[NOTES].append({
                "lead_id": lead_id, "author": rng.choice(ADMINS), "body": rng.choice(NOTE_BODIES),
                "created_at": dt(rng.uniform(created, min(self.now, changed + 30 * DAY))),
            })  # fmt: skip

    def journey(self, lead_id, created, page, country, quarantine) -> tuple[list, tuple, int]:
        """The moves from visitor -> lead on (and purchases), the answers if the quiz made
        the lead mql, and the highest rung of LADDER it reached."""
        rng, top = self.rng, 0
        moves = [(LEAD, created, SYSTEM, f"quiz on page {page.slug}")]
        while not quarantine and top < len(REACH) and rng.random() < REACH[top]:
            top += 1
        if not top:
            return moves + ([] if quarantine else list(self.dormancy(created))), None, 0
        answers, t, level, stage = None, created, 0, LEAD

        def move(stage: str, actor: str | None = None, reason: str | None = None) -> None:
            nonlocal t
            t += rng.uniform(*DAYS[stage]) * DAY
            actor, reason = actor or rng.choice(ADMINS), reason or rng.choice(REASONS[stage])
            moves.append((stage, t, actor, reason))

        def purchase() -> str:
            reference = f"BB-{next(self.orders)}"
            if t < self.now:
                self.rows[PURCHASES].append({
                    "lead_id": lead_id, "amount": Decimal(rng.randrange(900, 18000)) / 100,
                    "currency": CURRENCIES.get(country, "EUR"), "at": dt(t),
                    "reference": reference, "recorded_by": "shop", "created_at": dt(t + 2),
                })  # fmt: skip
            return reference

        while level < top:
            level += 1 + (level < 2 and level + 1 < top and rng.random() < 0.1)  # skip a rung
            stage = LADDER[level]
            if stage == MQL and rng.random() < 1 / 3:
                answers = page.high(rng)
                reason = f"quiz score {answers[1]} reached {page.threshold} on page {page.slug}"
                moves.append((MQL, t, SYSTEM, reason))
            elif stage in (CUSTOMER, REPEAT_CUSTOMER):
                t += rng.uniform(*DAYS[stage]) * DAY
                moves.append((stage, t, SYSTEM, f"purchase {purchase()}"))
            else:
                move(stage)
            for _ in range(int(rng.expovariate(1 / 3)) if stage == SAL else 0):
                move(MQL, reason="not ready yet, back to nurturing")
                move(SAL, reason="accepted again after a tasting")
            if stage == SQL and rng.random() < 0.2:
                move(MQL, reason="budget frozen until next quarter")
                move(SQL, reason="budget approved")
        while stage == REPEAT_CUSTOMER and rng.random() < 0.5:
            t += rng.uniform(20, 120) * DAY
            purchase()
        if level < LADDER.index(CUSTOMER) and rng.random() < 0.45:
            move(LOST)
        return [step for step in moves if step[1] < self.now], answers, top

    def dormancy(self, created: float) -> Iterator[tuple]:
        """lead -> lost -> lead cycles spread over the lead's life, maybe ending lost."""
        rng, age = self.rng, self.now - created
        cycles = min(
            int(rng.expovariate(1 / DORMANCY_CYCLES)), int(age / (self.dormancy_days * DAY))
        )
        moves = 2 * cycles + (age > 14 * DAY and rng.random() < 0.19)
        gap = min(7 * DAY, (age - DAY) / (moves + 1))
        room = age - DAY - moves * gap
        for n, point in enumerate(sorted(rng.random() for _ in range(moves))):
            at = created + DAY + point * room + n * gap  # at least `gap` apart, before now
            if n % 2:
                yield LEAD, at, SYSTEM, "came back: new visit"
            elif n == moves - 1:
                yield LOST, at, rng.choice(ADMINS), rng.choice(REASONS[LOST])
            else:
                yield LOST, at, SYSTEM, "no opens or visits for weeks"

    def visitor(self, page: Page, bot: bool = False, lead: bool = True) -> tuple:
        """A browser: its id, device, address (/24, as stored), place and variant. Variant
        b converts a little better: it gets fewer of the visitors who never sign up."""
        rng = self.rng
        ip = f"{rng.randrange(11, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.0"
        device = "bot" if bot else DEVICES(rng)
        variant = None
        if page.variants:
            variant = page.variants[rng.random() < (0.5 if lead else 0.47)]
        return hex32(rng.getrandbits(128)), device, ip, PLACES[page.slug](rng), variant

    def visit(self, visitor: tuple, lead_id: int | None, slug: str, at: float) -> tuple:
        visitor_id, device, ip, (country, city), variant = visitor
        source = SOURCES(self.rng) if device != "bot" else DIRECT
        self.rows[VISITS].append({
            "visitor_id": visitor_id, "lead_id": lead_id, "page_slug": slug, "at": dt(at),
            "referrer": source[1], "source": source[0], "utm_source": source[2],
            "utm_medium": source[3], "utm_campaign": source[4], "utm_term": None,
            "utm_content": None, "device": device, "country": country, "city": city, "ip": ip,
            "variant": variant,
        })  # fmt: skip
        return source

    def submission(self, lead_id, visitor, page, at, answers, quarantine, identity) -> str:
        rng, rows, sid = self.rng, self.rows, next(self.submission_ids)
        choices, score = answers or page.low(rng)
        key, fill = hex32(rng.getrandbits(128)), max(3.1, rng.lognormvariate(3.2, 0.5))
        if quarantine in ("too_fast", "no_start_time"):
            fill = rng.uniform(0.4, 2.9) if quarantine == "too_fast" else None
        rows[SUBMISSIONS].append({
            "id": sid, "idempotency_key": key, "lead_id": lead_id, "visitor_id": visitor[0],
            "page_slug": page.slug, "locale": page.locale, "score": score,
            "quarantined": quarantine is not None, "quarantine_reason": quarantine,
            "fill_seconds": fill, "signup_method": "google" if identity else "typed",
            "identity_id": identity, "created_at": dt(at),
        })  # fmt: skip
        rows[ANSWERS] += [
            {"submission_id": sid, "lead_id": lead_id, "page_slug": page.slug,
             "question_id": question, "choice_id": choice, "points": points}
            for question, choice, points in choices
        ]  # fmt: skip
        withdrawn = rng.uniform(at, self.now) if rng.random() < 0.03 else None
        rows[CONSENTS].append({
            **page.consent, "lead_id": lead_id, "submission_id": sid, "given_at": dt(at),
            "withdrawn_at": withdrawn and dt(withdrawn),
        })  # fmt: skip
        return key

    def geometric(self, p: float) -> int:
        n = 0
        while self.rng.random() < p:
            n += 1
        return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--database", type=Path, help="a new SQLite file to create")
    target.add_argument("--url", help="a SQLAlchemy URL of a database without leads")
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24, help="history length, ending now")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=10_000, help="leads per transaction")
    parser.add_argument(
        "--dormancy-days", type=int, default=DORMANCY_DAYS, help="days of age per dormancy"
    )
    args = parser.parse_args()
    if args.database and args.database.exists():
        sys.exit(f"{args.database} exists; give a new path")
    url = args.url or f"sqlite:///{args.database.resolve()}"

    started = time.monotonic()
    env = os.environ | {"SQLALCHEMY_DATABASE_URI": url, "FLASK_APP": "landing"}
    env["SECRET_KEY"] = secrets.token_hex(32)
    migrate = [BIN / "flask", "db", "upgrade"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, capture_output=True)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", fast_sqlite)
    with engine.connect() as connection:
        if connection.scalar(select(func.count()).select_from(LEADS)):
            sys.exit("the database already holds leads; give an empty one")

    # A bulk load counts the leads once at the end, not one trigger call per row.
    with engine.begin() as connection:
        daily_counts.uninstall(connection)

    funnel = Funnel(args, datetime.now(UTC))
    print(f"migrated in {time.monotonic() - started:.1f} s; generating {args.leads:,} leads")
    counts = fill(engine, funnel, args.leads, args.batch, started)
    with engine.begin() as connection:
        daily_counts.install(connection)
    engine.dispose()  # on SQLite the last connection to close folds the WAL into the file

    elapsed, total = time.monotonic() - started, counts.total()
    for table in TABLES:
        print(f"{table.name:<22}{counts[table.name]:>12,}")
    print(f"{'total':<22}{total:>12,}")
    print("leads by stage:", ", ".join(f"{s} {n:,}" for s, n in funnel.stages.most_common()))
    size = f", {args.database.stat().st_size / 2**20:,.0f} MiB" if args.database else ""
    print(f"{elapsed:.1f} s ({total / elapsed:,.0f} rows/s, migrations included){size}")


def fill(engine, funnel: Funnel, leads: int, batch: int, started: float) -> Counter:
    """Write ``leads`` leads made by ``funnel`` and everything about them, one
    transaction per ``batch`` leads, printing the progress every 5%; the rows written
    per table's name. The triggers of the daily counts are the caller's to manage."""
    counts = Counter()
    for first in range(1, leads + 1, batch):
        rows = funnel.batch(first, min(batch, leads + 1 - first))
        with engine.begin() as connection:
            for table, table_rows in rows.items():
                write(connection, table, table_rows)
        counts.update({table.name: len(table_rows) for table, table_rows in rows.items()})
        done, elapsed, total = (
            first + len(rows[LEADS]) - 1,
            time.monotonic() - started,
            counts.total(),
        )
        if done * 20 // leads > (first - 1) * 20 // leads:  # every 5%
            print(f"{done:>11,} leads {total:>12,} rows {elapsed:7.1f} s {total / elapsed:8,.0f}/s")
    if engine.dialect.name == "postgresql":  # explicit ids leave the sequences behind
        with engine.begin() as connection:
            for name in (LEADS.name, SUBMISSIONS.name, IDENTITIES.name):
                sequence = f"pg_get_serial_sequence('{name}', 'id')"
                connection.execute(text(f"SELECT setval({sequence}, (SELECT max(id) FROM {name}))"))
    return counts


def write(connection, table, rows: list[dict]) -> None:
    """Insert ``rows`` into ``table``: with COPY on PostgreSQL (an executemany there stores
    about 5,000 rows a second), else with executemany in large batches."""
    if connection.dialect.name != "postgresql":
        for at in range(0, len(rows), ROWS_PER_INSERT):
            connection.execute(insert(table), rows[at : at + ROWS_PER_INSERT])
        return
    if not rows:
        return
    names = list(rows[0])
    # Each value as an insert would bind it (UTCDateTime stores naive UTC).
    processors = [
        (index, processor)
        for index, name in enumerate(names)
        if (processor := table.c[name].type.bind_processor(connection.dialect)) is not None
    ]
    quote = connection.dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    copy_in = f"COPY {quote(table.name)} ({columns}) FROM STDIN"
    with connection.connection.cursor() as cursor, cursor.copy(copy_in) as copy:
        for row in rows:
            values = [row[name] for name in names]
            for index, processor in processors:
                values[index] = processor(values[index])
            copy.write_row(values)


def fast_sqlite(dbapi_connection, _record) -> None:
    """For generation only: no fsync and a big page cache. WAL stays, as the app uses it."""
    for pragma in ("journal_mode=WAL", "synchronous=OFF", "cache_size=-1000000"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


if __name__ == "__main__":
    main()
