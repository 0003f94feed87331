"""Every ``FUNNEL_*`` setting: its default, one line on what it does, and the typed
``Settings`` the extension reads once at ``init_app``.

The extension copies the defaults into ``app.config`` with ``setdefault`` so a host only
sets what it wants to change; ``Settings.from_config`` then checks each value and names
the key of a bad one, so a typo fails at start-up, not at a visitor.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_funnel.analytics.calendars import CALENDARS
from flask_funnel.analytics.periods import ReportSettings
from flask_funnel.i18n.messages import SUPPORTED_LOCALES
from flask_funnel.values import FieldError, normalize_email

DEFAULTS: dict[str, object] = {
    # Where the blueprint is mounted: pages are served at <prefix>/<slug>.
    "FUNNEL_URL_PREFIX": "/funnel",
    # Folder of page files (*.toml). None: "<app.root_path>/pages".
    "FUNNEL_PAGES_DIR": None,
    # Public images referenced by pages. None: "<pages dir>/assets".
    "FUNNEL_ASSETS_DIR": None,
    # Offer files (lead magnets); only downloadable with a thank-you token.
    # None: "<pages dir>/offers".
    "FUNNEL_OFFERS_DIR": None,
    # How often (seconds) page files are checked for edits; 0 checks on every request.
    "FUNNEL_PAGES_RELOAD_SECONDS": 2.0,
    # Where the last valid version of each page file is kept, so a page whose file turns
    # invalid keeps serving it. None: "<app.instance_path>/flask_funnel/pages".
    "FUNNEL_PAGES_CACHE_DIR": None,
    # Whether the admin area may rewrite a page file (to make an A/B test's winner the
    # default) when the file system lets it; False: it shows the change to make by hand.
    "FUNNEL_PAGES_WRITABLE": True,
    # A tap or click on an answer goes straight on to the next step (never a key press:
    # arrow keys only move between the answers); False: the visitor presses Next.
    "FUNNEL_QUIZ_AUTO_ADVANCE": True,
    # Template every funnel page extends; a host may name its own layout.
    "FUNNEL_BASE_TEMPLATE": "flask_funnel/base.html",
    # Submissions completed faster than this (seconds since the quiz started) are
    # treated as bots and quarantined.
    "FUNNEL_MIN_FILL_SECONDS": 3.0,
    # Largest request body the funnel's views accept; larger ones get 413.
    "FUNNEL_MAX_CONTENT_LENGTH": 64 * 1024,
    # Anonymous visitor id cookie: name and lifetime in days.
    "FUNNEL_VISITOR_COOKIE": "funnel_vid",
    "FUNNEL_VISITOR_COOKIE_DAYS": 365,
    # GeoIP2/GeoLite2 City or Country database (.mmdb); None disables place lookup.
    "FUNNEL_GEOIP_PATH": None,
    # How many reverse proxies in front of the app append to X-Forwarded-For.
    # 0 ignores the header (a visitor could forge it).
    "FUNNEL_PROXY_COUNT": 0,
    # Request header in which a trusted CDN in front of the app gives the visitor's
    # country code (e.g. "CF-IPCountry"); it then overrides the database's country.
    # None ignores such headers (a visitor could forge them).
    "FUNNEL_GEO_CDN_HEADER": None,
    # Store full client addresses instead of IPv4 /24 and IPv6 /48 networks.
    "FUNNEL_STORE_FULL_IP": False,
    # Content-Security-Policy frame-ancestors for funnel pages.
    "FUNNEL_FRAME_ANCESTORS": "'self'",
    # The funnel pages' Content-Security-Policy: None, the funnel's strict one; a dict
    # of more sources per directive to add to it ({"script-src": ["https://plausible.io"]});
    # a string, the host's own policy ("{nonce}" is replaced with the response's
    # nonce); False, none (the host sets its own). Inline code in the host's layout
    # passes with nonce="{{ csp_nonce() }}".
    "FUNNEL_CSP": None,
    # Page views are written in batches: when this many are queued, when the oldest
    # is this many seconds old, and before a submission is stored. 0 seconds writes
    # each view at once.
    "FUNNEL_VISIT_FLUSH_SECONDS": 0.5,
    "FUNNEL_VISIT_BATCH_SIZE": 100,
    # Days raw page views (address, referrer, UTM tags, city) are kept: `flask funnel
    # fold-views`, run daily, adds older ones to daily counts that keep every report
    # exact, then deletes them. None keeps them for ever (they are still folded).
    "FUNNEL_VISIT_RETENTION_DAYS": 90,
    # Admin sessions end after this many idle minutes, and after this many hours.
    "FUNNEL_ADMIN_IDLE_MINUTES": 30,
    "FUNNEL_ADMIN_MAX_HOURS": 12,
    # Sign-ins refused after this many failures for one email or address ...
    "FUNNEL_ADMIN_MAX_FAILURES": 5,
    # ... within this many minutes.
    "FUNNEL_ADMIN_FAILURE_WINDOW_MINUTES": 15,
    # Bearer token of the purchases API (POST <prefix>/api/purchases); None turns it off.
    "FUNNEL_API_TOKEN": None,
    # Rate limits (Flask-Limiter notation, ";" between several): sign-ups (the quiz's
    # contact step and Google One Tap) per client address and per email, and calls of
    # the purchases API per token. Counters are kept in the storage URI: "memory://"
    # counts per process; "redis://host:6379" is shared by every worker and host.
    "FUNNEL_RATELIMIT_ENABLED": True,
    "FUNNEL_RATELIMIT_STORAGE_URI": "memory://",
    "FUNNEL_RATELIMIT_SIGN_UPS": "20 per minute; 200 per hour",
    "FUNNEL_RATELIMIT_SIGN_UPS_PER_EMAIL": "5 per hour",
    "FUNNEL_RATELIMIT_API": "300 per minute",
    # On SQLite: WAL journal, a 5 s busy timeout and BEGIN IMMEDIATE transactions,
    # so concurrent workers wait for each other instead of failing.
    "FUNNEL_SQLITE_TUNING": True,
    # Sign in with Google (or any OpenID Connect provider): the OAuth client's id and
    # secret; with no id there is no button, no script and nothing else changes.
    "FUNNEL_GOOGLE_CLIENT_ID": None,
    "FUNNEL_GOOGLE_CLIENT_SECRET": None,
    # The provider's discovery document (tests point it at a local provider).
    "FUNNEL_GOOGLE_METADATA_URL": "https://accounts.google.com/.well-known/openid-configuration",
    # The callback URL registered with the provider; None builds <prefix>/google/callback
    # from the request (behind a proxy, set it or use Werkzeug's ProxyFix).
    "FUNNEL_GOOGLE_REDIRECT_URI": None,
    # Google One Tap on the landing page and contact step (Google's script and frame).
    "FUNNEL_GOOGLE_ONE_TAP": False,
    # Who may sign in to the admin area with Google: verified emails, and/or a Google
    # Workspace domain checked against the ID token's hd claim (never the email's text).
    "FUNNEL_ADMIN_EMAILS": (),
    "FUNNEL_ADMIN_DOMAIN": None,
    # "shipped": the host's `flask db upgrade` runs the funnel's own revisions (branch
    # "funnel") and its `flask db migrate` leaves the funnel's tables alone. "host": the
    # host generates the funnel's tables in its own revisions instead.
    "FUNNEL_MIGRATIONS": "shipped",
    # Time zone (IANA name) the funnel report counts days and months in; times are
    # stored in UTC.
    "FUNNEL_REPORT_TIMEZONE": "UTC",
    # Calendar of the report's months and years and of the dates it shows: "gregorian",
    # or "persian" (Solar Hijri: Farvardin ... Esfand, the year starting at Nowruz).
    "FUNNEL_REPORT_CALENDAR": "gregorian",
    # Breakdown groups with fewer leads than this are folded into "other".
    "FUNNEL_REPORT_MIN_GROUP": 10,
    # Calendar months in the month-over-month table.
    "FUNNEL_REPORT_MONTHS": 24,
    # The forecast counts leads that entered their stage within this many days, and
    # learns conversion rates from leads that reached a stage in the window of this
    # many days before the last 90.
    "FUNNEL_FORECAST_ACTIVE_DAYS": 90,
    "FUNNEL_FORECAST_HISTORY_DAYS": 180,
    # Below this many leads to learn a stage's conversion from, the forecast says it
    # has not enough history yet rather than guess.
    "FUNNEL_FORECAST_MIN_HISTORY": 30,
    # Why a lead is lost: an admin moving a lead to lost picks one (and may add words
    # of their own); the dashboard counts lost leads by them.
    "FUNNEL_LOST_REASONS": (
        "no budget",
        "chose another offer",
        "no answer",
        "not a fit",
        "bad timing",
        "other",
    ),
    # Webhooks to other systems (a CRM): {"crm": {"url": "https://...", "secret": "...",
    # "events": ["lead.captured", ...]}}; events default to all of them. Each event is
    # written with the change that caused it and sent by `flask funnel deliver`.
    "FUNNEL_WEBHOOKS": {},
    # Seconds a webhook receiver or the mail server has to answer, and how many tries
    # before giving up (retried with exponential backoff and jitter: 30 s, 1 min, 2 min,
    # ... up to 6 h: 16 tries span 19 to 38 hours).
    "FUNNEL_WEBHOOK_TIMEOUT": 10.0,
    "FUNNEL_WEBHOOK_MAX_ATTEMPTS": 16,
    # Whether an endpoint an admin adds in the admin area may be on a private or local
    # network (the configured ones always may).
    "FUNNEL_WEBHOOK_ALLOW_PRIVATE": False,
    # Days the outbox keeps what it sent, gave up on or stopped (a log, not an archive).
    "FUNNEL_OUTBOX_KEEP_DAYS": 30,
    # The sender of emails to leads ("Bean & Bloom <guide@shop.example>"); None sends
    # none. Mail goes through Flask-Mailman with the app's MAIL_* settings (MAIL_SERVER,
    # MAIL_PORT, MAIL_USE_TLS, MAIL_USERNAME, MAIL_PASSWORD), sent by `flask funnel deliver`.
    "FUNNEL_MAIL_FROM": None,
    # Days the download link in the lead magnet email works.
    "FUNNEL_OFFER_LINK_DAYS": 7,
    # Days a sign-up on a page with `confirm = true` has to confirm its email; after
    # that `flask funnel deliver` erases it.
    "FUNNEL_CONFIRM_DAYS": 7,
    # The sales team's addresses: told by email when a lead reaches FUNNEL_NOTIFY_STAGE,
    # and sent `flask funnel digest` (the follow-ups due), in FUNNEL_NOTIFY_LOCALE.
    "FUNNEL_NOTIFY_EMAILS": (),
    "FUNNEL_NOTIFY_STAGE": "mql",
    "FUNNEL_NOTIFY_LOCALE": "en",
    # The site's address for links in emails sent outside a request (a move on the
    # command line, the digest): "https://shop.example". None: such emails have none.
    "FUNNEL_SITE_URL": None,
}

#: The events a webhook can be sent.
WEBHOOK_EVENTS = ("lead.captured", "lead.stage_changed", "purchase.recorded", "lead.erased")


@dataclass(frozen=True)
class RateLimitSettings:
    """The ``FUNNEL_RATELIMIT_*`` keys (limits checked with Flask-Limiter's parser)."""

    enabled: bool
    storage_uri: str
    submit: str
    submit_per_email: str
    api: str


@dataclass(frozen=True)
class GoogleSettings:
    """Sign in with Google, present only when a client id is configured."""

    client_id: str
    client_secret: str
    metadata_url: str
    redirect_uri: str | None
    one_tap: bool
    admin_emails: frozenset[str]
    admin_domain: str | None


@dataclass(frozen=True)
class WebhookEndpoint:
    """One receiver of ``FUNNEL_WEBHOOKS``: its name (in the delivery log), address,
    signing secret and the events it wants."""

    name: str
    url: str
    secret: str = field(repr=False)
    events: frozenset[str]


@dataclass(frozen=True)
class WebhookSettings:
    endpoints: tuple[WebhookEndpoint, ...]
    timeout: float
    max_attempts: int
    #: Endpoints added in the admin area may be on a private network.
    allow_private: bool = False


class SettingsError(RuntimeError):
    """A ``FUNNEL_*`` value the extension cannot work with; the message names the key."""


@dataclass(frozen=True)
class Settings:
    """The ``FUNNEL_*`` keys, typed and checked (paths resolved against the app root)."""

    url_prefix: str
    pages_dir: Path
    assets_dir: Path
    offers_dir: Path
    pages_reload_seconds: float
    pages_cache_dir: Path | None
    pages_writable: bool
    quiz_auto_advance: bool
    base_template: str
    min_fill_seconds: float
    max_content_length: int
    visitor_cookie: str
    visitor_cookie_days: int
    geoip_path: str | None
    proxy_count: int
    geo_cdn_header: str | None
    store_full_ip: bool
    frame_ancestors: str
    csp: dict[str, tuple[str, ...]] | str | bool | None
    visit_flush_seconds: float
    visit_batch_size: int
    visit_retention_days: int | None
    admin_idle_minutes: int
    admin_max_hours: float
    admin_max_failures: int
    admin_failure_window_minutes: int
    api_token: str | None
    rate_limits: RateLimitSettings
    sqlite_tuning: bool
    migrations: str
    google: GoogleSettings | None
    report: ReportSettings
    lost_reasons: tuple[str, ...]
    webhooks: WebhookSettings
    mail_from: str | None
    offer_link_days: int
    confirm_days: int
    notify_emails: tuple[str, ...]
    outbox_keep_days: int
    notify_stage: str
    notify_locale: str
    site_url: str | None

    @classmethod
    def from_config(cls, config: Mapping, root_path: str | Path) -> Settings:
        pages_dir = Path(config["FUNNEL_PAGES_DIR"] or Path(root_path) / "pages")
        return cls(
            url_prefix=_prefix(config),
            pages_dir=pages_dir,
            assets_dir=Path(config["FUNNEL_ASSETS_DIR"] or pages_dir / "assets"),
            offers_dir=Path(config["FUNNEL_OFFERS_DIR"] or pages_dir / "offers"),
            pages_reload_seconds=_number(config, "FUNNEL_PAGES_RELOAD_SECONDS", float, 0),
            pages_cache_dir=_optional_path(config, "FUNNEL_PAGES_CACHE_DIR"),
            pages_writable=_flag(config, "FUNNEL_PAGES_WRITABLE"),
            quiz_auto_advance=_flag(config, "FUNNEL_QUIZ_AUTO_ADVANCE"),
            base_template=_text(config, "FUNNEL_BASE_TEMPLATE"),
            min_fill_seconds=_number(config, "FUNNEL_MIN_FILL_SECONDS", float, 0),
            max_content_length=_number(config, "FUNNEL_MAX_CONTENT_LENGTH", int, 1024),
            visitor_cookie=_text(config, "FUNNEL_VISITOR_COOKIE"),
            visitor_cookie_days=_number(config, "FUNNEL_VISITOR_COOKIE_DAYS", int, 1),
            geoip_path=_optional_text(config, "FUNNEL_GEOIP_PATH"),
            proxy_count=_number(config, "FUNNEL_PROXY_COUNT", int, 0),
            geo_cdn_header=_header_name(config, "FUNNEL_GEO_CDN_HEADER"),
            store_full_ip=_flag(config, "FUNNEL_STORE_FULL_IP"),
            frame_ancestors=_text(config, "FUNNEL_FRAME_ANCESTORS"),
            csp=_csp(config),
            visit_flush_seconds=_number(config, "FUNNEL_VISIT_FLUSH_SECONDS", float, 0),
            visit_batch_size=_number(config, "FUNNEL_VISIT_BATCH_SIZE", int, 1),
            visit_retention_days=_optional_days(config, "FUNNEL_VISIT_RETENTION_DAYS"),
            admin_idle_minutes=_number(config, "FUNNEL_ADMIN_IDLE_MINUTES", int, 1),
            admin_max_hours=_number(config, "FUNNEL_ADMIN_MAX_HOURS", float, 0.1),
            admin_max_failures=_number(config, "FUNNEL_ADMIN_MAX_FAILURES", int, 1),
            admin_failure_window_minutes=_number(
                config, "FUNNEL_ADMIN_FAILURE_WINDOW_MINUTES", int, 1
            ),
            api_token=_optional_text(config, "FUNNEL_API_TOKEN"),
            rate_limits=_rate_limits(config),
            sqlite_tuning=_flag(config, "FUNNEL_SQLITE_TUNING"),
            migrations=_choice(config, "FUNNEL_MIGRATIONS", ("shipped", "host")),
            google=_google(config),
            report=_report(config),
            lost_reasons=_lost_reasons(config),
            webhooks=_webhooks(config),
            mail_from=_optional_text(config, "FUNNEL_MAIL_FROM"),
            offer_link_days=_number(config, "FUNNEL_OFFER_LINK_DAYS", int, 1),
            confirm_days=_number(config, "FUNNEL_CONFIRM_DAYS", int, 1),
            notify_emails=_emails(config, "FUNNEL_NOTIFY_EMAILS"),
            outbox_keep_days=_number(config, "FUNNEL_OUTBOX_KEEP_DAYS", int, 1),
            notify_stage=_choice(
                config, "FUNNEL_NOTIFY_STAGE", ("lead", "mql", "sal", "sql", "customer")
            ),
            notify_locale=_choice(config, "FUNNEL_NOTIFY_LOCALE", SUPPORTED_LOCALES),
            site_url=_site_url(config),
        )


def _csp(config: Mapping):
    key, value = "FUNNEL_CSP", config["FUNNEL_CSP"]
    if value is None or value is False:
        return value
    if isinstance(value, str):
        if not value.strip() or re.search(r"[\r\n]", value):
            raise SettingsError(f"{key}: a policy is one non-empty line, not {value!r}")
        return value
    if not isinstance(value, Mapping):
        raise SettingsError(f"{key}: must be None, False, a policy string or a dict")
    extra = {}
    for name, sources in value.items():
        if not isinstance(name, str) or not re.fullmatch(r"[a-z]+(-[a-z]+)*", name):
            raise SettingsError(f"{key}: {name!r} is not a directive name")
        if isinstance(sources, str) or not all(
            isinstance(s, str) and s and not re.search(r"[\s;,]", s) for s in sources
        ):
            raise SettingsError(f"{key}[{name!r}]: must be a list of sources, one per item")
        extra[name] = tuple(sources)
    return extra


def _emails(config: Mapping, key: str) -> tuple[str, ...]:
    value = config[key]
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise SettingsError(f"{key}: must be a list of email addresses, not {value!r}")
    found = []
    for address in value:
        try:
            found.append(normalize_email(address))
        except (FieldError, TypeError, AttributeError):
            raise SettingsError(f"{key}: {address!r} is not an email address") from None
    return tuple(found)


def _site_url(config: Mapping) -> str | None:
    value = _optional_text(config, "FUNNEL_SITE_URL")
    if value is not None and not re.fullmatch(r"https?://[^/\s]+(/\S*)?", value):
        raise SettingsError(f"FUNNEL_SITE_URL: {value!r} is not an http(s) address")
    return value.rstrip("/") if value else None


def _webhooks(config: Mapping) -> WebhookSettings:
    key, value = "FUNNEL_WEBHOOKS", config["FUNNEL_WEBHOOKS"]
    if not isinstance(value, Mapping):
        raise SettingsError(f"{key}: must be a dict of endpoints by name, not {type(value)}")
    endpoints = []
    for name, endpoint in value.items():
        where = f"{key}[{name!r}]"
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_-]{1,40}", name):
            raise SettingsError(f"{where}: a name is 1 to 40 of a-z, 0-9, '_' and '-'")
        if not isinstance(endpoint, Mapping) or set(endpoint) - {"url", "secret", "events"}:
            raise SettingsError(f"{where}: must be a dict of url, secret and events")
        url, secret = endpoint.get("url"), endpoint.get("secret")
        if not isinstance(url, str) or not re.match(r"https?://[^/\s]+", url):
            raise SettingsError(f"{where}['url']: {url!r} is not an http(s) address")
        if not isinstance(secret, str) or len(secret) < 16:
            raise SettingsError(f"{where}['secret']: must be a string of 16 characters or more")
        events = endpoint.get("events", WEBHOOK_EVENTS)
        if isinstance(events, str) or not set(events) <= set(WEBHOOK_EVENTS) or not events:
            raise SettingsError(
                f"{where}['events']: {events!r} must be a list of {', '.join(WEBHOOK_EVENTS)}"
            )
        endpoints.append(WebhookEndpoint(name, url, secret, frozenset(events)))
    return WebhookSettings(
        endpoints=tuple(endpoints),
        timeout=_number(config, "FUNNEL_WEBHOOK_TIMEOUT", float, 0.1),
        max_attempts=_number(config, "FUNNEL_WEBHOOK_MAX_ATTEMPTS", int, 1),
        allow_private=_flag(config, "FUNNEL_WEBHOOK_ALLOW_PRIVATE"),
    )


