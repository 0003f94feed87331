"""Making an A/B test's winner the page's own: the page file rewritten with the
variant's changes as the page's fields, in every locale, and the test removed, with the
file's comments and layout kept (tomlkit).

The file stays the source. ``plan`` shows the change as a diff and checks it: the new
file must parse, and its default and locale versions must show exactly what the
variant's visitors saw. ``write`` saves it only when the site may write the file and
the file is still the one the diff was made from.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Comment, Table, Whitespace

from flask_funnel.pages.model import FieldPath, Page
from flask_funnel.pages.parser import PageParser
from flask_funnel.pages.versions import version_by_key, with_variant


class WinnerError(ValueError):
    """The change cannot be made (the message says why, for the admin)."""


@dataclass(frozen=True)
class Promotion:
    """The page file before and after ``variant`` becomes the page's own."""

    path: Path
    variant: str
    before: str
    after: str
    #: Place rules that set a field the variant changes: their visitors keep the place's
    #: value (during the test the variant's won), as ``(rule label, field)``.
    kept_by_places: tuple[tuple[str, str], ...]
    #: The site owner lets the admin area write page files (``FUNNEL_PAGES_WRITABLE``).
    allowed: bool = True

    @property
    def fingerprint(self) -> str:
        """Of the file the change was made from: a write refuses a file changed since."""
        return fingerprint(self.before)

    @property
    def diff(self) -> str:
        name = self.path.name
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                f"{name} (now)",
                f"{name} (with variant {self.variant} as the page's own)",
            )
        )

    @property
    def writable(self) -> bool:
        """The site may replace the file (its folder takes the new copy first)."""
        folder = self.path.parent
        return self.allowed and os.access(self.path, os.W_OK) and os.access(folder, os.W_OK)


