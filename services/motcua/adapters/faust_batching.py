"""Faust, batched: the processor's Kafka transport.

Faust hands every Kafka record to an agent as its own event; here the consumer delivers
the records of one partition from one poll as ONE Faust message, and ``BatchSender``
appends messages straight to the app's aiokafka producer. This module is the only code
that touches Faust's or aiokafka's private names; each use is listed in ``PRIVATE_NAMES``
and ``tests/unit/adapters/test_faust_batching.py`` checks every one still exists in the
pinned versions (``faust-streaming``, ``aiokafka`` in pyproject.toml), so an upgrade that
moves one fails a fast test instead of the live pipeline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import faust
import orjson
from faust.serializers import codecs
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from faust.types.tuples import ConsumerMessage, ack_lock
from mode.utils.futures import notify

# Every private (underscore) name of Faust or aiokafka used below: (object, attribute, use).
PRIVATE_NAMES = (
    ("faust.transport.drivers.aiokafka.Consumer", "_new_consumer_thread", "overridden: our consumer thread"),
    ("faust.transport.drivers.aiokafka.Consumer", "_wait_next_records", "overridden: batch a poll's records"),
    ("faust.transport.drivers.aiokafka.Consumer", "_to_message", "overridden: a batch -> one message"),
    ("faust.transport.drivers.aiokafka.Consumer", "_add_gap", "overridden: no gap in a batched topic"),
    ("faust.transport.consumer.Consumer", "_new_offset", "overridden: no commit past a hole"),
    ("faust.transport.consumer.Consumer", "_committed_offset", "read: acks start at the committed offset"),
    ("faust.transport.consumer.Consumer", "_acked_index", "updated: the batch's offsets acked"),
    ("faust.transport.consumer.Consumer", "_acked", "updated: the batch's offsets acked"),
    ("faust.transport.consumer.Consumer", "_n_acked", "updated: the batch's offsets acked"),
    ("faust.transport.consumer.Consumer", "_waiting_for_ack", "notified after acking"),
    (
        "faust.transport.consumer.Consumer",
        "_unacked_messages",
        "updated: a handled batch is no longer pending",
    ),
    (
        "faust.transport.drivers.aiokafka.AIOKafkaConsumerThread",
        "_create_worker_consumer",
        "overridden: set the fetch wait",
    ),
    ("aiokafka.AIOKafkaConsumer", "_fetch_max_wait_ms", "set before start(): short fetch waits"),
    ("faust.App", "_new_transport", "overridden: the batching transport"),
    ("faust.transport.drivers.aiokafka.Producer", "_ensure_producer", "called: the aiokafka producer"),
    ("faust.transport.consumer.ThreadDelegateConsumer", "_thread", "called: seek on the consumer thread"),
    (
        "faust.transport.drivers.aiokafka.AIOKafkaConsumerThread",
        "_ensure_consumer",
        "called: the aiokafka consumer, on its thread",
    ),
    ("faust.transport.consumer.Consumer", "_read_offset", "set after a seek, as Consumer.seek does"),
)


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
# is acked (``ack_batch``; never by the stream, which also acks what it skips). Everything else is
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

    first_offset: int


# A hole before a partition's acked offsets older than this is read again (see
# ``BatchingConsumer._reread_hole``).
HOLE_REREAD_S = 10.0


class BatchingConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer, delivering each partition's records of a poll as one
    message for the topics in ``app.batch_topics`` (other topics, e.g. changelogs: one
    message per record, as usual)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._holes: dict[TP, tuple[int, float]] = {}  # tp -> (committed offset, since)
        self._seeks: set[asyncio.Future] = set()

    def _new_consumer_thread(self):
        return BatchingConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _wait_next_records(self, timeout: float):
        records, active = await super()._wait_next_records(timeout)
        batched = getattr(self.app, "batch_topics", ())
        if records and batched:
            records = {
                tp: ([RecordBatch(recs)] if recs and tp.topic in batched else recs)
                for tp, recs in records.items()
            }
        return records, active

    def _to_message(self, tp: TP, record: Any) -> ConsumerMessage:
        if type(record) is not RecordBatch:
            return super()._to_message(tp, record)
        recs = record.records
        first, last = recs[0], recs[-1]
        message = BatchMessage(
            last.topic,
            last.partition,
            last.offset,
            # a missing timestamp stays None and the value is the RecordBatch, as Faust's
            # own _to_message passes them (its signature says float and bytes)
            last.timestamp / 1000.0 if last.timestamp is not None else None,  # type: ignore[arg-type]
            last.timestamp_type,
            [],
            None,
            record,  # type: ignore[arg-type]
            None,
            0,
            sum(r.serialized_value_size for r in recs),
            tp,
            generation_id=self.app.consumer_generation_id,
        )
        message.first_offset = first.offset
        # One reference held for ``ack_batch``, so the stream's own ack never brings the
        # count to zero: Faust's stream also acks a message it *skips* (taken from its queue
        # after a rebalance began: stale generation or flow stopped). For a batch that
        # marked its last offset done though no record was handled; revoked partitions
        # have no committed offset until the next seek, and then the commit in Faust's
        # wait_empty (or the commit timer) jumped past the batch and every batch cleared
        # from the queue before it: those events never reached the facts topic.
        message.refcount = 1
        return message

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        # Faust counts offsets the fetch loop jumped over as done (for compacted or
        # transactional topics). A batched topic's offsets are contiguous (delete policy,
        # no transactions), so offsets between two batches were read but never delivered
        # (a poll's records dropped around a seek or a rebalance): never done. The jump
        # from one batch's last offset to the next one's last is no gap at all.
        if tp.topic in getattr(self.app, "batch_topics", ()):
            return
        await super()._add_gap(tp, offset_from, offset_to)

    async def perform_seek(self) -> None:
        await super().perform_seek()
        # Faust keeps None for a partition never committed, and then commits whatever
        # acked run comes first, past any hole before it; start it at the log's start.
        batched = getattr(self.app, "batch_topics", ())
        unknown = [
            tp for tp in self.assignment() if tp.topic in batched and self._committed_offset[tp] is None
        ]
        if unknown:
            self._committed_offset.update(await self.earliest_offsets(*unknown))

    def _new_offset(self, tp: TP) -> int | None:
        # Commit a batched partition only from its committed offset on: Faust's own check
        # lets a hole of one offset through (``min(acked) - committed > 1``) and none at all
        # while the committed offset is unknown (revoked, not yet sought).
        if tp.topic in getattr(self.app, "batch_topics", ()):
            acked = self._acked[tp]
            committed = self._committed_offset[tp]
            if acked and (committed is None or min(acked) > committed):
                if committed is not None:
                    self._reread_hole(tp, committed)
                return None
            self._holes.pop(tp, None)
        return super()._new_offset(tp)

    def _reread_hole(self, tp: TP, committed: int) -> None:
        # Batches of a partition are handled in offset order, so a hole that outlives a few
        # commit intervals is records nobody will deliver: read the partition again from
        # the committed offset (the records after it are handled twice, which the writer
        # absorbs) instead of never committing it again.
        now = time.monotonic()
        since = self._holes.setdefault(tp, (committed, now))
        if since[0] != committed:
            self._holes[tp] = (committed, now)
        elif now - since[1] >= HOLE_REREAD_S:
            self._holes[tp] = (committed, now)
            # keep the task referenced until it ran (the loop holds only a weak reference)
            task = asyncio.ensure_future(self._seek_on_thread(tp, committed))
            self._seeks.add(task)
            task.add_done_callback(self._seeks.discard)

    async def _seek_on_thread(self, tp: TP, offset: int) -> None:
        # What Faust's ``Consumer.seek`` does, but on the consumer thread: Faust calls the
        # aiokafka consumer's seek from this loop, which drops the partition's fetched
        # records while the thread's loop is reading them (KeyError in aiokafka's
        # ``fetched_records``: the fetcher crashed and the worker exited under load).
        thread = self._thread
        await thread.call_thread(thread._ensure_consumer().seek, tp, offset)
        self._read_offset[tp] = offset if offset else None

    def ack_batch(self, message: Any) -> int:
        """Mark offsets ``first_offset .. offset`` of a handled batch as done (the agent
        calls this after handling it). The only ack of a batch: the stream's cannot reach
        the batch's reference count (see ``_to_message``; Faust's Cython stream iterator
        inlines that ack, so overriding ``Consumer.ack`` would not be enough). Same
        bookkeeping as ``Consumer.ack``; returns the number of offsets marked."""
        with ack_lock:
            tp = message.tp
            # handled (or given up across a rebalance): Faust's wait_empty stops waiting
            message.acked = True
            self._unacked_messages.discard(message)
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
                new = [o for o in range(start, message.offset + 1) if o not in acked_index]
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
    # handles set by ``live.processor.create_app`` (table, senders, on_fatal, ...)
    motcua: dict[str, Any]
    # called when a rebalance starts (before partitions are revoked)
    rebalance_hooks: list[Callable[[], None]]

    def _new_transport(self):
        return BatchingTransport(self.conf.broker_consumer, self)

    def on_rebalance_start(self) -> None:
        super().on_rebalance_start()
        for hook in getattr(self, "rebalance_hooks", ()):
            hook()


# Keys whose partition a sender remembers (a dict, emptied when full). Small on purpose: a
# long-running worker sees every dossier of the province, and with the old cap (a million
# keys, ~100 MiB per sender) the processor's memory grew with every new dossier for
# months; a miss costs ~4 us.
PARTITION_CACHE_KEYS = 20_000


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

    async def partition_for(self, key: bytes) -> int:
        """The partition murmur2(key) picks, as the Java client's default partitioner (and
        the gateway's, and ``motcua publish``'s) does."""
        from aiokafka.partitioner import murmur2

        p = self._partition_of.get(key)
        if p is None:  # murmur2 in pure Python: ~4 us a key
            if self._partitions is None:
                producer = self.app.producer._ensure_producer()  # type: ignore[attr-defined]  # Faust private, listed above
                self._partitions = sorted(await producer.partitions_for(self.topic))
            if len(self._partition_of) >= PARTITION_CACHE_KEYS:
                self._partition_of.clear()
            parts = self._partitions
            p = self._partition_of[key] = parts[(murmur2(key) & 0x7FFFFFFF) % len(parts)]
        return p

    async def send(self, messages: list[tuple[bytes, bytes]], timestamps: list[int] | None = None) -> None:
        """Partition by murmur2(key); ``timestamps``: the records' times (ms), else now."""
        if not messages:
            return
        producer = self.app.producer._ensure_producer()  # type: ignore[attr-defined]  # Faust private, listed above
        send = producer.send
        topic = self.topic
        for i, (key, value) in enumerate(messages):
            p = await self.partition_for(key)
            ts = timestamps[i] if timestamps is not None else None
            await send(topic, value, key=key, partition=p, timestamp_ms=ts)

    async def send_to(self, partition: int, items: list[tuple[bytes, bytes]], on_sent=None) -> None:
        """All items to one partition; ``on_sent(offset of the last item)`` once the broker
        acknowledged it."""
        producer = self.app.producer._ensure_producer()  # type: ignore[attr-defined]  # Faust private, listed above
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
