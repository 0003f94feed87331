"""Response headers every funnel answer carries, given by one app-wide hook
(``on_every_funnel_response``)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from functools import lru_cache

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


def content_security_policy(
    frame_ancestors: str,
    *,
    one_tap: bool = False,
    extra: Mapping[str, tuple[str, ...]] | None = None,
    nonce: str | None = None,
) -> str:
    """The funnel's policy; with ``one_tap``, Google's script, frame and style too; with
    ``extra`` (FUNNEL_CSP as a dict), more sources per directive (a fetch directive it
    adds keeps ``'self'``); with ``nonce``, scripts and styles that carry it."""
    extra_sources = tuple((extra or {}).items())
    policy = _policy(frame_ancestors, one_tap, extra_sources, with_nonce=bool(nonce))
    return policy.replace(_NONCE, nonce) if nonce else policy


#: Stands for the nonce in a cached policy: a line break, which no source can hold.
_NONCE = "\n"


@lru_cache(maxsize=64)
def _policy(
    frame_ancestors: str,
    one_tap: bool,
    extra: tuple[tuple[str, tuple[str, ...]], ...],
    *,
    with_nonce: bool,
) -> str:
    policy: dict[str, list[str]] = {"default-src": ["'self'"]}
    for directive in ONE_TAP_SOURCES if one_tap else ():
        name, *sources = directive.split()
        policy[name] = sources
    policy |= {
        "img-src": ["'self'", "https:", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": [frame_ancestors],
    }
    for name, sources in extra:
        now = policy.setdefault(name, ["'self'"] if name.endswith("-src") else [])
        now += [source for source in sources if source not in now]
    if with_nonce:
        for name in ("script-src", "style-src"):
            policy.setdefault(name, ["'self'"]).append(f"'nonce-{_NONCE}'")
    return "; ".join(" ".join((name, *sources)) for name, sources in policy.items())


def csp_nonce() -> str:
    """This response's nonce, for the host's layout: ``<script nonce="{{ csp_nonce() }}">``
    (its inline scripts and styles then pass the funnel's policy)."""
    if "_funnel_csp_nonce" not in g:
        g._funnel_csp_nonce = secrets.token_urlsafe(16)
    return g._funnel_csp_nonce


def apply_security_headers(response):
    settings = current_funnel().settings
    headers = response.headers
    nonce = g.get("_funnel_csp_nonce")
    if isinstance(settings.csp, str):  # the host's own policy, its nonce filled in
        headers.setdefault("Content-Security-Policy", settings.csp.replace("{nonce}", nonce or ""))
    elif settings.csp is not False:
        policy = content_security_policy(
            settings.frame_ancestors,
            one_tap=bool(g.get("_funnel_one_tap")),
            extra=settings.csp,
            nonce=nonce,
        )
        headers.setdefault("Content-Security-Policy", policy)
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
