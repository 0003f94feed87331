"""SQLite writers queue on a lock file instead of sleeping in SQLite's busy handler."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from flask_funnel.db.sqlite_writer import QueuedWriterConnection, tune_sqlite, writing

pytestmark = pytest.mark.sqlite_only("the writer lock of SQLite files")


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    tune_sqlite(engine)
    with writing(engine) as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def lock_is_free(path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def test_connections_use_wal_and_the_writer_queue(engine, tmp_path):
    with engine.connect() as connection:
        assert isinstance(connection.connection.dbapi_connection, QueuedWriterConnection)
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    assert (tmp_path / "w.sqlite3-writer.lock").exists()


def test_the_lock_is_held_for_the_transaction_and_freed_by_commit_or_rollback(engine, tmp_path):
    lock = tmp_path / "w.sqlite3-writer.lock"
    with engine.connect() as connection:
        connection.execution_options(funnel_write=True)
        transaction = connection.begin()
        connection.execute(text("INSERT INTO t VALUES (1)"))
        assert not lock_is_free(lock)
        transaction.commit()
        assert lock_is_free(lock)
        transaction = connection.begin()
        connection.execute(text("INSERT INTO t VALUES (2)"))
        transaction.rollback()
        assert lock_is_free(lock)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 1


def test_a_waiting_writer_goes_on_as_soon_as_the_first_commits(engine):
    first_in = threading.Event()
    waited: list[float] = []

    def second_writer():
        first_in.wait()
        started = time.monotonic()
        with writing(engine) as connection:
            connection.execute(text("INSERT INTO t VALUES (2)"))
        waited.append(time.monotonic() - started)

    thread = threading.Thread(target=second_writer)
    thread.start()
    with writing(engine) as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
        first_in.set()
        time.sleep(0.3)
    thread.join()
    assert 0.2 < waited[0] < 2.0
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 2


def test_reading_never_waits_for_a_writer(engine, tmp_path):
    with writing(engine) as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
        started = time.monotonic()
        with engine.connect() as reader:
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
        assert time.monotonic() - started < 0.5
        assert not lock_is_free(tmp_path / "w.sqlite3-writer.lock")


def test_in_memory_databases_need_no_lock_file(tmp_path):
    engine = create_engine("sqlite://")
    tune_sqlite(engine)
    with writing(engine) as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
    assert not list(tmp_path.iterdir())


def test_other_databases_are_left_alone():
    from sqlalchemy import event

    from flask_funnel.db import sqlite_writer

    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    tune_sqlite(engine)
    assert not event.contains(engine, "begin", sqlite_writer._on_begin)
    assert not event.contains(engine, "do_connect", sqlite_writer._use_queued_writer)
    engine.dispose()
