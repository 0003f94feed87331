"""Webhooks to a CRM: each event is written with the change that caused it and sent by
``flask funnel deliver`` to a real HTTP receiver on 127.0.0.1, signed, retried after
failures and stalls, at least once, each event's id the same on every try."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import hidden_fields, make_app, sign_up
from sqlalchemy import func, select

from flask_funnel.db.models import AuditEntry, OutboxMessage
from flask_funnel.db.types import utcnow
from flask_funnel.leads.delivery import deliver_due, wait_before
from flask_funnel.leads.privacy import erase
from flask_funnel.leads.purchases import record_purchase
from flask_funnel.leads.stages import move_lead
from flask_funnel.settings import SettingsError

SECRET = "a-long-shared-secret-for-tests"


def verify(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """The receiver's check, as the README shows it."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp, given = int(parts["t"]), parts["v1"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    fresh = abs(time.time() - timestamp) <= tolerance
    return fresh and hmac.compare_digest(expected.hexdigest(), given)


class Receiver:
    """A CRM's webhook endpoint: answers ``script`` in turn (a status, or "stall" to
    answer 200 only after the sender gave up), then 200; keeps every request."""

    def __init__(self, script=()):
        self.script, self.requests, self.lock = list(script), [], threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    step = receiver.script.pop(0) if receiver.script else 200
                    receiver.requests.append((dict(self.headers), body, step))
                if step == "stall":
                    time.sleep(1.0)
                    step = 200
                self.send_response(step)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def processed(self) -> dict[str, list[dict]]:
        """The events it acted on, by id (a receiver drops an id it has seen)."""
        seen: dict[str, list[dict]] = {}
        for headers, body, _ in self.requests:
            assert verify(SECRET, body, headers["Funnel-Signature"]), headers
            event = json.loads(body)
            assert headers["Funnel-Event-Id"] == event["id"]
            seen.setdefault(event["id"], []).append(event)
        return seen


@pytest.fixture
def receiver():
    made = []

    def start(script=()):
        made.append(Receiver(script))
        return made[-1]

    yield start
    for r in made:
        r.server.shutdown()
        r.server.server_close()


def webhook_app(tmp_path, url, **config):
    hooks = {"crm": {"url": url, "secret": SECRET}}
    return make_app(tmp_path, FUNNEL_WEBHOOKS=hooks, FUNNEL_WEBHOOK_TIMEOUT=0.4, **config)


