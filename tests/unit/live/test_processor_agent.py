"""The processor's faust agent driven without a broker (``agent.test_context()``)."""

from __future__ import annotations

import asyncio

import orjson

from motcua.adapters.codec import encode_avro, encode_json
from motcua.domain.events import validate
from motcua.live.config import LiveSettings
from motcua.live.processor import Folder, create_app
from motcua.reference.official_calendar import default_calendar
from tests.builders import local_ms, make_event, received

cal = default_calendar()


def _app(tmp_path):
    s = LiveSettings(processor_app_id="unit-processor", processor_datadir=str(tmp_path), processor_batch=10)
    app = create_app(s, cal, catalogue={}, store="memory://")
    app.motcua["events_out"]._partitions = [0]  # the test context's one partition

    def fatal():
        raise AssertionError("the agent failed a batch")

    app.motcua["on_fatal"] = fatal
    return app


def test_agent_folds_events_into_the_table_and_emits_facts_for_every_batch(tmp_path):
    app = _app(tmp_path)
    agent = app.agents["motcua.live.processor.fold_events"]
    table = app.motcua["table"]
    r1 = received("D1", local_ms(2025, 3, 3))
    done = make_event("D1", 2, "RESOLVED", local_ms(2025, 3, 5))

    changelog = []

    async def run():
        sent = []

        async def capture(messages):
            sent.extend((k, orjson.loads(v)) for k, v in messages)

        async def capture_changelog(partition, items, on_sent=None):
            changelog.extend((partition, k, orjson.loads(v)) for k, v in items)

        app.motcua["facts_out"].send = capture
        app.motcua["changelog_out"].send_to = capture_changelog
        async with agent.test_context() as ctx:
            await ctx.put(key=b"D1", value=encode_avro(validate(dict(r1))))
            await ctx.put(key=b"D1", value=encode_json(done))
            await ctx.put(key=b"D1", value=encode_json(done))  # a duplicate: facts again
            await asyncio.sleep(0.2)
        return sent

    sent = asyncio.run(run())
    assert sent, "the agent emitted nothing"
    last = sent[-1][1]
    assert sent[-1][0] == b"D1"
    assert last["facts"]["version"] == 2 and last["facts"]["ended"]
    assert sum(len(m["events"]) for _k, m in sent) == 3  # every input event is carried
    assert sorted(table[b"D1"]["event_ids"]) == sorted([r1["event_id"], done["event_id"]])
    # the changelog got the table's values (the duplicate changed nothing: no record)
    assert app.motcua["changelog_out"].topic == "unit-processor-dossier-state-changelog"
    assert [(p, k) for p, k, _v in changelog] == [(0, b"D1"), (0, b"D1")]
    assert changelog[-1][2] == table[b"D1"]


def test_agent_sends_bad_records_to_dead_letters(tmp_path):
    app = _app(tmp_path)
    agent = app.agents["motcua.live.processor.fold_events"]

    async def run():
        dead = []

        async def capture(*, key=None, value=None, **kw):
            dead.append(value)

        async def no_facts(messages):
            assert messages == []

        app.motcua["dead_topic"].send = capture
        app.motcua["facts_out"].send = no_facts
        async with agent.test_context() as ctx:
            await ctx.put(key=b"x", value=b"not json at all")
            await ctx.put(key=b"x", value=b'{"event_type": "TELEPORTED"}')
            await asyncio.sleep(0.2)
        return dead

    from motcua.adapters.codec import decode_dead_letter

    codes = sorted(decode_dead_letter(v)["code"] for v in asyncio.run(run()))
    assert codes == ["BAD_JSON", "UNKNOWN_EVENT_TYPE"]


def test_events_on_another_partition_than_their_dossiers_are_forwarded_not_folded(tmp_path):
    from aiokafka.partitioner import murmur2

    app = _app(tmp_path)
    app.motcua["events_out"]._partitions = [0, 1]
    agent = app.agents["motcua.live.processor.fold_events"]
    # one dossier of each partition; the test context delivers everything on partition 0
    ids = [f"D{i}" for i in range(20)]
    home = next(d for d in ids if (murmur2(d.encode()) & 0x7FFFFFFF) % 2 == 0)
    away = next(d for d in ids if (murmur2(d.encode()) & 0x7FFFFFFF) % 2 == 1)
    e_home, e_away = received(home, local_ms(2025, 3, 3)), received(away, local_ms(2025, 3, 3))
    raw_away = encode_json(e_away)

    async def run():
        facts, forwarded = [], []

        async def capture(messages):
            facts.extend(k for k, _v in messages)

        async def capture_forward(messages, timestamps=None):
            forwarded.extend(messages)

        async def no_changelog(partition, items, on_sent=None):
            return None

        app.motcua["facts_out"].send = capture
        app.motcua["changelog_out"].send_to = no_changelog
        app.motcua["events_out"].send = capture_forward
        async with agent.test_context() as ctx:
            await ctx.put(key=b"any", value=encode_json(e_home), partition=0)
            await ctx.put(key=home.encode(), value=raw_away, partition=0)
            await asyncio.sleep(0.2)
        return facts, forwarded

    facts, forwarded = asyncio.run(run())
    assert facts == [home.encode()]  # folded here, whatever the record's key
    assert forwarded == [(away.encode(), raw_away)]  # sent on as it arrived, keyed by its dossier
    assert away.encode() not in app.motcua["table"].data


