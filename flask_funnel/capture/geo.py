"""Client address and GeoIP lookup.

The visitor's address is ``REMOTE_ADDR`` unless a configured number of trusted proxies
sits in front of the app; then it is read from ``X-Forwarded-For`` the way Werkzeug's
ProxyFix does, so a header sent by the visitor changes nothing. Places come from a
MaxMind GeoIP2/GeoLite2 City or Country database. Geography only decorates a page:
whatever goes wrong on the way (no database, a broken file, an unknown or private
address) gives an empty :class:`Place` and the page's default content, never an error.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
import weakref
from dataclasses import dataclass
from time import monotonic
from typing import NamedTuple

import geoip2.database
import geoip2.errors

logger = logging.getLogger("flask_funnel.capture.geo")

#: Seconds a missing or unusable database is left alone before it is tried again.
RETRY_SECONDS = 60.0

_IPV4_KEEP_BITS = 24
_IPV6_KEEP_BITS = 48

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Place:
    """Where a visitor is, as far as the database knows; empty when unknown.

    ``country`` is the ISO 3166-1 alpha-2 code in upper case, ``city`` the English name.
    """

    country: str | None = None
    city: str | None = None


def _parse(address: object) -> IPAddress | None:
    """The address as an ``ipaddress`` object, IPv4-mapped IPv6 unwrapped; None if invalid."""
    if not isinstance(address, str):
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        # Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d.
        return ip.ipv4_mapped
    return ip


def _is_public(ip: IPAddress) -> bool:
    """True for addresses a GeoIP database can place (not private, loopback, ...)."""
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def client_address(
    remote_addr: str | None, forwarded_for: str | None, proxy_count: int
) -> str | None:
    """The visitor's address, trusting ``X-Forwarded-For`` only as far as configured.

    With ``proxy_count`` 0 the header is ignored (any visitor can send one). With *n*
    trusted proxies the *n*-th value from the right is the one the outermost trusted
    proxy saw; a shorter header or an invalid value falls back to ``remote_addr``.
    The result is normalised (IPv4-mapped IPv6 becomes IPv4); None if nothing is valid.
    """
    if proxy_count > 0 and forwarded_for:
        values = [value.strip() for value in forwarded_for.split(",")]
        if len(values) >= proxy_count:
            ip = _parse(values[-proxy_count])
            if ip is not None:
                return str(ip)
    ip = _parse(remote_addr)
    return str(ip) if ip is not None else None


def request_address() -> str | None:
    """The address of the current request's client, with the app's ``FUNNEL_PROXY_COUNT``
    (the one place the funnel reads it: the place, the audit and rate limits agree)."""
    from flask import request

    from flask_funnel.state import current_funnel

    return client_address(
        request.remote_addr,
        request.headers.get("X-Forwarded-For"),
        current_funnel().settings.proxy_count,
    )


def truncate_address(address: str | None, keep_full: bool = False) -> str | None:
    """The address as stored: its IPv4 /24 or IPv6 /48 network, so a person is not singled out.

    ``keep_full`` keeps the whole (normalised) address; an invalid address gives None.
    """
    ip = _parse(address)
    if ip is None:
        return None
    if keep_full:
        return str(ip)
    if isinstance(ip, ipaddress.IPv4Address):
        network = ipaddress.IPv4Network((int(ip), _IPV4_KEEP_BITS), strict=False)
    else:
        network = ipaddress.IPv6Network((int(ip), _IPV6_KEEP_BITS), strict=False)
    return str(network.network_address)


class _OpenReader(NamedTuple):
    reader: geoip2.database.Reader
    is_city: bool  # False: a Country database, looked up with .country()
    pid: int  # the process that opened it


def _reset_lock_after_fork(ref: weakref.ref[GeoLocator]) -> None:
    locator = ref()
    if locator is not None:
        # Another thread of the parent may have held the lock at fork time.
        locator._lock = threading.Lock()


class GeoLocator:
    """Finds the place of a client address in a MaxMind City or Country database.

    The database is opened on the first lookup and kept for the life of the process
    (reopened in a child after ``fork``). A missing or unusable database is logged once
    and tried again at most every :data:`RETRY_SECONDS`; meanwhile lookups give ``Place()``.
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path: str | None = (os.fspath(path) or None) if path is not None else None
        self._lock = threading.Lock()
        self._open: _OpenReader | None = None
        self._failed_at: float | None = None
        self._warned: set[str] = set()
        if hasattr(os, "register_at_fork"):
            ref = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _reset_lock_after_fork(ref))

    def locate(self, address: str | None) -> Place:
        """The place of ``address``; ``Place()`` when it cannot be known."""
        if self.path is None:
            return Place()
        ip = _parse(address)
        if ip is None or not _is_public(ip):
            return Place()
        opened = self._reader()
        if opened is None:
            return Place()
        try:
            if opened.is_city:
                response = opened.reader.city(str(ip))
                city = response.city.names.get("en")
            else:
                response = opened.reader.country(str(ip))
                city = None
            iso_code = response.country.iso_code
        except geoip2.errors.AddressNotFoundError:
            return Place()
        except Exception as exc:
            # A damaged data section can raise almost anything from the decoder; a place
            # is never worth a failed request. The message may hold the address: not logged.
            self._warn_once(
                "lookup",
                "GeoIP lookup in %s failed (%s); serving default content",
                self.path,
                type(exc).__name__,
            )
            return Place()
        return Place(country=iso_code.upper() if iso_code else None, city=city or None)

    def close(self) -> None:
        """Close the database; a later lookup opens it again."""
        with self._lock:
            opened, self._open = self._open, None
        if opened is not None:
            opened.reader.close()

    def _reader(self) -> _OpenReader | None:
        """This process's open reader, opening it if due; None while unusable."""
        pid = os.getpid()
        opened = self._open
        if opened is not None and opened.pid == pid:
            return opened
        with self._lock:
            opened = self._open
            if opened is not None:
                if opened.pid == pid:
                    return opened
                # Inherited through fork: this process opens its own handle.
                self._open = None
                opened.reader.close()
            if self._failed_at is not None and monotonic() - self._failed_at < RETRY_SECONDS:
                return None
            try:
                reader = geoip2.database.Reader(self.path)
                database_type = reader.metadata().database_type
            except Exception as exc:
                # OSError, maxminddb.InvalidDatabaseError, ValueError and, in the pure
                # Python reader, whatever a damaged metadata section makes it raise.
                self._failed(f"cannot be opened ({exc})")
                return None
            if "City" in database_type:
                is_city = True
            elif "Country" in database_type:
                is_city = False
            else:
                reader.close()
                self._failed(f"is a {database_type!r} database, not a City or Country one")
                return None
            self._open = _OpenReader(reader, is_city, pid)
            self._failed_at = None
            logger.info("GeoIP database %s opened (%s)", self.path, database_type)
            return self._open

    def _failed(self, reason: str) -> None:
        self._failed_at = monotonic()
        self._warn_once(
            "open",
            "GeoIP database %s %s; serving default content, retrying every %d s",
            self.path,
            reason,
            RETRY_SECONDS,
        )

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key in self._warned:
            logger.debug(message, *args)
        else:
            self._warned.add(key)
            logger.warning(message, *args)
