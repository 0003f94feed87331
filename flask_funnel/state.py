"""The funnel's per-app state and the proxy to it: a leaf module that every layer may
import, so nothing below the package face needs ``extension.py``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from flask_limiter import Limiter
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy import Engine

    from flask_funnel.auth.pending import PendingStore
    from flask_funnel.auth.sign_in_brake import SignInBrake
    from flask_funnel.capture.geo import GeoLocator
    from flask_funnel.capture.visit_buffer import VisitBuffer
    from flask_funnel.counters import Counters
    from flask_funnel.extension import Funnel
    from flask_funnel.pages.registry import PageRegistry
    from flask_funnel.settings import Settings

EXTENSION_KEY = "funnel"


@dataclass
class FunnelState:
    """What the extension keeps per app, in ``app.extensions["funnel"]``."""

    db: SQLAlchemy
    engine: Engine
    settings: Settings
    pages: PageRegistry
    geo: GeoLocator
    visits: VisitBuffer
    pending: PendingStore
    counters: Counters
    sign_in_brake: SignInBrake
    extension: Funnel
    #: The funnel's rate limits (``views/limits.py``), set once its views are registered.
    limiter: Limiter | None = None
    #: The address of each page image, per script root (``views.public.routes.asset_url``).
    asset_urls: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def session(self):
        return self.db.session


def current_funnel() -> FunnelState:
    """The funnel state of the current app; a clear error before ``init_app``."""
    try:
        return current_app.extensions[EXTENSION_KEY]
    except KeyError:
        raise RuntimeError(
            "Funnel is not registered on this app: call Funnel(app) or funnel.init_app(app)."
        ) from None
