"""A shop's own Flask app embedding the funnel the way the README says, with the
shop's own database, migrations and table beside the funnel's.

``tests/test_installed_wheel.py`` copies this file into an empty folder, next to a
copy of the demo pages, and runs it with a virtualenv where the wheel is installed:
``flask --app host_app funnel pages``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from flask_funnel import Funnel

HERE = Path(__file__).resolve().parent

db = SQLAlchemy()
migrate = Migrate()
funnel = Funnel(db=db)


class Customer(db.Model):
    """The shop's own table: the funnel's tables live in the same database."""

    __tablename__ = "customers"
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), nullable=False, unique=True)


def create_app(test_config: Mapping | None = None) -> Flask:
    """The shop. ``SECRET_KEY`` and ``DATABASE_URL`` come from the environment."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ["SECRET_KEY"],
        SQLALCHEMY_DATABASE_URI=os.environ["DATABASE_URL"],
        FUNNEL_PAGES_DIR=str(HERE / "pages"),
    )
    if test_config is not None:
        app.config.update(test_config)
    db.init_app(app)
    migrate.init_app(app, db)
    funnel.init_app(app)
    return app
