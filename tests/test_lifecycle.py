"""The lead lifecycle: moves by people, and purchases making customers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from flask_funnel.db.models import AuditEntry, Lead, Purchase, StageChange
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.leads import stages
from flask_funnel.leads.purchases import record_purchase
from flask_funnel.values import FieldError

LOW_SCORE = {"style": "iced", "time": "1min", "gear": "none"}


@pytest.fixture
def lead_id(visitor, db_session):
    visitor.submit(visitor.contact_form(LOW_SCORE), email="buyer@example.com")
    return db_session.scalars(select(Lead.id)).one()


@pytest.fixture
def engine(app):
    return app.extensions["funnel"].engine


def history(db_session, lead_id):
    db_session.rollback()
    return db_session.execute(
        select(StageChange.from_stage, StageChange.to_stage)
        .where(StageChange.lead_id == lead_id)
        .order_by(StageChange.id)
    ).all()


def test_people_move_leads_forward_back_and_to_lost_with_a_reason(engine, lead_id, db_session):
    with writing(engine) as connection:
        stages.move(connection, lead_id, "sal", actor="ann@shop.example", reason="called back")
        stages.move(connection, lead_id, "mql", actor="ann@shop.example", reason="not yet")
        assert stages.move(connection, lead_id, "mql", actor="ann@shop.example") is None
        stages.move(connection, lead_id, "lost", actor="ann@shop.example", reason="chose rival")
    assert history(db_session, lead_id) == [
        ("visitor", "lead"),
        ("lead", "sal"),
        ("sal", "mql"),
        ("mql", "lost"),
    ]
    audit = db_session.execute(
        select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.id)
    ).all()
    assert ("ann@shop.example", "stage_change", "lead -> sal: called back") in audit
    assert len([a for a in audit if a.action == "stage_change"]) == 3


def test_unknown_stage_and_unknown_lead_are_refused(engine, lead_id):
    with (
        pytest.raises(stages.UnknownStage, match="unknown stage 'won'"),
        writing(engine) as connection,
    ):
        stages.move(connection, lead_id, "won", actor="x")
    with pytest.raises(stages.LeadNotFound), writing(engine) as connection:
        stages.move(connection, 999, "sal", actor="x")


def test_first_purchase_makes_a_customer_and_the_second_a_repeat_customer(
    engine, lead_id, db_session
):
    first = record_purchase(
        engine,
        email="Buyer@Example.com",
        amount="49",
        currency="eur",
        at="2026-05-02",
        reference="ORDER-1",
        actor="cli",
    )
    assert (first.stage, first.duplicate) == ("customer", False)
    second = record_purchase(
        engine,
        lead_id=lead_id,
        amount=Decimal("19.90"),
        currency="EUR",
        reference="ORDER-2",
        actor="cli",
    )
    assert second.stage == "repeat_customer"
    assert history(db_session, lead_id)[-2:] == [
        ("lead", "customer"),
        ("customer", "repeat_customer"),
    ]
    change_at = db_session.scalars(
        select(StageChange.at).where(StageChange.to_stage == "customer")
    ).one()
    assert change_at.isoformat() == "2026-05-02T00:00:00+00:00"  # when it was bought
    amounts = db_session.scalars(select(Purchase.amount).order_by(Purchase.id)).all()
    assert amounts == [Decimal("49.00"), Decimal("19.90")]


def test_a_repeated_reference_is_not_counted_twice(engine, lead_id, db_session):
    record_purchase(engine, lead_id=lead_id, amount=10, currency="EUR", reference="A", actor="x")
    again = record_purchase(
        engine, lead_id=lead_id, amount=10, currency="EUR", reference="A", actor="x"
    )
    assert again.duplicate and again.stage == "customer"
    db_session.rollback()
    assert len(db_session.scalars(select(Purchase.id)).all()) == 1


def test_a_lost_lead_that_buys_becomes_a_customer(engine, lead_id, db_session):
    with writing(engine) as connection:
        stages.move(connection, lead_id, "lost", actor="x")
    assert record_purchase(engine, lead_id=lead_id, amount=5, currency="USD", actor="x").stage == (
        "customer"
    )


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"amount": "forty"}, "amount", "'forty' is not a number"),
        ({"amount": "-3"}, "amount", "must be a positive amount"),
        ({"amount": "1.234"}, "amount", "more than two decimal places"),
        ({"currency": "euro"}, "currency", "'euro' is not a three-letter currency code"),
        ({"at": "02/05/2026"}, "at", "'02/05/2026' is not a date"),
        ({"email": "nobody@example.com"}, "email", "no lead has this email address"),
    ],
)
def test_bad_purchase_input_names_the_field_and_writes_nothing(
    engine, lead_id, db_session, fields, field, message
):
    values = {"email": "buyer@example.com", "amount": "49", "currency": "EUR"} | fields
    with pytest.raises(FieldError) as error:
        record_purchase(engine, actor="x", **values)
    assert error.value.field == field and message in error.value.message
    db_session.rollback()
    assert db_session.scalars(select(Purchase.id)).all() == []
    assert db_session.scalars(select(Lead.stage)).one() == "lead"


def test_purchase_from_python_through_the_extension(app, lead_id):
    from landing import funnel

    with app.app_context():
        result = funnel.record_purchase(
            email="buyer@example.com", amount="12.50", currency="GBP", reference="SHOP-9"
        )
    assert result.stage == "customer"


def test_purchase_from_the_command_line(runner, lead_id, db_session):
    args = [
        "funnel",
        "purchase",
        "buyer@example.com",
        "--amount",
        "49",
        "--currency",
        "EUR",
        "--at",
        "2026-05-02",
        "--ref",
        "ORDER-1",
    ]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "is now customer" in result.output
    again = runner.invoke(args=args)
    assert "was recorded before" in again.output
    bad = runner.invoke(
        args=["funnel", "purchase", "buyer@example.com", "--amount", "forty", "--currency", "EUR"]
    )
    assert bad.exit_code == 2 and "--amount: 'forty' is not a number" in bad.output


def test_working_a_lead_from_the_command_line(runner, lead_id, db_session):
    def run(*args):
        result = runner.invoke(args=["funnel", *args])
        assert result.exit_code == 0, result.output
        return result.output

    for stage in ("mql", "sal", "sql"):
        assert f"to {stage}" in run("stage", "buyer@example.com", stage, "--reason", "qualified")
    run("purchase", "buyer@example.com", "--amount", "10", "--currency", "EUR", "--ref", "A")
    run("purchase", "buyer@example.com", "--amount", "12", "--currency", "EUR", "--ref", "B")
    run("note", "buyer@example.com", "Wants the grinder bundle.")
    run("follow-up", "buyer@example.com", "--due", "2020-01-02", "--note", "call back")
    listing = run("follow-ups")
    assert "OVERDUE 2020-01-02  buyer@example.com" in listing and "call back" in listing
    db_session.rollback()
    assert db_session.get(Lead, lead_id).stage == "repeat_customer"
    assert [c[1] for c in history(db_session, lead_id)] == [
        "lead",
        "mql",
        "sal",
        "sql",
        "customer",
        "repeat_customer",
    ]


def test_command_line_mistakes_name_the_argument(runner, lead_id):
    unknown = runner.invoke(args=["funnel", "stage", "who@example.com", "sal", "--reason", "x"])
    assert unknown.exit_code == 2 and "no lead has the address who@example.com" in unknown.output
    stage = runner.invoke(args=["funnel", "stage", "buyer@example.com", "won", "--reason", "x"])
    assert stage.exit_code == 2 and "'won' is not one of" in stage.output
    date = runner.invoke(args=["funnel", "follow-up", "buyer@example.com", "--due", "soon"])
    assert date.exit_code == 2 and "'soon' does not match the format '%Y-%m-%d'" in date.output
    empty = runner.invoke(args=["funnel", "note", "buyer@example.com", "  "])
    assert empty.exit_code == 2 and "a note needs some text" in empty.output
