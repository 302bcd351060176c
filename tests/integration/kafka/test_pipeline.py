"""Gateway -> Kafka -> processor -> writer -> ClickHouse against the real broker: the KPI
rows equal ``motcua replay`` of the same events; outside clients (kcat, curl) are counted;
malformed input ends in dead letters and accepted + rejected = sent."""

from __future__ import annotations

from datetime import date

import orjson
import pytest
from devtools.kafka_broker import free_port

from motcua.adapters.codec import encode_avro
from motcua.domain.events import validate

from .conftest import probe, replay_truth
from .tools import curl, dossier_of, kcat_produce, post, simulated, wait_http

pytestmark = pytest.mark.kafka


def test_gateway_to_clickhouse_equals_replay(pipeline, tmp_path):
    lines = simulated(
        tmp_path / "events.jsonl",
        date(2025, 3, 1),
        date(2025, 3, 10),
        seed=5,
        scale=0.2,
        duplicates=0.02,
        reorder=0.05,
    )
    port = free_port()
    services = [pipeline.processor(), pipeline.writer(), pipeline.gateway(port)]
    for s in services:
        s.start()
    wait_http(port)
    accepted = 0
    for i in range(0, len(lines), 500):
        chunk = lines[i : i + 500]
        if i // 500 % 3 == 0:  # a JSON array
            status, body = post(port, b"[" + b",".join(chunk) + b"]", "application/json")
        elif i // 500 % 3 == 1:  # NDJSON
            status, body = post(port, b"\n".join(chunk), "application/x-ndjson")
        else:  # one Avro single object per request for a few, the rest as one JSON object each
            status, body = 202, {"accepted": 0}
            for j, line in enumerate(chunk):
                if j < 20:
                    s, b = post(port, encode_avro(validate(orjson.loads(line))), "application/avro")
                else:
                    s, b = post(port, line, "application/json")
                assert s == 202, b
                body["accepted"] += b["accepted"]
        assert status == 202, body
        accepted += body["accepted"]
    assert accepted == len(lines)
    pipeline.wait_drained(watch=services)
    pipeline.stop_all()
    live = probe(pipeline.store)
    truth = replay_truth(tmp_path, [tmp_path / "events.jsonl"])
    assert live["kpi"]["all"][0]["online_filing_rate_den"] > 100
    assert live == truth


def test_outside_clients_and_malformed_input(pipeline, tmp_path):
    """kcat writes JSON straight into the ingest topic, curl posts to the gateway; bad JSON,
    bad Avro, unknown type, personal data and oversize records end in dead letters with
    reasons; the services keep running; accepted + rejected = sent."""
    lines = simulated(tmp_path / "events.jsonl", date(2025, 3, 3), date(2025, 3, 6), seed=9, scale=0.1)
    third = len(lines) // 3
    via_kcat, via_curl, after = lines[:third], lines[third : 2 * third], lines[2 * third :]
    port = free_port()
    services = [pipeline.processor(), pipeline.writer(), pipeline.gateway(port)]
    for s in services:
        s.start()
    wait_http(port)
    topic = pipeline.settings.events_topic
    sent = rejected_expected = 0

    # kcat: valid events and garbage, straight into the ingest topic (no gateway)
    garbage = [
        b"this is not json",
        b'{"event_id": "x1", "event_type": "TELEPORTED"}',
        b"\xc3\x01\x00\x01\x02\x03\x04\x05\x06\x07garbage-avro",
        b"[1, 2, 3]",
    ]
    kcat_produce(
        pipeline.bootstrap, topic, [(dossier_of(x), x) for x in via_kcat] + [(b"garbage", g) for g in garbage]
    )
    sent += len(via_kcat) + len(garbage)
    rejected_expected += len(garbage)

    # curl: a valid NDJSON batch
    body = tmp_path / "batch.ndjson"
    body.write_bytes(b"\n".join(via_curl))
    status, answer = curl(port, body, "application/x-ndjson")
    assert (status, answer["accepted"]) == (202, len(via_curl))
    sent += len(via_curl)

    # malformed bodies through the gateway
    good = orjson.loads(via_curl[0])
    pii = dict(good, event_id="pii-1", citizen_id="001203004567")
    unknown = dict(good, event_id="unk-1", event_type="TELEPORTED")
    oversize = dict(good, event_id="big-1", note="x" * 70_000)
    cases = [
        (b"{not json", "application/json", 422, "BAD_JSON"),
        (b"[{broken array", "application/json", 400, "BAD_JSON"),
        (encode_avro(validate(dict(good)))[:30], "application/avro", 422, "BAD_AVRO"),
        (orjson.dumps(unknown), "application/json", 422, "UNKNOWN_EVENT_TYPE"),
        (orjson.dumps(pii), "application/json", 422, "PERSONAL_DATA"),
        (orjson.dumps(oversize), "application/json", 422, "OVERSIZE"),
        (b"<xml/>", "application/xml", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ]
    for payload, ctype, want_status, want_code in cases:
        f = tmp_path / "bad.bin"
        f.write_bytes(payload)
        status, answer = curl(port, f, ctype)
        assert status == want_status, answer
        code = answer.get("error") or answer["rejected"][0]["code"]
        assert code == want_code
        assert answer.get("reason") or answer["rejected"][0]["reason"]
    sent += len(cases)
    rejected_expected += len(cases)
    # a batch with one bad line among good ones: the good ones are kept
    mixed = after[:50] + [b'{"event_type": "RECEIVED"}']
    status, answer = post(pipeline_port := port, b"\n".join(mixed))
    assert status == 422 and answer["accepted"] == 50
    assert [r["code"] for r in answer["rejected"]] == ["MISSING_FIELD"]
    sent += len(mixed)
    rejected_expected += 1
    # a wrong key is refused before anything is read: nothing sent
    assert post(pipeline_port, after[50], "application/json", key="wrong")[0] == 401

    # the services are still running and take the rest
    status, answer = post(port, b"\n".join(after[50:]))
    assert status == 202
    sent += len(after) - 50
    pipeline.wait_drained(watch=services)
    pipeline.stop_all()

    live = probe(pipeline.store)
    rejected = sum(live["dead_letters"].values())
    assert rejected == rejected_expected
    assert live["events"] == len(lines)
    assert live["events"] + rejected == sent
    assert {
        "BAD_JSON",
        "UNKNOWN_EVENT_TYPE",
        "PERSONAL_DATA",
        "OVERSIZE",
        "NOT_AN_OBJECT",
        "BAD_AVRO",
        "UNKNOWN_SCHEMA",
        "MISSING_FIELD",
        "UNSUPPORTED_MEDIA_TYPE",
    } <= set(live["dead_letters"])
    truth = replay_truth(tmp_path, [tmp_path / "events.jsonl"])
    assert live["kpi"] == truth["kpi"]
