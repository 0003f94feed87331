"""Report periods: days and calendar months in the report's time zone, as UTC bounds.

Times are stored in UTC; an admin thinks in local days. A period is a range of local
dates, both ends included, turned into the half-open UTC interval
``[start of first day, start of the day after the last)`` that queries compare with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PRESETS = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "this_month": "This month",
    "last_month": "Last month",
    "this_year": "This year",
    "custom": "Custom range",
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


@dataclass(frozen=True)
class Month:
    label: str  # "2026-11"
    start: datetime
    end: datetime
    partial: bool  # the month is still running


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def today_in(zone: ZoneInfo, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(zone).date()


def preset_period(preset: str, zone: ZoneInfo, now: datetime | None = None) -> Period:
    today = today_in(zone, now)
    if preset in ("7d", "30d", "90d"):
        return Period(today - timedelta(days=int(preset[:-1]) - 1), today, zone)
    if preset == "this_month":
        return Period(today.replace(day=1), today, zone)
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return Period(last.replace(day=1), last, zone)
    if preset == "this_year":
        return Period(today.replace(month=1, day=1), today, zone)
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


def months_until(last_day: date, count: int, zone: ZoneInfo, now: datetime | None = None):
    """The ``count`` calendar months up to the one holding ``last_day``, oldest first."""
    now = now or datetime.now(UTC)
    firsts = [last_day.replace(day=1)]
    for _ in range(count - 1):
        previous = firsts[-1] - timedelta(days=1)
        firsts.append(previous.replace(day=1))
    months = []
    for first in reversed(firsts):
        end = local_midnight(_next_month(first), zone)
        months.append(Month(first.strftime("%Y-%m"), local_midnight(first, zone), end, now < end))
    return months


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(f"{name}: {text!r} is not a date (use YYYY-MM-DD)") from None
