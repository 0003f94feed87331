"""The ``Funnel`` extension: configuration, per-app state and the blueprint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine

from .config import DEFAULTS
from .geo import GeoLocator
from .models import metadata
from .pages import PageParser, PageRegistry
from .report_period import ReportSettings
from .sqlite_writer import tune_sqlite
from .visit_buffer import VisitBuffer

EXTENSION_KEY = "funnel"


@dataclass
class FunnelState:
    """What the extension keeps per app, in ``app.extensions["funnel"]``."""

    db: SQLAlchemy
    engine: Engine
    pages: PageRegistry
    geo: GeoLocator
    visits: VisitBuffer
    assets_dir: Path
    offers_dir: Path
    report: ReportSettings
    extension: Funnel

    @property
    def session(self):
        return self.db.session


class Funnel:
    """Landing pages, quizzes and lead capture for a Flask app.

    ``Funnel(app)`` or ``funnel = Funnel(); funnel.init_app(app)``. Pass ``db=`` to
    share the host's own Flask-SQLAlchemy instance: the funnel's tables are then
    added to ``db.metadata`` so the host's ``flask db migrate`` creates them.
    Without it the funnel makes its own ``SQLAlchemy`` whose metadata holds exactly
    the funnel's tables (``funnel.db``).
    """

    def __init__(self, app: Flask | None = None, *, db: SQLAlchemy | None = None):
        self.db = db if db is not None else SQLAlchemy(metadata=metadata)
        self._owns_db = db is None
        self.admin_authorizer: Callable[[], str | None] | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register the funnel on ``app``.

        Every ``FUNNEL_*`` key of :mod:`flask_funnel.config` gets its default with
        ``setdefault``; ``SQLALCHEMY_DATABASE_URI`` must be set when the funnel owns
        its database.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("Funnel is already registered on this app.")
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)

        if self._owns_db:
            self.db.init_app(app)
        else:
            if "sqlalchemy" not in app.extensions:
                raise RuntimeError("Call db.init_app(app) before funnel.init_app(app).")
            for table in metadata.sorted_tables:
                if table.name not in self.db.metadata.tables:
                    table.to_metadata(self.db.metadata)

        pages_dir = Path(app.config["FUNNEL_PAGES_DIR"] or Path(app.root_path) / "pages")
        assets_dir = Path(app.config["FUNNEL_ASSETS_DIR"] or pages_dir / "assets")
        offers_dir = Path(app.config["FUNNEL_OFFERS_DIR"] or pages_dir / "offers")
        parser = PageParser(assets_dir, offers_dir)
        report = ReportSettings.from_config(app.config)
        with app.app_context():
            engine = self.db.engine
        if app.config["FUNNEL_SQLITE_TUNING"]:
            tune_sqlite(engine)
        state = FunnelState(
            db=self.db,
            engine=engine,
            pages=PageRegistry(pages_dir, parser, app.config["FUNNEL_PAGES_RELOAD_SECONDS"]),
            geo=GeoLocator(app.config["FUNNEL_GEOIP_PATH"]),
            visits=VisitBuffer(
                engine,
                seconds=float(app.config["FUNNEL_VISIT_FLUSH_SECONDS"]),
                size=int(app.config["FUNNEL_VISIT_BATCH_SIZE"]),
            ),
            assets_dir=assets_dir,
            offers_dir=offers_dir,
            report=report,
            extension=self,
        )
        app.extensions[EXTENSION_KEY] = state

        from .cli import funnel_cli
        from .views.admin import admin
        from .views.api import api
        from .views.dashboard import dashboard
        from .views.public import public

        prefix = (app.config["FUNNEL_URL_PREFIX"] or "").rstrip("/")
        app.register_blueprint(admin, url_prefix=f"{prefix}/admin")
        app.register_blueprint(dashboard, url_prefix=f"{prefix}/admin")
        app.register_blueprint(api, url_prefix=f"{prefix}/api")
        app.register_blueprint(public, url_prefix=prefix or None)
        app.cli.add_command(funnel_cli)

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
        """Record a purchase of a lead (see :func:`flask_funnel.purchases.record_purchase`);
        call it inside an app context, e.g. from the shop's order-paid handler."""
        from .purchases import record_purchase

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


def current_funnel() -> FunnelState:
    """The funnel state of the current app; a clear error before ``init_app``."""
    try:
        return current_app.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError(
            "Funnel is not registered on this app: call Funnel(app) or funnel.init_app(app)."
        ) from None
