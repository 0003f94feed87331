"""Page files: one TOML file per landing page, read into immutable values.

A broken file never reaches a visitor: every error names the file and the field
(``questions[2].choices[1].image: ...``), and ``flask funnel pages`` lists them.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import replace
from pathlib import Path

from flask_funnel.i18n.messages import SUPPORTED_LOCALES
from flask_funnel.pages.model import (
    Choice,
    Consent,
    Hero,
    Offer,
    Outcome,
    Page,
    PageFile,
    Question,
    Variant,
)

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
OFFER_KINDS = ("download", "link", "code")
#: First path segments under the funnel's prefix that its own routes use.
RESERVED_SLUGS = frozenset({"admin", "api", "assets", "google", "static"})
MIN_CHOICES, MAX_CHOICES = 2, 6
MAX_QUESTIONS = 10
MIN_VARIANTS, MAX_VARIANTS = 2, 6


class PageDefinitionError(ValueError):
    pass


class _Fields:
    """Reads one TOML table, collecting an error per bad field (file: field: why)."""

    def __init__(self, data: dict, where: str, errors: list[str], file: str):
        self.data, self.where, self.errors, self.file = data, where, errors, file
        self.read: set[str] = set()

    def error(self, key: str | None, message: str) -> None:
        field = ".".join(p for p in (self.where, key) if p) or "(file)"
        self.errors.append(f"{self.file}: {field}: {message}")

    def _get(self, key: str, required: bool):
        self.read.add(key)
        if key not in self.data:
            if required:
                self.error(key, "is required")
            return None
        return self.data[key]

    def text(self, key: str, *, required: bool = True, max_length: int = 2000) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(key, "must be a non-empty string")
            return None
        if len(value) > max_length:
            self.error(key, f"must be at most {max_length} characters")
            return None
        return value.strip()

    def identifier(self, key: str, pattern: re.Pattern = ID_PATTERN) -> str | None:
        value = self.text(key, max_length=100)
        if value is not None and not pattern.match(value):
            self.error(key, f"{value!r} may only use letters, digits, '-' and '_'")
            return None
        return value

    def integer(self, key: str, *, required: bool = True, default: int | None = None) -> int | None:
        value = self._get(key, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(key, "must be a whole number")
            return default
        return value

    def table(self, key: str) -> _Fields | None:
        value = self._get(key, True)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(key, f"must be a table ([{self._path(key)}])")
            return None
        return _Fields(value, self._path(key), self.errors, self.file)

    def tables(self, key: str, low: int, high: int) -> list[_Fields]:
        value = self._get(key, True)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.error(key, f"must be a list of tables ([[{self._path(key)}]])")
            return []
        if not low <= len(value) <= high:
            self.error(key, f"must have between {low} and {high} entries, has {len(value)}")
        return [
            _Fields(v, f"{self._path(key)}[{n}]", self.errors, self.file)
            for n, v in enumerate(value, start=1)
        ]

    def reject_unknown(self) -> None:
        for key in sorted(set(self.data) - self.read):
            self.error(key, "is not a known field (misspelt?)")

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key


class PageParser:
    """Turns one file's TOML into a ``Page``, checking images and offer files exist."""

    def __init__(self, assets_dir: Path, offers_dir: Path):
        self.assets_dir, self.offers_dir = assets_dir, offers_dir

    def parse_file(self, path: Path) -> PageFile:
        label = display_path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            return PageFile(path, None, (f"{label}: (file): cannot be read: {exc}",))
        except tomllib.TOMLDecodeError as exc:
            return PageFile(path, None, (f"{label}: (file): is not valid TOML: {exc}",))
        errors: list[str] = []
        page = self._page(_Fields(data, "", errors, label))
        return PageFile(path, None if errors else page, tuple(errors))

    def _page(self, f: _Fields) -> Page | None:
        slug = f.identifier("slug", SLUG_PATTERN)
        if slug in RESERVED_SLUGS:
            f.error("slug", f"{slug!r} is taken by the funnel's own pages; choose another")
        title = f.text("title", max_length=200)
        locale = f.text("locale", max_length=16)
        if locale is not None and locale not in SUPPORTED_LOCALES:
            f.error("locale", f"{locale!r} is not supported; use one of {SUPPORTED_LOCALES}")
        description = f.text("description", required=False, max_length=300) or ""
        threshold = f.integer("mql_threshold")
        hero = self._hero(f.table("hero"))
        offer = self._offer(f.table("offer"))
        consent = self._consent(f.table("consent"))
        questions = tuple(
            filter(None, map(self._question, f.tables("questions", 1, MAX_QUESTIONS)))
        )
        _unique_ids(f, "questions", [q.id for q in questions])
        outcomes = self._outcomes(f, questions)
        variants = self._variants(f, hero)
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
        )

    def _hero(self, f: _Fields | None) -> Hero | None:
        if f is None:
            return None
        hero = Hero(
            headline=f.text("headline", max_length=200),
            body=f.text("body", max_length=2000),
            cta=f.text("cta", max_length=60),
            image=self._image(f, "image"),
            image_alt=f.text("image_alt", required=False, max_length=200) or "",
        )
        f.reject_unknown()
        return hero

    def _variants(self, f: _Fields, hero: Hero | None) -> tuple[Variant, ...]:
        if "variants" not in f.data:
            f.read.add("variants")
            return ()
        variants = []
        for v in f.tables("variants", MIN_VARIANTS, MAX_VARIANTS):
            variant_id = v.identifier("id")
            weight = v.integer("weight", required=False, default=1)
            if weight is not None and weight < 1:
                v.error("weight", "must be 1 or more")
            changed = {
                "headline": v.text("headline", required=False, max_length=200),
                "body": v.text("body", required=False, max_length=2000),
                "cta": v.text("cta", required=False, max_length=60),
                "image": self._image(v, "image"),
                "image_alt": v.text("image_alt", required=False, max_length=200),
            }
            v.reject_unknown()
            if hero is not None and variant_id is not None:
                changed = {key: value for key, value in changed.items() if value is not None}
                variants.append(Variant(variant_id, weight or 1, replace(hero, **changed)))
        _unique_ids(f, "variants", [v.id for v in variants])
        return tuple(variants)

    def _offer(self, f: _Fields | None) -> Offer | None:
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
        if offer.file and not _inside(self.offers_dir, offer.file):
            f.error("file", f"{offer.file!r} is not a file in {display_path(self.offers_dir)}")
        if offer.url and not offer.url.startswith(("https://", "http://", "/")):
            f.error("url", "must start with https://, http:// or /")
        f.reject_unknown()
        return offer

    def _consent(self, f: _Fields | None) -> Consent | None:
        if f is None:
            return None
        consent = Consent(
            text=f.text("text", max_length=2000),
            version=f.text("version", max_length=50),
            purpose=f.text("purpose", required=False, max_length=100) or "marketing",
        )
        f.reject_unknown()
        return consent

    def _question(self, f: _Fields) -> Question | None:
        qid = f.identifier("id")
        text = f.text("text", max_length=300)
        help_text = f.text("help", required=False, max_length=300)
        choices = []
        for c in f.tables("choices", MIN_CHOICES, MAX_CHOICES):
            choice = Choice(
                id=c.identifier("id"),
                label=c.text("label", max_length=120),
                points=c.integer("points", required=False, default=0),
                image=self._image(c, "image"),
            )
            c.reject_unknown()
            choices.append(choice)
        _unique_ids(f, "choices", [c.id for c in choices])
        f.reject_unknown()
        return Question(id=qid, text=text, help=help_text, choices=tuple(choices))

    def _outcomes(self, f: _Fields, questions: tuple[Question, ...]) -> tuple[Outcome, ...]:
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

    def _image(self, f: _Fields, key: str) -> str | None:
        image = f.text(key, required=False, max_length=500)
        if image and not image.startswith("https://") and not _inside(self.assets_dir, image):
            f.error(key, f"{image!r} is not a file in {display_path(self.assets_dir)}")
        return image


def _unique_ids(f: _Fields, key: str, ids: list[str | None]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            f.error(key, f"id {i!r} is used twice")
        seen.add(i)


def _inside(folder: Path, relative: str) -> bool:
    """True when ``relative`` names an existing file inside ``folder`` (no escaping it)."""
    try:
        target = (folder / relative).resolve()
        return target.is_file() and target.is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


def display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
