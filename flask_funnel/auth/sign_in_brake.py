"""The brake on password sign-in: a few attempts per client address within a window.

Each attempt is counted before its password is checked, in one atomic step of the
storage (a moving window: a lock in memory, a Lua script in Redis), so a burst of
parallel guesses cannot all slip in before the first failure is counted. It slows an
address down and never locks the account: a stranger could otherwise keep the real
admin out. A success starts that address's count again.

It counts in ``FUNNEL_RATELIMIT_STORAGE_URI`` whether or not the other rate limits are
on, and when that storage is unreachable it refuses (``CountersUnavailable``): guessing
with the brake off is not allowed.
"""

from __future__ import annotations

from flask_funnel.counters import Counters


class SignInBrake:
    def __init__(self, counters: Counters, attempts: int, minutes: int):
        self.counters, self.minutes = counters, minutes
        self.limit = f"{attempts} per {minutes} minutes"

    def attempt(self, address: str) -> bool:
        """Count one attempt from ``address``; False when it is one too many."""
        return self.counters.hit(self.limit, "admin-sign-in", address)

    def succeeded(self, address: str) -> None:
        self.counters.clear(self.limit, "admin-sign-in", address)
