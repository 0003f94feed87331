"""Page files: one TOML file per landing page, read into immutable values.

A broken file never reaches a visitor: every error names the file and the field
(``questions[2].choices[1].image: ...``), and ``flask funnel pages`` lists them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path

from flask_funnel.i18n.messages import SUPPORTED_LOCALES
from flask_funnel.pages.fields import Fields, display_path, inside, unique_ids
from flask_funnel.pages.model import (
    Choice,
    Consent,
    Hero,
    NurtureEmail,
    Offer,
    Outcome,
    Page,
    PageFile,
    Question,
)
from flask_funnel.pages.version_rules import (
    DefaultPage,
    parse_locales,
    parse_places,
    parse_variants,
)

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
OFFER_KINDS = ("download", "link", "code")
#: First path segments under the funnel's prefix that its own routes use.
RESERVED_SLUGS = frozenset({"admin", "api", "assets", "google", "static", "unsubscribe"})
MIN_CHOICES, MAX_CHOICES = 2, 6
MAX_QUESTIONS = 10
MAX_NURTURE = 10


class PageDefinitionError(ValueError):
    pass


class PageParser:
    """Turns one file's TOML into a ``Page``, checking images and offer files exist."""

    def __init__(self, assets_dir: Path, offers_dir: Path):
        self.assets_dir, self.offers_dir = assets_dir, offers_dir

    def parse_file(self, path: Path) -> PageFile:
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return PageFile(path, None, (f"{display_path(path)}: (file): cannot be read: {exc}",))
        return self.parse_source(path, source)

    def parse_source(self, path: Path, source: str) -> PageFile:
        """The page in ``source``, the text of the page file at ``path``."""
        label = display_path(path)
        try:
            data = tomllib.loads(source)
        except tomllib.TOMLDecodeError as exc:
            return PageFile(path, None, (f"{label}: (file): is not valid TOML: {exc}",))
        errors: list[str] = []
        page = self._page(Fields(data, "", errors, label))
        return PageFile(path, None if errors else page, tuple(errors))

    def _page(self, f: Fields) -> Page | None:
        slug = f.identifier("slug", SLUG_PATTERN)
        if slug in RESERVED_SLUGS:
            f.error("slug", f"{slug!r} is taken by the funnel's own pages; choose another")
        title = f.text("title", max_length=200)
        locale = f.text("locale", max_length=16)
        if locale is not None and locale not in SUPPORTED_LOCALES:
            f.error("locale", f"{locale!r} is not supported; use one of {SUPPORTED_LOCALES}")
        description = f.text("description", required=False, max_length=300) or ""
        threshold = f.integer("mql_threshold")
        confirm = f.boolean("confirm")
        hero = self._hero(f.table("hero"))
        offer = self._offer(f.table("offer"))
        consent = self._consent(f.table("consent"))
        questions = tuple(
            filter(None, map(self._question, f.tables("questions", 1, MAX_QUESTIONS)))
        )
        unique_ids(f, "questions", [q.id for q in questions])
        outcomes = self._outcomes(f, questions)
        nurture = self._nurture(f)
        default = DefaultPage(locale, description, hero, offer, consent, questions, outcomes)
        variants = parse_variants(f, self, default)
        default = replace(default, variants=variants, nurture=nurture)
        locales = parse_locales(f, self, default)
        places = parse_places(f, self, default, locales)
        f.reject_unknown()
        if f.errors:
            return None
        return Page(
            slug=slug,
            title=title,
            locale=locale,
            description=description,
            hero=hero,
            offer=offer,
            consent=consent,
            questions=questions,
            outcomes=outcomes,
            mql_threshold=threshold,
            variants=variants,
            locales=locales,
            places=places,
            nurture=nurture,
            confirm=confirm,
        )

    def _hero(self, f: Fields | None) -> Hero | None:
        if f is None:
            return None
        hero = Hero(
            headline=f.text("headline", max_length=200),
            body=f.text("body", max_length=2000),
            cta=f.text("cta", max_length=60),
            image=self.image(f, "image"),
            image_alt=f.text("image_alt", required=False, max_length=200) or "",
        )
        f.reject_unknown()
        return hero

    def _nurture(self, f: Fields) -> tuple[NurtureEmail, ...]:
        """``[[nurture]]``: emails after sign-up, each ``after_days`` later (a locale
        translates them in the same order)."""
        if "nurture" not in f.data:
            f.read.add("nurture")
            return ()
        emails = []
        for n in f.tables("nurture", 1, MAX_NURTURE):
            days = n.integer("after_days")
            if days is not None and not 1 <= days <= 365:
                n.error("after_days", "must be from 1 to 365")
            email = NurtureEmail(
                after_days=days or 1,
                subject=n.text("subject", max_length=200),
                body=n.text("body", max_length=20000),
            )
            n.reject_unknown()
            emails.append(email)
        return tuple(emails)

    def _offer(self, f: Fields | None) -> Offer | None:
        if f is None:
            return None
        kind = f.text("kind", max_length=20)
        offer = Offer(
            kind=kind,
            title=f.text("title", max_length=200),
            description=f.text("description", required=False) or "",
            button=f.text("button", required=False, max_length=60),
            file=f.text("file", required=kind == "download", max_length=300),
            url=f.text("url", required=kind == "link", max_length=2000),
            code=f.text("code", required=kind == "code", max_length=100),
        )
        if kind is not None and kind not in OFFER_KINDS:
            f.error("kind", f"{kind!r} is not one of {', '.join(OFFER_KINDS)}")
        if offer.file and not inside(self.offers_dir, offer.file):
            f.error("file", f"{offer.file!r} is not a file in {display_path(self.offers_dir)}")
        if offer.url and not offer.url.startswith(("https://", "http://", "/")):
            f.error("url", "must start with https://, http:// or /")
        f.reject_unknown()
        return offer

    def _consent(self, f: Fields | None) -> Consent | None:
        if f is None:
            return None
        consent = Consent(
            text=f.text("text", max_length=2000),
            version=f.text("version", max_length=50),
            purpose=f.text("purpose", required=False, max_length=100) or "marketing",
        )
        f.reject_unknown()
        return consent

    def _question(self, f: Fields) -> Question | None:
        qid = f.identifier("id")
        text = f.text("text", max_length=300)
        help_text = f.text("help", required=False, max_length=300)
        choices = []
        for c in f.tables("choices", MIN_CHOICES, MAX_CHOICES):
            choice = Choice(
                id=c.identifier("id"),
                label=c.text("label", max_length=120),
                points=c.integer("points", required=False, default=0),
                image=self.image(c, "image"),
            )
            c.reject_unknown()
            choices.append(choice)
        unique_ids(f, "choices", [c.id for c in choices])
        f.reject_unknown()
        return Question(id=qid, text=text, help=help_text, choices=tuple(choices))

    def _outcomes(self, f: Fields, questions: tuple[Question, ...]) -> tuple[Outcome, ...]:
        outcomes = []
        for o in f.tables("outcomes", 1, 10):
            outcomes.append(
                Outcome(
                    min_score=o.integer("min_score"),
                    headline=o.text("headline", max_length=200),
                    body=o.text("body", max_length=2000),
                )
            )
            o.reject_unknown()
        bands = [o.min_score for o in outcomes if o.min_score is not None]
        if len(set(bands)) != len(bands):
            f.error("outcomes", "two outcomes have the same min_score")
        lowest = sum(
            min((c.points for c in q.choices if c.points is not None), default=0)
            for q in questions
            if q.choices
        )
        if bands and min(bands) > lowest:
            f.error(
                "outcomes",
                f"no outcome covers the lowest possible score {lowest}; "
                f"give one outcome min_score = {lowest} or less",
            )
        return tuple(sorted(outcomes, key=lambda o: o.min_score or 0))

    def image(self, f: Fields, key: str) -> str | None:
        image = f.text(key, required=False, max_length=500)
        if image and not image.startswith("https://") and not inside(self.assets_dir, image):
            f.error(key, f"{image!r} is not a file in {display_path(self.assets_dir)}")
        return image
