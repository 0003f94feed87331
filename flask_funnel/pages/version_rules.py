"""The versions a page file describes besides its default: the page in other locales
(``[locales.<code>]``) and versions for visitors in some places (``[[places]]``).

Both are read into field changes (``model.Changes``) on top of the default page, and
checked like the rest of the file: every error names the file and the field, a locale
must translate every text the page shows, and a place rule must be able to apply.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask_funnel.i18n.messages import SUPPORTED_LOCALES
from flask_funnel.pages import geography
from flask_funnel.pages.fields import Fields, display_path, inside, unique_ids
from flask_funnel.pages.model import (
    Changes,
    Consent,
    FieldPath,
    Hero,
    NurtureEmail,
    Offer,
    Outcome,
    PageTexts,
    PlaceRule,
    Question,
    Variant,
)

if TYPE_CHECKING:
    from flask_funnel.pages.parser import PageParser

MAX_PLACES = 50
#: Place rule ids are stored with each visit and lead (``place_version``, 40 characters).
MAX_PLACE_ID = 40
#: What a rule's ``match`` may name, by level (``cities`` goes with one ``country``).
MATCH_KEYS = {
    "city": "cities",
    "region": "regions",
    "country": "countries",
    "continent": "continents",
}
#: The hero's texts and their longest length.
HERO_TEXTS = {"headline": 200, "body": 2000, "cta": 60, "image_alt": 200}
#: The fields of the hero, offer and consent that are not texts: a locale need not
#: give them again (nor the choices' ``images``).
NOT_TEXTS = frozenset({"image", "file", "url", "code", "version"})
MIN_VARIANTS, MAX_VARIANTS = 2, 6
#: A variant's id is stored with every view and lead (a column of 40 characters).
MAX_VARIANT_ID = 40
OFFER_FIELD_OF_KIND = {"download": "file", "link": "url", "code": "code"}


@dataclass(frozen=True)
class DefaultPage:
    """The parts of the default page a version refers to (None where the file is broken)."""

    locale: str | None
    description: str
    hero: Hero | None
    offer: Offer | None
    consent: Consent | None
    questions: tuple[Question, ...]
    outcomes: tuple[Outcome, ...]
    variants: tuple[Variant, ...] = ()
    nurture: tuple[NurtureEmail, ...] = ()


class _Collector:
    """Field changes of one version, read from its tables; ``prefix`` goes before every
    path (a locale's texts of a variant: ``("variants", id)``)."""

    def __init__(self, parser: PageParser, prefix: FieldPath = ()):
        self.parser, self.prefix = parser, prefix
        self.changes: list[tuple[FieldPath, str]] = []

    def add(self, path: FieldPath, value: str | None) -> None:
        if value is not None:
            self.changes.append(((*self.prefix, *path), value))

    def text(self, f: Fields, key: str, path: FieldPath, *, required: bool, max_length: int):
        self.add(path, f.text(key, required=required, max_length=max_length))

    def image(self, f: Fields, key: str, path: FieldPath) -> None:
        self.add(path, self.parser.image(f, key))

    def hero(self, f: Fields, required: Collection[str]) -> None:
        """Hero texts (those in ``required`` must be given) and its image."""
        for key, limit in HERO_TEXTS.items():
            self.text(f, key, ("hero", key), required=key in required, max_length=limit)
        self.image(f, "image", ("hero", "image"))

    def offer(self, f: Fields, default: Offer | None, required: Collection[str]) -> None:
        """The offer's texts (those in ``required`` must be given) and, for its kind, its
        file, link or code."""
        for key, limit in (("title", 200), ("description", 2000), ("button", 60)):
            self.text(f, key, ("offer", key), required=key in required, max_length=limit)
        kind = default.kind if default is not None else None
        for field, limit in (("file", 300), ("url", 2000), ("code", 100)):
            value = f.text(field, required=False, max_length=limit)
            if value is None or kind is None:
                continue
            if OFFER_FIELD_OF_KIND.get(kind) != field:
                needs = OFFER_FIELD_OF_KIND.get(kind)
                f.error(field, f"the page's offer is a {kind!r} one: give {needs} instead")
            elif field == "file" and not inside(self.parser.offers_dir, value):
                f.error(field, f"{value!r} is not a file in {display_path(self.parser.offers_dir)}")
            elif field == "url" and not value.startswith(("https://", "http://", "/")):
                f.error(field, "must start with https://, http:// or /")
            else:
                self.add(("offer", field), value)

    def questions(
        self, t: Fields, questions: tuple[Question, ...], required: Collection[FieldPath]
    ) -> None:
        """Questions' texts and help, choices' labels (``choices``) and pictures
        (``images``), by id; the paths in ``required`` must be given."""
        for question in questions:
            base = ("questions", question.id)
            needed = [path[2:] for path in required if path[:2] == base]
            q = t.table(question.id, required=bool(needed))
            if q is None:
                continue
            for key, limit in (("text", 300), ("help", 300)):
                self.text(q, key, (*base, key), required=(key,) in needed, max_length=limit)
            choices = q.table("choices", required=any(p[0] == "choices" for p in needed))
            if choices is not None:
                for choice in question.choices:
                    path = (*base, "choices", choice.id)
                    is_needed = ("choices", choice.id) in needed
                    self.text(choices, choice.id, path, required=is_needed, max_length=120)
                choices.reject_unknown()
            images = q.table("images", required=False)
            if images is not None:
                for choice in question.choices:
                    self.image(images, choice.id, (*base, "images", choice.id))
                images.reject_unknown()
            q.reject_unknown()
        t.reject_unknown()

    def consent(self, f: Fields) -> None:
        """A changed consent text always comes with its own version."""
        self.text(f, "text", ("consent", "text"), required=True, max_length=2000)
        version = f.text("version", required=False, max_length=50)
        if version is None and "version" not in f.data:
            f.error("version", "is required: a consent text of its own needs a version of its own")
        else:
            self.add(("consent", "version"), version)

    def outcomes(self, f: Fields, default: DefaultPage, *, complete: bool) -> None:
        """Outcome texts by ``min_score`` (a locale gives every outcome's)."""
        # An outcome of the page without min_score has its own error already.
        known = {o.min_score for o in default.outcomes if o.min_score is not None}
        given: set[int] = set()
        for o in f.tables("outcomes", 1, 10, required=complete):
            score = o.integer("min_score")
            if score is not None and known and score not in known:
                scores = ", ".join(str(s) for s in sorted(known))
                o.error("min_score", f"no outcome of the page has min_score {score} ({scores})")
                score = None
            elif score in given:
                o.error("min_score", f"the outcome with min_score {score} is given twice")
                score = None
            if score is not None:
                given.add(score)
            for key, limit in (("headline", 200), ("body", 2000)):
                value = o.text(key, required=complete, max_length=limit)
                if score is not None:
                    self.add(("outcomes", score, key), value)
            o.reject_unknown()
        if complete and "outcomes" in f.data and isinstance(f.data["outcomes"], list):
            for score in sorted(known - given):
                f.error("outcomes", f"the outcome with min_score {score} is not translated")


# --- [locales.<code>] --------------------------------------------------------------


def parse_locales(f: Fields, parser: PageParser, default: DefaultPage) -> tuple[PageTexts, ...]:
    """``[locales.<code>]``: the page in another locale, every text it shows translated."""
    table = f.table("locales", required=False)
    if table is None:
        return ()
    found = []
    for code in table.data:
        table.read.add(code)
        if code not in SUPPORTED_LOCALES:
            table.error(code, f"{code!r} is not supported; use one of {SUPPORTED_LOCALES}")
            continue
        if code == default.locale:
            table.error(code, "is the page's own locale: its texts are the page's fields")
            continue
        t = table.table(code)
        if t is not None:
            found.append(PageTexts(code, _locale_texts(t, parser, default)))
    return tuple(found)


def _locale_texts(t: Fields, parser: PageParser, default: DefaultPage) -> Changes:
    c = _Collector(parser)
    c.text(t, "title", ("title",), required=True, max_length=200)
    c.text(t, "description", ("description",), required=bool(default.description), max_length=300)

    hero = t.table("hero")
    if hero is not None:
        has_alt = bool(default.hero and default.hero.image_alt)
        c.hero(hero, required={"headline", "body", "cta"} | ({"image_alt"} if has_alt else set()))
        hero.reject_unknown()

    offer = t.table("offer")
    if offer is not None:
        given = {k for k in ("description", "button") if getattr(default.offer, k, None)}
        c.offer(offer, default.offer, required={"title"} | given)
        offer.reject_unknown()

    consent = t.table("consent")
    if consent is not None:
        c.consent(consent)
        consent.reject_unknown()

    questions = t.table("questions")
    if questions is not None:
        c.questions(questions, default.questions, required=_question_texts(default.questions))

    c.outcomes(t, default, complete=True)
    if default.nurture:  # in the page's order, every one translated
        count = len(default.nurture)
        for n, e in enumerate(t.tables("nurture", count, count)):
            c.text(e, "subject", ("nurture", n, "subject"), required=True, max_length=200)
            c.text(e, "body", ("nurture", n, "body"), required=True, max_length=20000)
            e.reject_unknown()

    changing = [v for v in default.variants if _texts_of(v.changes)]
    variants = t.table("variants", required=bool(changing))
    if variants is not None:
        for variant in changing:
            v = variants.table(variant.id)
            if v is not None:
                vc = _Collector(parser, prefix=("variants", variant.id))
                _variant_fields(vc, v, default, required=_texts_of(variant.changes))
                c.changes.extend(vc.changes)
        variants.reject_unknown()
    t.reject_unknown()
    return tuple(c.changes)


def _question_texts(questions: tuple[Question, ...]) -> set[FieldPath]:
    """Every text of the questions: what a locale must translate."""
    paths: set[FieldPath] = set()
    for q in questions:
        paths.add(("questions", q.id, "text"))
        if q.help:
            paths.add(("questions", q.id, "help"))
        paths.update(("questions", q.id, "choices", choice.id) for choice in q.choices)
    return paths


def _texts_of(changes: Changes) -> set[FieldPath]:
    """The paths of ``changes`` that are texts (a locale must translate them)."""
    return {
        path
        for path, _ in changes
        if (path[2] != "images" if path[0] == "questions" else path[-1] not in NOT_TEXTS)
    }


# --- [[variants]] ---------------------------------------------------------------------


def parse_variants(f: Fields, parser: PageParser, default: DefaultPage) -> tuple[Variant, ...]:
    """``[[variants]]``: an A/B test; each variant changes any part of the page."""
    if "variants" not in f.data:
        f.read.add("variants")
        return ()
    variants = []
    for v in f.tables("variants", MIN_VARIANTS, MAX_VARIANTS):
        variant_id = v.identifier("id")
        if variant_id is not None and len(variant_id) > MAX_VARIANT_ID:
            v.error("id", f"must be at most {MAX_VARIANT_ID} characters")
            variant_id = None
        weight = v.integer("weight", required=False, default=1)
        if weight is not None and weight < 1:
            v.error("weight", "must be 1 or more")
        c = _Collector(parser)
        _variant_fields(c, v, default, required=())
        if variant_id is not None:
            variants.append(Variant(variant_id, weight or 1, tuple(c.changes)))
    unique_ids(f, "variants", [v.id for v in variants])
    return tuple(variants)


def _variant_fields(
    c: _Collector, v: Fields, default: DefaultPage, required: Collection[FieldPath]
) -> None:
    """A variant's table: hero fields at its top, then ``offer``, ``consent`` and
    ``questions`` tables; the paths in ``required`` must be given (a locale's texts)."""
    c.hero(v, required={path[1] for path in required if path[0] == "hero"})
    offer = v.table("offer", required=any(path[0] == "offer" for path in required))
    if offer is not None:
        c.offer(offer, default.offer, required={p[1] for p in required if p[0] == "offer"})
        offer.reject_unknown()
    consent = v.table("consent", required=any(path[0] == "consent" for path in required))
    if consent is not None:
        c.consent(consent)
        consent.reject_unknown()
    asked = [path for path in required if path[0] == "questions"]
    questions = v.table("questions", required=bool(asked))
    if questions is not None:
        c.questions(questions, default.questions, required=asked)
    v.reject_unknown()


# --- [[places]] -----------------------------------------------------------------------


def parse_places(
    f: Fields, parser: PageParser, default: DefaultPage, locales: tuple[PageTexts, ...]
) -> tuple[PlaceRule, ...]:
    """``[[places]]``: versions for visitors in some cities, regions, countries or
    continents; no place may be named by two rules of one level (the later could never
    apply there)."""
    if "places" not in f.data:
        f.read.add("places")
        return ()
    offered = (default.locale, *(texts.locale for texts in locales))
    taken: dict[tuple[str, str], str] = {}
    rules, ids = [], {}
    for number, r in enumerate(f.tables("places", 1, MAX_PLACES), start=1):
        rule_id = r.identifier("id")
        if rule_id is not None and len(rule_id) > MAX_PLACE_ID:
            r.error("id", f"must be at most {MAX_PLACE_ID} characters")
            rule_id = None
        if rule_id is not None and rule_id in ids:
            r.error("id", f"{rule_id!r} is already the id of places[{ids[rule_id]}]")
            rule_id = None
        if rule_id is not None:
            ids[rule_id] = number
        label = f"places[{number}]" + (f" ({rule_id!r})" if rule_id else "")
        match = r.table("match")
        level, keys = _match(match, label, taken) if match is not None else (None, frozenset())

        locale = r.text("locale", required=False, max_length=16)
        if locale is not None and locale not in offered:
            r.error(
                "locale",
                f"{locale!r} is not one of this page's locales ({', '.join(map(repr, offered))})"
                f"; add [locales.{locale}] with every text of the page in {locale}",
            )
        c = _Collector(parser)
        hero = r.table("hero", required=False)
        if hero is not None:
            c.hero(hero, required=())
            hero.reject_unknown()
        offer = r.table("offer", required=False)
        if offer is not None:
            c.offer(offer, default.offer, required=())
            offer.reject_unknown()
        consent = r.table("consent", required=False)
        if consent is not None:
            c.consent(consent)
            consent.reject_unknown()
        if "outcomes" in r.data:
            c.outcomes(r, default, complete=False)
        else:
            r.read.add("outcomes")
        r.reject_unknown()
        if rule_id is not None and level is not None and keys:
            rules.append(PlaceRule(rule_id, number, level, keys, locale, tuple(c.changes)))
    return tuple(rules)


def _match(m: Fields, label: str, taken: dict[tuple[str, str], str]):
    """The rule's level and the keys it matches (see ``PlaceRule.keys``)."""
    given = [level for level, key in MATCH_KEYS.items() if key in m.data]
    if len(given) != 1:
        m.error(
            None,
            "give exactly one of cities (with country), regions, countries or continents"
            + (f"; it has {', '.join(MATCH_KEYS[g] for g in given)}" if given else ""),
        )
        m.read.update(m.data)
        return None, frozenset()
    level = given[0]
    listed = MATCH_KEYS[level]
    country = None
    if level == "city":
        country = m.text("country", max_length=2)
        if country is not None:
            country = country.upper()
            if not geography.is_country(country):
                m.error("country", f"{country!r} is not an ISO 3166-1 alpha-2 country code")
                country = None
    keys = set()
    for n, value in enumerate(m.strings(listed, max_length=128), start=1):
        field = f"{listed}[{n}]"
        if level == "city":
            if country is None:
                continue
            key, shown = f"{country}/{value.casefold()}", f"{value}, {country}"
        else:
            key = shown = value.upper()
            problem = _unknown_code(level, key)
            if problem:
                m.error(field, problem)
                continue
        if key in keys:
            m.error(field, f"{shown!r} is named twice")
            continue
        if (level, key) in taken:
            m.error(
                field,
                f"{shown!r} is already matched by {taken[level, key]}, which comes first: "
                "this rule would never apply there",
            )
            continue
        keys.add(key)
        taken[level, key] = label
    m.reject_unknown()
    return level, frozenset(keys)


def _unknown_code(level: str, code: str) -> str | None:
    if level == "country" and not geography.is_country(code):
        return f"{code!r} is not an ISO 3166-1 alpha-2 country code"
    if level == "region" and not geography.is_region(code):
        return f"{code!r} is not an ISO 3166-2 region code (country-region, like 'GB-ENG')"
    if level == "continent" and code not in geography.CONTINENTS:
        return f"{code!r} is not a continent code; use one of {', '.join(geography.CONTINENTS)}"
    return None
