"""No single record stops the live pipeline (real broker): records that validation refuses
(an event dated 1900, occurred_at 0, an endless time limit), an id re-sent with other
content, junk on the facts and dead-letter topics, all put straight onto the topics between
good events. The processor and the writer keep running (never restarted), every bad record
is a dead letter with its code, and the figures equal a replay of the good events."""

from __future__ import annotations

from datetime import date

import orjson
import pytest

from .conftest import probe, replay_truth
from .tools import dossier_of, kcat_produce, simulated

pytestmark = pytest.mark.kafka


def test_poison_records_between_good_ones(pipeline, tmp_path):
    lines = simulated(tmp_path / "events.jsonl", date(2025, 3, 3), date(2025, 3, 8), seed=11, scale=0.1)
    half = len(lines) // 2
    first = orjson.loads(lines[0])
    received = next(orjson.loads(x) for x in lines if b'"RECEIVED"' in x)

    def variant(**changes) -> bytes:
        return orjson.dumps({**received, **changes})

    poison = [
        variant(event_id="poison-1900", occurred_at="1900-03-03T09:00:00+07:00"),
        variant(event_id="poison-epoch", occurred_at=0),
        variant(event_id="poison-limit", time_limit={"value": 10**9, "unit": "WORKING_DAYS"}),
        # the same event_id as a good event, with other content
        orjson.dumps({**first, "source_system": "another-system"}),
    ]
    services = [pipeline.processor(), pipeline.writer()]
    for s in services:
        s.start()
    s = pipeline.settings
    kcat_produce(pipeline.bootstrap, s.events_topic, [(dossier_of(x), x) for x in lines[:half]])
    kcat_produce(pipeline.bootstrap, s.events_topic, [(dossier_of(x), x) for x in poison])
    kcat_produce(
        pipeline.bootstrap,
        s.facts_topic,
        [(b"junk", b"not a facts message"), (b"junk2", b'{"facts": {"dossier_id": 1}, "events": []}')],
    )
    kcat_produce(pipeline.bootstrap, s.dead_letters_topic, [(b"junk", b"not a dead letter")])
    kcat_produce(pipeline.bootstrap, s.events_topic, [(dossier_of(x), x) for x in lines[half:]])
    pipeline.wait_drained(watch=services, timeout=300)
    assert all(svc.alive() and svc.starts == 1 for svc in services), "a service stopped on a bad record"
    pipeline.stop_all()
    live = probe(pipeline.store)
    truth = replay_truth(tmp_path, [tmp_path / "events.jsonl"])
    dead = live.pop("dead_letters")
    assert truth.pop("dead_letters") == {}
    assert live == truth
    assert dead == {
        "INSTANT_OUT_OF_RANGE": 2,
        "TIME_LIMIT_TOO_LONG": 1,
        "CONFLICTING_DUPLICATE": 1,
        "BAD_FACTS_MESSAGE": 2,
        "UNREADABLE_DEAD_LETTER": 1,
    }
