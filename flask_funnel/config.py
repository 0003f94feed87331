"""Every ``FUNNEL_*`` setting with its default.

The extension copies these into ``app.config`` with ``setdefault`` so a host only
sets what it wants to change. Paths left as ``None`` are derived in ``init_app``.
"""

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
    # Store full client addresses instead of IPv4 /24 and IPv6 /48 networks.
    "FUNNEL_STORE_FULL_IP": False,
    # Content-Security-Policy frame-ancestors for funnel pages.
    "FUNNEL_FRAME_ANCESTORS": "'self'",
    # Page views are written in batches: when this many are queued, when the oldest
    # is this many seconds old, and before a submission is stored. 0 seconds writes
    # each view at once.
    "FUNNEL_VISIT_FLUSH_SECONDS": 0.5,
    "FUNNEL_VISIT_BATCH_SIZE": 100,
    # Admin sessions end after this many idle minutes, and after this many hours.
    "FUNNEL_ADMIN_IDLE_MINUTES": 30,
    "FUNNEL_ADMIN_MAX_HOURS": 12,
    # Sign-ins refused after this many failures for one email or address ...
    "FUNNEL_ADMIN_MAX_FAILURES": 5,
    # ... within this many minutes.
    "FUNNEL_ADMIN_FAILURE_WINDOW_MINUTES": 15,
    # Bearer token of the purchases API (POST <prefix>/api/purchases); None turns it off.
    "FUNNEL_API_TOKEN": None,
    # On SQLite: WAL journal, a 5 s busy timeout and BEGIN IMMEDIATE transactions,
    # so concurrent workers wait for each other instead of failing.
    "FUNNEL_SQLITE_TUNING": True,
    # Time zone (IANA name) the funnel report counts days and months in; times are
    # stored in UTC.
    "FUNNEL_REPORT_TIMEZONE": "UTC",
    # Breakdown groups with fewer leads than this are folded into "other".
    "FUNNEL_REPORT_MIN_GROUP": 10,
    # Calendar months in the month-over-month table.
    "FUNNEL_REPORT_MONTHS": 24,
    # The forecast counts leads that entered their stage within this many days, and
    # learns conversion rates from leads that reached a stage in the window of this
    # many days before the last 90.
    "FUNNEL_FORECAST_ACTIVE_DAYS": 90,
    "FUNNEL_FORECAST_HISTORY_DAYS": 180,
}
