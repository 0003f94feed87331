"""Fixtures: the demo app on a fresh database per test (an SQLite file, or a server's:
see ``DATABASE``), and a scripted visitor."""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import pytest
from databases import ServerDatabases
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from landing import create_app, funnel

# The browser tests need a Chromium binary, the installed-wheel tests a virtualenv with
# the wheel (see .ci/run); without them they are not collected at all.
collect_ignore = (
    []
    if os.environ.get("FUNNEL_TEST_CHROMIUM")
    else ["test_browser.py", "test_accessibility.py", "test_keyboard.py"]
)
if not os.environ.get("FUNNEL_TEST_WHEEL_VENV"):
    collect_ignore.append("test_installed_wheel.py")

ROOT = Path(__file__).resolve().parent.parent
DEMO_PAGES = ROOT / "landing" / "pages"
#: The demo page's A/B test shows one of these headlines (variants a and b).
HEADLINES = ("Find the brewing method made for your mornings", "Better coffee at home starts")


def page_text(response) -> str:
    """A response's HTML without the ``<wbr>`` break hints the admin puts in emails, to
    look for an address in it."""
    return response.text.replace("<wbr>", "")


def shows_hero(html: str) -> bool:
    return any(headline in html for headline in HEADLINES)


#: The demo page with a variant b that changes every part a variant may change.
EVERY_PART = (
    (DEMO_PAGES / "home-brewing.toml")
    .read_text(encoding="utf-8")
    .replace(
        """  [variants.questions.style]           # by question id, as in a locale""",
        """  [variants.offer]
  title = "The espresso crib sheet"
  description = "One page, pinned by the grinder."
  button = "Get the crib sheet"
  file = "crib-sheet.pdf"

  [variants.consent]
  text = "Email me the crib sheet and a tip a week."
  version = "2026-12-b"

  [variants.questions.time]
  help = "Be honest."
  choices = { weekend = "Only at the weekend, slowly" }
  images = { weekend = "images/cup-iced.svg" }

  [variants.questions.style]""",
    )
    .replace(
        """[locales.fa.variants.b.questions.style]""",
        """[locales.fa.variants.b.offer]
title = "برگهٔ تقلب اسپرسو"
description = "یک صفحه، کنار آسیاب."
button = "دریافت برگه"

[locales.fa.variants.b.consent]
text = "برگه و هفته‌ای یک نکته را ایمیل کنید."
version = "2026-12-b-fa"

[locales.fa.variants.b.questions.time]
help = "صادق باشید."
choices = { weekend = "فقط آخر هفته، با حوصله" }

[locales.fa.variants.b.questions.style]""",
    )
)


#: A person's browser. The funnel takes scripts' user agents (``python-requests``,
#: HeadlessChrome) for bots, so tests that play a person send this one.
PHONE_BROWSER = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)

#: Answers of the demo page that score 2 + 2 + 3 = 7 ("pour-over").
ANSWERS = {"style": "black", "time": "5min", "gear": "grinder"}


def make_app(tmp_path: Path, **config):
    """The demo app for a test, on the database of ``tmp_path`` (``database_url``) unless
    ``config`` names one (then its tables are made by ``create_all``)."""
    given = "SQLALCHEMY_DATABASE_URI" in config
    settings = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": None if given else database_url(tmp_path),
        "FUNNEL_MIN_FILL_SECONDS": 0,
        "FUNNEL_PAGES_RELOAD_SECONDS": 0,
        "FUNNEL_PAGES_CACHE_DIR": str(tmp_path / "page-cache"),
        # Rate limits have their own tests (test_rate_limits.py); elsewhere one test
        # client posts far more often than any visitor.
        "FUNNEL_RATELIMIT_ENABLED": False,
        # No places unless a test builds a database (not the demo's packaged GeoLite2).
        "FUNNEL_GEOIP_PATH": None,
    }
    settings.update(config)
    app = create_app(settings)
    if given or DATABASE == "sqlite":
        with app.app_context():
            funnel.db.create_all()
    if not given and _lent:
        _lent[-1].apps.append(app)
    return app


def database_url(folder: Path) -> str:
    """The database of the app a test makes in ``folder``: an SQLite file there or, in a
    server pass, a migrated database of that server, the same one for the same folder
    until the test ends (an app made again there sees the first one's data)."""
    if DATABASE == "sqlite":
        return f"sqlite:///{folder / 'funnel.sqlite3'}"
    return _lent[-1].url(folder)


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    yield app
    with app.app_context():
        funnel.db.engine.dispose()


