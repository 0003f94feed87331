"""Routes of the host that would hide the funnel's: found at start-up and by
``flask funnel pages``, never by a visitor who lands on the wrong page."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

FUNNEL_BLUEPRINTS = ("funnel", "funnel_admin", "funnel_api")


def route_conflicts(app: Flask, prefix: str, slugs: list[str]) -> list[str]:
    """A sentence for each funnel address that one of the host's routes answers instead."""
    adapter = app.url_map.bind("localhost")
    probes = [
        ("GET", f"{prefix}/admin/"),
        ("GET", f"{prefix}/admin/sign-in"),
        ("POST", f"{prefix}/api/purchases"),
        ("GET", f"{prefix}/assets/image.svg"),
        ("GET", f"{prefix}/static/funnel.css"),
    ]
    for slug in slugs:
        probes += [("GET", f"{prefix}/{slug}"), ("GET", f"{prefix}/{slug}/quiz")]
    conflicts = []
    for method, path in probes:
        try:
            endpoint, _ = adapter.match(path, method=method)
        except (HTTPException, RequestRedirect):
            continue  # nobody answers it: not the funnel's page either, but no host route
        if endpoint.split(".", 1)[0] not in FUNNEL_BLUEPRINTS:
            rule = next(r.rule for r in app.url_map.iter_rules(endpoint))
            conflicts.append(
                f"{path}: the host's route {rule!r} ({endpoint}) answers it instead of the "
                "funnel; change FUNNEL_URL_PREFIX or that route"
            )
    return conflicts
