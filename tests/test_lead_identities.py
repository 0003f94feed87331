"""How a lead's email was obtained (typed, Google, import) and the Google accounts
linked to it: on the lead page, in the person's JSON, in the leads export, and gone
with the person when they are erased."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import BACKENDS, page_text, sign_up
from flask_migrate import upgrade
from sqlalchemy import select, update

from flask_funnel.auth.identity import VerifiedIdentity
from flask_funnel.db.models import Identity, Lead, Submission
from flask_funnel.leads.privacy import erase
from landing import MIGRATIONS_DIR, create_app, funnel

GOOGLE = "https://accounts.google.com"
XSS = '"><img src=x onerror=alert(1)>'


def google(subject: str, email: str) -> VerifiedIdentity:
    return VerifiedIdentity(issuer=GOOGLE, subject=subject, email=email)


def test_a_typed_email_says_typed_and_shows_no_google_panel(app, admin_client):
    lead_id = sign_up(app, "ann@example.com")
    page = admin_client.get(f"/p/admin/leads/{lead_id}")
    assert page.status_code == 200
    text = page_text(page)
    assert 'ann@example.com</bdi> <small class="muted">· typed</small>' in text
    assert "Google sign-in" not in text


def test_a_google_sign_up_shows_the_verification_and_the_account(app, admin_client):
    lead_id = sign_up(app, identity=google("1089", "alice@gmail.example"))
    page = admin_client.get(f"/p/admin/leads/{lead_id}")
    with app.extensions["funnel"].engine.connect() as connection:
        verified = connection.scalar(select(Lead.email_verified_at).where(Lead.id == lead_id))
    text = page_text(page)
    assert f"· verified by Google on {verified:%Y-%m-%d}</small>" in text
    assert "<h2>Google sign-in</h2>" in text
    assert (
        f"<td>{GOOGLE}</td><td><code>1089</code></td><td><bdi>alice@gmail.example</bdi></td>"
        in text
    )
    assert "<td>made this lead</td>" in text


def test_joining_a_typed_lead_is_shown_and_hostile_values_stay_text(app, admin_client):
    lead_id = sign_up(app, "ann@example.com")
    hostile = VerifiedIdentity(issuer=GOOGLE + XSS, subject=XSS, email="ann@example.com")
    assert sign_up(app, identity=hostile) == lead_id
    page = admin_client.get(f"/p/admin/leads/{lead_id}").text
    assert "· typed, then verified by Google on " in page
    assert "<td>joined the lead that typed this email</td>" in page
    assert "<img src=x" not in page
    assert "<code>&#34;&gt;&lt;img src=x onerror=alert(1)&gt;</code>" in page


def test_the_persons_json_holds_their_google_accounts(app, admin_client):
    lead_id = sign_up(app, identity=google(XSS, "alice@gmail.example"))
    download = admin_client.get(f"/p/admin/leads/{lead_id}.json")
    assert download.status_code == 200, download.text
    record = json.loads(download.text)
    assert record["lead"]["signup_method"] == "google"
    assert record["lead"]["email_verified_at"] is not None
    [identity] = record["identities"]
    assert identity["issuer"] == GOOGLE and identity["subject"] == XSS
    assert (identity["email"], identity["linked_how"]) == ("alice@gmail.example", "new_lead")
    assert {"linked_at", "last_seen_at"} <= identity.keys()
    [submission] = record["quiz_submissions"]
    assert (submission["signup_method"], submission["identity_id"]) == ("google", identity["id"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_erasing_a_person_removes_their_google_accounts(backend, fresh_database):
    """Foreign keys hold on every database: submissions go before their identities."""
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": fresh_database(backend)})
    try:
        with app.app_context():
            upgrade(directory=str(MIGRATIONS_DIR))
        engine = app.extensions["funnel"].engine
        gone = sign_up(app, "ann@example.com")
        sign_up(app, identity=google("1089", "ann@example.com"))  # joins the typed lead
        sign_up(app, identity=google("1089", "ann@example.com"))  # and signs in again
        kept = sign_up(app, identity=google("2077", "bob@example.com"))
        with engine.begin() as connection:  # someone else's submission names the account
            gone_identity = select(Identity.id).where(Identity.lead_id == gone).scalar_subquery()
            connection.execute(
                update(Submission)
                .where(Submission.lead_id == kept)
                .values(identity_id=gone_identity)
            )
        assert erase(engine, gone, actor="boss@shop.example")
        with engine.connect() as connection:
            assert connection.execute(select(Identity.lead_id, Identity.subject)).all() == [
                (kept, "2077")
            ]
            assert connection.execute(select(Submission.lead_id, Submission.identity_id)).all() == [
                (kept, None)
            ]
            assert connection.scalar(select(Lead.email)) == "bob@example.com"
    finally:
        with app.app_context():
            funnel.db.engine.dispose()


def test_the_leads_export_says_how_each_email_was_obtained(app, runner, tmp_path):
    sign_up(app, "ann@example.com")
    sign_up(app, identity=google("1089", "alice@gmail.example"))
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("email\nold@example.com\n")
    assert runner.invoke(args=["funnel", "import-leads", str(contacts)]).exit_code == 0

    printed = runner.invoke(args=["funnel", "export", "--format", "json"])
    assert {r["email"]: r["signup_method"] for r in json.loads(printed.stdout)} == {
        "ann@example.com": "typed",
        "alice@gmail.example": "google",
        "old@example.com": "import",
    }
    exported = tmp_path / "leads.csv"
    runner.invoke(args=["funnel", "export", "--format", "csv", "-o", str(exported)])
    rows = list(csv.DictReader(io.StringIO(exported.read_text("utf-8"))))
    assert "signup_method" in rows[0]
    assert sorted(r["signup_method"] for r in rows) == ["google", "import", "typed"]


def test_an_export_imports_again_and_every_lead_it_makes_is_imported(app, runner, tmp_path):
    """The export's ``signup_method`` column is passed over: the file is the source."""
    from conftest import make_app

    sign_up(app, identity=google("1089", "alice@gmail.example"))
    exported = tmp_path / "leads.csv"
    runner.invoke(args=["funnel", "export", "--format", "csv", "-o", str(exported)])
    (tmp_path / "other").mkdir()
    other = make_app(tmp_path / "other")
    result = other.test_cli_runner().invoke(args=["funnel", "import-leads", str(exported)])
    assert result.exit_code == 0, result.output
    with other.extensions["funnel"].engine.connect() as connection:
        assert connection.execute(select(Lead.email, Lead.signup_method)).all() == [
            ("alice@gmail.example", "import")
        ]
    other.extensions["funnel"].engine.dispose()
