"""Embedding: the extension in a host app of its own, with or without its own db."""

from __future__ import annotations

import pytest
from conftest import DATABASE, DEMO_PAGES, Visitor, shows_hero
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_funnel import Funnel
from flask_funnel.db.models import Lead
from flask_funnel.settings import DEFAULTS
from flask_funnel.state import current_funnel

#: The apps made on a ``database``, whose connections it closes.
_on_databases: list[Flask] = []


def host_app(tmp_path, url: str | None = None, **config) -> Flask:
    app = Flask("host", root_path=str(tmp_path))
    if url:
        _on_databases.append(app)
    app.config.update(
        SECRET_KEY="host-secret",
        SQLALCHEMY_DATABASE_URI=url or f"sqlite:///{tmp_path / 'host.sqlite3'}",
        FUNNEL_PAGES_DIR=str(DEMO_PAGES),
        FUNNEL_MIN_FILL_SECONDS=0,
        **config,
    )
    return app


@pytest.fixture
def database(fresh_database):
    """A new empty database of the pass's kind, for a host that makes its tables."""
    yield fresh_database(DATABASE)
    while _on_databases:
        app = _on_databases.pop()
        if "sqlalchemy" in app.extensions:
            with app.app_context():
                app.extensions["sqlalchemy"].engine.dispose()


def test_every_setting_gets_its_documented_default(tmp_path):
    app = host_app(tmp_path)
    Funnel(app)
    for key, value in DEFAULTS.items():
        assert key.startswith("FUNNEL_")
        if key not in ("FUNNEL_PAGES_DIR", "FUNNEL_MIN_FILL_SECONDS"):
            assert app.config[key] == value
    assert "funnel" in app.extensions
    assert app.url_map.bind("localhost").match("/funnel/home-brewing")[0] == "funnel.landing"


def test_init_app_later_and_a_custom_prefix(tmp_path, database):
    funnel = Funnel()
    app = host_app(tmp_path, database, FUNNEL_URL_PREFIX="/offers")
    funnel.init_app(app)
    with app.app_context():
        funnel.db.create_all()
    assert app.test_client().get("/offers/home-brewing").status_code == 200


def test_registering_twice_is_a_clear_error(tmp_path):
    app = host_app(tmp_path)
    Funnel(app)
    with pytest.raises(RuntimeError, match="already registered"):
        Funnel(db=SQLAlchemy()).init_app(app)


def test_using_the_funnel_before_init_app_is_a_clear_error():
    with Flask("bare").app_context(), pytest.raises(RuntimeError, match="not registered"):
        current_funnel()


class HostBase(DeclarativeBase):
    pass


def test_host_app_with_its_own_sqlalchemy_db_shares_it(tmp_path, database):
    db = SQLAlchemy(model_class=HostBase)

    class Customer(db.Model):
        __tablename__ = "customers"
        id: Mapped[int] = mapped_column(primary_key=True)

    app = host_app(tmp_path, database)
    db.init_app(app)
    funnel = Funnel(app, db=db)
    assert funnel.db is db
    # The funnel's tables join the host's metadata, so the host's own
    # `flask db migrate` (or create_all) creates them next to its own.
    assert {"customers", "funnel_leads", "funnel_visits"} <= set(db.metadata.tables)
    with app.app_context():
        db.create_all()
    response = Visitor(app.test_client(), "home-brewing")
    response.base = "/funnel/home-brewing"
    assert response.submit().status_code == 303
    with app.app_context():
        assert db.session.scalars(select(Lead.email)).one() == "ann@example.com"


def test_sharing_a_db_that_was_not_initialised_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match=r"db\.init_app"):
        Funnel(host_app(tmp_path), db=SQLAlchemy())


def test_a_host_template_overrides_the_funnel_template(tmp_path, database):
    templates = tmp_path / "templates" / "flask_funnel"
    templates.mkdir(parents=True)
    (templates / "landing.html").write_text("HOST LANDING {{ page.title }}")
    app = host_app(tmp_path, database)
    funnel = Funnel(app)
    with app.app_context():
        funnel.db.create_all()
    response = app.test_client().get("/funnel/home-brewing")
    assert response.text == "HOST LANDING Which home brewing method suits you?"


def test_pages_extend_the_base_template_the_host_names(tmp_path, database):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "site.html").write_text(
        "<html><body><nav>HOST NAV</nav>{% block funnel_body %}{% endblock %}</body></html>"
    )
    app = host_app(tmp_path, database, FUNNEL_BASE_TEMPLATE="site.html")
    funnel = Funnel(app)
    with app.app_context():
        funnel.db.create_all()
    html = app.test_client().get("/funnel/home-brewing").text
    assert "HOST NAV" in html and shows_hero(html)
