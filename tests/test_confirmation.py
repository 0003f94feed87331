"""Double opt-in (``confirm = true``): a sign-up counts and gets the offer only once the
link emailed to it is clicked; unconfirmed ones are shown apart and expire."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import Visitor, deliver_outbox, mail_app, make_app, person, signed_in_admin
from conftest import local_path as local
from conftest import mail_parts as parts
from sqlalchemy import select, update

from flask_funnel.db.models import Lead, OutboxMessage, Submission
from flask_funnel.db.types import utcnow


@pytest.fixture
def site(tmp_path, pages_dir, inbox):
    page = pages_dir / "home-brewing.toml"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("mql_threshold = 7\n", "mql_threshold = 7\nconfirm = true\n"))
    return mail_app(tmp_path, inbox, FUNNEL_PAGES_DIR=str(pages_dir))


def rows(app, query):
    with app.extensions["funnel"].engine.connect() as connection:
        return connection.execute(query).all()


def test_the_offer_waits_for_the_confirmation_link(site, inbox):
    client = person(site)
    done = Visitor(client).submit(email="ann@example.com")
    thanks = client.get(done.location)
    assert "Check your inbox" in thanks.text and "Download the guide" not in thanks.text
    assert client.get(done.location.replace("/thanks/", "/offer/")).status_code == 404
    assert rows(site, select(Lead.quarantined)) == [(True,)]  # out of every count
    deliver_outbox(site)
    [message] = inbox.messages
    assert message["Subject"] == "Confirm your email to get The Home Brewing Guide (PDF)"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, _ = parts(message)
    link = local(next(w for w in text.split() if "/confirm/" in w))

    clicked = site.test_client().get(link)  # from the mail program, any browser
    assert clicked.status_code == 303
    assert "Download the guide" in client.get(clicked.location).text
    assert rows(site, select(Lead.quarantined)) == [(False,)]
    site.test_client().get(link)  # clicked twice: nothing queued twice
    events = [e for (e,) in rows(site, select(OutboxMessage.event))]
    assert events.count("email.offer") == 1 and events.count("email.nurture") == 2
    deliver_outbox(site)
    assert [m["Subject"] for m in inbox.messages][1:] == ["The Home Brewing Guide (PDF)"]


def test_unconfirmed_sign_ups_are_shown_apart_and_expire(site, inbox):
    Visitor(person(site)).submit(email="bob@example.com")
    admin = signed_in_admin(site)
    listed = admin.get("/p/admin/leads?quarantined=include").text
    assert "email not confirmed yet" in listed and "suspected bot" not in listed
    engine = site.extensions["funnel"].engine
    with engine.begin() as connection:
        connection.execute(update(Submission).values(created_at=utcnow() - timedelta(days=8)))
    result = site.test_cli_runner().invoke(args=["funnel", "deliver"])
    assert result.exit_code == 0 and "1 unconfirmed sign-ups expired" in result.output
    assert rows(site, select(Lead.id)) == []


def test_an_old_confirmation_link_has_expired(site, inbox, monkeypatch):
    import time

    Visitor(person(site)).submit(email="cid@example.com")
    deliver_outbox(site)
    text, _ = parts(inbox.messages[0])
    link = local(next(w for w in text.split() if "/confirm/" in w))
    later = time.time() + 8 * 86400
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert site.test_client().get(link).status_code == 410
    assert rows(site, select(Lead.quarantined)) == [(True,)]


def test_without_a_sender_the_page_says_it_cannot_confirm(tmp_path, pages_dir):
    page = pages_dir / "home-brewing.toml"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("mql_threshold = 7\n", "mql_threshold = 7\nconfirm = true\n"))
    app = make_app(tmp_path, FUNNEL_PAGES_DIR=str(pages_dir))
    output = app.test_cli_runner().invoke(args=["funnel", "pages"]).output
    assert "confirm = true, but FUNNEL_MAIL_FROM is not set" in output
    Visitor(person(app)).submit(email="dee@example.com")
    assert rows(app, select(Lead.quarantined)) == [(False,)]
