"""Visits and leads carry the visitor's place, from a GeoIP database the test builds."""

from __future__ import annotations

import pytest
from conftest import Visitor, flush_visits, make_app
from mmdb import build_city_db
from sqlalchemy import select

from flask_funnel.db.models import Lead, Visit
from landing import funnel

BERLIN, TEHRAN, PROXY = "81.2.69.160", "5.160.0.10", "203.0.113.9"


@pytest.fixture
def geoip(tmp_path):
    return build_city_db(
        tmp_path / "city.mmdb",
        {
            "81.2.69.0/24": ("DE", "Berlin"),
            "5.160.0.0/16": ("IR", "Tehran"),
            "203.0.113.0/24": ("US", "Ashburn"),
        },
    )


def _places(app):
    flush_visits(app)
    with app.app_context():
        visits = funnel.db.session.execute(select(Visit.country, Visit.city, Visit.ip)).all()
        leads = funnel.db.session.execute(select(Lead.country, Lead.city)).all()
        return visits, leads


def test_visit_and_lead_record_the_place_of_the_address(tmp_path, geoip):
    app = make_app(tmp_path, FUNNEL_GEOIP_PATH=str(geoip))
    client = app.test_client()
    environ = {"REMOTE_ADDR": BERLIN}
    client.get("/p/home-brewing", environ_base=environ)
    visitor = Visitor(client)
    form = visitor.contact_form()
    client.post(
        "/p/home-brewing/quiz",
        environ_base=environ,
        data=form | {"email": "b@example.com", "consent": "y"},
    )
    visits, leads = _places(app)
    assert visits == [("DE", "Berlin", "81.2.69.0")]
    assert leads == [("DE", "Berlin")]


def test_spoofed_forwarded_for_changes_nothing_without_trusted_proxies(tmp_path, geoip):
    app = make_app(tmp_path, FUNNEL_GEOIP_PATH=str(geoip))
    app.test_client().get(
        "/p/home-brewing",
        environ_base={"REMOTE_ADDR": BERLIN},
        headers={"X-Forwarded-For": TEHRAN},
    )
    visits, _ = _places(app)
    assert visits == [("DE", "Berlin", "81.2.69.0")]


def test_forwarded_for_is_used_behind_the_configured_proxy(tmp_path, geoip):
    app = make_app(tmp_path, FUNNEL_GEOIP_PATH=str(geoip), FUNNEL_PROXY_COUNT=1)
    app.test_client().get(
        "/p/home-brewing",
        environ_base={"REMOTE_ADDR": PROXY},
        headers={"X-Forwarded-For": f"{BERLIN}, {TEHRAN}"},
    )
    visits, _ = _places(app)
    assert visits == [("IR", "Tehran", "5.160.0.0")]


def test_full_addresses_are_kept_only_when_configured(tmp_path, geoip):
    app = make_app(tmp_path, FUNNEL_GEOIP_PATH=str(geoip), FUNNEL_STORE_FULL_IP=True)
    app.test_client().get("/p/home-brewing", environ_base={"REMOTE_ADDR": BERLIN})
    assert _places(app)[0] == [("DE", "Berlin", BERLIN)]


def test_a_corrupt_database_gives_pages_without_a_place(tmp_path):
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a maxmind database" * 100)
    app = make_app(tmp_path, FUNNEL_GEOIP_PATH=str(broken))
    response = app.test_client().get("/p/home-brewing", environ_base={"REMOTE_ADDR": BERLIN})
    assert response.status_code == 200
    assert _places(app)[0] == [(None, None, "81.2.69.0")]