def test_folder_reuses_cached_state_until_a_rebalance():
    f = Folder(cal, "t", cache_size=2)
    e = received("D2", local_ms(2025, 3, 3))
    value, first = f.fold("D2", None, [e])
    assert value is not None and first.duplicates == 0 and first.facts["version"] == 1
    again, second = f.fold("D2", value, [e])
    assert again is None and second.duplicates == 1 and second.facts == first.facts
    # an on-disk store returns another object for the same value: the cached state is used
    restored = orjson.loads(orjson.dumps(value))
    assert f.state_of("D2", restored) is f.cache["D2"]
    # after a rebalance the table may hold another worker's value: rebuilt from it
    f.forget()
    rebuilt = f.state_of("D2", restored)
    assert "D2" not in f.cache and set(rebuilt.event_ids) == {e["event_id"]}
    # at most cache_size states, the least recently folded dropped first
    for d in ("D3", "D4"):
        f.fold(d, None, [received(d, local_ms(2025, 3, 3))])
    assert list(f.cache) == ["D3", "D4"]


# --- batch delivery: BatchingConsumer (no broker; the fetch loop's calls made by hand) ---


def _rec(topic, partition, offset, value=b"v"):
    from types import SimpleNamespace

    return SimpleNamespace(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=1000 + offset,
        timestamp_type=0,
        key=b"k",
        value=value,
        serialized_value_size=len(value),
    )


def _consumer(tmp_path):
    from faust.types import TP

    from motcua.adapters.faust_batching import BatchingConsumer

    app = _app(tmp_path)
    consumer = app.consumer
    assert isinstance(consumer, BatchingConsumer)
    topic = app.motcua["folder"].topic
    app.topics._acking_topics.add(topic)  # done by the conductor when it subscribes
    return app, consumer, TP(topic, 3)


def test_one_poll_of_a_partition_is_one_message_covering_its_offsets(tmp_path):
    from faust.types import TP

    from motcua.adapters.faust_batching import BatchMessage, RecordBatch

    _app, consumer, tp = _consumer(tmp_path)

    async def run():
        # what _wait_next_records hands to Faust's getmany: one RecordBatch per partition
        # of the batched topic; other topics (the changelog) keep one record per message
        other = TP("unit-processor-dossier-state-changelog", 3)
        recs = [_rec(tp.topic, 3, o) for o in range(10, 15)]

        async def fetched(active_partitions, timeout):
            return {tp: recs, other: [_rec(other.topic, 3, 0)]}

        consumer._getmany = fetched
        consumer._active_partitions = {tp, other}
        records, _active = await consumer._wait_next_records(0.1)
        assert [type(r) for r in records[tp]] == [RecordBatch]
        assert len(records[other]) == 1 and type(records[other][0]) is not RecordBatch

        m = consumer._to_message(tp, records[tp][0])
        assert isinstance(m, BatchMessage) and (m.first_offset, m.offset) == (10, 14)
        assert [r.offset for r in m.value.records] == list(range(10, 15))
        # the fetch loop reports the jump from the previous read offset as a gap: offsets
        # of a batched topic are contiguous, so none is one (offsets jumped over were
        # read and never delivered)
        await consumer._add_gap(tp, 6, 14)
        assert not consumer._gap[tp]
        # the agent marks every offset of the batch; the stream's ack (after the
        # conductor's reference) changes nothing
        m.incref()
        assert consumer.ack_batch(m) == 5
        assert not m.ack(consumer)
        assert sorted(consumer._acked[tp]) == list(range(10, 15))
        assert consumer._n_acked == 5
        consumer._committed_offset[tp] = 6
        assert consumer._new_offset(tp) is None  # 6..9 were never handled: no commit
        consumer._committed_offset[tp] = 10
        assert consumer._new_offset(tp) == 15

    asyncio.run(run())


