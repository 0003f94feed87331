"""Visits and leads carry the visitor's place, from a GeoIP database the test builds, or
from a CDN's country header when configured; the demo's packaged GeoLite2 database."""

from __future__ import annotations

import sys
import types

import pytest
from conftest import Visitor, flush_visits, make_app
from flask import Flask
from mmdb import build_city_db
from sqlalchemy import select

from flask_funnel import Funnel
from flask_funnel.db.models import Lead, Visit
from flask_funnel.settings import SettingsError
from landing import create_app, funnel

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


def test_a_missing_database_gives_pages_without_a_place(tmp_path):
    app = make_app(tmp_path, FUNNEL_GEOIP_PATH=str(tmp_path / "nowhere.mmdb"))
    response = app.test_client().get("/p/home-brewing", environ_base={"REMOTE_ADDR": BERLIN})
    assert response.status_code == 200
    assert _places(app)[0] == [(None, None, "81.2.69.0")]


def test_a_damaged_search_tree_gives_pages_without_a_place(tmp_path, geoip):
    data = bytearray(geoip.read_bytes())
    metadata_start = data.rfind(b"\xab\xcd\xefMaxMind.com")
    data[:metadata_start] = b"\xff" * metadata_start
    geoip.write_bytes(bytes(data))
    app = make_app(tmp_path, FUNNEL_GEOIP_PATH=str(geoip))
    response = app.test_client().get("/p/home-brewing", environ_base={"REMOTE_ADDR": BERLIN})
    assert response.status_code == 200
    assert _places(app)[0] == [(None, None, "81.2.69.0")]


# --- the country a CDN puts in a header ---------------------------------------------------


def _visit_with_header(tmp_path, value, **config):
    app = make_app(tmp_path, **config)
    headers = {"CF-IPCountry": value} if value is not None else {}
    response = app.test_client().get(
        "/p/home-brewing", environ_base={"REMOTE_ADDR": BERLIN}, headers=headers
    )
    assert response.status_code == 200
    [(country, city, _)] = _places(app)[0]
    return country, city


def test_country_header_is_ignored_by_default(tmp_path, geoip):
    assert _visit_with_header(tmp_path, "IR", FUNNEL_GEOIP_PATH=str(geoip)) == ("DE", "Berlin")


def test_country_header_sets_the_country_when_configured(tmp_path, geoip):
    place = _visit_with_header(
        tmp_path, "IR", FUNNEL_GEOIP_PATH=str(geoip), FUNNEL_GEO_CDN_HEADER="CF-IPCountry"
    )
    assert place == ("IR", None)  # the database's city is in another country


def test_country_header_agreeing_with_the_database_keeps_its_city(tmp_path, geoip):
    place = _visit_with_header(
        tmp_path, "de", FUNNEL_GEOIP_PATH=str(geoip), FUNNEL_GEO_CDN_HEADER="CF-IPCountry"
    )
    assert place == ("DE", "Berlin")


def test_country_header_works_without_a_database(tmp_path):
    assert _visit_with_header(tmp_path, "IR", FUNNEL_GEO_CDN_HEADER="CF-IPCountry") == ("IR", None)


@pytest.mark.parametrize(
    "value", [None, "", "XX", "T1", "A1", "EU", "ZZ", "DEU", "D", "<script>", "D E", "ÄÖ"]
)
def test_country_header_that_is_not_a_country_leaves_the_database_place(tmp_path, geoip, value):
    place = _visit_with_header(
        tmp_path, value, FUNNEL_GEOIP_PATH=str(geoip), FUNNEL_GEO_CDN_HEADER="CF-IPCountry"
    )
    assert place == ("DE", "Berlin")


@pytest.mark.parametrize("value", [42, "CF IPCountry", "CF-IPCountry:", "Länd"])
def test_country_header_setting_must_be_a_header_name(tmp_path, value):
    with pytest.raises(SettingsError, match="FUNNEL_GEO_CDN_HEADER"):
        make_app(tmp_path, FUNNEL_GEO_CDN_HEADER=value)


# --- the demo's own database --------------------------------------------------------------

ATTRIBUTION = "This product includes GeoLite2 data created by MaxMind"


def _demo_app(tmp_path, **config):
    """The demo as it starts with no FUNNEL_GEOIP_PATH anywhere (make_app sets None)."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'funnel.sqlite3'}",
            **config,
        }
    )
    with app.app_context():
        funnel.db.create_all()
    return app


@pytest.fixture
def packaged_geolite2(monkeypatch, geoip):
    """The maxminddb-geolite2 package, as far as the demo sees it, shipping ``geoip``."""
    module = types.ModuleType("geolite2")
    module.geolite2 = types.SimpleNamespace(filename=str(geoip))
    monkeypatch.setitem(sys.modules, "geolite2", module)
    monkeypatch.delenv("FUNNEL_GEOIP_PATH", raising=False)
    return geoip


def test_demo_uses_the_packaged_geolite2_when_no_database_is_set(tmp_path, packaged_geolite2):
    app = _demo_app(tmp_path)
    response = app.test_client().get("/p/home-brewing", environ_base={"REMOTE_ADDR": BERLIN})

    assert app.config["FUNNEL_GEOIP_PATH"] == str(packaged_geolite2)
    assert ATTRIBUTION in response.text
    home = app.test_client().get("/", environ_base={"REMOTE_ADDR": BERLIN})
    assert ATTRIBUTION in home.text  # the home page shows a quiz too: a visit of the page
    assert set(_places(app)[0]) == {("DE", "Berlin", "81.2.69.0")}


def test_demo_without_the_package_has_no_places_and_no_attribution(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "geolite2", None)  # import geolite2 fails
    monkeypatch.delenv("FUNNEL_GEOIP_PATH", raising=False)
    app = _demo_app(tmp_path)
    response = app.test_client().get("/p/home-brewing", environ_base={"REMOTE_ADDR": BERLIN})

    assert app.config["FUNNEL_GEOIP_PATH"] is None
    assert ATTRIBUTION not in response.text
    assert _places(app)[0] == [(None, None, "81.2.69.0")]


@pytest.mark.parametrize(("own", "place"), [(True, ("FR", "Paris")), (False, (None, None))])
def test_a_database_set_by_the_host_wins_over_the_packaged_one(
    tmp_path, packaged_geolite2, own, place
):
    path = build_city_db(tmp_path / "own.mmdb", {"81.2.69.0/24": ("FR", "Paris")})
    app = _demo_app(tmp_path, FUNNEL_GEOIP_PATH=str(path) if own else None)
    response = app.test_client().get("/p/home-brewing", environ_base={"REMOTE_ADDR": BERLIN})

    assert ATTRIBUTION not in response.text
    assert _places(app)[0] == [(*place, "81.2.69.0")]


def test_a_database_set_in_the_environment_wins_over_the_packaged_one(
    tmp_path, packaged_geolite2, monkeypatch
):
    monkeypatch.setenv("FUNNEL_GEOIP_PATH", "null")
    assert _demo_app(tmp_path).config["FUNNEL_GEOIP_PATH"] is None


def test_the_extension_itself_never_uses_the_packaged_database(tmp_path, packaged_geolite2):
    app = Flask("host", root_path=str(tmp_path))
    app.config.update(
        SECRET_KEY="host", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'host.sqlite3'}"
    )
    Funnel(app)
    assert app.extensions["funnel"].settings.geoip_path is None
    assert app.extensions["funnel"].geo.path is None
