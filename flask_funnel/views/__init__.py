"""The funnel's web face: public pages, the admin area and the JSON API."""

from __future__ import annotations

from flask import Flask

from flask_funnel.views import headers
from flask_funnel.views.https_cookies import secure_session_cookie_over_https


def init_app(app: Flask, prefix: str) -> None:
    """Mount the blueprints under ``prefix`` (``""`` for the site's root)."""
    from flask_funnel.views.admin import admin
    from flask_funnel.views.api import api
    from flask_funnel.views.public import google, one_tap  # noqa: F401  (their routes join public)
    from flask_funnel.views.public.embed import funnel_quiz
    from flask_funnel.views.public.routes import public

    app.register_blueprint(admin, url_prefix=f"{prefix}/admin")
    app.register_blueprint(api, url_prefix=f"{prefix}/api")
    app.register_blueprint(public, url_prefix=prefix or None)
    app.add_template_global(funnel_quiz)  # {{ funnel_quiz("slug") }} in the host's templates
    app.add_template_global(headers.csp_nonce)  # <script nonce="{{ csp_nonce() }}">
    secure_session_cookie_over_https(app)
    app.after_request(headers.on_every_funnel_response(prefix))


#: Views that take a POST no form of this site made, proven otherwise: the one-click
#: unsubscribe of mail programs (RFC 8058, a signed token) and Google's One Tap (its
#: double-submit cookie). A host's global CSRFProtect would refuse them.
CSRF_EXEMPT = (
    "flask_funnel.views.public.routes.unsubscribe",
    "flask_funnel.views.public.one_tap.google_one_tap",
)


def exempt_from_host_csrf(app: Flask) -> None:
    """With a host's ``CSRFProtect(app)`` made before ``funnel.init_app``, exempt them
    (made after: ``csrf.exempt`` each name in ``CSRF_EXEMPT``, as the README says)."""
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        for view in CSRF_EXEMPT:
            csrf.exempt(view)
