"""``flask funnel import-leads``: existing contacts and past customers, with their history."""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, datetime

from sqlalchemy import func, select

from flask_funnel.db.models import AuditEntry, Lead, StageChange
from flask_funnel.leads import csv_import as imports
from flask_funnel.leads.csv_import import origin_key, read_rows, stage_path

HEADER = "email,name,stage,created_at,mql_at,customer_at,country,city,utm_source,landing_page\n"


def csv_file(tmp_path, text: str, name: str = "leads.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def import_file(runner, path, *options: str):
    return runner.invoke(args=["funnel", "import-leads", str(path), *options])


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def leads(db_session) -> dict[str, Lead]:
    db_session.rollback()  # a fresh read snapshot after the command's writes
    return {lead.email: lead for lead in db_session.scalars(select(Lead))}


def history(db_session, email: str) -> list[tuple[str, str, datetime]]:
    db_session.rollback()
    changes = db_session.scalars(
        select(StageChange)
        .join(Lead, Lead.id == StageChange.lead_id)
        .where(Lead.email == email)
        .order_by(StageChange.id)
    )
    return [(c.from_stage, c.to_stage, c.at) for c in changes]


def counts(db_session) -> tuple[int, int, int]:
    db_session.rollback()
    return (
        db_session.scalar(select(func.count()).select_from(Lead)),
        db_session.scalar(select(func.count()).select_from(StageChange)),
        db_session.scalar(select(func.count()).select_from(AuditEntry)),
    )


def test_leads_are_imported_with_every_stage_they_passed(runner, db_session, tmp_path):
    path = csv_file(
        tmp_path,
        HEADER
        + " Ann@Example.COM ,Ann Lee,,2026-01-02,,,de,Berlin,Newsletter,home-brewing\n"
        + "bob@example.com,Bob,SQL,2026-01-03T08:15:00,,,,,,\n"
        + "cara@example.com,Cara,customer,2026-01-01,2026-02-01T10:00:00+02:00,2026-03-01,,,,\n"
        + "dan@example.com,Dan,lost,2026-01-05,,,,,,\n",
    )
    result = import_file(runner, path)
    assert result.exit_code == 0, result.output
    assert "Imported 4 leads." in result.output

    found = leads(db_session)
    assert sorted(found) == [
        "ann@example.com",
        "bob@example.com",
        "cara@example.com",
        "dan@example.com",
    ]
    ann = found["ann@example.com"]
    assert (ann.name, ann.stage, ann.country, ann.city, ann.landing_page) == (
        "Ann Lee",
        "lead",
        "DE",
        "Berlin",
        "home-brewing",
    )
    assert (ann.source, ann.utm_source) == ("newsletter", "Newsletter")
    assert ann.created_at == ann.stage_changed_at == at("2026-01-02")
    assert ann.origin_key == origin_key("ann@example.com")
    assert ann.quarantined is False and ann.locale is None
    assert history(db_session, "ann@example.com") == [("visitor", "lead", at("2026-01-02"))]

    # Skipped stages are filled in at created_at.
    bob_at = at("2026-01-03T08:15:00")
    assert history(db_session, "bob@example.com") == [
        ("visitor", "lead", bob_at),
        ("lead", "mql", bob_at),
        ("mql", "sal", bob_at),
        ("sal", "sql", bob_at),
    ]
    assert found["bob@example.com"].source == "import"

    # Given times are used (offsets converted to UTC); a stage without one takes the
    # time of the stage before it.
    assert history(db_session, "cara@example.com") == [
        ("visitor", "lead", at("2026-01-01")),
        ("lead", "mql", at("2026-02-01T08:00:00")),
        ("mql", "sal", at("2026-02-01T08:00:00")),
        ("sal", "sql", at("2026-02-01T08:00:00")),
        ("sql", "customer", at("2026-03-01")),
    ]
    cara = found["cara@example.com"]
    assert (cara.stage, cara.created_at, cara.stage_changed_at, cara.updated_at) == (
        "customer",
        at("2026-01-01"),
        at("2026-03-01"),
        at("2026-03-01"),
    )

    assert history(db_session, "dan@example.com") == [
        ("visitor", "lead", at("2026-01-05")),
        ("lead", "lost", at("2026-01-05")),
    ]
    db_session.rollback()
    change = db_session.scalars(select(StageChange).limit(1)).one()
    assert (change.actor, change.reason) == ("import", "imported from leads.csv")


def test_a_row_with_only_an_email_is_a_lead_created_now(runner, db_session, tmp_path):
    path = csv_file(tmp_path, "email\nsolo@example.com\n")
    before = datetime.now(UTC)
    result = import_file(runner, path)
    after = datetime.now(UTC)
    assert result.exit_code == 0, result.output
    lead = leads(db_session)["solo@example.com"]
    assert lead.stage == "lead" and lead.name is None and lead.source == "import"
    assert before <= lead.created_at <= after
    assert history(db_session, "solo@example.com") == [("visitor", "lead", lead.created_at)]


def test_without_created_at_the_first_stage_time_starts_the_lead(runner, db_session, tmp_path):
    path = csv_file(
        tmp_path, "email,stage,mql_at,sql_at\nmo@example.com,sql,2026-02-01,2026-04-01\n"
    )
    assert import_file(runner, path).exit_code == 0
    assert leads(db_session)["mo@example.com"].created_at == at("2026-02-01")
    assert history(db_session, "mo@example.com") == [
        ("visitor", "lead", at("2026-02-01")),
        ("lead", "mql", at("2026-02-01")),
        ("mql", "sal", at("2026-02-01")),
        ("sal", "sql", at("2026-04-01")),
    ]


def test_importing_the_same_file_again_changes_nothing(runner, db_session, tmp_path):
    path = csv_file(
        tmp_path,
        HEADER
        + "ann@example.com,Ann,mql,2026-01-02,,,,,,\n"
        + "bob@example.com,Bob,customer,2026-01-03,,2026-02-01,,,,\n",
    )
    assert import_file(runner, path).exit_code == 0
    first = {email: (lead.id, lead.name, lead.stage) for email, lead in leads(db_session).items()}
    leads_before, changes_before, _ = counts(db_session)

    result = import_file(runner, path)
    assert result.exit_code == 0, result.output
    assert "Imported 0 leads (2 already known, unchanged)." in result.output
    again = {email: (lead.id, lead.name, lead.stage) for email, lead in leads(db_session).items()}
    assert again == first
    assert counts(db_session)[:2] == (leads_before, changes_before) == (2, 2 + 5)


def test_without_returning_as_on_mariadb_only_new_leads_get_a_history(
    runner, db_session, tmp_path, monkeypatch
):
    monkeypatch.setattr(imports, "supports_returning", lambda dialect: False)
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    first = csv_file(tmp_path, "email,stage\na@example.com,mql\nb@example.com,\n", "a.csv")
    assert import_file(runner, first).exit_code == 0
    both = csv_file(
        tmp_path, "email,stage\na@example.com,sql\nc@example.com,sal\nb@example.com,\n", "b.csv"
    )
    result = import_file(runner, both)
    assert result.exit_code == 0, result.output
    assert "Imported 1 lead (2 already known, unchanged)." in result.output
    assert [to for _, to, _ in history(db_session, "a@example.com")] == ["lead", "mql"]
    assert [to for _, to, _ in history(db_session, "c@example.com")] == ["lead", "mql", "sal"]
    assert counts(db_session)[:2] == (3, 2 + 1 + 3)


def test_a_lead_already_captured_by_a_form_is_left_as_it_is(runner, visitor, db_session, tmp_path):
    visitor.submit(email="ann@example.com", name="Ann")  # 7 points: an mql
    lead = leads(db_session)["ann@example.com"]
    snapshot = (lead.id, lead.name, lead.stage, lead.updated_at, lead.origin_key)
    changes = history(db_session, "ann@example.com")

    path = csv_file(
        tmp_path,
        HEADER
        + "ANN@example.com,Someone Else,customer,2026-01-02,,,,,,\n"
        + "new@example.com,New,,,,,,,,\n",
    )
    result = import_file(runner, path)
    assert result.exit_code == 0, result.output
    assert "Imported 1 lead (1 already known, unchanged)." in result.output
    lead = leads(db_session)["ann@example.com"]
    assert (lead.id, lead.name, lead.stage, lead.updated_at, lead.origin_key) == snapshot
    assert history(db_session, "ann@example.com") == changes


def test_a_file_with_bad_rows_writes_nothing_and_reports_every_bad_line(
    runner, db_session, tmp_path
):
    path = csv_file(
        tmp_path,
        "email,name,stage,created_at,mql_at,country,lost_at\n"
        "ok@example.com,Ok,,,,,\n"
        "bob@,Bob,,,,,\n"
        "carl@example.com,Carl,won,,,,\n"
        "dora@example.com,Dora,mql,,12/05/2026,,\n"
        "eve@example.com,Eve,,,,Germany,\n"
        "fay@example.com,Fay,sql,2026-03-01,2026-02-01,,\n"
        "gus@example.com,Gus,sal,2026-03-01,,,2026-01-15\n"
        "hal@example.com,Hal,,2999-01-01,,,\n"
        f"ivy@example.com,{'x' * 201},,,,,\n"
        ",No Email,,,,,\n"
        "joe@,Joe,nope,,,,\n",
    )
    result = import_file(runner, path)
    assert result.exit_code == 1
    for expected in (
        "line 3: email: 'bob@' is not a valid email address",
        "line 4: stage: 'won' is not a stage (lead, mql, sal, sql, customer, "
        "repeat_customer, lost)",
        "line 5: mql_at: '12/05/2026' is not a date",
        "line 6: country: 'Germany' is not a two-letter country code",
        "line 7: mql_at: '2026-02-01' is earlier than created_at '2026-03-01'",
        "line 8: lost_at: '2026-01-15' is earlier than created_at '2026-03-01'",
        "line 9: created_at: '2999-01-01' is in the future",
        "line 10: name: is longer than 200 characters",
        "line 11: email: is required",
        "line 12: email: 'joe@' is not a valid email address",
        "line 12: stage: 'nope' is not a stage",
    ):
        assert expected in result.output
    assert "line 2:" not in result.output
    assert "Nothing imported: 10 rows with errors, 1 valid row." in result.output
    assert "--skip-invalid" in result.output
    assert counts(db_session) == (0, 0, 0)


def test_skip_invalid_imports_the_good_rows_and_still_exits_1(runner, db_session, tmp_path):
    path = csv_file(
        tmp_path,
        "email,name,stage\nann@example.com,Ann,mql\nbob@,Bob,\ncara@example.com,Cara,\n",
    )
    result = import_file(runner, path, "--skip-invalid")
    assert result.exit_code == 1
    assert "line 3: email: 'bob@' is not a valid email address" in result.output
    assert "Imported 2 leads; 1 row skipped." in result.output
    assert sorted(leads(db_session)) == ["ann@example.com", "cara@example.com"]
    assert [to for _, to, _ in history(db_session, "ann@example.com")] == ["lead", "mql"]


def test_a_file_without_an_email_column_is_refused(runner, db_session, tmp_path):
    path = csv_file(tmp_path, "name,stage\nAnn,lead\n")
    result = import_file(runner, path, "--skip-invalid")
    assert result.exit_code == 1
    assert "line 1: there is no email column" in result.output
    assert "Nothing imported: the file cannot be read as a list of leads." in result.output
    assert counts(db_session) == (0, 0, 0)


def test_an_unknown_column_is_reported_as_a_likely_typo(runner, db_session, tmp_path):
    path = csv_file(tmp_path, "email,nmae,phone\nann@example.com,Ann,123\n")
    result = import_file(runner, path, "--skip-invalid")
    assert result.exit_code == 1
    assert "line 1: unknown column 'nmae' (did you mean 'name'?)" in result.output
    assert "line 1: unknown column 'phone' (known: email, name, stage," in result.output
    assert counts(db_session) == (0, 0, 0)


def test_excel_headers_with_a_byte_order_mark_and_capitals_are_understood(
    runner, db_session, tmp_path
):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfEmail,Name,Created At\r\nann@example.com,Ann,2026-01-02\r\n")
    result = import_file(runner, path)
    assert result.exit_code == 0, result.output
    assert leads(db_session)["ann@example.com"].created_at == at("2026-01-02")


def test_an_email_twice_in_the_file_is_reported_at_its_second_line(runner, db_session, tmp_path):
    path = csv_file(
        tmp_path, "email,name\nann@example.com,Ann\nbob@example.com,Bob\n ANN@example.com,Ann 2\n"
    )
    result = import_file(runner, path)
    assert result.exit_code == 1
    assert "line 4: email: 'ann@example.com' is also on line 2" in result.output
    assert counts(db_session) == (0, 0, 0)

    result = import_file(runner, path, "--skip-invalid")
    assert result.exit_code == 1
    assert leads(db_session)["ann@example.com"].name == "Ann"


def test_a_malformed_line_is_reported_and_reading_goes_on(runner, db_session, tmp_path):
    path = csv_file(
        tmp_path,
        'email,name\nann@example.com,Ann\nbob@example.com,"Bob"by\nx@,X\ncara@example.com,Cara\n',
    )
    result = import_file(runner, path, "--skip-invalid")
    assert result.exit_code == 1
    assert "line 3: is not valid CSV: ',' expected after '\"'" in result.output
    assert "line 4: email: 'x@' is not a valid email address" in result.output
    assert "Imported 2 leads; 2 rows skipped." in result.output
    assert sorted(leads(db_session)) == ["ann@example.com", "cara@example.com"]


def test_a_quote_left_open_is_reported_at_the_line_it_opens(runner, db_session, tmp_path):
    path = csv_file(tmp_path, 'email,name\nann@example.com,Ann\nbob@example.com,"Bob\nc@x.org,C\n')
    result = import_file(runner, path)
    assert result.exit_code == 1
    assert "line 3: is not valid CSV: unexpected end of data" in result.output
    assert counts(db_session) == (0, 0, 0)


def test_line_numbers_count_the_line_breaks_inside_quoted_fields(runner, db_session, tmp_path):
    path = csv_file(
        tmp_path,
        "email,name,stage\n"
        'ann@example.com,"Ann\nvon\nLee",\n'  # lines 2-4
        'bob@example.com,"Bob\nB",won\n'  # lines 5-6, reported at its first
        "carl@,Carl,\n",  # line 7
    )
    result = import_file(runner, path)
    assert result.exit_code == 1
    assert "line 5: stage: 'won' is not a stage" in result.output
    assert "line 7: email: 'carl@' is not a valid email address" in result.output
    assert "Nothing imported: 2 rows with errors, 1 valid row." in result.output


def test_a_row_with_too_many_or_too_few_values_is_reported(runner, tmp_path):
    path = csv_file(tmp_path, "email,name\nann@example.com,Ann,extra\nbob@example.com\n\n")
    result = import_file(runner, path)
    assert result.exit_code == 1
    assert "line 2: has 3 values, the header has 2 columns" in result.output
    assert "line 3: has 1 value, the header has 2 columns" in result.output
    assert "line 4" not in result.output  # a blank line is no row


def test_formulas_and_sql_in_values_are_stored_as_typed(runner, db_session, tmp_path):
    path = csv_file(
        tmp_path,
        "email,name,city\n"
        'ann@example.com,"=HYPERLINK(""http://x"",""y"")",\'); DROP TABLE funnel_leads;--\n',
    )
    assert import_file(runner, path).exit_code == 0
    ann = leads(db_session)["ann@example.com"]
    assert ann.name == '=HYPERLINK("http://x","y")'
    assert ann.city == "'); DROP TABLE funnel_leads;--"


def test_an_empty_file_is_refused(runner, tmp_path):
    result = import_file(runner, csv_file(tmp_path, ""))
    assert result.exit_code == 1
    assert "line 1: the file is empty" in result.output


def test_a_file_that_is_not_utf8_is_refused_at_the_first_wrong_line(runner, db_session, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("email,name\nann@example.com,Ann\nzoe@example.com,Zoé\n".encode("latin-1"))
    result = import_file(runner, path, "--skip-invalid")
    assert result.exit_code == 1
    assert "line 3: is not UTF-8 text" in result.output
    assert counts(db_session) == (0, 0, 0)


def test_the_import_is_written_to_the_audit_trail(runner, db_session, tmp_path):
    path = csv_file(tmp_path, "email\nann@example.com\nbob@\n", name="old-crm.csv")
    import_file(runner, path, "--skip-invalid")
    db_session.rollback()
    entry = db_session.scalars(select(AuditEntry)).one()
    assert (entry.actor, entry.action) == ("cli", "import")
    assert entry.detail == "old-crm.csv: 1 lead created, 0 already known, 1 row skipped"


def test_logs_carry_counts_but_never_emails_or_names(runner, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    path = csv_file(
        tmp_path, "email,name\nsecret.person@example.com,Secret Person\nhidden@,Hidden Name\n"
    )
    import_file(runner, path)
    import_file(runner, path, "--skip-invalid")
    assert "import refused: 1 valid rows, 1 rows with errors; nothing written" in caplog.text
    assert "import: 1 leads created, 0 already known, 1 rows skipped" in caplog.text
    for private in ("secret.person", "Secret Person", "hidden@", "Hidden Name"):
        assert private not in caplog.text


def test_reading_keeps_the_valid_rows_apart_from_the_errors():
    now = at("2026-06-01T12:00:00")
    lines = [
        b"email,stage,created_at,sal_at\n",
        b"ann@example.com,sal,2026-01-01,2026-03-01T09:00:00\n",
        b"bob@example.com,mql,,\n",
        b"bad,,,\n",
    ]
    read = read_rows(lines, now=now)
    assert [str(error) for error in read.errors] == [
        "line 4: email: 'bad' is not a valid email address"
    ]
    ann, bob = read.rows
    assert stage_path(ann.stage) == ("lead", "mql", "sal")
    jan, march = at("2026-01-01"), at("2026-03-01T09:00:00")
    assert ann.times == (jan, jan, march)
    assert (bob.created_at, bob.times) == (now, (now, now))


def test_an_export_imports_into_another_database_as_it_was(client, runner, tmp_path):
    from conftest import Visitor, make_app

    visitor = Visitor(client)
    client.get("/p/home-brewing?utm_source=podcast")
    visitor.submit(email="ann@example.com", name='=HYPERLINK("http://x","y")')
    visitor.submit(
        visitor.contact_form({"style": "iced", "time": "1min", "gear": "none"}),
        email="bob@example.com",
        name="Bob",
    )
    exported = tmp_path / "leads.csv"
    runner.invoke(args=["funnel", "export", "--format", "csv", "-o", str(exported)])

    (tmp_path / "other").mkdir()
    other = make_app(tmp_path / "other")
    result = other.test_cli_runner().invoke(args=["funnel", "import-leads", str(exported)])
    assert result.exit_code == 0, result.output
    again = tmp_path / "again.csv"
    other.test_cli_runner().invoke(args=["funnel", "export", "--format", "csv", "-o", str(again)])

    def leads(path):
        rows = csv.DictReader(io.StringIO(path.read_text("utf-8")))
        keep = ("email", "name", "stage", "landing_page", "source", "country", "created_at")
        return sorted(tuple(row[k] for k in keep) for row in rows)

    assert leads(again) == leads(exported)
    assert ("ann@example.com", '\'=HYPERLINK("http://x","y")', "mql") in [
        r[:3] for r in leads(again)
    ]


def test_a_lost_lead_imports_with_the_stages_it_reached_before(runner, db_session, tmp_path):
    path = csv_file(
        tmp_path,
        "email,stage,created_at,mql_at,sal_at,lost_at\n"
        "lou@example.com,lost,2026-01-02,2026-01-05,2026-01-09,2026-02-01\n"
        "max@example.com,lost,2026-01-02,,,\n",
    )
    result = import_file(runner, path)
    assert result.exit_code == 0, result.output
    lou, max_ = leads(db_session)["lou@example.com"], leads(db_session)["max@example.com"]
    assert (lou.stage, lou.stage_changed_at) == ("lost", at("2026-02-01"))
    assert (lou.reached_mql_at, lou.reached_sal_at, lou.reached_sql_at) == (
        at("2026-01-05"),
        at("2026-01-09"),
        None,
    )
    assert [(f, t) for f, t, _ in history(db_session, "lou@example.com")] == [
        ("visitor", "lead"),
        ("lead", "mql"),
        ("mql", "sal"),
        ("sal", "lost"),
    ]
    assert (max_.stage, max_.reached_mql_at) == ("lost", None)


def test_a_lead_that_came_back_imports_with_its_return(runner, db_session, tmp_path):
    path = csv_file(
        tmp_path,
        "email,stage,created_at,mql_at,sal_at,stage_changed_at\n"
        "kim@example.com,mql,2026-01-02,2026-01-05,2026-01-09,2026-03-01\n",
    )
    assert import_file(runner, path).exit_code == 0
    kim = leads(db_session)["kim@example.com"]
    assert (kim.stage, kim.stage_changed_at, kim.reached_sal_at) == (
        "mql",
        at("2026-03-01"),
        at("2026-01-09"),
    )
    assert [t for _, t, _ in history(db_session, "kim@example.com")] == [
        "lead",
        "mql",
        "sal",
        "mql",
    ]


def test_times_out_of_order_or_a_loss_before_the_lead_are_named(runner, db_session, tmp_path):
    path = csv_file(
        tmp_path,
        "email,stage,created_at,mql_at,sal_at,lost_at\n"
        "a@example.com,lost,2026-02-01,,,2026-01-01\n"
        "b@example.com,lost,2026-01-01,2026-01-09,2026-01-05,2026-02-01\n",
    )
    result = import_file(runner, path)
    assert result.exit_code == 1
    assert "line 2: lost_at: '2026-01-01' is earlier than created_at '2026-02-01'" in result.output
    assert "line 3: sal_at: '2026-01-05' is earlier than mql_at '2026-01-09'" in result.output
    assert counts(db_session) == (0, 0, 0)


def test_a_lead_lost_and_come_back_imports_with_its_loss(runner, db_session, tmp_path):
    path = csv_file(
        tmp_path,
        "email,stage,created_at,mql_at,sal_at,lost_at,lost_reason,stage_changed_at\n"
        "kim@example.com,mql,2026-01-02,2026-01-05,2026-01-09,2026-02-01,price,2026-03-01\n"
        "lee@example.com,lost,2026-01-02,,,2026-01-20,no budget,\n"
        "max@example.com,sal,2026-01-02,,,,price,\n",
    )
    result = import_file(runner, path)
    assert "line 4: lost_reason: is given, but the lead was never lost" in result.output
    result = import_file(runner, csv_file(tmp_path, path.read_text().rsplit("max@", 1)[0]))
    assert result.exit_code == 0, result.output
    kim = db_session.scalar(select(Lead).where(Lead.email == "kim@example.com"))
    assert (kim.stage, kim.stage_changed_at, kim.reached_sal_at) == (
        "mql",
        at("2026-03-01"),
        at("2026-01-09"),
    )
    change = StageChange
    moves = db_session.execute(
        select(change.from_stage, change.to_stage, change.at, change.lost_reason)
        .where(change.lead_id == kim.id)
        .order_by(StageChange.at)
    ).all()
    assert [tuple(m) for m in moves[-2:]] == [
        ("sal", "lost", at("2026-02-01"), "price"),
        ("lost", "mql", at("2026-03-01"), None),
    ]
    lee = db_session.scalar(select(Lead).where(Lead.email == "lee@example.com"))
    assert (
        db_session.scalar(
            select(StageChange.lost_reason).where(
                StageChange.lead_id == lee.id, StageChange.to_stage == "lost"
            )
        )
        == "no budget"
    )


def test_an_export_imported_into_an_empty_database_gives_the_same_report(app, tmp_path):
    """A two-year history (lost leads that had gone on first, leads that came back,
    customers and repeat customers, places, pages and sources) round-trips through
    ``export`` and ``import-leads``: the report is the same, month by month."""
    import random
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from conftest import make_app
    from test_report import add, move

    from flask_funnel.analytics.funnel import build_report
    from flask_funnel.analytics.periods import Period, ReportSettings
    from flask_funnel.db.sqlite_writer import writing
    from flask_funnel.leads import stages
    from flask_funnel.leads.stages import FUNNEL_ORDER, LOST

    rng = random.Random(12)
    now = datetime.now(UTC)
    engine = app.extensions["funnel"].engine
    for n in range(400):
        created = now - timedelta(days=rng.uniform(1, 700))
        [lead] = add(
            engine,
            1,
            at=created,
            country=rng.choice(["DE", "IR", "US", None]),
            landing_page=rng.choice(["home-brewing", "qahve-dam"]),
            source=rng.choice(["google.com", "direct", "newsletter"]),
            name="مریم" if n % 7 == 0 else None,
        )
        moment, journey = created, FUNNEL_ORDER[2 : 2 + rng.choice([0, 0, 1, 2, 3, 4, 5])]
        for stage in journey:
            moment = min(now, moment + timedelta(days=rng.uniform(0.5, 40)))
            move(engine, [lead], stage, moment)
        if rng.random() < 0.3:  # lost, or back a stage, some time later
            moment = min(now, moment + timedelta(days=rng.uniform(0.5, 40)))
            back = journey[-2] if len(journey) > 1 and rng.random() < 0.4 else LOST
            why = rng.choice(["price", "timing", None]) if back == LOST else None
            with writing(engine) as connection:
                stages.move(connection, lead, back, actor="admin", at=moment, lost_reason=why)
            if back == LOST and rng.random() < 0.3:  # and came back later still
                for stage in FUNNEL_ORDER[1 : 2 + rng.choice([0, 1, 2, 3])]:  # and moved on
                    moment += timedelta(days=rng.uniform(0.5, 40))
                    if moment >= now:  # (a move at the same instant as the loss is ambiguous)
                        break
                    move(engine, [lead], stage, moment)

    exported = tmp_path / "leads.csv"
    result = app.test_cli_runner().invoke(args=["funnel", "export", "-o", str(exported)])
    assert result.exit_code == 0, result.output
    assert exported.read_bytes().startswith(b"\xef\xbb\xbf")  # opens in spreadsheets
    assert "مریم" in exported.read_text(encoding="utf-8-sig")
    (tmp_path / "empty").mkdir()
    empty = make_app(tmp_path / "empty")
    result = empty.test_cli_runner().invoke(args=["funnel", "import-leads", str(exported)])
    assert result.exit_code == 0, result.output

    settings = ReportSettings(ZoneInfo("Asia/Tehran"), min_group=1, min_history=1)
    period = Period((now - timedelta(days=365)).date(), now.date(), settings.zone)

    def leads_report(which) -> dict:
        with which.extensions["funnel"].engine.connect() as connection:
            report = {
                by: build_report(connection, period, settings, by=by, now=now)
                for by in ("country", "landing_page", "source")
            }
        first = report["country"]
        return {
            "stages": [(row["stage"], row["reached"]) for row in first["stages"]],
            "months": [row["counts"] for row in first["months"]["rows"]],
            "forecast": first["forecast"]["inputs"] | {"history": None},
            "losses": first["losses"],
            "durations": first["durations"],
            **{
                by: sorted(
                    (g["label"], [row["reached"] for row in g["stages"]])
                    for g in r["breakdown"]["groups"]
                )
                for by, r in report.items()
            },
        }

    original = leads_report(app)
    assert dict(original["stages"])["lead"] > 100 and dict(original["stages"])["customer"] > 5
    assert leads_report(empty) == original
