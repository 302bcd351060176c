"""The writer's round logic on the in-memory store: every crash point live/writer.py
argues about, without Kafka (the real broker and chDB confirm it in
tests/integration/kafka/test_writer_rounds.py)."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.adapters.memory_store import MemoryStore
from motcua.domain.events import validate
from motcua.pipeline.rounds import RoundWriter, Stopping
from tests.contract.store_contract import (
    Crash,
    crash_at,
    figures,
    processor_messages,
    reference,
    round_writer,
)
from tests.strategies import delivered, histories


def raw(msgs, n):
    return [(0, f"facts:0:{n}:{i}", orjson.dumps(m)) for i, m in enumerate(msgs)]


@st.composite
def workload(draw):
    events = [validate(dict(e)) for e in draw(histories(max_dossiers=6))]
    sent = draw(delivered(events))
    messages = processor_messages(sent, draw(st.integers(1, 10)))
    per = draw(st.integers(1, 8))
    return events, [messages[i : i + per] for i in range(0, len(messages), per)]


@settings(max_examples=60, deadline=None)
@given(workload(), st.data())
def test_two_writers_reforming_one_round_interleaved_count_it_once(work, data):
    """An ownership split: W1 and W2 both re-form round R; W1 dies (or stalls) after k
    of R's inserts, W2 writes all of R meanwhile, then W1 writes R again from the start."""
    events, rounds = work
    store = MemoryStore()
    for n, msgs in enumerate(rounds):
        if n == data.draw(st.integers(0, max(0, len(rounds) - 1))):
            store.before_insert = crash_at(data.draw(st.integers(1, 4)))
            try:
                round_writer(store).write(f"facts:0:{n}", raw(msgs, n) * 2)  # W1, cut short
            except Crash:
                pass  # (a round with fewer inserts than k completes)
            store.before_insert = lambda table: None
            round_writer(store).write(f"facts:0:{n}", raw(msgs, n) * 2)  # W2, whole
        round_writer(store).write(f"facts:0:{n}", raw(msgs, n) * 2)  # W1 again (or the first write)
    facts, kpi = reference(events)
    assert figures(store, facts) == (facts, kpi)


@settings(max_examples=60, deadline=None)
@given(workload())
def test_a_round_reformed_after_later_rounds_were_written_writes_nothing(work):
    """W2 finished R and went on with later rounds before W1's re-form read the facts:
    those dossiers only have higher versions, so W1's re-form of R inserts no rollup."""
    events, rounds = work
    store = MemoryStore()
    for n, msgs in enumerate(rounds):
        round_writer(store).write(f"facts:0:{n}", raw(msgs, n))
    before = list(store.inserts)
    for n, msgs in enumerate(rounds):  # every round re-formed late
        round_writer(store).write(f"facts:0:{n}", raw(msgs, n))
    assert [t for t in store.inserts[len(before) :] if t != "events"] == []
    facts, kpi = reference(events)
    assert figures(store, facts) == (facts, kpi)


def one_round() -> list[tuple[int, str, bytes]]:
    """A round of facts messages that inserts into every table."""
    from tests.builders import local_ms, received

    events = [validate(received("R1", local_ms(2025, 3, 3))), validate(received("R2", local_ms(2025, 3, 4)))]
    return raw(processor_messages(events, 2), 0)


def test_a_failing_store_is_retried_with_a_doubling_bounded_backoff():
    failures = {"left": 4}

    def flaky(table):
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("store down")

    store = MemoryStore(before_insert=flaky)
    waits: list[float] = []
    w = RoundWriter(
        store,
        check_states=store.check_states,
        dead_letter=lambda *a: {},
        wait=lambda s: waits.append(s) or False,
        max_backoff_s=2.0,
    )
    out = w.write("facts:0:0", one_round())
    assert waits == [0.5, 1.0, 2.0, 2.0]
    assert len(out.transitions) == 2 and store.count("dossier_state") == 2


def test_a_stop_while_waiting_to_retry_raises_stopping():
    def down(table):
        raise ConnectionError("store down")

    store = MemoryStore(before_insert=down)
    w = RoundWriter(store, check_states=store.check_states, dead_letter=lambda *a: {}, wait=lambda s: True)
    with pytest.raises(Stopping):
        w.write("facts:0:0", one_round())


def test_messages_that_fail_the_round_are_refused_and_the_rest_is_written():
    junk = [
        (0, "facts:0:0:90", b"not json"),
        (0, "facts:0:0:91", orjson.dumps({"facts": {"dossier_id": "X", "version": 1}, "events": []})),
    ]
    store = MemoryStore()
    refused = []

    def dead(source, payload, reason):
        refused.append(source)
        return {"dead_letter_id": source, "code": "BAD_FACTS_MESSAGE"}

    out = RoundWriter(store, check_states=store.check_states, dead_letter=dead, wait=lambda s: False).write(
        "facts:0:0", one_round() + junk
    )
    assert sorted(refused) == ["facts:0:0:90", "facts:0:0:91"]
    assert len(out.messages) == 2 and sorted(store.states) == ["R1", "R2"]
    assert sorted(store.dead_letters) == ["facts:0:0:90", "facts:0:0:91"]
