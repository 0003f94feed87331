"""The admin area in the admin's own language: the header's switch, kept per admin, and
every admin page in Persian (right to left, Persian digits) once chosen."""

from __future__ import annotations

import re

import pytest
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Visitor, hidden_fields
from sqlalchemy import select

from flask_funnel.db.models import Admin, FollowUp, Lead

PERSIAN_DIGIT = re.compile("[۰-۹]")


def csrf(client, path: str = "/p/admin/leads") -> str:
    return hidden_fields(client.get(path).text)["csrf_token"]


def choose(client, locale: str, back: str = "/p/admin/leads"):
    return client.post(
        "/p/admin/language", data={"csrf_token": csrf(client), "locale": locale, "next": back}
    )


@pytest.fixture
def lead(client, db_session):
    """A lead with a Persian name, quiz answers and a follow-up; its id."""
    Visitor(client).submit(email="sara@example.com", name="سارا رضایی")
    db_session.rollback()
    lead_id = db_session.scalars(select(Lead.id).where(Lead.email == "sara@example.com")).one()
    return lead_id


@pytest.fixture
def persian_admin(admin_client):
    assert choose(admin_client, "fa").status_code == 303
    return admin_client


def test_the_switch_needs_a_csrf_token(admin_client, db_session):
    response = admin_client.post("/p/admin/language", data={"locale": "fa"})
    assert response.status_code == 400
    assert db_session.scalars(select(Admin.locale)).one() is None
    assert 'lang="en" dir="ltr"' in admin_client.get("/p/admin/leads").text


def test_the_switch_refuses_a_language_it_does_not_offer(admin_client):
    assert choose(admin_client, "de").status_code == 400


def test_the_switch_is_stored_on_the_admin_and_goes_back_to_the_page(admin_client, db_session):
    response = choose(admin_client, "fa", back="/p/admin/follow-ups")
    assert response.status_code == 303
    assert response.headers["Location"] == "/p/admin/follow-ups"
    db_session.rollback()
    assert db_session.scalars(select(Admin.locale)).one() == "fa"
    choose(admin_client, "en")
    db_session.rollback()
    assert db_session.scalars(select(Admin.locale)).one() is None


def test_the_switch_only_goes_back_to_a_page_of_this_site(admin_client):
    response = admin_client.post(
        "/p/admin/language",
        data={"csrf_token": csrf(admin_client), "locale": "fa", "next": "//evil.example/"},
    )
    assert response.headers["Location"] == "/p/admin/"


