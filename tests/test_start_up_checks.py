"""Mistakes in a site owner's setup are named at start-up (or by ``flask funnel pages``),
never shown to a visitor as a 500."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import DEMO_PAGES
from flask import Flask

from flask_funnel import Funnel
from flask_funnel.settings import SettingsError


def host_app(tmp_path, **config) -> Flask:
    app = Flask("host", root_path=str(tmp_path))
    app.config.update(
        {
            "SECRET_KEY": "host-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'host.sqlite3'}",
            "FUNNEL_PAGES_DIR": str(DEMO_PAGES),
            **config,
        }
    )
    return app


def test_a_missing_secret_key_is_named_at_start_up(tmp_path):
    app = host_app(tmp_path)
    app.config["SECRET_KEY"] = None
    with pytest.raises(RuntimeError, match=r"SECRET_KEY.*before funnel.init_app"):
        Funnel(app)


@pytest.mark.sqlite_only("a check of the folder of an SQLite file")
def test_a_database_in_a_folder_that_does_not_exist_is_named(tmp_path):
    url = f"sqlite:///{tmp_path / 'nowhere' / 'funnel.sqlite3'}"
    with pytest.raises(RuntimeError, match=r"SQLALCHEMY_DATABASE_URI: the folder .*nowhere"):
        Funnel(host_app(tmp_path, SQLALCHEMY_DATABASE_URI=url))


@pytest.mark.sqlite_only("a check of the folder of an SQLite file")
def test_a_database_the_app_cannot_write_is_named(tmp_path, monkeypatch):
    # Root may write anywhere, so the operating system's answer is given here.
    folder = tmp_path / "read-only"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        "flask_funnel.db.sqlite_writer.os.access",
        lambda path, mode: False if Path(path) == folder else real_access(path, mode),
    )
    url = f"sqlite:///{folder / 'funnel.sqlite3'}"
    with pytest.raises(RuntimeError, match=r"cannot write to .*read-only"):
        Funnel(host_app(tmp_path, SQLALCHEMY_DATABASE_URI=url))


def test_a_host_route_inside_the_funnel_prefix_is_named(tmp_path):
    app = host_app(tmp_path)

    @app.get("/funnel/<name>")
    def catch_all(name):
        return name

    with pytest.raises(
        RuntimeError, match=r"/funnel/home-brewing: the host's route '/funnel/<name>'"
    ):
        Funnel(app)


def test_a_host_route_at_a_page_address_is_named(tmp_path):
    app = host_app(tmp_path, FUNNEL_URL_PREFIX="")

    @app.get("/admin/")
    def host_admin():
        return "host admin"

    with pytest.raises(RuntimeError, match=r"/admin/: the host's route '/admin/' \(host_admin\)"):
        Funnel(app)


def test_pages_reports_a_route_added_after_the_funnel(tmp_path):
    app = host_app(tmp_path)
    Funnel(app)

    @app.get("/funnel/home-brewing")
    def old_page():
        return "the old page"

    result = app.test_cli_runner().invoke(args=["funnel", "pages"])
    assert result.exit_code == 1
    assert "HIDDEN   /funnel/home-brewing: the host's route '/funnel/home-brewing'" in result.output


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("FUNNEL_PROXY_COUNT", "two", "FUNNEL_PROXY_COUNT: 'two' is not a number"),
        ("FUNNEL_VISIT_BATCH_SIZE", 0, "FUNNEL_VISIT_BATCH_SIZE: must be at least 1"),
        ("FUNNEL_MIN_FILL_SECONDS", -1, "FUNNEL_MIN_FILL_SECONDS: must be at least 0"),
        ("FUNNEL_STORE_FULL_IP", "yes", "FUNNEL_STORE_FULL_IP: must be True or False"),
        ("FUNNEL_URL_PREFIX", "funnel", "FUNNEL_URL_PREFIX: 'funnel' must start with '/'"),
        ("FUNNEL_MIGRATIONS", "auto", "FUNNEL_MIGRATIONS: 'auto' is not one of"),
        ("FUNNEL_ADMIN_MAX_FAILURES", 2.5, "FUNNEL_ADMIN_MAX_FAILURES: must be a whole number"),
    ],
)
def test_a_bad_setting_names_its_key(tmp_path, key, value, message):
    with pytest.raises(SettingsError, match=message):
        Funnel(host_app(tmp_path, **{key: value}))


def test_numbers_given_as_text_are_read_as_numbers(tmp_path):
    app = host_app(tmp_path, FUNNEL_PROXY_COUNT="1", FUNNEL_MIN_FILL_SECONDS="2.5")
    Funnel(app)
    settings = app.extensions["funnel"].settings
    assert settings.proxy_count == 1 and settings.min_fill_seconds == 2.5
