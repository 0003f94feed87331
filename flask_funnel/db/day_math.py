"""Date arithmetic in SQL, in each database's own words: a time plus whole days, the
days between two times (whole or with their fraction), a date as a day number."""

from __future__ import annotations

from sqlalchemy import literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import DateTime, Float, Integer


class _days_after(FunctionElement):
    type = DateTime()
    inherit_cache = True


def days_after(moment: ColumnElement, days: int) -> ColumnElement:
    """``moment`` plus a whole number of days, in each database's own words. The days
    are written into the SQL (not bound), so each number gets its own cached statement."""
    return _days_after(moment, literal_column(str(int(days))))


@compiles(_days_after)
def _days_after_sqlite(element, compiler, **kw):
    moment, days = list(element.clauses)
    return f"datetime({compiler.process(moment, **kw)}, '+{days.name} days')"


@compiles(_days_after, "postgresql")
def _days_after_postgresql(element, compiler, **kw):
    moment, days = list(element.clauses)
    return f"({compiler.process(moment, **kw)} + interval '{days.name} days')"


@compiles(_days_after, "mysql")
@compiles(_days_after, "mariadb")
def _days_after_mysql(element, compiler, **kw):
    moment, days = list(element.clauses)
    return f"DATE_ADD({compiler.process(moment, **kw)}, INTERVAL {days.name} DAY)"


class _whole_days(FunctionElement):
    type = Integer()
    inherit_cache = True


def whole_days(later: ColumnElement, earlier: ColumnElement) -> ColumnElement:
    """The whole days from ``earlier`` to ``later`` (rounded down; NULL if either is)."""
    return _whole_days(later, earlier)


@compiles(_whole_days)
def _whole_days_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


@compiles(_whole_days, "postgresql")
def _whole_days_postgresql(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400) AS INTEGER)"


@compiles(_whole_days, "mysql")
@compiles(_whole_days, "mariadb")
def _whole_days_mysql(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"FLOOR(TIMESTAMPDIFF(MICROSECOND, {earlier}, {later}) / 86400000000)"


class _day_number(FunctionElement):
    type = Integer()
    inherit_cache = True


def day_number(day: ColumnElement) -> ColumnElement:
    """A date as a count of days (from some day of each database's choosing)."""
    return _day_number(day)


@compiles(_day_number)
def _day_number_sqlite(element, compiler, **kw):
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(_day_number, "postgresql")
def _day_number_postgresql(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} - DATE '2000-01-01')"


@compiles(_day_number, "mysql")
@compiles(_day_number, "mariadb")
def _day_number_mysql(element, compiler, **kw):
    return f"TO_DAYS({compiler.process(element.clauses, **kw)})"


class _days_between(FunctionElement):
    type = Float()
    inherit_cache = True


def days_between(later: ColumnElement, earlier: ColumnElement) -> ColumnElement:
    """The days from ``earlier`` to ``later``, with their fraction (NULL if either is):
    a number the database hands back, where two times would each be turned into a
    Python datetime (a year's stage times: 0.76 s of the dashboard's 0.88)."""
    return _days_between(later, earlier)


@compiles(_days_between)
def _days_between_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({later}) - julianday({earlier}))"


@compiles(_days_between, "postgresql")
def _days_between_postgresql(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # (EXTRACT gives a numeric: a float is much quicker to hand back.)
    return f"(CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION) / 86400)"


@compiles(_days_between, "mysql")
@compiles(_days_between, "mariadb")
def _days_between_mysql(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # (A float divisor: a whole number would give a decimal of four places.)
    return f"(TIMESTAMPDIFF(MICROSECOND, {earlier}, {later}) / 8.64E10)"
