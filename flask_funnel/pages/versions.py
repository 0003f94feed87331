"""Which version of a page a visitor sees, from where they are and what their browser
asks for.

A version is built in layers, each changing the one before field by field:

1. the page file's own fields;
2. the page's texts in the visitor's locale (``[locales.<code>]``), when that is not
   the page's own: a place rule's ``locale``, the most specific one that sets it, else
   the browser's ``Accept-Language`` among the page's locales, else the page's locale;
3. the place rules that match the visitor, least specific first (continent, country,
   region, city), so the most specific rule wins each field it sets. A rule's texts are
   in its own ``locale``, else in the locale of the less specific matching rules, else
   in the page's: they apply only to visitors who read that locale;
4. the A/B variant (``[[variants]]``), drawn per visitor, changes any part of that
   version (``with_variant``): a variant's headline wins over a place rule's, and its
   texts are the ones ``[locales.<code>.variants.<id>]`` gives in the version's locale.

The version's ``place_version`` is the id of the most specific rule applied (None: the
default) and its ``variant`` the variant shown: what visits and leads record. Versions
are built once per page, set of rules, locale and variant, then served from a cache.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Protocol

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from flask_funnel.pages.model import PLACE_LEVELS, FieldPath, Page, PlaceRule, Question


class Located(Protocol):
    """A visitor's place as GeoIP gives it (``capture.geo.Place``)."""

    country: str | None
    city: str | None
    region: str | None
    continent: str | None


#: Where a version's locale came from.
LOCALE_FROM_RULE, LOCALE_FROM_BROWSER, LOCALE_FROM_PAGE = "place rule", "Accept-Language", "page"


def place_keys(place: Located | None) -> dict[str, str | None]:
    """What a place is matched by at each level (see ``PlaceRule.keys``)."""
    if place is None:
        return dict.fromkeys(PLACE_LEVELS)
    country, city, region = place.country, place.city, place.region
    return {
        "city": f"{country}/{city.casefold()}" if country and city else None,
        "region": f"{country}-{region}" if country and region else None,
        "country": country,
        "continent": place.continent,
    }


def matching_rules(page: Page, place: Located | None) -> tuple[PlaceRule, ...]:
    """The rules that match ``place``, most specific first: at most one per level, since
    a page file may not name one place in two rules of a level."""
    keys = place_keys(place)
    found = {rule.level: rule for rule in page.places if rule.matches(keys)}
    return tuple(found[level] for level in PLACE_LEVELS if level in found)


def accept_languages(header: str | None) -> LanguageAccept:
    """An ``Accept-Language`` header as Werkzeug reads ``request.accept_languages``."""
    return parse_accept_header(header, LanguageAccept)


def choose_locale(
    page: Page, matched: tuple[PlaceRule, ...], accept: LanguageAccept | None
) -> tuple[str, str]:
    """The locale of the visitor's version and where it came from (``LOCALE_FROM_*``)."""
    for rule in matched:
        if rule.locale:
            return rule.locale, LOCALE_FROM_RULE
    if accept and len(page.offered_locales) > 1:
        best = accept.best_match(page.offered_locales)
        if best:
            return best, LOCALE_FROM_BROWSER
    return page.locale, LOCALE_FROM_PAGE


def text_locale(page: Page, matched: tuple[PlaceRule, ...], rule: PlaceRule) -> str:
    """The locale ``rule``'s texts are in: its own, else the nearest less specific
    matching rule's, else the page's."""
    after = matched[matched.index(rule) :]
    return next((r.locale for r in after if r.locale), page.locale)


def page_version(page: Page, place: Located | None, accept: LanguageAccept | None) -> Page:
    """The version of ``page`` a visitor at ``place`` whose browser accepts ``accept``
    sees (``page`` itself when nothing changes it); from the cache after the first."""
    if not page.places and not page.locales:
        return page
    matched = matching_rules(page, place)
    locale, _ = choose_locale(page, matched, accept)
    return version_by_key(page, (_applied(page, matched, locale), locale, None)) or page


def _applied(page: Page, matched: tuple[PlaceRule, ...], locale: str) -> tuple[str, ...]:
    """The ids of the matching rules whose texts are in ``locale``, most specific first."""
    return tuple(r.id for r in matched if text_locale(page, matched, r) == locale)


#: What identifies a version of its page: the place rules applied, the locale, the variant.
VersionKey = tuple[tuple[str, ...], str, str | None]


def version_by_key(page: Page, key: VersionKey) -> Page | None:
    """The version ``version_key`` gave, if the page still has its rules and locale
    (None otherwise); without the variant when the page's test no longer has it."""
    rule_ids, locale, variant = key
    known = {rule.id for rule in page.places}
    if locale not in page.offered_locales or not set(rule_ids) <= known:
        return None
    if rule_ids or locale != page.locale:
        page = _version(page, tuple(rule_ids), locale)
    return with_variant(page, variant)


def version_key(page: Page) -> VersionKey:
    return page.version_rules, page.locale, page.variant


def with_variant(version: Page, variant_id: str | None) -> Page:
    """``version`` as the A/B variant ``variant_id`` changes it (``version`` itself for
    None or a variant the page no longer has)."""
    if variant_id is None or all(v.id != variant_id for v in version.variants):
        return version
    return _with_variant(version, variant_id)


@lru_cache(maxsize=512)
def _with_variant(version: Page, variant_id: str) -> Page:
    variant = next(v for v in version.variants if v.id == variant_id)
    return replace(_apply(version, dict(variant.changes)), variant=variant_id)


