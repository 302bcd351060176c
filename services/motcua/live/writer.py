"""The writer: dossier facts (and dead letters) from Kafka into ClickHouse, exactly once in
effect.

Rounds
------
Records are collected per partition of the facts topic. When one partition's batch is due
(``writer_batch_size`` records or ``writer_batch_seconds`` old), every partition holding
records is written together as one *round*. A round's *composition* is the sorted list of
``(partition, first, last)`` of its partitions (a contiguous range of record offsets each).
Its token is a function of the composition only: ``<topic>:<p>:<first>-<last>`` for one
partition (exactly the per-batch token of the previous version), ``<topic>:<p>:<f>-<l>,
<p>:<f>-<l>,...`` for several (``<topic>:round-<blake2b>`` past 160 characters). A round:

1. *Intent*: ONE offset commit request sets every partition of the round to its ``first``,
   each with metadata ``{"round": [[p, first, last], ...]}``: the whole composition.
2. Raw events of all its messages (ReplacingMergeTree), token ``events:<round token>``.
3. ONE ``store.facts_of`` for the round's dossiers; per dossier the highest version above
   the written one becomes ``Transition(id, written, new)``; ONE ``pipeline.rounds.write_transitions``
   inserts rollup deltas, backlog deltas and states (in that order), each with a token from
   the round token and the transitions' versions.
4. *Final*: ONE offset commit request sets every partition to ``last + 1`` (no metadata),
   only after ClickHouse acknowledged. While ClickHouse fails, the whole round is retried
   (re-reading the written facts) with exponential backoff.

Why a repeated round counts nothing twice
-----------------------------------------
A dossier's facts are keyed by its id, so they all live in one partition, and the rounds
touching a partition are written one after another: a round's intent is committed only
once the partition's previous round is final (or was re-formed, below). So while a round R
is incomplete, each of its dossiers' *written* facts are either those from before R, or R's
own (its states insert is one insert: all of R's states land or none), or later ones
(someone completed R and a later round went on). Writing R again then computes:

- from the state before R: the same transitions as R's first attempt, hence the same
  tokens: inserts that landed are dropped by ClickHouse, the missing ones are written;
- from R's states or later ones: every message of R is "already written": no transition,
  nothing inserted (its events insert is dropped by its token, or merged by the
  ReplacingMergeTree key if it ever came back later than the deduplication window).

What must never happen is a *different* round over R's records while R is incomplete: its
rollup would retract the pre-R state a second time under another token. Hence: an intent
is re-formed exactly (same composition, same tokens) before anything else is written from
its partitions.

Re-forming
----------
When a writer gets a facts partition (start, restart, rebalance, or after a commit it could
not make), it reads the partition's committed offset and metadata before writing anything
from it; records polled in the meantime are dropped and the partition is re-read from the
committed offset. No metadata: a final commit, batching goes on from there. An intent naming
round R: R is re-formed first. R's ranges are read with a separate group-less consumer
(assign + seek), *including partitions this writer does not own*; R is written with R's
tokens; then only the partitions that this writer owns and whose intent names R are
committed to ``last + 1`` and the main consumer is moved there. An intent of the previous
version, ``{"last": N}`` committed at ``c``, is the one-partition round ``[(p, c, N)]``: the
same range and the same tokens the previous version used, so an upgrade in the middle of a
batch changes nothing.

Crash points (the next owner of R's partitions re-forms R unless said otherwise):

- before the intent commit: nothing of R exists; its partitions sit at their last final
  offsets; whatever round comes next is new and fine.
- the intent request itself: the group coordinator writes one OffsetCommit request's offsets
  as one record batch, so all of R's partitions get the intent or none do. Errors that
  reject a request (rebalance: ``CommitFailedError``; metadata too large, the same for every
  partition of the round) reject all of it: the round is dropped before any insert and its
  partitions are re-read from their committed offsets. Other errors (timeouts, coordinator
  moves) retry the same request, which is idempotent; if a request that timed out did land
  and a later attempt is rejected, the intent stands and is re-formed like any other.
- after the intent and before, between or after the events, rollup, backlog and states
  inserts, or before the final commit: R is re-formed (see above).
- the final commit is rejected (rebalance): the same as a crash just before it; this writer
  forgets those partitions' batches and re-reads their committed offsets after rejoining.
- after the final commit: R is done. A partition whose intent still names R (possible only
  when R was re-formed by the owner of another of its partitions) re-forms R once more:
  already written, nothing inserted.

Ownership splits. Say R covers p0..p3 and after a rebalance W1 owns p0, p1 and W2 owns p2,
p3. Both re-form all of R, each reading the other's ranges with its group-less consumer,
at the same time or not, and each commits only its own partitions. Whichever reads the
written facts before R's states landed derives R's transitions from the state before R (the
same tokens: one of the two inserts of each is dropped); whichever reads afterwards derives
none. If W2 finished R and went on writing later rounds of p2 before W1's re-form reads the
facts, those dossiers only have higher versions: W1's re-form skips them. A partition W1 owns
whose committed intent names another round R2 (or nothing) is never committed by W1's re-form
of R: R's range there was complete before R2 started.

Offset metadata is limited by the broker's ``offset.metadata.max.bytes`` (default 4096):
rounds are cut (by partition) so that the composition fits; should a broker reject one
anyway (a lower setting), the limit is halved and the dropped round formed again smaller.

Dead letters are inserted and committed per poll, as before (``dead_letters`` is a
ReplacingMergeTree: a repeat after a crash is absorbed).

Not done: merging a round's final commit into the next round's intent request would save
one offset commit (~10 ms) per round, but the last round before a pause would stay
unfinalised (lag and drain checks read committed offsets) until a timer finalised it.

Limits: a token deduplicates only within the last ``non_replicated_deduplication_window``
(10,000) inserts of its table; a dossier must stay in one partition (adding facts
partitions moves keys: drain the writer first). The panel rollups fed by materialized views
from ``kpi_daily``/``open_backlog`` do receive a repeated insert that its token drops from
the source table, but each view block repeats the source's token and the view tables
deduplicate too (migration 0026), so a re-formed or retried round counts once there as well
(the writer crash tests compare every panel rollup with the replay).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

from ..adapters import kafka_writer
from ..adapters.clickhouse_store import ClickHouseStore
from ..adapters.codec import dead_letter_record, decode_dead_letter
from ..domain.calendar import WorkingCalendar
from ..pipeline.rounds import (
    METADATA_MAX_BYTES,
    FactsRounds,
    Round,
    RoundWriter,
    Stopping,
    write_dead_letters,
)
from .config import LiveSettings
from .metrics import (
    CONSUMER_LAG,
    DEAD_LETTERS,
    EVENTS_IN,
    EVENTS_OUT,
    FRESHNESS,
    INSERT_LATENCY,
    INSERT_RETRIES,
)

log = logging.getLogger("motcua.writer")


def _refused(source: str, raw: bytes, reason: str) -> dict:
    return dead_letter_record(
        source=source,
        stage="writer",
        code="BAD_FACTS_MESSAGE",
        reason=f"facts message the writer cannot write ({reason})",
        payload=raw,
    )


def _log_retry(token: str, err: Exception, delay: float) -> None:
    INSERT_RETRIES.inc()
    log.warning(
        "ClickHouse insert failed; retrying",
        extra={"round": token, "error": repr(err)[:300], "backoff_s": delay},
    )


def _log_refused(token: str, count: int) -> None:
    log.error("facts messages refused", extra={"round": token, "count": count})


@contextmanager
def _insert_timer(stage: str):
    t0 = time.perf_counter()
    yield
    INSERT_LATENCY.labels(stage).observe(time.perf_counter() - t0)


def _dead_letters_of(tp, recs) -> list[dict]:
    """The dead-letter topic's records as dead letters (an unreadable one is kept as one
    of its own)."""
    out = []
    for r in recs:
        try:
            out.append(decode_dead_letter(r.value))
        except Exception as err:  # noqa: BLE001
            log.error("unreadable dead letter", extra={"offset": r.offset, "error": repr(err)[:160]})
            out.append(
                dead_letter_record(
                    source=f"{tp.topic}:{tp.partition}:{r.offset}",
                    stage="writer",
                    code="UNREADABLE_DEAD_LETTER",
                    reason=f"dead letter that cannot be read ({type(err).__name__})",
                    payload=r.value,
                )
            )
    return out


class Writer(FactsRounds):
    """The round protocol (``pipeline.rounds.FactsRounds``) over the writer group's Kafka
    consumer and a ClickHouse store, with the live metrics."""

    def __init__(
        self,
        settings: LiveSettings,
        store: ClickHouseStore | None = None,
        on_flushed: Callable[[Round, list[dict], float], None] | None = None,
        max_backoff_s: float = 30.0,
        max_metadata_bytes: int = METADATA_MAX_BYTES,
        calendar: WorkingCalendar | None = None,
    ):
        batches = (settings.writer_batch_size, settings.writer_batch_seconds)
        super().__init__(lambda: self.round_writer, None, *batches, max_metadata_bytes)
        self.s, self._store, self.calendar = settings, store, calendar
        self.on_flushed, self.max_backoff_s = on_flushed, max_backoff_s
        self.stop_event = threading.Event()
        self.consumer = None
        self._round_writer: RoundWriter | None = None

    @property
    def store(self) -> ClickHouseStore:
        if self._store is None:
            # the panels' and the exporter's "due soon" read the next working day there
            self._store = connect_store(self.s.store_dsn(), self.calendar, self.stop_event)
        return self._store

    @property
    def round_writer(self) -> RoundWriter:
        if self._round_writer is None:
            self._round_writer = store_round_writer(self.store, self.stop_event, self.max_backoff_s)
        return self._round_writer

    def run(self) -> None:
        facts = self.s.facts_topic
        consumer = self.consumer = kafka_writer.subscribe(
            self.s, self.revoked, lambda tps: self.assigned([tp for tp in tps if tp.topic == facts])
        )
        self.offsets = kafka_writer.KafkaOffsets(
            consumer, self.s.kafka_bootstrap, self.stop_event, self.max_backoff_s
        )
        _ = self.store
        lag_at = 0.0
        try:
            while not self.stop_event.is_set():
                polled = consumer.poll(
                    timeout_ms=int(self.s.writer_batch_seconds * 500) or 50,
                    max_records=max(500, self.s.writer_batch_size),
                )
                now = time.monotonic()
                for tp, recs in polled.items():
                    EVENTS_IN.labels("writer").inc(len(recs))
                    if tp.topic == self.s.dead_letters_topic:
                        self._flush_dead_letters(tp, recs)
                    else:
                        self.add(tp, recs, now)
                self.step(now)
                if now - lag_at > 5.0:
                    lag_at = now
                    kafka_writer.report_lag(consumer, CONSUMER_LAG)
        except Stopping:
            pass
        finally:
            kafka_writer.close(consumer)

    def stop(self) -> None:
        self.stop_event.set()

    def round_written(self, r, done, counted, acked, seconds) -> None:
        record_round(r, done, counted, acked, seconds)
        if self.on_flushed is not None:
            self.on_flushed(r, counted, acked)

    def _flush_dead_letters(self, tp, recs) -> None:
        flush_dead_letters(self.store, tp, recs, self.stop_event, self.max_backoff_s)
        # rejected (rebalance): the next owner inserts them again, absorbed by the table
        self._commit(kafka_writer.past(tp, recs[-1].offset))


def store_round_writer(store: ClickHouseStore, stop: threading.Event, max_backoff_s: float) -> RoundWriter:
    """The store side of the writer's rounds, with its retries logged and timed."""
    return RoundWriter(
        store,
        check_states=ClickHouseStore.check_states,
        dead_letter=_refused,
        wait=stop.wait,
        max_backoff_s=max_backoff_s,
        on_retry=_log_retry,
        on_refused=_log_refused,
        timed=_insert_timer,
    )


