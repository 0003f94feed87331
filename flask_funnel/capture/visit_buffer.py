"""Page views and quiz steps reached, written in batches.

A landing page view is the hottest write the funnel makes, and every quiz step records
one more. Writing each in a transaction of its own costs more than rendering the page,
so views and steps are kept in a per-process buffer and written together: when the
buffer holds ``size`` of them, when its oldest is ``seconds`` old (checked on every one
and by a timer thread), with a quiz submission (in its own transaction: ``take``), and
when the process exits.
A process killed outright loses at most the views and steps of the last ``seconds``
(a submission records the steps of its visitor again); submissions are never buffered.
``seconds = 0`` writes every view at once, in the request (a failure keeps it queued
like any other: the page still shows).

A batch fails whole when the database is unreachable: it stays queued for the next
flush. When the database refuses a value of one view instead (too long, a character it
does not store), the batch is written view by view and only the refused views are
dropped, so one bad view never holds up the others. Failures are logged by their kind
only: a view's values (its address, its query string) never reach the log.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError, StatementError

from flask_funnel.capture.visits import record_reached, record_visits
from flask_funnel.db.retry import write_retrying

log = logging.getLogger("flask_funnel.visits")

#: Views kept when the database is unreachable, beyond which the oldest are dropped.
MAX_PENDING_FACTOR = 20


@dataclass
class Taken:
    """Queued rows a caller writes in its own transaction (``VisitBuffer.take``)."""

    #: ("view", a ``visit_row``) and ("steps", a ``steps_reached`` entry), in order.
    rows: list[tuple[str, object]]
    #: Set once the caller's transaction has committed them.
    written: bool = False

    def write(self, connection: Connection) -> None:
        write_rows(connection, self.rows)

    def furthest_step(self, visitor_id: str, page_slug: str) -> int:
        """The last quiz step these rows record a visitor reaching on a page (0: none)."""
        return max(
            (
                step["step"]
                for kind, entry in self.rows
                if kind == "steps"
                for step in entry[1]
                if step["visitor_id"] == visitor_id and step["page_slug"] == page_slug
            ),
            default=0,
        )


def write_rows(connection: Connection, rows: list[tuple[str, object]]) -> None:
    views = [row for kind, row in rows if kind == "view"]
    reached = [row for kind, row in rows if kind == "steps"]
    if views:
        record_visits(connection, views)
    if reached:
        record_reached(connection, reached)


class VisitBuffer:
    def __init__(self, engine: Engine, *, seconds: float, size: int):
        self._engine, self.seconds, self.size = engine, seconds, size
        #: ("view", a ``visit_row``) and ("steps", a ``steps_reached`` entry), in order.
        self._rows: list[tuple[str, object]] = []
        self._oldest = 0.0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._timer_pid: int | None = None

    def add(self, row: dict) -> None:
        """Queue one view; writes the batch when it is full or old enough."""
        self._queue(("view", row))

    def add_steps(self, reached: tuple[dict, list[dict]]) -> None:
        """Queue the quiz steps a visitor reached (``visits.steps_reached``)."""
        self._queue(("steps", reached))

    def _queue(self, row: tuple[str, object]) -> None:
        if self.seconds <= 0:  # written now, with any left queued by a failure before
            with self._lock:
                self._rows.append(row)
            self.flush()
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
            written, unwritten, error = self._write(rows)
            if unwritten:
                self._requeue(unwritten)
                log.error(
                    "could not write %d page views (%s); they stay queued",
                    len(unwritten),
                    _kind(error),
                )
            return written

    @contextmanager
    def take(self) -> Iterator[Taken]:
        """Every queued row, for the caller to write in a transaction of its own
        (``Taken.write``) and mark ``written``; otherwise they go back to the front of
        the queue when the block ends. No flush runs meanwhile."""
        with self._flush_lock:
            with self._lock:
                taken, self._rows = Taken(self._rows), []
            try:
                yield taken
            finally:
                if taken.rows and not taken.written:
                    self._requeue(taken.rows)

    def pending(self) -> int:
        with self._lock:
            return len(self._rows)

    def _write(self, rows: list) -> tuple[int, list, Exception | None]:
        """Store ``rows``: how many were written, those left unwritten because the
        database failed (to queue again), and that failure."""
        try:
            self._insert(rows)
            return len(rows), [], None
        except Exception as error:
            if not refused_value(error):
                return 0, rows, error
            if len(rows) == 1:
                _log_dropped(1, error)
                return 0, [], None
        written, dropped, refusal = 0, 0, None
        for index, row in enumerate(rows):
            try:
                self._insert([row])
            except Exception as error:
                if not refused_value(error):
                    _log_dropped(dropped, refusal)
                    return written, rows[index:], error
                dropped, refusal = dropped + 1, error
            else:
                written += 1
        _log_dropped(dropped, refusal)
        return written, [], None

    def _insert(self, rows: list[tuple[str, object]]) -> None:
        # A new visitor adds to today's visitor count (a trigger), a row another
        # process's batch may hold while it waits for this one's: a deadlock, retried.
        write_retrying(self._engine, lambda connection: write_rows(connection, rows))

    def _requeue(self, rows: list[tuple[str, object]]) -> None:
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


def refused_value(error: Exception) -> bool:
    """True when the database refused a value (so retrying the same row cannot help),
    False when it failed itself (unreachable, locked, its tables missing)."""
    if isinstance(error, (DataError, IntegrityError)):
        return True
    if isinstance(error, StatementError):  # a value no column type could bind
        error = error.orig
    return isinstance(error, (ValueError, TypeError, OverflowError))  # UnicodeEncodeError too


def _log_dropped(count: int, error: Exception | None) -> None:
    if count:
        log.error("dropped %d page views the database refused (%s)", count, _kind(error))


def _kind(error: Exception | None) -> str:
    """The kind of a failure, never its text: a database's message may quote a value."""
    original = getattr(error, "orig", None)
    names = [type(e).__name__ for e in (error, original) if e is not None]
    return " from ".join(dict.fromkeys(names))


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
