"""A site owner's app with its own models and its own migrations folder gets the funnel's
tables from its own ``flask db upgrade``: the revisions ship inside the package."""

from __future__ import annotations

import logging

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import BACKENDS, DATABASE, DEMO_PAGES, Visitor
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_funnel import Funnel
from flask_funnel.db import daily_counts
from flask_funnel.db.migrate import VERSIONS_DIR
from flask_funnel.db.models import Lead, metadata

#: The newest of the revisions the funnel ships (named 0001_..., 0002_..., ...).
FUNNEL_HEAD = max(path.name.split("_")[0] for path in VERSIONS_DIR.glob("[0-9]*.py"))

# The env.py that `flask db init` writes still tries Flask-SQLAlchemy 2's get_engine().
pytestmark = pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")


def host_app(tmp_path, url: str, *, funnel_first: bool = False, **config) -> Flask:
    """A host app written the way the README tells a site owner to write one."""

    class HostBase(DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=HostBase)

    class Customer(db.Model):
        __tablename__ = "customers"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(db.String(100))

    app = Flask("host", root_path=str(tmp_path))
    app.config.update(
        SECRET_KEY="host-secret",
        SQLALCHEMY_DATABASE_URI=url,
        FUNNEL_PAGES_DIR=str(DEMO_PAGES),
        FUNNEL_MIN_FILL_SECONDS=0,
        **config,
    )
    db.init_app(app)
    migrate, funnel = Migrate(directory=str(tmp_path / "migrations")), Funnel(db=db)
    for register in (
        (lambda: funnel.init_app(app), lambda: migrate.init_app(app, db))
        if funnel_first
        else (lambda: migrate.init_app(app, db), lambda: funnel.init_app(app))
    ):
        register()
    app.extensions["host_db"] = db
    return app


def flask_db(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["db", *args])
    # The env.py `flask db init` writes calls fileConfig(), which switches off every
    # logger that exists: harmless in its own process, not in the test run.
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("flask_funnel"):
            logging.getLogger(name).disabled = False
    assert result.exit_code == 0, result.output
    return result.output


def own_revisions(tmp_path) -> list:
    return sorted((tmp_path / "migrations" / "versions").glob("*.py"))


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def applied(url: str) -> set[str]:
    """The revisions the database is at (one per head)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(
                connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
            )
    finally:
        engine.dispose()


def dispose(app: Flask) -> None:
    with app.app_context():
        app.extensions["host_db"].engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_new_host_gets_the_funnel_tables_from_its_own_upgrade(backend, tmp_path, fresh_database):
    url = fresh_database(backend)
    app = host_app(tmp_path, url)
    try:
        flask_db(app, "init")
        flask_db(app, "upgrade")  # the funnel's revisions: the host has none yet
        assert set(metadata.tables) <= tables(url)
        flask_db(app, "migrate", "-m", "customers")
        [revision] = own_revisions(tmp_path)
        source = revision.read_text()
        assert "customers" in source and "funnel_" not in source  # the funnel's are shipped
        flask_db(app, "upgrade")  # two trees now: both heads arrive
        assert {"customers", *metadata.tables} <= tables(url)

        engine = create_engine(url)
        with engine.connect() as connection:
            host_metadata = app.extensions["host_db"].metadata
            diff = compare_metadata(MigrationContext.configure(connection), host_metadata)
        engine.dispose()
        assert diff == [], f"models and migrated tables differ: {diff}"
        assert FUNNEL_HEAD in applied(url) and len(applied(url)) == 2  # funnel and host heads

        assert Visitor(app.test_client(), prefix="/funnel").submit().status_code == 303
        with app.app_context():
            session = app.extensions["host_db"].session
            assert session.scalar(select(func.count()).select_from(Lead)) == 1
            session.remove()
    finally:
        dispose(app)


def test_the_hosts_next_revision_builds_on_its_own_head(tmp_path, fresh_database):
    url = fresh_database(DATABASE)
    app = host_app(tmp_path, url, funnel_first=True)
    try:
        flask_db(app, "init")
        flask_db(app, "upgrade")
        flask_db(app, "migrate", "-m", "customers")
        flask_db(app, "upgrade")
        flask_db(app, "migrate", "-m", "nothing changed")
        assert len(own_revisions(tmp_path)) == 1  # no empty revision
        [first] = own_revisions(tmp_path)
        first_id = first.name.split("_")[0]
        # A manual revision (no autogenerate) still lands on the host's branch.
        flask_db(app, "revision", "-m", "data fix")
        second = next(p for p in own_revisions(tmp_path) if p != first)
        assert f"down_revision = '{first_id}'" in second.read_text()
        flask_db(app, "upgrade")
        assert applied(url) == {FUNNEL_HEAD, second.name.split("_")[0]}
    finally:
        dispose(app)


def test_a_host_that_generates_the_funnel_tables_itself_gets_runnable_revisions(
    tmp_path, fresh_database
):
    url = fresh_database(DATABASE)
    app = host_app(tmp_path, url, FUNNEL_MIGRATIONS="host")
    try:
        flask_db(app, "init")
        flask_db(app, "migrate", "-m", "everything")
        [revision] = own_revisions(tmp_path)
        source = revision.read_text()
        assert "import flask_funnel.db.types" in source
        assert "flask_funnel.db.types.UTCDateTime()" in source
        flask_db(app, "upgrade")  # would be a NameError without the import
        assert {"customers", *metadata.tables} <= tables(url)

        # Its revisions have no triggers: the report counts the leads themselves until
        # `flask funnel recount` installs them.
        runner = app.test_cli_runner()
        engine = create_engine(url)
        with engine.connect() as connection:
            assert not daily_counts.installed(connection)
            assert not daily_counts.installed(connection, daily_counts.LOSS_SOURCE)
        assert runner.invoke(args=["funnel", "report", "--json"]).exit_code == 0
        result = runner.invoke(args=["funnel", "recount"])
        assert result.exit_code == 0, result.output
        assert "the triggers keep them from now on" in result.output
        with engine.connect() as connection:
            assert daily_counts.installed(connection)
            assert daily_counts.installed(connection, daily_counts.LOSS_SOURCE)
        engine.dispose()
    finally:
        dispose(app)


def test_upgrading_a_database_made_by_the_first_revisions_keeps_every_row(tmp_path, fresh_database):
    url = fresh_database(DATABASE)
    app = host_app(tmp_path, url)
    try:
        flask_db(app, "init")
        flask_db(app, "upgrade", "0002")
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO funnel_leads (email, name, stage, stage_changed_at, quarantined,"
                    " created_at, updated_at) VALUES ('ann@example.com', 'Ann Lee', 'sql',"
                    " '2026-01-02 00:00:00', FALSE, '2026-01-01 00:00:00', '2026-01-02 00:00:00')"
                )
            )
        flask_db(app, "upgrade")
        with engine.connect() as connection:
            row = connection.execute(text("SELECT email, name, stage FROM funnel_leads")).one()
            terms = connection.execute(text("SELECT term FROM funnel_lead_terms")).scalars().all()
        engine.dispose()
        assert tuple(row) == ("ann@example.com", "Ann Lee", "sql")
        assert sorted(terms) == ["@example.com", "ann", "lee"]  # names (0003), domains (0017)
    finally:
        dispose(app)
