"""The calendars a report can count months and years in, and how it names days.

Every date in the report stays a Python ``date`` (proleptic Gregorian, ISO in JSON and
CSV); a calendar only says where its months and years begin and how to name a day, a
month or a range of days. ``gregorian`` is the default; ``persian`` is the Solar Hijri
calendar of Iran and Afghanistan, converted by ``jdatetime`` (never by hand), whose
year begins at Nowruz: 1 Farvardin 1405 is 21 March 2026.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import date, timedelta
from functools import lru_cache

import jdatetime

GREGORIAN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

#: The Solar Hijri months, by language: English transliterations (the labels of the
#: report) and Persian names, for templates of a Persian admin.
PERSIAN_MONTH_NAMES = {
    "en": (
        "Farvardin",
        "Ordibehesht",
        "Khordad",
        "Tir",
        "Mordad",
        "Shahrivar",
        "Mehr",
        "Aban",
        "Azar",
        "Dey",
        "Bahman",
        "Esfand",
    ),
    "fa": (
        "فروردین",
        "اردیبهشت",
        "خرداد",
        "تیر",
        "مرداد",
        "شهریور",
        "مهر",
        "آبان",
        "آذر",
        "دی",
        "بهمن",
        "اسفند",
    ),
}
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


class Calendar(ABC):
    """Months and years of one calendar over Gregorian ``date`` values."""

    name: str
    month_names: tuple[str, ...]

    @abstractmethod
    def parts(self, day: date) -> tuple[int, int, int]:
        """``day`` as (year, month, day) of this calendar."""

    @abstractmethod
    def to_date(self, year: int, month: int, day: int) -> date:
        """The Gregorian date of ``day`` ``month`` ``year`` of this calendar."""

    def month_first(self, day: date) -> date:
        """The first day of the month holding ``day``."""
        year, month, _ = self.parts(day)
        return self.to_date(year, month, 1)

    def next_month_first(self, day: date) -> date:
        """The first day of the month after the one holding ``day``."""
        year, month, _ = self.parts(day)
        return self.to_date(year + month // 12, month % 12 + 1, 1)

    def year_first(self, day: date) -> date:
        return self.to_date(self.parts(day)[0], 1, 1)

    def month_key(self, first: date) -> str:
        """The machine-readable name of a month: "2026-11", "1405-08"."""
        year, month, _ = self.parts(first)
        return f"{year:04d}-{month:02d}"

    def day_label(self, day: date) -> str:
        """ "20 March 2026", "29 Esfand 1404"."""
        year, month, number = self.parts(day)
        return f"{number} {self.month_names[month - 1]} {year}"

    def range_label(self, first: date, last: date) -> str:
        """Days ``first`` to ``last`` (both included) for people: a day, a whole month
        ("Farvardin 1405"), or a range ("21 March to 20 April 2026")."""
        if first == last:
            return self.day_label(first)
        (y1, m1, d1), (y2, m2, d2) = self.parts(first), self.parts(last)
        whole_month = (
            d1 == 1
            and (y1, m1) == (y2, m2)
            and last + timedelta(days=1) == (self.next_month_first(first))
        )
        if whole_month:
            return f"{self.month_names[m1 - 1]} {y1}"
        if (y1, m1) == (y2, m2):
            return f"{d1} to {d2} {self.month_names[m1 - 1]} {y1}"
        if y1 == y2:
            return f"{d1} {self.month_names[m1 - 1]} to {self.day_label(last)}"
        return f"{self.day_label(first)} to {self.day_label(last)}"


class Gregorian(Calendar):
    name = "gregorian"
    month_names = GREGORIAN_MONTHS

    def parts(self, day: date) -> tuple[int, int, int]:
        return day.year, day.month, day.day

    def to_date(self, year: int, month: int, day: int) -> date:
        return date(year, month, day)


class Persian(Calendar):
    """The Solar Hijri calendar (``jdatetime``'s conversion)."""

    name = "persian"
    month_names = PERSIAN_MONTH_NAMES["en"]

    def parts(self, day: date) -> tuple[int, int, int]:
        return _persian_parts(day)

    def to_date(self, year: int, month: int, day: int) -> date:
        return _persian_date(year, month, day)


# A report converts the same few dozen days many times (bounds, keys, labels): keep them.
@lru_cache(maxsize=4096)
def _persian_parts(day: date) -> tuple[int, int, int]:
    persian = jdatetime.date.fromgregorian(date=day)
    return persian.year, persian.month, persian.day


@lru_cache(maxsize=4096)
def _persian_date(year: int, month: int, day: int) -> date:
    return jdatetime.date(year, month, day).togregorian()


GREGORIAN = Gregorian()
PERSIAN = Persian()
#: The values of ``FUNNEL_REPORT_CALENDAR``.
CALENDARS: dict[str, Calendar] = {c.name: c for c in (GREGORIAN, PERSIAN)}


def labels(first: date, last: date) -> dict[str, str]:
    """Days ``first`` to ``last`` named in every calendar: {"gregorian": ..., "persian": ...}."""
    return {name: calendar.range_label(first, last) for name, calendar in CALENDARS.items()}


def persian_month_label(day: date | str, language: str = "en") -> str:
    """The Solar Hijri month holding ``day`` (a date or an ISO string): "Farvardin 1405",
    or "فروردین ۱۴۰۵" with ``language="fa"``."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    year, month, _ = PERSIAN.parts(day)
    name = PERSIAN_MONTH_NAMES[language][month - 1]
    return (
        f"{name} {year}" if language == "en" else f"{name} {str(year).translate(_PERSIAN_DIGITS)}"
    )
