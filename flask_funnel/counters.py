"""Counters over a moving window, kept in ``FUNNEL_RATELIMIT_STORAGE_URI`` (``limits``'
storage: per process in memory, or one Redis shared by every worker and host). The
sign-in brake counts attempts here, and the audit counts what it records only once in a
while."""

from __future__ import annotations

import logging

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger("flask_funnel.counters")

_PREFIX = "flask_funnel"


class CountersUnavailable(RuntimeError):
    """The storage cannot be reached."""


class Counters:
    def __init__(self, storage_uri: str):
        self._strategy = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, limit: str, *key: str) -> bool:
        """Count one under ``key``; False when that is more than ``limit`` allows
        ("5 per 15 minutes"). Raises ``CountersUnavailable`` when the storage is down."""
        try:
            return self._strategy.hit(parse(limit), _PREFIX, *key)
        except Exception as error:
            log.error("counter storage unreachable: %s", type(error).__name__)
            raise CountersUnavailable from error

    def clear(self, limit: str, *key: str) -> None:
        try:
            self._strategy.clear(parse(limit), _PREFIX, *key)
        except Exception as error:  # the count then ends with its window
            log.warning("counter not reset: %s", type(error).__name__)

    def first_in(self, window: str, *key: str) -> bool:
        """True for the first call with ``key`` within ``window`` ("10 minutes"), and
        whenever the storage is down (better twice than never)."""
        try:
            return self.hit(f"1 per {window}", *key)
        except CountersUnavailable:
            return True