def outbox(app) -> list:
    with app.extensions["funnel"].engine.connect() as connection:
        return connection.execute(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def deliver_until_done(app, passes: int = 8) -> None:
    """Workers passing by as time goes on (each pass an hour later than the last)."""
    state = app.extensions["funnel"]
    for n in range(passes):
        deliver_due(state.engine, state.settings.webhooks, now=utcnow() + timedelta(hours=n))
        if all(m.state != "pending" for m in outbox(app)):
            return


def test_every_event_arrives_signed_once_by_id_despite_failures_and_a_stall(tmp_path, receiver):
    crm = receiver([500, 503, "stall"])
    app = webhook_app(tmp_path, crm.url)
    engine = app.extensions["funnel"].engine
    with app.app_context():
        ann = sign_up(app, "ann@example.com")
        bob = sign_up(app, "bob@example.com")
        record_purchase(engine, lead_id=ann, amount="49.50", currency="EUR", actor="shop")
        move_lead(engine, bob, "lost", actor="admin@example.com", lost_reason="no budget")
    written = outbox(app)
    events = [m.event for m in written]
    assert events.count("lead.captured") == 2
    assert "purchase.recorded" in events and "lead.stage_changed" in events
    assert {m.state for m in written} == {"pending"}  # nothing sent during the requests

    deliver_until_done(app)
    sent = outbox(app)
    assert {m.state for m in sent} == {"delivered"}
    assert max(m.attempts for m in sent) >= 2  # the failures were tried again
    processed = crm.processed()
    assert set(processed) == {m.event_id for m in sent}  # every event, by its id
    assert len(crm.requests) > len(processed)  # some more than once: at least once
    captured = next(e[0] for e in processed.values() if e[0]["type"] == "lead.captured")
    assert captured["data"]["email"] in ("ann@example.com", "bob@example.com")
    assert captured["data"]["page"] == "home-brewing" and captured["data"]["answers"]
    bought = next(e[0] for e in processed.values() if e[0]["type"] == "purchase.recorded")
    assert (bought["data"]["amount"], bought["data"]["currency"]) == ("49.50", "EUR")
    lost = [
        e[0]["data"]
        for e in processed.values()
        if e[0]["type"] == "lead.stage_changed" and e[0]["data"]["to_stage"] == "lost"
    ]
    assert lost == [lost[0]] and lost[0]["lost_reason"] == "no budget"


def test_an_erased_lead_s_messages_are_dropped_and_the_erasure_is_sent(tmp_path, receiver):
    crm = receiver()
    app = webhook_app(tmp_path, crm.url)
    with app.app_context():
        ann = sign_up(app, "ann@example.com")
        assert any(m.lead_id == ann for m in outbox(app))
        erase(app.extensions["funnel"].engine, ann, "admin@example.com")
    left = outbox(app)
    assert [m.event for m in left] == ["lead.erased"]
    assert "ann@example.com" not in left[0].body
    deliver_until_done(app)
    [event] = [e for events in crm.processed().values() for e in events]
    assert event["type"] == "lead.erased" and event["data"] == {"lead_id": ann}


def test_a_suspected_bot_and_a_site_without_webhooks_write_nothing(tmp_path, app, receiver):
    with app.app_context():
        sign_up(app, "ann@example.com")
    assert outbox(app) == []  # no endpoint configured
    (tmp_path / "hooked").mkdir()
    hooked = webhook_app(tmp_path / "hooked", receiver().url)
    from flask_funnel.capture.geo import Place
    from flask_funnel.capture.submissions import QuizEntry, capture

    state = hooked.extensions["funnel"]
    with hooked.app_context():
        capture(
            state.engine,
            QuizEntry(
                page=state.pages.get("home-brewing"),
                email="bot@example.com",
                name=None,
                answers={"style": "black", "time": "5min", "gear": "grinder"},
                idempotency_key="bot-1",
                visitor_id=None,
                place=Place(),
                fill_seconds=0.1,
                quarantine_reason="too_fast",
            ),
        )
    assert outbox(hooked) == []


def test_a_receiver_that_never_answers_well_is_given_up_after_the_last_try(tmp_path, receiver):
    crm = receiver([500] * 50)
    app = webhook_app(tmp_path, crm.url, FUNNEL_WEBHOOK_MAX_ATTEMPTS=3)
    with app.app_context():
        sign_up(app, "ann@example.com")
    deliver_until_done(app)
    assert {(m.state, m.attempts, m.last_status) for m in outbox(app)} == {("failed", 3, 500)}
    assert all(m.last_error == "answered 500" for m in outbox(app))


def test_the_wait_doubles_with_jitter_up_to_six_hours():
    for attempt, longest in ((1, 30), (2, 60), (3, 120), (12, 6 * 3600), (40, 6 * 3600)):
        waits = {wait_before(attempt).total_seconds() for _ in range(20)}
        assert all(longest / 2 <= w <= longest for w in waits)
        assert len(waits) > 1  # jittered


def test_two_workers_at_once_send_each_message_once(tmp_path, receiver):
    crm = receiver()
    app = webhook_app(tmp_path, crm.url)
    with app.app_context():
        for n in range(12):
            sign_up(app, f"lead{n}@example.com")
    state = app.extensions["funnel"]
    workers = [
        threading.Thread(target=deliver_due, args=(state.engine, state.settings.webhooks))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    deliveries = [headers["Funnel-Delivery"] for headers, _, _ in crm.requests]
    assert len(deliveries) == len(set(deliveries)) == len(outbox(app))
    assert {m.state for m in outbox(app)} == {"delivered"}


def test_the_command_sends_what_is_due(tmp_path, receiver):
    crm = receiver()
    app = webhook_app(tmp_path, crm.url)
    with app.app_context():
        sign_up(app, "ann@example.com")
    result = app.test_cli_runner().invoke(args=["funnel", "deliver"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{len(outbox(app))} delivered, 0 to try again later")
    with app.extensions["funnel"].engine.connect() as connection:
        pending = connection.execute(
            select(func.count()).where(OutboxMessage.state == "pending")
        ).scalar()
    assert pending == 0


@pytest.mark.parametrize(
    ("hooks", "expected"),
    [
        ({"crm": {"url": "ftp://x", "secret": SECRET}}, "FUNNEL_WEBHOOKS['crm']['url']"),
        ({"crm": {"url": "https://x.example", "secret": "short"}}, "['secret']"),
        (
            {"crm": {"url": "https://x.example", "secret": SECRET, "events": ["lead.won"]}},
            "['events']",
        ),
        ({"CRM!": {"url": "https://x.example", "secret": SECRET}}, "a name is 1 to 40"),
        ([], "must be a dict of endpoints"),
    ],
)
def test_a_wrong_webhook_setting_stops_the_app_and_names_it(tmp_path, hooks, expected):
    with pytest.raises(SettingsError) as error:
        make_app(tmp_path, FUNNEL_WEBHOOKS=hooks)
    assert expected in str(error.value)
    assert SECRET not in str(error.value)


def test_the_admin_reads_the_log_and_sends_a_message_again(tmp_path, receiver, sign_in_admin):
    from conftest import hidden_fields

    crm = receiver([500])
    app = webhook_app(tmp_path, crm.url, FUNNEL_WEBHOOK_MAX_ATTEMPTS=1)
    with app.app_context():
        sign_up(app, "ann@example.com")
    deliver_until_done(app)
    [failed] = [m for m in outbox(app) if m.state == "failed"]
    admin = sign_in_admin(app.test_client())
    page = admin.get("/p/admin/webhooks?state=failed")
    assert page.status_code == 200
    assert "answered 500" in page.text and "lead.captured" in page.text
    assert SECRET not in page.text and "crm" in page.text
    assert admin.get("/p/admin/webhooks?state=nope").status_code == 404
    again = {"intent": "send-again", "message_id": failed.id}
    assert admin.post("/p/admin/webhooks", data=again).status_code == 400  # no CSRF token
    token = hidden_fields(page.text)["csrf_token"]
    sent = admin.post("/p/admin/webhooks", data={"csrf_token": token, **again})
    assert sent.status_code == 303
    assert "will be sent again" in admin.get(sent.location).text
    deliver_until_done(app)
    again = next(m for m in outbox(app) if m.id == failed.id)
    assert again.state == "delivered"
    answered = [json.loads(b)["id"] for _, b, status in crm.requests if status == 200]
    assert answered.count(failed.event_id) == 1  # the same event, by its id
    assert app.test_client().get("/p/admin/webhooks").status_code in (302, 303)


# --- what a second reader found ---------------------------------------------------------


def test_a_batch_taken_over_after_its_lease_is_not_sent_twice(tmp_path, receiver):
    """A worker whose lease ran out while it sent a long batch sends nothing another
    worker has taken over, and does not overwrite how that one went."""
    from flask_funnel.leads import delivery

    crm = receiver()
    app = webhook_app(tmp_path, crm.url)
    with app.app_context():
        sign_up(app, "ann@example.com")
    engine = app.extensions["funnel"].engine
    slow = delivery._claim(engine, utcnow(), "slow-worker")
    with engine.begin() as connection:  # its lease runs out
        connection.execute(
            OutboxMessage.__table__.update().values(claimed_until=utcnow() - timedelta(seconds=1))
        )
    deliver_due(engine, app.extensions["funnel"].settings.webhooks)  # another worker
    assert all(not delivery._hold(engine, m.id, "slow-worker") for m in slow)
    deliveries = [headers["Funnel-Delivery"] for headers, _, _ in crm.requests]
    assert len(deliveries) == len(set(deliveries)) == len(slow)
    assert {m.state for m in outbox(app)} == {"delivered"}


def test_one_message_that_cannot_be_sent_does_not_hold_up_the_others(
    tmp_path, receiver, monkeypatch
):
    from flask_funnel.leads import webhooks

    crm = receiver()
    app = webhook_app(tmp_path, crm.url)
    with app.app_context():
        sign_up(app, "ann@example.com")
    first = outbox(app)[0].id
    real_post = webhooks.post

    def breaking(http, endpoint, message, timeout):
        if message.id == first:
            raise ValueError("Header values can't contain newlines (got 'x\\ny@example.com')")
        return real_post(http, endpoint, message, timeout)

    monkeypatch.setattr(webhooks, "post", breaking)
    state = app.extensions["funnel"]
    sent = deliver_due(state.engine, state.settings.webhooks)
    assert (sent.delivered, sent.retrying) == (len(outbox(app)) - 1, 1)
    broken = next(m for m in outbox(app) if m.id == first)
    assert broken.last_error == "ValueError while sending"  # no header value, no address


def test_finished_messages_are_forgotten_after_the_keeping_days(tmp_path, receiver):
    crm = receiver()
    app = webhook_app(tmp_path, crm.url, FUNNEL_OUTBOX_KEEP_DAYS=30)
    with app.app_context():
        sign_up(app, "ann@example.com")
    deliver_until_done(app)
    engine = app.extensions["funnel"].engine
    with engine.begin() as connection:
        connection.execute(
            OutboxMessage.__table__.update().values(created_at=utcnow() - timedelta(days=31))
        )
    with app.app_context():
        sign_up(app, "bob@example.com")  # new, pending: kept
    app.test_cli_runner().invoke(args=["funnel", "deliver"])
    assert outbox(app) and all("bob@example.com" in m.body for m in outbox(app))


def test_a_host_s_global_csrf_protection_spares_the_one_click_unsubscribe(tmp_path):
    from flask import Flask
    from flask_wtf.csrf import CSRFProtect

    from flask_funnel import Funnel
    from flask_funnel.views import CSRF_EXEMPT

    app = Flask("host", root_path=str(tmp_path))
    app.config.update(SECRET_KEY="k", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/h.db")
    csrf = CSRFProtect(app)
    Funnel(app)
    assert {f"{v.__module__}.{v.__name__}" for v in app.view_functions.values()} >= set(CSRF_EXEMPT)
    assert set(CSRF_EXEMPT) <= csrf._exempt_views


# --- endpoints an admin adds ------------------------------------------------------------


def add_endpoint_form(admin, **fields):
    page = admin.get("/p/admin/webhooks")
    token = hidden_fields(page.text)["csrf_token"]
    data = {"intent": "add", "csrf_token": token, "events": ["lead.captured", "lead.erased"]}
    return admin.post("/p/admin/webhooks", data=data | fields)


def test_an_admin_adds_an_endpoint_and_it_gets_the_events_signed(tmp_path, receiver):
    from conftest import signed_in_admin

    from flask_funnel.leads import webhook_endpoints

    crm = receiver()
    app = make_app(tmp_path, FUNNEL_WEBHOOK_ALLOW_PRIVATE=True)  # the receiver is local
    admin = signed_in_admin(app)
    added = add_endpoint_form(admin, name="sales-crm", url=crm.url)
    assert added.status_code == 303 and added.location == "/p/admin/webhooks"
    shown = admin.get(added.location).text
    secret = re.search(r'<code dir="ltr" class="secret">([^<]+)</code>', shown).group(1)
    assert secret not in admin.get("/p/admin/webhooks").text  # shown once
    webhook_endpoints.forget_cache(app.extensions["funnel"].engine)
    with app.app_context():
        sign_up(app, "ann@example.com")
    assert {m.event for m in outbox(app)} == {"lead.captured"}  # only what it asked for
    deliver_until_done(app)
    [(headers, body, _)] = crm.requests
    assert verify(secret, body, headers["Funnel-Signature"])
    with app.extensions["funnel"].engine.connect() as connection:
        actions = connection.execute(select(AuditEntry.action, AuditEntry.detail)).all()
    assert ("webhook_endpoint", f"added sales-crm: {crm.url}") in actions


def test_an_endpoint_on_a_private_network_is_refused_beside_its_field(tmp_path):
    from conftest import signed_in_admin

    admin = signed_in_admin(make_app(tmp_path))
    for url in ("http://127.0.0.1:8080/x", "http://169.254.169.254/latest", "ftp://x.example"):
        refused = add_endpoint_form(admin, name="crm", url=url)
        assert refused.status_code == 422, url
        assert "not a private or local one" in refused.text
        assert 'value="' + url + '"' in refused.text  # the form keeps what was typed
    assert add_endpoint_form(admin, name="Bad Name!", url="https://x.example").status_code == 422
    no_token = {"intent": "add", "name": "x", "url": "https://x"}
    assert admin.post("/p/admin/webhooks", data=no_token).status_code == 400


def test_a_removed_endpoint_gets_nothing_more(tmp_path, receiver):
    from conftest import signed_in_admin

    from flask_funnel.leads import webhook_endpoints

    crm = receiver()
    app = make_app(tmp_path, FUNNEL_WEBHOOK_ALLOW_PRIVATE=True)
    admin = signed_in_admin(app)
    add_endpoint_form(admin, name="crm2", url=crm.url)
    page = admin.get("/p/admin/webhooks").text
    endpoint = re.search(r'name="endpoint_id" value="(\d+)"', page).group(1)
    token = hidden_fields(page)["csrf_token"]
    remove = {"intent": "remove", "endpoint_id": endpoint, "csrf_token": token}
    assert admin.post("/p/admin/webhooks", data=remove).status_code == 303
    webhook_endpoints.forget_cache(app.extensions["funnel"].engine)
    with app.app_context():
        sign_up(app, "bob@example.com")
    assert outbox(app) == []
