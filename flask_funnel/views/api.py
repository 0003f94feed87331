"""The JSON API a shop calls: record a purchase (Bearer token from FUNNEL_API_TOKEN)."""

from __future__ import annotations

import hmac

from flask import Blueprint, abort, jsonify, request

from flask_funnel.leads.purchases import record_purchase
from flask_funnel.state import current_funnel
from flask_funnel.values import FieldError, is_storable

api = Blueprint("funnel_api", __name__)


@api.before_request
def _require_token():
    settings = current_funnel().settings
    request.max_content_length = settings.max_content_length
    expected = settings.api_token
    if not expected:
        abort(404)  # the API is off
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), str(expected).encode()):
        return jsonify(error="a valid Authorization: Bearer token is required"), 401
    return None


@api.errorhandler(400)
@api.errorhandler(404)
@api.errorhandler(405)
@api.errorhandler(413)
@api.errorhandler(429)
def _http_error(error):
    return jsonify(error=error.description), error.code


@api.post("/purchases")
def purchases():
    """Body: {"email", "amount", "currency", "at"?, "reference"?}. 201 when recorded,
    200 when the reference was recorded before with the same amount (nothing changes),
    409 when it was recorded with another, 422 on bad input (a time in the future too)."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes
        data = None
    if not isinstance(data, dict):
        return jsonify(error="the body must be a JSON object"), 400
    try:
        result = record_purchase(
            current_funnel().engine,
            email=_text(data, "email"),
            amount=_value(data, "amount", (str, int, float)),
            currency=_text(data, "currency"),
            at=_text(data, "at"),
            reference=_value(data, "reference", (str, int)),
            actor="api",
        )
    except FieldError as error:  # a reference seen with another amount: a conflict
        return jsonify(error=error.message, field=error.field), (
            409 if error.code == "conflict" else 422
        )
    body = {
        "purchase_id": result.purchase_id,
        "lead_id": result.lead_id,
        "stage": result.stage,
        "duplicate": result.duplicate,
    }
    return jsonify(body), 200 if result.duplicate else 201


_KIND_NAMES = {str: "a string", int: "a whole number", float: "a number"}


def _value(data: dict, key: str, kinds: tuple[type, ...]) -> object:
    """``data[key]`` when it is one of ``kinds`` (or absent: None), as a database can
    store it; else a ``FieldError`` naming the key."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise FieldError(key, "must be " + " or ".join(_KIND_NAMES[kind] for kind in kinds))
    if isinstance(value, str) and not is_storable(value):
        raise FieldError(key, "holds a character no database stores (NUL, a lone surrogate)")
    return str(value) if isinstance(value, int) else value


def _text(data: dict, key: str) -> str | None:
    return _value(data, key, (str,))
