"""The lead magnet by email: a lead who signs up gets their result and the offer from a
real SMTP server on 127.0.0.1, in the page's language and version, with a download
link that works for a while and a one-click unsubscribe (RFC 8058)."""

from __future__ import annotations

import json
import time

import pytest
from conftest import Visitor, deliver_outbox, free_port, mail_app, make_app, person
from conftest import local_path as local
from conftest import mail_parts as parts
from sqlalchemy import select

from flask_funnel.db.models import Consent, OutboxMessage

SENDER = "Bean & Bloom <guide@shop.example>"


def outbox_values(app, column, *where) -> list:
    """``column`` of the outbox messages that match ``where``."""
    with app.extensions["funnel"].engine.connect() as connection:
        return connection.execute(select(column).where(*where)).scalars().all()


@pytest.fixture
def site(tmp_path, inbox):
    return mail_app(tmp_path, inbox, FUNNEL_MAIL_FROM=SENDER)


def test_a_new_lead_gets_the_guide_by_email_with_a_working_link(site, inbox):
    client = person(site)
    done = Visitor(client).submit(email="ann@example.com", name="Ann <b>")
    assert done.status_code == 303
    assert inbox.messages == []  # sent by the worker, never during the sign-up
    assert deliver_outbox(site).delivered >= 1
    [message] = inbox.messages
    assert message["To"] == "ann@example.com"
    assert message["From"] == SENDER
    assert message["Subject"] == "The Home Brewing Guide (PDF)"
    text, html = parts(message)
    assert "Hello Ann <b>," in text and "Hello Ann &lt;b&gt;," in html  # escaped in HTML
    assert "You are a pour-over person" in text  # the result of their answers
    link = next(word for word in text.split() if "/offer-link/" in word)
    with person(site).get(local(link)) as download:  # from any browser
        assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert "/p/home-brewing/thanks/" in text
    assert 'dir="ltr"' in html and 'lang="en"' in html


def test_the_unsubscribe_is_one_click_and_withdraws_consent(site, inbox):
    Visitor(person(site)).submit(email="bob@example.com")
    deliver_outbox(site)
    [message] = inbox.messages
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = local("".join(message["List-Unsubscribe"].split()).strip("<>"))
    shown = site.test_client().get(url)  # a link scanner's GET changes nothing
    assert shown.status_code == 200 and "<form" in shown.text
    with site.extensions["funnel"].engine.connect() as connection:
        assert connection.execute(select(Consent.withdrawn_at)).scalar_one() is None
    clicked = site.test_client().post(url, data={"List-Unsubscribe": "One-Click"})
    assert clicked.status_code == 200 and "You are unsubscribed" in clicked.text
    with site.extensions["funnel"].engine.connect() as connection:
        assert connection.execute(select(Consent.withdrawn_at)).scalar_one() is not None
    assert site.test_client().post("/p/unsubscribe/forged-token").status_code == 404


def test_a_persian_visitor_gets_the_email_in_persian_right_to_left(site, inbox):
    Visitor(person(site, "fa")).submit(email="sara@example.com")
    deliver_outbox(site)
    [message] = inbox.messages
    assert message["Subject"].strip() == "راهنمای دم‌کردن قهوه در خانه (PDF، به انگلیسی)"
    assert message["Content-Language"] == "fa"
    text, html = parts(message)
    assert 'dir="rtl"' in html and "شما اهل پوراُور هستید" in text


def test_an_old_download_link_says_it_has_expired(site, inbox, monkeypatch):
    Visitor(person(site)).submit(email="cid@example.com")
    deliver_outbox(site)
    text, _ = parts(inbox.messages[0])
    link = local(next(word for word in text.split() if "/offer-link/" in word))
    later = time.time() + 8 * 86400  # FUNNEL_OFFER_LINK_DAYS is 7
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    expired = site.test_client().get(link)
    assert expired.status_code == 410 and "This link has expired" in expired.text
    assert site.test_client().get(link[:-3] + "xyz").status_code == 404


def test_a_mail_server_that_is_down_is_tried_again_later(tmp_path):
    site = make_app(
        tmp_path,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=free_port(),
        MAIL_BACKEND="smtp",
        FUNNEL_MAIL_FROM=SENDER,
    )
    Visitor(person(site)).submit(email="dee@example.com")
    result = deliver_outbox(site)
    assert (result.delivered, result.retrying) == (0, 1)
    with site.extensions["funnel"].engine.connect() as connection:
        [row] = connection.execute(
            select(OutboxMessage).where(OutboxMessage.event == "email.offer")
        ).all()
    assert (row.state, row.attempts) == ("pending", 1)
    assert "could not be reached" in row.last_error and "dee@" not in row.last_error


