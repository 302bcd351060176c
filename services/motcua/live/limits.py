"""Per-key request rate limits of the gateway: a token bucket per API key (or DVCQG source).

``rate`` requests a second on average, bursts of ``burst``; a request that finds the bucket
empty is answered 429 with ``Retry-After`` (the seconds until a token is back) and costs
nothing. The keys are the configured API keys and sources (the caller is authenticated
first), so the table of buckets is bounded by the configuration. Each replica counts on its
own: N replicas behind a load balancer let a key through at up to N times the rate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable


class RateLimiter:
    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        """``rate`` <= 0: no limit."""
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, at)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def wait_s(self, key: Hashable) -> float:
        """0.0 and one token taken when ``key`` may go on now; else the seconds to wait."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def retry_after(self, key: Hashable) -> int | None:
        """None when ``key`` may go on (a token taken), else the whole seconds of Retry-After."""
        wait = self.wait_s(key)
        return None if wait == 0.0 else max(1, math.ceil(wait))


__all__ = ["RateLimiter"]
