"""The brake on admin password sign-in: a parallel burst of guesses gets no more checks
than the limit, the real admin signing in from elsewhere is never locked out, and with
the brake's storage gone sign-in waits rather than run unbraked."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from conftest import hidden_fields, make_app
from sqlalchemy import func, select

from flask_funnel.auth import accounts
from flask_funnel.db.models import AuditEntry

PASSWORD = "correct horse battery staple"


def _app(tmp_path, **config):
    app = make_app(tmp_path, FUNNEL_PROXY_COUNT=1, **config)
    accounts.create_admin(app.extensions["funnel"].engine, "boss@shop.example", PASSWORD)
    return app


def _sign_in_form(app):
    client = app.test_client()
    return client, hidden_fields(client.get("/p/admin/sign-in").text)


def _post(client, form, address: str, password: str) -> int:
    data = form | {"email": "boss@shop.example", "password": password}
    return client.post(
        "/p/admin/sign-in", data=data, headers={"X-Forwarded-For": address}
    ).status_code


def _count(app, action: str) -> int:
    with app.extensions["funnel"].engine.connect() as connection:
        return connection.execute(
            select(func.count()).where(AuditEntry.action == action)
        ).scalar_one()


def test_a_parallel_burst_of_guesses_gets_only_the_allowed_checks(tmp_path):
    app = _app(tmp_path)  # 5 attempts per address in 15 minutes
    guesses = [_sign_in_form(app) for _ in range(24)]
    barrier = threading.Barrier(len(guesses))

    def guess(job):
        client, form = job
        barrier.wait()
        return _post(client, form, "203.0.113.5", "guess guess guess")

    with ThreadPoolExecutor(len(guesses)) as pool:
        statuses = sorted(pool.map(guess, guesses))
    assert statuses == [401] * 5 + [429] * 19
    assert _count(app, "sign_in_failed") == 5  # only five passwords were ever checked
    assert _count(app, "sign_in_blocked") == 1  # and the refusals audited once


def test_a_stranger_guessing_cannot_lock_the_real_admin_out(tmp_path):
    app = _app(tmp_path)
    stranger, form = _sign_in_form(app)
    statuses = [_post(stranger, form, "203.0.113.5", "guess guess guess") for _ in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    admin, admin_form = _sign_in_form(app)
    assert _post(admin, admin_form, "198.51.100.20", PASSWORD) == 303


def test_a_success_starts_the_count_again(tmp_path):
    app = _app(tmp_path)
    client, form = _sign_in_form(app)
    for _ in range(4):
        assert _post(client, form, "203.0.113.5", "typo typo typo") == 401
    assert _post(client, form, "203.0.113.5", PASSWORD) == 303
    client, form = _sign_in_form(app)
    assert [_post(client, form, "203.0.113.5", "typo typo typo") for _ in range(5)] == [401] * 5


def test_with_its_storage_gone_sign_in_waits(tmp_path):
    app = _app(tmp_path, FUNNEL_RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0")
    client, form = _sign_in_form(app)
    answer = client.post(
        "/p/admin/sign-in", data=form | {"email": "boss@shop.example", "password": PASSWORD}
    )
    assert answer.status_code == 503
    assert "Sign-in is unavailable" in answer.text
    assert _count(app, "sign_in") == 0


def test_the_refusal_points_a_signed_out_visitor_back_to_sign_in(tmp_path):
    app = _app(tmp_path)
    client, form = _sign_in_form(app)
    statuses = [_post(client, form, "203.0.113.9", "guess guess guess") for _ in range(6)]
    assert statuses[-1] == 429
    data = form | {"email": "boss@shop.example", "password": "guess guess guess"}
    refused = client.post("/p/admin/sign-in", data=data, headers={"X-Forwarded-For": "203.0.113.9"})
    assert refused.status_code == 429
    assert "Back to sign-in" in refused.text and "Back to the leads" not in refused.text