def test_no_email_without_a_sender_or_for_a_suspected_bot(tmp_path, site):
    (tmp_path / "quiet").mkdir()
    quiet = make_app(tmp_path / "quiet")
    Visitor(person(quiet)).submit(email="eve@example.com")
    with quiet.extensions["funnel"].engine.connect() as connection:
        assert connection.execute(select(OutboxMessage)).all() == []
    bot = site.test_client()
    bot.environ_base["HTTP_USER_AGENT"] = "curl/8.5.0"  # a script: quarantined
    Visitor(bot).submit(email="bot@example.com")
    with site.extensions["funnel"].engine.connect() as connection:
        assert connection.execute(select(OutboxMessage)).all() == []


# --- the sales team ----------------------------------------------------------------------


@pytest.fixture
def team_site(tmp_path, inbox):
    return mail_app(
        tmp_path,
        inbox,
        FUNNEL_MAIL_FROM=SENDER,
        FUNNEL_NOTIFY_EMAILS=["Sales@Shop.example"],
        FUNNEL_SITE_URL="https://shop.example/",
    )


def test_sales_is_told_when_a_lead_becomes_an_mql(team_site, inbox):
    done = Visitor(person(team_site)).submit(email="ann@example.com")  # scores 7: mql
    assert done.status_code == 303
    deliver_outbox(team_site)
    [notice] = [m for m in inbox.messages if m["To"] == "sales@shop.example"]
    assert notice["Subject"] == "mql: ann@example.com"
    text = notice.get_body(("plain",)).get_content()
    assert "https://shop.example/p/admin/leads/1" in text  # FUNNEL_SITE_URL
    assert "lead -> mql" in text and "home-brewing" in text


def test_a_move_on_the_command_line_links_to_the_site_url(team_site, inbox):
    Visitor(person(team_site)).submit(
        email="bob@example.com", q_style="iced", q_time="1min", q_gear="none"
    )
    runner = team_site.test_cli_runner()
    result = runner.invoke(args=["funnel", "stage", "bob@example.com", "mql", "--reason", "call"])
    assert result.exit_code == 0, result.output
    deliver_outbox(team_site)
    [notice] = [m for m in inbox.messages if m["To"] == "sales@shop.example"]
    assert "https://shop.example/p/admin/leads/" in notice.get_body(("plain",)).get_content()


def test_the_daily_digest_lists_the_follow_ups_due(team_site, inbox):
    from datetime import UTC, datetime, timedelta

    from flask_funnel.leads.notes import add_follow_up

    Visitor(person(team_site)).submit(email="cara@example.com", name="Cara")
    engine = team_site.extensions["funnel"].engine
    now = datetime.now(UTC)
    add_follow_up(engine, 1, "boss", now - timedelta(days=2), "Call about the grinder")
    add_follow_up(engine, 1, "boss", now + timedelta(days=30), "Not yet due")
    runner = team_site.test_cli_runner()
    result = runner.invoke(args=["funnel", "digest"])
    assert result.exit_code == 0 and "A digest of 1 follow-ups is queued" in result.output
    deliver_outbox(team_site)
    [digest] = [m for m in inbox.messages if m["Subject"].startswith("Follow-ups due")]
    text = digest.get_body(("plain",)).get_content()
    assert "Cara <cara@example.com>" in text and "Call about the grinder" in text
    assert "Not yet due" not in text and "https://shop.example/p/admin/leads/1" in text


def test_the_digest_says_what_is_missing(site):
    result = site.test_cli_runner().invoke(args=["funnel", "digest"])
    assert result.exit_code == 1 and "FUNNEL_NOTIFY_EMAILS" in result.output


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("FUNNEL_NOTIFY_EMAILS", "sales@shop.example", "must be a list of email addresses"),
        ("FUNNEL_NOTIFY_EMAILS", ["sales@"], "'sales@' is not an email address"),
        ("FUNNEL_NOTIFY_STAGE", "won", "FUNNEL_NOTIFY_STAGE: 'won' is not one of"),
        ("FUNNEL_SITE_URL", "shop.example", "FUNNEL_SITE_URL: 'shop.example' is not"),
        ("FUNNEL_OFFER_LINK_DAYS", 0, "FUNNEL_OFFER_LINK_DAYS"),
    ],
)
def test_a_wrong_mail_setting_stops_the_app_and_names_it(tmp_path, key, value, expected):
    from flask_funnel.settings import SettingsError

    with pytest.raises(SettingsError, match=expected):
        make_app(tmp_path, **{key: value})


def test_the_lead_page_shows_the_emails_sent_to_the_lead(site, inbox, sign_in_admin):
    Visitor(person(site)).submit(email="fay@example.com")
    deliver_outbox(site)
    admin = sign_in_admin(site.test_client())
    page = admin.get("/p/admin/leads/1").text
    assert "Emails and webhooks" in page
    assert "The Home Brewing Guide (PDF)" in page and "delivered" in page
    record = json.loads(admin.get("/p/admin/leads/1.json").data)
    assert record["messages"][0]["target"] == "email:lead"


# --- nurture ------------------------------------------------------------------------------


def subjects(inbox) -> list[str]:
    return [m["Subject"].strip() for m in inbox.messages]


