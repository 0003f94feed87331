"""gunicorn settings for a site that embeds the funnel: light workers.

    gunicorn -c python:flask_funnel.gunicorn_config --workers 4 wsgi:app

``preload_app`` loads the app once, in the master, and forks the workers from it, so
the code and data every worker holds are shared pages rather than one copy each.
``when_ready`` then renders each funnel page in every language (``warm_up``: templates
compiled, catalogues and forms built, in the master, before any worker exists) and
freezes what the master holds out of the garbage collector, whose passes would
otherwise write to every object and give each worker its own copy of the pages.
A site's own config file can take these two instead::

    from flask_funnel.gunicorn_config import preload_app, when_ready  # noqa: F401

Measured in ``bench/journey.py`` (see the README).
"""

from __future__ import annotations

import gc
import logging

from flask import Flask

from flask_funnel.state import current_funnel
from flask_funnel.views.public.warm_up import warm_up

preload_app = True
log = logging.getLogger("flask_funnel.gunicorn")


def when_ready(server) -> None:
    """In the master, after the app is loaded and before the first worker forks."""
    app = getattr(server.app, "callable", None)  # set when the app was preloaded
    if isinstance(app, Flask) and "funnel" in app.extensions:
        warm_up(app)
        with app.app_context():  # no connection opened here may reach a worker
            current_funnel().engine.dispose()
    elif app is None:
        log.warning("flask_funnel.gunicorn_config: the app is not preloaded; nothing warmed")
    gc.collect()
    gc.freeze()
