"""The admin area in the admin's own language: the helpers every admin template gets
(``t``, ``number``, ``percent``, ``when``...), bound to the locale the signed-in admin
chose (English until they choose another). Lead data is never translated; templates
isolate it with ``dir="auto"`` or ``<bdi>``."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache, partial

from babel import Locale
from babel.support import Translations
from wtforms.i18n import get_translations as wtforms_translations

from flask_funnel.analytics import text_format
from flask_funnel.analytics.calendars import PERSIAN_MONTH_NAMES, Calendar
from flask_funnel.analytics.funnel import BREAKDOWNS, OTHER
from flask_funnel.analytics.significance import round_up_2sig
from flask_funnel.i18n.messages import (
    DOMAIN,
    N_,
    SOURCE_LOCALE,
    TRANSLATIONS_DIR,
    format_number,
    format_percent,
    isolated,
    text_direction,
    translate,
)
from flask_funnel.leads.csv_import import ACTOR as IMPORT_ACTOR
from flask_funnel.leads.stages import SYSTEM

#: The languages an admin can choose, each named in itself.
ADMIN_LANGUAGES = {"en": "English", "fa": "فارسی"}

#: The stages as an admin reads them (the code, ``mql``, stays the name everywhere else).
STAGE_NAMES = {
    "visitors": N_("visitors"),
    "visitor": N_("visitor"),
    "lead": N_("lead"),
    "mql": N_("mql"),
    "sal": N_("sal"),
    "sql": N_("sql"),
    "customer": N_("customer"),
    "repeat_customer": N_("repeat_customer"),
    "lost": N_("lost"),
}
_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
#: The word between two days of a range ("21 March to 20 April 2026").
_TO = N_("to")
#: The statistical tests of an A/B test (``Comparison.test``), as the page names them.
TEST_NAMES = {
    "two-proportion z-test": N_("Two-proportion z-test"),
    "chi-square test": N_("Chi-square test"),
}
#: The reasons the funnel itself writes into a lead's stage history (stored in English),
#: matched whole; a reason an admin typed is never one of these and stays as typed.
SYSTEM_REASONS = (
    (re.compile(r"quiz on page (?P<page>\S+)"), N_("quiz on page {page}")),
    (
        re.compile(r"quiz score (?P<score>\S+) reached (?P<threshold>\S+) on page (?P<page>\S+)"),
        N_("quiz score {score} reached {threshold} on page {page}"),
    ),
    (re.compile(r"purchase (?P<reference>.+)", re.DOTALL), N_("purchase {reference}")),
    (re.compile(r"imported from (?P<file>.+)", re.DOTALL), N_("imported from {file}")),
)
#: The actors that are the funnel itself, not a person.
SYSTEM_ACTORS = {SYSTEM: N_("system"), IMPORT_ACTOR: N_("CSV import")}
#: Why a submission was quarantined (``Submission.quarantine_reason``).
QUARANTINE_REASONS = {
    "honeypot": N_("the hidden field was filled in"),
    "bot_agent": N_("sent by a bot or script (its user agent)"),
    "no_start_time": N_("no start time"),
    "foreign_start": N_("started in another browser"),
    "too_fast": N_("sent too fast"),
    "unconfirmed": N_("email not confirmed yet"),
}


def helpers(locale: str, calendar: Calendar) -> dict:
    """What admin templates call to show text, numbers and dates in ``locale``."""
    return {
        "admin_locale": locale,
        "admin_dir": text_direction(locale),
        "admin_languages": ADMIN_LANGUAGES,
        "t": partial(translate, locale),
        "number": partial(number, locale),
        "percent": partial(percent, locale),
        "signed": partial(signed, locale),
        "digits": partial(digits, locale),
        "when": partial(when, locale),
        "stage_name": partial(stage_name, locale),
        "stage_list": partial(stage_list, locale),
        "days": partial(days, locale, calendar),
        "month": partial(month, locale, calendar),
        "verdict": partial(verdict, locale),
        "test_name": partial(stats_test_name, locale),
        "group_label": partial(group_label, locale),
        "change_reason": partial(change_reason, locale),
        "actor_name": partial(actor_name, locale),
        "quarantine_reason": partial(quarantine_reason, locale),
    }


def digits(locale: str, text: object) -> str:
    """``text`` with its digits in the locale's own (``2026`` → ``۲۰۲۶`` in Persian)."""
    text = str(text)
    return text.translate(_DIGITS) if locale == "fa" else text


def number(locale: str, value: float | None) -> str:
    return "—" if value is None else format_number(locale, value)


def percent(locale: str, share: float | None, *, signed: bool = False) -> str:
    """A rate: "12.5%" in English, "۱۲٫۵٪" in Persian; "-" for none."""
    if locale == SOURCE_LOCALE or share is None:
        return text_format.percent(share, signed=signed)
    text = format_percent(locale, share, decimals=1 if abs(share) >= 0.01 else 4)
    return f"+{text}" if signed and share > 0 else text


def signed(locale: str, change: int) -> str:
    """A change: "+12", "-3", "0" (in the locale's digits)."""
    if locale == SOURCE_LOCALE:
        return text_format.signed(change)
    text = format_number(locale, abs(change))
    return f"+{text}" if change > 0 else f"−{text}" if change < 0 else text


