"""Signals: every stage change, purchase and erasure is told to the host once, after commit,
whichever way it happened (quiz, admin, command line, API, Python, import)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from conftest import ADMIN_EMAIL, Visitor, hidden_fields, make_app
from sqlalchemy import func, select

from flask_funnel import lead_captured, lead_erased, purchase_recorded, stage_changed
from flask_funnel.db.models import Lead, Purchase, StageChange
from flask_funnel.leads import audit
from flask_funnel.leads import csv_import as imports
from flask_funnel.leads.purchases import record_purchase

SIGNALS = {
    "lead_captured": lead_captured,
    "stage_changed": stage_changed,
    "purchase_recorded": purchase_recorded,
    "lead_erased": lead_erased,
}
TOKEN = "s3cret-shop-token-0123456789"
LOW_SCORE = {"style": "iced", "time": "1min", "gear": "none"}  # stays a lead


@pytest.fixture
def listen():
    """``listen(app)``: a list that gets ``(signal name, kwargs)`` for every signal the
    app sends from then on, until the test ends (sent by anything else: ``"wrong sender"``)."""
    connected = []

    def start(app) -> list[tuple[str, dict]]:
        heard: list[tuple[str, dict]] = []
        for name, signal in SIGNALS.items():

            def receiver(sender, name=name, **kwargs):
                heard.append((name if sender is app else "wrong sender", kwargs))

            signal.connect(receiver, sender=app)
            connected.append((signal, receiver, app))
        return heard

    yield start
    for signal, receiver, app in connected:
        signal.disconnect(receiver, sender=app)


def names(heard) -> list[str]:
    return [name for name, _ in heard]


def moves(heard) -> list[tuple[str, str, str]]:
    return [
        (kwargs["from_stage"], kwargs["to_stage"], kwargs["actor"])
        for name, kwargs in heard
        if name == "stage_changed"
    ]


def csrf(client, path: str) -> str:
    return hidden_fields(client.get(path).text)["csrf_token"]


def lead_id_of(db_session, email: str) -> int:
    db_session.rollback()
    return db_session.scalars(select(Lead.id).where(Lead.email == email)).one()


@pytest.fixture
def buyer(visitor, db_session) -> int:
    """A lead at ``lead`` (a low quiz score), buyer@example.com."""
    visitor.submit(visitor.contact_form(LOW_SCORE), email="buyer@example.com")
    return lead_id_of(db_session, "buyer@example.com")


# --- each path ----------------------------------------------------------------------


def test_a_quiz_submission_sends_lead_captured_and_its_stage_changes_once(
    app, visitor, listen, db_session
):
    heard = listen(app)
    engine = app.extensions["funnel"].engine
    seen_committed = []

    def check_committed(sender, lead_id, **kwargs):
        with engine.connect() as connection:  # another connection sees committed rows only
            seen_committed.append(connection.scalar(select(Lead.id).where(Lead.id == lead_id)))

    with lead_captured.connected_to(check_committed, app):
        form = visitor.contact_form()
        assert visitor.submit(form).status_code == 303
        assert visitor.submit(form).status_code == 303  # the same key again: not news

    lead_id = lead_id_of(db_session, "ann@example.com")
    assert seen_committed == [lead_id]
    assert names(heard) == ["lead_captured", "stage_changed", "stage_changed"]
    captured = heard[0][1]
    assert captured == {
        "lead_id": lead_id,
        "submission_id": captured["submission_id"],
        "page": "home-brewing",
        "created": True,
        "quarantined": False,
    }
    assert moves(heard) == [("visitor", "lead", "system"), ("lead", "mql", "system")]
    change = heard[2][1]
    assert change["lead_id"] == lead_id and "quiz score 7" in change["reason"]
    assert change["at"].tzinfo is not None


def test_an_admin_stage_move_sends_stage_changed(app, admin_client, buyer, listen):
    heard = listen(app)
    page = f"/p/admin/leads/{buyer}"
    data = {"stage": "sal", "reason": "call went well", "csrf_token": csrf(admin_client, page)}
    assert admin_client.post(page, data={"intent": "stage", **data}).status_code == 303
    assert (
        admin_client.post(page, data={"intent": "stage", **data}).status_code == 303
    )  # already there
    assert heard == [
        (
            "stage_changed",
            {
                "lead_id": buyer,
                "from_stage": "lead",
                "to_stage": "sal",
                "actor": ADMIN_EMAIL,
                "reason": "call went well",
                "lost_reason": None,
                "at": heard[0][1]["at"],
            },
        )
    ]


def test_the_stage_command_sends_stage_changed(app, runner, buyer, listen):
    heard = listen(app)
    result = runner.invoke(
        args=[
            "funnel",
            "stage",
            "buyer@example.com",
            "lost",
            "--reason",
            "chose a rival",
            "--lost-reason",
            "chose another offer",
        ]
    )
    assert result.exit_code == 0, result.output
    assert moves(heard) == [("lead", "lost", "cli")]
    assert heard[0][1]["lead_id"] == buyer and heard[0][1]["reason"] == "chose a rival"


@pytest.fixture
def shop(tmp_path):
    """An app with the purchases API on, and buyer@example.com a lead of it."""
    app = make_app(tmp_path, FUNNEL_API_TOKEN=TOKEN)
    visitor = Visitor(app.test_client())
    visitor.submit(visitor.contact_form(LOW_SCORE), email="buyer@example.com")
    yield app
    app.extensions["funnel"].engine.dispose()


def test_an_api_purchase_sends_purchase_recorded_then_the_move_to_customer_once(shop, listen):
    heard = listen(shop)
    engine = shop.extensions["funnel"].engine
    seen_committed = []

    def check_committed(sender, purchase_id, **kwargs):
        with engine.connect() as connection:
            seen_committed.append(
                connection.scalar(select(Purchase.id).where(Purchase.id == purchase_id))
            )

    body = {
        "email": "buyer@example.com",
        "amount": "49.00",
        "currency": "eur",
        "at": "2026-05-02T10:30:00+02:00",
        "reference": "ORDER-1",
    }
    client = shop.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with purchase_recorded.connected_to(check_committed, shop):
        created = client.post("/p/api/purchases", json=body, headers=headers)
        again = client.post("/p/api/purchases", json=body, headers=headers)
    assert created.status_code == 201 and again.json["duplicate"] is True

    assert names(heard) == ["purchase_recorded", "stage_changed"]
    purchase = heard[0][1]
    assert seen_committed == [purchase["purchase_id"]]
    assert purchase == {
        "lead_id": created.json["lead_id"],
        "purchase_id": created.json["purchase_id"],
        "amount": Decimal("49.00"),
        "currency": "EUR",
        "at": datetime(2026, 5, 2, 8, 30, tzinfo=UTC),
        "reference": "ORDER-1",
        "actor": "api",
    }
    assert isinstance(purchase["amount"], Decimal)
    assert moves(heard) == [("lead", "customer", "system")]
    assert heard[1][1]["reason"] == "purchase ORDER-1"


def test_an_admin_purchase_sends_purchase_recorded(app, admin_client, buyer, listen):
    heard = listen(app)
    page = f"/p/admin/leads/{buyer}"
    data = {
        "csrf_token": csrf(admin_client, page),
        "amount": "49",
        "currency": "EUR",
        "reference": "ORDER-7",
    }
    assert admin_client.post(page, data={"intent": "purchase", **data}).status_code == 303
    assert (
        admin_client.post(page, data={"intent": "purchase", **data}).status_code == 303
    )  # a repeat
    assert names(heard) == ["purchase_recorded", "stage_changed"]
    purchase = heard[0][1]
    assert (purchase["lead_id"], purchase["amount"], purchase["actor"]) == (
        buyer,
        Decimal("49"),
        ADMIN_EMAIL,
    )
    assert purchase["reference"] == "ORDER-7"
    assert moves(heard) == [("lead", "customer", "system")]


def test_the_purchase_command_sends_purchase_recorded(app, runner, buyer, listen):
    heard = listen(app)
    args = ["funnel", "purchase", "buyer@example.com", "--amount", "10", "--currency", "EUR"]
    for reference in ("A", "B", "B"):
        assert runner.invoke(args=[*args, "--ref", reference]).exit_code == 0
    assert names(heard) == [
        "purchase_recorded",
        "stage_changed",
        "purchase_recorded",
        "stage_changed",
    ]
    assert [kwargs["reference"] for name, kwargs in heard if name == "purchase_recorded"] == [
        "A",
        "B",
    ]
    assert {kwargs["actor"] for name, kwargs in heard if name == "purchase_recorded"} == {"cli"}
    assert moves(heard) == [
        ("lead", "customer", "system"),
        ("customer", "repeat_customer", "system"),
    ]


def test_funnel_record_purchase_sends_purchase_recorded(app, buyer, listen):
    from landing import funnel

    heard = listen(app)
    with app.app_context():
        result = funnel.record_purchase(
            email="buyer@example.com", amount="12.50", currency="GBP", at="2026-05-02"
        )
    assert names(heard) == ["purchase_recorded", "stage_changed"]
    assert heard[0][1] == {
        "lead_id": buyer,
        "purchase_id": result.purchase_id,
        "amount": Decimal("12.50"),
        "currency": "GBP",
        "at": datetime(2026, 5, 2, tzinfo=UTC),
        "reference": None,
        "actor": "python",
    }


def test_an_import_sends_stage_changed_for_every_stage_row_it_wrote(
    app, runner, buyer, listen, db_session, tmp_path
):
    path = tmp_path / "leads.csv"
    path.write_text(
        "email,stage,created_at\n"
        "bob@example.com,sql,2026-01-03\n"
        "cara@example.com,,2026-01-04\n"
        "buyer@example.com,customer,2026-01-05\n",  # known: left alone, no history
        encoding="utf-8",
    )
    heard = listen(app)
    result = runner.invoke(args=["funnel", "import-leads", str(path)])
    assert result.exit_code == 0, result.output
    db_session.rollback()
    rows = db_session.execute(
        select(
            StageChange.lead_id,
            StageChange.from_stage,
            StageChange.to_stage,
            StageChange.actor,
            StageChange.reason,
            StageChange.at,
        )
        .where(StageChange.actor == "import")
        .order_by(StageChange.id)
    ).all()
    assert len(rows) == 5  # bob: lead, mql, sal, sql; cara: lead
    assert names(heard) == ["stage_changed"] * 5
    assert [
        (k["lead_id"], k["from_stage"], k["to_stage"], k["actor"], k["reason"], k["at"])
        for _, k in heard
    ] == [tuple(row) for row in rows]
    assert buyer not in {kwargs["lead_id"] for _, kwargs in heard}


def test_an_import_nobody_listens_to_keeps_no_stage_rows(runner, monkeypatch, tmp_path):
    kept = []
    write = imports._write

    def spy(connection, rows, reason, written=None):
        kept.append(written)
        return write(connection, rows, reason, written)

    monkeypatch.setattr(imports, "_write", spy)
    path = tmp_path / "leads.csv"
    path.write_text("email,stage\nbob@example.com,sql\n", encoding="utf-8")
    assert runner.invoke(args=["funnel", "import-leads", str(path)]).exit_code == 0
    assert kept == [None]


def test_erasing_a_lead_sends_lead_erased(app, admin_client, buyer, listen, db_session):
    heard = listen(app)
    page = f"/p/admin/leads/{buyer}"
    data = {"csrf_token": csrf(admin_client, page), "confirm": "erase"}
    assert admin_client.post(page, data={"intent": "erase", **data}).status_code == 303
    assert (
        admin_client.post(page, data={"intent": "erase", **data}).status_code == 404
    )  # gone already
    assert heard == [("lead_erased", {"lead_id": buyer, "actor": ADMIN_EMAIL})]


# --- failures -----------------------------------------------------------------------


def test_a_receiver_that_raises_is_logged_and_the_write_stands(
    app, visitor, listen, db_session, caplog, monkeypatch
):
    heard = listen(app)
    # An Alembic env.py run by an earlier test may have disabled the existing loggers.
    monkeypatch.setattr(logging.getLogger("flask_funnel.signals"), "disabled", False)

    def broken(sender, **kwargs):
        raise RuntimeError("the CRM is down")

    caplog.set_level(logging.ERROR, logger="flask_funnel.signals")
    with lead_captured.connected_to(broken, app), stage_changed.connected_to(broken, app):
        response = visitor.submit(email="secret.person@example.com", name="Secret Person")
    assert response.status_code == 303 and "/thanks/" in response.headers["Location"]
    lead_id = lead_id_of(db_session, "secret.person@example.com")
    assert names(heard) == ["lead_captured", "stage_changed", "stage_changed"]  # others ran
    failures = [r for r in caplog.records if r.name == "flask_funnel.signals"]
    assert len(failures) == 3
    assert f"funnel-lead-captured failed for lead {lead_id}" in failures[0].getMessage()
    assert "secret.person" not in caplog.text and "Secret Person" not in caplog.text


def test_a_rolled_back_purchase_sends_nothing(app, buyer, listen, db_session, monkeypatch):
    heard = listen(app)

    def fail(*args, **kwargs):
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(audit, "record", fail)  # after the purchase and the move are written
    with app.app_context(), pytest.raises(RuntimeError, match="audit trail unavailable"):
        record_purchase(
            app.extensions["funnel"].engine, lead_id=buyer, amount=5, currency="EUR", actor="x"
        )
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(Purchase)) == 0
    assert db_session.get(Lead, buyer).stage == "lead"
    assert heard == []


def test_a_refused_stage_move_sends_nothing(app, admin_client, buyer, listen):
    heard = listen(app)
    token = csrf(admin_client, f"/p/admin/leads/{buyer}")
    missing = admin_client.post(
        "/p/admin/leads/999",
        data={"intent": "stage", "csrf_token": token, "stage": "sal", "reason": "x"},
    )
    assert missing.status_code == 404
    assert heard == []
