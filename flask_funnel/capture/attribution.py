"""Where a visit comes from: UTM tags, referrer source and device class."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
DIRECT = "direct"
BOT = "bot"

#: User agents that are not a person's browser: crawlers, link previews, headless
#: browsers, and the HTTP libraries and command-line tools scripts are written with.
_BOT = re.compile(
    r"bot|crawl|spider|slurp|facebookexternalhit|headless|preview|scrap|"
    r"^(curl|wget|httpie|python|aiohttp|go-http-client|java|okhttp|apache-httpclient|"
    r"libwww|lwp|node|axios|undici|got|ruby|php|perl|guzzle|postmanruntime|insomnia|"
    r"rest-client|dart|reqwest|hyper|http\.rb|k6|wrk|ab|siege|locust|jmeter)\b",
    re.I,
)
_TABLET = re.compile(r"ipad|tablet|kindle|silk|playbook|(android(?!.*mobile))", re.I)
_MOBILE = re.compile(r"mobi|iphone|ipod|android|blackberry|opera mini|iemobile|windows phone", re.I)


@lru_cache(maxsize=256)  # a phone model's browser sends the same string every time
def device_class(user_agent: str | None) -> str:
    """``bot``, ``tablet``, ``mobile`` or ``desktop`` from a User-Agent header."""
    ua = user_agent or ""
    if not ua or _BOT.search(ua.strip()):
        return BOT
    if _TABLET.search(ua):
        return "tablet"
    if _MOBILE.search(ua):
        return "mobile"
    return "desktop"


def utm_tags(args) -> dict[str, str | None]:
    """The five UTM parameters from a query string mapping, trimmed and capped."""
    return {key: (args.get(key) or "").strip()[:255] or None for key in UTM_KEYS}


def referrer_domain(referrer: str | None) -> str | None:
    if not referrer:
        return None
    try:
        host = urlsplit(referrer).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.removeprefix("www.")


def traffic_source(utm_source: str | None, referrer: str | None, own_host: str | None) -> str:
    """UTM source, else the referring site's domain, else ``direct`` (own site included)."""
    if utm_source:
        return utm_source.lower()[:255]
    domain = referrer_domain(referrer)
    own = (own_host or "").split(":")[0].removeprefix("www.")
    if domain and domain != own:
        return domain[:255]
    return DIRECT
