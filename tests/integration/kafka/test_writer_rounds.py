"""Rounds of the writer (several partitions flushed together, one intent naming them all)
against the real broker and chDB: a writer dying at every stage of a round, failures retried
at every stage, an interrupted round re-formed by two writers that each own part of it, and
an intent left by the previous (one batch per partition) version. Every run ends equal to
the embedded replay of the same events, rollup totals included (nothing counted twice)."""

from __future__ import annotations

import threading
import time
from datetime import date

import orjson
import pytest

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.adapters.kafka_clients import end_offsets
from motcua.domain.periods import Period
from motcua.live.writer import Writer
from motcua.pipeline.rounds import Round, batch_events, plan_facts, write_transitions
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline

from .storeprobe import rollup_totals
from .tools import dossier_of, kcat_produce, simulated

pytestmark = pytest.mark.kafka
cal = default_calendar()
STAGES = ("intent", "events", "rollup", "backlog", "states", "final")


class Crash(BaseException):
    """The writer dies here: nothing after this point runs (not an ``Exception``, so no
    retry loop catches it)."""


class StageStore(ClickHouseStore):
    """The real store; calls ``hook(stage)`` at each stage of a round: "intent" (intent
    committed, before the events insert), "events", "read" (facts read), "rollup", "backlog",
    "states" (each once its insert landed). Store calls are serialised: two writers of one
    test share the in-process chDB."""

    lock = threading.Lock()

    def __init__(self, dsn: str, hook=None):
        super().__init__(dsn)
        self.hook = hook or (lambda stage: None)

    def insert_events(self, *a, **kw):
        self.hook("intent")
        with self.lock:
            super().insert_events(*a, **kw)
        self.hook("events")

    def facts_of(self, *a, **kw):
        with self.lock:
            out = super().facts_of(*a, **kw)
        self.hook("read")
        return out

    def stored_dossiers(self, dossier_ids):
        """Every id, so that a round's read of what the writer does not remember is always
        one ``facts_of`` (which returns only the stored ones): "read" stays one stage."""
        return set(dossier_ids)

    def insert_rollup(self, *a, **kw):
        with self.lock:
            super().insert_rollup(*a, **kw)
        self.hook("rollup")

    def insert_backlog(self, *a, **kw):
        with self.lock:
            super().insert_backlog(*a, **kw)
        self.hook("backlog")

    def insert_states(self, *a, **kw):
        with self.lock:
            super().insert_states(*a, **kw)
        self.hook("states")

    def insert_dead_letters(self, *a, **kw):
        with self.lock:
            super().insert_dead_letters(*a, **kw)


class StagedWriter(Writer):
    """A Writer that knows the round it is writing and acts at a chosen stage of a round of
    at least ``min_parts`` partitions, once ``skip`` such rounds have gone by: ``crash``
    raises Crash (the writer dies), ``fail`` raises ConnectionError (the store failed after
    the insert landed: the writer retries), ``reject_final``/``reject_intent`` make that
    offset commit rejected (as a rebalance does: nothing committed)."""

    def __init__(self, settings, dsn, crash=None, fail=(), reject=(), min_parts=2, skip=0, **kw):
        super().__init__(settings, store=StageStore(dsn, self.hook), **kw)
        self.crash, self.fail, self.reject = crash, set(fail), set(reject)
        self.min_parts, self.skip = min_parts, skip
        self.round: Round | None = None
        self.multi = 0  # rounds of >= min_parts partitions begun
        self.crashed: tuple[str, Round] | None = None
        self.failed: list[tuple[str, Round]] = []
        self.rejected: list[tuple[str, Round]] = []
        self.on_stage = None  # extra hook(writer, stage), e.g. a barrier

    def _write_round(self, r, batches, final, intent):
        self.round = r
        if len(r.parts) >= self.min_parts:
            self.multi += 1
        try:
            return super()._write_round(r, batches, final, intent)
        finally:
            self.round = None

    def armed(self) -> bool:
        return self.round is not None and len(self.round.parts) >= self.min_parts and self.multi > self.skip

    def hook(self, stage: str) -> None:
        if self.on_stage is not None:
            self.on_stage(self, stage)
        if not self.armed():
            return
        if stage == self.crash:
            self.crashed = (stage, self.round)
            raise Crash(stage)
        if stage in self.fail:
            self.fail.discard(stage)
            self.failed.append((stage, self.round))
            raise ConnectionError(f"ClickHouse is down ({stage})")

    def _commit(self, offsets):
        final = all(not om.metadata for om in offsets.values())
        kind = "final" if final else "intent"
        if self.armed() and f"reject_{kind}" in self.reject:
            self.reject.discard(f"reject_{kind}")
            self.rejected.append((kind, self.round))
            return False
        ok = super()._commit(offsets)
        if ok and final:
            self.hook("final")
        return ok


