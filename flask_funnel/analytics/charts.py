"""Server-rendered SVG charts for the admin dashboard.

Each chart is one self-contained ``<svg>`` returned as :class:`markupsafe.Markup`: no
JavaScript, no external fonts, no ``style`` attributes or ``<style>`` elements (the admin
pages send ``style-src 'self'``), only presentation attributes. The SVGs scale with their
container (``viewBox`` plus ``width="100%"``) and carry a ``<title>`` and a ``<desc>`` text
alternative. Labels come from visitor data, so every piece of text is escaped.

Each chart speaks the admin's language (``locale``): its own words from the funnel's
catalogue, numbers and percentages formatted by Babel (Persian digits and ``٪``), and in a
right-to-left language the funnel and the bars are mirrored, labels on the right. Callers
pass labels and titles already in that language. In English the output is unchanged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from itertools import pairwise

from markupsafe import Markup, escape

from flask_funnel.i18n.messages import (
    N_,
    SOURCE_LOCALE,
    format_number,
    format_percent,
    text_direction,
    translate,
)

PRIMARY = "#1f5c9e"
LIGHT = "#cfe0f3"
TEXT = "#1f2328"
MUTED = "#5b636b"
PARTIAL = "#8a9097"
BACKGROUND = "#ffffff"
FONT = "system-ui, sans-serif"

_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
# Characters XML 1.0 does not allow (and DEL); an SVG containing them would not parse.
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_CENTRAL = 'dominant-baseline="central"'

# Funnel geometry (viewBox units): label column, centered bar area, count and % columns.
# Main text is 19 units, 11.4 px when the 600-unit chart is shown 360 px wide.
_F_WIDTH, _F_ROW, _F_BAR, _F_PAD, _F_FONT, _F_SMALL = 600, 34, 24, 6, 19, 17
_F_LABEL_W, _F_BAR_X0, _F_BAR_X1, _F_COUNT_X = 166, 176, 420, 522
_F_MIN_FRAC = 0.03
# Bar chart geometry; labels are cut to _B_LIMIT characters (and clipped to their column).
_B_WIDTH, _B_ROW, _B_BAR, _B_PAD, _B_FONT, _B_SMALL = 600, 28, 18, 6, 18, 17
_B_LABEL_W, _B_BAR_X0, _B_LIMIT = 272, 282, 26
# Sparkline geometry: plotting box inside a 120 x 32 viewBox, with room for the end dot.
_S_WIDTH, _S_HEIGHT = 120, 32
_S_LEFT, _S_RIGHT, _S_TOP, _S_BOTTOM = 2.0, 117.0, 3.5, 30.0

_NO_DATA = N_("No data")
#: Between the items a chart's ``<desc>`` lists ("؛ " in Persian).
_SEPARATOR = N_("; ")


def _clean(text: object) -> str:
    """``text`` as one line of XML-safe characters (not yet escaped)."""
    return " ".join(_INVALID.sub("", str(text)).split())


def _short(text: object, limit: int | None = None) -> str:
    """``text`` cleaned and cut to ``limit`` characters, with an ellipsis when longer."""
    value = _clean(text)
    if limit is not None and len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


def _text(text: object, limit: int | None = None) -> Markup:
    return escape(_short(text, limit))


def _finite(value: float) -> float:
    number = float(value)
    return number if math.isfinite(number) else 0.0


def _num(value: float, locale: str = SOURCE_LOCALE) -> str:
    """``value`` with thousands separators, without a pointless ``.0``, in ``locale``."""
    number = _finite(value)
    if locale != SOURCE_LOCALE:
        return format_number(locale, round(number, 2))
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


def _c(value: float) -> str:  # a short coordinate
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _pct(part: float, whole: float, locale: str = SOURCE_LOCALE) -> str:
    if whole <= 0:
        return "–"
    pct = part / whole * 100
    if locale != SOURCE_LOCALE:  # as precise as the English: 0, 1 or 2 significant decimals
        exact = pct == 0 or pct >= 99.95
        decimals = 0 if exact else 1 if pct >= 1 else 1 - math.floor(math.log10(pct))
        return format_percent(locale, part / whole, decimals=decimals)
    if pct == 0 or pct >= 99.95:
        return f"{pct:.0f}%"
    return f"{pct:.1f}%" if pct >= 1 else f"{pct:.2g}%"


def _rtl(locale: str) -> bool:
    return text_direction(locale) == "rtl"


def _joined(locale: str, items: Sequence[str]) -> str:
    return translate(locale, _SEPARATOR).join(items)


def _svg(
    chart_id: str,
    title: str,
    desc: str,
    size: tuple[int, int],
    body: list[str],
    locale: str = SOURCE_LOCALE,
) -> Markup:
    if not _ID.match(chart_id):
        raise ValueError(f"chart_id must be a plain identifier, got {chart_id!r}")
    cid, (width, height) = escape(chart_id), size
    # Right to left, ``text-anchor="start"`` is a text's right end: mirrored coordinates
    # with the same anchors mirror the whole chart, and mixed text reads the right way.
    direction = ' direction="rtl"' if _rtl(locale) else ""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%"'
        f' preserveAspectRatio="xMidYMid meet" role="img" class="funnel-chart"{direction}'
        f' aria-labelledby="{cid}-title {cid}-desc" font-family="{FONT}" fill="{TEXT}">'
        f'<title id="{cid}-title">{_text(title)}</title>'
        f'<desc id="{cid}-desc">{_text(desc)}</desc>'
        f'<rect width="{width}" height="{height}" fill="{BACKGROUND}"/>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - all text is escaped


def _no_data(
    chart_id: str, title: str, size: tuple[int, int], font_size: int, locale: str
) -> Markup:
    width, height, words = *size, translate(locale, _NO_DATA)
    label = (
        f'<text x="{width / 2}" y="{height / 2}" {_CENTRAL} text-anchor="middle"'
        f' font-size="{font_size}" fill="{MUTED}">{escape(words)}</text>'
    )
    return _svg(chart_id, title, words, size, [label], locale)


def _label_clip(chart_id: str, width: int, height: int, x: float = 0) -> str:
    """A clip path keeping the label column's text out of the bars next to it."""
    at = f'x="{_c(x)}" ' if x else ""
    return (
        f'<defs><clipPath id="{escape(chart_id)}-labels">'
        f'<rect {at}width="{width}" height="{height}"/></clipPath></defs>'
    )


