"""Report periods: days and calendar months in the report's time zone, as UTC bounds.

Times are stored in UTC; an admin thinks in local days. A period is a range of local
dates, both ends included, turned into the half-open UTC interval
``[start of first day, start of the day after the last)`` that queries compare with.
A month is such a range too: the report's calendar (Gregorian or Persian) only says
which local day it starts on, so every calendar's months are counted by the same
range queries over the same indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_funnel.analytics.calendars import GREGORIAN, Calendar, labels
from flask_funnel.i18n.messages import N_

PRESETS = {
    "7d": N_("Last 7 days"),
    "30d": N_("Last 30 days"),
    "90d": N_("Last 90 days"),
    "this_month": N_("This month"),
    "last_month": N_("Last month"),
    "this_year": N_("This year"),
    "custom": N_("Custom range"),
}
DEFAULT_PRESET = "30d"


class PeriodError(ValueError):
    """A period an admin asked for that cannot be reported (the message says why)."""


@dataclass(frozen=True)
class ReportSettings:
    zone: ZoneInfo
    min_group: int = 10
    months: int = 24
    active_days: int = 90
    history_days: int = 180
    calendar: Calendar = GREGORIAN
    #: The fewest leads a forecast's share may be learnt from.
    min_history: int = 30


@dataclass(frozen=True)
class Period:
    """Local dates ``first`` to ``last``, both included, in ``zone``."""

    first: date
    last: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        """Exclusive: the start of the day after ``last``."""
        return local_midnight(self.last + timedelta(days=1), self.zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def label(self, calendar: Calendar = GREGORIAN) -> str:
        """ "1 to 15 Farvardin 1405", "Esfand 1404", "20 March 2026"."""
        return calendar.range_label(self.first, self.last)


@dataclass(frozen=True)
class Month:
    """A month of the report's calendar: local days ``first`` to ``last``, counted over
    the UTC interval ``[start, end)``."""

    key: str  # "2026-11"; "1405-08" in the Persian calendar
    first: date
    last: date
    start: datetime
    end: datetime
    partial: bool  # the month is still running
    label: str  # "November 2026", "Aban 1405"

    @property
    def labels(self) -> dict[str, str]:
        """The month's days named in every calendar."""
        return labels(self.first, self.last)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def today_in(zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(zone).date()


def preset_period(
    preset: str,
    zone: ZoneInfo,
    now: datetime | None = None,
    *,
    calendar: Calendar = GREGORIAN,
) -> Period:
    """A preset's days up to today; months and years are those of ``calendar``."""
    today = today_in(zone, now)
    if preset in ("7d", "30d", "90d"):
        return Period(today - timedelta(days=int(preset[:-1]) - 1), today, zone)
    if preset == "this_month":
        return Period(calendar.month_first(today), today, zone)
    if preset == "last_month":
        last = calendar.month_first(today) - timedelta(days=1)
        return Period(calendar.month_first(last), last, zone)
    if preset == "this_year":
        return Period(calendar.year_first(today), today, zone)
    raise PeriodError(f"unknown period {preset!r}; use one of {', '.join(PRESETS)}")


def parse_period(
    first: str | None,
    last: str | None,
    zone: ZoneInfo,
    *,
    now: datetime | None = None,
) -> Period:
    """The period from YYYY-MM-DD dates (either may be left out); the last 30 days when
    neither is given."""
    if not first and not last:
        return preset_period(DEFAULT_PRESET, zone, now)
    today = today_in(zone, now)
    start = _date(first, "from") if first else None
    end = _date(last, "to") if last else today
    if start is None:
        start = end - timedelta(days=29)
    if start > end:
        raise PeriodError("the start date is after the end date")
    return Period(start, end, zone)


def months_until(
    last_day: date,
    count: int,
    zone: ZoneInfo,
    now: datetime | None = None,
    *,
    calendar: Calendar = GREGORIAN,
) -> list[Month]:
    """The ``count`` months of ``calendar`` up to the one holding ``last_day``, oldest
    first: each the local days from its first to its last, as UTC bounds."""
    now = now or datetime.now(UTC)
    firsts = [calendar.month_first(last_day)]
    for _ in range(count - 1):
        firsts.append(calendar.month_first(firsts[-1] - timedelta(days=1)))
    months = []
    for first in reversed(firsts):
        following = calendar.next_month_first(first)
        end = local_midnight(following, zone)
        months.append(
            Month(
                key=calendar.month_key(first),
                first=first,
                last=following - timedelta(days=1),
                start=local_midnight(first, zone),
                end=end,
                partial=now < end,
                label=calendar.range_label(first, following - timedelta(days=1)),
            )
        )
    return months


def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"{name}: {text!r} is not a date (use YYYY-MM-DD)") from None
