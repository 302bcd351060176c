"""The processor: a faust-streaming app that folds dossier events into dossier state.

* Source: the events topic (Avro single objects from the gateway / ``motcua publish``,
  JSON from outside clients such as kcat), keyed by dossier_id. Every record goes through
  ``pipeline.ingest.decode_record``; a bad one goes to the dead-letter topic with its
  reason (source ``<topic>:<partition>:<offset>``, so a reprocessed record keeps its id).
* State: a Faust table ``dossier-state`` of ``DossierState.to_dict()`` values,
  changelog-backed (co-partitioned with the events topic).
* Output: for every dossier in a batch, one message on the facts topic keyed by
  dossier_id: its *current* facts (``derive_facts``) and the batch's events of that
  dossier (even duplicates, even when nothing changed). A crash between the table update
  and the send therefore loses nothing: the reprocessed event re-emits the facts. The
  writer keeps only versions it has not written yet.
* One agent, concurrency=1 (faust issue #606). The consumer delivers the records of one
  partition from one poll as one Faust event (``BatchingConsumer``: Faust's per-record
  delivery capped a no-op agent at a few thousand events/s); a batch's offsets are acked
  after it was handled. Faust flushes the producer (changelog + facts + dead letters)
  before it commits source offsets (on its 1 s commit timer).
* Throughput (docs/live-pipeline.md, "Measured"): the consumer's fetches never long-poll
  (``FETCH_MAX_WAIT_MS``), the producer writes 4 MiB batches (``topics.PRODUCER_BATCH_BYTES``)
  and the garbage collector leaves the long-lived states alone (``HeapFreezer``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections import OrderedDict
from typing import Any

import faust
import orjson
from faust.serializers import codecs
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import ConsumerMessage, ack_lock
from mode.utils.futures import notify

from ..adapters.codec import DecodeError, encode_dead_letter
from ..domain.calendar import WorkingCalendar
from ..domain.events import InvalidEvent
from ..domain.lifecycle import DossierState
from ..pipeline.dossiers import fold_dossier
from ..pipeline.ingest import decode_record, rejection
from .config import STATE_TABLE, LiveSettings
from .metrics import (BATCH_SIZE, CONSUMER_LAG, DEAD_LETTERS, DUPLICATES, EVENTS_ACCEPTED,
                      EVENTS_IN, EVENTS_OUT)
from .topics import LARGE, PRODUCER_BATCH_BYTES

log = logging.getLogger("motcua.processor")


class OrjsonCodec(codecs.Codec):
    """Table values (DossierState dicts) to and from the changelog, with orjson."""

    def _dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(self, s: bytes) -> Any:
        return orjson.loads(s)


codecs.register("orjson", OrjsonCodec())


# ---------------------------------------------------------------------------------------
# Batch delivery. Faust hands every Kafka record to an agent as its own event: per record
# the fetch loop (``Consumer._drain_messages``) awaits ``wait_first(callback(message),
# suspend_flow.wait())`` (four tasks created and cancelled), the conductor decodes it into
# an Event and puts it on the stream's queue, the stream sets context variables, calls
# sensors, tracks and acks it. That costs ~150 us of CPU per record on our machine and
# caps a no-op agent at ~2,000-5,000 events/s, whatever the fetch settings. So the
# processor's consumer delivers the records of one partition fetched in one poll as ONE
# Faust message (value: a RecordBatch); once the agent handled it, every offset it covers
# is acked (``ack_batch``, plus the stream's own ack of the last one). Everything else is
# Faust's: group membership, assignment, the changelog-backed table and its recovery
# (changelog records still arrive one by one), flow control across rebalances
# (generation ids), and the commit path (offsets committed only up to acked offsets,
# after the producer - changelog, facts, dead letters - was flushed).
# ---------------------------------------------------------------------------------------


class RecordBatch:
    """The records (aiokafka ``ConsumerRecord``) of one partition from one poll."""

    __slots__ = ("records",)

    def __init__(self, records: list):
        self.records = records

    def __len__(self) -> int:
        return len(self.records)


class PassthroughCodec(codecs.Codec):
    """Value codec of the batched topic: the consumer already built the value (a
    RecordBatch); a value put by ``agent.test_context()`` stays raw bytes."""

    def _dumps(self, obj: Any) -> Any:
        return obj

    def _loads(self, s: Any) -> Any:
        return s


codecs.register("motcua-batch", PassthroughCodec())


class BatchMessage(ConsumerMessage):
    """A Faust message standing for offsets ``first_offset .. offset`` of one partition."""

    __slots__ = ("first_offset",)


class BatchingConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, delivering each partition's records of a poll as one
    message for the topics in ``app.batch_topics`` (other topics, e.g. changelogs: one
    message per record, as usual)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batch_first: dict[TP, int] = {}

    def _new_consumer_thread(self):
        return BatchingConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _wait_next_records(self, timeout: float):
        records, active = await super()._wait_next_records(timeout)
        batched = getattr(self.app, "batch_topics", ())
        if records and batched:
            records = {tp: ([RecordBatch(recs)] if recs and tp.topic in batched else recs)
                       for tp, recs in records.items()}
        return records, active

    def _to_message(self, tp: TP, record: Any) -> ConsumerMessage:
        if type(record) is not RecordBatch:
            return super()._to_message(tp, record)
        recs = record.records
        first, last = recs[0], recs[-1]
        # read by _add_gap, which the fetch loop calls for this message before its callback
        self._batch_first[tp] = first.offset
        message = BatchMessage(
            last.topic, last.partition, last.offset,
            last.timestamp / 1000.0 if last.timestamp is not None else None,
            last.timestamp_type, [], None, record, None, 0,
            sum(r.serialized_value_size for r in recs), tp,
            generation_id=self.app.consumer_generation_id)
        message.first_offset = first.offset
        return message

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        # The fetch loop sees read offsets jump from one batch's last offset to the next
        # one's and would record the jump as a gap; only offsets *before* the batch's first
        # record are a real gap (the batch's own offsets are acked with the batch).
        first = self._batch_first.get(tp)
        if first is not None and tp.topic in getattr(self.app, "batch_topics", ()):
            offset_to = min(offset_to, first - 1)
            if offset_to < offset_from:
                return
        await super()._add_gap(tp, offset_from, offset_to)

    def ack_batch(self, message: Any) -> int:
        """Mark offsets ``first_offset .. offset - 1`` of a handled batch as done (the
        agent calls this after handling it); the batch's last offset is acked by the
        stream like any message's (Faust's Cython stream iterator inlines that ack, so
        overriding ``Consumer.ack`` would not be enough). Same bookkeeping as
        ``Consumer.ack``; returns the number of offsets marked."""
        with ack_lock:
            tp = message.tp
            try:
                if not self.app.topics.acks_enabled_for(message.topic):
                    return 0
                if message.generation_id != self.app.consumer_generation_id:
                    # handled across a rebalance: the records are read again from the
                    # committed offset
                    return 0
                committed = self._committed_offset[tp]
                start = message.first_offset
                if committed is not None:
                    start = max(start, committed)
                acked_index = self._acked_index[tp]
                new = [o for o in range(start, message.offset) if o not in acked_index]
                acked_index.update(new)
                self._acked[tp].extend(new)
                self._n_acked += len(new)
                return len(new)
            finally:
                notify(self._waiting_for_ack)


# How long the broker may hold a fetch that finds no new records. Faust hard-codes 1,500
# ms. The consumer also reads Faust's leader topic (one partition, always empty), and
# aiokafka keeps one fetch in flight per broker, for the partitions with nothing
# buffered: when every events partition still had records buffered, the fetch covered
# only the empty leader partition and the broker held it for 1.5 s, while the buffers ran
# dry (gaps of 0.3-1 s without a batch, a third of the run). A short wait keeps a fresh
# fetch going; an idle worker then sends ~40 small fetches a second.
FETCH_MAX_WAIT_MS = 25


class BatchingConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport):
        consumer = super()._create_worker_consumer(transport)
        # read by AIOKafkaConsumer.start() when it builds its Fetcher
        assert hasattr(consumer, "_fetch_max_wait_ms")
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class BatchingTransport(faust_aiokafka.Transport):
    Consumer = BatchingConsumer


class ProcessorApp(faust.App):
    """faust.App whose consumer delivers record batches for ``batch_topics``."""

    batch_topics: frozenset = frozenset()

    def _new_transport(self):
        return BatchingTransport(self.conf.broker_consumer, self)


def facts_message(facts: dict, events: list[dict], ingest_ts: list[int]) -> bytes:
    """The facts topic value: {"facts", "events", "ts"} (ts: ingest record times, ms)."""
    return orjson.dumps({"facts": facts, "events": events, "ts": ingest_ts})


class Folder:
    """The pure part of the agent: a batch of (key, raw, partition, offset, ts) records ->
    table updates, facts messages and dead letters. Keeps DossierState objects cached
    beside the table values they were built from (valid while the value is the same
    object; after a rebalance or recovery the table holds new objects and the cache
    rebuilds from them)."""

    def __init__(self, cal: WorkingCalendar, topic: str, cache_size: int = 500_000,
                 catalogue: dict | None = None):
        self.cal = cal
        self.catalogue = catalogue  # procedure flags (reference.catalogue), read at start
        self.topic = topic
        self.cache: OrderedDict[str, tuple[DossierState, dict]] = OrderedDict()
        self.cache_size = cache_size

    def state_of(self, dossier_id: str, stored: dict | None) -> DossierState:
        hit = self.cache.get(dossier_id)
        if hit is not None and stored is not None and hit[1] is stored:
            self.cache.move_to_end(dossier_id)
            return hit[0]
        return DossierState.from_dict(stored) if stored else DossierState(dossier_id)

    def remember(self, dossier_id: str, state: DossierState, stored: dict) -> None:
        self.cache[dossier_id] = (state, stored)
        self.cache.move_to_end(dossier_id)
        if len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)

    def decode(self, records, now_ms: int):
        """records: [(raw, partition, offset, ts_ms)] -> (groups, dead letters) where
        groups maps dossier_id -> (events, ingest ts, origins: (raw, partition, offset))."""
        groups: dict[str, tuple[list, list, list]] = {}
        dead: list[dict] = []
        for record in records:
            raw, partition, offset, ts_ms = record
            try:
                event = decode_record(raw, now_ms)
            except (DecodeError, InvalidEvent) as err:
                dead.append(rejection(f"{self.topic}:{partition}:{offset}", raw, err,
                                      stage="processor"))
                continue
            g = groups.get(event["dossier_id"])
            if g is None:
                groups[event["dossier_id"]] = ([event], [ts_ms], [record])
            else:
                g[0].append(event)
                g[1].append(ts_ms)
                g[2].append(record)
        return groups, dead

    def fold(self, dossier_id: str, stored: dict | None, events: list[dict]):
        """-> (new table value or None when unchanged, ``Folded``). The table value is
        untouched until the caller stores the new one, so it is the state to refold
        from when the batch must be taken one event at a time."""
        state = self.state_of(dossier_id, stored)
        folded = fold_dossier(state, events, self.cal,
                              lambda: DossierState.from_dict(stored) if stored else DossierState(dossier_id),
                              self.catalogue)
        if folded.state is not state:
            self.cache.pop(dossier_id, None)  # the cached state took events that were refused
        if folded.facts is None and stored is None:
            return None, folded  # a new dossier whose every event was refused
        value = folded.state.to_dict() if folded.fresh or stored is None else None
        self.remember(dossier_id, folded.state, value if value is not None else stored)
        return value, folded


class HeapFreezer:
    """Keeps CPython's cyclic garbage collector off the long-lived heap.

    The worker holds every dossier's state (table values and the folder's cache):
    hundreds of thousands of objects that live for days. The collector's older
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


