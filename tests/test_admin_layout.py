"""What the admin's pages carry for small screens and assistive technology (the browser
tests look at them: tests/test_accessibility.py)."""

from __future__ import annotations

from conftest import sign_up

from flask_funnel.views.admin.text import breakable_email


def test_a_long_email_wraps_at_its_at_sign_and_dots_and_stays_escaped():
    assert breakable_email("ann.lee@mail.example.org") == (
        "ann<wbr>.lee@<wbr>mail<wbr>.example<wbr>.org"
    )
    assert breakable_email('"<b>x</b>"@example.org') == (
        "&#34;&lt;b&gt;x&lt;/b&gt;&#34;@<wbr>example<wbr>.org"
    )
    assert breakable_email(None) == ""


def test_the_lead_page_and_list_show_emails_that_wrap_whole(app, admin_client):
    with app.app_context():
        lead = sign_up(app, "a.very.long.address.of.someone@subdomain.example.org")
    wrapped = "someone@<wbr>subdomain<wbr>.example<wbr>.org"
    assert wrapped in admin_client.get(f"/p/admin/leads/{lead}").text
    assert wrapped in admin_client.get("/p/admin/leads").text


def test_every_scrolling_table_takes_keyboard_focus(app, admin_client):
    """A table wider than a phone scrolls sideways: a keyboard user reaches it with Tab
    and scrolls it with the arrow keys."""
    with app.app_context():
        lead = sign_up(app, "ann@example.com")
    for path in ("/", "/leads", f"/leads/{lead}", "/audit", "/webhooks", "/pages/home-brewing"):
        html = admin_client.get(f"/p/admin{path}").text
        assert 'class="table-wrap">' not in html and 'class="scroll-x">' not in html, path
        assert 'tabindex="0"' in html, path
