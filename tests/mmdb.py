"""Build small MaxMind databases for tests (GeoIP2-City and GeoIP2-Country shaped).

The files are written with mmdb_writer as IPv6 databases holding IPv4 networks under
``::/96``, the layout the maxminddb reader expects for IPv4 lookups, so both address
families can be looked up in one file like in MaxMind's own databases.
"""

from __future__ import annotations

import os
from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPNetwork, IPSet

COUNTRY_NAMES = {
    "AT": "Austria",
    "CH": "Switzerland",
    "DE": "Germany",
    "FR": "France",
    "GB": "United Kingdom",
    "US": "United States",
}


def _country(iso_code: str) -> dict[str, object]:
    return {"iso_code": iso_code, "names": {"en": COUNTRY_NAMES.get(iso_code, iso_code)}}


def _write(path: str | os.PathLike[str], database_type: str, records: dict[str, dict]) -> Path:
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=database_type,
        languages=["en"],
        description=f"flask-funnel test {database_type}",
    )
    # Wider networks first, so a nested network overrides its part of a wider one.
    for network in sorted(records, key=lambda cidr: IPNetwork(cidr).prefixlen):
        writer.insert_network(IPSet([network]), records[network])
    path = Path(path)
    writer.to_db_file(str(path))
    return path


def build_city_db(path: str | os.PathLike[str], entries: dict[str, tuple]) -> Path:
    """Write a GeoIP2-City database: ``{"81.2.69.0/24": ("GB", "London"), ...}``, or
    with the largest subdivision and the continent too: ``("GB", "London", "ENG", "EU")``.

    A city (or region, continent) of None leaves that record out, as MaxMind does for
    country-only hits.
    """
    records: dict[str, dict] = {}
    for network, (iso_code, city, *more) in entries.items():
        region, continent = (*more, None, None)[:2]
        record: dict[str, object] = {"country": _country(iso_code)}
        if city is not None:
            record["city"] = {"names": {"en": city}}
        if region is not None:
            record["subdivisions"] = [{"iso_code": region, "names": {"en": region}}]
        if continent is not None:
            record["continent"] = _continent(continent)
        records[network] = record
    return _write(path, "GeoIP2-City", records)


def build_country_db(path: str | os.PathLike[str], entries: dict[str, str | tuple]) -> Path:
    """Write a GeoIP2-Country database: ``{"81.2.69.0/24": "GB", ...}``, or with the
    continent: ``{"81.2.69.0/24": ("GB", "EU")}``."""
    records = {}
    for network, entry in entries.items():
        iso, continent = (entry, None) if isinstance(entry, str) else entry
        record: dict[str, object] = {"country": _country(iso)}
        if continent is not None:
            record["continent"] = _continent(continent)
        records[network] = record
    return _write(path, "GeoIP2-Country", records)


def _continent(code: str) -> dict[str, object]:
    return {"code": code, "names": {"en": code}}