def test_a_batch_handled_across_a_rebalance_is_not_counted_as_done(tmp_path):
    app, consumer, tp = _consumer(tmp_path)
    from motcua.adapters.faust_batching import RecordBatch

    m = consumer._to_message(tp, RecordBatch([_rec(tp.topic, 3, o) for o in range(5)]))
    app.consumer_generation_id = m.generation_id + 1
    assert consumer.ack_batch(m) == 0
    assert not consumer._acked[tp]
    # offsets below the committed one are not acked again
    app.consumer_generation_id = m.generation_id
    m2 = consumer._to_message(tp, RecordBatch([_rec(tp.topic, 3, o) for o in range(5, 9)]))
    consumer._committed_offset[tp] = 7
    assert consumer.ack_batch(m2) == 2
    assert sorted(consumer._acked[tp]) == [7, 8]


def test_a_batch_the_stream_skips_across_a_rebalance_is_never_acked(tmp_path):
    """A batch taken from the stream's queue once a rebalance began (a put that waited for
    room in the full queue lands after Faust cleared it) is skipped, and Faust's stream
    acks a skipped message anyway. The revocation left the partition without a committed
    offset, so that ack of the batch's last offset alone let the next commit jump past the
    whole batch, and past the batches cleared before it, though none was handled: their
    events never reached the facts topic."""
    app, consumer, tp = _consumer(tmp_path)
    from motcua.adapters.faust_batching import RecordBatch

    m = consumer._to_message(tp, RecordBatch([_rec(tp.topic, 3, o) for o in range(100, 110)]))
    m.incref()  # the conductor's reference for the one stream that takes it
    app.consumer_generation_id = m.generation_id + 1  # a rebalance since
    assert consumer._committed_offset[tp] is None  # popped by the revocation
    m.ack(consumer)  # the stream's ack of the message it skipped
    assert not consumer._acked[tp]
    assert consumer._new_offset(tp) is None  # nothing to commit


def test_no_commit_past_offsets_no_handled_batch_covered(tmp_path):
    """Faust commits past a hole of one offset (its check is ``min(acked) - committed >
    1``) and past any hole while the committed offset is unknown (a partition never
    committed, or revoked and not yet sought): a batch read but never handled at start-up
    was then lost with every offset committed (the SIGKILL fault test's ~1 % fewer events:
    a restarted worker's first batch of a never-committed partition, 0..1788, was never
    handled, and the next commit jumped from 1789)."""
    _app, consumer, tp = _consumer(tmp_path)
    from motcua.adapters.faust_batching import RecordBatch

    later = consumer._to_message(tp, RecordBatch([_rec(tp.topic, 3, o) for o in range(2482, 2500)]))
    assert consumer._committed_offset[tp] is None
    assert consumer.ack_batch(later) == 18  # 0..2481 read, never handled
    assert consumer._new_offset(tp) is None
    consumer._committed_offset[tp] = 2481  # one offset short
    assert consumer._new_offset(tp) is None
    consumer._committed_offset[tp] = 2482
    assert consumer._new_offset(tp) == 2500


def test_a_hole_that_stays_is_read_again_from_the_committed_offset(tmp_path, monkeypatch):
    from motcua.adapters import faust_batching
    from motcua.adapters.faust_batching import RecordBatch

    _app, consumer, tp = _consumer(tmp_path)
    now = [100.0]
    monkeypatch.setattr(faust_batching.time, "monotonic", lambda: now[0])

    async def run():
        seeks = []

        class AioConsumer:  # the aiokafka consumer, which lives on the consumer thread
            def seek(self, partition, offset):
                seeks.append((partition, offset))

        class Thread:
            def __init__(self):
                self.on_thread = []

            def _ensure_consumer(self):
                return AioConsumer()

            async def call_thread(self, fn, *args):
                # the seek must run on the consumer thread, not on the agent's loop
                self.on_thread.append(fn.__name__)
                return fn(*args)

        thread = Thread()
        consumer._thread = thread
        consumer._committed_offset[tp] = 2482 - 50
        consumer.ack_batch(
            consumer._to_message(tp, RecordBatch([_rec(tp.topic, 3, o) for o in range(2482, 2500)]))
        )
        assert consumer._new_offset(tp) is None
        now[0] += faust_batching.HOLE_REREAD_S - 1
        assert consumer._new_offset(tp) is None
        await asyncio.sleep(0)
        assert seeks == []  # a batch may still be on its way
        now[0] += 2
        assert consumer._new_offset(tp) is None
        await asyncio.sleep(0)
        assert seeks == [(tp, 2432)] and thread.on_thread == ["seek"]
        assert consumer._read_offset[tp] == 2432  # what Faust's own seek sets

    asyncio.run(run())


