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
* One agent, concurrency=1 (faust issue #606); events are taken in batches
  (``take_events``) and acked after the batch was handled. Faust flushes the producer
  (changelog + facts + dead letters) before it commits source offsets.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections import OrderedDict
from typing import Any

import faust
import orjson
from faust.serializers import codecs
from faust.streams import _current_event

from ..adapters.codec import DecodeError, encode_dead_letter
from ..domain.calendar import WorkingCalendar
from ..domain.events import InvalidEvent
from ..domain.lifecycle import DossierState, derive_facts
from ..pipeline.ingest import decode_record, rejection
from .config import STATE_TABLE, LiveSettings
from .metrics import (BATCH_SIZE, CONSUMER_LAG, DEAD_LETTERS, DUPLICATES, EVENTS_ACCEPTED,
                      EVENTS_IN, EVENTS_OUT)

log = logging.getLogger("motcua.processor")


class OrjsonCodec(codecs.Codec):
    """Table values (DossierState dicts) to and from the changelog, with orjson."""

    def _dumps(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(self, s: bytes) -> Any:
        return orjson.loads(s)


codecs.register("orjson", OrjsonCodec())


def facts_message(facts: dict, events: list[dict], ingest_ts: list[int]) -> bytes:
    """The facts topic value: {"facts", "events", "ts"} (ts: ingest record times, ms)."""
    return orjson.dumps({"facts": facts, "events": events, "ts": ingest_ts})


class Folder:
    """The pure part of the agent: a batch of (key, raw, partition, offset, ts) records ->
    table updates, facts messages and dead letters. Keeps DossierState objects cached
    beside the table values they were built from (valid while the value is the same
    object; after a rebalance or recovery the table holds new objects and the cache
    rebuilds from them)."""

    def __init__(self, cal: WorkingCalendar, topic: str, cache_size: int = 500_000):
        self.cal = cal
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
        """records: [(raw, partition, offset, ts_ms, ref)] -> (groups, dead letters) where
        groups maps dossier_id -> (events, ingest ts, ref of its first record)."""
        groups: dict[str, tuple[list, list, Any]] = {}
        dead: list[dict] = []
        for raw, partition, offset, ts_ms, ref in records:
            try:
                event = decode_record(raw, now_ms)
            except (DecodeError, InvalidEvent) as err:
                dead.append(rejection(f"{self.topic}:{partition}:{offset}", raw, err,
                                      stage="processor"))
                continue
            g = groups.get(event["dossier_id"])
            if g is None:
                groups[event["dossier_id"]] = ([event], [ts_ms], ref)
            else:
                g[0].append(event)
                g[1].append(ts_ms)
        return groups, dead

    def fold(self, dossier_id: str, stored: dict | None, events: list[dict]):
        """-> (new table value or None when unchanged, facts, duplicates)."""
        state = self.state_of(dossier_id, stored)
        changed = False
        dups = 0
        for e in events:
            if state.absorb(e):
                changed = True
            else:
                dups += 1
        facts = derive_facts(state, self.cal)
        value = state.to_dict() if changed or stored is None else None
        self.remember(dossier_id, state, value if value is not None else stored)
        return value, facts, dups


class BatchSender:
    """Facts messages of a batch straight into the Faust app's aiokafka producer as one
    record batch per partition (``send_batch``), partitioned like every other client
    (murmur2 of the key). Per-message ``topic.send`` costs ~0.4 ms in Faust; this costs a
    few microseconds. Delivery semantics do not change: it is the same producer, which
    Faust flushes before it commits source offsets."""

    def __init__(self, app: faust.App, topic: str):
        self.app = app
        self.topic = topic
        self._partitions: list[int] | None = None

    async def send(self, messages: list[tuple[bytes, bytes]]) -> None:
        from aiokafka.partitioner import murmur2

        producer = self.app.producer._ensure_producer()
        if self._partitions is None:
            self._partitions = sorted(await producer.partitions_for(self.topic))
        parts = self._partitions
        n = len(parts)
        by_partition: dict[int, list] = {}
        for key, value in messages:
            p = parts[(murmur2(key) & 0x7FFFFFFF) % n]
            by_partition.setdefault(p, []).append((key, value))
        for p, items in by_partition.items():
            batch = producer.create_batch()
            for key, value in items:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    await producer.send_batch(batch, self.topic, partition=p)
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            if batch.record_count():
                await producer.send_batch(batch, self.topic, partition=p)


def create_app(settings: LiveSettings, cal: WorkingCalendar | None = None, **app_options) -> faust.App:
    """The faust app (one agent, one table)."""
    from ..cli.common import load_calendar

    cal = cal or load_calendar()
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
        broker_commit_every=10_000,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_commit_interval=1.0,
        table_standby_replicas=0,
        web_enabled=False,
        datadir=datadir,
        producer_linger_ms=5,
        producer_max_batch_size=512 * 1024,
        stream_buffer_maxsize=max(4096, settings.processor_batch * 2),
    )
    options.update(app_options)
    app = faust.App(settings.processor_app_id, **options)
    events_topic = app.topic(settings.events_topic, key_serializer="raw", value_serializer="raw",
                             partitions=settings.events_partitions)
    facts_topic = app.topic(settings.facts_topic, key_serializer="raw", value_serializer="raw",
                            partitions=settings.facts_partitions)
    dead_topic = app.topic(settings.dead_letters_topic, key_serializer="raw",
                           value_serializer="raw")
    table = app.Table(STATE_TABLE, default=None, partitions=settings.events_partitions,
                      key_type=bytes)
    # Values are DossierState dicts, written to the changelog with orjson (set before
    # the lazily created store and changelog topic read it).
    table.value_serializer = "orjson"
    folder = Folder(cal, settings.events_topic)
    facts_out = BatchSender(app, settings.facts_topic)
    positions: dict[int, int] = {}
    # handles for tests: facts_out.send / dead_topic.send can be replaced, and on_fatal
    # (default: exit the process so the unacked batch is reprocessed) made to raise
    app.motcua = {"table": table, "folder": folder, "facts_topic": facts_topic,
                  "facts_out": facts_out, "dead_topic": dead_topic, "positions": positions,
                  "on_fatal": lambda: os._exit(70)}

    @app.agent(events_topic, concurrency=1)
    async def fold_events(stream):
        # Table changelog writes go through Faust's producer buffer; let it hold a batch
        # (its default of 100 warns and flushes in the middle of every batch).
        app.producer.buffer.max_messages = max(1000, settings.processor_batch * 2)
        async for batch in stream.take_events(settings.processor_batch,
                                              within=settings.processor_batch_within):
            try:
                await handle_batch(batch)
            except Exception:  # never ack a batch we could not handle: die, be restarted
                log.exception("processor batch failed; exiting so the batch is reprocessed")
                logging.shutdown()
                app.motcua["on_fatal"]()

    async def handle_batch(batch) -> None:
        progress["at"] = time.monotonic()
        now = int(time.time() * 1000)
        records = []
        for ev in batch:
            m = ev.message
            records.append((m.value, m.partition, m.offset, int(m.timestamp * 1000), ev))
            positions[m.partition] = m.offset
        groups, dead = folder.decode(records, now)
        EVENTS_IN.labels("processor").inc(len(records))
        BATCH_SIZE.labels("processor").observe(len(records))
        for d in dead:
            await dead_topic.send(key=d["dead_letter_id"].encode(), value=encode_dead_letter(d))
            DEAD_LETTERS.labels("processor", d["code"]).inc()
        accepted = dups = 0
        out: list[tuple[bytes, bytes]] = []
        for dossier_id, (events, ts, ev) in groups.items():
            key = dossier_id.encode()
            value, facts, d = folder.fold(dossier_id, table.get(key), events)
            if value is not None:
                # Table writes take the changelog partition from the current event:
                # make it an event of this dossier (all of them share one partition).
                token = _current_event.set(weakref.ref(ev))
                try:
                    table[key] = value
                finally:
                    _current_event.reset(token)
            out.append((key, facts_message(facts, events, ts)))
            accepted += len(events)
            dups += d
        await facts_out.send(out)
        EVENTS_ACCEPTED.labels("processor").inc(accepted)
        DUPLICATES.labels("processor").inc(dups)
        EVENTS_OUT.labels("processor", "facts").inc(len(groups))

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


def run(settings: LiveSettings, loglevel: str = "INFO") -> None:
    from faust.worker import Worker

    from .logs import logging_config
    from .metrics import serve
    from .topics import ensure_topics

    ensure_topics(settings)
    app = create_app(settings)
    serve(settings.processor_metrics_port)
    worker = Worker(app, loglevel=loglevel, logging_config=logging_config("processor", loglevel),
                    quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