@lru_cache(maxsize=512)
def _version(page: Page, rule_ids: tuple[str, ...], locale: str) -> Page:
    changes = {path: value for path, (value, _) in _changes(page, rule_ids, locale).items()}
    in_locale: dict[str, dict[FieldPath, str]] = defaultdict(dict)
    for path, value in changes.items():
        if path[0] == "variants":
            in_locale[str(path[1])][path[2:]] = value
    variants = tuple(
        replace(v, changes=tuple((dict(v.changes) | in_locale[v.id]).items()))
        for v in page.variants
    )
    version = _apply(page, {p: v for p, v in changes.items() if p[0] != "variants"})
    return replace(version, locale=locale, variants=variants, version_rules=rule_ids)


def _changes(
    page: Page, rule_ids: tuple[str, ...], locale: str
) -> dict[FieldPath, tuple[str, str]]:
    """Each changed field with its value and where it came from, in layer order."""
    changes: dict[FieldPath, tuple[str, str]] = {}
    if locale != page.locale:
        texts = next(t for t in page.locales if t.locale == locale)
        changes.update((path, (value, f"locales.{locale}")) for path, value in texts.changes)
    by_id = {rule.id: rule for rule in page.places}
    for rule_id in reversed(rule_ids):  # least specific first: the most specific wins
        rule = by_id[rule_id]
        source = f"places[{rule.number}] ({rule.id})"
        changes.update((path, (value, source)) for path, value in rule.changes)
    return changes


def _apply(page: Page, changes: dict[FieldPath, str]) -> Page:
    """``page`` with the fields at ``changes``' paths set (see ``model.FieldPath``)."""
    top: dict[str, str] = {}
    parts: dict[str, dict] = defaultdict(dict)
    nested: dict[str, dict] = defaultdict(lambda: defaultdict(dict))
    for path, value in changes.items():
        if len(path) == 1:
            top[str(path[0])] = value
        elif path[0] in ("hero", "offer", "consent"):
            parts[str(path[0])][str(path[1])] = value
        else:  # questions, outcomes, nurture: by id, min_score or place
            nested[str(path[0])][path[1]]["/".join(map(str, path[2:]))] = value

    def question(q: Question) -> Question:
        changed = nested["questions"].get(q.id)
        if not changed:
            return q
        choices = tuple(
            replace(
                c,
                label=changed.get(f"choices/{c.id}", c.label),
                image=changed.get(f"images/{c.id}", c.image),
            )
            for c in q.choices
        )
        text, help_text = changed.get("text", q.text), changed.get("help", q.help)
        return replace(q, text=text, help=help_text, choices=choices)

    return replace(
        page,
        **top,
        hero=replace(page.hero, **parts["hero"]),
        offer=replace(page.offer, **parts["offer"]),
        consent=replace(page.consent, **parts["consent"]),
        questions=tuple(map(question, page.questions)),
        outcomes=tuple(replace(o, **nested["outcomes"][o.min_score]) for o in page.outcomes),
        nurture=tuple(replace(e, **nested["nurture"][n]) for n, e in enumerate(page.nurture)),
    )


# --- for the admin's preview ------------------------------------------------------------


@dataclass(frozen=True)
class RuleCheck:
    """One place rule as the preview explains it."""

    rule: PlaceRule
    matched: bool
    applied: bool
    why: str


@dataclass(frozen=True)
class Explanation:
    """How a visitor's version came about: what their place is matched by, each rule,
    the locale and where it came from, and every field that differs from the page file
    with the layer it came from."""

    version: Page
    keys: dict[str, str | None]
    rules: tuple[RuleCheck, ...]
    locale: str
    locale_from: str
    fields: tuple[tuple[str, str, str], ...]  # field, value, source


def explain(
    page: Page,
    place: Located | None,
    accept: LanguageAccept | None,
    variant: str | None = None,
) -> Explanation:
    keys = place_keys(place)
    matched = matching_rules(page, place)
    locale, locale_from = choose_locale(page, matched, accept)
    checks = []
    for rule in page.places:
        if rule not in matched:
            why = f"no: the visitor's {rule.level} is {_shown(rule.level, keys)}"
            checks.append(RuleCheck(rule, False, False, why))
            continue
        texts_in = text_locale(page, matched, rule)
        applied = texts_in == locale
        why = f"the visitor's {rule.level} {_shown(rule.level, keys)} is in its match"
        if not applied:
            why += f"; its texts are in {texts_in!r} and the visitor reads {locale!r}"
        checks.append(RuleCheck(rule, True, applied, why))
    rule_ids = _applied(page, matched, locale)
    version = version_by_key(page, (rule_ids, locale, variant)) or page
    changes = _changes(page, rule_ids, locale)
    shown = next((v for v in version.variants if v.id == version.variant), None)
    if shown is not None:
        changes.update((path, (value, f"variants ({shown.id})")) for path, value in shown.changes)
    fields = tuple(
        (".".join(map(str, path)), value, source)
        for path, (value, source) in changes.items()
        if path[0] != "variants"
    )
    return Explanation(version, keys, tuple(checks), locale, locale_from, fields)


def _shown(level: str, keys: dict[str, str | None]) -> str:
    value = keys.get(level)
    if value is None:
        return "unknown"
    if level == "city":
        country, city = value.split("/", 1)
        return f"{city.title()}, {country}"
    return value