def fingerprint(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def plan(
    path: Path, page: Page, variant_id: str, parser: PageParser, *, allowed: bool = True
) -> Promotion:
    """What the file at ``path`` (whose page is ``page``) becomes with ``variant_id`` as
    the page's own; WinnerError when the variant is unknown or the file has changed
    into something else than ``page``."""
    if all(v.id != variant_id for v in page.variants):
        raise WinnerError(f"{page.slug!r} has no variant {variant_id!r}")
    try:
        with path.open(encoding="utf-8", newline="") as file:  # its line endings kept
            before = file.read()
        document = tomlkit.parse(before)
    except (OSError, UnicodeDecodeError, TOMLKitError) as error:
        raise WinnerError(f"{path.name} cannot be read: {error}") from None
    if parser.parse_source(path, before).page != page:
        raise WinnerError(f"{path.name} has changed since the site read it: reload this page")
    _promote(document, page, variant_id)
    after = tomlkit.dumps(document)
    if "\r\n" in before:  # the lines tomlkit added end like the file's
        after = after.replace("\r\n", "\n").replace("\n", "\r\n")
    promoted = parser.parse_source(path, after)
    if promoted.page is None or not _same_versions(page, variant_id, promoted.page):
        raise WinnerError(
            f"{path.name} could not be rewritten exactly; make the change by hand: "
            + "; ".join(promoted.errors)
        )
    kept = _kept_by_places(page, variant_id)
    return Promotion(path, variant_id, before, after, kept, allowed)


def write(promotion: Promotion, seen: str) -> None:
    """Replace the page file with ``promotion.after``, in one step (a reader sees the old
    file or the new, never half of one), if it is still the file of fingerprint ``seen``."""
    path = promotion.path.resolve()  # a symbolic link's file, the link kept
    if not promotion.writable:
        raise WinnerError(f"the site may not write {path.name}: make the change by hand")
    if seen != promotion.fingerprint:
        raise WinnerError(f"{path.name} has changed since you saw the change: review it again")
    mode = path.stat().st_mode & 0o777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(promotion.after)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise WinnerError(f"{path.name} could not be written: {error.strerror}") from None


# --- the rewrite ------------------------------------------------------------------------


def _promote(document: tomlkit.TOMLDocument, page: Page, variant_id: str) -> None:
    variant = next(v for v in page.variants if v.id == variant_id)
    for path, value in variant.changes:
        _set_default(document, path, value)
    for texts in page.locales:
        table = document["locales"][texts.locale]
        given = dict(texts.changes)
        for path, value in texts.changes:
            if path[:2] == ("variants", variant_id):
                _set_in_locale(table, path[2:], value)
        # What the variant changes and the locale does not translate (a picture, a
        # file) won over the locale's own during the test: it stays so.
        for path, value in variant.changes:
            if path in given and ("variants", variant_id, *path) not in given:
                _set_in_locale(table, path, value)
        _remove(table, "variants")
    _remove(document, "variants")


def _remove(parent, key: str) -> None:
    """Remove ``parent[key]`` with the comments just above it (they describe it), and
    keep the comments at its end (they describe what follows it)."""
    if key not in parent:
        return
    keys = list(parent)
    trailing = _trivia_at_end(_last_table(parent[key]), take=True)
    del parent[key]
    before = keys.index(key) - 1
    if before >= 0:
        previous = _last_table(parent[keys[before]])
        if previous is not None:
            _trivia_at_end(previous, take=True, comments_only=True)
            ends_blank = isinstance(_last_item(previous), Whitespace)
            if ends_blank and trailing and isinstance(trailing[0][1], Whitespace):
                trailing = trailing[1:]  # one blank line between tables is enough
            previous.value.body.extend(trailing)


def _last_table(item):
    """The table whose body a file shows last of ``item`` (None for a plain value)."""
    if isinstance(item, AoT):
        item = item[-1] if len(item) else None
    if not isinstance(item, Table):
        return None
    values = [value for key, value in item.value.body if key is not None]
    if values and isinstance(values[-1], (Table, AoT)):
        return _last_table(values[-1]) or item
    return item


def _trivia_at_end(table, *, take: bool, comments_only: bool = False) -> list:
    """The blank lines and comments at the end of ``table``'s body (removed from it with
    ``take``); with ``comments_only``, the comment lines right above what follows (none
    when a blank line comes last: those comments belong to the table)."""
    if table is None:
        return []
    body = table.value.body
    trivia = (Comment,) if comments_only else (Comment, Whitespace)
    end = len(body)
    while end and body[end - 1][0] is None and isinstance(body[end - 1][1], trivia):
        end -= 1
    found = body[end:]
    if take:
        del body[end:]
    return found


def _last_item(table):
    body = table.value.body
    return body[-1][1] if body else None


def _set_default(document: tomlkit.TOMLDocument, path: FieldPath, value: str) -> None:
    part, *rest = path
    if part != "questions":
        document[part][rest[0]] = value
        return
    question = next(q for q in document["questions"] if q["id"] == rest[0])
    if len(rest) == 2:  # text, help
        question[rest[1]] = value
        return
    choice = next(c for c in question["choices"] if c["id"] == rest[2])
    choice["label" if rest[1] == "choices" else "image"] = value


def _set_in_locale(table, path: FieldPath, value: str) -> None:
    part, *rest = path
    if part != "questions":
        table.setdefault(part, tomlkit.table())[rest[0]] = value
        return
    question = table["questions"].setdefault(str(rest[0]), tomlkit.table())
    if len(rest) == 2:
        question[rest[1]] = value
    else:
        question.setdefault(str(rest[1]), tomlkit.inline_table())[str(rest[2])] = value


# --- the checks -------------------------------------------------------------------------

_SHOWN = ("title", "description", "hero", "offer", "consent", "questions", "outcomes")


def _same_versions(page: Page, variant_id: str, promoted: Page) -> bool:
    """Every locale's version of ``promoted`` shows what ``variant_id``'s visitors saw."""
    for locale in page.offered_locales:
        key = ((), locale, None)
        saw = with_variant(version_by_key(page, key), variant_id)
        now = version_by_key(promoted, key)
        if now is None or any(getattr(saw, f) != getattr(now, f) for f in _SHOWN):
            return False
    return not promoted.variants


def _kept_by_places(page: Page, variant_id: str) -> tuple[tuple[str, str], ...]:
    variant = next(v for v in page.variants if v.id == variant_id)
    changed = {path for path, _ in variant.changes}
    return tuple(
        (f"places[{rule.number}] ({rule.id})", ".".join(map(str, path)))
        for rule in page.places
        for path, _ in rule.changes
        if path in changed
    )
