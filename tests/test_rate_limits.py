"""Rate limits: one form fetched once and replayed cannot make a thousand leads, one
email cannot be signed up over and over, the API is limited per token; a Redis outage
never turns a visitor away, and a Redis shared by two apps counts for both."""

from __future__ import annotations

import os
import uuid

import pytest
from conftest import Visitor, make_app
from sqlalchemy import func, select

from flask_funnel.db.models import Submission

REDIS_URL = os.environ.get("FUNNEL_TEST_REDIS_URL")


def _stored(app) -> int:
    with app.extensions["funnel"].engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Submission)).scalar_one()


def _app(tmp_path, **config):
    limits = {"FUNNEL_RATELIMIT_ENABLED": True, "FUNNEL_RATELIMIT_SIGN_UPS": "5 per minute"}
    return make_app(tmp_path, **limits | config)


def test_a_replayed_form_makes_no_more_leads_than_the_limit(tmp_path):
    app = _app(tmp_path)
    visitor = Visitor(app.test_client())
    form = visitor.contact_form()  # fetched once, its tokens reused for every post
    statuses = [
        visitor.submit(form, email=f"bot{n}@example.com", key=uuid.uuid4().hex).status_code
        for n in range(30)
    ]
    assert statuses == [303] * 5 + [429] * 25
    assert _stored(app) == 5


def test_a_limited_visitor_sees_the_form_again_with_what_they_typed(tmp_path):
    app = _app(tmp_path, FUNNEL_RATELIMIT_SIGN_UPS="1 per minute")
    visitor = Visitor(app.test_client())
    assert visitor.submit().status_code == 303
    again = visitor.submit(email="zoe@example.com", name="Zoë <b>")
    assert again.status_code == 429
    assert again.headers["Retry-After"] == "60"
    assert "Too many sign-ups from your connection just now" in again.text
    assert 'value="zoe@example.com"' in again.text
    assert 'value="Zoë &lt;b&gt;"' in again.text


def test_the_limit_is_per_address_behind_a_trusted_proxy(tmp_path):
    app = _app(tmp_path, FUNNEL_RATELIMIT_SIGN_UPS="2 per minute", FUNNEL_PROXY_COUNT=1)
    visitor = Visitor(app.test_client())
    form = visitor.contact_form()

    def post(address: str, n: int) -> int:
        return visitor.client.post(
            f"{visitor.base}/quiz",
            data=form | {"email": f"p{n}@example.com", "consent": "y", "key": uuid.uuid4().hex},
            headers={"X-Forwarded-For": address},
        ).status_code

    assert [post("203.0.113.7", n) for n in range(3)] == [303, 303, 429]
    assert post("198.51.100.9", 3) == 303  # someone else behind the same proxy


def test_one_email_cannot_be_signed_up_over_and_over(tmp_path):
    app = _app(tmp_path, FUNNEL_RATELIMIT_SIGN_UPS_PER_EMAIL="2 per hour", FUNNEL_PROXY_COUNT=1)
    client = app.test_client()
    statuses = []
    for n in range(4):  # from four different addresses, in changing letter case
        visitor = Visitor(client)
        form = visitor.contact_form()
        statuses.append(
            client.post(
                f"{visitor.base}/quiz",
                data=form
                | {"email": "Ann@Example.com".swapcase() * (n % 2) or "ann@example.com"}
                | {"consent": "y"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            ).status_code
        )
    assert statuses == [303, 303, 429, 429]


def test_a_redis_that_is_down_never_turns_a_visitor_away(tmp_path):
    app = _app(tmp_path, FUNNEL_RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0")
    visitor = Visitor(app.test_client())
    assert visitor.submit().status_code == 303
    assert _stored(app) == 1


def test_an_unknown_rate_limit_names_the_setting(tmp_path):
    with pytest.raises(RuntimeError, match="FUNNEL_RATELIMIT_SIGN_UPS: 'lots' is not a rate"):
        make_app(tmp_path, FUNNEL_RATELIMIT_SIGN_UPS="lots")


def test_the_purchases_api_is_limited_per_token(tmp_path):
    app = _app(tmp_path, FUNNEL_API_TOKEN="t0ken", FUNNEL_RATELIMIT_API="2 per minute")
    client = app.test_client()
    Visitor(client).submit()
    headers = {"Authorization": "Bearer t0ken"}
    body = {"email": "ann@example.com", "amount": "5", "currency": "EUR"}
    statuses = [client.post("/p/api/purchases", json=body, headers=headers).status_code]
    statuses += [client.post("/p/api/purchases", json=body, headers=headers).status_code]
    third = client.post("/p/api/purchases", json=body, headers=headers)
    assert statuses == [201, 201]
    assert third.status_code == 429
    assert third.is_json and "error" in third.json


@pytest.mark.skipif(not REDIS_URL, reason="FUNNEL_TEST_REDIS_URL is not set")
def test_two_apps_sharing_a_redis_share_the_limit(tmp_path):
    """Two hosts behind one load balancer: the limit counts their requests together."""
    from redis import Redis

    Redis.from_url(REDIS_URL).flushdb()
    config = {
        "FUNNEL_RATELIMIT_STORAGE_URI": REDIS_URL,
        "FUNNEL_RATELIMIT_SIGN_UPS": "3 per minute",
    }
    (tmp_path / "one").mkdir(), (tmp_path / "two").mkdir()
    first = _app(tmp_path / "one", **config)
    second = _app(tmp_path / "two", **config)
    statuses = [
        Visitor(app.test_client()).submit(email=f"p{n}@example.com").status_code
        for n, app in enumerate([first, second, first, second])
    ]
    assert statuses == [303, 303, 303, 429]
