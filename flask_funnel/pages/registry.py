"""The pages of one app, kept fresh: a site owner's edit shows without a restart, and a
broken file is logged and skipped while the other pages keep working."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from flask_funnel.pages.model import Page, PageFile
from flask_funnel.pages.parser import PageParser, display_path

log = logging.getLogger("flask_funnel.pages")


class PageRegistry:
    """The pages of one app, re-read when a file changes (checked at most every
    ``reload_seconds``), so a site owner's edit shows without a restart."""

    def __init__(self, pages_dir: Path, parser: PageParser, reload_seconds: float):
        self.pages_dir, self.parser, self.reload_seconds = pages_dir, parser, reload_seconds
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
        return [pf.page for pf in self.files() if pf.page is not None]

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
        try:
            entries = {
                Path(e.path): e.stat().st_mtime_ns
                for e in os.scandir(self.pages_dir)
                if e.name.endswith(".toml") and e.is_file()
            }
        except FileNotFoundError:
            entries = {}
        if entries == {path: mtime for path, (mtime, _) in self._files.items()}:
            return
        files = {}
        for path, mtime in entries.items():
            known = self._files.get(path)
            if known and known[0] == mtime:
                files[path] = known
                continue
            page_file = self.parser.parse_file(path)
            for error in page_file.errors:
                log.error("page file skipped: %s", error)
            files[path] = (mtime, page_file)
        self._files, self._by_slug = _index_by_slug(files)


def _index_by_slug(files: dict[Path, tuple[int, PageFile]]):
    by_slug: dict[str, Page] = {}
    for path in sorted(files):
        mtime, page_file = files[path]
        page = page_file.page
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
