"""Portable upserts.

Upserts are written once here with each dialect's own statement (``ON CONFLICT``
on PostgreSQL and SQLite, ``ON DUPLICATE KEY UPDATE`` on MariaDB/MySQL), so one
row per key holds even under concurrent writers: never select-then-insert.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Select, Table
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.sql import ColumnElement

_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def upsert(
    dialect: str,
    table: Table,
    keys: list[str],
    on_conflict: Callable[[object], dict[str, ColumnElement | object]] | None,
):
    """An INSERT (values given at execution) that, when a row with the same ``keys``
    exists, updates it with ``on_conflict(new)`` (``new`` names the values being
    inserted), or leaves it alone when ``on_conflict`` is None.

    Build it once and execute it with parameters: statements built per request cost
    more Python time than the database takes to run them."""
    if dialect in ("mysql", "mariadb"):
        stmt = mysql.insert(table)
        changes = on_conflict(stmt.inserted) if on_conflict else {}
        # MariaDB has no DO NOTHING; assigning a key column to itself is the no-op.
        return stmt.on_duplicate_key_update(changes or {keys[0]: table.c[keys[0]]})
    try:
        insert = _DIALECT_INSERT[dialect]
    except KeyError:
        raise RuntimeError(f"flask-funnel does not support the {dialect!r} database") from None
    stmt = insert(table)
    if on_conflict is None:
        return stmt.on_conflict_do_nothing(index_elements=keys)
    return stmt.on_conflict_do_update(index_elements=keys, set_=on_conflict(stmt.excluded))


def add_selected(dialect: str, table: Table, keys: list[str], column: str, rows: Select):
    """An INSERT of ``rows`` (``keys``' values, then a number, each key once) that adds
    the number to ``column`` of the row with the same keys when there is one: counts
    added up in the database, in one statement."""
    names = [*keys, column]
    if dialect in ("mysql", "mariadb"):
        stmt = mysql.insert(table).from_select(names, rows)
        return stmt.on_duplicate_key_update({column: table.c[column] + stmt.inserted[column]})
    try:
        insert = _DIALECT_INSERT[dialect]
    except KeyError:
        raise RuntimeError(f"flask-funnel does not support the {dialect!r} database") from None
    stmt = insert(table).from_select(names, rows)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={column: table.c[column] + stmt.excluded[column]}
    )


def supports_returning(dialect: str) -> bool:
    return dialect in _DIALECT_INSERT
