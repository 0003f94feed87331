"""Page views are written in batches, and none is lost on the way."""

from __future__ import annotations

import time

from conftest import DATABASE, Visitor, make_app
from sqlalchemy import create_engine, func, select

from flask_funnel.capture.visit_buffer import VisitBuffer
from flask_funnel.db.models import Lead, Visit, metadata
from landing import funnel


def stored_visits(app) -> int:
    with app.app_context():
        return funnel.db.session.scalar(select(func.count()).select_from(Visit))


def test_views_are_written_when_the_batch_is_full(tmp_path):
    app = make_app(tmp_path, FUNNEL_VISIT_BATCH_SIZE=3, FUNNEL_VISIT_FLUSH_SECONDS=60)
    client = app.test_client()
    client.get("/p/home-brewing")
    client.get("/p/home-brewing")
    assert stored_visits(app) == 0
    client.get("/p/home-brewing")
    assert stored_visits(app) == 3


def test_a_lone_view_is_written_by_the_timer(tmp_path):
    app = make_app(tmp_path, FUNNEL_VISIT_FLUSH_SECONDS=0.2)
    app.test_client().get("/p/home-brewing")
    deadline = time.monotonic() + 5
    while stored_visits(app) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored_visits(app) == 1


def test_zero_seconds_writes_each_view_in_its_request(tmp_path):
    app = make_app(tmp_path, FUNNEL_VISIT_FLUSH_SECONDS=0)
    app.test_client().get("/p/home-brewing")
    assert stored_visits(app) == 1


def test_a_submission_sees_the_views_still_queued(tmp_path):
    app = make_app(tmp_path, FUNNEL_VISIT_FLUSH_SECONDS=60)
    visitor = Visitor(app.test_client())
    visitor.land("?utm_source=podcast")
    visitor.submit()
    with app.app_context():
        lead = funnel.db.session.scalars(select(Lead)).one()
        assert lead.source == "podcast"
        linked = funnel.db.session.scalars(select(Visit.lead_id)).all()
        assert linked == [lead.id]


def test_views_stay_queued_while_the_database_fails(fresh_database, caplog):
    engine = create_engine(fresh_database(DATABASE))
    buffer = VisitBuffer(engine, seconds=60, size=1000)
    row = {
        "known_visitor": "a" * 32,
        "visitor_id": "a" * 32,
        "page_slug": "p",
        "variant": None,
        "referrer": None,
        "source": "direct",
        "device": "desktop",
        "country": None,
        "city": None,
        "ip": None,
        "utm_source": None,
        "utm_medium": None,
        "utm_campaign": None,
        "utm_term": None,
        "utm_content": None,
    }
    from flask_funnel.db.types import utcnow

    buffer.add(row | {"at": utcnow()})
    assert buffer.flush() == 0  # no tables yet: the write fails
    assert buffer.pending() == 1
    assert "could not write 1 page views" in caplog.text
    metadata.create_all(engine)
    assert buffer.flush() == 1
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Visit)) == 1
    engine.dispose()
