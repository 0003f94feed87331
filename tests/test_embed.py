"""The quiz inside the host's own pages: ``{{ funnel_quiz(slug) }}`` in a host template
renders the first question in the visitor's version; answering goes on in the funnel."""

from __future__ import annotations

from conftest import flush_visits, hidden_fields, make_app, person
from flask import render_template_string
from sqlalchemy import select

from flask_funnel.db.models import Visit


def test_a_host_page_shows_the_first_question_and_the_quiz_goes_on(app):
    client = person(app)
    home = client.get("/")  # the demo host's own page, its own layout
    assert home.status_code == 200
    assert "Fresh coffee, roasted every Monday" in home.text
    assert 'action="/p/home-brewing/quiz"' in home.text
    assert "How do you like your coffee?" in home.text and 'name="q_style"' in home.text
    assert client.get_cookie("funnel_vid") is not None  # a visitor from the first view
    assert client.get_cookie("session") is None  # no CSRF token: the step is a GET
    fields = hidden_fields(home.text)
    step2 = client.get(
        "/p/home-brewing/quiz", query_string={**fields, "q_style": "black", "step": "2"}
    )
    assert step2.status_code == 200 and "How much time do you have" in step2.text
    flush_visits(app)
    with app.extensions["funnel"].engine.connect() as connection:
        pages = connection.execute(select(Visit.page_slug)).scalars().all()
    assert pages == ["home-brewing"]  # the view counts as a visit of the page


def test_the_embed_follows_the_visitor_s_language(app):
    home = person(app, "fa").get("/")
    assert 'dir="rtl"' in home.text and "قهوه‌تان را چطور دوست دارید؟" in home.text


def test_an_unknown_page_leaves_a_comment_not_an_error(tmp_path, caplog):
    app = make_app(tmp_path)

    @app.get("/other")
    def other():
        return render_template_string('<p>Hi</p>{{ funnel_quiz("no-such-page") }}')

    response = person(app).get("/other")
    assert response.status_code == 200
    assert "<!-- funnel_quiz: no page with this slug -->" in response.text
    assert "no-such-page" in caplog.text


# --- in an iframe on another site -----------------------------------------------------


def embed_contact_form(client):
    """The contact step of the embed, its hidden fields (the embed's visitor in them)."""
    import re

    landing = client.get("/p/home-brewing/embed")
    assert landing.status_code == 200 and "data-funnel-embed" in landing.text
    start = re.search(r'href="(/p/home-brewing/quiz\?embed=[^"]+)"', landing.text).group(1)
    first = client.get(start.replace("&amp;", "&"))
    fields = hidden_fields(first.text)
    answers = {"q_style": "black", "q_time": "5min", "q_gear": "grinder"}
    contact = client.get("/p/home-brewing/quiz", query_string={**fields, **answers, "step": 4})
    assert "csrf_token" not in hidden_fields(contact.text)  # no session in a frame
    action = re.search(
        r'<form class="quiz-step contact-step" method="post" action="([^"]+)"', contact.text
    )
    return action.group(1).replace("&amp;", "&"), hidden_fields(contact.text)


def test_an_embed_posts_only_from_this_site(app):
    from flask_funnel.db.models import Lead

    client = person(app)
    action, fields = embed_contact_form(client)
    data = fields | {"email": "eve@example.com", "consent": "y"}
    forged = client.post(action, data=data, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 400
    nameless = client.post(action, data=data)  # neither Origin nor Referer
    assert nameless.status_code == 400
    sent = client.post(action, data=data, headers={"Origin": "http://localhost"})
    assert sent.status_code == 303 and "embed=" in sent.location
    with app.extensions["funnel"].engine.connect() as connection:
        assert connection.execute(select(Lead.email, Lead.quarantined)).all() == [
            ("eve@example.com", False)
        ]
