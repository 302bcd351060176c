"""The processor's faust agent driven without a broker (``agent.test_context()``)."""

from __future__ import annotations

import asyncio

import orjson

from motcua.adapters.codec import encode_avro, encode_json
from motcua.domain.calendar import default_calendar
from motcua.domain.events import validate
from motcua.live.config import LiveSettings
from motcua.live.processor import Folder, create_app
from tests.builders import local_ms, make_event, received

cal = default_calendar()


def _app(tmp_path):
    s = LiveSettings(processor_app_id="unit-processor", processor_datadir=str(tmp_path),
                     processor_batch=10, processor_batch_within=0.01)
    app = create_app(s, cal, store="memory://")

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

    async def run():
        sent = []

        async def capture(messages):
            sent.extend((k, orjson.loads(v)) for k, v in messages)

        app.motcua["facts_out"].send = capture
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


def test_folder_reuses_cached_state_only_for_the_same_table_value():
    f = Folder(cal, "t")
    e = received("D2", local_ms(2025, 3, 3))
    value, facts, dups = f.fold("D2", None, [e])
    assert value is not None and dups == 0 and facts["version"] == 1
    again, facts2, dups2 = f.fold("D2", value, [e])
    assert again is None and dups2 == 1 and facts2 == facts
    # a value restored from the changelog (another object) is rebuilt, not trusted blindly
    restored = orjson.loads(orjson.dumps(value))
    assert f.state_of("D2", restored) is not f.cache["D2"][0]
    assert f.state_of("D2", restored).event_ids == {e["event_id"]}
