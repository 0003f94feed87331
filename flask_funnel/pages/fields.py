"""Reading one table of a page file: each bad field becomes an error naming the file
and the field (``questions[2].choices[1].image: ...``); list indexes count from 1."""

from __future__ import annotations

import os
import re
from pathlib import Path

from flask_funnel.values import is_storable

ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_UNSTORABLE = "contains a NUL character (\\u0000), which no database stores"


class Fields:
    """Reads one TOML table, collecting an error per bad field (file: field: why)."""

    def __init__(self, data: dict, where: str, errors: list[str], file: str):
        self.data, self.where, self.errors, self.file = data, where, errors, file
        self.read: set[str] = set()

    def error(self, key: str | None, message: str) -> None:
        field = ".".join(p for p in (self.where, key) if p) or "(file)"
        self.errors.append(f"{self.file}: {field}: {message}")

    def _get(self, key: str, required: bool):
        self.read.add(key)
        if key not in self.data:
            if required:
                self.error(key, "is required")
            return None
        return self.data[key]

    def text(self, key: str, *, required: bool = True, max_length: int = 2000) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(key, "must be a non-empty string")
            return None
        if len(value) > max_length:
            self.error(key, f"must be at most {max_length} characters")
            return None
        if not is_storable(value):
            self.error(key, _UNSTORABLE)
            return None
        return value.strip()

    def identifier(self, key: str, pattern: re.Pattern = ID_PATTERN) -> str | None:
        value = self.text(key, max_length=100)
        if value is not None and not pattern.match(value):
            self.error(key, f"{value!r} may only use letters, digits, '-' and '_'")
            return None
        return value

    def integer(self, key: str, *, required: bool = True, default: int | None = None) -> int | None:
        value = self._get(key, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(key, "must be a whole number")
            return default
        return value

    def boolean(self, key: str, *, default: bool = False) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(key, "must be true or false")
            return default
        return value

    def strings(self, key: str, *, max_length: int = 200) -> list[str]:
        """A list of non-empty strings (``[]`` when absent or wrong, with an error)."""
        value = self._get(key, False)
        if value is None:
            return []
        if not isinstance(value, list) or not value:
            self.error(key, 'must be a list of strings (["...", "..."])')
            return []
        kept = []
        for n, item in enumerate(value, start=1):
            if not isinstance(item, str) or not item.strip():
                self.error(f"{key}[{n}]", "must be a non-empty string")
            elif len(item) > max_length:
                self.error(f"{key}[{n}]", f"must be at most {max_length} characters")
            elif not is_storable(item):
                self.error(f"{key}[{n}]", _UNSTORABLE)
            else:
                kept.append(item.strip())
        return kept

    def table(self, key: str, *, required: bool = True) -> Fields | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(key, f"must be a table ([{self._path(key)}])")
            return None
        return Fields(value, self._path(key), self.errors, self.file)

    def tables(self, key: str, low: int, high: int, *, required: bool = True) -> list[Fields]:
        value = self._get(key, required)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.error(key, f"must be a list of tables ([[{self._path(key)}]])")
            return []
        if not low <= len(value) <= high:
            self.error(key, f"must have between {low} and {high} entries, has {len(value)}")
        return [
            Fields(v, f"{self._path(key)}[{n}]", self.errors, self.file)
            for n, v in enumerate(value, start=1)
        ]

    def reject_unknown(self) -> None:
        for key in sorted(set(self.data) - self.read):
            self.error(key, "is not a known field (misspelt?)")

    def _path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key


def unique_ids(f: Fields, key: str, ids: list[str | None]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            f.error(key, f"id {i!r} is used twice")
        seen.add(i)


def inside(folder: Path, relative: str) -> bool:
    """True when ``relative`` names an existing file inside ``folder`` (no escaping it)."""
    try:
        target = (folder / relative).resolve()
        return target.is_file() and target.is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


def display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