def test_the_choice_survives_signing_out_and_in(persian_admin):
    persian_admin.post("/p/admin/sign-out", data={"csrf_token": csrf(persian_admin)})
    # The sign-in page is English (no admin yet) ...
    assert 'lang="en"' in persian_admin.get("/p/admin/sign-in").text
    token = csrf(persian_admin, "/p/admin/sign-in")
    persian_admin.post(
        "/p/admin/sign-in",
        data={"csrf_token": token, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
    )
    # ... and the admin's own pages are Persian again.
    assert '<html lang="fa" dir="rtl">' in persian_admin.get("/p/admin/leads").text


def test_a_host_authorized_admin_keeps_the_choice_in_the_session(app, client, db_session):
    from flask import request

    from landing import funnel

    funnel.authorize_admins(lambda: "host-user" if request.headers.get("X-Role") else None)
    try:
        headers = {"X-Role": "sales"}
        token = hidden_fields(client.get("/p/admin/leads", headers=headers).text)["csrf_token"]
        response = client.post(
            "/p/admin/language",
            data={"csrf_token": token, "locale": "fa", "next": "/p/admin/leads"},
            headers=headers,
        )
        assert response.status_code == 303
        assert '<html lang="fa" dir="rtl">' in client.get("/p/admin/leads", headers=headers).text
        assert db_session.scalars(select(Admin)).all() == []
        # Another browser (another session) of the same host user starts in English.
        other = app.test_client()
        assert 'lang="en"' in other.get("/p/admin/leads", headers=headers).text
    finally:
        funnel.admin_authorizer = None


def admin_pages(lead_id: int) -> list[str]:
    return [
        "/p/admin/",
        "/p/admin/?by=source",
        "/p/admin/pages/home-brewing",
        "/p/admin/leads",
        f"/p/admin/leads/{lead_id}",
        "/p/admin/follow-ups",
        "/p/admin/audit",
        "/p/admin/preview",
        "/p/admin/preview?page=home-brewing&country=IR",
        "/p/admin/leads/999999",  # a message page
    ]


def test_every_admin_page_is_persian_for_a_persian_admin(persian_admin, lead, db_session):
    db_session.add(
        FollowUp(
            lead_id=lead, due_at=_now(), note="تماس", created_by=ADMIN_EMAIL, created_at=_now()
        )
    )
    db_session.commit()
    for path in admin_pages(lead):
        html = persian_admin.get(path).text
        assert '<html lang="fa" dir="rtl">' in html, path
        if path not in ("/p/admin/preview", "/p/admin/leads/999999"):  # pages with numbers
            assert PERSIAN_DIGIT.search(html), path
        assert "داشبورد" in html and "خروج" in html, path  # the header
        body = html.split("<main", 1)[1]
        for english in ("Leads", "Visitors", "Stage", "Follow-up", "Nothing", "Preview a page"):
            assert f">{english}<" not in body, (path, english)
    lead_page = persian_admin.get(f"/p/admin/leads/{lead}").text
    assert '<h1 dir="auto">سارا رضایی</h1>' in lead_page
    assert "تاریخچهٔ مراحل" in lead_page and "پاسخ‌های آزمونک" in lead_page
    dashboard = persian_admin.get("/p/admin/").text
    assert "بازدیدکنندگان" in dashboard and "پیش‌بینی مشتریان تازه" in dashboard


def test_every_admin_page_stays_english_for_an_english_admin(admin_client, lead):
    for path in admin_pages(lead):
        html = admin_client.get(path).text
        assert '<html lang="en" dir="ltr">' in html, path
        if "country=IR" not in path:  # that preview shows the page's Persian version
            assert not PERSIAN_DIGIT.search(html.split("<main", 1)[1]), path
        assert ">Dashboard<" in html and ">Sign out<" in html, path


def test_numbers_and_percentages_are_persian(persian_admin, lead):
    leads = persian_admin.get("/p/admin/leads").text
    assert '<p class="count">۱ سرنخ</p>' in leads
    dashboard = persian_admin.get("/p/admin/?period=this_year").text
    assert re.search(r"٪", dashboard)
    assert not re.search(r">[^<>]*\d%[^<>]*<", dashboard)


class TestAPersianAdminOfAPersianCalendarReport:
    @pytest.fixture
    def app(self, tmp_path):
        from conftest import make_app

        from landing import funnel

        app = make_app(
            tmp_path, FUNNEL_REPORT_CALENDAR="persian", FUNNEL_REPORT_TIMEZONE="Asia/Tehran"
        )
        yield app
        with app.app_context():
            funnel.db.engine.dispose()

    def test_months_are_named_in_persian_with_persian_digits(self, persian_admin):
        html = persian_admin.get("/p/admin/?start=2026-03-21&end=2026-04-20").text
        assert "فروردین ۱۴۰۵" in html
        assert "Farvardin" not in html and "Esfand" not in html


def test_form_errors_are_persian(persian_admin, lead):
    page = persian_admin.get(f"/p/admin/leads/{lead}").text
    token = hidden_fields(page)["csrf_token"]
    response = persian_admin.post(
        f"/p/admin/leads/{lead}/follow-up", data={"csrf_token": token, "note": "x"}
    )
    assert response.status_code == 422
    assert "یک تاریخ انتخاب کنید." in response.text
    response = persian_admin.post(
        f"/p/admin/leads/{lead}/stage", data={"csrf_token": token, "stage": "mql"}
    )
    assert response.status_code == 422
    assert "This field is required." not in response.text
    assert "انتقال به" in response.text  # the label
    report = persian_admin.get("/p/admin/?period=custom&start=2026-05-01&end=2026-04-01").text
    assert "پایان پیش از آغاز است." in report


def test_lead_data_is_isolated_from_the_page_direction(persian_admin, lead):
    html = persian_admin.get("/p/admin/leads").text
    assert "<bdi>sara@example.com</bdi>" in html
    assert "<bdi>سارا رضایی</bdi>" in html


def _now():
    from flask_funnel.db.types import utcnow

    return utcnow()
