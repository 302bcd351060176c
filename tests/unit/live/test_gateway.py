"""The gateway's HTTP handling with an in-memory stand-in for the Kafka producer (the real
broker path is tests/integration/kafka, test_gateway_faults.py for its failure modes)."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from kafka.future import Future

from motcua.adapters.codec import decode_avro, decode_dead_letter, encode_avro, encode_json
from motcua.domain.events import validate
from motcua.live.config import LiveSettings
from motcua.live.gateway import ApiKeys, KafkaLink, build_app
from motcua.live.metrics import DEAD_LETTERS, EVENTS_ACCEPTED, EVENTS_IN
from tests.builders import local_ms, received


class RecordingProducer:
    """Records what is sent; ``ack=False``: Kafka never answers (futures stay pending)."""

    def __init__(self, ack: bool = True):
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.ack = ack
        self.pending: list[Future] = []

    def send(self, topic, key=None, value=None):
        self.sent.append((topic, key, value))
        fut = Future()
        if self.ack:
            fut.success(None)
        else:
            self.pending.append(fut)
        return fut


# tests.builders events name source_system "test"
SETTINGS = LiveSettings(
    api_keys="test:alpha-key,src-b:beta-key,test:gamma-key,src-c:gamma-key",
    max_body_bytes=200_000,
    gateway_publish_timeout_s=0.5,
    gateway_body_timeout_s=0.5,
)


def call(
    method_path: str,
    body: bytes = b"",
    ctype: str = "application/json",
    key: str | None = "alpha-key",
    producer: RecordingProducer | None = None,
    link: KafkaLink | None = None,
):
    producer = producer if producer is not None else RecordingProducer()

    async def go():
        app = build_app(SETTINGS, producer, link=link)
        async with TestClient(TestServer(app)) as client:
            method, path = method_path.split(" ")
            headers = {"Content-Type": ctype}
            if key:
                headers["X-API-Key"] = key
            resp = await client.request(method, path, data=body, headers=headers)
            return resp.status, await resp.read(), resp.headers

    status, raw, headers = asyncio.run(go())
    call.headers = headers
    return status, raw, producer


def ev(i: int, **over) -> dict:
    return dict(received(f"G{i}", local_ms(2025, 3, 3)), **over)


def counter(metric, *labels) -> float:
    return metric.labels(*labels)._value.get()


def test_api_keys_match_by_constant_time_compare_and_name_their_sources():
    keys = ApiKeys(LiveSettings(api_keys="a:k1,b:k2,c:k2,a:k1b").api_key_bindings())
    assert keys.sources_for("k2") == {"b", "c"}
    assert keys.sources_for("k1") == {"a"} and keys.sources_for("k1b") == {"a"}
    assert keys.sources_for("k3") is None and keys.sources_for("") is None


def test_single_array_ndjson_and_avro_bodies_are_published_keyed_by_dossier():
    status, _, p = call("POST /v1/events", encode_json(ev(1)))
    assert status == 202 and p.sent[0][0] == "dossier-events" and p.sent[0][1] == b"G1"
    assert decode_avro(p.sent[0][2])["event_id"] == ev(1)["event_id"]
    status, body, p = call("POST /v1/events", orjson.dumps([ev(2), ev(3)]))
    assert status == 202 and orjson.loads(body)["accepted"] == 2
    status, body, p = call(
        "POST /v1/events", encode_json(ev(4)) + b"\n" + encode_json(ev(5)) + b"\n", "application/x-ndjson"
    )
    assert status == 202 and [k for _t, k, _v in p.sent] == [b"G4", b"G5"]
    status, body, p = call("POST /v1/events", encode_avro(validate(ev(6))), "application/avro")
    assert status == 202 and p.sent[0][1] == b"G6"


def test_a_utf8_byte_order_mark_before_a_json_body_is_not_data():
    bom = b"\xef\xbb\xbf"
    status, body, p = call("POST /v1/events", bom + orjson.dumps([ev(7), ev(8)]))
    assert status == 202 and orjson.loads(body)["accepted"] == 2
    status, body, p = call("POST /v1/events", bom + encode_json(ev(9)) + b"\n", "application/x-ndjson")
    assert status == 202 and [k for _t, k, _v in p.sent] == [b"G9"]


@pytest.mark.parametrize(
    "body,ctype,status,code",
    [
        (b"{oops", "application/json", 422, "BAD_JSON"),
        (b"[{oops", "application/json", 400, "BAD_JSON"),
        (b"\xc3\x01\x01\x02", "application/avro", 422, "BAD_AVRO"),
        (b"x" * 300_000, "application/json", 413, "BODY_TOO_LARGE"),
        (b"a,b", "text/csv", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
)
def test_bad_bodies_get_a_4xx_with_a_reason_and_a_dead_letter(body, ctype, status, code):
    got, raw, p = call("POST /v1/events", body, ctype)
    answer = orjson.loads(raw)
    assert got == status
    assert (answer.get("error") or answer["rejected"][0]["code"]) == code
    assert [t for t, _k, _v in p.sent] == ["dead-letters"]
    dl = decode_dead_letter(p.sent[0][2])
    assert dl["code"] == code and dl["reason"] and dl["source"].startswith("gateway:test:")


def test_a_batch_keeps_its_good_events_and_names_the_bad_ones():
    bad = dict(ev(8), citizen_id="001203004567")
    status, raw, p = call("POST /v1/events", orjson.dumps([ev(7), bad]))
    answer = orjson.loads(raw)
    assert status == 422 and answer["accepted"] == 1
    assert answer["rejected"] == [
        {"index": 1, "code": "PERSONAL_DATA", "reason": answer["rejected"][0]["reason"]}
    ]
    assert sorted(t for t, _k, _v in p.sent) == ["dead-letters", "dossier-events"]
    assert b"001203004567" not in p.sent[[t for t, _k, _v in p.sent].index("dead-letters")][2]


def test_unknown_or_missing_key_is_refused_and_nothing_is_published():
    for key in (None, "wrong"):
        status, _, p = call("POST /v1/events", encode_json(ev(9)), key=key)
        assert status == 401 and p.sent == []


def test_health_and_metrics():
    status, raw, _ = call("GET /health", key=None)
    assert status == 200 and orjson.loads(raw) == {"status": "ok", "kafka": "ok"}
    call("POST /v1/events", encode_json(ev(10)))
    status, raw, _ = call("GET /metrics", key=None)
    assert status == 200 and b"motcua_http_requests_total" in raw


def test_no_keys_configured_refuses_to_start():
    with pytest.raises(ValueError):
        build_app(LiveSettings(api_keys=""), RecordingProducer())


def test_a_key_posts_only_for_its_sources_and_a_foreign_record_refuses_the_request():
    refused = counter(DEAD_LETTERS, "gateway", "SOURCE_NOT_ALLOWED")
    accepted = counter(EVENTS_ACCEPTED, "gateway")
    # beta-key is bound to src-b only; the event says "test"
    status, raw, p = call("POST /v1/events", encode_json(ev(20)), key="beta-key")
    answer = orjson.loads(raw)
    assert status == 403 and answer["error"] == "SOURCE_NOT_ALLOWED"
    assert "'test'" in answer["rejected"][0]["reason"] and "src-b" in answer["reason"]
    assert [t for t, _k, _v in p.sent] == ["dead-letters"]  # never silently dropped
    dl = decode_dead_letter(p.sent[0][2])
    assert dl["code"] == "SOURCE_NOT_ALLOWED" and dl["event_id"] == ev(20)["event_id"]
    assert dl["source"].startswith("gateway:src-b:")
    assert b"beta-key" not in p.sent[0][2]  # the key is not stored
    # a mixed batch: nothing of it is published, only the foreign record is a dead letter
    status, raw, p = call(
        "POST /v1/events", orjson.dumps([ev(21, source_system="src-b"), ev(22)]), key="beta-key"
    )
    answer = orjson.loads(raw)
    assert status == 403 and answer["accepted"] == 0
    assert [r["index"] for r in answer["rejected"]] == [1]
    assert [t for t, _k, _v in p.sent] == ["dead-letters"]
    assert counter(DEAD_LETTERS, "gateway", "SOURCE_NOT_ALLOWED") == refused + 2
    assert counter(EVENTS_ACCEPTED, "gateway") == accepted
    # the same key for its own source, and a key bound to two sources for both
    status, _, p = call("POST /v1/events", encode_json(ev(23, source_system="src-b")), key="beta-key")
    assert status == 202 and [t for t, _k, _v in p.sent] == ["dossier-events"]
    status, raw, p = call(
        "POST /v1/events", orjson.dumps([ev(24), ev(25, source_system="src-c")]), key="gamma-key"
    )
    assert status == 202 and orjson.loads(raw)["accepted"] == 2
    assert counter(EVENTS_ACCEPTED, "gateway") == accepted + 3


def test_events_count_as_accepted_only_once_kafka_acknowledged():
    accepted = counter(EVENTS_ACCEPTED, "gateway")
    received_ = counter(EVENTS_IN, "gateway")
    silent = RecordingProducer(ack=False)
    started = time.monotonic()
    status, raw, p = call("POST /v1/events", orjson.dumps([ev(30), ev(31)]), producer=silent)
    elapsed = time.monotonic() - started
    answer = orjson.loads(raw)
    assert status == 503 and answer["error"] == "KAFKA_UNAVAILABLE" and answer["retryable"]
    assert call.headers["Retry-After"] == "2"
    assert elapsed < SETTINGS.gateway_publish_timeout_s + 2
    assert len(p.sent) == 2
    assert counter(EVENTS_IN, "gateway") == received_ + 2
    assert counter(EVENTS_ACCEPTED, "gateway") == accepted  # sent, never acknowledged
    p.pending[0].success(None)  # a late acknowledgement still counts, once
    assert counter(EVENTS_ACCEPTED, "gateway") == accepted + 1


def test_a_failed_acknowledgement_answers_503():
    class Failing(RecordingProducer):
        def send(self, topic, key=None, value=None):
            self.sent.append((topic, key, value))
            return Future().failure(RuntimeError("NotEnoughReplicas"))

    status, raw, _ = call("POST /v1/events", encode_json(ev(32)), producer=Failing())
    assert status == 503 and orjson.loads(raw)["error"] == "KAFKA_UNAVAILABLE"


def test_kafka_known_down_gives_unhealthy_and_immediate_503_without_publishing():
    link = KafkaLink(RecordingProducer())
    link.mark_down("Kafka unreachable at 127.0.0.1:1: ConnectionRefusedError")
    status, raw, _ = call("GET /health", key=None, link=link)
    answer = orjson.loads(raw)
    assert status == 503 and answer["kafka"] == "unreachable" and "127.0.0.1:1" in answer["reason"]
    status, raw, _ = call("GET /health/live", key=None, link=link)
    assert status == 200
    started = time.monotonic()
    status, raw, _ = call("POST /v1/events", encode_json(ev(33)), link=link)
    assert status == 503 and time.monotonic() - started < 1.0
    assert orjson.loads(raw)["error"] == "KAFKA_UNAVAILABLE" and link.producer.sent == []
    status, _, _ = call("POST /v1/events", encode_json(ev(33)), key="wrong", link=link)
    assert status == 401  # auth first
    link.mark_up()
    status, _, _ = call("GET /health", key=None, link=link)
    assert status == 200


def test_an_acknowledgement_timeout_marks_kafka_down():
    link = KafkaLink(RecordingProducer(ack=False))
    status, _, _ = call("POST /v1/events", encode_json(ev(34)), link=link)
    assert status == 503 and not link.healthy and "acknowledge" in link.reason


def test_a_client_stalling_in_its_body_gets_408_and_is_disconnected():
    async def go():
        app = build_app(SETTINGS, RecordingProducer())
        server = TestServer(app)
        await server.start_server()
        try:
            reader, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(
                b"POST /v1/events HTTP/1.1\r\nHost: x\r\nX-API-Key: alpha-key\r\n"
                b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":'
            )
            await writer.drain()
            started = time.monotonic()
            data = await asyncio.wait_for(reader.read(), 10)  # until the server closes
            writer.close()
            return data, time.monotonic() - started
        finally:
            await server.close()

    data, elapsed = asyncio.run(go())
    assert data.startswith(b"HTTP/1.1 408") and b"BODY_TIMEOUT" in data
    assert elapsed < SETTINGS.gateway_body_timeout_s + 2


def test_a_token_bucket_per_key_lets_bursts_through_then_says_how_long_to_wait():
    from motcua.live.limits import RateLimiter

    now = [100.0]
    limiter = RateLimiter(2.0, 3, clock=lambda: now[0])
    assert [limiter.retry_after("a") for _ in range(3)] == [None, None, None]
    assert limiter.wait_s("a") == pytest.approx(0.5) and limiter.retry_after("a") == 1
    assert limiter.retry_after("b") is None  # another key has its own bucket
    now[0] += 0.5  # one token back
    assert limiter.retry_after("a") is None and limiter.retry_after("a") == 1
    now[0] += 60  # refilled to the burst, not beyond
    assert [limiter.retry_after("a") for _ in range(4)] == [None, None, None, 1]
    assert RateLimiter(0, 1).retry_after("a") is None  # 0: no limit


def test_a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_go_on():
    settings = SETTINGS.model_copy(update={"gateway_rate_limit_per_s": 0.5, "gateway_rate_limit_burst": 2})
    producer = RecordingProducer()

    async def go():
        app = build_app(settings, producer)
        async with TestClient(TestServer(app)) as client:
            out = []
            for key in ("alpha-key", "alpha-key", "alpha-key", "beta-key"):
                resp = await client.post(
                    "/v1/events",
                    data=encode_json(ev(40, source_system="src-b" if key == "beta-key" else "test")),
                    headers={"Content-Type": "application/json", "X-API-Key": key},
                )
                out.append((resp.status, orjson.loads(await resp.read()), resp.headers.get("Retry-After")))
            return out

    answers = asyncio.run(go())
    assert [a[0] for a in answers] == [202, 202, 429, 202]
    _status, body, retry_after = answers[2]
    assert body["error"] == "RATE_LIMITED" and body["retryable"] and retry_after == "2"
    assert "0.5 requests a second" in body["reason"]
    assert len(producer.sent) == 3  # the refused request published nothing, not even a dead letter


def slow_post(host: str, port: int, head: bytes, interval_s: float, most: int) -> tuple[bytes, float]:
    """A raw socket sending ``head``, then its body one byte every ``interval_s`` (at most
    ``most`` bytes) while reading the answer: (all it read until the server closed, seconds
    from the end of the headers to that close)."""
    import select
    import socket

    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(head)
        started = time.monotonic()
        data, sent, closed = b"", 0, False
        while not closed:
            if select.select([sock], [], [], interval_s)[0]:
                chunk = sock.recv(65536)
                data += chunk
                closed = not chunk
            elif sent < most:
                try:
                    sock.sendall(b" ")
                    sent += 1
                except OSError:  # closed by the server: read what it answered
                    pass
            elif time.monotonic() - started > 60:
                break
        return data, time.monotonic() - started


def test_a_body_arriving_slower_than_the_minimum_rate_is_cut_off_after_the_grace():
    settings = SETTINGS.model_copy(
        update={
            "gateway_body_timeout_s": 30.0,
            "gateway_body_grace_s": 0.5,
            "gateway_body_min_rate_bytes_s": 100.0,
        }
    )
    head = (
        b"POST /v1/events HTTP/1.1\r\nHost: x\r\nX-API-Key: alpha-key\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )

    async def go():
        server = TestServer(build_app(settings, RecordingProducer()))
        await server.start_server()
        try:  # 20 bytes a second, under the 100 bytes/s asked
            return await asyncio.to_thread(slow_post, server.host, server.port, head, 0.05, 900)
        finally:
            await server.close()

    data, elapsed = asyncio.run(go())
    assert data.startswith(b"HTTP/1.1 408") and b"slower than 100 bytes/s" in data, data[:300]
    assert 0.5 < elapsed < 5


@pytest.mark.parametrize(
    "field, value", [("event_type", {}), ("event_type", []), ("unit_level", {"a": 1}), ("unit_level", [])]
)
def test_an_unhashable_enum_value_is_refused_not_a_500(field, value):
    """Found by the schemathesis run: a JSON object or array as event_type / unit_level."""
    status, raw, p = call("POST /v1/events", orjson.dumps([ev(50, **{field: value})]))
    answer = orjson.loads(raw)
    assert status == 422 and answer["rejected"][0]["code"] in ("UNKNOWN_EVENT_TYPE", "BAD_ENUM"), answer
    assert [t for t, _k, _v in p.sent] == ["dead-letters"]
