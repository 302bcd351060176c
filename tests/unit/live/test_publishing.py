"""``motcua publish``'s retry policy (live/publishing.py) with a fake producer and a fake
clock: a chunk refused or not acknowledged is sent again, whole, through a new producer,
after a bounded exponential backoff, until acknowledged or ``max_wait_s`` passed. The real
broker path is tests/integration/kafka/test_cluster_faults.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.errors import KafkaTimeoutError, MessageSizeTooLargeError, NotEnoughReplicasError

from motcua.adapters.codec import decode_avro, encode_json
from motcua.live.publishing import (
    Backoff,
    GaveUp,
    KafkaChunks,
    Policy,
    Retry,
    Totals,
    chunked,
    deliver_all,
    is_retryable,
    retrying,
)
from tests.builders import local_ms, received


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


class Acked:
    """What kafka-python's ``send`` returns, settled: ``get`` returns or raises."""

    def __init__(self, err: Exception | None):
        self.err = err

    def get(self, timeout=None):
        if self.err is not None:
            raise self.err


class FakeProducer:
    """Kafka's side: each ``send`` gets a future; ``fail(i)`` says whether the i-th send
    (counted over every producer) fails, and with which error (None: acknowledged)."""

    def __init__(self, world: World):
        self.world, self.closed, self.sent = world, False, []

    def send(self, topic, key=None, value=None):
        assert not self.closed
        err = self.world.outcome()
        if err is None:
            self.world.acked.append((topic, key, value))
        self.sent.append((topic, key))
        return Acked(err)

    def flush(self, timeout=None):
        return None

    def close(self, timeout=None):
        self.closed = True


class World:
    def __init__(self, failures: list):
        self.failures = list(failures)  # one item per send: an error, or None
        self.acked: list = []
        self.producers: list[FakeProducer] = []

    def outcome(self):
        return self.failures.pop(0) if self.failures else None

    def make(self) -> FakeProducer:
        p = FakeProducer(self)
        self.producers.append(p)
        return p


def records(n: int, bad: tuple[int, ...] = ()) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        raw = b"{not json" if i in bad else encode_json(received(f"P{i}", local_ms(2025, 3, 3)))
        out.append((f"test:{i}", raw))
    return out


def run(world: World, recs, size: int, max_wait_s: float = 600.0, backoff: Backoff = Backoff()):
    clock, seen = Clock(), []
    sender = KafkaChunks(world.make, "ev", "dl")
    policy = Policy(max_wait_s, backoff, on_retry=seen.append, clock=clock, sleep=clock.sleep)
    totals = deliver_all(chunked(recs, size), sender, policy)
    return totals, seen, clock, sender


