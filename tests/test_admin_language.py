"""The admin area in the admin's own language: the header's switch, kept per admin, and
every admin page in Persian (right to left, Persian digits) once chosen."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Visitor, flush_visits, hidden_fields, page_text
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
        f"/p/admin/leads/{lead}", data={"intent": "follow-up", "csrf_token": token, "note": "x"}
    )
    assert response.status_code == 422
    assert "یک تاریخ انتخاب کنید." in response.text
    response = persian_admin.post(
        f"/p/admin/leads/{lead}", data={"intent": "stage", "csrf_token": token, "stage": "mql"}
    )
    assert response.status_code == 422
    assert "This field is required." not in response.text
    assert "انتقال به" in response.text  # the label
    report = persian_admin.get("/p/admin/?period=custom&start=2026-05-01&end=2026-04-01").text
    assert "پایان پیش از آغاز است." in report


def test_lead_data_is_isolated_from_the_page_direction(persian_admin, lead):
    html = page_text(persian_admin.get("/p/admin/leads"))
    assert "<bdi>sara@example.com</bdi>" in html
    assert "<bdi>سارا رضایی</bdi>" in html


def _now():
    from flask_funnel.db.types import utcnow

    return utcnow()


# --- the charts -----------------------------------------------------------------------

SVG = re.compile(r"<svg .*?</svg>", re.DOTALL)


def svg_texts(svg: str) -> list[str]:
    """The text of every label, hover title and ``<desc>`` of an SVG chart."""
    root = ET.fromstring(svg)
    return [
        "".join(el.itertext())
        for el in root.iter()
        if el.tag.rsplit("}", 1)[-1] in ("text", "title", "desc")
    ]


def test_the_dashboard_charts_speak_persian(persian_admin, lead):
    Visitor(persian_admin).land()
    flush_visits(persian_admin)
    html = persian_admin.get("/p/admin/").text
    charts = SVG.findall(html)
    assert len(charts) == 7  # the funnel and a sparkline per stage
    for svg in charts:
        assert 'direction="rtl"' in svg.split(">", 1)[0]
        for text in svg_texts(svg):
            assert not re.search("[0-9%]", text), text
            assert not re.search("of first|Values|No data|partial", text), text
    funnel = charts[0]
    assert "<title>بازدیدکنندگان: ۱ (۱۰۰٪ از گام نخست)</title>" in funnel
    assert "سرنخ: ۱ (۱۰۰٪ از گام نخست)" in funnel
    assert "مقدارها، از نخستین تا واپسین: " in charts[1]


def test_the_dashboard_charts_stay_english_for_an_english_admin(admin_client, lead):
    Visitor(admin_client).land()
    flush_visits(admin_client)
    charts = SVG.findall(admin_client.get("/p/admin/").text)
    assert "direction" not in charts[0].split(">", 1)[0]
    assert "<title>visitors: 1 (100% of first)</title>" in charts[0]
    assert "Values, first to last: " in charts[1]


def test_the_quiz_steps_chart_and_table_speak_persian(persian_admin, lead):
    html = persian_admin.get("/p/admin/pages/home-brewing").text
    [chart] = SVG.findall(html)
    assert 'direction="rtl"' in chart.split(">", 1)[0]
    texts = svg_texts(chart)
    for step in ("صفحهٔ ورود", "پرسش ۱: ", "گام اطلاعات تماس", "فرستاده‌شده"):
        assert any(step in text for text in texts), step
        assert f"<bdi>{step}" in html, step  # the table beside it
    assert not any(re.search("[0-9]|Landing page|Question|Contact step", t) for t in texts)
    # The page's own (English) question is isolated, so its "?" stays at its end.
    assert "پرسش ۱: \u2068How do you like your coffee?\u2069</bdi>" in html


def test_the_quiz_steps_stay_english_for_an_english_admin(admin_client, lead):
    html = admin_client.get("/p/admin/pages/home-brewing").text
    assert "<bdi>Landing page</bdi>" in html and "<bdi>Question 1: " in html


# --- messages that were still English --------------------------------------------------


def lead_form(client, lead_id: int, action: str, **data):
    token = hidden_fields(client.get(f"/p/admin/leads/{lead_id}").text)["csrf_token"]
    return client.post(
        f"/p/admin/leads/{lead_id}", data={"intent": action, "csrf_token": token, **data}
    )


@pytest.mark.parametrize(
    ("amount", "currency", "persian", "english"),
    [
        ("abc", "EUR", "«abc» عدد نیست.", "is not a number"),
        ("-5", "EUR", "مبلغ باید بیشتر از صفر باشد.", "must be a positive amount"),
        ("1.234", "EUR", "مبلغ بیش از دو رقم اعشار دارد.", "has more than two decimal places"),
        ("10", "EURO", "«EURO» کد سه‌حرفی واحد پول نیست.", "is not a three-letter currency code"),
    ],
)
def test_purchase_errors_are_persian(admin_client, lead, amount, currency, persian, english):
    response = lead_form(admin_client, lead, "purchase", amount=amount, currency=currency)
    assert response.status_code == 422 and english in response.text
    choose(admin_client, "fa")
    response = lead_form(admin_client, lead, "purchase", amount=amount, currency=currency)
    assert response.status_code == 422
    assert persian in response.text and english not in response.text


def test_every_refusal_of_a_note_has_persian_words(app):
    from flask_funnel.i18n.messages import translate
    from flask_funnel.leads.notes import NOTE_MAX, add_note
    from flask_funnel.values import FieldError
    from flask_funnel.views.admin.leads import REFUSALS

    for body in (" \n ", "x" * (NOTE_MAX + 1)):
        with pytest.raises(FieldError) as refused:
            add_note(app.extensions["funnel"].engine, 1, "someone", body)
        message = REFUSALS[(refused.value.field, refused.value.code)]
        assert translate("fa", message) != message


def test_stage_reasons_the_funnel_wrote_are_persian_and_typed_ones_stay(persian_admin, lead):
    lead_form(persian_admin, lead, "purchase", amount="49", currency="EUR", reference="ORDER-1")
    lead_form(persian_admin, lead, "stage", stage="sal", reason="purchase 12 on the phone")
    html = persian_admin.get(f"/p/admin/leads/{lead}").text
    history = html.split("تاریخچهٔ مراحل", 1)[1].split("</table>", 1)[0]
    assert "<bdi>آزمونک در صفحهٔ home-brewing</bdi>" in history
    assert "<bdi>امتیاز آزمونک ۷ به آستانهٔ ۷ رسید، در صفحهٔ home-brewing</bdi>" in history
    assert "<bdi>خرید \u2068ORDER-1\u2069</bdi>" in history  # the reference isolated
    assert "<bdi>سامانه</bdi>" in history and ">system<" not in history
    # What an admin typed stays as typed, even when it reads like the funnel's own words.
    assert "<bdi>purchase 12 on the phone</bdi>" in history
    assert "quiz on page" not in history and "quiz score" not in history


def test_stage_reasons_stay_english_for_an_english_admin(admin_client, lead):
    html = admin_client.get(f"/p/admin/leads/{lead}").text
    assert "<bdi>quiz on page home-brewing</bdi>" in html
    assert "<bdi>quiz score 7 reached 7 on page home-brewing</bdi>" in html
    assert "<bdi>system</bdi>" in html


def comparisons() -> list[dict]:
    """A/B comparisons of every kind of verdict."""
    from dataclasses import asdict

    from flask_funnel.analytics.significance import Arm, compare

    return [
        asdict(compare(arms))
        for arms in (
            [Arm("a", 1000, 50), Arm("b", 1000, 90)],  # b converts better
            [Arm("a", 1000, 50), Arm("b", 1000, 52), Arm("c", 1000, 95)],  # c converts best
            [Arm("a", 1000, 50), Arm("b", 1000, 50)],  # no difference, with a p
            [Arm("a", 300, 15), Arm("b", 300, 20)],  # not enough data: how many more
            [Arm("a", 0, 0), Arm("b", 10, 1)],  # not enough data, no estimate
        )
    ]


def test_the_ab_verdict_says_in_persian_all_the_english_says():
    from flask_funnel.views.admin.locale import verdict

    found = []
    for comparison in comparisons():
        english, persian = verdict("en", comparison), verdict("fa", comparison)
        found.append(comparison["verdict"])
        assert english == comparison["message"]
        assert not re.search("[0-9]", persian), persian
        # Every number of the English (p-values, visitors needed) is in the Persian too.
        for figure in re.findall(r"[0-9][0-9,.]*[0-9]|[0-9]", english):
            persian_figure = figure.translate(str.maketrans("0123456789,.", "۰۱۲۳۴۵۶۷۸۹٬٫"))
            assert persian_figure in persian, (english, persian)
        if comparison["best"] and comparison["verdict"] == "better":
            assert comparison["best"] in persian
    assert found == ["better", "better", "no_difference", "not_enough_data", "not_enough_data"]
    better, best, same, more, unknown = (verdict("fa", c) for c in comparisons())
    assert better.startswith("نسخهٔ b بهتر تبدیل می‌کند (p ")
    assert best.startswith("نسخهٔ c از همه بهتر تبدیل می‌کند (p ")
    assert same == "هنوز تفاوتی نیست (p = ۱)"
    assert "بازدیدکنندهٔ دیگر لازم است" in more and unknown == "هنوز دادهٔ کافی نیست"


def test_the_ab_test_is_named_in_persian(persian_admin, lead):
    html = persian_admin.get("/p/admin/pages/home-brewing").text
    assert "<bdi>آزمون z دو نسبت</bdi>" in html and "z-test" not in html


# --- the sign-in page -------------------------------------------------------------------

PREFERS_PERSIAN = {"Accept-Language": "fa-IR,fa;q=0.9,en-US;q=0.8,en;q=0.7"}
PREFERS_ENGLISH = {"Accept-Language": "en-US,en;q=0.9,fa;q=0.8"}


@pytest.mark.parametrize(
    ("headers", "persian"),
    [
        (PREFERS_PERSIAN, True),
        ({"Accept-Language": "fa"}, True),
        ({"Accept-Language": "de-DE,de;q=0.9,fa;q=0.5,en;q=0.4"}, True),
        (PREFERS_ENGLISH, False),
        ({"Accept-Language": "de-DE,de;q=0.9"}, False),
        ({}, False),
    ],
)
def test_the_sign_in_page_follows_the_browsers_language(client, headers, persian):
    html = client.get("/p/admin/sign-in", headers=headers).text
    if persian:
        assert '<html lang="fa" dir="rtl">' in html
        assert ">ورود</h1>" in html and ">گذرواژه</label>" in html and ">ایمیل</label>" in html
        assert ">Password<" not in html and ">Sign in<" not in html
    else:
        assert '<html lang="en" dir="ltr">' in html and ">Password</label>" in html
    # Either way the other language is one button away.
    assert 'name="locale" value="fa"' in html and 'name="locale" value="en"' in html


def test_the_sign_in_page_can_be_switched_to_the_other_language(client):
    page = client.get("/p/admin/sign-in?next=/p/admin/leads", headers=PREFERS_PERSIAN)
    response = client.post(
        "/p/admin/language",
        data={
            "csrf_token": hidden_fields(page.text)["csrf_token"],
            "locale": "en",
            "next": "/p/admin/sign-in?next=/p/admin/leads",
        },
        headers=PREFERS_PERSIAN,
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/p/admin/sign-in?next=/p/admin/leads"
    html = client.get(response.headers["Location"], headers=PREFERS_PERSIAN).text
    assert '<html lang="en" dir="ltr">' in html
    token = hidden_fields(html)["csrf_token"]
    client.post("/p/admin/language", data={"csrf_token": token, "locale": "fa", "next": "/"})
    assert 'lang="fa"' in client.get("/p/admin/sign-in", headers=PREFERS_ENGLISH).text


def test_the_switch_before_sign_in_still_needs_a_csrf_token(client):
    response = client.post("/p/admin/language", data={"locale": "fa"}, headers=PREFERS_ENGLISH)
    assert response.status_code == 400
    assert 'lang="en"' in client.get("/p/admin/sign-in", headers=PREFERS_ENGLISH).text


def sign_in_as(client, password: str, **headers):
    token = hidden_fields(client.get("/p/admin/sign-in", headers=headers).text)["csrf_token"]
    return client.post(
        "/p/admin/sign-in",
        data={"csrf_token": token, "email": ADMIN_EMAIL, "password": password},
        headers=headers,
    )


class TestAPausedSignInInPersian:
    @pytest.fixture
    def app(self, tmp_path):
        from conftest import make_app

        from landing import funnel

        app = make_app(tmp_path, FUNNEL_ADMIN_MAX_FAILURES=2)
        yield app
        with app.app_context():
            funnel.db.engine.dispose()

    def test_sign_in_errors_and_the_pause_are_persian(self, app, client):
        from flask_funnel.auth import accounts

        accounts.create_admin(app.extensions["funnel"].engine, ADMIN_EMAIL, ADMIN_PASSWORD)
        token = hidden_fields(client.get("/p/admin/sign-in").text)["csrf_token"]
        empty = client.post("/p/admin/sign-in", data={"csrf_token": token}, headers=PREFERS_PERSIAN)
        assert empty.status_code == 422
        assert "این فیلد اجباریست." in empty.text and "This field is required." not in empty.text
        for _ in range(2):
            wrong = sign_in_as(client, "guess guess guess", **PREFERS_PERSIAN)
            assert wrong.status_code == 401 and "ایمیل یا گذرواژه نادرست است." in wrong.text
        paused = sign_in_as(client, ADMIN_PASSWORD, **PREFERS_PERSIAN)
        assert paused.status_code == 429 and '<html lang="fa" dir="rtl">' in paused.text
        assert "تلاش‌های بیش از اندازه" in paused.text
        assert "ورود تا ۱۵ دقیقه متوقف است" in paused.text  # FUNNEL_ADMIN_FAILURE_WINDOW_MINUTES
        assert "Too many attempts" not in paused.text


def test_google_sign_in_errors_on_the_sign_in_page_are_persian(client):
    html = client.get("/p/admin/sign-in?google_error=denied", headers=PREFERS_PERSIAN).text
    assert "ورود با گوگل را لغو کردید." in html
    html = client.get("/p/admin/sign-in?google_error=unverified", headers=PREFERS_ENGLISH).text
    assert "Google has not verified this account&#39;s email" in html


def test_signing_out_says_so_in_the_sign_in_pages_language(persian_admin):
    token = csrf(persian_admin)
    response = persian_admin.post(
        "/p/admin/sign-out", data={"csrf_token": token}, headers=PREFERS_PERSIAN
    )
    html = persian_admin.get(response.headers["Location"], headers=PREFERS_PERSIAN).text
    assert '<html lang="fa" dir="rtl">' in html and "از حساب خود خارج شدید." in html


def test_a_refused_google_account_is_told_in_persian(tmp_path, oidc_provider):
    from conftest import make_app

    from landing import funnel

    app = make_app(tmp_path, **oidc_provider.config(FUNNEL_ADMIN_EMAILS=["boss@shop.example"]))
    try:
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = PREFERS_PERSIAN["Accept-Language"]
        start = client.get("/p/admin/google")
        response = client.get(oidc_provider.choose(start.headers["Location"], "alice"))
        assert response.status_code == 403
        assert '<html lang="fa" dir="rtl">' in response.text
        assert "این حساب گوگل اجازهٔ ورود به بخش مدیریت را ندارد" in response.text
    finally:
        with app.app_context():
            funnel.db.engine.dispose()


# --- place names ----------------------------------------------------------------------


@pytest.fixture
def berliners(db_session):
    """Enough leads from Berlin for a group of their own (``FUNNEL_REPORT_MIN_GROUP``)."""
    from flask_funnel.db.types import utcnow

    now = utcnow()
    db_session.add_all(
        Lead(
            email=f"berlin{n}@example.com",
            stage="lead",
            stage_changed_at=now,
            created_at=now,
            updated_at=now,
            quarantined=False,
            country="DE",
            city="Berlin",
            signup_method="import",
        )
        for n in range(10)
    )
    db_session.commit()


def breakdown_rows(html: str) -> list[str]:
    table = html.split('id="breakdown-heading"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<th scope="row">(.*?)</th>', table)


def test_place_names_follow_the_admins_language(admin_client, berliners):
    assert breakdown_rows(admin_client.get("/p/admin/?by=country").text) == ["Germany (DE)"]
    assert breakdown_rows(admin_client.get("/p/admin/?by=city").text) == ["Berlin, Germany (DE)"]
    choose(admin_client, "fa")
    assert breakdown_rows(admin_client.get("/p/admin/?by=country").text) == ["آلمان (DE)"]
    # The city as stored; its country in Persian.
    assert breakdown_rows(admin_client.get("/p/admin/?by=city").text) == ["Berlin، آلمان (DE)"]
    preview = admin_client.get("/p/admin/preview?page=home-brewing&country=IR").text
    assert "<bdi>IR (ایران)</bdi>" in preview
    assert ">هیچ: خود فایل صفحه</option>" in preview  # the A/B variant select's first choice


def test_other_breakdown_labels_follow_the_admins_language(admin_client, berliners):
    assert breakdown_rows(admin_client.get("/p/admin/?by=signup_method").text) == ["imported"]
    assert breakdown_rows(admin_client.get("/p/admin/?by=variant").text) == ["(unknown) / no test"]
    choose(admin_client, "fa")
    assert breakdown_rows(admin_client.get("/p/admin/?by=signup_method").text) == ["واردشده"]
    assert breakdown_rows(admin_client.get("/p/admin/?by=variant").text) == [
        "(نامعلوم) / بدون آزمون"
    ]
