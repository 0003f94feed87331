"""Persian pages read right to left, with Persian interface text and digits."""

from __future__ import annotations

from conftest import Visitor

from flask_funnel.i18n.messages import localize_digits, text_direction, translate

PERSIAN_ANSWERS = {"style": "milk", "time": "10min", "gear": "kettle"}


def test_persian_page_is_right_to_left(client):
    html = client.get("/p/qahve-dam").text
    assert '<html lang="fa" dir="rtl">' in html
    assert "روش دم‌کردن قهوهٔ مخصوص" in html
    assert "۳ پرسش کوتاه" in html


def test_persian_quiz_uses_persian_buttons_progress_and_errors(client):
    visitor = Visitor(client, "qahve-dam")
    step = visitor.step(2, {"style": "milk"})
    assert "مرحلهٔ ۲ از ۴" in step.text
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
    assert translate("en", "Step {step} of {total}", step=2, total=4) == "Step 2 of 4"
    assert translate("fa", "Step {step} of {total}", step=2, total=4) == "مرحلهٔ ۲ از ۴"
    assert localize_digits("fa", 2026) == "۲۰۲۶"
    assert text_direction("fa") == "rtl" and text_direction("en") == "ltr"


def test_every_persian_translation_has_the_same_placeholders():
    import re
    import tomllib
    from pathlib import Path

    import flask_funnel

    catalog = Path(flask_funnel.__file__).parent / "i18n" / "translations" / "fa.toml"
    for source, target in tomllib.loads(catalog.read_text("utf-8")).items():
        assert re.findall(r"{\w+}", source) == re.findall(r"{\w+}", target), source