def _lost_reasons(config: Mapping) -> tuple[str, ...]:
    key, value = "FUNNEL_LOST_REASONS", config["FUNNEL_LOST_REASONS"]
    reasons = tuple(value) if isinstance(value, (list, tuple)) else ()
    if not reasons or not all(isinstance(r, str) and 0 < len(r.strip()) <= 60 for r in reasons):
        raise SettingsError(
            f"{key}: must be a list of reasons of 1 to 60 characters, not {value!r}"
        )
    if len(set(reasons)) != len(reasons):
        raise SettingsError(f"{key}: {value!r} names a reason twice")
    return tuple(r.strip() for r in reasons)


def _optional_path(config: Mapping, key: str) -> Path | None:
    value = config[key]
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise SettingsError(f"{key}: {value!r} must be a folder path or None")
    return Path(value)


def _rate_limits(config: Mapping) -> RateLimitSettings:
    return RateLimitSettings(
        enabled=_flag(config, "FUNNEL_RATELIMIT_ENABLED"),
        storage_uri=_text(config, "FUNNEL_RATELIMIT_STORAGE_URI"),
        submit=_limit(config, "FUNNEL_RATELIMIT_SIGN_UPS"),
        submit_per_email=_limit(config, "FUNNEL_RATELIMIT_SIGN_UPS_PER_EMAIL"),
        api=_limit(config, "FUNNEL_RATELIMIT_API"),
    )


