"""Telling the newest request's worker result from older ones that arrive late.

Each request takes a token from `next()` and its worker hands the token back with its result;
on arrival, `is_current(token)` says whether a newer request has replaced it since. Exclusive
workers are cancelled, but a thread cannot be stopped mid-call: this is what keeps its late
result off the screen.
"""

from __future__ import annotations


class Latest:
    """Hands out tokens; only the most recent one is current. Use it from the UI thread only."""

    def __init__(self) -> None:
        self._newest = 0

    def next(self) -> int:
        """A token for a new request: every token handed out before it stops being current."""
        self._newest += 1
        return self._newest

    def is_current(self, token: int) -> bool:
        """Whether `token` belongs to the newest request (its result should be used)."""
        return token == self._newest

    def forget(self) -> None:
        """Make every token handed out so far stale: no result on its way counts any more."""
        self._newest += 1
