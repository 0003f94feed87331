"""A/B tests of every part of a page: a variant changes the offer, the questions'
texts and pictures and the consent wording, in every locale; the visitor keeps what
they were shown from the landing page to the result, and the lead records it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import EVERY_PART, Visitor, make_app, parse_page, person
from sqlalchemy import select

from flask_funnel.db.models import Consent, Lead
from flask_funnel.pages.versions import accept_languages, page_version, with_variant


@pytest.fixture
def test_pages(every_part_pages):
    return every_part_pages


@pytest.fixture
def test_app(tmp_path, every_part_pages):
    return make_app(tmp_path, FUNNEL_PAGES_DIR=str(every_part_pages))


def _visitor_of(page, variant_id: str) -> str:
    """A visitor id the page's test draws ``variant_id`` for."""
    return next(vid for n in range(100) if page.variant_for(vid := f"{n:032x}").id == variant_id)


def _browser(app, variant_id: str, language: str = "en"):
    """A person whose visitor id draws ``variant_id``."""
    client = person(app, language)
    page = app.extensions["funnel"].pages.get("home-brewing")
    client.set_cookie("funnel_vid", _visitor_of(page, variant_id))
    return client


def test_a_variant_changes_every_part_of_the_page(test_pages):
    page = parse_page(test_pages, EVERY_PART).page
    b = with_variant(page, "b")
    assert b.variant == "b"
    assert b.hero.headline == "Better coffee at home starts with the right method"
    assert (b.offer.title, b.offer.file, b.offer.button) == (
        "The espresso crib sheet",
        "crib-sheet.pdf",
        "Get the crib sheet",
    )
    assert (b.consent.version, b.consent.purpose) == ("2026-12-b", page.consent.purpose)
    time = b.questions[1]
    assert time.help == "Be honest." and time.text == page.questions[1].text
    weekend = time.choice("weekend")
    assert (weekend.label, weekend.image, weekend.points) == (
        "Only at the weekend, slowly",
        "images/cup-iced.svg",
        page.questions[1].choice("weekend").points,  # the scoring is the page's
    )
    control = with_variant(page, "a")
    assert control.variant == "a" and replace(control, variant=None) == page


def test_the_persian_version_of_a_variant_has_its_texts_and_keeps_its_file(test_pages):
    page = parse_page(test_pages, EVERY_PART).page
    persian = with_variant(page_version(page, None, accept_languages("fa")), "b")
    assert persian.locale == "fa" and persian.variant == "b"
    assert persian.offer.title == "برگهٔ تقلب اسپرسو"
    assert persian.offer.file == "crib-sheet.pdf"  # not a text: the variant's own
    assert persian.consent.version == "2026-12-b-fa"
    assert persian.questions[1].choice("weekend").label == "فقط آخر هفته، با حوصله"
    assert persian.questions[1].choice("weekend").image == "images/cup-iced.svg"
    assert persian.questions[0].help == "فنجانی را بزنید که به فنجان همیشگی‌تان نزدیک‌تر است."


def test_a_visitor_of_variant_b_gets_b_from_landing_to_download(test_app):
    browser = _browser(test_app, "b")
    walker = Visitor(browser)
    assert "Better coffee at home" in walker.land().text
    step2 = walker.step(2, {"style": "black"}, None).text
    assert "Only at the weekend, slowly" in step2 and "Be honest." in step2
    assert "images/cup-iced.svg" in step2 and "images/time-weekend.svg" not in step2
    form = walker.contact_form()
    contact = browser.get(
        "/p/home-brewing/quiz",
        query_string={"step": 4, "started": form["started"], "q_style": "black"}
        | {"q_time": "5min", "q_gear": "grinder"},
    ).text
    assert "Email me the crib sheet and a tip a week." in contact
    done = walker.submit(form, email="bee@example.com")
    assert done.status_code == 303
    thanks = browser.get(done.location).text
    assert "The espresso crib sheet" in thanks and "Get the crib sheet" in thanks
    with browser.get(done.location.replace("/thanks/", "/offer/")) as offer:
        assert offer.data == b"%PDF-1.4 crib sheet"
    engine = test_app.extensions["funnel"].engine
    with engine.connect() as connection:
        lead = connection.execute(select(Lead.variant, Lead.id)).one()
        consent = connection.execute(select(Consent.text_version, Consent.text)).one()
    assert lead.variant == "b"
    assert consent == ("2026-12-b", "Email me the crib sheet and a tip a week.")


