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
3. The written facts of the round's dossiers, read from the store (``facts_of``). With
   ``MOTCUA_WRITER_RECENT_FACTS`` > 0 (off by default) those the writer wrote last are
   remembered (``pipeline.rounds.RecentFacts``), the others read from the store
   (``stored_dossiers``, then ``facts_of`` for the ones it has); what is remembered is
   forgotten at every rebalance, failed attempt, rejected commit and re-formed round, so it
   is always what the store holds. Per dossier the highest version
   above the written one becomes ``Transition(id, written, new)``; ONE
   ``pipeline.rounds.write_transitions`` inserts rollup deltas, backlog deltas and states (in
   that order), each with a token from the round token and the transitions' versions.
4. *Final*: ONE offset commit request sets every partition to ``last + 1`` (no metadata),
   only after ClickHouse acknowledged. While ClickHouse fails, the whole round is retried
   (re-reading the written facts) with exponential backoff (below).

While the store fails
---------------------
A failing round is retried after 0.5 s, 1 s, 2 s, ... up to ``writer_retry_max_s``
(``MOTCUA_WRITER_RETRY_MAX_S``, 30 s), each wait jittered down by up to a quarter. During
a wait the writer pauses every partition it owns (nothing more is fetched: its memory holds
the round in hand and nothing else) and keeps polling its consumer, so it stays in the
group (heartbeats, ``max.poll.interval.ms``), reports the lag growing (end offsets read
from the broker) and stops on SIGTERM within a second. Should the group rebalance during
such a poll, the round is abandoned uncommitted, with the rest of that poll and step
(``RoundAbandoned``): the partitions are read again from their commits, exactly as after a
rejected final commit below. The metrics and the rate-limited log lines of a failing store
are ``live/store_health.py``'s; docs/operating-cluster.md#store-outage is the operator's page.

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
import random
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

from ..adapters import kafka_writer
from ..adapters.clickhouse_store import ClickHouseStore, SchemaFormError
from ..adapters.codec import dead_letter_record, decode_dead_letter
from ..domain.calendar import WorkingCalendar
from ..pipeline.rounds import (
    METADATA_MAX_BYTES,
    FactsRounds,
    Round,
    RoundAbandoned,
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
    RECENT_FACTS,
    STORE_ENGINE_BYTES,
)
from .store_health import StoreHealth

log = logging.getLogger("motcua.writer")
ENGINE_SAMPLE_S = 10.0  # how often the embedded engine's memory gauges are read


