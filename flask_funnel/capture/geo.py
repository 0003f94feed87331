"""Client address and GeoIP lookup.

The visitor's address is ``REMOTE_ADDR`` unless a configured number of trusted proxies
sits in front of the app; then it is read from ``X-Forwarded-For`` the way Werkzeug's
ProxyFix does, so a header sent by the visitor changes nothing. Places come from a
MaxMind-format City or Country database (GeoIP2, GeoLite2, DB-IP), read into a private
copy that a file written over or renamed over while the app serves cannot break (see
:class:`GeoLocator`), and optionally from a trusted CDN's country header. Geography
only decorates a page: whatever goes wrong on the way (no database, a broken file, an
unknown or private address) gives an empty :class:`Place` and the page's default
content, never an error.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import threading
import weakref
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from time import monotonic, time
from typing import BinaryIO

import geoip2.database
import geoip2.errors
import maxminddb

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    from maxminddb import extension as _extension
except ImportError:
    _extension = None  # type: ignore[assignment]

logger = logging.getLogger("flask_funnel.capture.geo")

#: Seconds a missing or unusable database is left alone before it is tried again.
RETRY_SECONDS = 60.0
#: Seconds between two looks at the database file for a new version (one ``stat``).
CHECK_SECONDS = 5.0
#: A changed file is read once it has not been modified for this many seconds.
SETTLE_SECONDS = 1.0

#: Lookups run in libmaxminddb (C) on a sealed in-memory copy of the file (Linux);
#: elsewhere the pure Python reader holds a copy of the bytes: as safe, several times slower.
MAP_PRIVATE_COPY = (
    hasattr(_extension, "Reader")
    and hasattr(os, "memfd_create")
    and fcntl is not None
    and os.path.isdir("/proc/self/fd")
)
_MAPPED, _BYTES = "C extension on a sealed memfd copy", "pure Python on a copy in memory"
#: How this process reads the database, in words (for logs and bench/geo.py).
READER_MODE = _MAPPED if MAP_PRIVATE_COPY else _BYTES

_IPV4_KEEP_BITS = 24
_IPV6_KEEP_BITS = 48

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Place:
    """Where a visitor is, as far as the database knows; empty when unknown.

    ``country`` is the ISO 3166-1 alpha-2 code in upper case, ``city`` the English name,
    ``region`` the ISO 3166-2 code of the largest subdivision without the country
    (``"ENG"`` in GB: the page rule's ``"GB-ENG"``), ``continent`` MaxMind's two-letter
    code (``"EU"``).
    """

    country: str | None = None
    city: str | None = None
    region: str | None = None
    continent: str | None = None


def _parse(address: object) -> IPAddress | None:
    """The address as an ``ipaddress`` object, IPv4-mapped IPv6 unwrapped; None if invalid."""
    if not isinstance(address, str) or len(address) > _LONGEST_ADDRESS:
        return None
    return _parse_text(address)


#: Longer than any address with a scope (``fe80::1%eth0``): not kept in the cache below.
_LONGEST_ADDRESS = 64


@lru_cache(maxsize=4096)  # a visitor's requests come from one address
def _parse_text(address: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        # Dual-stack sockets report IPv4 clients as ::ffff:a.b.c.d.
        return ip.ipv4_mapped
    return ip


def _blocks(*cidrs: str) -> tuple[list[int], list[int]]:
    """First and last addresses of the networks, merged and in order (for bisect)."""
    networks = ipaddress.collapse_addresses(ipaddress.ip_network(cidr) for cidr in cidrs)
    pairs = [(int(n.network_address), int(n.broadcast_address)) for n in networks]
    return [first for first, _ in pairs], [last for _, last in pairs]


#: Every block of IANA's special-purpose address registries, multicast and reserved
#: space: an address outside them all is public whatever the Python version; one inside
#: is checked by ``ipaddress``. Most visitors' addresses skip the long check.
_SPECIAL_BLOCKS = {
    4: _blocks(
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.31.196.0/24",
        "192.52.193.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "192.175.48.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/3",  # multicast and reserved, up to 255.255.255.255
    ),
    # Everything outside 2000::/3 is reserved, unique local, link-local or multicast.
    6: _blocks(
        "::/3",
        "4000::/2",
        "8000::/1",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "2620:4f:8000::/48",
        "3fff::/20",
    ),
}


def _is_public(ip: IPAddress) -> bool:
    """True for addresses a GeoIP database can place: not private, loopback, link-local,
    shared (100.64/10), reserved, multicast or unspecified."""
    firsts, lasts = _SPECIAL_BLOCKS[ip.version]
    number = int(ip)
    index = bisect_right(firsts, number) - 1
    if index < 0 or number > lasts[index]:
        return True
    # ipaddress puts private, loopback, link-local and unspecified addresses all among
    # its private networks, which is_global excludes.
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


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
    from flask import g, request

    from flask_funnel.state import current_funnel

    if "_funnel_address" not in g:  # the place, the visit and the rate limit each ask
        g._funnel_address = client_address(
            request.remote_addr,
            request.headers.get("X-Forwarded-For"),
            current_funnel().settings.proxy_count,
        )
    return g._funnel_address


#: Country codes a CDN's country header may give: the 249 ISO 3166-1 alpha-2 codes
#: assigned to countries and territories, and XK (Kosovo, as MaxMind and Cloudflare use it).
_ISO_3166_CODES = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK
"""
_COUNTRY_CODES = frozenset(_ISO_3166_CODES.split())


def cdn_country(value: str | None) -> str | None:
    """The country code in a CDN's country header (``CF-IPCountry: DE``), upper case.

    None for anything but a country: no header, ``XX`` (unknown), ``T1`` (Tor), ``EU``,
    ``A1`` and other pseudo-codes, garbage.
    """
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    return code if code in _COUNTRY_CODES else None


def request_place(address: str | None) -> Place:
    """The place of the current request's client at ``address`` (its
    :func:`request_address`).

    The database gives it; with ``FUNNEL_GEO_CDN_HEADER`` set, a valid country code in
    that header (set by the CDN in front of the app) gives the country instead, keeping
    the database's city and region only where it agrees on the country. Without the
    setting the header is ignored: a visitor can send any header.
    """
    from flask import request

    from flask_funnel.state import current_funnel

    funnel = current_funnel()
    place = funnel.geo.locate(address)
    header = funnel.settings.geo_cdn_header
    country = cdn_country(request.headers.get(header)) if header else None
    if country is None or country == place.country:
        return place
    return Place(country=country)


@lru_cache(maxsize=4096)  # a visitor's requests come from one address
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


def _signature(path_or_fd: str | int) -> tuple[int, int, int, int]:
    """What identifies one version of a file: device, inode, size, modification time."""
    st = os.stat(path_or_fd)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class _Database:
    """One version of the database, read into a private copy this process alone reads.

    With the C extension (and Linux) the copy is a sealed ``memfd``: anonymous memory
    nobody can write, shrink or grow, mapped by libmaxminddb at C speed. Without it the
    pure Python reader holds the bytes (``MODE_FD``, slower). Either way a file written
    over in place cannot pull pages from under a lookup (the SIGBUS of mapping the file
    itself), and a later version of the file is read into a new copy.
    """

    def __init__(self, reader: geoip2.database.Reader, signature: tuple, memfd: int | None) -> None:
        self.reader = reader
        self.signature = signature
        self.pid = os.getpid()
        self._memfd = memfd
        self.mode = _BYTES if memfd is None else _MAPPED
        if memfd is not None:
            # Closed when the last lookup using this version is done with it.
            weakref.finalize(self, os.close, memfd)
        metadata = reader.metadata()
        self.database_type: str = metadata.database_type
        self.ipv4_only = metadata.ip_version == 4
        #: geoip2's lookup for this kind of database: a City or a Country model.
        self.lookup = reader.city if "City" in self.database_type else reader.country

    def in_this_process(self) -> _Database:
        """The same copy opened again after ``fork``: the child's own reader on the
        parent's pages, nothing copied."""
        if self._memfd is None:
            return _Database(self.reader, self.signature, None)  # bytes: nothing shared
        memfd = os.dup(self._memfd)
        try:
            reader = _reader(f"/proc/self/fd/{memfd}", maxminddb.MODE_MMAP_EXT)
        except BaseException:
            os.close(memfd)
            raise
        return _Database(reader, self.signature, memfd)


def _memfd_copy(source: BinaryIO, size: int) -> int:
    """A sealed in-memory copy of ``source``, as a file descriptor."""
    memfd = os.memfd_create("flask-funnel-geoip", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        with open(memfd, "wb", closefd=False) as target:
            shutil.copyfileobj(source, target, 1 << 20)
        if os.fstat(memfd).st_size != size:
            raise OSError("the file changed while it was read")
        fcntl.fcntl(
            memfd,
            fcntl.F_ADD_SEALS,
            fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE,
        )
    except BaseException:
        os.close(memfd)
        raise
    return memfd


def _reader(fileish, mode: int) -> geoip2.database.Reader:
    """MaxMind's GeoIP2 reader on ``fileish`` (a path or an open file) in ``mode``."""
    return geoip2.database.Reader(fileish, mode=mode)


def _open_database(path: str) -> _Database:
    """Read the database at ``path`` into a private copy and open it.

    Raises OSError, ``maxminddb.InvalidDatabaseError`` or (from a damaged file in the
    pure Python reader) almost anything; ValueError for a database of another kind.
    """
    with open(path, "rb") as source:
        signature = _signature(source.fileno())
        if MAP_PRIVATE_COPY:
            memfd = _memfd_copy(source, signature[2])
            try:
                reader = _reader(f"/proc/self/fd/{memfd}", maxminddb.MODE_MMAP_EXT)
            except BaseException:
                os.close(memfd)
                raise
        else:
            memfd = None
            reader = _reader(source, maxminddb.MODE_FD)
        database = _Database(reader, signature, memfd)
        if _signature(source.fileno()) != signature:
            raise OSError("the file changed while it was read")
    if "City" not in database.database_type and "Country" not in database.database_type:
        raise ValueError(f"is a {database.database_type!r} database, not a City or Country one")
    return database


def _code(value: object, shortest: int, longest: int) -> str | None:
    """An upper-case code of ASCII letters and digits, or None: a damaged file decodes
    to anything, and only well-formed strings reach a page."""
    if type(value) is str and shortest <= len(value) <= longest and value.isalnum():
        return value.upper() if value.isascii() else None
    return None


def _place_of(response) -> Place:
    """The place in a geoip2 City or Country model."""
    city = getattr(getattr(response, "city", None), "name", None)
    subdivisions = getattr(response, "subdivisions", None) or ()
    return Place(
        country=_code(response.country.iso_code, 2, 2),
        city=city if type(city) is str and city else None,
        region=_code(subdivisions[0].iso_code, 1, 3) if subdivisions else None,
        continent=_code(response.continent.code, 2, 2),
    )


def _reset_lock_after_fork(ref: weakref.ref[GeoLocator]) -> None:
    locator = ref()
    if locator is not None:
        # Another thread of the parent may have held the lock at fork time.
        locator._lock = threading.Lock()


class GeoLocator:
    """Finds the place of a client address in a MaxMind City or Country database.

    The database is read on the first lookup into a private copy (see
    :class:`_Database`) that serves this process. Every :data:`CHECK_SECONDS` a lookup
    also looks at the file (inode, size, modification time): a new version, written in
    place or renamed over the old one, is read into a new copy once it has been still
    for :data:`SETTLE_SECONDS`; until then, and if the new file is unusable, the old
    copy keeps answering. A missing or unusable database at the start is logged once
    and tried again at most every :data:`RETRY_SECONDS`; meanwhile lookups give
    ``Place()``. After ``fork`` the child opens the parent's copy again for itself.
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path: str | None = (os.fspath(path) or None) if path is not None else None
        self._lock = threading.Lock()
        self._open: _Database | None = None
        self._next_check = 0.0
        self._rejected: tuple | None = None  # a version of the file that failed to open
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
        database = self._database()
        if database is None or (database.ipv4_only and ip.version == 6):
            return Place()
        try:
            return _place_of(database.lookup(ip))
        except geoip2.errors.AddressNotFoundError:
            return Place()
        except Exception as exc:
            # A damaged search tree or data section can raise almost anything; a place
            # is never worth a failed request. The message may hold the address: not logged.
            self._warn_once(
                "lookup",
                "GeoIP lookup in %s failed (%s); serving default content",
                self.path,
                type(exc).__name__,
            )
            return Place()

    def close(self) -> None:
        """Let go of the database; a later lookup reads it again. The copy is freed as
        soon as no lookup in progress still uses it."""
        with self._lock:
            self._open = None

    def _database(self) -> _Database | None:
        """This process's copy of the database, read or renewed if due; None while unusable."""
        database = self._open
        if database is not None and database.pid == os.getpid():
            if monotonic() < self._next_check:
                return database
            return self._renewed(database)
        return self._opened()

    def _opened(self) -> _Database | None:
        """Open the database for this process (the first lookup, or the first after fork)."""
        with self._lock:
            database = self._open
            if database is not None:
                if database.pid == os.getpid():
                    return database
                self._open = None
                try:
                    self._open = database.in_this_process()
                except Exception as exc:
                    logger.info(
                        "GeoIP copy not inherited after fork (%s); reading %s", exc, self.path
                    )
                else:
                    return self._open
            if self._failed_at is not None and monotonic() - self._failed_at < RETRY_SECONDS:
                return None
            try:
                database = _open_database(self.path)
            except Exception as exc:
                self._failed(f"cannot be opened ({exc})")
                return None
            self._open = database
            self._failed_at = None
            self._next_check = monotonic() + CHECK_SECONDS
            logger.info(
                "GeoIP database %s opened (%s, %s)",
                self.path,
                database.database_type,
                database.mode,
            )
            return database

    def _renewed(self, database: _Database) -> _Database:
        """The newest usable version of the file: ``database`` unless the file changed."""
        if not self._lock.acquire(blocking=False):
            return database  # another thread is looking at the file right now
        try:
            if self._open is not database:
                return self._open or database
            self._next_check = monotonic() + CHECK_SECONDS
            try:
                signature = _signature(self.path)
            except OSError as exc:
                self._warn_once(
                    "gone",
                    "GeoIP database %s cannot be read (%s); still serving the copy read before",
                    self.path,
                    exc.strerror or type(exc).__name__,
                )
                return database
            if signature == database.signature or signature == self._rejected:
                return database
            if 0 <= time() - signature[3] / 1e9 < SETTLE_SECONDS:
                return database  # still being written, maybe: look again next time
            try:
                renewed = _open_database(self.path)
            except Exception as exc:
                self._rejected = signature
                self._warn_once(
                    "reload",
                    "GeoIP database %s changed but cannot be opened (%s); still serving"
                    " the copy read before",
                    self.path,
                    exc,
                )
                return database
            self._open = renewed
            self._rejected = None
            self._warned.difference_update({"gone", "reload"})
            logger.info("GeoIP database %s changed; serving the new version", self.path)
            return renewed
        finally:
            self._lock.release()

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