class BatchSender:
    """Messages of a batch straight into the Faust app's aiokafka producer
    (``AIOKafkaProducer.send``: appends to the partition's open record batch; the delivery
    future is not awaited): facts partitioned like every other client (murmur2 of the
    key), changelog records to an explicit partition (the source partition). Faust's
    per-message ``topic.send`` / ``send_soon`` (FutureMessage, producer buffer, callbacks)
    costs ~0.1-0.4 ms per message; this costs ~10 us. ``send_batch`` would be cheaper per
    record but waits until the partition's previous batch was drained (a broker round
    trip), which made the agent latency-bound. Delivery semantics do not change: it is the
    same producer, which Faust flushes before it commits source offsets."""

    def __init__(self, app: faust.App, topic: str):
        self.app = app
        self.topic = topic
        self._partitions: list[int] | None = None
        self._partition_of: dict[bytes, int] = {}

    async def send(self, messages: list[tuple[bytes, bytes]]) -> None:
        """Partition by murmur2(key)."""
        from aiokafka.partitioner import murmur2

        if not messages:
            return
        producer = self.app.producer._ensure_producer()
        if self._partitions is None:
            self._partitions = sorted(await producer.partitions_for(self.topic))
        parts = self._partitions
        n = len(parts)
        send = producer.send
        topic = self.topic
        cache = self._partition_of
        if len(cache) > 1_000_000:
            cache.clear()
        for key, value in messages:
            p = cache.get(key)
            if p is None:  # murmur2 in pure Python: ~4 us a key
                p = cache[key] = parts[(murmur2(key) & 0x7FFFFFFF) % n]
            await send(topic, value, key=key, partition=p)

    async def send_to(self, partition: int, items: list[tuple[bytes, bytes]],
                      on_sent=None) -> None:
        """All items to one partition; ``on_sent(offset of the last item)`` once the broker
        acknowledged it."""
        producer = self.app.producer._ensure_producer()
        send = producer.send
        topic = self.topic
        fut = None
        for key, value in items:
            fut = await send(topic, value, key=key, partition=partition)
        if on_sent is not None and fut is not None:
            def done(f):
                if not f.cancelled() and f.exception() is None:
                    on_sent(f.result().offset)
            fut.add_done_callback(done)


