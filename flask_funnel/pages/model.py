"""A landing page as its file describes it: immutable values the views render."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Choice:
    id: str
    label: str
    points: int
    image: str | None = None


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    choices: tuple[Choice, ...]
    help: str | None = None

    def choice(self, choice_id: str | None) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)


@dataclass(frozen=True)
class Hero:
    headline: str
    body: str
    cta: str
    image: str | None = None
    image_alt: str = ""


#: A text (or image, file, version) of a page a locale or a place rule gives, as a path:
#: ``("title",)``, ``("hero", "headline")``, ``("offer", "code")``, ``("consent",
#: "version")``, ``("questions", "style", "text")``, ``("questions", "style", "choices",
#: "black")``, ``("outcomes", 5, "headline")`` (by min_score), ``("variants", "b", "cta")``.
FieldPath = tuple[str | int, ...]
#: Field paths and their new values, in file order.
Changes = tuple[tuple[FieldPath, str], ...]


@dataclass(frozen=True)
class Variant:
    """One version of the page in an A/B test (``[[variants]]``): field changes made on
    top of the visitor's place and locale version. Any part of the page can change: the
    hero, the offer (its texts and its file, link or code), the consent wording (with a
    version of its own), the questions' texts and the choices' labels and images (paths
    ``("questions", id, "choices", choice)`` and ``("questions", id, "images", choice)``).
    On a version of the page the texts are in the version's locale."""

    id: str
    weight: int
    changes: Changes = ()


@dataclass(frozen=True)
class PageTexts:
    """The page in another locale (``[locales.<code>]``): every text it shows, translated."""

    locale: str
    changes: Changes


#: Levels of a place rule, most specific first: a more specific rule wins field by field.
PLACE_LEVELS = ("city", "region", "country", "continent")


@dataclass(frozen=True)
class PlaceRule:
    """A version of the page for visitors in some places (``[[places]]``).

    ``keys`` are what the rule matches at its ``level``: ``"GB/london"`` (country and
    case-folded city), ``"GB-ENG"`` (ISO 3166-2), ``"IR"`` (ISO 3166-1) or ``"EU"``.
    ``locale`` switches the visitor to one of the page's locales; ``changes`` are in
    the locale the rule's visitors read (see ``pages.versions``)."""

    id: str
    number: int  # its place in the file, from 1: places[number]
    level: str
    keys: frozenset[str]
    locale: str | None
    changes: Changes

    def matches(self, keys: dict[str, str | None]) -> bool:
        """True for a visitor whose place gives ``keys`` (level -> key, see ``place_keys``)."""
        return keys.get(self.level) in self.keys


@dataclass(frozen=True)
class Offer:
    kind: str
    title: str
    description: str = ""
    button: str | None = None
    file: str | None = None
    url: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Consent:
    text: str
    version: str
    purpose: str


@dataclass(frozen=True)
class Outcome:
    min_score: int
    headline: str
    body: str


@dataclass(frozen=True)
class NurtureEmail:
    """One email of the page's nurture sequence: sent ``after_days`` after sign-up
    unless the lead has unsubscribed, bought or been lost by then; ``body`` is Markdown."""

    after_days: int
    subject: str
    body: str


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    locale: str
    hero: Hero
    offer: Offer
    consent: Consent
    questions: tuple[Question, ...]
    outcomes: tuple[Outcome, ...]
    mql_threshold: int
    description: str = ""
    variants: tuple[Variant, ...] = ()
    #: The page's texts in its other locales, and its versions for places.
    locales: tuple[PageTexts, ...] = ()
    places: tuple[PlaceRule, ...] = ()
    #: Double opt-in: a sign-up counts, and gets the offer, once its email is confirmed.
    confirm: bool = False
    #: Emails after sign-up (``[[nurture]]``), in the file's order.
    nurture: tuple[NurtureEmail, ...] = ()
    #: On a version of the page (``pages.versions.page_version``): the ids of the place
    #: rules it follows, most specific first.
    version_rules: tuple[str, ...] = ()
    #: On a version of the page: the A/B variant it shows (``versions.with_variant``).
    variant: str | None = None

    def __hash__(self) -> int:
        # A page keys the caches of its versions and forms, looked up several times a
        # request: its (deep) hash is computed once. It never changes: frozen.
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, f.name) for f in fields(self)))
            object.__setattr__(self, "_hash", cached)
        return cached

    @property
    def place_version(self) -> str | None:
        """The most specific place rule this version follows (None: the default), what
        visits and leads record."""
        return self.version_rules[0] if self.version_rules else None

    @property
    def offered_locales(self) -> tuple[str, ...]:
        """The page's own locale first, then the ones ``[locales.*]`` translate it into."""
        return (self.locale, *(texts.locale for texts in self.locales))

    def variant_for(self, visitor_id: str | None) -> Variant | None:
        """The visitor's variant, drawn by weight from a hash of page and visitor, so the
        same visitor sees the same variant on every visit (while the weights stay)."""
        if not self.variants or not visitor_id:
            return None
        digest = hashlib.sha256(f"{self.slug}:{visitor_id}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") % sum(v.weight for v in self.variants)
        for variant in self.variants:
            point -= variant.weight
            if point < 0:
                return variant
        raise AssertionError("unreachable: weights are positive")

    @property
    def contact_step(self) -> int:
        """Steps count from 1: one per question, then the contact step."""
        return len(self.questions) + 1

    def score(self, answers: dict[str, str]) -> int:
        return sum(q.choice(answers.get(q.id)).points for q in self.questions)

    def outcome_for(self, score: int) -> Outcome:
        return max((o for o in self.outcomes if o.min_score <= score), key=lambda o: o.min_score)


@dataclass(frozen=True)
class PageFile:
    """What one file on disk holds: a valid page, or the errors that keep it out. A file
    that was valid before keeps its ``last_good`` page on the site until it is fixed."""

    path: Path
    page: Page | None
    errors: tuple[str, ...] = ()
    last_good: Page | None = None

    @property
    def serving(self) -> Page | None:
        """The page visitors get from this file: the valid one, else the last good one."""
        return self.page or self.last_good
