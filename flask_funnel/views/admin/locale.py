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
from flask_funnel.i18n.messages import (
    DOMAIN,
    N_,
    SOURCE_LOCALE,
    TRANSLATIONS_DIR,
    format_number,
    format_percent,
    text_direction,
    translate,
)

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
        "days": partial(days, locale, calendar),
        "month": partial(month, locale, calendar),
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
