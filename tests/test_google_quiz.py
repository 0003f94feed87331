"""Continue with Google on the quiz's contact step, against a real OpenID Connect
provider on 127.0.0.1: the visitor leaves and comes back with everything kept, and one
Google account is one lead."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import ANSWERS, Visitor, flush_visits, hidden_fields, make_app
from sqlalchemy import func, insert, select

from flask_funnel.db.models import Identity, Lead, Submission, Visit
from flask_funnel.db.types import utcnow

SIGN_IN_BUTTON = "Continue with Google"


class GoogleVisitor(Visitor):
    """A visitor who takes the quiz and continues with a Google account."""

    def __init__(self, client, provider, slug="home-brewing"):
        super().__init__(client, slug)
        self.provider = provider

    def contact_query(self, landing_query: str = "") -> str:
        self.land(landing_query)
        started = hidden_fields(self.client.get(f"{self.base}/quiz").text)["started"]
        answers = "&".join(f"q_{k}={v}" for k, v in ANSWERS.items())
        return f"{answers}&started={started}"

    def leave_for_google(self, query: str):
        return self.client.get(f"{self.base}/google?{query}")

    def sign_in(self, sub="alice", landing_query="", deny=False):
        """Through the provider and back; returns the answer of our callback."""
        start = self.leave_for_google(self.contact_query(landing_query))
        assert start.status_code == 302, start.text
        return self.client.get(self.provider.choose(start.headers["Location"], sub, deny=deny))

    def submit_signed_in(self, **fields):
        step = self.client.get(self.sign_in().headers["Location"])
        assert step.status_code == 200, step.text
        data = hidden_fields(step.text) | {"consent": "y"} | fields
        return self.client.post(f"{self.base}/quiz", data=data)


@pytest.fixture
def google_visitor(google_app, oidc_provider):
    return GoogleVisitor(google_app.test_client(), oidc_provider)


def leads(db_session):
    db_session.rollback()
    return db_session.scalars(select(Lead).order_by(Lead.id)).all()


def identities(db_session):
    db_session.rollback()
    return db_session.scalars(select(Identity)).all()


def test_the_authorize_redirect_carries_pkce_state_and_nonce(google_visitor):
    start = google_visitor.leave_for_google(google_visitor.contact_query())
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0]
    assert query["scope"] == ["openid email profile"]
    assert query["redirect_uri"] == ["http://localhost/p/google/callback"]


def test_a_visitor_signs_up_with_google_keeping_answers_variant_and_source(
    google_app, google_visitor, db_session
):
    back = google_visitor.sign_in(landing_query="?utm_source=newsletter")
    assert back.status_code == 303
    step = google_visitor.client.get(back.headers["Location"])
    assert "Signed in with Google as" in step.text and "alice@gmail.example" in step.text
    assert 'name="email"' not in step.text  # nothing to retype
    fields = hidden_fields(step.text)
    assert {f"q_{k}": v for k, v in ANSWERS.items()}.items() <= fields.items()
    assert fields["use_google"] == "1"
    assert (
        'name="consent" value="y" ' in step.text
        and "checked" not in step.text.split('name="consent"')[1].split(">")[0]
    )  # consent still asked, unticked

    answer = google_visitor.client.post("/p/home-brewing/quiz", data=fields | {"consent": "y"})
    assert answer.status_code == 303 and "/thanks/" in answer.headers["Location"]
    flush_visits(google_app)
    [lead] = leads(db_session)
    assert (lead.email, lead.name, lead.signup_method) == (
        "alice@gmail.example",
        "Alice Gee",
        "google",
    )
    assert lead.email_verified_at is not None and lead.source == "newsletter"
    visit_variant = db_session.scalar(select(Visit.variant).where(Visit.lead_id == lead.id))
    assert lead.variant == visit_variant is not None
    [identity] = identities(db_session)
    assert (identity.lead_id, identity.subject, identity.linked_how) == (
        lead.id,
        "alice",
        "new_lead",
    )
    submission = db_session.scalars(select(Submission)).one()
    assert (submission.signup_method, submission.identity_id) == ("google", identity.id)
    assert submission.score == 7


def test_a_returning_google_user_is_the_same_lead(google_app, oidc_provider, db_session):
    for _ in range(2):
        visitor = GoogleVisitor(google_app.test_client(), oidc_provider)
        assert visitor.submit_signed_in().status_code == 303
    assert len(leads(db_session)) == 1 and len(identities(db_session)) == 1
    assert db_session.scalar(select(func.count()).select_from(Submission)) == 2


def test_signing_in_joins_the_lead_that_typed_the_same_email(
    google_app, google_visitor, db_session
):
    typed = Visitor(google_app.test_client()).submit(email="ALICE@gmail.example", name=None)
    assert typed.status_code == 303
    [before] = leads(db_session)
    assert google_visitor.submit_signed_in().status_code == 303
    [after] = leads(db_session)
    assert after.id == before.id and after.signup_method == "typed"  # how it first came
    assert after.email_verified_at is not None and after.name == "Alice Gee"
    [identity] = identities(db_session)
    assert (identity.lead_id, identity.linked_how) == (before.id, "existing_email")


def test_a_google_account_finds_its_lead_after_its_email_changed(
    google_app, google_visitor, oidc_provider, db_session
):
    Visitor(google_app.test_client()).submit(email="old-address@example.org")
    [lead] = leads(db_session)
    now = utcnow()
    db_session.execute(
        insert(Identity),
        {
            "lead_id": lead.id,
            "issuer": oidc_provider.base,
            "subject": "alice",
            "email": "old-address@example.org",
            "linked_how": "new_lead",
            "linked_at": now,
            "last_seen_at": now,
        },
    )
    db_session.commit()
    assert google_visitor.submit_signed_in().status_code == 303
    assert [lead.email for lead in leads(db_session)] == ["old-address@example.org"]
    [identity] = identities(db_session)
    assert identity.email == "alice@gmail.example"  # what Google says now


def test_an_unverified_google_email_is_refused(google_visitor, db_session):
    back = google_visitor.sign_in("mallory")
    assert back.status_code == 303 and "google_error=unverified" in back.headers["Location"]
    step = google_visitor.client.get(back.headers["Location"])
    assert "Google has not verified this email address" in step.text
    assert 'name="email"' in step.text and SIGN_IN_BUTTON in step.text
    assert leads(db_session) == [] and identities(db_session) == []


def test_pressing_deny_returns_to_the_contact_step_with_the_answers(google_visitor, db_session):
    back = google_visitor.sign_in(deny=True)
    assert "google_error=denied" in back.headers["Location"]
    step = google_visitor.client.get(back.headers["Location"])
    assert "You cancelled the Google sign-in" in step.text
    assert hidden_fields(step.text)["q_style"] == ANSWERS["style"]
    assert leads(db_session) == []


def test_a_forged_state_is_refused(google_visitor, db_session):
    google_visitor.leave_for_google(google_visitor.contact_query())
    answer = google_visitor.client.get("/p/google/callback?code=x&state=forged")
    assert answer.status_code == 400 and "This sign-in has expired" in answer.text
    assert leads(db_session) == [] and identities(db_session) == []


def test_a_replayed_callback_is_refused(google_visitor, oidc_provider, db_session):
    start = google_visitor.leave_for_google(google_visitor.contact_query())
    back = oidc_provider.choose(start.headers["Location"], "alice")
    assert google_visitor.client.get(back).status_code == 303
    with google_visitor.client.session_transaction() as session:
        session.pop("_funnel_google")
    replay = google_visitor.client.get(back)
    assert replay.status_code == 400
    with google_visitor.client.session_transaction() as session:
        assert "_funnel_google" not in session


def test_a_state_from_another_browser_is_refused(google_app, google_visitor, oidc_provider):
    start = google_visitor.leave_for_google(google_visitor.contact_query())
    back = oidc_provider.choose(start.headers["Location"], "alice")
    stranger = google_app.test_client()
    assert stranger.get(back).status_code == 400


def test_an_unreachable_provider_leaves_the_email_field_working(tmp_path, db_session):
    app = make_app(
        tmp_path,
        FUNNEL_GOOGLE_CLIENT_ID="id",
        FUNNEL_GOOGLE_CLIENT_SECRET="secret",
        FUNNEL_GOOGLE_METADATA_URL="http://127.0.0.1:9/.well-known/openid-configuration",
    )
    visitor = GoogleVisitor(app.test_client(), provider=None)
    back = visitor.leave_for_google(visitor.contact_query())
    assert back.status_code == 303 and "google_error=unavailable" in back.headers["Location"]
    step = visitor.client.get(back.headers["Location"])
    assert "Google could not be reached" in step.text and 'name="email"' in step.text


def test_a_signed_in_post_after_the_sign_in_lapsed_asks_again(google_visitor, db_session):
    step = google_visitor.client.get(google_visitor.sign_in().headers["Location"])
    fields = hidden_fields(step.text) | {"consent": "y"}
    with google_visitor.client.session_transaction() as session:
        session["_funnel_google"] = session["_funnel_google"] | {"at": 0}  # long ago
    answer = google_visitor.client.post("/p/home-brewing/quiz", data=fields)
    assert answer.status_code == 422
    assert "That Google sign-in has expired" in answer.text and 'name="email"' in answer.text
    assert leads(db_session) == []


def test_abandoned_sign_ins_never_grow_the_session_cookie(google_visitor):
    query = google_visitor.contact_query()
    for _ in range(25):
        assert google_visitor.leave_for_google(query).status_code == 302
    with google_visitor.client.session_transaction() as session:
        markers = [key for key in session if key.startswith("_state_")]
    assert len(markers) <= 3
    cookie = google_visitor.client.get_cookie("session")
    assert len(cookie.value) < 1500


def test_without_google_settings_there_is_no_button_and_no_route(client, visitor):
    step = client.get(
        "/p/home-brewing/quiz?step=4&" + "&".join(f"q_{k}={v}" for k, v in ANSWERS.items())
    )
    assert SIGN_IN_BUTTON not in step.text and "accounts.google.com" not in step.text
    assert client.get("/p/home-brewing/google").status_code == 404
    assert client.get("/p/google/callback?state=x").status_code == 404


def test_the_persian_contact_step_offers_google_in_persian(google_app):
    page = google_app.extensions["funnel"].pages.get("qahve-dam")
    answers = "&".join(f"q_{q.id}={q.choices[0].id}" for q in page.questions)
    step = google_app.test_client().get(f"/p/qahve-dam/quiz?step={page.contact_step}&{answers}")
    assert step.status_code == 200
    assert "ادامه با حساب گوگل" in step.text and "یا ایمیل خود را بنویسید" in step.text


def test_a_token_answer_without_an_id_token_signs_nobody_in(
    google_visitor, monkeypatch, db_session
):
    from authlib.integrations.flask_client.apps import FlaskOAuth2App

    monkeypatch.setattr(
        FlaskOAuth2App, "authorize_access_token", lambda self, **kwargs: {"access_token": "x"}
    )
    back = google_visitor.sign_in()
    assert back.status_code == 303 and "google_error=rejected" in back.headers["Location"]
    with google_visitor.client.session_transaction() as session:
        assert "_funnel_google" not in session
    assert leads(db_session) == []