def _limit(config: Mapping, key: str) -> str:
    from limits import parse_many

    value = _text(config, key)
    try:
        parse_many(value)
    except ValueError:
        raise SettingsError(
            f"{key}: {value!r} is not a rate limit such as '20 per minute; 200 per hour'"
        ) from None
    return value


def _prefix(config: Mapping) -> str:
    prefix = _text(config, "FUNNEL_URL_PREFIX", empty=True).rstrip("/")
    if prefix and not prefix.startswith("/"):
        raise SettingsError(f"FUNNEL_URL_PREFIX: {prefix!r} must start with '/'")
    return prefix


def _text(config: Mapping, key: str, *, empty: bool = False) -> str:
    value = config[key]
    if value is None and empty:
        return ""
    if not isinstance(value, str) or not (value or empty):
        raise SettingsError(f"{key}: must be a non-empty string, not {value!r}")
    return value


def _choice(config: Mapping, key: str, choices: tuple[str, ...]) -> str:
    value = config[key]
    if value not in choices:
        raise SettingsError(f"{key}: {value!r} is not one of {', '.join(map(repr, choices))}")
    return value


def _optional_text(config: Mapping, key: str) -> str | None:
    value = config[key]
    if value in (None, ""):
        return None
    return _text(config, key)


def _header_name(config: Mapping, key: str) -> str | None:
    value = _optional_text(config, key)
    if value is not None and not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", value):
        raise SettingsError(f"{key}: {value!r} is not an HTTP header name")
    return value


