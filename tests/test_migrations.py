"""The schema comes from Alembic revisions; they must match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from flask_funnel.models import metadata
from landing import MIGRATIONS_DIR, create_app


def test_migrations_build_the_whole_schema_on_an_empty_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), metadata)
        assert diff == [], f"models and migrations differ: {diff}"
    finally:
        engine.dispose()
    with app.app_context():
        downgrade(directory=str(MIGRATIONS_DIR), revision="base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()


def test_migrated_database_accepts_a_quiz_submission(tmp_path):
    from conftest import Visitor

    url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    app = create_app(
        {"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url, "FUNNEL_MIN_FILL_SECONDS": 0}
    )
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
    assert Visitor(app.test_client()).submit().status_code == 303
