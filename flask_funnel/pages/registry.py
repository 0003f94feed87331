"""The pages of one app, kept fresh: a site owner's edit shows without a restart, and a
broken file is logged and skipped while the other pages keep working.

A deploy must never take a page down. A file that vanishes while the folder is read is
taken as gone, not the whole folder; a folder that is missing for a moment (replaced by
a rename) leaves the pages as they were; and a page whose file turns invalid (a typo, a
half-written copy) keeps serving its last good version. That version is kept on disk
(``FUNNEL_PAGES_CACHE_DIR``), so every worker of the host, and a worker started later,
serves the same one, and ``flask funnel pages`` can say so.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

from flask_funnel.pages.model import Page, PageFile
from flask_funnel.pages.parser import PageParser, display_path

log = logging.getLogger("flask_funnel.pages")


class PageRegistry:
    """The pages of one app, re-read when a file changes (checked at most every
    ``reload_seconds``), so a site owner's edit shows without a restart."""

    def __init__(
        self,
        pages_dir: Path,
        parser: PageParser,
        reload_seconds: float,
        cache_dir: Path | None = None,
    ):
        self.pages_dir, self.parser, self.reload_seconds = pages_dir, parser, reload_seconds
        self.last_good = LastGoodVersions(cache_dir)
        self._files: dict[Path, tuple[int, PageFile]] = {}
        self._by_slug: dict[str, Page] = {}
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def get(self, slug: str) -> Page | None:
        self._refresh()
        return self._by_slug.get(slug)

    def files(self) -> list[PageFile]:
        """Every page file with its page or its errors, in file-name order."""
        self._refresh()
        return [pf for _, pf in sorted(self._files.values(), key=lambda t: t[1].path.name)]

    def pages(self) -> list[Page]:
        return [pf.serving for pf in self.files() if pf.serving is not None]

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.reload_seconds:
            return
        with self._lock:
            if now - self._checked < self.reload_seconds:
                return
            self._load_changed()
            self._checked = time.monotonic()

    def _load_changed(self) -> None:
        entries = self._scan()
        if entries is None or entries == {p: mtime for p, (mtime, _) in self._files.items()}:
            return
        files = {}
        for path, mtime in entries.items():
            known = self._files.get(path)
            if known and known[0] == mtime:
                files[path] = known
                continue
            page_file = self._read(path, known[1] if known else None)
            if page_file is not None:
                files[path] = (mtime, page_file)
        self._files, self._by_slug = _index_by_slug(files)

    def _scan(self) -> dict[Path, int] | None:
        """Each page file's modification time; None when the folder cannot be read."""
        try:
            listing = list(os.scandir(self.pages_dir))
        except OSError as error:
            if self._files:
                log.warning("pages folder unreadable, keeping its pages: %s", error)
            return None if self._files else {}
        entries = {}
        for entry in listing:
            if not entry.name.endswith(".toml"):
                continue
            try:
                if entry.is_file():
                    entries[Path(entry.path)] = entry.stat().st_mtime_ns
            except FileNotFoundError:
                continue  # removed since the folder was listed
        return entries

    def _read(self, path: Path, before: PageFile | None) -> PageFile | None:
        """The file's page; None when it vanished since the scan."""
        try:
            source = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            page_file = PageFile(
                path, None, (f"{display_path(path)}: (file): cannot be read: {exc}",)
            )
        else:
            page_file = self.parser.parse_source(path, source)
            if page_file.page is not None:
                self.last_good.keep(path, source)
                return page_file
        last_good = (before.serving if before else None) or self.last_good.page(path, self.parser)
        for error in page_file.errors:
            log.error(
                "page file %s: %s",
                "still serving its last good version" if last_good else "skipped",
                error,
            )
        return PageFile(path, None, page_file.errors, last_good)


class LastGoodVersions:
    """The text of each page file's last valid version, one file each in ``folder``
    (named by the page file's full path, so two page folders never mix)."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self._warned = False

    def keep(self, path: Path, source: str) -> None:
        target = self._copy_of(path)
        if target is None:
            return
        try:
            if target.is_file() and target.read_text(encoding="utf-8") == source:
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed: a reader sees the old copy or the new, whole.
            with tempfile.NamedTemporaryFile(
                "w", encoding="utf-8", dir=target.parent, delete=False, suffix=".tmp"
            ) as handle:
                handle.write(source)
            os.replace(handle.name, target)
        except OSError as error:
            if not self._warned:
                self._warned = True
                log.warning(
                    "cannot keep last good page versions in %s (%s): a page whose file"
                    " turns invalid then goes offline in a newly started worker",
                    self.folder,
                    error,
                )

    def page(self, path: Path, parser: PageParser) -> Page | None:
        copy = self._copy_of(path)
        try:
            source = copy.read_text(encoding="utf-8") if copy else None
        except OSError:
            return None
        return parser.parse_source(path, source).page if source is not None else None

    def _copy_of(self, path: Path) -> Path | None:
        if self.folder is None:
            return None
        key = hashlib.sha256(os.fsencode(path.resolve())).hexdigest()[:16]
        return self.folder / f"{path.stem}-{key}.toml"


def _index_by_slug(files: dict[Path, tuple[int, PageFile]]):
    by_slug: dict[str, Page] = {}
    for path in sorted(files):
        mtime, page_file = files[path]
        page = page_file.serving
        if page is None:
            continue
        if page.slug in by_slug:
            error = (
                f"{display_path(path)}: slug: {page.slug!r} is already used by another page file"
            )
            log.error("page file skipped: %s", error)
            files[path] = (mtime, PageFile(path, None, (error,)))
            continue
        by_slug[page.slug] = page
    return files, by_slug