def _flag(config: Mapping, key: str) -> bool:
    value = config[key]
    if not isinstance(value, bool):
        raise SettingsError(f"{key}: must be True or False, not {value!r}")
    return value


def _number(config: Mapping, key: str, kind: type, low: float):
    value = config[key]
    if isinstance(value, str):
        try:
            value = kind(value.strip())
        except ValueError:
            raise SettingsError(f"{key}: {value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"{key}: must be a number, not {value!r}")
    if kind is int and value != int(value):
        raise SettingsError(f"{key}: must be a whole number, not {value!r}")
    if value < low:
        raise SettingsError(f"{key}: must be at least {low}, not {value!r}")
    return kind(value)


def _optional_days(config: Mapping, key: str) -> int | None:
    """A whole number of days, at least 1, or None (for ever)."""
    if config[key] is None:
        return None
    try:
        return _number(config, key, int, 1)
    except SettingsError:
        raise SettingsError(
            f"{key}: must be a whole number of days (1 or more) or None, not {config[key]!r}"
        ) from None


def _report(config: Mapping) -> ReportSettings:
    name = config["FUNNEL_REPORT_TIMEZONE"]
    try:
        zone = ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"FUNNEL_REPORT_TIMEZONE: {name!r} is not a time zone name "
            "(use an IANA name such as 'Europe/Berlin' or 'Asia/Tehran')"
        ) from None
    calendar = CALENDARS[_choice(config, "FUNNEL_REPORT_CALENDAR", tuple(CALENDARS))]
    return ReportSettings(
        zone=zone,
        calendar=calendar,
        min_group=_number(config, "FUNNEL_REPORT_MIN_GROUP", int, 1),
        months=_number(config, "FUNNEL_REPORT_MONTHS", int, 2),
        active_days=_number(config, "FUNNEL_FORECAST_ACTIVE_DAYS", int, 1),
        history_days=_number(config, "FUNNEL_FORECAST_HISTORY_DAYS", int, 30),
        min_history=_number(config, "FUNNEL_FORECAST_MIN_HISTORY", int, 1),
    )


