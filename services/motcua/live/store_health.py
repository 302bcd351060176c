"""The writer's view of its store while it fails: metrics and rate-limited log lines.

Every failed store call counts in ``motcua_store_errors_total`` and sets
``motcua_store_up`` to 0; ``motcua_writer_blocked_seconds`` says how long the failures have
lasted and ``motcua_writer_retry_backoff_seconds`` the current backoff. A failing streak
logs one line at its start, then at most one every ``LOG_EVERY_S`` (with the attempts
since the last line), and one when the store answers again. A line names the error's class
and the first line of its message, never a row (docs/operating-cluster.md#store-outage).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .metrics import INSERT_RETRIES, STORE_ERRORS, STORE_UP, WRITER_BLOCKED, WRITER_RETRY_BACKOFF

log = logging.getLogger("motcua.writer")

LOG_EVERY_S = 30.0


def describe(err: BaseException) -> str:
    """The error's class and the first line of its message (at most 200 characters)."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200] if text else ''}"


class StoreHealth:
    """Failures and recoveries of the writer's store (one per writer process)."""

    def __init__(self, service: str = "writer", clock: Callable[[], float] = time.monotonic):
        self.service, self.clock = service, clock
        self.failing_since: float | None = None
        self.failures = 0  # in the current streak
        self.unlogged = 0  # failures since the last line
        self.logged_at = float("-inf")

    def failed(self, what: str, err: BaseException, backoff_s: float) -> None:
        """A store call failed; it is retried after ``backoff_s``."""
        now = self.clock()
        INSERT_RETRIES.inc()
        STORE_ERRORS.labels(self.service).inc()
        STORE_UP.labels(self.service).set(0)
        WRITER_RETRY_BACKOFF.set(backoff_s)
        if self.failing_since is None:
            self.failing_since = now
        self.failures += 1
        self.unlogged += 1
        if now - self.logged_at >= LOG_EVERY_S:
            log.warning(
                "store failing; retrying",
                extra={
                    "round": what,
                    "error": describe(err),
                    "failures": self.failures,
                    "since_last_line": self.unlogged,
                    "failing_for_s": round(now - self.failing_since, 1),
                    "backoff_s": backoff_s,
                },
            )
            self.logged_at, self.unlogged = now, 0
        self.tick()

    def tick(self) -> None:
        """Refresh ``motcua_writer_blocked_seconds`` (called while waiting to retry)."""
        since = self.failing_since
        WRITER_BLOCKED.set(0 if since is None else self.clock() - since)

    def ok(self) -> None:
        """A store call succeeded."""
        if self.failing_since is not None:
            log.info(
                "store answers again",
                extra={
                    "failures": self.failures,
                    "failing_for_s": round(self.clock() - self.failing_since, 1),
                },
            )
        self.failing_since, self.failures, self.unlogged = None, 0, 0
        self.logged_at = float("-inf")
        STORE_UP.labels(self.service).set(1)
        WRITER_BLOCKED.set(0)
        WRITER_RETRY_BACKOFF.set(0)
