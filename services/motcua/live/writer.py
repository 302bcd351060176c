"""The writer: dossier facts (and dead letters) from Kafka into ClickHouse, exactly once in
effect.

Batches are per partition: a contiguous offset range ``[first, last]`` of one partition,
closed by size (``writer_batch_size``) or age (``writer_batch_seconds``). For a batch:

1. *Intent*: commit the batch's first offset with metadata ``{"last": last}``. Whoever
   owns the partition next (this process after a restart, or another writer after a
   rebalance) re-forms exactly the same batch before anything else.
2. Raw events (every event of the batch's messages; ReplacingMergeTree) with the token
   ``events:<topic>:<partition>:<first>-<last>``.
3. For the batch's dossiers, the last *written* facts (``store.facts_of``); messages whose
   version is not above the written one are skipped; the highest version per dossier
   becomes ``Transition(id, written, new)``; ``store.write_transitions`` inserts rollup and
   backlog deltas and states, each with a token from ``<topic>:<partition>:<first>-<last>``
   and the transitions' versions.
4. Commit ``last + 1`` only after ClickHouse acknowledged. While ClickHouse fails, retry
   the whole batch (re-reading the written facts) with exponential backoff.

A crash anywhere repeats the same batch with the same tokens: an insert that landed is
dropped by its token, a state that landed makes its message "already written" (skipped),
one that did not is written, so nothing is lost and nothing is counted twice.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import orjson

from ..adapters.clickhouse_store import ClickHouseStore
from ..adapters.codec import decode_dead_letter
from ..pipeline.dossiers import Transition
from .config import LiveSettings
from .metrics import (CONSUMER_LAG, DEAD_LETTERS, EVENTS_IN, EVENTS_OUT, FRESHNESS,
                      INSERT_LATENCY, INSERT_RETRIES)

log = logging.getLogger("motcua.writer")


@dataclass
class Batch:
    topic: str
    partition: int
    records: list = field(default_factory=list)
    started: float = 0.0

    @property
    def first(self) -> int:
        return self.records[0].offset

    @property
    def last(self) -> int:
        return self.records[-1].offset

    @property
    def token(self) -> str:
        return f"{self.topic}:{self.partition}:{self.first}-{self.last}"


def plan_facts(messages: list[dict], written: dict[str, dict]) -> list[Transition]:
    """The transitions of a batch: per dossier the highest version above the written one."""
    best: dict[str, dict] = {}
    for m in messages:
        f = m["facts"]
        d = f["dossier_id"]
        cur = best.get(d)
        if cur is None or f["version"] > cur["version"]:
            best[d] = f
    out = []
    for d, f in best.items():
        old = written.get(d)
        if old is not None and f["version"] <= old["version"]:
            continue
        out.append(Transition(d, old, f))
    return out


def batch_events(messages: list[dict]) -> tuple[list[dict], list[bytes]]:
    seen: set = set()
    events, payloads = [], []
    for m in messages:
        for e in m["events"]:
            k = (e["dossier_id"], e["event_id"])
            if k in seen:
                continue
            seen.add(k)
            events.append(e)
            payloads.append(orjson.dumps(e))
    return events, payloads


class Writer:
    def __init__(self, settings: LiveSettings, store: ClickHouseStore | None = None,
                 on_flushed: Callable[[Batch, list[dict], float], None] | None = None,
                 max_backoff_s: float = 30.0):
        self.s = settings
        self._store = store
        self.on_flushed = on_flushed
        self.max_backoff_s = max_backoff_s
        self.stop_event = threading.Event()
        self.consumer = None
        self.pending: dict = {}  # tp -> Batch
        self.intents: dict = {}  # tp -> last offset of the batch to re-form
        self.unchecked: set = set()  # newly assigned partitions whose intent is unread
        self.flushed_batches = 0

    # -- store ----------------------------------------------------------------------
    @property
    def store(self) -> ClickHouseStore:
        while self._store is None:
            try:
                self._store = ClickHouseStore(self.s.store_dsn())
            except Exception as err:  # server not up yet
                log.warning("store not reachable; retrying", extra={"error": repr(err)})
                if self.stop_event.wait(2.0):
                    raise SystemExit(0)
        return self._store

    # -- consumer -------------------------------------------------------------------
    def _consumer(self):
        from kafka import KafkaConsumer
        from kafka.consumer.subscription_state import ConsumerRebalanceListener

        writer = self

        class Listener(ConsumerRebalanceListener):
            def on_partitions_revoked(self, revoked):
                for tp in revoked:
                    writer.pending.pop(tp, None)
                    writer.intents.pop(tp, None)
                    writer.unchecked.discard(tp)

            def on_partitions_assigned(self, assigned):
                # No blocking consumer calls here (kafka-python runs listeners on its IO
                # thread): the committed intents are read after the poll that assigned.
                for tp in assigned:
                    writer.pending.pop(tp, None)
                    writer.intents.pop(tp, None)
                    if tp.topic == writer.s.facts_topic:
                        writer.unchecked.add(tp)

        c = KafkaConsumer(
            bootstrap_servers=self.s.kafka_bootstrap,
            group_id=self.s.writer_group,
            client_id="motcua-writer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=max(500, self.s.writer_batch_size),
            max_poll_interval_ms=600_000,
            session_timeout_ms=int(self.s.session_timeout_s * 1000),
            heartbeat_interval_ms=int(self.s.heartbeat_interval_s * 1000),
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=16 * 1024 * 1024,
        )
        self.consumer = c
        c.subscribe([self.s.facts_topic, self.s.dead_letters_topic], listener=Listener())
        return c

    def run(self) -> None:
        c = self._consumer()
        _ = self.store
        lag_at = 0.0
        try:
            while not self.stop_event.is_set():
                polled = c.poll(timeout_ms=int(self.s.writer_batch_seconds * 500) or 50,
                                max_records=max(500, self.s.writer_batch_size))
                now = time.monotonic()
                if self.unchecked:
                    self._read_intents()
                for tp, recs in polled.items():
                    EVENTS_IN.labels("writer").inc(len(recs))
                    if tp.topic == self.s.dead_letters_topic:
                        self._flush_dead_letters(tp, recs)
                        continue
                    b = self.pending.get(tp)
                    if b is None:
                        b = self.pending[tp] = Batch(tp.topic, tp.partition, [], now)
                    b.records.extend(recs)
                for tp in list(self.pending):
                    b = self.pending[tp]
                    intent = self.intents.get(tp)
                    if intent is not None:
                        if b.records and b.last >= intent:
                            head = [r for r in b.records if r.offset <= intent]
                            rest = [r for r in b.records if r.offset > intent]
                            self._flush(tp, Batch(tp.topic, tp.partition, head, b.started),
                                        intent_known=True)
                            del self.intents[tp]
                            self.pending[tp] = Batch(tp.topic, tp.partition, rest, now)
                        continue
                    if b.records and (len(b.records) >= self.s.writer_batch_size
                                      or now - b.started >= self.s.writer_batch_seconds):
                        self._flush(tp, b)
                        del self.pending[tp]
                    elif not b.records:
                        del self.pending[tp]
                if now - lag_at > 5.0:
                    lag_at = now
                    self._report_lag()
        finally:
            try:
                c.close(autocommit=False)
            except Exception:
                pass

    def _read_intents(self) -> None:
        for tp in list(self.unchecked):
            c = self.consumer.committed(tp, metadata=True)
            self.unchecked.discard(tp)
            if c is None or not c.metadata:
                continue
            try:
                last = orjson.loads(c.metadata)["last"]
            except (ValueError, KeyError, TypeError):
                continue
            if last >= c.offset:
                self.intents[tp] = last
                log.info("re-forming an interrupted batch", extra={
                    "partition": tp.partition, "first": c.offset, "last": last})

    def stop(self) -> None:
        self.stop_event.set()

    # -- flushing -------------------------------------------------------------------
    def _commit(self, tp, offset: int, metadata: str = "") -> None:
        from kafka.structs import OffsetAndMetadata

        self.consumer.commit({tp: OffsetAndMetadata(offset, metadata, -1)})

    def _flush(self, tp, b: Batch, intent_known: bool = False) -> None:
        if not b.records:
            return
        if not intent_known:
            self._commit(tp, b.first, orjson.dumps({"last": b.last}).decode())
        messages = [orjson.loads(r.value) for r in b.records]
        events, payloads = batch_events(messages)
        delay = 0.5
        while True:
            try:
                started = time.perf_counter()
                store = self.store
                if events:
                    t0 = time.perf_counter()
                    store.insert_events(events, payloads, token=f"events:{b.token}")
                    INSERT_LATENCY.labels("events").observe(time.perf_counter() - t0)
                ids = list({m["facts"]["dossier_id"] for m in messages})
                written = store.facts_of(ids)
                transitions = plan_facts(messages, written)
                t0 = time.perf_counter()
                store.write_transitions(transitions, token_prefix=b.token)
                INSERT_LATENCY.labels("transitions").observe(time.perf_counter() - t0)
                break
            except Exception as err:
                INSERT_RETRIES.inc()
                log.warning("ClickHouse insert failed; retrying", extra={
                    "batch": b.token, "error": repr(err)[:300], "backoff_s": delay})
                if self.stop_event.wait(delay):
                    raise SystemExit(0)
                delay = min(delay * 2, self.max_backoff_s)
        acked = time.time()
        self._commit(tp, b.last + 1)
        self.flushed_batches += 1
        EVENTS_OUT.labels("writer", "events").inc(len(events))
        EVENTS_OUT.labels("writer", "states").inc(len(transitions))
        for m in messages:
            for ts in m.get("ts", ()):
                FRESHNESS.observe(max(0.0, acked - ts / 1000))
        if self.on_flushed is not None:
            self.on_flushed(b, messages, acked)
        log.debug("batch written", extra={"batch": b.token, "messages": len(messages),
                                          "transitions": len(transitions),
                                          "seconds": round(time.perf_counter() - started, 4)})

    def _flush_dead_letters(self, tp, recs) -> None:
        records = []
        for r in recs:
            try:
                records.append(decode_dead_letter(r.value))
            except Exception as err:  # a dead letter we cannot read is logged, not lost silently
                log.error("unreadable dead letter", extra={"offset": r.offset, "error": repr(err)})
        delay = 0.5
        while True:
            try:
                t0 = time.perf_counter()
                self.store.insert_dead_letters(records)
                INSERT_LATENCY.labels("dead_letters").observe(time.perf_counter() - t0)
                break
            except Exception as err:
                INSERT_RETRIES.inc()
                log.warning("dead-letter insert failed; retrying", extra={"error": repr(err)[:300]})
                if self.stop_event.wait(delay):
                    raise SystemExit(0)
                delay = min(delay * 2, self.max_backoff_s)
        for d in records:
            DEAD_LETTERS.labels("writer", d["code"]).inc()
        self._commit(tp, recs[-1].offset + 1)

    def _report_lag(self) -> None:
        try:
            for tp in self.consumer.assignment():
                hw = self.consumer.highwater(tp)
                pos = self.consumer.position(tp, timeout_ms=1000)
                if hw is not None and pos is not None:
                    CONSUMER_LAG.labels("writer", tp.topic, str(tp.partition)).set(max(0, hw - pos))
        except Exception:
            pass


def run(settings: LiveSettings) -> None:
    import signal

    from .metrics import serve
    from .topics import ensure_topics

    ensure_topics(settings)
    serve(settings.writer_metrics_port)
    w = Writer(settings)
    signal.signal(signal.SIGTERM, lambda *_: w.stop())
    signal.signal(signal.SIGINT, lambda *_: w.stop())
    log.info("writer started", extra={"store": settings.store_dsn().split("@")[-1],
                                      "bootstrap": settings.kafka_bootstrap})
    w.run()
    log.info("writer stopped")
