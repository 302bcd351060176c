"""The writer's round protocol (``pipeline.rounds.FactsRounds``) over a fake consumer
group: a writer killed at any insert or commit, then another one taking its partitions
over, writes every fact once (the same on a real broker:
tests/integration/kafka/test_writer_rounds.py)."""

from __future__ import annotations

from collections import namedtuple
from types import SimpleNamespace

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.adapters.memory_store import MemoryStore
from motcua.domain.events import validate
from motcua.pipeline.rounds import CommitRejected, FactsRounds
from tests.contract.store_contract import Crash, figures, processor_messages, reference, round_writer
from tests.strategies import delivered, histories

TP = namedtuple("TP", "topic partition")


def some_events(n: int) -> list[dict]:
    from tests.builders import local_ms, make_event, received

    out = []
    for i in range(n):
        d = f"W{i}"
        out.append(validate(received(d, local_ms(2025, 3, 3 + i % 5))))
        if i % 2:
            out.append(validate(make_event(d, 2, "RESOLVED", local_ms(2025, 3, 10))))
    return out


TOPIC = "facts"
PARTITIONS = 3


class Group:
    """The broker's side: the facts topic's records and the group's committed offsets."""

    def __init__(self, messages: list[dict]):
        self.log: dict[int, list] = {p: [] for p in range(PARTITIONS)}
        for m in messages:
            p = sum(m["facts"]["dossier_id"].encode()) % PARTITIONS  # one dossier, one partition
            self.log[p].append(SimpleNamespace(offset=len(self.log[p]), value=orjson.dumps(m)))
        self.committed: dict[int, tuple[int, str]] = {}


class FakeOffsets:
    """One writer's ``OffsetLog`` on the group; ``die(what)`` may raise Crash."""

    def __init__(self, group: Group, die=lambda what: None):
        self.group, self.die = group, die
        self.position = {TP(TOPIC, p): 0 for p in range(PARTITIONS)}

    partition = staticmethod(TP)

    @staticmethod
    def intent(r, tps):
        return {tp: (r.range_of(tp.partition)[0], r.metadata()) for tp in tps}

    @staticmethod
    def final(r, tps):
        return {tp: (r.range_of(tp.partition)[1] + 1, "") for tp in tps}

    def commit(self, offsets):
        self.die("commit")
        self.group.committed.update({tp.partition: v for tp, v in offsets.items()})
        self.die("committed")

    def committed(self, tp):
        return self.group.committed.get(tp.partition, (None, None))

    def seek(self, tp, offset):
        self.position[tp] = offset

    def seek_to_beginning(self, tp):
        self.position[tp] = 0

    def assignment(self):
        return set(self.position)

    def read_round(self, r):
        return {p: self.group.log[p][first : last + 1] for p, first, last in r.parts}

    def poll(self, n: int) -> dict:
        out = {}
        for tp, at in self.position.items():
            recs = self.group.log[tp.partition][at : at + n]
            if recs:
                out[tp] = recs
                self.position[tp] = at + len(recs)
        return out


def run_writer(
    group: Group, store: MemoryStore, poll: int, batch: int, die=lambda what: None, recent: int = 0
) -> None:
    """One writer owning every partition until the group's offsets reach the end."""
    offsets = FakeOffsets(group, die)
    rounds = FactsRounds(lambda: round_writer(store, recent), offsets, batch_size=batch, batch_seconds=1e9)
    rounds.assigned(sorted(offsets.position))
    end = {p: len(recs) for p, recs in group.log.items()}
    for _ in range(10_000):
        rounds.step(0.0)
        for tp, recs in offsets.poll(poll).items():
            rounds.add(tp, recs, 0.0)
        rounds.step(0.0)
        if all(not rounds.pending.get(tp) for tp in offsets.position) and all(
            group.committed.get(p, (0, ""))[0] == end[p] for p in end
        ):
            return
        rounds.batch_seconds = 0.0  # flush what is left once everything was polled
    raise AssertionError("the writer never drained the topic")


