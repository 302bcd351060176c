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
from motcua.pipeline.rounds import RecentFacts, RoundWriter, Stopping
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


@settings(max_examples=80, deadline=None)
@given(workload(), st.integers(1, 4), st.data())
def test_a_writer_remembering_what_it_wrote_counts_every_fact_once(work, recent, data):
    """One writer keeping the facts of its last ``recent`` dossiers (so some are forgotten
    while still in use), the store failing at drawn inserts (each failed attempt clears
    what it remembers; the round is retried), and earlier messages sent again later in
    new rounds (a restarted processor): every fact counts once."""
    events, rounds = work
    fail_at = set(data.draw(st.lists(st.integers(1, 40), max_size=6)))
    inserts = {"n": 0}

    def flaky(table):
        inserts["n"] += 1
        if inserts["n"] in fail_at:
            raise ConnectionError("store down")

    store = MemoryStore(before_insert=flaky)
    w = round_writer(store, recent=recent, wait=lambda s: False)
    for n, msgs in enumerate(rounds):
        w.write(f"facts:0:{n}", raw(msgs, n))
        if data.draw(st.booleans()):
            again = rounds[data.draw(st.integers(0, n))]
            w.write(f"facts:0:{n}-again", raw(again, n))
    facts, kpi = reference(events)
    assert figures(store, facts) == (facts, kpi)


class CountingStore(MemoryStore):
    def __init__(self):
        super().__init__()
        self.reads: list[tuple[str, tuple]] = []

    def facts_of(self, dossier_ids):
        self.reads.append(("facts_of", tuple(dossier_ids)))
        return super().facts_of(dossier_ids)

    def stored_dossiers(self, dossier_ids):
        self.reads.append(("stored_dossiers", tuple(dossier_ids)))
        return super().stored_dossiers(dossier_ids)

    def calls(self) -> list[tuple[str, tuple]]:
        """The reads in order, each with its ids sorted (a round's ids are a set)."""
        return [(what, tuple(sorted(ids))) for what, ids in self.reads]


def test_recent_facts_read_the_store_only_for_dossiers_not_seen():
    store = CountingStore()
    w = round_writer(store, recent=2)
    w.write("facts:0:0", one_round())  # R1, R2: new, so not read in full
    assert store.calls() == [("stored_dossiers", ("R1", "R2"))]
    store.reads.clear()
    recent = w.recent
    assert isinstance(recent, RecentFacts) and len(recent) == 2
    assert recent.facts_of(["R1", "R2"]) == store.facts_of(["R1", "R2"])
    assert store.reads == [("facts_of", ("R1", "R2"))]  # only the comparison's own read
    store.reads.clear()
    w.forget()
    assert recent.facts_of(["R2", "R1"]) == store.facts_of(["R1", "R2"])
    assert store.calls()[:2] == [("stored_dossiers", ("R1", "R2")), ("facts_of", ("R1", "R2"))]


def test_recent_facts_forget_the_least_recently_written_first():
    store = MemoryStore()
    recent = RecentFacts(store, capacity=2)
    facts = {d: {"dossier_id": d, "version": 1} for d in ("A", "B", "C")}
    recent.remember({"A": facts["A"], "B": facts["B"]}, [])
    recent.remember({"A": facts["A"]}, [])  # A written again: B is now the oldest
    recent.remember({"C": facts["C"]}, [])
    assert recent.facts_of(["A", "B", "C"]) == {"A": facts["A"], "C": facts["C"]}  # B: not stored


def test_a_failed_attempt_forgets_what_the_writer_remembered():
    down = {"on": False}

    def flaky(table):
        if down["on"]:
            down["on"] = False
            raise ConnectionError("store down")

    store = CountingStore()
    store.before_insert = flaky
    w = round_writer(store, recent=10, wait=lambda s: False)
    w.write("facts:0:0", one_round())
    store.reads.clear()
    w.write("facts:0:0", one_round())  # the same round again: remembered, no read
    assert store.reads == []
    down["on"] = True
    w.write("facts:0:0", one_round())  # its first insert fails: retried from the store
    assert store.calls() == [("stored_dossiers", ("R1", "R2")), ("facts_of", ("R1", "R2"))]


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