@pytest.fixture
def pages_dir(tmp_path):
    """A copy of the demo pages (with their images and offers) to break at will."""
    target = tmp_path / "pages"
    shutil.copytree(DEMO_PAGES, target)
    return target


@pytest.fixture
def every_part_pages(pages_dir):
    """The demo pages, with ``EVERY_PART`` as home-brewing.toml and its offer file."""
    (pages_dir / "offers" / "crib-sheet.pdf").write_bytes(b"%PDF-1.4 crib sheet")
    (pages_dir / "home-brewing.toml").write_text(EVERY_PART, encoding="utf-8")
    return pages_dir


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db_session(app):
    """A session of the test's own, outside any app context (so requests made by the
    test get theirs). Reads see one snapshot until ``rollback()``."""
    with Session(app.extensions["funnel"].engine) as session:
        yield session


#: The admin ``admin_client`` signs in as.
ADMIN_EMAIL, ADMIN_PASSWORD = "boss@shop.example", "correct horse battery"


def signed_in_admin(app, client=None):
    """``client`` (a new test client if none) signed in as the admin ``ADMIN_EMAIL``,
    made for the occasion."""
    from flask_funnel.auth import accounts

    accounts.create_admin(app.extensions["funnel"].engine, ADMIN_EMAIL, ADMIN_PASSWORD)
    client = client or app.test_client()
    token = hidden_fields(client.get("/p/admin/sign-in").text)["csrf_token"]
    response = client.post(
        "/p/admin/sign-in",
        data={"csrf_token": token, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def sign_in_admin(app):
    """``sign_in_admin(client)``: make the admin ``ADMIN_EMAIL`` and sign ``client`` in."""
    return lambda client: signed_in_admin(app, client)


@pytest.fixture
def admin_client(client, sign_in_admin):
    """The test client, signed in to the admin area as ``ADMIN_EMAIL``."""
    return sign_in_admin(client)


def parse_page(pages_dir: Path, text: str):
    """The result of parsing ``text`` as a page file in ``pages_dir`` (its assets and
    offers beside it)."""
    from flask_funnel.pages.parser import PageParser

    path = pages_dir / "broken.toml"
    path.write_text(text, encoding="utf-8")
    return PageParser(pages_dir / "assets", pages_dir / "offers").parse_file(path)


def add_leads(app, count: int) -> None:
    """``count`` plain leads ``p000@example.com``, ... created at the same moment."""
    from flask_funnel.db.models import Lead
    from flask_funnel.db.types import utcnow

    with app.app_context():
        now = utcnow()
        funnel.db.session.add_all(
            Lead(
                email=f"p{n:03}@example.com",
                stage="lead",
                stage_changed_at=now,
                created_at=now,
                updated_at=now,
                quarantined=False,
            )
            for n in range(count)
        )
        funnel.db.session.commit()


def flush_visits(app_or_client) -> None:
    """Write the page views the app still holds in its buffer (see visit_buffer.py)."""
    app = getattr(app_or_client, "application", app_or_client)
    app.extensions["funnel"].visits.flush()


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""


def hidden_fields(html: str) -> dict[str, str]:
    parser = _Inputs()
    parser.feed(html)
    return parser.fields


class Visitor:
    """Walks a quiz the way a browser with JavaScript off does."""

    def __init__(self, client, slug: str = "home-brewing", prefix: str = "/p"):
        self.client, self.slug = client, slug
        self.base = f"{prefix}/{slug}"

    def land(self, query: str = "", **headers):
        return self.client.get(f"{self.base}{query}", headers=headers)

    def step(self, step: int, answers: dict[str, str] | None = None, started: str | None = None):
        params = {f"q_{k}": v for k, v in (answers or {}).items()}
        params["step"] = str(step)
        if started:
            params["started"] = started
        return self.client.get(f"{self.base}/quiz", query_string=params)

    def contact_form(self, answers: dict[str, str] | None = None) -> dict[str, str]:
        """Hidden fields of the contact step (CSRF token, start time, key, answers)."""
        start = self.client.get(f"{self.base}/quiz")
        started = hidden_fields(start.text)["started"]
        answers = ANSWERS if answers is None else answers
        response = self.step(len(answers) + 1, answers, started)
        assert response.status_code == 200, response.text
        return hidden_fields(response.text)

    def submit(self, form: dict[str, str] | None = None, **fields):
        data = dict(self.contact_form() if form is None else form)
        data.update({"email": "ann@example.com", "name": "Ann", "consent": "y"})
        data.update(fields)
        data = {k: v for k, v in data.items() if v is not None}
        return self.client.post(f"{self.base}/quiz", data=data)


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (FUNNEL_TEST_CHROMIUM: see tests/browsers.py), for the browser
    tests of a module."""
    from browsers import chromium

    with chromium() as browser:
        yield browser


@pytest.fixture
def site(fresh_database):
    """The demo on an empty database, served over HTTP: ``(app, address)``."""
    from browsers import serve

    yield from serve(fresh_database(DATABASE))


@pytest.fixture
def visitor(client):
    return Visitor(client)


#: Database servers of the cross-database tests (``.ci/run`` sets both variables).
SERVERS = {
    "postgresql": os.environ.get("FUNNEL_TEST_POSTGRES_URL"),
    "mariadb": os.environ.get("FUNNEL_TEST_MYSQL_URL"),
}
#: The database of this pass: ``make_app``, and so nearly every test, runs on a fresh one.
#: FUNNEL_TEST_DATABASE=postgresql or mariadb (with that server's variable above) runs the
#: suite on that server, each test on a database the real migrations built.
DATABASE = os.environ.get("FUNNEL_TEST_DATABASE") or "sqlite"
#: Every database the cross-database tests run on: in the SQLite pass SQLite and the servers
#: whose URLs are given; in a server pass that server alone.
BACKENDS = (
    ["sqlite"] + [name for name, url in SERVERS.items() if url]
    if DATABASE == "sqlite"
    else [DATABASE]
)
#: Every backend: a test parametrized with one of them is a cross-database test.
_ALL = ("sqlite", *SERVERS)
#: The server pass's databases, lent one per test folder (see databases.py).
_server = ServerDatabases(DATABASE, SERVERS[DATABASE]) if SERVERS.get(DATABASE) else None


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "sqlite_only(reason): a test about SQLite itself, skipped in a server pass",
    )
    config.addinivalue_line(
        "markers",
        "cross_database: a test run once per database of BACKENDS (set on each by itself)",
    )
    if DATABASE != "sqlite" and not SERVERS.get(DATABASE):
        variables = {"postgresql": "FUNNEL_TEST_POSTGRES_URL", "mariadb": "FUNNEL_TEST_MYSQL_URL"}
        raise pytest.UsageError(
            f"FUNNEL_TEST_DATABASE={DATABASE!r}: use sqlite, or postgresql or mariadb"
            f" with {variables.get(DATABASE, 'the server URL variable')} set"
        )


def pytest_collection_modifyitems(items):
    """Mark the cross-database tests, so that ``-m "not cross_database"`` can leave them
    out of a server pass when the SQLite pass has run them on that server (.ci/run)."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if any(isinstance(value, str) and value in _ALL for value in params.values()):
            item.add_marker(pytest.mark.cross_database)


def pytest_runtest_setup(item):
    marker = item.get_closest_marker("sqlite_only")
    if marker is not None and DATABASE != "sqlite":
        pytest.skip(f"SQLite only: {marker.args[0]}")


class _Lent:
    """The server databases ``make_app`` opened for one test (or, outside any test, for
    the session), and the apps made on them: given back when it ends."""

    def __init__(self):
        self.urls: dict[Path, str] = {}
        self.apps: list = []

    def url(self, folder: Path) -> str:
        key = Path(folder).resolve()
        if key not in self.urls:
            self.urls[key] = _server.acquire()
        return self.urls[key]

    def give_back(self) -> None:
        for app in self.apps:
            state = app.extensions["funnel"]
            state.visits.flush()  # now, not into the next test's database
            state.engine.dispose()
        for url in self.urls.values():
            _server.release(url)


_lent: list[_Lent] = []  # the session's, then the running test's


@pytest.fixture(scope="session", autouse=True)
def _server_pass():
    if _server is None:
        yield
        return
    _lent.append(_Lent())
    yield
    _lent.pop().give_back()
    _server.close()


@pytest.fixture(autouse=True)
def _server_databases(_server_pass):
    if _server is None:
        yield
        return
    lent = _Lent()
    _lent.append(lent)
    yield
    _lent.remove(lent)
    lent.give_back()


@pytest.fixture
def fresh_database(tmp_path):
    """``fresh_database(backend)``: the URL of a new empty database on that backend
    (``sqlite``, ``postgresql`` or ``mariadb``), dropped when the test ends."""
    with new_databases(tmp_path) as make:
        yield make


@pytest.fixture(scope="module")
def module_database(tmp_path_factory):
    """``module_database(backend)``: as ``fresh_database``, dropped when the test module
    ends (for the one app its tests share)."""
    with new_databases(tmp_path_factory.mktemp("databases")) as make:
        yield make


@contextmanager
def new_databases(folder: Path):
    """``make(backend)``: the URL of a new empty database on that backend (an SQLite
    file in ``folder``), each dropped on leaving."""
    drops = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{folder / f'fresh-{len(drops)}.sqlite3'}"
        server = make_url(SERVERS[backend])
        name = f"funnel_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))

        def drop():
            # PostgreSQL: whatever connections a test's app left open, too.
            force = " WITH (FORCE)" if backend == "postgresql" else ""
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE {name}{force}"))
            admin.dispose()

        drops.append(drop)
        return server.set(database=name).render_as_string(hide_password=False)

    yield make
    for drop in drops:
        drop()


@pytest.fixture(params=BACKENDS)
def migrated(request, fresh_database):
    """The demo app on a new database of each backend, built by the real migrations."""
    from flask_migrate import upgrade

    from landing import MIGRATIONS_DIR

    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": fresh_database(request.param)})
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
    yield app
    with app.app_context():
        funnel.db.engine.dispose()


def sign_up(
    app,
    email: str = "",
    name: str | None = None,
    *,
    identity=None,
    answers=ANSWERS,
    bot: bool = False,
) -> int:
    """A completed quiz on the demo page, the email typed or given by ``identity`` (a
    ``VerifiedIdentity``), stored as the quiz stores it (``bot``: caught by the honeypot);
    the lead's id."""
    from flask_funnel.capture.geo import Place
    from flask_funnel.capture.submissions import QuizEntry, capture

    state = app.extensions["funnel"]
    entry = QuizEntry(
        page=state.pages.get("home-brewing"),
        email=identity.email if identity else email,
        name=name,
        answers=answers,
        idempotency_key=uuid.uuid4().hex,
        visitor_id=None,
        place=Place(),
        fill_seconds=12.0,
        quarantine_reason="honeypot" if bot else None,
        identity=identity,
    )
    return capture(state.engine, entry).lead_id


@contextmanager
def live_site(config: dict):
    """The demo app with ``config`` on a migrated database, served over real HTTP in a
    thread: yields the app and the demo page's address."""
    import threading

    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from landing import MIGRATIONS_DIR

    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}/p/home-brewing"
    finally:
        server.shutdown()
        thread.join()
        with app.app_context():
            funnel.db.session.remove()
            funnel.db.engine.dispose()


def live_contact_form(page: str, browser=None) -> tuple:
    """A browser (``requests``) that answered the quiz at ``page`` over HTTP, and the
    hidden fields of its contact step."""
    import requests

    if browser is None:
        browser = requests.Session()
        browser.headers["User-Agent"] = PHONE_BROWSER
    started = hidden_fields(browser.get(f"{page}/quiz", timeout=10).text)["started"]
    params = {f"q_{k}": v for k, v in ANSWERS.items()} | {"step": "4", "started": started}
    return browser, hidden_fields(browser.get(f"{page}/quiz", params=params, timeout=10).text)


def free_port() -> int:
    """A TCP port nothing listens on now (for a server a test starts)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Provider:
    """A real OpenID Connect provider on 127.0.0.1 (``oidc-provider-mock``)."""

    CLIENT_ID, CLIENT_SECRET = "funnel-test-client", "funnel-test-secret"

    def __init__(self, server):
        self.base = f"http://localhost:{server.server_port}"
        self.metadata_url = f"{self.base}/.well-known/openid-configuration"

    def config(self, **extra) -> dict:
        """App settings that point the funnel's Google sign-in at this provider."""
        return {
            "FUNNEL_GOOGLE_CLIENT_ID": self.CLIENT_ID,
            "FUNNEL_GOOGLE_CLIENT_SECRET": self.CLIENT_SECRET,
            "FUNNEL_GOOGLE_METADATA_URL": self.metadata_url,
            **extra,
        }

    def choose(self, authorize_url: str, sub: str | None = "alice", deny: bool = False) -> str:
        """The person picks account ``sub`` (or presses Deny) on the provider's page;
        returns the path and query the provider sends the browser back to."""
        from urllib.parse import parse_qs, urlsplit

        import requests

        data = {"action": "deny"} if deny else {"sub": sub}
        answer = requests.post(authorize_url, data=data, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text
        back = urlsplit(answer.headers["Location"])
        query = back.query
        if "state=" not in query:  # Google returns the state with an error; the mock not
            state = parse_qs(urlsplit(authorize_url).query)["state"][0]
            query += f"&state={state}"
        return f"{back.path}?{query}"


#: Accounts the test provider knows: verified emails, and one that is not verified.
PROVIDER_USERS = {
    "alice": {"email": "Alice@Gmail.example", "email_verified": True, "name": "Alice Gee"},
    "bob": {
        "email": "bob@shop.example",
        "email_verified": True,
        "name": "Bob",
        "hd": "shop.example",
    },
    "mallory": {"email": "mallory@example.com", "email_verified": False, "name": "Mallory"},
    # Her email reads like shop.example's, but Google vouches for no Workspace domain (no hd).
    "eve": {"email": "eve@shop.example", "email_verified": True, "name": "Eve"},
}


@pytest.fixture(scope="session")
def oidc_provider():
    import warnings

    with warnings.catch_warnings():  # the mock still imports Authlib's old jose module
        warnings.simplefilter("ignore", DeprecationWarning)
        from oidc_provider_mock import User, run_server_in_thread

    users = [User(sub=sub, claims=claims) for sub, claims in PROVIDER_USERS.items()]
    with run_server_in_thread(require_nonce=True, user_claims=users) as server:
        yield Provider(server)


@pytest.fixture
def google_app(tmp_path, oidc_provider):
    """The demo app with Google sign-in pointed at the test provider."""
    app = make_app(tmp_path, **oidc_provider.config())
    yield app
    with app.app_context():
        funnel.db.engine.dispose()


class Inbox:
    """What the test's SMTP server on 127.0.0.1 received (``inbox`` fixture)."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def inbox():
    """A real SMTP server (aiosmtpd) on 127.0.0.1; its port is ``inbox.port``."""
    from aiosmtpd.controller import Controller

    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


def mail_parts(message) -> tuple[str, str]:
    """An email's plain text and HTML."""
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def local_path(url: str) -> str:
    """An absolute link of an email as the test client requests it."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def person(app, language: str = "en"):
    """A test client that is a person's phone (``PHONE_BROWSER``) reading ``language``."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = PHONE_BROWSER
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def mail_app(tmp_path: Path, inbox: Inbox, **config):
    """The demo app mailing the ``inbox`` fixture's SMTP server. MAIL_BACKEND is named:
    with TESTING set, Flask-Mailman would otherwise keep the mail in memory."""
    mail = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": inbox.port, "MAIL_BACKEND": "smtp"}
    return make_app(tmp_path, **mail | {"FUNNEL_MAIL_FROM": "guide@shop.example"} | config)


def deliver_outbox(app, days: float = 0):
    """A pass of ``flask funnel deliver``, ``days`` from now (time made to pass)."""
    from datetime import timedelta

    from flask_funnel.db.types import utcnow
    from flask_funnel.leads.delivery import deliver_due

    state = app.extensions["funnel"]
    with app.app_context():
        now = utcnow() + timedelta(days=days)
        return deliver_due(state.engine, state.settings.webhooks, now=now)


#: A host layout with an inline script and style, as analytics snippets come.
HOST_LAYOUT = """<!doctype html><html lang="{{ locale }}" dir="{{ direction }}"><head>
<title>{% block title %}{% endblock %}</title>{% block funnel_head %}{% endblock %}
<style nonce="{{ csp_nonce() }}">body { outline: 1px solid red; }</style>
<script nonce="{{ csp_nonce() }}">document.documentElement.dataset.analytics = "on";</script>
</head><body>{% block funnel_body %}{% endblock %}</body></html>"""


def host_layout_app(tmp_path, **config):
    """The demo app whose funnel pages wear ``HOST_LAYOUT`` (FUNNEL_BASE_TEMPLATE)."""
    from jinja2 import ChoiceLoader, DictLoader

    app = make_app(tmp_path, FUNNEL_BASE_TEMPLATE="host/layout.html", **config)
    app.jinja_env.loader = ChoiceLoader(
        [DictLoader({"host/layout.html": HOST_LAYOUT}), app.jinja_env.loader]
    )
    return app
