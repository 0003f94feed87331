"""A landing page as its file describes it: immutable values the views render."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Variant:
    """One version of the landing page in an A/B test: the hero with some fields changed."""

    id: str
    weight: int
    hero: Hero


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
    """What one file on disk holds: a valid page, or the errors that keep it out."""

    path: Path
    page: Page | None
    errors: tuple[str, ...] = ()
