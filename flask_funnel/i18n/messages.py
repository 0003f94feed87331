"""Interface text in the page's language.

Page files carry their own words; this module translates the few words the funnel
adds itself (buttons, field labels, errors). English is the source language; other
catalogs live in ``translations/<locale>.toml`` as ``"English text" = "translation"``.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

SUPPORTED_LOCALES = ("en", "fa")
RTL_LOCALES = frozenset({"fa"})
_CATALOG_DIR = Path(__file__).parent / "translations"
_DIGITS = {"fa": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")}


@cache
def _catalog(locale: str) -> dict[str, str]:
    path = _CATALOG_DIR / f"{locale}.toml"
    if not path.is_file():
        return {}
    return tomllib.loads(path.read_text(encoding="utf-8"))


def translate(locale: str, message: str, **values: object) -> str:
    """``message`` in ``locale`` with ``{name}`` placeholders filled (digits localised)."""
    text = _catalog(locale).get(message, message)
    if values:
        text = text.format(**{k: localize_digits(locale, v) for k, v in values.items()})
    return text


def localize_digits(locale: str, value: object) -> str:
    table = _DIGITS.get(locale)
    return str(value).translate(table) if table else str(value)


def text_direction(locale: str) -> str:
    return "rtl" if locale in RTL_LOCALES else "ltr"
