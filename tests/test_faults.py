"""Faults while visitors sign up: the database goes away mid-traffic and comes back.

The app reaches its database through a TCP relay this test controls; cutting the relay
(every open connection dropped, new ones refused) is what a database restart looks like
from the app. On every database: a visitor who posts while it is away gets the contact
step back with status 503 and what they typed; every submission answered with a
redirect is stored; and once the database is back, sign-ups work again without
restarting the app."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import BACKENDS, Visitor, live_contact_form, live_site, make_app
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

from flask_funnel.db.models import Submission

SERVER_BACKENDS = [b for b in BACKENDS if b != "sqlite"]


class Relay:
    """Forwards 127.0.0.1:<port> to a database server; ``cut()`` drops every connection
    and refuses new ones until ``restore()``."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def cut(self) -> None:
        self.up = False
        with self.lock:
            for s in self.sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self.sockets.clear()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture(params=SERVER_BACKENDS)
def relayed_site(request, fresh_database):
    url = make_url(fresh_database(request.param))
    relay = Relay(url.host, url.port)
    relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    config = {
        "SECRET_KEY": "faults",
        "SQLALCHEMY_DATABASE_URI": relayed,
        "FUNNEL_MIN_FILL_SECONDS": 0,
        "FUNNEL_RATELIMIT_ENABLED": False,
        "FUNNEL_VISIT_FLUSH_SECONDS": 0,
    }
    try:
        with live_site(config) as (_, base):
            yield relay, base, url
    finally:
        relay.close()


def test_a_database_restart_under_load_loses_no_answered_submission(relayed_site):
    relay, base, url = relayed_site
    forms = [live_contact_form(base) for _ in range(60)]  # fetched while the database is up
    answered: dict[str, int] = {}
    kept_values = []

    def post(n: int) -> None:
        browser, form = forms[n]
        email = f"visitor{n}@example.com"
        response = browser.post(
            f"{base}/quiz",
            data=form | {"email": email, "name": "Ann", "consent": "y"},
            allow_redirects=False,
            timeout=60,
        )
        answered[form["key"]] = response.status_code
        if response.status_code == 503:
            kept_values.append(f'value="{email}"' in response.text)

    with ThreadPoolExecutor(6) as pool:
        first = list(pool.map(post, range(20)))  # noqa: F841 - run for their effect
        relay.cut()
        during = [pool.submit(post, n) for n in range(20, 40)]
        time.sleep(1.5)
        relay.restore()
        for job in during:
            job.result()
        list(pool.map(post, range(40, 60)))

    statuses = set(answered.values())
    assert statuses <= {303, 503}, statuses
    assert 503 in statuses  # the outage was seen ...
    assert all(kept_values)  # ... with the typed email kept in the form
    assert all(answered[forms[n][1]["key"]] == 303 for n in range(40, 60))  # and it recovered
    engine = create_engine(url)
    with engine.connect() as connection:
        stored = set(connection.execute(select(Submission.idempotency_key)).scalars())
    engine.dispose()
    redirected = {key for key, status in answered.items() if status == 303}
    assert redirected <= stored  # every submission answered as stored is stored


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB file system of its own (tmpfs; needs root, as in CI)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def _fill(folder) -> None:
    """Write a file until the disk is full."""
    with open(folder / "filler", "wb") as filler:
        try:
            while True:
                filler.write(b"x" * 65536)
                filler.flush()
        except OSError:
            pass


def test_a_full_disk_on_sqlite_answers_503_keeps_the_form_and_recovers(tmp_path, small_disk):
    """Pages still show, a submission comes back with what was typed, nothing is
    half-written, and sign-ups work again once there is room, without a restart."""
    app = make_app(
        tmp_path,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{small_disk / 'funnel.sqlite3'}",
        FUNNEL_VISIT_FLUSH_SECONDS=0,
    )
    engine = app.extensions["funnel"].engine
    try:
        visitor = Visitor(app.test_client())
        form = visitor.contact_form()
        _fill(small_disk)
        assert visitor.land().status_code == 200  # the page shows; its view is dropped
        refused = visitor.submit(form, email="zoe@example.com")
        assert refused.status_code == 503
        assert 'value="zoe@example.com"' in refused.text
        (small_disk / "filler").unlink()
        assert visitor.submit(form, email="zoe@example.com").status_code == 303
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(Submission)).scalar() == 1
    finally:
        engine.dispose()