def _google(config: Mapping) -> GoogleSettings | None:
    client_id = _optional_text(config, "FUNNEL_GOOGLE_CLIENT_ID")
    if client_id is None:
        return None
    secret = _optional_text(config, "FUNNEL_GOOGLE_CLIENT_SECRET")
    if secret is None:
        raise SettingsError(
            "FUNNEL_GOOGLE_CLIENT_SECRET: required with FUNNEL_GOOGLE_CLIENT_ID (the sign-in"
            " exchanges Google's code for tokens with it)"
        )
    emails = config["FUNNEL_ADMIN_EMAILS"]
    if isinstance(emails, str):
        emails = [e for e in emails.replace(",", " ").split() if e]
    if not isinstance(emails, (list, tuple, set, frozenset)):
        raise SettingsError(f"FUNNEL_ADMIN_EMAILS: a list of emails, not {emails!r}")
    try:
        admin_emails = frozenset(normalize_email(str(e), "FUNNEL_ADMIN_EMAILS") for e in emails)
    except FieldError as error:
        raise SettingsError(str(error)) from None
    domain = _optional_text(config, "FUNNEL_ADMIN_DOMAIN")
    return GoogleSettings(
        client_id=client_id,
        client_secret=secret,
        metadata_url=_text(config, "FUNNEL_GOOGLE_METADATA_URL"),
        redirect_uri=_optional_text(config, "FUNNEL_GOOGLE_REDIRECT_URI"),
        one_tap=_flag(config, "FUNNEL_GOOGLE_ONE_TAP"),
        admin_emails=admin_emails,
        admin_domain=domain.lower().lstrip("@") if domain else None,
    )