def run_until_crash(writer: StagedWriter, timeout: float = 180) -> None:
    t = start(writer)
    t.join(timeout)
    if t.is_alive():  # never got there: stop it so the test fails cleanly
        writer.stop()
        t.join(60)


def wait_until(cond, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def start(writer: Writer) -> threading.Thread:
    def target():
        try:
            writer.run()
        except Crash:
            pass

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t


def committed(pipeline) -> dict:
    """The writer group's committed offsets of the facts topic: partition -> (offset, metadata)."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=pipeline.bootstrap)
    try:
        offs = admin.list_group_offsets(pipeline.settings.writer_group).get(
            pipeline.settings.writer_group, {}
        )
    finally:
        admin.close()
    return {
        tp.partition: (om.offset, om.metadata)
        for tp, om in offs.items()
        if tp.topic == pipeline.settings.facts_topic
    }


def wait_processed(pipeline, timeout: float = 300) -> None:
    """The processor committed the end of the events topic (its facts are produced)."""
    from kafka import KafkaAdminClient

    s = pipeline.settings
    admin = KafkaAdminClient(bootstrap_servers=pipeline.bootstrap)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = pipeline._group_offsets(admin, s.processor_app_id)
            ends = end_offsets(pipeline.bootstrap, s.events_topic)
            if all(done.get((s.events_topic, p), 0) >= e for p, e in ends.items()):
                return
            time.sleep(0.5)
    finally:
        admin.close()
    raise AssertionError("the processor did not get through the events")


def snapshot(store: ClickHouseStore) -> dict:
    """What must equal the replay: KPI rows, open backlog, row counts, and the column totals
    of every rollup table: a delta counted twice shows."""
    period = Period(date(2025, 3, 1), date(2025, 4, 1))
    as_of = 1_744_000_000_000
    q = store.client.query
    return {
        "kpi": {by: store.kpi(period, as_of, by, cal) for by in ("all", "level", "unit")},
        "events": store.count("events"),
        "dossiers": store.count("dossier_state"),
        "backlog": [
            tuple(r)
            for r in q(
                f"SELECT due_date, unit_code, sum(open) AS n FROM {store.db}.open_backlog "
                "GROUP BY due_date, unit_code HAVING n != 0 ORDER BY due_date, unit_code"
            ).result_rows
        ],
        "totals": rollup_totals(store),
    }


def truth(chdb_path, name: str, lines: list[bytes]) -> dict:
    store = ClickHouseStore(f"chdb://{chdb_path}?database={name}_truth")
    EmbeddedPipeline(store, cal).ingest((f"l:{i}", x) for i, x in enumerate(lines))
    return snapshot(store)


def assert_same(live: dict, expected: dict, lines: list[bytes]) -> None:
    assert live["events"] == expected["events"] == len({orjson.loads(x)["event_id"] for x in lines})
    assert live["dossiers"] == expected["dossiers"]
    assert live["backlog"] == expected["backlog"]
    assert live["totals"] == expected["totals"]
    assert live["kpi"] == expected["kpi"]


def produce(pipeline, lines: list[bytes]) -> None:
    kcat_produce(pipeline.bootstrap, pipeline.settings.events_topic, [(dossier_of(x), x) for x in lines])


def test_a_writer_dying_at_every_stage_of_multi_partition_rounds(pipeline, tmp_path, chdb_path):
    lines = simulated(tmp_path / "events.jsonl", date(2025, 3, 3), date(2025, 3, 11), seed=7, scale=0.15)
    settings = pipeline.settings.model_copy(update={"writer_batch_size": 400, "writer_batch_seconds": 0.2})
    dsn = f"chdb://{chdb_path}?database=rounds_crash"
    processor = pipeline.processor().start()
    crashing = threading.Event()
    chunks = [lines[i : i + 150] for i in range(0, len(lines), 150)]

    def feed():  # input keeps arriving while writers die
        for chunk in chunks:
            produce(pipeline, chunk)
            if crashing.is_set():
                time.sleep(0.3)

    crashing.set()
    produce(pipeline, chunks.pop(0))
    assert wait_until(lambda: sum(end_offsets(pipeline.bootstrap, settings.facts_topic).values()), 180), (
        "the processor produced no facts"
    )
    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    crashes = []
    last = thread = None
    try:
        for i, stage in enumerate(STAGES * 2):
            # even: dies in the first round of >= 2 partitions it writes (often the re-form
            # of the last crash's round); odd: a later one. Second pass: rounds cut to two
            # partitions by a tight metadata limit.
            w = StagedWriter(
                settings,
                dsn,
                crash=stage,
                skip=i % 2,
                max_backoff_s=0.2,
                **({"max_metadata_bytes": 40} if i >= len(STAGES) else {}),
            )
            run_until_crash(w)
            assert w.crashed is not None, f"writer {i} never reached stage {stage}"
            crashes.append((stage, len(w.crashed[1].parts), bool(w.reformed)))
            if stage != "final":  # the intent names the whole round on each of its partitions
                r = w.crashed[1]
                left = committed(pipeline)
                for p, first, _last in r.parts:
                    assert left[p][0] == first
                    assert Round.from_commit(r.topic, p, first, left[p][1]) == r
        crashing.clear()
        feeder.join(300)
        last = StagedWriter(settings, dsn)
        thread = start(last)
        pipeline.wait_drained(watch=[processor])
    finally:
        crashing.clear()
        if last is not None:
            last.stop()
            thread.join(60)
        processor.stop()
    assert all(parts >= 2 for _stage, parts, _ in crashes), crashes
    assert {parts for _stage, parts, _ in crashes[len(STAGES) :]} == {2}, crashes
    assert any(reformed for *_, reformed in crashes), crashes
    assert_same(snapshot(last.store), truth(chdb_path, "rounds_crash", lines), lines)


def test_failures_at_every_stage_of_a_round_are_retried(pipeline, tmp_path, chdb_path):
    lines = simulated(tmp_path / "events.jsonl", date(2025, 3, 3), date(2025, 3, 9), seed=8, scale=0.12)
    settings = pipeline.settings.model_copy(update={"writer_batch_size": 400, "writer_batch_seconds": 0.2})
    dsn = f"chdb://{chdb_path}?database=rounds_fail"
    w = StagedWriter(
        settings,
        dsn,
        fail=("events", "read", "rollup", "backlog", "states"),
        reject=("reject_intent", "reject_final"),
        max_backoff_s=0.2,
    )
    processor = pipeline.processor().start()
    thread = start(w)
    try:
        for i in range(0, len(lines), 300):
            produce(pipeline, lines[i : i + 300])
            time.sleep(0.2)
        pipeline.wait_drained(watch=[processor])
    finally:
        w.stop()
        thread.join(60)
        processor.stop()
    assert sorted(s for s, _ in w.failed) == ["backlog", "events", "read", "rollup", "states"]
    assert sorted(k for k, _ in w.rejected) == ["final", "intent"]
    assert all(len(r.parts) >= 2 for _, r in w.failed + w.rejected)
    # the round whose final commit was rejected was re-formed from its intent
    final_rejected = next(r for k, r in w.rejected if k == "final")
    assert any(r == final_rejected for r, _owned in w.reformed)
    assert_same(snapshot(w.store), truth(chdb_path, "rounds_fail", lines), lines)


class SplitWriter(StagedWriter):
    """Reads its committed intents only once the group is split and stable (two members,
    this one owning some but not all facts partitions) and ``ready()`` says so; until then
    its partitions stay unchecked: nothing is written from them."""

    def __init__(self, *a, ready=lambda w: True, **kw):
        super().__init__(*a, **kw)
        self.ready = ready
        self.admin = None
        self.next_check = 0.0
        self.settled = None

    def stable(self) -> bool:
        """Two members, both holding partitions, unchanged for 3 s (past the extra
        rebalance kafka-python's leader asks for once it has the topics' metadata)."""
        from kafka import KafkaAdminClient

        now = time.monotonic()
        if now < self.next_check:
            return False
        self.next_check = now + 0.5
        if self.admin is None:
            self.admin = KafkaAdminClient(bootstrap_servers=self.s.kafka_bootstrap)
        try:
            g = self.admin.describe_groups([self.s.writer_group])[self.s.writer_group]
        except Exception:
            return False
        members = tuple(sorted(m["member_id"] for m in g["members"]))
        if not (
            g["group_state"] == "Stable"
            and len(members) == 2
            and all(m.get("member_assignment") for m in g["members"])
        ):
            self.settled = None
            return False
        if self.settled is None or self.settled[0] != members:
            self.settled = (members, now)
            return False
        return now - self.settled[1] >= 3.0

    def _read_intents(self):
        mine = {tp for tp in self.consumer.assignment() if tp.topic == self.s.facts_topic}
        if 0 < len(mine) < self.s.facts_partitions and self.ready(self) and self.stable():
            super()._read_intents()


@pytest.mark.parametrize("crash_at,together", [("rollup", True), ("states", False)])
def test_a_round_split_between_two_writers(pipeline, tmp_path, chdb_path, crash_at, together):
    """W0 dies in a round over all four partitions; W1 and W2 then own two each. Both
    re-form the whole round (reading the other's partitions with a group-less consumer) and
    commit only their own: together (both read the written facts before either writes), or
    one after the other (W1 has gone on with later rounds of its partitions before W2
    re-forms)."""
    lines = simulated(tmp_path / "events.jsonl", date(2025, 3, 3), date(2025, 3, 9), seed=9, scale=0.1)
    half = len(lines) // 2
    settings = pipeline.settings.model_copy(
        update={"writer_batch_size": 100_000, "writer_batch_seconds": 1.0}
    )
    name = f"rounds_split_{crash_at}"
    dsn = f"chdb://{chdb_path}?database={name}"
    processor = pipeline.processor().start()
    writers, threads = [], []
    try:
        produce(pipeline, lines[:half])
        wait_processed(pipeline)
        w0 = StagedWriter(settings, dsn, crash=crash_at, min_parts=4)
        run_until_crash(w0)
        assert w0.crashed is not None
        r = w0.crashed[1]
        assert [p for p, _f, _l in r.parts] == [0, 1, 2, 3]
        assert all(
            Round.from_commit(r.topic, p, off, meta) == r for p, (off, meta) in committed(pipeline).items()
        )

        short = settings.model_copy(update={"writer_batch_size": 400, "writer_batch_seconds": 0.2})
        barrier = threading.Barrier(2, timeout=60)
        first_done = threading.Event()

        def meet(w, stage):  # together: both have read the facts before either writes
            if together and stage == "read" and w.round == r and not getattr(w, "met", False):
                w.met = True
                barrier.wait()

        def w1_ready(w):
            return True

        def w2_ready(w):  # one after the other: W1 re-formed R and wrote a later round
            return together or first_done.is_set()

        w1 = SplitWriter(short, dsn, ready=w1_ready)
        w2 = SplitWriter(short, dsn, ready=w2_ready)
        writers += [w1, w2]
        w1.on_stage = w2.on_stage = meet

        def note(rr, _messages, _acked):
            if w1.reformed and rr != r:
                first_done.set()

        w1.on_flushed = note
        threads += [start(w1), start(w2)]
        produce(pipeline, lines[half:])
        if not together:
            assert wait_until(first_done.is_set, 300), (
                "W1 did not go on after re-forming",
                [
                    (
                        sorted(w.consumer.assignment()),
                        sorted(w.unchecked),
                        w.intents,
                        w.reformed,
                        w.flushed_batches,
                    )
                    for w in (w1, w2)
                ],
                [t.is_alive() for t in threads],
            )
        assert wait_until(lambda: w1.reformed and w2.reformed, 300), [
            (w.reformed, sorted(w.unchecked), w.intents, w.flushed_batches) for w in (w1, w2)
        ]
        pipeline.wait_drained(watch=[processor])
    finally:
        for w in writers:
            w.stop()
        for t in threads:
            t.join(60)
        for w in writers:
            if getattr(w, "admin", None) is not None:
                w.admin.close()
        processor.stop()
    assert not barrier.broken  # together: both read the facts before either wrote
    mine = []
    for w in (w1, w2):
        owned = [owned for rr, owned in w.reformed if rr == r]
        assert owned, "each writer re-formed the whole round"
        assert 0 < len(owned[0]) < 4
        mine += owned[0]
    assert sorted(mine) == [0, 1, 2, 3]
    assert_same(snapshot(w1.store), truth(chdb_path, name, lines), lines)


def test_an_intent_of_the_previous_version_is_re_formed(pipeline, tmp_path, chdb_path):
    """The previous version committed ``{"last": N}`` at a batch's first offset, one batch
    per partition, with tokens from ``<topic>:<p>:<first>-<last>``. Left: partition 0 died
    after its rollup insert, partition 1 right after its intent. The new writer re-forms
    both as one-partition rounds with the same tokens."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    lines = simulated(tmp_path / "events.jsonl", date(2025, 3, 3), date(2025, 3, 8), seed=10, scale=0.05)
    s = pipeline.settings
    dsn = f"chdb://{chdb_path}?database=rounds_legacy"
    processor = pipeline.processor().start()
    thread = None
    try:
        produce(pipeline, lines)
        wait_processed(pipeline)
        ends = end_offsets(pipeline.bootstrap, s.facts_topic)
        last0, last1 = min(ends[0], 120) - 1, min(ends[1], 80) - 1
        assert last0 > 10 and last1 > 10
        # what the previous version wrote of partition 0's batch before dying: the events,
        # then write_transitions(token_prefix=<topic>:0:0-N) up to its rollup insert
        reader = KafkaConsumer(
            bootstrap_servers=pipeline.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        tp0, tp1 = TopicPartition(s.facts_topic, 0), TopicPartition(s.facts_topic, 1)
        reader.assign([tp0])
        records = []
        while not records or records[-1].offset < last0:
            for recs in reader.poll(timeout_ms=1000).values():
                records += recs
        reader.close()
        messages = [orjson.loads(x.value) for x in records if x.offset <= last0]

        def die_after_rollup(stage):
            if stage == "rollup":
                raise Crash(stage)

        old = StageStore(dsn, die_after_rollup)
        token = f"{s.facts_topic}:0:0-{last0}"
        events, payloads = batch_events(messages)
        old.insert_events(events, payloads, token=f"events:{token}")
        transitions = plan_facts(messages, old.facts_of(list({m["facts"]["dossier_id"] for m in messages})))
        assert transitions
        with pytest.raises(Crash):
            write_transitions(old, transitions, token_prefix=token)
        intents = KafkaConsumer(
            bootstrap_servers=pipeline.bootstrap, group_id=s.writer_group, enable_auto_commit=False
        )
        intents.commit(
            {
                tp0: OffsetAndMetadata(0, orjson.dumps({"last": last0}).decode(), -1),
                tp1: OffsetAndMetadata(0, orjson.dumps({"last": last1}).decode(), -1),
            }
        )
        intents.close(autocommit=False)

        w = StagedWriter(s, dsn)
        thread = start(w)
        pipeline.wait_drained(watch=[processor])
    finally:
        if thread is not None:
            w.stop()
            thread.join(60)
        processor.stop()
    assert {(r.topic, r.parts, tuple(owned)) for r, owned in w.reformed} == {
        (s.facts_topic, ((0, 0, last0),), (0,)),
        (s.facts_topic, ((1, 0, last1),), (1,)),
    }
    assert_same(snapshot(w.store), truth(chdb_path, "rounds_legacy", lines), lines)