def test_the_nurture_emails_come_on_schedule_in_the_lead_s_language(site, inbox):
    Visitor(person(site)).submit(email="gil@example.com")
    Visitor(person(site, "fa")).submit(email="hoda@example.com")
    deliver_outbox(site, 0)
    assert sorted(subjects(inbox)) == sorted(
        ["The Home Brewing Guide (PDF)", "راهنمای دم‌کردن قهوه در خانه (PDF، به انگلیسی)"]
    )
    deliver_outbox(site, 1)
    assert len(inbox.messages) == 2  # nothing due yet
    deliver_outbox(site, 2.01)
    assert "Your first brew, step by step" in subjects(inbox)
    assert "نخستین دم‌کردن شما، گام‌به‌گام" in subjects(inbox)
    first = next(m for m in inbox.messages if m["Subject"] == "Your first brew, step by step")
    text, html = parts(first)
    assert "<strong>15 g</strong>" in html and "<ol>" in html  # Markdown
    assert "**15 g**" in text
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    deliver_outbox(site, 5.01)
    assert subjects(inbox).count("Which beans for your method?") == 1
    assert len(inbox.messages) == 6


def test_the_sequence_stops_when_the_lead_unsubscribes_or_buys(site, inbox):
    from flask_funnel.leads.purchases import record_purchase

    Visitor(person(site)).submit(email="ida@example.com")
    Visitor(person(site)).submit(email="jon@example.com")
    deliver_outbox(site, 0)
    ida = next(m for m in inbox.messages if m["To"] == "ida@example.com")
    url = local("".join(ida["List-Unsubscribe"].split()).strip("<>"))
    site.test_client().post(url, data={"List-Unsubscribe": "One-Click"})
    with site.app_context():
        record_purchase(
            site.extensions["funnel"].engine,
            email="jon@example.com",
            amount="12",
            currency="EUR",
            actor="shop",
        )
    deliver_outbox(site, 10)
    assert len(inbox.messages) == 2  # only the two guides
    stopped = outbox_values(site, OutboxMessage.last_error, OutboxMessage.state == "stopped")
    assert sorted(set(stopped)) == ["the lead is at customer", "the lead unsubscribed"]


def test_a_locale_must_translate_every_nurture_email(pages_dir):
    from conftest import parse_page

    text = (pages_dir / "home-brewing.toml").read_text(encoding="utf-8")
    second = text.index("[[locales.fa.nurture]]", text.index("[[locales.fa.nurture]]") + 1)
    broken = text[:second] + text[text.index("[locales.fa.variants.b]") :]
    result = parse_page(pages_dir, broken)
    assert any("locales.fa.nurture: must have between 2 and 2 entries" in e for e in result.errors)
    bad_days = text.replace("after_days = 5", "after_days = 0")
    assert any(
        "nurture[2].after_days: must be from 1 to 365" in e
        for e in parse_page(pages_dir, bad_days).errors
    )


def test_a_forged_host_header_does_not_reach_the_links_in_emails(team_site, inbox):
    """The contact step sent to this site under another name (``Host: evil.example``)
    still links to FUNNEL_SITE_URL: nobody can make the site email links to theirs."""
    client = person(team_site)
    client.environ_base["HTTP_HOST"] = "evil.example"
    assert Visitor(client).submit(email="lia@example.com").status_code == 303
    deliver_outbox(team_site)
    assert {m["To"] for m in inbox.messages} == {"lia@example.com", "sales@shop.example"}
    for message in inbox.messages:
        text = message.get_body(("plain",)).get_content()
        assert "evil.example" not in text and "https://shop.example/p/" in text


def test_the_digest_is_written_when_sent_so_an_erased_lead_is_not_in_it(team_site, inbox):
    from datetime import UTC, datetime, timedelta

    from flask_funnel.leads.notes import add_follow_up
    from flask_funnel.leads.privacy import erase

    Visitor(person(team_site)).submit(email="max@example.com", name="Max")
    Visitor(person(team_site)).submit(email="nia@example.com", name="Nia")
    engine = team_site.extensions["funnel"].engine
    yesterday = datetime.now(UTC) - timedelta(days=1)
    add_follow_up(engine, 1, "boss", yesterday, "Call Max")
    add_follow_up(engine, 2, "boss", yesterday, "Call Nia")
    team_site.test_cli_runner().invoke(args=["funnel", "digest"])
    [queued] = outbox_values(team_site, OutboxMessage.body, OutboxMessage.event == "email.digest")
    assert "max@example.com" not in queued  # names and addresses are read when sent
    erase(engine, 1, "admin")
    deliver_outbox(team_site)
    [digest] = [m for m in inbox.messages if m["Subject"].startswith("Follow-ups due")]
    text = digest.get_body(("plain",)).get_content()
    assert "Nia" in text and "Max" not in text


def test_signing_up_again_starts_one_new_sequence(site, inbox):
    Visitor(person(site)).submit(email="oli@example.com")
    Visitor(person(site)).submit(email="oli@example.com")
    nurture = outbox_values(site, OutboxMessage.state, OutboxMessage.event == "email.nurture")
    assert sorted(nurture) == ["pending", "pending", "stopped", "stopped"]
