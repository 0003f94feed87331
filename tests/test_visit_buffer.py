"""Page views are written in batches, and none is lost on the way."""

from __future__ import annotations

import time

from conftest import DATABASE, Visitor, make_app
from sqlalchemy import create_engine, event, func, select

from flask_funnel.capture.visit_buffer import VisitBuffer
from flask_funnel.db.models import Lead, StepView, Visit, metadata
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


def _commits(engine) -> list[int]:
    """A list that grows by one at every commit on ``engine``."""
    commits: list[int] = []
    event.listen(engine, "commit", lambda connection: commits.append(1))
    return commits


def test_a_submission_writes_the_queued_views_in_its_own_transaction(tmp_path):
    app = make_app(tmp_path, FUNNEL_VISIT_FLUSH_SECONDS=60)
    visitor = Visitor(app.test_client())
    visitor.land("?utm_source=podcast")
    form = visitor.contact_form()
    buffer = app.extensions["funnel"].visits
    assert buffer.pending() == 3  # the landing view, the first step, the contact step
    commits = _commits(app.extensions["funnel"].engine)
    assert visitor.submit(form).status_code == 303
    assert len(commits) == 1 and buffer.pending() == 0
    with app.app_context():
        session = funnel.db.session
        assert session.scalar(select(Lead.source)) == "podcast"
        assert session.scalars(select(StepView.step).order_by(StepView.step)).all() == [1, 2, 3, 4]


def test_a_view_the_database_refuses_does_not_hold_up_a_submission(tmp_path, caplog):
    app = make_app(tmp_path, FUNNEL_VISIT_FLUSH_SECONDS=60)
    visitor = Visitor(app.test_client())
    visitor.land()
    form = visitor.contact_form()
    buffer = app.extensions["funnel"].visits
    good = next(row for kind, row in buffer._rows if kind == "view")
    buffer.add(good | {"referrer": "\ud800"})  # a lone surrogate: no database stores it
    assert visitor.submit(form).status_code == 303
    assert buffer.pending() == 4  # back in the queue for its own flush
    assert buffer.flush() == 3
    assert "dropped 1 page views the database refused" in caplog.text
    with app.app_context():
        assert funnel.db.session.scalar(select(func.count()).select_from(Lead)) == 1
    assert stored_visits(app) == 1


def test_views_stay_queued_when_the_submission_cannot_be_stored(tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from flask_funnel.capture import submissions

    app = make_app(tmp_path, FUNNEL_VISIT_FLUSH_SECONDS=60)
    visitor = Visitor(app.test_client())
    visitor.land()
    form = visitor.contact_form()
    write = submissions._write

    def fails_after_the_views(connection, entry, queued):
        if queued is not None:
            queued.write(connection)
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(submissions, "_write", fails_after_the_views)
    assert visitor.submit(form).status_code == 503
    buffer = app.extensions["funnel"].visits
    assert buffer.pending() == 3 and stored_visits(app) == 0
    monkeypatch.setattr(submissions, "_write", write)
    assert visitor.submit(form).status_code == 303
    assert buffer.pending() == 0 and stored_visits(app) == 1
