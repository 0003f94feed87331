"""SQLite settings for several processes writing at once.

SQLite allows one writer at a time. Its busy handler makes the others sleep and
retry (1 ms, 2 ms, 5 ms, ... ), so under load most of a request's time is spent
asleep while the lock is already free. Here writers queue on an ``flock`` of a
lock file beside the database instead: the kernel wakes the next one the moment
the current one commits. The busy timeout stays as the safety net.

Transactions that write are opened with ``writing(engine)``: on SQLite they start with
``BEGIN IMMEDIATE``, so one that reads and then writes can never fail half-way with
"database is locked". Other transactions only read, start with a plain ``BEGIN`` and
never wait for writers (WAL readers see the last commit).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

BUSY_TIMEOUT_MS = 5000
_WRITE = "funnel_write"

# Connections of this thread that hold the writer lock: a second connection in the
# same thread must not wait for the first (it would wait forever).
_held = threading.local()


class QueuedWriterConnection(sqlite3.Connection):
    """A sqlite3 connection whose transactions hold the database's writer lock file."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        path = os.fspath(database)
        memory = path in ("", ":memory:") or path.startswith("file::memory:")
        self._lock_fd = (
            None if memory else os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
        )
        self._locked = False

    def begin_immediate(self) -> None:
        if self._lock_fd is not None and not getattr(_held, "count", 0):
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            self._locked = True
            _held.count = 1
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release()
            raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        self._release()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        super().close()

    def _release(self) -> None:
        if self._locked:
            self._locked = False
            _held.count = 0
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)


def check_database_location(engine: Engine) -> None:
    """An SQLite file must sit in a folder the app can write to (the database, its WAL
    and the writer lock are created there): say so at start-up, not at the first visitor."""
    if engine.dialect.name != "sqlite":
        return
    database = engine.url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    path = Path(database).resolve()
    folder = path.parent
    if not folder.is_dir():
        raise RuntimeError(
            f"SQLALCHEMY_DATABASE_URI: the folder {folder} of the SQLite database does not exist"
        )
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise RuntimeError(
            f"SQLALCHEMY_DATABASE_URI: the app cannot write to {path} (its folder {folder} or"
            " the file is read-only for this user); SQLite also writes -wal and -writer.lock"
            " files beside it"
        )


def tune_sqlite(engine: Engine) -> None:
    """Apply the settings above to an SQLite engine (other databases are left alone)."""
    if engine.dialect.name != "sqlite" or event.contains(engine, "connect", _on_connect):
        return
    event.listen(engine, "do_connect", _use_queued_writer)
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    engine.dispose()  # connections opened before the listeners existed


def _use_queued_writer(dialect, connection_record, cargs, cparams) -> None:
    cparams.setdefault("factory", QueuedWriterConnection)


def _on_connect(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")  # an in-memory database stays "memory"
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes; committed when the block ends, rolled back on error.

    On SQLite it takes the write lock up front (queued); elsewhere it is an ordinary
    transaction."""
    with engine.connect() as connection:
        connection.execution_options(**{_WRITE: True})
        with connection.begin():
            yield connection


def _on_begin(connection) -> None:
    if not connection.get_execution_options().get(_WRITE):
        connection.exec_driver_sql("BEGIN")
        return
    dbapi_connection = connection.connection.dbapi_connection
    if isinstance(dbapi_connection, QueuedWriterConnection):
        dbapi_connection.begin_immediate()
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
