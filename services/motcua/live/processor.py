"""The processor: a faust-streaming app that folds dossier events into dossier state.

* Source: the events topic (Avro single objects from the gateway / ``motcua publish``,
  JSON from outside clients such as kcat), keyed by dossier_id. Every record goes through
  ``pipeline.batches.decode_batch`` (as in the replay); a bad one goes to the dead-letter topic with its
  reason (source ``<topic>:<partition>:<offset>``, so a reprocessed record keeps its id).
* State: a Faust table ``dossier-state`` of ``DossierState.to_dict()`` values,
  changelog-backed (co-partitioned with the events topic), in RocksDB on disk (rebuilt from
  the changelog at start), with the states folded last kept decoded (``Folder``).
* Output: for every dossier in a batch, one message on the facts topic keyed by
  dossier_id: its *current* facts (``derive_facts``) and the batch's events of that
  dossier (even duplicates, even when nothing changed). A crash between the table update
  and the send therefore loses nothing: the reprocessed event re-emits the facts. The
  writer keeps only versions it has not written yet.
* One agent, concurrency=1 (faust issue #606). The consumer delivers the records of one
  partition from one poll as one Faust event (``adapters.faust_batching``: Faust's per-record
  delivery capped a no-op agent at a few thousand events/s); a batch's offsets are acked
  after it was handled. Faust flushes the producer (changelog + facts + dead letters)
  before it commits source offsets (on its 1 s commit timer).
* Throughput (docs/live-pipeline.md, "Measured"): the consumer's fetches never long-poll
  (``faust_batching.FETCH_MAX_WAIT_MS``), the producer writes 4 MiB batches (``topics.PRODUCER_BATCH_BYTES``)
  and the garbage collector leaves the long-lived states alone (``HeapFreezer``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import time
from collections import OrderedDict

import faust
import orjson
from faust.types import TP

from ..adapters.codec import CODEC, encode_dead_letter
from ..adapters.faust_batching import BatchMessage, BatchSender, ProcessorApp, RecordBatch
from ..domain.calendar import WorkingCalendar
from ..domain.lifecycle import DossierState
from ..pipeline.batches import DossierGroup, decode_batch, rejection
from ..pipeline.dossiers import fold_dossier
from .config import STATE_TABLE, LiveSettings
from .metrics import (
    BATCH_SIZE,
    CONSUMER_LAG,
    DEAD_LETTERS,
    DUPLICATES,
    EVENTS_ACCEPTED,
    EVENTS_IN,
    EVENTS_OUT,
)
from .topics import PRODUCER_BATCH_BYTES, changelog_config

log = logging.getLogger("motcua.processor")


def facts_message(facts: dict, events: list[dict], ingest_ts: list[int]) -> bytes:
    """The facts topic value: {"facts", "events", "ts"} (ts: ingest record times, ms)."""
    return orjson.dumps({"facts": facts, "events": events, "ts": ingest_ts})


class Folder:
    """The pure part of the agent: a batch of (key, raw, partition, offset, ts) records ->
    table updates, facts messages and dead letters. Keeps the ``DossierState`` objects of
    the dossiers folded last (at most ``cache_size``), so a dossier that gets events again
    is not decoded from its table value again. A cached state is the table value this
    worker wrote last; it is valid until the table changes under it, i.e. until a
    rebalance (recovery rewrites values, and a partition may come back from a worker that
    folded it meanwhile): ``forget`` is called when one starts."""

    def __init__(
        self, cal: WorkingCalendar, topic: str, cache_size: int = 20_000, catalogue: dict | None = None
    ):
        self.cal = cal
        self.catalogue = catalogue  # procedure flags (reference.catalogue), read at start
        self.topic = topic
        self.cache: OrderedDict[str, DossierState] = OrderedDict()
        self.cache_size = cache_size

    def forget(self) -> None:
        self.cache.clear()

    def state_of(self, dossier_id: str, stored: dict | None) -> DossierState:
        hit = self.cache.get(dossier_id) if stored is not None else None
        if hit is not None:
            self.cache.move_to_end(dossier_id)
            return hit
        return DossierState.from_dict(stored) if stored else DossierState(dossier_id)

    def remember(self, dossier_id: str, state: DossierState) -> None:
        self.cache[dossier_id] = state
        self.cache.move_to_end(dossier_id)
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)

    def decode(self, records, now_ms: int) -> tuple[dict[str, DossierGroup], list[dict]]:
        """records: [(raw, partition, offset, ts_ms)] -> (``DossierGroup`` per dossier, dead
        letters), by the shared handler (``pipeline.batches.decode_batch``); a record's
        source is ``<topic>:<partition>:<offset>``, so a reprocessed one keeps its id."""
        topic = self.topic
        return decode_batch(
            ((f"{topic}:{p}:{o}", raw, ts) for raw, p, o, ts in records), now_ms, CODEC, stage="processor"
        )

    def fold(self, dossier_id: str, stored: dict | None, events: list[dict]):
        """-> (new table value or None when unchanged, ``Folded``). The table value is
        untouched until the caller stores the new one, so it is the state to refold
        from when the batch must be taken one event at a time."""
        state = self.state_of(dossier_id, stored)
        folded = fold_dossier(
            state,
            events,
            self.cal,
            lambda: DossierState.from_dict(stored) if stored else DossierState(dossier_id),
            self.catalogue,
        )
        if folded.state is not state:
            self.cache.pop(dossier_id, None)  # the cached state took events that were refused
        if folded.facts is None and stored is None:
            return None, folded  # a new dossier whose every event was refused
        value = folded.state.to_dict() if folded.fresh or stored is None else None
        self.remember(dossier_id, folded.state)
        return value, folded


class HeapFreezer:
    """Keeps CPython's cyclic garbage collector off the long-lived heap.

    The worker holds long-lived states (the folder's cache of the dossiers folded last;
    with ``memory://`` every dossier's table value too): objects by the hundred thousand
    that live for hours or days. The collector's older
    generations re-scan them again and again as new states arrive; measured, that was a
    third of the CPU per event (the pure fold: 39 us/event with the collector, 22 without).
    After each batch, ``after_batch`` collects what the batch left behind (a full
    collection scans only objects not yet frozen, i.e. the batch's) and freezes the rest
    (``gc.freeze``: survivors move to a generation the collector never scans; reference
    counting still frees them). Garbage cycles among objects frozen earlier are not seen,
    so every ``full_every_s`` the heap is unfrozen and collected once in full (measured:
    the per-batch collection found no garbage after start-up, so little waits for it).
    Automatic collections are made rare (every 100,000 allocations instead of 700): the
    batch's own objects are collected at its end anyway."""

    def __init__(self, full_every_s: float = 600.0, threshold: int = 100_000):
        self.full_every_s = full_every_s
        self.full_at = time.monotonic()
        gc.set_threshold(threshold, *gc.get_threshold()[1:])

    def after_batch(self) -> None:
        now = time.monotonic()
        if now - self.full_at >= self.full_every_s:
            gc.unfreeze()
            self.full_at = now
        gc.collect()
        gc.freeze()


def app_options(settings: LiveSettings, datadir: str) -> dict:
    """The Faust settings of the processor (the reasons are beside each)."""
    return dict(
        broker=f"kafka://{settings.kafka_bootstrap.replace(',', ';kafka://')}",
        store=settings.processor_store,
        topic_partitions=settings.events_partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        processing_guarantee="at_least_once",
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        # commit on the interval timer only: the fetch loop itself commits (producer flush +
        # offset commit, delivering nothing meanwhile) whenever commit_every offsets were
        # acked, i.e. after almost every batch
        broker_commit_every=1 << 40,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_commit_interval=1.0,
        table_standby_replicas=0,
        web_enabled=False,
        datadir=datadir,
        producer_linger_ms=5,
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
        # one poll returns at most this many records (over all partitions): the largest
        # batch the agent folds at once
        broker_max_poll_records=settings.processor_batch,
        # the stream's queue holds batches (one per partition and poll), not records;
        # a rebalance waits for the ones taken from it to be handled
        stream_buffer_maxsize=4,
    )


def batch_records(ev) -> list[tuple]:
    """A Faust event's records as (raw, partition, offset, ts_ms): a RecordBatch (one
    partition, one poll; see ``adapters.faust_batching``) or one raw record
    (``agent.test_context()``)."""
    value = ev.value
    if type(value) is RecordBatch:
        return [(r.value, r.partition, r.offset, r.timestamp) for r in value.records]
    m = ev.message
    return [(value, m.partition, m.offset, int(m.timestamp * 1000))]


class BatchHandler:
    """One batch of the agent: decode, fold each dossier against the table, then send
    dead letters, changelog records and one facts message per dossier (its current facts
    and the batch's events of it, even duplicates, even when nothing changed)."""

    def __init__(
        self,
        app,
        table,
        folder: Folder,
        facts_out: BatchSender,
        changelog_out: BatchSender,
        dead_topic,
        positions: dict[int, int],
        events_out: BatchSender,
    ):
        self.app, self.table, self.folder = app, table, folder
        self.facts_out, self.changelog_out, self.dead_topic = facts_out, changelog_out, dead_topic
        self.positions = positions
        self.events_out = events_out
        self.forward_logged_at = 0.0

    async def __call__(self, ev) -> None:
        records = batch_records(ev)
        self.positions[ev.message.partition] = ev.message.offset
        groups, dead = self.folder.decode(records, int(time.time() * 1000))
        EVENTS_IN.labels("processor").inc(len(records))
        BATCH_SIZE.labels("processor").observe(len(records))
        await self.send_dead(dead)
        groups = await self.forward_misrouted(ev.message.partition, groups)
        store = self.table.data
        # the memory store's dict itself when there is one (Mapping.get on the store
        # raises and catches KeyError for every new dossier)
        get = store.data.get if isinstance(getattr(store, "data", None), dict) else store.get
        accepted = dups = 0
        out: list[tuple[bytes, bytes]] = []
        changed: list[tuple[bytes, bytes]] = []
        for i, (dossier_id, group) in enumerate(groups.items()):
            if i % 256 == 255:
                # let the producer's sender task move the previous batch's records
                # while this one is folded (nothing else in the loop runs otherwise)
                await asyncio.sleep(0)
            key = dossier_id.encode()
            value, folded = self.folder.fold(dossier_id, get(key), group.events)
            if folded.rejected:
                # An id reused with other content, an event the fold cannot take: dead
                # letters; the rest of the dossier and of the batch go on.
                await self.send_dead(
                    [
                        rejection(CODEC, *group.origin_of(e), err, stage="processor", event=e)
                        for e, err in folded.rejected
                    ]
                )
                group = group.without(e for e, _err in folded.rejected)
            if value is not None and folded.facts is not None:
                store[key] = value
                changed.append((key, orjson.dumps(value)))
            if folded.facts is not None:
                out.append((key, facts_message(folded.facts, group.events, group.ts)))
            accepted += len(group.events)
            dups += folded.duplicates
        await self.send_changelog(ev.message.partition, changed)
        await self.facts_out.send(out)
        EVENTS_ACCEPTED.labels("processor").inc(accepted)
        DUPLICATES.labels("processor").inc(dups)
        EVENTS_OUT.labels("processor", "facts").inc(len(groups))

    async def forward_misrouted(
        self, partition: int, groups: dict[str, DossierGroup]
    ) -> dict[str, DossierGroup]:
        """A dossier's state lives in the partition murmur2(dossier id) picks, which is
        where the gateway and ``motcua publish`` send its events. A producer that picks
        otherwise (kcat's default partitioner, a record without a key) would split a
        dossier's state between partitions, and so between workers and stores: its events
        are sent on, as they arrived, to the dossier's partition and folded there. Safe to
        repeat (a crash before the commit sends them again; they are duplicates there)."""
        mine: dict[str, DossierGroup] = {}
        moved: list[tuple[bytes, bytes]] = []
        moved_ts: list[int] = []
        for dossier_id, group in groups.items():
            key = dossier_id.encode()
            if await self.events_out.partition_for(key) == partition:
                mine[dossier_id] = group
                continue
            for (_source, raw), ts in zip(group.origins, group.ts):
                moved.append((key, raw if isinstance(raw, bytes) else orjson.dumps(raw)))
                moved_ts.append(ts)
        if moved:
            await self.events_out.send(moved, moved_ts)
            EVENTS_OUT.labels("processor", "forwarded").inc(len(moved))
            if time.monotonic() - self.forward_logged_at > 60:
                self.forward_logged_at = time.monotonic()
                log.warning(
                    "forwarded %d events of %d dossiers from partition %d to their dossiers' partitions "
                    "(a producer that does not partition by murmur2 of the dossier id; logged once a minute)",
                    len(moved),
                    len(groups) - len(mine),
                    partition,
                )
        return mine

    async def send_dead(self, dead: list[dict]) -> None:
        for d in dead:
            await self.dead_topic.send(key=d["dead_letter_id"].encode(), value=encode_dead_letter(d))
            DEAD_LETTERS.labels("processor", d["code"]).inc()

    async def send_changelog(self, partition: int, changed: list[tuple[bytes, bytes]]) -> None:
        """What ``table[key] = value`` does (store the value, write key -> orjson value to
        the changelog partition of the source partition, tell the store the changelog
        offset it holds), as one record batch instead of one Faust send_soon per dossier.
        Every record of a batch is from one partition."""
        if not changed:
            return
        store, topic = self.table.data, self.changelog_out.topic
        await self.changelog_out.send_to(
            partition, changed, on_sent=lambda off: store.set_persisted_offset(TP(topic, partition), off)
        )


# How long after the Kafka client's last error the stall watchdog still blames Kafka (the
# client logs a failed fetch every ~0.1-1 s while a broker it reads from is down).
KAFKA_TROUBLE_GRACE_S = 15.0

# Per partition (one RocksDB database each). Faust's defaults are sized for a large machine
# (a 2 GiB block cache and three 64 MiB memtables per database); these keep a worker of the
# default 6 partitions under ~75 MiB of store memory (two 4 MiB memtables and a 4 MiB block
# cache each). Values are read back only for dossiers the state cache no longer holds.
ROCKSDB_OPTIONS = {
    "block_cache_size": 4 << 20,
    "write_buffer_size": 4 << 20,
    "max_write_buffer_number": 2,
    "target_file_size_base": 32 << 20,
}


def state_table(app: faust.App, settings: LiveSettings):
    """The ``dossier-state`` table, in the app's store (RocksDB: see ``ROCKSDB_OPTIONS``)."""
    on_disk = app.conf.store.scheme == "rocksdb"
    if on_disk:
        # The state is rebuilt from the changelog at every start, as with the memory store:
        # a value written to the local store by a batch whose changelog record a crash lost
        # would make the reprocessed batch a no-op, and the changelog would never get it.
        shutil.rmtree(app.conf.tabledir, ignore_errors=True)
    table = app.Table(
        STATE_TABLE,
        default=None,
        partitions=settings.events_partitions,
        key_type=bytes,
        extra_topic_configs=changelog_config(settings),
        options=ROCKSDB_OPTIONS if on_disk else None,
    )
    # Values are DossierState dicts, written to the changelog with orjson (set before
    # the lazily created store and changelog topic read it).
    table.value_serializer = "orjson"  # type: ignore[attr-defined]  # Table's, not on TableT
    return table


def create_app(settings: LiveSettings, cal: WorkingCalendar, catalogue: dict, **app_options_) -> faust.App:
    """The faust app (one agent, one table). ``catalogue``: see ``bootstrap.procedure_catalogue``."""
    datadir = settings.processor_datadir or os.path.join(str(settings.data_dir), "processor")
    os.makedirs(datadir, exist_ok=True)
    app = ProcessorApp(settings.processor_app_id, **{**app_options(settings, datadir), **app_options_})
    app.batch_topics = frozenset({settings.events_topic})
    events_topic = app.topic(
        settings.events_topic,
        key_serializer="raw",
        value_serializer="motcua-batch",
        partitions=settings.events_partitions,
    )
    dead_topic = app.topic(settings.dead_letters_topic, key_serializer="raw", value_serializer="raw")
    table = state_table(app, settings)
    folder = Folder(cal, settings.events_topic, settings.processor_state_cache, catalogue=catalogue)
    app.rebalance_hooks = [folder.forget]
    positions: dict[int, int] = {}
    handle = BatchHandler(
        app,
        table,
        folder,
        BatchSender(app, settings.facts_topic),
        BatchSender(app, table.changelog_topic.get_topic_name()),
        dead_topic,
        positions,
        BatchSender(app, settings.events_topic),
    )
    # handles for tests: facts_out.send / dead_topic.send can be replaced, and on_fatal
    # (default: exit the process so the unacked batch is reprocessed) made to raise
    app.motcua = {
        "table": table,
        "folder": folder,
        "facts_out": handle.facts_out,
        "changelog_out": handle.changelog_out,
        "dead_topic": dead_topic,
        "events_out": handle.events_out,
        "positions": positions,
        "on_fatal": lambda: os._exit(70),
    }
    progress = {"at": time.monotonic()}

    @app.agent(events_topic, concurrency=1)
    async def fold_events(stream):
        # Table changelog writes go through Faust's producer buffer; let it hold a batch
        # (its default of 100 warns and flushes in the middle of every batch).
        app.producer.buffer.max_messages = max(1000, settings.processor_batch * 2)
        # Faust acks an event when the next is requested, i.e. after it was handled.
        heap = HeapFreezer()
        async for ev in stream.events():
            try:
                progress["at"] = time.monotonic()
                await handle(ev)
                heap.after_batch()
                if type(ev.message) is BatchMessage:
                    app.consumer.ack_batch(ev.message)  # type: ignore[attr-defined]  # a BatchingConsumer
            except Exception:  # never ack a batch we could not handle: die, be restarted
                log.exception("processor batch failed; exiting so the batch is reprocessed")
                logging.shutdown()
                app.motcua["on_fatal"]()

    @app.timer(5.0)
    async def watch_lag():
        await report_lag(app, settings, positions, progress)

    return app


class KafkaTrouble(logging.Handler):
    """When the Kafka client last logged an error (a fetch from a broker that is down, a
    refused connection): set from the consumer's thread, read by the stall watchdog."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.at = float("-inf")

    def emit(self, record: logging.LogRecord) -> None:
        self.at = time.monotonic()

    def within(self, seconds: float) -> bool:
        return time.monotonic() - self.at < seconds


KAFKA_TROUBLE = KafkaTrouble()


async def report_lag(app, settings: LiveSettings, positions: dict[int, int], progress: dict) -> None:
    """Consumer lag per partition, and a stall watchdog: holding partitions with unread
    events but handling no batch for ``processor_stall_exit_s`` (seen with faust 0.15.3
    after some rebalances) exits the worker, so its supervisor restarts it and the group
    reassigns; nothing is lost (offsets are committed only after the batches were handled).
    While the Kafka client reports errors (brokers down) no batch can come and a restart
    would not bring one: that is not a stall, the clock starts again once Kafka is back."""
    if KAFKA_TROUBLE not in logging.getLogger("aiokafka").handlers:  # after the worker's log set-up
        logging.getLogger("aiokafka").addHandler(KAFKA_TROUBLE)
    if (
        getattr(app, "in_recovery", False)
        or getattr(app, "rebalancing", False)
        or KAFKA_TROUBLE.within(KAFKA_TROUBLE_GRACE_S)
    ):
        progress["at"] = time.monotonic()  # restoring tables, or Kafka down: not a stall
        return
    lagging = False
    try:
        committed = getattr(app.consumer, "_committed_offset", {})
        for tp in app.consumer.assignment():
            if tp.topic != settings.events_topic:
                continue
            hw = app.consumer.highwater(tp)
            done = max(positions.get(tp.partition, -1), (committed.get(tp) or 0) - 1)
            if hw is not None:
                lag = max(0, hw - done - 1)
                CONSUMER_LAG.labels("processor", tp.topic, str(tp.partition)).set(lag)
                lagging = lagging or lag > 0
    except Exception:  # metrics must never stop the worker
        return
    if not lagging:
        progress["at"] = time.monotonic()
    elif time.monotonic() - progress["at"] > settings.processor_stall_exit_s > 0:
        log.error(
            "processor stalled with unread events; exiting to be restarted",
            extra={"stalled_s": round(time.monotonic() - progress["at"], 1)},
        )
        logging.shutdown()
        app.motcua["on_fatal"]()


def run(settings: LiveSettings, app: faust.App, loglevel: str = "INFO") -> None:
    """Run ``app`` (``bootstrap.processor_app``) as a worker until stopped."""
    from faust.worker import Worker

    from .logs import logging_config
    from .metrics import serve
    from .topics import ensure_topics

    ensure_topics(settings)
    serve(settings.processor_metrics_port)
    worker = Worker(
        app,
        loglevel=loglevel,
        logging_config=logging_config("processor", loglevel),
        quiet=True,
        redirect_stdouts=False,
    )
    worker.execute_from_commandline()