def funnel_chart(
    steps: Sequence[tuple[str, int]], *, chart_id: str, title: str, locale: str = SOURCE_LOCALE
) -> Markup:
    """A horizontal funnel, one centered bar per ``(label, count)`` step.

    Bar widths are proportional to ``count / first count`` but never narrower than 3% of the
    bar area, so late stages stay visible; a zero count is a grey stub of that width. Light
    trapezoids join each bar to the next. The count and the share of the first step are shown
    on the right (on the left, labels on the right, in a right-to-left ``locale``); each
    step's ``<title>`` (its hover text) and ``<desc>`` say ``label: count (x% of first)``.
    """
    if not steps:
        return _no_data(chart_id, title, (_F_WIDTH, 60), _F_FONT, locale)
    counts = [max(_finite(count), 0.0) for _, count in steps]
    first = counts[0]
    # A first step of 0 has no meaningful shares; scale to the largest count instead.
    scale = first if first > 0 else max(counts)
    span, center = _F_BAR_X1 - _F_BAR_X0, (_F_BAR_X0 + _F_BAR_X1) / 2
    height = 2 * _F_PAD + len(steps) * _F_ROW - (_F_ROW - _F_BAR)
    bars: list[tuple[float, float, float]] = []  # (left, right, top) of each bar
    for n, count in enumerate(counts):
        half = max(min(count / scale, 1.0) if scale > 0 else 0.0, _F_MIN_FRAC) * span / 2
        bars.append((center - half, center + half, _F_PAD + n * _F_ROW))
    rtl = _rtl(locale)

    def x(at: float) -> str:  # mirrored right to left
        return _c(_F_WIDTH - at if rtl else at)

    clip_x = _F_WIDTH - _F_LABEL_W if rtl else 0
    body = [_label_clip(chart_id, _F_LABEL_W, height, clip_x)]
    for (left, right, top), (next_left, next_right, next_top) in pairwise(bars):
        bottom = top + _F_BAR
        points = f"{x(left)},{bottom} {x(right)},{bottom} {x(next_right)},{next_top}"
        body.append(f'<polygon points="{points} {x(next_left)},{next_top}" fill="{LIGHT}"/>')
    described = []
    for (label, _), count, (left, right, top) in zip(steps, counts, bars, strict=True):
        share, middle = _pct(count, first, locale), _c(top + _F_BAR / 2)
        values = {"label": _clean(label), "count": _num(count, locale), "share": share}
        if first > 0:
            described.append(translate(locale, N_("{label}: {count} ({share} of first)"), **values))
        else:
            described.append(translate(locale, N_("{label}: {count} (first step is 0)"), **values))
        body.append(
            f"<g><title>{_text(described[-1])}</title>"
            f'<text x="{x(0)}" y="{middle}" {_CENTRAL} font-size="{_F_FONT}"'
            f' clip-path="url(#{escape(chart_id)}-labels)">{_text(label, 16)}</text>'
            f'<rect x="{x(right if rtl else left)}" y="{top}" width="{_c(right - left)}"'
            f' height="{_F_BAR}" rx="3" fill="{PRIMARY if count > 0 else PARTIAL}"/>'
            f'<text x="{x(_F_COUNT_X)}" y="{middle}" {_CENTRAL} text-anchor="end"'
            f' font-size="{_F_FONT}" font-weight="600">{_num(count, locale)}</text>'
            f'<text x="{x(_F_WIDTH)}" y="{middle}" {_CENTRAL} text-anchor="end"'
            f' font-size="{_F_SMALL}" fill="{MUTED}">{share}</text></g>'
        )
    return _svg(chart_id, title, _joined(locale, described) + ".", (_F_WIDTH, height), body, locale)


