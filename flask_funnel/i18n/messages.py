"""Interface text and numbers in the page's language.

Page files carry their own words; this module translates the few words the funnel
adds itself (buttons, field labels, errors). English is the source language. The
translations are gettext catalogues of the extension's own Babel domain,
``translations/<locale>/LC_MESSAGES/flask_funnel.po`` (compiled next to it as ``.mo``),
so a host's own Babel setup, its domain and its locale selector, is never touched:
the funnel decides the locale of each page itself and passes it explicitly, and it
works the same whether or not the host uses Flask-Babel.

Messages keep ``{name}`` placeholders (``python-brace-format``); numbers filled into
them are formatted for the locale.
"""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

from babel import Locale, numbers
from babel.support import NullTranslations, Translations

#: The extension's gettext domain: ``pybabel ... -D flask_funnel``.
DOMAIN = "flask_funnel"
#: Where the catalogues live (``<locale>/LC_MESSAGES/flask_funnel.po`` and ``.mo``).
TRANSLATIONS_DIR = Path(__file__).parent / "translations"
SOURCE_LOCALE = "en"
#: The source language, then every locale with a compiled catalogue.
SUPPORTED_LOCALES = (
    SOURCE_LOCALE,
    *sorted(
        path.parent.parent.name
        for path in TRANSLATIONS_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")
        if path.parent.parent.name != SOURCE_LOCALE
    ),
)
# The digits of the numbering systems CLDR names as a locale's default. Babel formats
# with the numbering system's separators and signs but always writes ASCII digits.
_DIGITS = {
    "arab": "٠١٢٣٤٥٦٧٨٩",
    "arabext": "۰۱۲۳۴۵۶۷۸۹",
}


def N_(message: str) -> str:
    """Marks ``message`` for extraction where it is translated later (``translate``)."""
    return message


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue of ``locale`` in the funnel's domain (none for English)."""
    return Translations.load(str(TRANSLATIONS_DIR), [locale], domain=DOMAIN)


def translate(locale: str, message: str, **values: object) -> str:
    """``message`` in ``locale`` with ``{name}`` placeholders filled, numbers formatted
    for the locale (templates call it as ``t(message, **values)``)."""
    text = translations(locale).gettext(message)
    if values:
        text = text.format(**{name: _value(locale, v) for name, v in values.items()})
    return text


@lru_cache(maxsize=4096)
def format_number(locale: str, number: float) -> str:
    """``number`` as ``locale`` writes it: ``۱٬۲۳۴`` in Persian, ``1,234`` in English."""
    return _native_digits(
        locale, numbers.format_decimal(number, locale=locale, numbering_system="default")
    )


def format_percent(locale: str, share: float, *, decimals: int = 0) -> str:
    """``share`` (0.25) as a percentage in ``locale``: ``۲۵٪`` in Persian, ``25%`` in English;
    up to ``decimals`` digits after the point (``۱۲٫۵٪``)."""
    pattern = f"#,##0{'.' + '#' * decimals if decimals else ''}%"
    text = numbers.format_percent(share, format=pattern, locale=locale, numbering_system="default")
    cldr = Locale.parse(locale)
    symbol = cldr.number_symbols[cldr.default_numbering_system].get("percentSign", "%")
    return _native_digits(locale, text.replace("%", symbol))


def isolated(text: str) -> str:
    """``text`` (a page's or a lead's words) kept apart from the message around it, in a
    direction of its own (Unicode's first-strong isolate): "?" ends an English question
    inside a Persian sentence, not begins it."""
    return f"\u2068{text}\u2069"


def text_direction(locale: str) -> str:
    """``rtl`` for a language written right to left (Persian), else ``ltr``."""
    return "rtl" if Locale.parse(locale).character_order == "right-to-left" else "ltr"


def _value(locale: str, value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format_number(locale, value)
    return value


def _native_digits(locale: str, text: str) -> str:
    digits = _DIGITS.get(Locale.parse(locale).default_numbering_system)
    return text.translate(str.maketrans("0123456789", digits)) if digits else text