def _refused(source: str, raw: bytes, reason: str) -> dict:
    return dead_letter_record(
        source=source,
        stage="writer",
        code="BAD_FACTS_MESSAGE",
        reason=f"facts message the writer cannot write ({reason})",
        payload=raw,
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
        max_backoff_s: float | None = None,
        max_metadata_bytes: int = METADATA_MAX_BYTES,
        calendar: WorkingCalendar | None = None,
    ):
        batches = (settings.writer_batch_size, settings.writer_batch_seconds)
        super().__init__(self._new_round_writer, None, *batches, max_metadata_bytes)
        self.s, self._store, self.calendar = settings, store, calendar
        self.on_flushed, self.max_backoff_s = on_flushed, max_backoff_s or settings.writer_retry_max_s
        self.stop_event, self.consumer = threading.Event(), None
        self.waits = StoreWait(self.stop_event, StoreHealth())  # the waits before store retries
        self._recent_counted, self._engine_sampled = (0, 0), float("-inf")

    @property
    def store(self) -> ClickHouseStore:
        if self._store is None:
            # the panels' and the exporter's "due soon" read the next working day there
            self._store = connect_store(self.s, self.calendar, self.stop_event, self.waits.health)
        return self._store

    def _new_round_writer(self) -> RoundWriter:
        return store_round_writer(self.store, self.waits, self.max_backoff_s, self.s.writer_recent_facts)

    def run(self) -> None:
        facts, counted = self.s.facts_topic, self.waits.counted  # rebalances counted for the waits
        revoked = counted(self.revoked)
        assigned = counted(lambda tps: self.assigned([tp for tp in tps if tp.topic == facts]))
        consumer = self.consumer = self.waits.consumer = kafka_writer.subscribe(self.s, revoked, assigned)
        self.offsets = kafka_writer.KafkaOffsets(
            consumer, self.s.kafka_bootstrap, self.stop_event, self.max_backoff_s
        )
        _ = self.store
        try:
            while not self.stop_event.is_set():
                kafka_writer.resume_all(consumer)  # paused only while a round waited for the store
                polled = consumer.poll(
                    timeout_ms=int(self.s.writer_batch_seconds * 500) or 50,
                    max_records=max(500, self.s.writer_batch_size),
                )
                now = time.monotonic()
                try:
                    for tp, recs in polled.items():
                        EVENTS_IN.labels("writer").inc(len(recs))
                        if tp.topic == self.s.dead_letters_topic:
                            self._flush_dead_letters(tp, recs)
                        else:
                            self.add(tp, recs, now)
                    self.step(now)
                    self._engine_sampled = sample_engine_memory(self.store, now, self._engine_sampled)
                except RoundAbandoned:  # the rest of this poll is dropped: read again from the commits
                    log.warning("group rebalanced while the store failed; partitions read again")
                self.waits.report_lag(fresh=False)
        except Stopping:
            pass
        finally:
            kafka_writer.close(consumer)

    def stop(self) -> None:
        self.stop_event.set()

    def round_written(self, r, done, counted, acked, seconds) -> None:
        self.waits.health.ok()
        record_round(r, done, counted, acked, seconds)
        self._recent_counted = count_recent_facts(self._round_writer, self._recent_counted)
        if self.on_flushed is not None:
            self.on_flushed(r, counted, acked)

    def _flush_dead_letters(self, tp, recs) -> None:
        flush_dead_letters(self.store, tp, recs, self.waits, self.max_backoff_s)
        # rejected (rebalance): the next owner inserts them again, absorbed by the table
        self._commit(kafka_writer.past(tp, recs[-1].offset))