def sparkline(
    values: Sequence[int | float],
    *,
    chart_id: str,
    title: str,
    partial_last: bool = False,
    locale: str = SOURCE_LOCALE,
) -> Markup:
    """A small trend line (viewBox 120 x 32) over ``values``, first to last.

    The line is drawn over a light area from zero, with a dot on the last point. With
    ``partial_last`` the last segment is dashed grey: the running month is incomplete. A
    single value or all zeros draw a flat line; ``<desc>`` lists the values. Time runs left
    to right in every ``locale``, as on the axes of Persian charts too.
    """
    size = (_S_WIDTH, _S_HEIGHT)
    if not values:
        return _no_data(chart_id, title, size, 10, locale)
    numbers = [_finite(v) for v in values]
    low, high = min(0.0, *numbers), max(numbers)

    def y(value: float) -> float:
        if high == low:
            return _S_BOTTOM
        return _S_BOTTOM - (value - low) / (high - low) * (_S_BOTTOM - _S_TOP)

    if len(numbers) == 1:
        points = [(_S_LEFT, y(numbers[0])), (_S_RIGHT, y(numbers[0]))]
    else:
        step = (_S_RIGHT - _S_LEFT) / (len(numbers) - 1)
        points = [(_S_LEFT + n * step, y(v)) for n, v in enumerate(numbers)]
    coords = [f"{_c(px)},{_c(py)}" for px, py in points]
    base = _c(y(0.0))
    area = f"M{_c(_S_LEFT)},{base} L{' L'.join(coords)} L{_c(_S_RIGHT)},{base} Z"
    line = 'fill="none" stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round"'
    solid = coords[:-1] if partial_last else coords
    body = [f'<path d="{area}" fill="{LIGHT}"/>']
    if len(solid) > 1:
        body.append(f'<polyline points="{" ".join(solid)}" stroke="{PRIMARY}" {line}/>')
    if partial_last:
        body.append(
            f'<polyline points="{" ".join(coords[-2:])}" stroke="{PARTIAL}"'
            f' stroke-dasharray="3 2" {line}/>'
        )
    last_x, last_y = points[-1]
    body.append(
        f'<circle cx="{_c(last_x)}" cy="{_c(last_y)}" r="2.2"'
        f' fill="{PARTIAL if partial_last else PRIMARY}"/>'
    )
    shown = _joined(locale, [_num(v, locale) for v in numbers])
    desc = translate(locale, N_("Values, first to last: {values}."), values=shown)
    if partial_last:
        desc += " " + translate(
            locale, N_("The last value is partial: the running month is incomplete.")
        )
    return _svg(chart_id, title, desc, size, body, locale)


