"""The versions a page file describes besides its default: the page in other locales
(``[locales.<code>]``) and versions for visitors in some places (``[[places]]``).

Both are read into field changes (``model.Changes``) on top of the default page, and
checked like the rest of the file: every error names the file and the field, a locale
must translate every text the page shows, and a place rule must be able to apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask_funnel.i18n.messages import SUPPORTED_LOCALES
from flask_funnel.pages import geography
from flask_funnel.pages.fields import Fields, display_path, inside
from flask_funnel.pages.model import (
    Changes,
    Consent,
    FieldPath,
    Hero,
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
#: Hero texts a variant may change (its image is not a text: a locale may keep it).
VARIANT_TEXTS = ("headline", "body", "cta", "image_alt")
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
    variants: tuple[Variant, ...]


class _Collector:
    """Field changes of one version, read from its tables."""

    def __init__(self, parser: PageParser):
        self.parser = parser
        self.changes: list[tuple[FieldPath, str]] = []

    def text(self, f: Fields, key: str, path: FieldPath, *, required: bool, max_length: int):
        value = f.text(key, required=required, max_length=max_length)
        if value is not None:
            self.changes.append((path, value))

    def image(self, f: Fields, key: str, path: FieldPath) -> None:
        value = self.parser.image(f, key)
        if value is not None:
            self.changes.append((path, value))

    def offer(self, f: Fields, default: Offer | None, *, complete: bool) -> None:
        """The offer's texts (all of them when ``complete``: a locale) and, for its kind,
        its file, link or code."""

        def needed(name: str) -> bool:
            return complete and bool(getattr(default, name, None))

        self.text(f, "title", ("offer", "title"), required=complete, max_length=200)
        self.text(
            f,
            "description",
            ("offer", "description"),
            required=needed("description"),
            max_length=2000,
        )
        self.text(f, "button", ("offer", "button"), required=needed("button"), max_length=60)
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
                self.changes.append((("offer", field), value))

    def consent(self, f: Fields) -> None:
        """A changed consent text always comes with its own version."""
        self.text(f, "text", ("consent", "text"), required=True, max_length=2000)
        version = f.text("version", required=False, max_length=50)
        if version is None and "version" not in f.data:
            f.error("version", "is required: a consent text of its own needs a version of its own")
        elif version is not None:
            self.changes.append((("consent", "version"), version))

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
                if value is not None and score is not None:
                    self.changes.append((("outcomes", score, key), value))
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
        for key, limit in (("headline", 200), ("body", 2000), ("cta", 60)):
            c.text(hero, key, ("hero", key), required=True, max_length=limit)
        has_alt = bool(default.hero and default.hero.image_alt)
        c.text(hero, "image_alt", ("hero", "image_alt"), required=has_alt, max_length=200)
        c.image(hero, "image", ("hero", "image"))
        hero.reject_unknown()

    offer = t.table("offer")
    if offer is not None:
        c.offer(offer, default.offer, complete=True)
        offer.reject_unknown()

    consent = t.table("consent")
    if consent is not None:
        c.consent(consent)
        consent.reject_unknown()

    questions = t.table("questions")
    if questions is not None:
        for question in default.questions:
            q = questions.table(question.id)
            if q is None:
                continue
            c.text(q, "text", ("questions", question.id, "text"), required=True, max_length=300)
            c.text(
                q,
                "help",
                ("questions", question.id, "help"),
                required=bool(question.help),
                max_length=300,
            )
            choices = q.table("choices")
            if choices is not None:
                for choice in question.choices:
                    path = ("questions", question.id, "choices", choice.id)
                    c.text(choices, choice.id, path, required=True, max_length=120)
                choices.reject_unknown()
            q.reject_unknown()
        questions.reject_unknown()

    c.outcomes(t, default, complete=True)

    changing = [v for v in default.variants if any(k in VARIANT_TEXTS for k, _ in v.changes)]
    variants = t.table("variants", required=bool(changing))
    if variants is not None:
        for variant in changing:
            v = variants.table(variant.id)
            if v is None:
                continue
            changed = {key for key, _ in variant.changes}
            for key in VARIANT_TEXTS:
                limit = {"body": 2000, "cta": 60}.get(key, 200)
                c.text(
                    v, key, ("variants", variant.id, key), required=key in changed, max_length=limit
                )
            c.image(v, "image", ("variants", variant.id, "image"))
            v.reject_unknown()
        variants.reject_unknown()
    t.reject_unknown()
    return tuple(c.changes)


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
            for key, limit in (("headline", 200), ("body", 2000), ("cta", 60), ("image_alt", 200)):
                c.text(hero, key, ("hero", key), required=False, max_length=limit)
            c.image(hero, "image", ("hero", "image"))
            hero.reject_unknown()
        offer = r.table("offer", required=False)
        if offer is not None:
            c.offer(offer, default.offer, complete=False)
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
