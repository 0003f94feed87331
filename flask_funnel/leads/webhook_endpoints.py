"""Where webhooks go: the endpoints of ``FUNNEL_WEBHOOKS`` and those an admin added in
the admin area (``funnel_webhook_endpoints``).

An address an admin types is checked before it is kept and again before each send: it
must be http(s) and every address its host name resolves to must be a public one, so
the admin area cannot be used to make the site call its own network (the cloud's
metadata service, a database's admin port). ``FUNNEL_WEBHOOK_ALLOW_PRIVATE`` lifts
that for a CRM on the same private network.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import socket
import time
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, delete, insert, select

from flask_funnel.db.models import WebhookEndpointRow
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.db.types import utcnow
from flask_funnel.leads import audit
from flask_funnel.settings import WEBHOOK_EVENTS, WebhookEndpoint, WebhookSettings
from flask_funnel.values import FieldError

NAME = re.compile(r"[a-z0-9_-]{1,40}")
#: Seconds the admin's endpoints are read from the database at most once per process.
CACHE_SECONDS = 5.0
_table = WebhookEndpointRow.__table__
_cache: dict[int, tuple[float, tuple[WebhookEndpoint, ...]]] = {}


def all_endpoints(
    engine: Engine, settings: WebhookSettings, connection: Connection | None = None
) -> tuple[WebhookEndpoint, ...]:
    """The configured endpoints, then the admin's (read again after ``CACHE_SECONDS``;
    through ``connection`` when the caller is in a transaction: a second connection
    from the pool there could wait for ever while every request holds one)."""
    now = time.monotonic()
    cached = _cache.get(id(engine))
    if cached is None or now - cached[0] > CACHE_SECONDS:
        if connection is None:
            with engine.connect() as own:
                rows = own.execute(select(_table).order_by(_table.c.id)).all()
        else:
            rows = connection.execute(select(_table).order_by(_table.c.id)).all()
        added = tuple(
            WebhookEndpoint(row.name, row.url, row.secret, frozenset(row.events.split(",")))
            for row in rows
        )
        cached = _cache[id(engine)] = (now, added)
    return settings.endpoints + cached[1]


def forget_cache(engine: Engine) -> None:
    _cache.pop(id(engine), None)


def added_endpoints(engine: Engine) -> list:
    with engine.connect() as connection:
        return connection.execute(select(_table).order_by(_table.c.id)).all()


def add_endpoint(
    engine: Engine,
    settings: WebhookSettings,
    *,
    name: str,
    url: str,
    events: list[str],
    actor: str,
    allow_private: bool,
) -> str:
    """Keep a new endpoint; its secret (shown once: nobody can read it back)."""
    name, url = (name or "").strip(), (url or "").strip()
    if not NAME.fullmatch(name):
        raise FieldError("name", "use 1 to 40 of a-z, 0-9, '_' and '-'", "invalid")
    taken = {e.name for e in all_endpoints(engine, settings)}
    if name in taken:
        raise FieldError("name", "is already the name of an endpoint", "taken")
    problem = unsafe_address(url, allow_private)
    if problem:
        raise FieldError("url", problem, "unsafe")
    if not events or not set(events) <= set(WEBHOOK_EVENTS):
        raise FieldError("events", "pick at least one event", "required")
    secret = secrets.token_urlsafe(32)
    with writing(engine) as connection:
        connection.execute(
            insert(_table),
            {
                "name": name,
                "url": url,
                "secret": secret,
                "events": ",".join(e for e in WEBHOOK_EVENTS if e in events),
                "created_at": utcnow(),
                "created_by": actor[:254],
            },
        )
        audit.record(connection, actor, audit.WEBHOOK_ENDPOINT, detail=f"added {name}: {url}")
    forget_cache(engine)
    return secret


def remove_endpoint(engine: Engine, endpoint_id: int, actor: str) -> bool:
    """Forget an endpoint an admin added (its messages still waiting are given up)."""
    with writing(engine) as connection:
        name = connection.execute(select(_table.c.name).where(_table.c.id == endpoint_id)).scalar()
        if name is None:
            return False
        connection.execute(delete(_table).where(_table.c.id == endpoint_id))
        audit.record(connection, actor, audit.WEBHOOK_ENDPOINT, detail=f"removed {name}")
    forget_cache(engine)
    return True


def unsafe_address(url: str, allow_private: bool) -> str | None:
    """Why the site must not post to ``url`` (None: it may)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        return "must be an http:// or https:// address"
    if allow_private:
        return None
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return f"{parts.hostname} cannot be found"
    for *_, address in found:
        if not ipaddress.ip_address(address[0]).is_global:
            return f"{parts.hostname} is a private or local address"
    return None
