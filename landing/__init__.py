"""The demo host site: a small coffee roaster that embeds flask-funnel.

It shows the whole embedding a site owner does: configure, ``funnel.init_app(app)``,
``migrate.init_app(app, funnel.db)``, page files in ``landing/pages/``, and the quiz in
the site's own home page (``{{ funnel_quiz("home-brewing") }}``).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from flask import Flask, render_template
from flask_migrate import Migrate

from flask_funnel import Funnel
from flask_funnel.state import current_funnel

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

funnel = Funnel()
migrate = Migrate()


def create_app(test_config: Mapping | None = None) -> Flask:
    """The demo app. ``test_config`` overrides every other source of settings."""
    app = Flask(__name__, instance_relative_config=True)
    try:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RuntimeError(
            f"The instance folder {app.instance_path} cannot be created ({error.strerror}):"
            " make it writable, or set SECRET_KEY and DATABASE_URL in the environment"
        ) from None
    app.config.update(
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        FUNNEL_URL_PREFIX="/p",
        FUNNEL_BASE_TEMPLATE="site.html",
    )
    app.config.update(_settings_from_environment(os.environ))
    if test_config is not None:
        app.config.update(test_config)
    if "FUNNEL_GEOIP_PATH" not in app.config:
        # The extension has no database of its own; the demo brings one when it can.
        embedded = embedded_geoip_path()
        if embedded is not None:
            app.config["FUNNEL_GEOIP_PATH"] = embedded
            app.config["LANDING_GEOLITE2_ATTRIBUTION"] = True
            app.logger.warning(
                "Using the GeoLite2 City database of maxminddb-geolite2 (July 2018 data)"
                " at %s; set FUNNEL_GEOIP_PATH to a current one",
                embedded,
            )
    app.config.setdefault("SECRET_KEY", None)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        database = Path(app.instance_path) / "funnel.sqlite3"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
        _warn_on_first_request(app, "Using the embedded SQLite database at %s", database)
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A server may close idle connections; an SQLite file cannot.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})

    funnel.init_app(app)
    migrate.init_app(app, funnel.db, directory=str(MIGRATIONS_DIR), render_as_batch=True)

    @app.get("/")
    def home():
        return render_template("home.html", pages=current_funnel().pages.pages())

    return app


def _warn_on_first_request(app: Flask, message: str, *args: object) -> None:
    """Log a warning for a site that serves traffic once, on its first request, so that
    ``flask funnel`` and ``flask db`` commands run on the same app stay quiet."""
    unsaid = [True]

    @app.before_request
    def warn_once() -> None:
        if unsaid:
            unsaid.clear()
            app.logger.warning(message, *args)


def _settings_from_environment(environ: Mapping[str, str]) -> dict:
    """``SECRET_KEY``, ``DATABASE_URL`` / ``SQLALCHEMY_DATABASE_URI`` and every
    ``FUNNEL_*`` variable; values that parse as JSON (numbers, true, null) are typed."""
    settings: dict[str, object] = {}
    if environ.get("SECRET_KEY"):
        settings["SECRET_KEY"] = environ["SECRET_KEY"]
    database = environ.get("SQLALCHEMY_DATABASE_URI") or environ.get("DATABASE_URL")
    if database:
        settings["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(database)
    for key, value in environ.items():
        if key.startswith("FUNNEL_"):
            try:
                settings[key] = json.loads(value)
            except ValueError:
                settings[key] = value
    return settings


def embedded_geoip_path() -> str | None:
    """The GeoLite2 City file the maxminddb-geolite2 package ships (``pip install -e
    '.[demo]'``), or None when it is not installed. Its data are from July 2018, by
    MaxMind under CC BY-SA 4.0: pages that use them say so (the footer of site.html)."""
    try:
        from geolite2 import geolite2
    except ImportError:
        return None
    return geolite2.filename


def _sqlalchemy_url(url: str) -> str:
    """Hosting platforms hand out ``postgres://`` and ``mysql://`` URLs; name the driver."""
    for prefix, replacement in (
        ("postgres://", "postgresql+psycopg://"),
        ("postgresql://", "postgresql+psycopg://"),
        ("mysql://", "mysql+pymysql://"),
        ("mariadb://", "mysql+pymysql://"),
    ):
        if url.startswith(prefix):
            return replacement + url[len(prefix) :]
    return url


def _instance_secret(instance: Path) -> str:
    """A random key kept in the instance folder, so sessions survive restarts."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
