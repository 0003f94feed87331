"""Database plumbing shared by the write side: SQLite tuning and portable upserts.

Upserts are written once here with each dialect's own statement (``ON CONFLICT``
on PostgreSQL and SQLite, ``ON DUPLICATE KEY UPDATE`` on MariaDB/MySQL), so one
row per key holds even under concurrent writers: never select-then-insert.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Table, event
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql import ColumnElement

SQLITE_BUSY_TIMEOUT_MS = 5000

_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def tune_sqlite(engine: Engine) -> None:
    """WAL journal, a busy timeout and ``BEGIN IMMEDIATE``, so several workers wait
    for the write lock instead of failing with "database is locked" half-way
    through a read-then-write transaction."""
    if engine.dialect.name != "sqlite" or event.contains(engine, "connect", _sqlite_connect):
        return
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")  # an in-memory database stays "memory"
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _sqlite_begin(connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def upsert(
    dialect: str,
    table: Table,
    values: dict,
    keys: list[str],
    on_conflict: Callable[[object], dict[str, ColumnElement | object]] | None,
):
    """An INSERT that, when a row with the same ``keys`` exists, updates it with
    ``on_conflict(new)`` (``new`` names the values being inserted), or leaves it
    alone when ``on_conflict`` is None."""
    if dialect in ("mysql", "mariadb"):
        stmt = mysql.insert(table).values(**values)
        changes = on_conflict(stmt.inserted) if on_conflict else {}
        # MariaDB has no DO NOTHING; assigning a key column to itself is the no-op.
        return stmt.on_duplicate_key_update(changes or {keys[0]: table.c[keys[0]]})
    try:
        insert = _DIALECT_INSERT[dialect]
    except KeyError:
        raise RuntimeError(f"flask-funnel does not support the {dialect!r} database") from None
    stmt = insert(table).values(**values)
    if on_conflict is None:
        return stmt.on_conflict_do_nothing(index_elements=keys)
    return stmt.on_conflict_do_update(index_elements=keys, set_=on_conflict(stmt.excluded))
