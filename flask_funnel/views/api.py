"""The JSON API a shop calls: record a purchase (Bearer token from FUNNEL_API_TOKEN)."""

from __future__ import annotations

import hmac

from flask import Blueprint, abort, jsonify, request

from flask_funnel.leads.purchases import record_purchase
from flask_funnel.state import current_funnel
from flask_funnel.values import FieldError

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
def _http_error(error):
    return jsonify(error=error.description), error.code


@api.post("/purchases")
def purchases():
    """Body: {"email", "amount", "currency", "at"?, "reference"?}. 201 when recorded,
    200 when the reference was recorded before (nothing changes), 422 on bad input."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error="the body must be a JSON object"), 400
    try:
        result = record_purchase(
            current_funnel().engine,
            email=data.get("email"),
            amount=data.get("amount"),
            currency=data.get("currency"),
            at=data.get("at"),
            reference=data.get("reference"),
            actor="api",
        )
    except FieldError as error:
        return jsonify(error=error.message, field=error.field), 422
    body = {
        "purchase_id": result.purchase_id,
        "lead_id": result.lead_id,
        "stage": result.stage,
        "duplicate": result.duplicate,
    }
    return jsonify(body), 200 if result.duplicate else 201
