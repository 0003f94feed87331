"""Response headers every funnel page carries."""

from __future__ import annotations

from flask import request

from flask_funnel.state import current_funnel


def apply_security_headers(response):
    frame_ancestors = current_funnel().settings.frame_ancestors
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' https: data:; object-src 'none'; "
        f"base-uri 'none'; form-action 'self'; frame-ancestors {frame_ancestors}",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint in ("funnel.static", "funnel.asset"):
        return response
    # Pages depend on the visitor's cookie and place: never from a shared cache.
    headers.setdefault("Cache-Control", "private, no-cache")
    headers.add("Vary", "Cookie")
    return response
