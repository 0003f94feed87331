"""The dashboard's SVG charts: well-formed, accessible, escaped and robust to odd data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from flask_funnel.analytics.charts import bar_chart, funnel_chart, sparkline

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script>"
QUOTES = "\"&'"
FUNNEL = [
    ("Visitors", 120000),
    ("lead", 32000),
    ("mql", 1600),
    ("sal", 800),
    ("sql", 400),
    ("customer", 100),
    ("repeat_customer", 30),
]


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    root = ET.fromstring(str(svg))
    assert root.tag == f"{SVG}svg"
    return root


def check_accessible(root: ET.Element, chart_id: str, title: str) -> str:
    """Assert the text alternative is wired up; return the ``<desc>`` text."""
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert root.get("height") is None
    assert root.get("viewBox")
    assert root.get("style") is None
    assert root.get("aria-labelledby") == f"{chart_id}-title {chart_id}-desc"
    title_el = root.find(f"{SVG}title")
    desc_el = root.find(f"{SVG}desc")
    assert title_el is not None and title_el.get("id") == f"{chart_id}-title"
    assert title_el.text == title
    assert desc_el is not None and desc_el.get("id") == f"{chart_id}-desc"
    # The CSP forbids inline styles: neither attributes nor <style> elements.
    assert not any(el.get("style") is not None for el in root.iter())
    assert root.find(f".//{SVG}style") is None
    return desc_el.text or ""


def bar_rects(root: ET.Element) -> list[ET.Element]:
    return [g.find(f"{SVG}rect") for g in root.iter(f"{SVG}g")]


def all_text(root: ET.Element) -> str:
    return " ".join("".join(el.itertext()) for el in root)


def test_funnel_is_accessible_and_describes_every_step():
    root = parse(funnel_chart(FUNNEL, chart_id="funnel", title="Lead funnel"))
    desc = check_accessible(root, "funnel", "Lead funnel")
    assert "Visitors: 120,000 (100% of first)" in desc
    assert "lead: 32,000 (26.7% of first)" in desc
    assert "repeat_customer: 30 (0.025% of first)" in desc
    for label, count in FUNNEL:
        assert f"{label}: {count:,}" in desc
    assert "120,000" in all_text(root)


def test_funnel_widths_are_monotone_with_a_minimum():
    root = parse(funnel_chart(FUNNEL, chart_id="f", title="t"))
    widths = [float(rect.get("width")) for rect in bar_rects(root)]
    assert len(widths) == len(FUNNEL)
    assert widths == sorted(widths, reverse=True)
    full = widths[0]
    assert widths[1] == pytest.approx(full * 32000 / 120000, abs=0.02)
    # 1600 / 120000 is 1.3%, 30 / 120000 is 0.025%: both are drawn at 3% of the full width.
    for width in widths[2:]:
        assert width == pytest.approx(full * 0.03, abs=0.02)
    assert all(width >= full * 0.03 - 0.01 for width in widths)
    # The bars are centered on the same axis, and joined by one trapezoid per gap.
    centers = {round(float(r.get("x")) + float(r.get("width")) / 2, 1) for r in bar_rects(root)}
    assert len(centers) == 1
    assert len(root.findall(f"{SVG}polygon")) == len(FUNNEL) - 1


def test_funnel_zero_counts_and_empty():
    root = parse(funnel_chart([("a", 100), ("b", 0)], chart_id="z", title="t"))
    first, stub = bar_rects(root)
    assert float(stub.get("width")) == pytest.approx(float(first.get("width")) * 0.03, abs=0.02)
    assert stub.get("fill") != first.get("fill")
    root = parse(funnel_chart([("a", 0), ("b", 0)], chart_id="z", title="t"))
    assert len(bar_rects(root)) == 2
    root = parse(funnel_chart([("a", 0), ("b", 5)], chart_id="z", title="t"))
    assert "b: 5" in check_accessible(root, "z", "t")
    root = parse(funnel_chart([], chart_id="z", title="t"))
    assert "No data" in check_accessible(root, "z", "t")
    assert "No data" in all_text(root)
    parse(funnel_chart([("only", 7)], chart_id="z", title="t"))


def test_sparkline_partial_last_segment_is_dashed():
    values = list(range(10, 34))
    root = parse(sparkline(values, chart_id="s", title="Leads", partial_last=True))
    desc = check_accessible(root, "s", "Leads")
    assert "10" in desc and "33" in desc and "partial" in desc
    dashed = [el for el in root.iter() if el.get("stroke-dasharray")]
    assert len(dashed) == 1
    assert dashed[0].get("stroke") == "#8a9097"
    # The dashed part is exactly the last segment, ending at the dot.
    points = dashed[0].get("points").split()
    assert len(points) == 2
    dot = root.find(f"{SVG}circle")
    assert points[-1] == f"{dot.get('cx')},{dot.get('cy')}"
    root = parse(sparkline(values, chart_id="s", title="Leads"))
    assert "partial" not in check_accessible(root, "s", "Leads")
    assert not [el for el in root.iter() if el.get("stroke-dasharray")]
    assert root.find(f"{SVG}circle") is not None


@pytest.mark.parametrize("values", [[0] * 12, [5], [0], [3, 3, 3], [], [1.5, 2.25], [1_250_000, 0]])
@pytest.mark.parametrize("partial", [False, True])
def test_sparkline_degenerate_input(values, partial):
    root = parse(sparkline(values, chart_id="s", title="t", partial_last=partial))
    desc = check_accessible(root, "s", "t")
    for value in values:
        assert f"{value:,}" in desc
    if len(set(values)) == 1:  # a flat line
        ys = {p.split(",")[1] for el in root.iter() for p in (el.get("points") or "").split()}
        assert len(ys) == 1


def test_bar_chart_rows_and_truncation():
    long_label = "How many cups of coffee do you drink on a normal working day?"
    rows = [("Question 1", 950, "950 (95%)"), (long_label, 400, "400 (40%)"), ("Zero", 0, "0")]
    root = parse(bar_chart(rows, chart_id="b", title="Answers"))
    desc = check_accessible(root, "b", "Answers")
    assert "Question 1: 950 (95%)" in desc and long_label in desc
    groups = list(root.iter(f"{SVG}g"))
    assert len(groups) == 3
    shown = groups[1].findall(f"{SVG}text")[0].text
    assert len(shown) <= 26 and shown.endswith("…")
    assert long_label in groups[1].find(f"{SVG}title").text
    widths = [float(rect.get("width")) for rect in bar_rects(root)]
    assert widths[1] == pytest.approx(widths[0] * 400 / 950, abs=0.02)
    assert widths[2] == 0
    # An explicit maximum scales the bars down.
    root = parse(bar_chart(rows, chart_id="b", title="Answers", max_value=1900))
    assert float(bar_rects(root)[0].get("width")) == pytest.approx(widths[0] / 2, abs=0.02)


def test_bar_chart_empty_and_zero_max():
    root = parse(bar_chart([], chart_id="b", title="t"))
    assert "No data" in check_accessible(root, "b", "t") and "No data" in all_text(root)
    root = parse(bar_chart([("a", 0, "0"), ("b", 0, "0")], chart_id="b", title="t"))
    assert all(float(r.get("width")) == 0 for r in bar_rects(root))
    parse(bar_chart([("a", 1, "1")], chart_id="b", title="t", max_value=0))


@pytest.mark.parametrize("hostile", [HOSTILE, QUOTES, f"{HOSTILE}{QUOTES}\x00\x0b"])
def test_hostile_text_is_escaped(hostile):
    charts = [
        funnel_chart([(hostile, 10), ("b", 5)], chart_id="f", title=hostile),
        sparkline([1, 2], chart_id="s", title=hostile),
        bar_chart([(hostile, 3, hostile)], chart_id="b", title=hostile),
    ]
    for svg in charts:
        assert "<script" not in svg
        root = parse(svg)  # parses: the quotes and ampersand are entities
        assert root.find(f"{SVG}title").text == hostile.replace("\x00", "").replace("\x0b", "")
        assert not list(root.iter(f"{SVG}script"))


@pytest.mark.parametrize("bad_id", ["", "a b", 'x"y', "1st", "<x>"])
def test_chart_id_must_be_an_identifier(bad_id):
    with pytest.raises(ValueError):
        sparkline([1], chart_id=bad_id, title="t")


def test_clip_path_ids_are_prefixed():
    one = parse(bar_chart([("a", 1, "1")], chart_id="one", title="t"))
    two = parse(funnel_chart([("a", 1)], chart_id="two", title="t"))
    ids = [el.get("id") for root in (one, two) for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids))
    assert all(i.startswith(("one-", "two-")) for i in ids)


# --- in the admin's language ----------------------------------------------------------

PERSIAN_FUNNEL = [("بازدیدکنندگان", 120000), ("سرنخ", 32000), ("مشتری تکراری", 30)]


TEXTS = {"text", "title", "desc"}


def texts(root: ET.Element) -> list[str]:
    """Every piece of text a person can see or hear: labels, hover titles, ``<desc>``."""
    return ["".join(el.itertext()) for el in root.iter() if el.tag.split("}")[1] in TEXTS]


def test_a_persian_funnel_has_persian_numbers_words_and_hover_texts():
    root = parse(funnel_chart(PERSIAN_FUNNEL, chart_id="f", title="قیف", locale="fa"))
    desc = check_accessible(root, "f", "قیف")
    assert desc == (
        "بازدیدکنندگان: ۱۲۰٬۰۰۰ (۱۰۰٪ از گام نخست)؛ سرنخ: ۳۲٬۰۰۰ (۲۶٫۷٪ از گام نخست)؛ "
        "مشتری تکراری: ۳۰ (۰٫۰۲۵٪ از گام نخست)."
    )
    hover = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")]
    assert hover[1] == "سرنخ: ۳۲٬۰۰۰ (۲۶٫۷٪ از گام نخست)"
    assert not any(re.search("[0-9%]", text) for text in texts(root))
    zero = parse(funnel_chart([("a", 0), ("b", 5)], chart_id="z", title="t", locale="fa"))
    assert "b: ۵ (گام نخست صفر است)" in check_accessible(zero, "z", "t")
    empty = parse(funnel_chart([], chart_id="z", title="t", locale="fa"))
    assert check_accessible(empty, "z", "t") == "داده‌ای نیست"


def test_a_persian_funnel_is_mirrored_right_to_left():
    english = parse(funnel_chart(PERSIAN_FUNNEL, chart_id="f", title="t"))
    persian = parse(funnel_chart(PERSIAN_FUNNEL, chart_id="f", title="t", locale="fa"))
    assert english.get("direction") is None and persian.get("direction") == "rtl"
    for ltr, rtl in zip(bar_rects(english), bar_rects(persian), strict=True):
        assert float(rtl.get("x")) == pytest.approx(
            600 - float(ltr.get("x")) - float(ltr.get("width")), abs=0.02
        )
    # The labels start at the right edge (text-anchor start is the right end right to left),
    # clipped to a label column on the right; the numbers end on the left.
    label, count, share = persian.find(f"{SVG}g").findall(f"{SVG}text")
    assert (label.get("x"), count.get("x"), share.get("x")) == ("600", "78", "0")
    assert persian.find(f".//{SVG}clipPath/{SVG}rect").get("x") == "434"


def test_a_persian_sparkline_describes_itself_in_persian():
    root = parse(
        sparkline([3, 1250, 7.5], chart_id="s", title="سرنخ", partial_last=True, locale="fa")
    )
    assert check_accessible(root, "s", "سرنخ") == (
        "مقدارها، از نخستین تا واپسین: ۳؛ ۱٬۲۵۰؛ ۷٫۵. "
        "مقدار آخر ناقص است: ماه جاری هنوز تمام نشده است."
    )
    # Time runs left to right: the same line as in English.
    english = parse(sparkline([3, 1250, 7.5], chart_id="s", title="t", partial_last=True))
    assert [el.get("points") for el in root.iter(f"{SVG}polyline")] == [
        el.get("points") for el in english.iter(f"{SVG}polyline")
    ]


def test_a_persian_bar_chart_grows_from_the_right():
    rows = [("صفحهٔ ورود", 950, "۹۵۰"), ("پرسش ۱: چقدر قهوه؟", 400, "۴۰۰")]
    english = parse(bar_chart(rows, chart_id="b", title="t"))
    persian = parse(bar_chart(rows, chart_id="b", title="t", locale="fa"))
    assert check_accessible(persian, "b", "t") == "صفحهٔ ورود: ۹۵۰؛ پرسش ۱: چقدر قهوه؟: ۴۰۰."
    for ltr, rtl in zip(bar_rects(english), bar_rects(persian), strict=True):
        assert float(rtl.get("width")) == float(ltr.get("width"))
        assert float(rtl.get("x")) == pytest.approx(
            600 - float(ltr.get("x")) - float(ltr.get("width")), abs=0.02
        )
    label, value = persian.find(f"{SVG}g").findall(f"{SVG}text")
    assert label.get("x") == "600"
    assert float(value.get("x")) == pytest.approx(float(bar_rects(persian)[0].get("x")) - 6)


def test_english_is_the_default_and_unchanged():
    for chart in (
        lambda **kw: funnel_chart(FUNNEL, chart_id="f", title="t", **kw),
        lambda **kw: sparkline([1, 2, 3], chart_id="s", title="t", partial_last=True, **kw),
        lambda **kw: bar_chart([("a", 1, "1 (5%)")], chart_id="b", title="t", **kw),
        lambda **kw: bar_chart([], chart_id="b", title="t", **kw),
    ):
        assert chart(locale="en") == chart()
        assert "direction" not in chart()