def when(locale: str, moment: date | datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A date or time as the admin area writes it (ISO order, the locale's digits)."""
    return "" if moment is None else digits(locale, moment.strftime(pattern))


def stage_name(locale: str, stage: str | None) -> str:
    return "" if stage is None else translate(locale, STAGE_NAMES.get(stage, stage))


def stage_list(locale: str, stages: list[str]) -> str:
    """``lead, mql`` (``سرنخ، mql`` in Persian): stages named in a sentence."""
    return ("، " if locale == "fa" else ", ").join(stage_name(locale, s) for s in stages)


def days(locale: str, calendar: Calendar, first: date | str, last: date | str) -> str:
    """Days ``first`` to ``last`` named in the report's calendar and the admin's language
    ("Farvardin 1405" or "فروردین ۱۴۰۵")."""
    first, last = _day(first), _day(last)
    text = calendar.range_label(first, last)
    if locale == SOURCE_LOCALE:
        return text
    names = dict(zip(calendar.month_names, _month_names(locale, calendar.name), strict=True))
    text = re.sub(r"[A-Z][a-z]+", lambda m: names.get(m.group(), m.group()), text)
    return digits(locale, text.replace(" to ", f" {translate(locale, _TO)} "))


def month(locale: str, calendar: Calendar, row: dict) -> str:
    """The label of a month row of the report (``row["from"]`` to ``row["to"]``)."""
    if locale == SOURCE_LOCALE:
        return row["label"]
    return days(locale, calendar, row["from"], row["to"])


def verdict(locale: str, comparison: dict) -> str:
    """The A/B test's plain verdict (``comparison`` as ``experiments.variant_test`` gives
    it), saying all the English one does: which variant converts better, with the p-value,
    or how many more visitors each variant needs."""
    if locale == SOURCE_LOCALE:
        return comparison["message"]
    p_value, more = comparison["p_value"], comparison["more_per_arm"]
    if p_value is None:
        p_text = None
    elif p_value < 0.001:
        p_text = f"p < {format_number(locale, 0.001)}"
    else:
        p_text = f"p = {format_number(locale, round(p_value, 3))}"
    if comparison["verdict"] == "better":
        two = comparison["degrees_of_freedom"] is None
        better = N_("Variant {variant} converts better ({p})")
        best = N_("Variant {variant} converts best ({p})")
        return translate(locale, better if two else best, variant=comparison["best"], p=p_text)
    if comparison["verdict"] == "no_difference":
        if p_text is None:
            return translate(locale, N_("No difference yet"))
        return translate(locale, N_("No difference yet ({p})"), p=p_text)
    if more:
        need = N_("Not enough data yet (need about {count} more visitors per variant)")
        return translate(locale, need, count=round_up_2sig(more))
    return translate(locale, N_("Not enough data yet"))


def stats_test_name(locale: str, test: str) -> str:
    """The A/B test's statistical test ("Two-proportion z-test") named in ``locale``."""
    return translate(locale, TEST_NAMES[test]) if test in TEST_NAMES else test.capitalize()


def group_label(locale: str, breakdown: dict, group: dict) -> str:
    """A breakdown's group as ``locale`` names it (countries in that language, cities and
    other values as stored); the report itself names them in English."""
    if group["key"] is None:
        return translate(locale, OTHER)
    if locale == SOURCE_LOCALE or breakdown["by"] not in BREAKDOWNS:
        return group["label"]
    return BREAKDOWNS[breakdown["by"]].label(tuple(group["key"]), locale)


def change_reason(locale: str, change) -> str:
    """Why a lead changed stage: a reason the funnel wrote, in ``locale``; an admin's, as
    they typed it."""
    reason = change.reason or ""
    if locale == SOURCE_LOCALE or change.actor not in SYSTEM_ACTORS:
        return reason
    for pattern, message in SYSTEM_REASONS:
        if found := pattern.fullmatch(reason):
            values = found.groupdict()
            for name in ("score", "threshold"):
                if name in values:
                    values[name] = digits(locale, values[name])
            for name in ("reference", "file"):  # any text, written either way
                if name in values:
                    values[name] = isolated(values[name])
            return translate(locale, message, **values)
    return reason


def actor_name(locale: str, actor: str | None) -> str:
    """Who did something: the funnel itself in ``locale``, a person as recorded."""
    if actor in SYSTEM_ACTORS and locale != SOURCE_LOCALE:
        return translate(locale, SYSTEM_ACTORS[actor])
    return actor or ""


def quarantine_reason(locale: str, reason: str | None) -> str:
    """Why a submission looks automated, in ``locale`` (English shows the code)."""
    if locale == SOURCE_LOCALE or reason not in QUARANTINE_REASONS:
        return reason or ""
    return translate(locale, QUARANTINE_REASONS[reason])


@cache
def form_translations(locale: str) -> Translations:
    """The admin forms' messages: the funnel's catalogue, then WTForms' own."""
    ours = Translations.load(str(TRANSLATIONS_DIR), [locale], domain=DOMAIN)
    theirs = wtforms_translations([locale])
    if isinstance(ours, Translations):
        ours.add_fallback(theirs)
        return ours
    return theirs


def _day(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _month_names(locale: str, calendar_name: str) -> tuple[str, ...]:
    if calendar_name == "persian" and locale in PERSIAN_MONTH_NAMES:
        return PERSIAN_MONTH_NAMES[locale]
    wide = Locale.parse(locale).months["stand-alone"]["wide"]
    return tuple(wide[m] for m in range(1, 13))
