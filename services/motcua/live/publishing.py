"""``motcua publish``'s delivery: chunks of records onto Kafka, each sent again until Kafka
acknowledged every record of it (acks=all, idempotent producer).

A chunk that Kafka refused with a retryable error (no leader, not enough in-sync replicas,
a broker unreachable) or did not acknowledge in time is sent again, whole, after a bounded
exponential backoff, through a new producer (the old one and what it still buffered are
dropped). Sending again is safe: records are keyed by dossier_id and an event's id is its
deduplication key, so a record Kafka did take the first time is a duplicate that the
processor drops (dead letters are keyed by a content id: the store keeps one). A chunk that
is still not acknowledged ``max_wait_s`` after its first send ends the run (``GaveUp``),
with the count of records acknowledged so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from .ingress import Ingress

T = TypeVar("T")

# the least time a send is given to be acknowledged, even at the end of the budget
MIN_ACK_S = 1.0


@dataclass(frozen=True)
class Backoff:
    """Delay before the n-th retry of a chunk: first_s, x factor each time, at most max_s."""

    first_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.first_s * self.factor ** max(0, attempt - 1))


@dataclass(frozen=True)
class Retry:
    """One retry, for the progress line (no record content)."""

    chunk: int  # 1-based; 0: the topics' check before the first chunk
    records: int
    attempt: int  # 1 for the first retry
    error: str  # the error's class name
    delay_s: float
    waited_s: float  # since the chunk's first send
    max_wait_s: float


@dataclass
class Totals:
    accepted: int = 0  # events Kafka acknowledged
    rejected: int = 0  # records sent to dead letters (acknowledged too)
    chunks: int = 0
    retries: int = 0


class GaveUp(Exception):
    """A chunk was not acknowledged within ``max_wait_s``; ``totals``: what was before it."""

    def __init__(self, totals: Totals, chunk: int, waited_s: float, error: str):
        self.totals, self.chunk, self.waited_s, self.error = totals, chunk, waited_s, error
        super().__init__(f"chunk {chunk} not acknowledged after {waited_s:.0f} s ({error})")


def is_retryable(err: BaseException) -> bool:
    """Kafka's retriable errors (timeouts, no leader, not enough replicas, no broker) and
    connection errors; anything else (a record too large, an authorisation error) is not."""
    from kafka.errors import KafkaError

    if isinstance(err, KafkaError):
        return bool(getattr(err, "retriable", False))
    return isinstance(err, (OSError, TimeoutError))


SendChunk = Callable[[list, float], tuple[int, int]]


@dataclass(frozen=True)
class Policy:
    """How long and how often to try again, and what counts as worth it."""

    max_wait_s: float
    backoff: Backoff = Backoff()
    retryable: Callable[[BaseException], bool] = is_retryable
    on_retry: Callable[[Retry], None] = lambda _r: None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def retrying(action: Callable[[float], T], policy: Policy, totals: Totals, chunk: int, records: int) -> T:
    """``action(budget_s)`` until it returns, sleeping the backoff after each retryable
    error; ``GaveUp`` once ``policy.max_wait_s`` since the first try would pass."""
    first = policy.clock()
    attempt = 0
    while True:
        budget = max(MIN_ACK_S, policy.max_wait_s - (policy.clock() - first))
        try:
            return action(budget)
        except Exception as err:
            if not policy.retryable(err):
                raise
            attempt += 1
            waited = policy.clock() - first
            delay = policy.backoff.delay(attempt)
            if waited + delay > policy.max_wait_s:
                raise GaveUp(totals, chunk, waited, type(err).__name__) from err
            totals.retries += 1
            policy.on_retry(
                Retry(chunk, records, attempt, type(err).__name__, delay, waited, policy.max_wait_s)
            )
            policy.sleep(delay)


def deliver_all(
    chunks: Iterable[list], send: SendChunk, policy: Policy, totals: Totals | None = None
) -> Totals:
    """Send each chunk (``send(chunk, timeout_s) -> (accepted, rejected)``, raising unless
    every record was acknowledged within ``timeout_s``) until it went through; a
    non-retryable error is raised as it is."""
    totals = totals if totals is not None else Totals()
    for n, chunk in enumerate(chunks, 1):
        accepted, rejected = retrying(partial(send, chunk), policy, totals, n, len(chunk))
        totals.accepted += accepted
        totals.rejected += rejected
        totals.chunks += 1
    return totals


class KafkaChunks:
    """``SendChunk`` over a producer made by ``make_producer``: the chunk through the
    front door (``Ingress``), then every acknowledgement awaited; on any failure the
    producer is dropped (force-closed) and the next send makes a new one."""

    def __init__(
        self,
        make_producer: Callable[[], object],
        events_topic: str,
        dead_letters_topic: str,
        ack_timeout_s: float = 60.0,
    ):
        self.make_producer = make_producer
        self.topics = (events_topic, dead_letters_topic)
        self.ack_timeout_s = ack_timeout_s
        self.producer: object | None = None
        self.producers_made = 0

    def __call__(self, chunk: list, timeout_s: float) -> tuple[int, int]:
        deadline = time.monotonic() + min(self.ack_timeout_s, timeout_s)
        try:
            if self.producer is None:
                self.producer = self.make_producer()
                self.producers_made += 1
            result = Ingress(self.producer, *self.topics, "publish").submit(chunk)
            for fut in result.futures:
                fut.get(timeout=max(0.001, deadline - time.monotonic()))
        except BaseException:
            self.discard()
            raise
        return result.accepted, len(result.rejected)

    def discard(self) -> None:
        producer, self.producer = self.producer, None
        if producer is not None:
            from ..adapters.kafka_clients import discard_producer

            discard_producer(producer)

    def close(self) -> None:
        """Flush and close (everything sent was acknowledged already)."""
        producer, self.producer = self.producer, None
        if producer is not None:
            producer.close(timeout=30)  # type: ignore[attr-defined]


def chunked(records: Iterable, size: int) -> Iterable[list]:
    chunk: list = []
    for rec in records:
        chunk.append(rec)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
