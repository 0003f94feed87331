"""The codes a page file may name places by: ISO 3166-1 alpha-2 countries and ISO 3166-2
subdivisions (from ``pycountry``'s copy of the ISO lists), and the continents of
MaxMind's GeoIP databases."""

from __future__ import annotations

from functools import cache

import pycountry

#: MaxMind's continent codes (``continent.code`` of a GeoIP2 record).
CONTINENTS = {
    "AF": "Africa",
    "AN": "Antarctica",
    "AS": "Asia",
    "EU": "Europe",
    "NA": "North America",
    "OC": "Oceania",
    "SA": "South America",
}
#: Codes MaxMind gives that ISO 3166-1 has not assigned: Kosovo.
GEOIP_COUNTRIES = frozenset({"XK"})


@cache
def countries() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code (and MaxMind's extras)."""
    return frozenset(country.alpha_2 for country in pycountry.countries) | GEOIP_COUNTRIES


def is_country(code: str) -> bool:
    return code in countries()


def is_region(code: str) -> bool:
    """True for an ISO 3166-2 subdivision code such as ``"GB-ENG"`` or ``"US-CA"``."""
    return pycountry.subdivisions.get(code=code) is not None


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or getattr(country, "name", code)
