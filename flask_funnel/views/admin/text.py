"""Text shown in the admin area that needs more than escaping."""

from __future__ import annotations

import re

from markupsafe import Markup

# Before each dot, after the @.
_EMAIL_BREAKS = re.compile(r"(?=\.)|(?<=@)")


def breakable_email(address: str | None) -> Markup:
    """``address`` escaped, wrapping after its ``@`` and before its dots when it has to
    (a long address on a phone), never in the middle of a word."""
    return Markup("<wbr>").join(_EMAIL_BREAKS.split(address or ""))
