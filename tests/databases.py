"""A fresh database on a server for each test of a server pass (``FUNNEL_TEST_DATABASE``).

The real migrations take most of a second on a server, and a thousand tests cannot each
pay that; nor can they pay for a database each (PostgreSQL's ``DROP DATABASE`` waits for
a checkpoint, seconds on a busy machine). So a few databases are built by the migrations
and lent out, one per test folder. When a test ends (conftest.py has written its apps'
buffered page views and closed their connections), a thread empties its databases while
the next tests run: connections still open to them are ended, the tables that hold rows
are emptied and the ids handed out start at 1 again. A database whose tables or columns
the test changed is dropped instead. On PostgreSQL each is also renamed before it is
lent again, so that a straggler of the ended test fails instead of writing into the next
test's data (on MariaDB that would mean moving every table, slower than most tests).
"""

from __future__ import annotations

import queue
import threading
import uuid

from sqlalchemy import NullPool, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from flask_funnel.db.models import DailyCount, metadata

_ALEMBIC = "alembic_version"
#: Databases made before a test waits for one being emptied (a test may use two).
POOL = 3
_ENDING = {
    # Waits up to 10 s for each to end.
    "postgresql": "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
    " WHERE datname = :name AND pid <> pg_backend_pid()",
    "mariadb": "SELECT ID FROM information_schema.PROCESSLIST"
    " WHERE DB = :name AND ID <> CONNECTION_ID()",
}
_COLUMNS = {
    "postgresql": "SELECT table_name, column_name, data_type, is_nullable"
    " FROM information_schema.columns WHERE table_schema = current_schema()",
    "mariadb": "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE"
    " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()",
}
#: Tables whose ids were handed out (MariaDB: an AUTO_INCREMENT moved on) or, on
#: PostgreSQL, the sequences that handed them out.
_COUNTED = {
    # (CASE: the planner may call the function before it has checked the kind.)
    "postgresql": "SELECT CAST(CAST(oid AS regclass) AS text) FROM pg_class WHERE relkind = 'S'"
    " AND CASE WHEN relkind = 'S' THEN pg_sequence_last_value(oid) END IS NOT NULL",
    "mariadb": "SELECT TABLE_NAME FROM information_schema.TABLES"
    " WHERE TABLE_SCHEMA = DATABASE() AND AUTO_INCREMENT > 1",
}
_HOLDING = " UNION ALL ".join(
    f"SELECT '{table}' FROM (SELECT 1 AS one) AS probe WHERE EXISTS (SELECT 1 FROM {table})"
    for table in metadata.tables
)


