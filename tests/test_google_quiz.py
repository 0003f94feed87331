"""Continue with Google on the quiz, against a real OpenID Connect provider on 127.0.0.1."""

from __future__ import annotations

from conftest import ANSWERS, Visitor, hidden_fields


def contact_query(visitor) -> str:
    form = visitor.contact_form()
    answers = "&".join(f"q_{k}={v}" for k, v in ANSWERS.items())
    return f"{answers}&started={form['started']}"


def test_the_contact_step_comes_back_from_the_provider(google_app, oidc_provider):
    client = google_app.test_client()
    visitor = Visitor(client)
    query = contact_query(visitor)
    start = client.get(f"/p/home-brewing/google?{query}")
    assert start.status_code == 302, start.text
    back = oidc_provider.choose(start.headers["Location"], "alice")
    returned = client.get(back)
    assert returned.status_code == 303, returned.text
    step = client.get(returned.headers["Location"])
    assert step.status_code == 200
    fields = hidden_fields(step.text)
    assert {"csrf_token", "started", "key"} <= set(fields)
