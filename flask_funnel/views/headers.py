"""Response headers every funnel answer carries, given by one app-wide hook
(``on_every_funnel_response``)."""

from __future__ import annotations

from flask import g, request

from flask_funnel.state import current_funnel

#: What Google's One Tap needs beyond the default policy (Google's documented CSP for
#: Google Identity Services), granted only to the pages that show it: those set
#: ``g._funnel_one_tap``. The POST it makes goes to this site, so ``form-action`` stays.
ONE_TAP_SOURCES = (
    "script-src 'self' https://accounts.google.com/gsi/client",
    "frame-src https://accounts.google.com/gsi/",
    "connect-src 'self' https://accounts.google.com/gsi/",
    "style-src 'self' https://accounts.google.com/gsi/style",
)


def content_security_policy(frame_ancestors: str, *, one_tap: bool = False) -> str:
    """The funnel's policy; with ``one_tap``, Google's script, frame and style too."""
    directives = [
        "default-src 'self'",
        *(ONE_TAP_SOURCES if one_tap else ()),
        "img-src 'self' https: data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ]
    return "; ".join(directives)


def apply_security_headers(response):
    frame_ancestors = current_funnel().settings.frame_ancestors
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        content_security_policy(frame_ancestors, one_tap=bool(g.get("_funnel_one_tap"))),
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint in ("funnel.static", "funnel.asset"):
        return response
    # Pages depend on the visitor's cookie and place: never from a shared cache.
    headers.setdefault("Cache-Control", "private, no-cache")
    response.vary.add("Cookie")
    return response


FUNNEL_BLUEPRINTS = ("funnel", "funnel_admin", "funnel_api")


def on_every_funnel_response(prefix: str):
    """An app-wide hook giving the security headers to every answer under the funnel's
    prefix: also the ones no funnel view made (an unknown address's 404, a 405) and the
    API's; the host's own pages are left alone."""

    def secure(response):
        blueprint = (request.blueprint or "").split(".")[0]
        under_prefix = bool(prefix) and (
            request.path == prefix or request.path.startswith(prefix + "/")
        )
        if blueprint in FUNNEL_BLUEPRINTS or under_prefix:
            apply_security_headers(response)
        return response

    return secure
