"""Text for a terminal. Lead data is hostile input: an escape sequence in a name, a source
or a note could move the cursor, rewrite what an admin reads or set the window title, so
control characters are shown as visible escapes instead of being sent as they are."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import click

# C0 controls but tab and newline, DEL, and the C1 controls (U+009B alone starts a
# sequence in many terminals), and the bidi overrides that reorder what is shown.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def echo(text: str, *, err: bool = False) -> None:
    click.echo(printable(text), err=err)


def columns(rows: Sequence[Sequence[str]], gap: str = "  ") -> list[str]:
    """``rows`` of cells as printable lines whose columns line up: each cell but the last
    is padded to the widest of its column, as wide as a terminal shows it."""
    shown = [[printable(cell) for cell in row] for row in rows]
    widths = [max(map(width, cells)) for cells in zip(*(row[:-1] for row in shown), strict=True)]
    lines = []
    for row in shown:
        sized = zip(row[:-1], widths, strict=True)
        padded = [cell + " " * (size - width(cell)) for cell, size in sized]
        lines.append(gap.join([*padded, row[-1]]).rstrip())
    return lines


def width(text: str) -> int:
    """How many terminal cells ``text`` takes: wide (CJK) characters two, combining marks
    none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


class PrintableStream:
    """A text stream that writes through ``printable`` (for exports sent to a terminal)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(printable(text))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