def test_a_never_committed_partition_starts_at_the_log_start(tmp_path):
    _app, consumer, tp = _consumer(tmp_path)

    async def run():
        async def no_committed():
            return {tp: None}

        async def earliest(*tps):
            return dict.fromkeys(tps, 0)

        consumer.seek_to_committed = no_committed
        consumer.earliest_offsets = earliest
        consumer.assignment = lambda: {tp}
        await consumer.perform_seek()
        assert consumer._committed_offset[tp] == 0

    asyncio.run(run())


def test_waiting_for_handled_batches_ends_when_the_agent_acked_them(tmp_path):
    """Faust's wait_empty (before a rebalance goes on) waits for the messages the stream
    took; a batch is no longer pending once ``ack_batch`` ran, even across a rebalance."""
    app, consumer, tp = _consumer(tmp_path)
    from motcua.adapters.faust_batching import RecordBatch

    m = consumer._to_message(tp, RecordBatch([_rec(tp.topic, 3, o) for o in range(5)]))
    m.incref()
    consumer._unacked_messages.add(m)  # what the stream does when it takes the message
    app.consumer_generation_id = m.generation_id + 1
    assert consumer.ack_batch(m) == 0
    assert m.acked and m not in consumer._unacked_messages


def test_agent_dead_letters_a_conflicting_version_and_goes_on(tmp_path):
    """An id re-sent with other content is a dead letter (CONFLICTING_DUPLICATE) and is not
    carried to the writer; the batch's other events are."""
    app = _app(tmp_path)
    agent = app.agents["motcua.live.processor.fold_events"]
    r1 = received("D7", local_ms(2025, 3, 3))
    changed = dict(r1, channel="DIRECT")
    done = make_event("D7", 2, "RESOLVED", local_ms(2025, 3, 5))

    async def run():
        sent, dead = [], []

        async def capture(messages):
            sent.extend((k, orjson.loads(v)) for k, v in messages)

        async def capture_dead(*, key=None, value=None, **kw):
            dead.append(value)

        async def no_changelog(partition, items, on_sent=None):
            return None

        app.motcua["facts_out"].send = capture
        app.motcua["dead_topic"].send = capture_dead
        app.motcua["changelog_out"].send_to = no_changelog
        async with agent.test_context() as ctx:
            await ctx.put(key=b"D7", value=encode_json(r1))
            await ctx.put(key=b"D7", value=encode_json(changed))
            await ctx.put(key=b"D7", value=encode_json(done))
            await asyncio.sleep(0.2)
        return sent, dead

    from motcua.adapters.codec import decode_dead_letter

    sent, dead = asyncio.run(run())
    assert [decode_dead_letter(v)["code"] for v in dead] == ["CONFLICTING_DUPLICATE"]
    carried = [e for _k, m in sent for e in m["events"]]
    assert all(e.get("channel") != "DIRECT" for e in carried)
    assert sent[-1][1]["facts"]["channel"] == "ONLINE" and sent[-1][1]["facts"]["ended"]


def test_the_stall_watchdog_exits_on_a_stall_but_not_while_kafka_is_down():
    import logging
    import time
    from collections import namedtuple
    from types import SimpleNamespace

    from motcua.live import processor

    tp = namedtuple("TP", "topic partition")("ev", 0)
    exits = []
    app = SimpleNamespace(
        consumer=SimpleNamespace(assignment=lambda: [tp], highwater=lambda _tp: 100, _committed_offset={}),
        motcua={"on_fatal": lambda: exits.append(True)},
    )
    s = LiveSettings(events_topic="ev", processor_stall_exit_s=30)
    stalled = time.monotonic() - 60  # unread events and no batch handled for a minute

    processor.KAFKA_TROUBLE.at = float("-inf")
    progress = {"at": stalled}
    asyncio.run(processor.report_lag(app, s, {0: 10}, progress))
    assert exits == [True]  # a stall: exit to be restarted

    exits.clear()
    progress = {"at": stalled}
    # the Kafka client failing its fetches (a broker down): a restart would not help
    logging.getLogger("aiokafka.consumer.fetcher").error("Failed fetch messages from 1: NodeNotReadyError")
    asyncio.run(processor.report_lag(app, s, {0: 10}, progress))
    assert exits == [] and progress["at"] > stalled
