"""The ``Funnel`` extension: wiring only. ``init_app`` reads the settings once, builds
the per-app state and hands the app to each part (database, views, CLI)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_funnel.auth import google
from flask_funnel.auth.pending import PendingStore
from flask_funnel.auth.sign_in_brake import SignInBrake
from flask_funnel.capture.geo import GeoLocator
from flask_funnel.capture.visit_buffer import VisitBuffer
from flask_funnel.counters import Counters
from flask_funnel.db.errors import withhold_row_values
from flask_funnel.db.migrate import wire_flask_migrate
from flask_funnel.db.models import metadata
from flask_funnel.db.sqlite_writer import check_database_location, tune_sqlite
from flask_funnel.pages.parser import PageParser
from flask_funnel.pages.registry import PageRegistry
from flask_funnel.settings import DEFAULTS, Settings
from flask_funnel.state import EXTENSION_KEY, FunnelState, current_funnel
from flask_funnel.views.conflicts import route_conflicts
from flask_funnel.views.limits import init_limits


class Funnel:
    """Landing pages, quizzes and lead capture for a Flask app.

    ``Funnel(app)`` or ``funnel = Funnel(); funnel.init_app(app)``. Pass ``db=`` to
    share the host's own Flask-SQLAlchemy instance: the funnel's tables are then
    added to ``db.metadata``. Without it the funnel makes its own ``SQLAlchemy`` whose
    metadata holds exactly the funnel's tables (``funnel.db``).
    """

    def __init__(self, app: Flask | None = None, *, db: SQLAlchemy | None = None):
        self.db = db if db is not None else SQLAlchemy(metadata=metadata)
        self._owns_db = db is None
        self.admin_authorizer: Callable[[], str | None] | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the funnel on ``app``.

        Every ``FUNNEL_*`` key of :mod:`flask_funnel.settings` gets its default with
        ``setdefault`` and is checked once here; ``SQLALCHEMY_DATABASE_URI`` must be
        set when the funnel owns its database.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("Funnel is already registered on this app.")
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        settings = Settings.from_config(app.config, app.root_path)
        if not app.config.get("SECRET_KEY"):
            raise RuntimeError(
                "flask-funnel needs app.config['SECRET_KEY'] set before funnel.init_app(app):"
                " quiz forms, result links and admin sessions are signed with it. Read it"
                " from the environment or an instance file; never commit it."
            )

        if self._owns_db:
            self.db.init_app(app)
        else:
            if "sqlalchemy" not in app.extensions:
                raise RuntimeError("Call db.init_app(app) before funnel.init_app(app).")
            for table in metadata.sorted_tables:
                if table.name not in self.db.metadata.tables:
                    table.to_metadata(self.db.metadata)

        with app.app_context():
            engine = self.db.engine
        check_database_location(engine)
        # The funnel's rows hold emails and names: a failed statement's parameters must
        # not reach the logs (SQLAlchemy shows them in every database error's text, and
        # PostgreSQL and MariaDB quote the row in their own messages).
        engine.hide_parameters = True
        withhold_row_values(engine)
        if settings.sqlite_tuning:
            tune_sqlite(engine)
        counters = Counters(settings.rate_limits.storage_uri)
        app.extensions[EXTENSION_KEY] = FunnelState(
            db=self.db,
            engine=engine,
            settings=settings,
            pages=PageRegistry(
                settings.pages_dir,
                PageParser(settings.assets_dir, settings.offers_dir),
                settings.pages_reload_seconds,
                settings.pages_cache_dir or Path(app.instance_path) / "flask_funnel" / "pages",
            ),
            geo=GeoLocator(settings.geoip_path),
            visits=VisitBuffer(
                engine, seconds=settings.visit_flush_seconds, size=settings.visit_batch_size
            ),
            pending=PendingStore(engine),
            counters=counters,
            sign_in_brake=SignInBrake(
                counters, settings.admin_max_failures, settings.admin_failure_window_minutes
            ),
            extension=self,
        )

        if settings.mail_from and "mailman" not in app.extensions:
            from flask_mailman import Mail  # the host's own Mail(app), when it has one

            Mail().init_app(app)
        google.init_app(app, settings.google, app.extensions[EXTENSION_KEY].pending)
        from flask_funnel import cli, views

        views.init_app(app, settings.url_prefix)
        views.exempt_from_host_csrf(app)
        app.extensions[EXTENSION_KEY].limiter = init_limits(app, settings)
        conflicts = route_conflicts(
            app,
            settings.url_prefix,
            [page.slug for page in app.extensions[EXTENSION_KEY].pages.pages()],
        )
        if conflicts:
            raise RuntimeError("flask-funnel: " + "; ".join(conflicts))
        cli.init_app(app)
        wire_flask_migrate(app, settings.migrations)

    def authorize_admins(self, callback: Callable[[], str | None]) -> Callable[[], str | None]:
        """Let the host's own users into the admin area (a decorator).

        ``callback`` runs in the request and returns the name to record as the
        actor (e.g. the user's email) when the current user may administer the
        funnel, or None. Local accounts keep working beside it."""
        self.admin_authorizer = callback
        return callback

    def record_purchase(
        self,
        *,
        email: str | None = None,
        lead_id: int | None = None,
        amount: object,
        currency: str,
        at: object | None = None,
        reference: str | None = None,
        actor: str = "python",
    ):
        """Record a purchase of a lead (see :func:`flask_funnel.leads.purchases.record_purchase`);
        call it inside an app context, e.g. from the shop's order-paid handler."""
        from flask_funnel.leads.purchases import record_purchase

        return record_purchase(
            current_funnel().engine,
            email=email,
            lead_id=lead_id,
            amount=amount,
            currency=currency,
            at=at,
            reference=reference,
            actor=actor,
        )