def create_app(settings: LiveSettings, cal: WorkingCalendar, catalogue: dict,
               **app_options) -> faust.App:
    """The faust app (one agent, one table). ``catalogue``: see ``bootstrap.procedure_catalogue``."""
    datadir = settings.processor_datadir or os.path.join(str(settings.data_dir), "processor")
    os.makedirs(datadir, exist_ok=True)
    options = dict(
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
    options.update(app_options)
    app = ProcessorApp(settings.processor_app_id, **options)
    app.batch_topics = frozenset({settings.events_topic})
    events_topic = app.topic(settings.events_topic, key_serializer="raw",
                             value_serializer="motcua-batch",
                             partitions=settings.events_partitions)
    facts_topic = app.topic(settings.facts_topic, key_serializer="raw", value_serializer="raw",
                            partitions=settings.facts_partitions)
    dead_topic = app.topic(settings.dead_letters_topic, key_serializer="raw",
                           value_serializer="raw")
    table = app.Table(STATE_TABLE, default=None, partitions=settings.events_partitions,
                      key_type=bytes, extra_topic_configs=dict(LARGE))
    # Values are DossierState dicts, written to the changelog with orjson (set before
    # the lazily created store and changelog topic read it).
    table.value_serializer = "orjson"
    folder = Folder(cal, settings.events_topic, catalogue=catalogue)
    facts_out = BatchSender(app, settings.facts_topic)
    changelog_out = BatchSender(app, table.changelog_topic.get_topic_name())
    positions: dict[int, int] = {}
    # handles for tests: facts_out.send / dead_topic.send can be replaced, and on_fatal
    # (default: exit the process so the unacked batch is reprocessed) made to raise
    app.motcua = {"table": table, "folder": folder, "facts_topic": facts_topic,
                  "facts_out": facts_out, "changelog_out": changelog_out,
                  "dead_topic": dead_topic, "positions": positions,
                  "on_fatal": lambda: os._exit(70)}

    @app.agent(events_topic, concurrency=1)
    async def fold_events(stream):
        # Table changelog writes go through Faust's producer buffer; let it hold a batch
        # (its default of 100 warns and flushes in the middle of every batch).
        app.producer.buffer.max_messages = max(1000, settings.processor_batch * 2)
        # Each event is a RecordBatch (one partition, one poll; see BatchingConsumer), or
        # one raw record (agent.test_context()). Faust acks it when the next is requested,
        # i.e. after handle_batch returned.
        consumer = app.consumer
        heap = HeapFreezer()
        async for ev in stream.events():
            try:
                await handle_batch(ev)
                heap.after_batch()
                if type(ev.message) is BatchMessage:
                    consumer.ack_batch(ev.message)
            except Exception:  # never ack a batch we could not handle: die, be restarted
                log.exception("processor batch failed; exiting so the batch is reprocessed")
                logging.shutdown()
                app.motcua["on_fatal"]()

    async def handle_batch(ev) -> None:
        progress["at"] = time.monotonic()
        now = int(time.time() * 1000)
        value = ev.value
        if type(value) is RecordBatch:
            records = [(r.value, r.partition, r.offset, r.timestamp) for r in value.records]
        else:
            m = ev.message
            records = [(value, m.partition, m.offset, int(m.timestamp * 1000))]
        positions[ev.message.partition] = ev.message.offset
        groups, dead = folder.decode(records, now)
        EVENTS_IN.labels("processor").inc(len(records))
        BATCH_SIZE.labels("processor").observe(len(records))
        for d in dead:
            await dead_topic.send(key=d["dead_letter_id"].encode(), value=encode_dead_letter(d))
            DEAD_LETTERS.labels("processor", d["code"]).inc()
        accepted = dups = 0
        out: list[tuple[bytes, bytes]] = []
        changed: list[tuple[bytes, bytes]] = []
        store = table.data
        # the memory store's dict itself when there is one (Mapping.get on the store
        # raises and catches KeyError for every new dossier)
        get = store.data.get if isinstance(getattr(store, "data", None), dict) else store.get
        for i, (dossier_id, (events, ts, origins)) in enumerate(groups.items()):
            if i % 256 == 255:
                # let the producer's sender task move the previous batch's records
                # while this one is folded (nothing else in the loop runs otherwise)
                await asyncio.sleep(0)
            key = dossier_id.encode()
            value, folded = folder.fold(dossier_id, get(key), events)
            if folded.rejected:
                # An id reused with other content, an event the fold cannot take: dead
                # letters; the rest of the dossier and of the batch go on.
                events, ts = await send_refused(events, ts, origins, folded.rejected)
            if value is not None and folded.facts is not None:
                store[key] = value
                changed.append((key, orjson.dumps(value)))
            if folded.facts is not None:
                out.append((key, facts_message(folded.facts, events, ts)))
            accepted += len(events)
            dups += folded.duplicates
        if changed:
            # What ``table[key] = value`` does (store the value, write key -> orjson value
            # to the changelog partition of the source partition, tell the store the
            # changelog offset it holds), as one record batch instead of one Faust
            # send_soon per dossier. Every record of ``ev`` is from one partition.
            partition = ev.message.partition
            await changelog_out.send_to(partition, changed,
                                        on_sent=lambda off, p=partition: store.set_persisted_offset(
                                            TP(changelog_out.topic, p), off))
        await facts_out.send(out)
        EVENTS_ACCEPTED.labels("processor").inc(accepted)
        DUPLICATES.labels("processor").inc(dups)
        EVENTS_OUT.labels("processor", "facts").inc(len(groups))

    async def send_refused(events, ts, origins, refused):
        """Dead-letter the refused events; -> the dossier's other events and their ts."""
        gone = {id(e) for e, _err in refused}
        for e, err in refused:
            raw, partition, offset, _ts = origins[next(i for i, x in enumerate(events) if x is e)]
            d = rejection(f"{folder.topic}:{partition}:{offset}", raw, err, stage="processor", event=e)
            await dead_topic.send(key=d["dead_letter_id"].encode(), value=encode_dead_letter(d))
            DEAD_LETTERS.labels("processor", d["code"]).inc()
        keep = [i for i, e in enumerate(events) if id(e) not in gone]
        return [events[i] for i in keep], [ts[i] for i in keep]

    progress = {"at": time.monotonic()}

    @app.timer(5.0)
    async def report_lag():
        """Consumer lag per partition, and a stall watchdog: holding partitions with
        unread events but handling no batch for ``processor_stall_exit_s`` (seen with
        faust 0.15.3 after some rebalances) exits the worker, so its supervisor restarts
        it and the group reassigns; nothing is lost (offsets are committed only after the
        batches were handled)."""
        if getattr(app, "in_recovery", False) or getattr(app, "rebalancing", False):
            progress["at"] = time.monotonic()  # restoring tables is not a stall
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
            log.error("processor stalled with unread events; exiting to be restarted",
                      extra={"stalled_s": round(time.monotonic() - progress["at"], 1)})
            logging.shutdown()
            app.motcua["on_fatal"]()

    return app


def run(settings: LiveSettings, app: faust.App, loglevel: str = "INFO") -> None:
    """Run ``app`` (``bootstrap.processor_app``) as a worker until stopped."""
    from faust.worker import Worker

    from .logs import logging_config
    from .metrics import serve
    from .topics import ensure_topics

    ensure_topics(settings)
    serve(settings.processor_metrics_port)
    worker = Worker(app, loglevel=loglevel, logging_config=logging_config("processor", loglevel),
                    quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
