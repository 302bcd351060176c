"""The gateway's HTTP handling with an in-memory stand-in for the Kafka producer (the real
broker path is tests/integration/kafka)."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from motcua.adapters.codec import decode_avro, decode_dead_letter, encode_avro, encode_json
from motcua.domain.events import validate
from motcua.live.config import LiveSettings
from motcua.live.gateway import ApiKeys, build_app
from tests.builders import local_ms, received


class Done:
    def get(self, timeout=None):
        return None


class RecordingProducer:
    def __init__(self):
        self.sent: list[tuple[str, bytes, bytes]] = []

    def send(self, topic, key=None, value=None):
        self.sent.append((topic, key, value))
        return Done()


SETTINGS = LiveSettings(api_keys="src-a:alpha-key,src-b:beta-key", max_body_bytes=200_000)


def call(method_path: str, body: bytes = b"", ctype: str = "application/json",
         key: str | None = "alpha-key"):
    producer = RecordingProducer()

    async def go():
        app = build_app(SETTINGS, producer)
        async with TestClient(TestServer(app)) as client:
            method, path = method_path.split(" ")
            headers = {"Content-Type": ctype}
            if key:
                headers["X-API-Key"] = key
            resp = await client.request(method, path, data=body, headers=headers)
            return resp.status, await resp.read()

    status, raw = asyncio.run(go())
    return status, raw, producer


def ev(i: int) -> dict:
    return received(f"G{i}", local_ms(2025, 3, 3))


def test_api_keys_match_by_constant_time_compare():
    keys = ApiKeys({"a": "k1", "b": "k2"})
    assert keys.source_for("k2") == "b"
    assert keys.source_for("k3") is None and keys.source_for("") is None


def test_single_array_ndjson_and_avro_bodies_are_published_keyed_by_dossier():
    status, _, p = call("POST /v1/events", encode_json(ev(1)))
    assert status == 202 and p.sent[0][0] == "dossier-events" and p.sent[0][1] == b"G1"
    assert decode_avro(p.sent[0][2])["event_id"] == ev(1)["event_id"]
    status, body, p = call("POST /v1/events", orjson.dumps([ev(2), ev(3)]))
    assert status == 202 and orjson.loads(body)["accepted"] == 2
    status, body, p = call("POST /v1/events", encode_json(ev(4)) + b"\n" + encode_json(ev(5)) + b"\n",
                           "application/x-ndjson")
    assert status == 202 and [k for _t, k, _v in p.sent] == [b"G4", b"G5"]
    status, body, p = call("POST /v1/events", encode_avro(validate(ev(6))), "application/avro")
    assert status == 202 and p.sent[0][1] == b"G6"


@pytest.mark.parametrize("body,ctype,status,code", [
    (b"{oops", "application/json", 422, "BAD_JSON"),
    (b"[{oops", "application/json", 400, "BAD_JSON"),
    (b"\xc3\x01\x01\x02", "application/avro", 422, "BAD_AVRO"),
    (b"x" * 300_000, "application/json", 413, "BODY_TOO_LARGE"),
    (b"a,b", "text/csv", 415, "UNSUPPORTED_MEDIA_TYPE"),
])
def test_bad_bodies_get_a_4xx_with_a_reason_and_a_dead_letter(body, ctype, status, code):
    got, raw, p = call("POST /v1/events", body, ctype)
    answer = orjson.loads(raw)
    assert got == status
    assert (answer.get("error") or answer["rejected"][0]["code"]) == code
    assert [t for t, _k, _v in p.sent] == ["dead-letters"]
    dl = decode_dead_letter(p.sent[0][2])
    assert dl["code"] == code and dl["reason"] and dl["source"].startswith("gateway:src-a:")


def test_a_batch_keeps_its_good_events_and_names_the_bad_ones():
    bad = dict(ev(8), citizen_id="001203004567")
    status, raw, p = call("POST /v1/events", orjson.dumps([ev(7), bad]))
    answer = orjson.loads(raw)
    assert status == 422 and answer["accepted"] == 1
    assert answer["rejected"] == [{"index": 1, "code": "PERSONAL_DATA", "reason": answer["rejected"][0]["reason"]}]
    assert sorted(t for t, _k, _v in p.sent) == ["dead-letters", "dossier-events"]
    assert b"001203004567" not in p.sent[[t for t, _k, _v in p.sent].index("dead-letters")][2]


def test_unknown_or_missing_key_is_refused_and_nothing_is_published():
    for key in (None, "wrong"):
        status, _, p = call("POST /v1/events", encode_json(ev(9)), key=key)
        assert status == 401 and p.sent == []


def test_health_and_metrics():
    status, raw, _ = call("GET /health", key=None)
    assert status == 200 and orjson.loads(raw) == {"status": "ok"}
    call("POST /v1/events", encode_json(ev(10)))
    status, raw, _ = call("GET /metrics", key=None)
    assert status == 200 and b"motcua_http_requests_total" in raw


def test_no_keys_configured_refuses_to_start():
    with pytest.raises(ValueError):
        build_app(LiveSettings(api_keys=""), RecordingProducer())
