"""Cookies sent over HTTPS are marked ``Secure``.

The admin's sign-in lives in the host's Flask session cookie, which Flask marks
``Secure`` only when the host sets ``SESSION_COOKIE_SECURE``; most never do, and the
admin's session would then also travel over plain HTTP to the same host. When the host
keeps Flask's own session interface, the funnel swaps in one that also marks the cookie
``Secure`` whenever the request came over HTTPS (behind a proxy, with Werkzeug's
``ProxyFix``, so that ``request.is_secure`` is true). A host with its own session
interface (Flask-Session, ...) keeps it untouched and sets ``SESSION_COOKIE_SECURE``.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def secure_session_cookie_over_https(app: Flask) -> None:
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = HttpsAwareSessionInterface()