def dying_at(k: int, stages: list[str]):
    """Die at the k-th commit or insert (a SIGKILL: nothing after it runs)."""
    seen = {"n": 0}

    def hook(what: str) -> None:
        stages.append(what)
        seen["n"] += 1
        if seen["n"] == k:
            raise Crash(what)

    return hook


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_a_writer_killed_anywhere_then_replaced_writes_every_fact_once(data):
    events = [validate(dict(e)) for e in data.draw(histories(max_dossiers=8))]
    sent = data.draw(delivered(events))
    group = Group(processor_messages(sent, data.draw(st.integers(1, 6))))
    store = MemoryStore()
    poll, batch = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    stages: list[str] = []
    hook = dying_at(data.draw(st.integers(1, 40)), stages)
    store.before_insert = hook
    recent = data.draw(st.sampled_from([0, 2, 1000]))  # the facts it remembers
    try:
        run_writer(group, store, poll, batch, die=hook, recent=recent)
    except Crash:
        pass
    store.before_insert = lambda table: None
    # the next owner, from the committed offsets; it polls and batches differently, so
    # only re-forming the interrupted round exactly keeps its tokens
    run_writer(group, store, data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6)), recent=recent)
    facts, kpi = reference(events)
    assert figures(store, facts) == (facts, kpi)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_writers_handing_partitions_back_and_forth_write_every_fact_once(data):
    """Two writers, each remembering the facts it wrote (``RecentFacts``), own the
    partitions in turns (a rebalance between turns): a writer that gets them back must
    not trust what it remembers from before, as the other wrote newer facts meanwhile."""
    events = [validate(dict(e)) for e in data.draw(histories(max_dossiers=8))]
    sent = data.draw(delivered(events))
    group = Group(processor_messages(sent, data.draw(st.integers(1, 4))))
    store = MemoryStore()
    writers = []
    for _ in range(2):
        offsets = FakeOffsets(group)
        batch = data.draw(st.integers(1, 4))
        writers.append((FactsRounds(lambda: round_writer(store, 1000), offsets, batch, 1e9), offsets))
    for _turn in range(data.draw(st.integers(1, 8))):
        rounds, offsets = writers[data.draw(st.integers(0, 1))]
        tps = sorted(offsets.position)
        rounds.assigned(tps)
        for _ in range(data.draw(st.integers(1, 3))):
            rounds.step(0.0)
            for tp, recs in offsets.poll(data.draw(st.integers(1, 4))).items():
                rounds.add(tp, recs, 0.0)
            rounds.step(0.0)
        rounds.revoked(tps)
    run_writer(group, store, 100, 100, recent=1000)  # the last owner drains what is left
    facts, kpi = reference(events)
    assert figures(store, facts) == (facts, kpi)


def test_a_writer_given_its_partitions_back_reads_what_the_other_wrote_meanwhile():
    """A writes X open, B writes X resolved, A gets X's result returned: A must retract
    the resolved facts B wrote, not the open ones it remembers."""
    from tests.builders import local_ms, make_event, received

    events = [
        validate(received("X", local_ms(2025, 3, 3))),
        validate(make_event("X", 2, "RESOLVED", local_ms(2025, 3, 4))),
        validate(make_event("X", 3, "RESULT_RETURNED", local_ms(2025, 3, 5))),
    ]
    group = Group(processor_messages(events, 1))  # one message per event, versions 1, 2, 3
    store = MemoryStore()
    a, b = (FactsRounds(lambda: round_writer(store, 1000), FakeOffsets(group), 1, 0.0) for _ in range(2))
    for rounds in (a, b, a):
        offsets = rounds.offsets
        tps = sorted(offsets.position)
        rounds.assigned(tps)
        rounds.step(0.0)
        for tp, recs in offsets.poll(1).items():
            rounds.add(tp, recs, 0.0)
        rounds.step(0.0)
        rounds.revoked(tps)
    assert sum(len(recs) for recs in group.log.values()) == 3
    assert all(off == len(group.log[p]) for p, (off, _m) in group.committed.items())
    facts, kpi = reference(events)
    assert figures(store, facts) == (facts, kpi)


def test_an_interrupted_round_is_reformed_with_its_own_composition_first():
    events = some_events(6)
    group = Group(processor_messages(events, 2))
    store = MemoryStore()
    stages: list[str] = []
    try:  # die right after the first intent was committed
        run_writer(group, store, 100, 100, die=dying_at(2, stages))
    except Crash:
        pass
    intents = {p: meta for p, (_o, meta) in group.committed.items() if meta}
    assert intents, "the first commit is an intent"
    offsets = FakeOffsets(group)
    rounds = FactsRounds(lambda: round_writer(store), offsets, batch_size=100, batch_seconds=1e9)
    rounds.assigned(sorted(offsets.position))
    rounds.step(0.0)  # reads the intents and re-forms their round before anything else
    assert rounds.reformed and not rounds.intents
    assert all(not meta for _o, meta in group.committed.values())


def test_a_rejected_commit_drops_the_round_and_reads_its_partitions_again():
    events = some_events(4)
    group = Group(processor_messages(events, 4))
    store = MemoryStore()
    offsets = FakeOffsets(group)
    rejected = {"left": 1}

    def commit(o):
        if rejected["left"]:
            rejected["left"] -= 1
            raise CommitRejected()
        FakeOffsets.commit(offsets, o)

    offsets.commit = commit
    rounds = FactsRounds(lambda: round_writer(store), offsets, batch_size=1, batch_seconds=0.0)
    rounds.assigned(sorted(offsets.position))
    rounds.step(0.0)
    for tp, recs in offsets.poll(100).items():
        rounds.add(tp, recs, 0.0)
    rounds.step(0.0)  # the first round's intent is rejected: nothing written, partitions unchecked
    assert rounds.unchecked and store.inserts == []
    run_writer(group, store, 100, 1)
    facts, kpi = reference(events)
    assert figures(store, facts) == (facts, kpi)
