"""Transactions the database may refuse for a moment, tried again.

Under concurrent writes PostgreSQL and MariaDB may end a transaction on purpose to keep
the data consistent: a deadlock, a serialisation failure, a lock wait that timed out.
The work was rolled back whole, so doing it again is safe and usually succeeds; the
caller passes the transaction's work as a function so it can be run again.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from flask_funnel.db.sqlite_writer import writing

log = logging.getLogger("flask_funnel.db")

T = TypeVar("T")

ATTEMPTS = 5
# PostgreSQL's SQLSTATEs: serialization_failure, deadlock_detected.
_PG_TRANSIENT = {"40001", "40P01"}
# MySQL/MariaDB error numbers: lock wait timeout, deadlock.
_MYSQL_TRANSIENT = {1205, 1213}


def is_transient(error: DBAPIError) -> bool:
    """Whether the database ended the transaction only because of another one."""
    original = error.orig
    if getattr(original, "sqlstate", None) in _PG_TRANSIENT:
        return True
    args = getattr(original, "args", ())
    return bool(args) and args[0] in _MYSQL_TRANSIENT


def write_retrying(engine: Engine, work: Callable[[Connection], T]) -> T:
    """``work(connection)`` in a writing transaction, run again (a few times, after a
    short random pause) when the database refused it for a concurrent one."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with writing(engine) as connection:
                return work(connection)
        except DBAPIError as error:
            if attempt == ATTEMPTS or not is_transient(error):
                raise
            log.info("transaction refused (%s); attempt %d", type(error.orig).__name__, attempt)
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not a secret
    raise AssertionError("unreachable")