class ServerDatabases:
    """Lends migrated databases of one server (``postgresql`` or ``mariadb``). A thread
    of its own empties the databases given back while the next tests run."""

    def __init__(self, backend: str, server_url: str):
        self.backend = backend
        self._server = make_url(server_url)
        self._admin = create_engine(self._server, isolation_level="AUTOCOMMIT")
        self._session = uuid.uuid4().hex[:8]
        self._count = 0
        self._schema: tuple | None = None  # what the migrations built
        self._lock = threading.Lock()
        self._given_back: queue.Queue[str | None] = queue.Queue()
        self._emptied: queue.Queue[str | None] = queue.Queue()  # None: one was dropped
        self._lendable = 0  # given back, not yet lent again (each comes to _emptied)
        self._made = 0  # not dropped
        self._failure: BaseException | None = None
        self._cleaner: threading.Thread | None = None

    def acquire(self) -> str:
        """The URL of a database of its own, with the funnel's migrated schema: an
        emptied one, else a new one while there are fewer than ``POOL``, else the next
        one emptied."""
        while True:
            if self._failure is not None:
                raise RuntimeError("emptying a test database failed") from self._failure
            try:
                name = self._emptied.get_nowait()
            except queue.Empty:
                if self._lendable == 0 or self._made < POOL:
                    self._made += 1
                    return self._url(self._migrated())
                name = self._emptied.get(timeout=120)
            with self._lock:
                self._lendable -= 1
                self._made -= name is None
            if name is not None:
                return self._url(name)

    def release(self, url: str) -> None:
        """Take back a database of ``acquire``, whatever its test left in it."""
        with self._lock:
            self._lendable += 1
            if self._cleaner is None:
                self._cleaner = threading.Thread(
                    target=self._clean, name="funnel-test-databases", daemon=True
                )
                self._cleaner.start()
        self._given_back.put(make_url(url).database)

    def close(self) -> None:
        """Drop every database this session made."""
        if self._cleaner is not None:
            self._given_back.put(None)
            self._cleaner.join()
        for _ in range(self._lendable):
            name = self._emptied.get()
            if name:
                self._drop(name)
        self._admin.dispose()
        if self._failure is not None:
            raise RuntimeError("emptying a test database failed") from self._failure

    def _clean(self) -> None:
        while (name := self._given_back.get()) is not None:
            try:
                emptied = self._emptied_or_dropped(name)
            except BaseException as error:  # the next acquire raises it
                self._failure, emptied = error, None
            self._emptied.put(emptied)

    def _emptied_or_dropped(self, name: str) -> str | None:
        """Database ``name`` emptied under a new name, or dropped (None) when its test
        changed its tables or a straggler held on to it."""
        with self._admin.connect() as connection:
            if self.backend == "mariadb":
                connection.execute(text("SET SESSION lock_wait_timeout = 30"))
            ended = connection.execute(text(_ENDING[self.backend]), {"name": name}).scalars()
            if self.backend == "mariadb":
                for process in ended.all():
                    connection.execute(text(f"KILL CONNECTION {int(process)}"))
        engine = create_engine(self._url(name), poolclass=NullPool)
        try:
            with engine.connect() as connection:
                reusable = self._schema_of(connection) == self._schema
                if reusable:
                    self._empty(connection)
                    connection.commit()
        finally:
            engine.dispose()
        if reusable:
            try:
                return self._rename(name)
            except OperationalError:  # a straggler connected again in between
                pass
        self._drop(name)
        return None

    def _url(self, name: str) -> str:
        return self._server.set(database=name).render_as_string(hide_password=False)

    def _new_name(self) -> str:
        with self._lock:
            self._count += 1
            return f"funnel_test_{self._session}_{self._count}"

    def _migrated(self) -> str:
        """A new database built by the funnel's migrations."""
        from flask_migrate import upgrade

        from landing import MIGRATIONS_DIR, create_app, funnel

        name = self._new_name()
        self._execute(f"CREATE DATABASE {name}")
        app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": self._url(name)})
        with app.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
            with funnel.db.engine.connect() as connection:
                schema = self._schema_of(connection)
            funnel.db.engine.dispose()
        if self._schema is None:
            self._schema = schema
        assert schema == self._schema, "the migrations built two different schemas"
        return name

    def _schema_of(self, connection) -> tuple:
        """The tables and columns of the connection's database, and its revision."""
        columns = connection.execute(text(_COLUMNS[self.backend])).all()
        revision = connection.execute(text(f"SELECT version_num FROM {_ALEMBIC}")).all()
        return tuple(sorted(tuple(row) for row in columns)), tuple(revision)

    def _empty(self, connection) -> None:
        """Empty the funnel's tables that hold a row and start the ids handed out at 1
        again. ``DELETE`` where it can: ``TRUNCATE`` makes new files, many times slower
        on tables this small; but MariaDB's ids start again only with a new table."""
        holding = set(connection.execute(text(_HOLDING)).scalars())
        counted = set(connection.execute(text(_COUNTED[self.backend])).scalars())
        if self.backend == "mariadb":
            connection.execute(text("SET SESSION foreign_key_checks = 0"))
            for table in sorted(counted):
                connection.execute(text(f"TRUNCATE TABLE {table}"))
            holding -= counted
        for table in reversed(metadata.sorted_tables):
            if table.name in holding:
                connection.execute(table.delete())
        # Deleting leads made their triggers count them out again: start from none.
        connection.execute(DailyCount.__table__.delete())
        if self.backend == "postgresql":
            for sequence in counted:
                connection.execute(text("SELECT setval(:s, 1, false)"), {"s": sequence})

    def _rename(self, name: str) -> str:
        """PostgreSQL: the database under a new name, the old one gone. MariaDB: the same
        name (see the module's docstring)."""
        if self.backend != "postgresql":
            return name
        fresh = self._new_name()
        self._execute(f"ALTER DATABASE {name} RENAME TO {fresh}")
        return fresh

    def _drop(self, name: str) -> None:
        force = " WITH (FORCE)" if self.backend == "postgresql" else ""
        self._execute(f"DROP DATABASE IF EXISTS {name}{force}")

    def _execute(self, statement: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(statement))
