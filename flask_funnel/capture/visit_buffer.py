"""Page views written in batches.

A landing page view is the hottest write the funnel makes. Writing each one in a
transaction of its own costs more than rendering the page, so views are kept in a
per-process buffer and written together: when the buffer holds ``size`` views, when
its oldest view is ``seconds`` old (checked on every view and by a timer thread), before
a quiz submission is stored, and when the process exits. A process killed outright
loses at most the views of the last ``seconds``; submissions are never buffered.
``seconds = 0`` writes every view at once, in the request.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref

from sqlalchemy.engine import Engine

from flask_funnel.capture.visits import record_visits
from flask_funnel.db.sqlite_writer import writing

log = logging.getLogger("flask_funnel.visits")

#: Views kept when the database is unreachable, beyond which the oldest are dropped.
MAX_PENDING_FACTOR = 20


class VisitBuffer:
    def __init__(self, engine: Engine, *, seconds: float, size: int):
        self._engine, self.seconds, self.size = engine, seconds, size
        self._rows: list[dict] = []
        self._oldest = 0.0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._timer_pid: int | None = None

    def add(self, row: dict) -> None:
        """Queue one view; writes the batch when it is full or old enough."""
        if self.seconds <= 0:
            self._write([row])
            return
        now = time.monotonic()
        with self._lock:
            if not self._rows:
                self._oldest = now
            self._rows.append(row)
            due = len(self._rows) >= self.size or now - self._oldest >= self.seconds
        self._ensure_timer()
        if due:
            self.flush()

    def flush(self) -> int:
        """Write every queued view now; returns how many were written."""
        with self._flush_lock:
            with self._lock:
                rows, self._rows = self._rows, []
            if not rows:
                return 0
            try:
                self._write(rows)
            except Exception:
                self._requeue(rows)
                log.exception("could not write %d page views; they stay queued", len(rows))
                return 0
            return len(rows)

    def pending(self) -> int:
        with self._lock:
            return len(self._rows)

    def _write(self, rows: list[dict]) -> None:
        with writing(self._engine) as connection:
            record_visits(connection, rows)

    def _requeue(self, rows: list[dict]) -> None:
        with self._lock:
            self._rows = rows + self._rows
            limit = self.size * MAX_PENDING_FACTOR
            if len(self._rows) > limit:
                log.error(
                    "dropping %d page views: the database has been unreachable",
                    len(self._rows) - limit,
                )
                self._rows = self._rows[-limit:]

    def _ensure_timer(self) -> None:
        # One timer thread per process (a forked worker starts its own).
        pid = os.getpid()
        if self._timer_pid == pid:
            return
        with self._lock:
            if self._timer_pid == pid:
                return
            self._timer_pid = pid
        reference = weakref.ref(self)
        threading.Thread(
            target=_flush_periodically,
            args=(reference, self.seconds),
            name="funnel-visit-flush",
            daemon=True,
        ).start()
        atexit.register(_flush_at_exit, reference)


def _flush_periodically(reference: weakref.ref[VisitBuffer], seconds: float) -> None:
    while True:
        time.sleep(seconds)
        buffer = reference()
        if buffer is None:
            return
        if buffer.pending():
            buffer.flush()
        del buffer


def _flush_at_exit(reference: weakref.ref[VisitBuffer]) -> None:
    buffer = reference()
    if buffer is not None:
        buffer.flush()
