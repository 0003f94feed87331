"""Persian pages read right to left, with Persian interface text and digits."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from conftest import Visitor
from flask import render_template_string

from flask_funnel.i18n.messages import (
    DOMAIN,
    SUPPORTED_LOCALES,
    TRANSLATIONS_DIR,
    format_number,
    format_percent,
    text_direction,
    translate,
    translations,
)

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted(TRANSLATIONS_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
# The keywords of the README's `pybabel extract` command.
KEYWORDS = {"t": None, "translate": (2,), "N_": None}

PERSIAN_ANSWERS = {"style": "milk", "time": "10min", "gear": "kettle"}


def test_persian_page_is_right_to_left(client):
    html = client.get("/p/qahve-dam").text
    assert '<html lang="fa" dir="rtl">' in html
    assert "روش دم‌کردن قهوهٔ مخصوص" in html
    assert "۳ پرسش کوتاه" in html


def test_persian_quiz_uses_persian_buttons_progress_and_errors(client):
    visitor = Visitor(client, "qahve-dam")
    step = visitor.step(2, {"style": "milk"})
    assert "پرسش ۲ از ۳" in step.text
    assert ">بعدی<" in step.text and ">قبلی<" in step.text
    missing = visitor.step(2, {})
    assert "لطفاً یک گزینه را انتخاب کنید." in missing.text
    invalid = visitor.submit(visitor.contact_form(PERSIAN_ANSWERS), email="نامعتبر")
    assert "لطفاً یک ایمیل معتبر وارد کنید" in invalid.text


def test_persian_result_shows_the_discount_code(client):
    visitor = Visitor(client, "qahve-dam")
    response = visitor.submit(visitor.contact_form(PERSIAN_ANSWERS))
    html = client.get(response.headers["Location"]).text
    assert "BLOOM15" in html
    assert "شما اهل پوراُور هستید" in html  # 2 + 3 + 1 = 6 points


def test_english_is_the_source_language():
    assert translate("en", "Question {step} of {total}", step=2, total=3) == "Question 2 of 3"
    assert translate("fa", "Question {step} of {total}", step=2, total=3) == "پرسش ۲ از ۳"
    assert translate("en", "Not in any catalogue") == "Not in any catalogue"
    assert text_direction("fa") == "rtl" and text_direction("en") == "ltr"
    assert SUPPORTED_LOCALES == ("en", "fa")


def test_numbers_and_percentages_are_written_the_persian_way():
    assert format_number("fa", 2026) == "۲٬۰۲۶"
    assert format_number("fa", 3) == "۳"
    assert format_number("en", 2026) == "2,026"
    assert format_percent("fa", 0.25) == "۲۵٪"
    assert format_percent("en", 0.25) == "25%"
    # Text filled into a message is the page's own and stays as written.
    assert translate("fa", "Free: {offer}", offer="Guide 2") == "رایگان: Guide 2"


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parent.parent.name)
def test_every_translation_has_the_same_placeholders(path):
    with path.open("rb") as file:
        catalog = read_po(file)
    for message in catalog:
        if message.id:
            assert re.findall(r"{\w+}", message.id) == re.findall(r"{\w+}", message.string), (
                message.id
            )
            assert message.string and not message.fuzzy, message.id


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parent.parent.name)
def test_the_compiled_catalogue_matches_its_source(path):
    """The committed .mo is what `pybabel compile` makes of the .po next to it."""
    with path.open("rb") as file:
        source = read_po(file)
    with path.with_suffix(".mo").open("rb") as file:
        compiled = read_mo(file)
    fresh = BytesIO()
    write_mo(fresh, source)
    fresh.seek(0)
    expected = read_mo(fresh)
    assert {m.id: m.string for m in compiled if m.id} == {m.id: m.string for m in expected if m.id}
    assert len(list(compiled)) == len(list(expected))


def test_the_catalogues_hold_every_message_the_code_marks():
    """What the README's `pybabel extract` finds is what each catalogue translates."""
    with (ROOT / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file)
    marked = {
        message
        for _, _, message, *_ in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS
        )
    }
    for path in CATALOGUES:
        with path.open("rb") as file:
            translated = {m.id for m in read_po(file) if m.id}
        assert marked == translated, path


def test_the_runtime_loads_the_compiled_catalogue_of_the_package():
    catalogue = translations("fa")
    assert isinstance(catalogue, Translations)
    assert Path(catalogue.files[0]) == TRANSLATIONS_DIR / "fa" / "LC_MESSAGES" / f"{DOMAIN}.mo"


def test_funnel_pages_are_translated_when_the_host_has_no_babel(app, client):
    assert "babel" not in app.extensions
    step = Visitor(client, "qahve-dam").step(2, {"style": "milk"})
    assert "پرسش ۲ از ۳" in step.text and ">بعدی<" in step.text


def test_a_host_with_its_own_babel_keeps_its_domain_and_locale(app, client, tmp_path):
    from flask_babel import Babel, get_locale, gettext

    host_catalog = Catalog(locale="de", domain="messages")
    host_catalog.add("Next", "Weiter")
    (tmp_path / "de" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "de" / "LC_MESSAGES" / "messages.mo").open("wb") as file:
        write_mo(file, host_catalog)
    Babel(app, locale_selector=lambda: "de", default_translation_directories=str(tmp_path))

    @app.route("/host-page")
    def host_page():
        return render_template_string("{{ _('Next') }}|{{ locale }}", locale=get_locale())

    @app.route("/host-text")
    def host_text():
        return gettext("Next")

    assert client.get("/host-page").text == "Weiter|de"
    assert client.get("/host-text").text == "Weiter"
    persian = Visitor(client, "qahve-dam").step(2, {"style": "milk"})
    assert "پرسش ۲ از ۳" in persian.text and ">بعدی<" in persian.text
    english = Visitor(client, "home-brewing").step(2, {"style": "black"})
    assert ">Next<" in english.text and "Weiter" not in english.text
    assert client.get("/host-page").text == "Weiter|de"