def test_backoff_doubles_up_to_its_bound():
    b = Backoff(first_s=0.5, factor=2.0, max_s=30.0)
    assert [b.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_every_record_goes_through_once_when_kafka_acknowledges():
    world = World([])
    totals, seen, clock, sender = run(world, records(10, bad=(3,)), size=4)
    assert (totals.accepted, totals.rejected, totals.chunks, totals.retries) == (9, 1, 3, 0)
    assert seen == [] and clock.sleeps == [] and sender.producers_made == 1
    assert sum(1 for t, _k, _v in world.acked if t == "ev") == 9
    assert sum(1 for t, _k, _v in world.acked if t == "dl") == 1


def test_a_refused_chunk_is_sent_again_whole_through_a_new_producer_after_backoff():
    # chunk 1 (4 records): the 3rd send refused twice in a row (NOT_ENOUGH_REPLICAS, then
    # an acknowledgement timeout), then everything acknowledged
    world = World([None, None, NotEnoughReplicasError(), None, KafkaTimeoutError()])
    totals, seen, clock, sender = run(world, records(6), size=4)
    assert (totals.accepted, totals.chunks, totals.retries) == (6, 2, 2)
    assert [(r.chunk, r.records, r.attempt, r.error) for r in seen] == [
        (1, 4, 1, "NotEnoughReplicasError"),
        (1, 4, 2, "KafkaTimeoutError"),
    ]
    assert clock.sleeps == [0.5, 1.0]
    assert sender.producers_made == 3 and all(p.closed for p in world.producers[:2])
    keys = [k for _t, k, _v in world.acked]
    # the records of chunk 1 that Kafka did take on a failed try are there twice: the
    # duplicates the pipeline drops by event_id
    assert len(keys) == 3 + 3 + 4 + 2 and set(keys) == {f"P{i}".encode() for i in range(6)}
    ids = {decode_avro(v)["event_id"] for _t, _k, v in world.acked}
    assert len(ids) == 6


def test_gives_up_after_max_wait_saying_what_was_acknowledged():
    world = World([None, None] + [NotEnoughReplicasError()] * 1000)
    with pytest.raises(GaveUp) as info:
        run(world, records(5), size=2, max_wait_s=20.0, backoff=Backoff(1.0, 2.0, 8.0))
    err = info.value
    assert err.chunk == 2 and err.totals.accepted == 2 and err.error == "NotEnoughReplicasError"
    assert err.waited_s <= 20.0


def test_a_non_retryable_error_is_not_retried():
    world = World([MessageSizeTooLargeError()])
    with pytest.raises(MessageSizeTooLargeError):
        run(world, records(3), size=3)
    assert not is_retryable(MessageSizeTooLargeError()) and is_retryable(KafkaTimeoutError())
    assert is_retryable(ConnectionError()) and not is_retryable(ValueError())


def test_a_producer_that_cannot_be_made_is_retried_too():
    made = {"n": 0}
    world = World([])

    def flaky():
        made["n"] += 1
        if made["n"] < 3:
            raise KafkaTimeoutError("no broker")
        return world.make()

    clock = Clock()
    seen: list[Retry] = []
    policy = Policy(60, on_retry=seen.append, clock=clock, sleep=clock.sleep)
    totals = deliver_all(chunked(records(3), 10), KafkaChunks(flaky, "ev", "dl"), policy)
    assert totals.accepted == 3 and totals.retries == 2 and len(seen) == 2


def test_a_step_before_the_chunks_is_retried_under_the_same_policy_and_limit():
    clock, seen = Clock(), []
    policy = Policy(10, Backoff(1.0, 2.0, 4.0), on_retry=seen.append, clock=clock, sleep=clock.sleep)
    calls = []

    def topics(budget):
        calls.append(budget)
        raise ConnectionRefusedError("no broker")

    totals = Totals()
    with pytest.raises(GaveUp) as info:
        retrying(topics, policy, totals, 0, 0)
    # tries at 0, 1, 3, 7 s; the next pause (4 s) would pass the 10 s limit
    assert clock.sleeps == [1.0, 2.0, 4.0] and len(calls) == 4 and totals.retries == 3
    assert info.value.chunk == 0 and info.value.error == "ConnectionRefusedError"
    assert [r.chunk for r in seen] == [0, 0, 0] and calls[0] == 10


@settings(max_examples=60, deadline=None)
@given(
    failures=st.lists(st.sampled_from([None, None, None, "nr", "to"]), max_size=40),
    n=st.integers(1, 25),
    size=st.integers(1, 7),
)
def test_any_pattern_of_retryable_failures_ends_with_every_record_acknowledged(failures, n, size):
    errs = {None: None, "nr": NotEnoughReplicasError(), "to": KafkaTimeoutError()}
    world = World([errs[f] for f in failures])
    # the backoff never exceeds the budget here: every chunk goes through in the end
    totals, seen, clock, _ = run(world, records(n), size, max_wait_s=1e9, backoff=Backoff(0.1, 2.0, 1.0))
    assert totals.accepted == n and totals.chunks == -(-n // size)
    assert totals.retries == len(seen) == len(clock.sleeps)
    acked = {decode_avro(v)["dossier_id"] for _t, _k, v in world.acked}
    assert acked == {f"P{i}" for i in range(n)}
    assert all(d <= 1.0 for d in clock.sleeps)