def flush_dead_letters(store: ClickHouseStore, tp, recs, stop: threading.Event, max_backoff_s: float) -> None:
    """The dead-letter topic's records into the store, retried until it acknowledges."""
    records = _dead_letters_of(tp, recs)
    write_dead_letters(store, records, stop.wait, max_backoff_s, on_retry=_log_retry, timed=_insert_timer)
    for d in records:
        DEAD_LETTERS.labels("writer", d["code"]).inc()


def record_round(r: Round, done, counted: list[dict], acked: float, seconds: float) -> None:
    """A final round in the metrics: refused messages, events and states written, the
    freshness of each counted message (ingest to acknowledged)."""
    for d in done.refused:
        DEAD_LETTERS.labels("writer", d["code"]).inc()
    EVENTS_OUT.labels("writer", "events").inc(done.events)
    EVENTS_OUT.labels("writer", "states").inc(len(done.transitions))
    for m in counted:
        for ts in m.get("ts", ()):
            FRESHNESS.observe(max(0.0, acked - ts / 1000))
    log.debug(
        "round written",
        extra={
            "round": r.token,
            "partitions": len(r.parts),
            "messages": len(done.messages),
            "transitions": len(done.transitions),
            "seconds": round(seconds, 4),
        },
    )


def connect_store(dsn: str, calendar: WorkingCalendar | None, stop: threading.Event) -> ClickHouseStore:
    """The store, retried every 2 s until it is reachable (a server not up yet)."""
    while True:
        try:
            store = ClickHouseStore(dsn)
            if calendar is not None:
                store.load_calendar(calendar)
            return store
        except Exception as err:  # noqa: BLE001 - server not up yet
            log.warning("store not reachable; retrying", extra={"error": repr(err)})
            if stop.wait(2.0):
                raise SystemExit(0) from None


def run(settings: LiveSettings, calendar: WorkingCalendar | None = None) -> None:
    import signal

    from .metrics import serve
    from .topics import ensure_topics

    ensure_topics(settings)
    serve(settings.writer_metrics_port)
    w = Writer(settings, calendar=calendar)
    signal.signal(signal.SIGTERM, lambda *_: w.stop())
    signal.signal(signal.SIGINT, lambda *_: w.stop())
    log.info(
        "writer started",
        extra={"store": settings.store_dsn().split("@")[-1], "bootstrap": settings.kafka_bootstrap},
    )
    w.run()
    log.info("writer stopped")