class StoreWait:
    """The wait before a store retry (``RoundWriter``'s ``wait``), jittered down by up to a
    quarter: the writer's partitions paused (nothing more fetched), its consumer polled in
    slices of at most a second (group membership, the lag and blocked-seconds gauges,
    SIGTERM). Returns True when stopping; raises ``RoundAbandoned`` when the group
    rebalanced meanwhile (``counted`` wraps the rebalance callbacks)."""

    def __init__(self, stop: threading.Event, health: StoreHealth):
        self.stop, self.health = stop, health
        self.consumer = None  # set once subscribed; until then a plain wait
        self.rebalances = 0
        self._lag_at = 0.0

    def counted(self, callback: Callable[[list], None]) -> Callable[[list], None]:
        def rebalanced(tps: list) -> None:
            self.rebalances += 1
            callback(tps)

        return rebalanced

    def __call__(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds * random.uniform(0.75, 1.0)
        while True:
            self.health.tick()
            left = deadline - time.monotonic()
            if self.stop.is_set() or left <= 0:
                return self.stop.is_set()
            if self.consumer is None:
                self.stop.wait(min(left, 1.0))
                continue
            seen = self.rebalances
            kafka_writer.poll_paused(self.consumer, min(left, 1.0))
            if self.rebalances != seen:
                raise RoundAbandoned()
            self.report_lag(fresh=True)

    def report_lag(self, fresh: bool) -> None:
        """The lag gauge, every 5 s (``fresh``: end offsets asked of the broker, as paused
        partitions fetch nothing that would bring their high watermarks)."""
        now = time.monotonic()
        if self.consumer is not None and now - self._lag_at > 5.0:
            self._lag_at = now
            kafka_writer.report_lag(self.consumer, CONSUMER_LAG, fresh=fresh)


def store_round_writer(
    store: ClickHouseStore, waits: StoreWait, max_backoff_s: float, recent_facts: int = 0
) -> RoundWriter:
    """The store side of the writer's rounds, with its retries counted, logged and timed,
    remembering the facts of the last ``recent_facts`` dossiers written."""
    return RoundWriter(
        store,
        check_states=ClickHouseStore.check_states,
        dead_letter=_refused,
        wait=waits,
        max_backoff_s=max_backoff_s,
        on_retry=waits.health.failed,
        on_refused=_log_refused,
        timed=_insert_timer,
        recent_capacity=recent_facts,
    )


def flush_dead_letters(store: ClickHouseStore, tp, recs, waits: StoreWait, max_backoff_s: float) -> None:
    """The dead-letter topic's records into the store, retried until it acknowledges."""
    records = _dead_letters_of(tp, recs)
    on_retry = waits.health.failed
    write_dead_letters(store, records, waits, max_backoff_s, on_retry=on_retry, timed=_insert_timer)
    waits.health.ok()
    for d in records:
        DEAD_LETTERS.labels("writer", d["code"]).inc()


def count_recent_facts(round_writer: RoundWriter | None, counted: tuple[int, int]) -> tuple[int, int]:
    """The remembered facts' hits and misses since ``counted`` into the metrics; returns
    the new totals (``counted`` when nothing is remembered)."""
    recent = round_writer.recent if round_writer is not None else None
    if recent is None:
        return counted
    RECENT_FACTS.labels("hit").inc(recent.hits - counted[0])
    RECENT_FACTS.labels("miss").inc(recent.misses - counted[1])
    return recent.hits, recent.misses


def sample_engine_memory(store: ClickHouseStore, now: float, last: float) -> float:
    """The embedded engine's memory as gauges, when ``ENGINE_SAMPLE_S`` passed
    since ``last``; returns the time of the last sample. A failing store skips a sample
    (the round's retries report it)."""
    if now - last < ENGINE_SAMPLE_S:
        return last
    try:
        for kind, value in store.engine_memory().items():
            STORE_ENGINE_BYTES.labels(kind).set(value)
    except Exception:  # noqa: BLE001 - a metric, never a reason to stop writing
        log.debug("engine memory not sampled", exc_info=True)
    return now


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


def connect_store(
    settings: LiveSettings, calendar: WorkingCalendar | None, stop: threading.Event, health: StoreHealth
) -> ClickHouseStore:
    """The store, retried every 2 s until it is reachable (a server not up yet), in the
    schema form of ``MOTCUA_SCHEMA`` (a writer started first on a new cluster creates the
    cluster form, not single-node tables). With ``fault_store_down_file`` set (a test's
    outage, never in production) its client is wrapped by ``adapters/store_faults.py``."""
    while True:
        try:
            store = ClickHouseStore(
                settings.store_dsn(),
                schema=settings.store_schema,
                cluster=settings.clickhouse_cluster,
                fault_down_file=settings.fault_store_down_file,
            )
            if calendar is not None:
                store.load_calendar(calendar)
            health.ok()
            return store
        except SchemaFormError:  # a setting that does not match the store: no retry mends it
            raise
        except Exception as err:  # noqa: BLE001 - server not up yet
            health.failed("connect", err, 2.0)
            if stop.wait(2.0):
                raise SystemExit(0) from None


def run(settings: LiveSettings, calendar: WorkingCalendar | None = None) -> None:
    import signal

    from .allocator import limit_malloc_arenas
    from .metrics import serve
    from .topics import ensure_topics

    # before any thread of ours or chDB's allocates
    arenas = settings.writer_arena_limit()
    arenas_limited = limit_malloc_arenas(arenas)
    ensure_topics(settings)
    serve(settings.writer_metrics_port)
    w = Writer(settings, calendar=calendar)
    signal.signal(signal.SIGTERM, lambda *_: w.stop())
    signal.signal(signal.SIGINT, lambda *_: w.stop())
    log.info(
        "writer started",
        extra={
            "store": settings.store_dsn().split("@")[-1],
            "bootstrap": settings.kafka_bootstrap,
            "malloc_arenas": arenas if arenas_limited else "unchanged",
        },
    )
    w.run()
    log.info("writer stopped")