def test_the_result_link_keeps_the_variant_in_another_browser(test_app):
    browser = _browser(test_app, "b")
    done = Visitor(browser).submit(email="cee@example.com")
    elsewhere = _browser(test_app, "a")  # the link opened on another device
    assert "The espresso crib sheet" in elsewhere.get(done.location).text


def test_the_control_keeps_the_page_file_s_own_parts(test_app):
    browser = _browser(test_app, "a")
    done = Visitor(browser).submit(email="dee@example.com")
    thanks = browser.get(done.location).text
    assert "The Home Brewing Guide (PDF)" in thanks and "crib sheet" not in thanks
    with browser.get(done.location.replace("/thanks/", "/offer/")) as offer:
        assert offer.data.startswith(b"%PDF") and b"crib sheet" not in offer.data


def test_the_contact_form_keeps_the_variant_it_was_shown_in(test_app):
    """The form carries its version: a cookie lost between the steps changes nothing."""
    browser = _browser(test_app, "b")
    form = Visitor(browser).contact_form()
    browser.delete_cookie("funnel_vid")
    page = test_app.extensions["funnel"].pages.get("home-brewing")
    browser.set_cookie("funnel_vid", _visitor_of(page, "a"))
    done = Visitor(browser).submit(form, email="eve@example.com")
    assert "The espresso crib sheet" in browser.get(done.location).text
    with test_app.extensions["funnel"].engine.connect() as connection:
        assert connection.execute(select(Lead.variant)).scalar_one() == "b"


def test_a_persian_visitor_of_variant_b_reads_b_in_persian(test_app):
    browser = _browser(test_app, "b", "fa")
    walker = Visitor(browser)
    assert "فنجانی را بزنید که به فنجان همیشگی‌تان نزدیک‌تر است." in walker.step(1).text
    done = walker.submit(email="far@example.com")
    thanks = browser.get(done.location).text
    assert "برگهٔ تقلب اسپرسو" in thanks and 'dir="rtl"' in thanks


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'file = "crib-sheet.pdf"',
            'code = "SAVE10"',
            "variants[2].offer.code: the page's offer is a 'download' one: give file instead",
        ),
        ('file = "crib-sheet.pdf"', 'file = "../secret.pdf"', "variants[2].offer.file: "),
        ('  version = "2026-12-b"\n', "", "variants[2].consent.version: is required"),
        ("[variants.questions.time]", "[variants.questions.tme]", "variants[2].questions.tme"),
        (
            'choices = { weekend = "Only',
            'choices = { weekends = "Only',
            "variants[2].questions.time.choices.weekends: is not a known field",
        ),
        (
            'images = { weekend = "images/cup-iced.svg" }',
            'images = { weekend = "images/none.svg" }',
            "variants[2].questions.time.images.weekend: 'images/none.svg' is not a file",
        ),
        (
            'help = "صادق باشید."\n',
            "",
            "locales.fa.variants.b.questions.time.help: is required",
        ),
        (
            'button = "دریافت برگه"\n',
            "",
            "locales.fa.variants.b.offer.button: is required",
        ),
        (
            '[locales.fa.variants.b.consent]\ntext = "برگه و هفته‌ای یک نکته را ایمیل کنید."\n'
            'version = "2026-12-b-fa"\n',
            "",
            "locales.fa.variants.b.consent: is required",
        ),
    ],
)
def test_a_broken_variant_names_the_file_and_the_field(test_pages, old, new, expected):
    assert old in EVERY_PART
    result = parse_page(test_pages, EVERY_PART.replace(old, new, 1))
    assert result.page is None
    assert any(expected in error for error in result.errors), result.errors


def test_the_admin_previews_each_variant(test_app, sign_in_admin):
    client = sign_in_admin(test_app.test_client())
    response = client.get("/p/admin/preview", query_string={"page": "home-brewing", "variant": "b"})
    assert response.status_code == 200, response.text
    assert "offer.file" in response.text and "crib-sheet.pdf" in response.text
    assert "variants (b)" in response.text
    token = response.text.split("preview=", 1)[1].split('"', 1)[0]
    landing = client.get("/p/home-brewing", query_string={"preview": token})
    assert "Better coffee at home" in landing.text