def bar_chart(
    rows: Sequence[tuple[str, float, str]],
    *,
    chart_id: str,
    title: str,
    max_value: float | None = None,
    locale: str = SOURCE_LOCALE,
) -> Markup:
    """Horizontal bars, one per ``(label, value, value_text)`` row.

    Bars are scaled to ``max_value`` (default: the largest value); ``value_text`` (in
    ``locale`` already) is written at the end of each bar. Labels longer than 26 characters
    are cut with an ellipsis; the full label stays in the row's ``<title>`` (shown on hover)
    and in ``<desc>``. Without rows the chart says "No data". Right to left, the labels are
    on the right and the bars grow to the left.
    """
    if not rows:
        return _no_data(chart_id, title, (_B_WIDTH, 60), _B_FONT, locale)
    values = [max(_finite(value), 0.0) for _, value, _ in rows]
    scale = max(_finite(max_value), 0.0) if max_value is not None else max(values)
    texts = [_short(value_text, 24) for _, _, value_text in rows]
    # Keep room right of the longest bar for its value text (digits are about 0.6 em wide).
    reserve = 12 + 0.6 * _B_SMALL * max(len(text) for text in texts)
    span = _B_WIDTH - _B_BAR_X0 - reserve
    height = 2 * _B_PAD + len(rows) * _B_ROW
    rtl = _rtl(locale)

    def x(at: float) -> str:  # mirrored right to left
        return _c(_B_WIDTH - at if rtl else at)

    body = [_label_clip(chart_id, _B_LABEL_W, height, _B_WIDTH - _B_LABEL_W if rtl else 0)]
    rows_drawn = zip(rows, values, texts, strict=True)
    for n, ((label, _, value_text), value, text) in enumerate(rows_drawn):
        top = _B_PAD + n * _B_ROW + (_B_ROW - _B_BAR) / 2
        width = min(value / scale, 1.0) * span if scale > 0 else 0.0
        middle = _c(top + _B_BAR / 2)
        body.append(
            f"<g><title>{_text(label)}: {_text(value_text)}</title>"
            f'<text x="{x(0)}" y="{middle}" {_CENTRAL} font-size="{_B_FONT}"'
            f' clip-path="url(#{escape(chart_id)}-labels)">{_text(label, _B_LIMIT)}</text>'
            f'<rect x="{x(_B_BAR_X0 + width) if rtl else _B_BAR_X0}" y="{_c(top)}"'
            f' width="{_c(width)}" height="{_B_BAR}" rx="2" fill="{PRIMARY}"/>'
            f'<text x="{x(_B_BAR_X0 + width + 6)}" y="{middle}" {_CENTRAL}'
            f' font-size="{_B_SMALL}" fill="{MUTED}">{escape(text)}</text></g>'
        )
    described = [f"{_clean(label)}: {_clean(vt)}" for label, _, vt in rows]
    return _svg(chart_id, title, _joined(locale, described) + ".", (_B_WIDTH, height), body, locale)
