"""Webhook events on the wire: a JSON POST of the event to its endpoint, signed with the
endpoint's secret. The ``Funnel-Signature`` header is ``t=<unix time>,v1=<hex
HMAC-SHA256 of "<t>.<body>">``, so a receiver checks the body came from this site and
is recent. ``Funnel-Event-Id`` is the event's id: the same on every try and for every
endpoint, so a receiver drops what it has seen. ``leads.delivery`` decides when.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import requests

from flask_funnel.settings import WebhookEndpoint


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Funnel-Signature`` header of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def post(http, endpoint: WebhookEndpoint, message, timeout: float):
    """The status and, unless it was a delivery, what went wrong."""
    body = message.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "flask-funnel webhooks",
        "Funnel-Event": message.event,
        "Funnel-Event-Id": message.event_id,
        "Funnel-Delivery": str(message.id),
        "Funnel-Signature": signature(endpoint.secret, body, int(time.time())),
    }
    try:
        response = http.post(
            endpoint.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        )
    except requests.Timeout:
        return None, f"no answer within {timeout:g} s"
    except requests.RequestException as error:
        return None, f"{type(error).__name__}: could not connect"
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"answered {response.status_code}"
