"""The admin's preview of a page as a visitor from some place: a signed parameter that
expires, works only in a signed-in admin's browser, and records nothing."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from flask_funnel.auth import admin_session
from flask_funnel.capture.geo import Place

#: The query parameter that carries a preview.
PARAM = "preview"
#: Seconds a preview link works.
MAX_AGE = 3600
_SALT = "flask-funnel-preview"


@dataclass(frozen=True)
class Preview:
    """Who the admin looks as: a place, what their browser asks for, and the A/B
    variant shown (None: the page without its test's changes)."""

    place: Place
    accept_language: str = ""
    variant: str | None = None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def preview_token(preview: Preview) -> str:
    place = preview.place
    return _serializer().dumps(
        [
            place.country,
            place.city,
            place.region,
            place.continent,
            preview.accept_language,
            preview.variant,
        ]
    )


def current_preview() -> Preview | None:
    """The preview this request asks for, None when it asks for none; a forged, expired
    or non-admin preview is refused (403) rather than served as a visit."""
    token = request.values.get(PARAM)
    if not token:
        return None
    if admin_session.current_admin() is None:
        abort(403)
    try:
        country, city, region, continent, accept, *rest = _serializer().loads(
            token, max_age=MAX_AGE
        )
    except (BadSignature, TypeError, ValueError):
        abort(403)
    variant = rest[0] if rest else None  # links made before previews showed variants
    return Preview(Place(country, city, region, continent), accept or "", variant)
