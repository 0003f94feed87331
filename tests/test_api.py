"""The purchases API a shop calls with its token."""

from __future__ import annotations

import pytest
from conftest import Visitor, make_app

TOKEN = "s3cret-shop-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LOW_SCORE = {"style": "iced", "time": "1min", "gear": "none"}


@pytest.fixture
def shop(tmp_path):
    app = make_app(tmp_path, FUNNEL_API_TOKEN=TOKEN)
    client = app.test_client()
    visitor = Visitor(client)
    visitor.submit(visitor.contact_form(LOW_SCORE), email="buyer@example.com")
    return client


def post(client, body, headers=AUTH):
    return client.post("/p/api/purchases", json=body, headers=headers)


def test_a_purchase_makes_the_lead_a_customer_and_a_repeated_reference_changes_nothing(shop):
    body = {
        "email": "Buyer@example.com",
        "amount": "49.00",
        "currency": "EUR",
        "at": "2026-05-02T10:30:00+02:00",
        "reference": "ORDER-1",
    }
    created = post(shop, body)
    assert created.status_code == 201
    assert created.json["stage"] == "customer" and created.json["duplicate"] is False
    again = post(shop, body)
    assert again.status_code == 200 and again.json["duplicate"] is True
    second = post(shop, body | {"reference": "ORDER-2"})
    assert second.json["stage"] == "repeat_customer"


def test_without_the_right_token_nothing_is_recorded(shop):
    body = {"email": "buyer@example.com", "amount": 5, "currency": "EUR"}
    assert post(shop, body, headers={}).status_code == 401
    assert post(shop, body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert post(shop, body).json["stage"] == "customer"  # the first that counts


def test_bad_input_names_the_field(shop):
    response = post(shop, {"email": "buyer@example.com", "amount": "lots", "currency": "EUR"})
    assert response.status_code == 422
    assert response.json == {"error": "'lots' is not a number", "field": "amount"}
    unknown = post(shop, {"email": "who@example.com", "amount": 1, "currency": "EUR"})
    assert unknown.status_code == 422 and unknown.json["field"] == "email"
    not_json = shop.post("/p/api/purchases", data="amount=1", headers=AUTH)
    assert not_json.status_code == 400


def test_the_api_is_off_without_a_token(client):
    response = client.post("/p/api/purchases", json={}, headers=AUTH)
    assert response.status_code == 404


def test_a_purchase_in_the_future_or_a_reference_with_another_amount_is_refused(shop):
    body = {"email": "buyer@example.com", "amount": "20", "currency": "EUR", "reference": "R-1"}
    assert post(shop, body).status_code == 201
    again = post(shop, body)
    assert again.status_code == 200 and again.json["duplicate"] is True
    other = post(shop, body | {"amount": "25"})
    assert other.status_code == 409
    assert other.json == {
        "error": "was recorded with 20.00 EUR, not 25 EUR",
        "field": "reference",
    }
    later = post(shop, body | {"reference": "R-2", "at": "2999-01-01"})
    assert later.status_code == 422 and later.json["field"] == "at"
