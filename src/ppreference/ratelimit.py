"""Opt-in request rate limiting of the reference server (not part of the documented API).

A sliding window: a client may make at most `per_minute` requests in any
`window_seconds` (60 s). A refused request takes no slot, so a client that waits
the advertised `Retry-After` gets through.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Hashable

__all__ = ["WINDOW_SECONDS", "RateLimiter"]

WINDOW_SECONDS = 60.0


class RateLimiter:
    """Counts requests per key (e.g. an org id; None for unauthenticated clients).

    Arguments:
    - `per_minute`: requests allowed per key in any window (>= 1).
    - `monotonic`: returns seconds from an arbitrary start, never going back
      (default: `time.monotonic`); inject one to test the window.
    - `window_seconds`: the window's length in seconds (default 60).
    """

    def __init__(
        self,
        per_minute: int,
        monotonic: Callable[[], float],
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        if isinstance(per_minute, bool) or not isinstance(per_minute, int) or per_minute < 1:
            raise ValueError(f"rate_limit_per_minute must be an integer >= 1, not {per_minute!r}")
        self.per_minute = per_minute
        self.window_seconds = window_seconds
        self._monotonic = monotonic
        self._granted: dict[Hashable, deque[float]] = {}

    def acquire(self, key: Hashable) -> int | None:
        """Take a slot for `key`: None when granted, else the whole seconds (>= 1) until one frees."""
        now = self._monotonic()
        granted = self._granted.setdefault(key, deque())
        while granted and granted[0] <= now - self.window_seconds:
            granted.popleft()
        if len(granted) < self.per_minute:
            granted.append(now)
            return None
        return max(1, math.ceil(granted[0] + self.window_seconds - now))
