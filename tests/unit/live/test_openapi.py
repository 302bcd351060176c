"""The OpenAPI description (live/openapi.py, served at /openapi.json) against the app: it is
valid OpenAPI 3.1; every route of the app is described and every described operation is a
route; and real answers of every handler, one request for each documented status of every
operation (error bodies, the 503s, the 408s included), have a documented status, match its
schema and carry its required headers. The running gateway is fuzzed with the same document
by tests/integration/kafka/test_gateway_fuzz.py."""

from __future__ import annotations

import asyncio
import copy

import jsonschema_rs
import orjson
from aiohttp.test_utils import TestClient, TestServer
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from motcua.adapters.codec import encode_avro, encode_json
from motcua.domain.events import validate
from motcua.live.config import LiveSettings
from motcua.live.gateway import KafkaLink, build_app
from motcua.live.openapi import describe
from tests.unit.imports.test_dvcqg_reader import T_SNAPSHOT
from tests.unit.live.test_gateway import RecordingProducer, ev

SETTINGS = LiveSettings(
    api_keys="test:alpha-key,src-b:beta-key,thanhhoa:tm-key-1234",
    max_body_bytes=200_000,
    gateway_publish_timeout_s=0.5,
    gateway_body_timeout_s=0.5,
)
DOC = describe(SETTINGS)
KEY = {"X-API-Key": "alpha-key"}
DV_KEY = {"X-API-Key": "tm-key-1234"}
JSON = "application/json"

# (path template, the request path, Content-Type, headers, body): each documented status
# of each operation is reached by at least one
REQUESTS = [
    ("/v1/events", "/v1/events", JSON, KEY, encode_json(ev(1))),
    ("/v1/events", "/v1/events", "application/x-ndjson", KEY, encode_json(ev(2)) + b"\n"),
    ("/v1/events", "/v1/events", "application/avro", KEY, encode_avro(validate(ev(3)))),
    ("/v1/events", "/v1/events", JSON, KEY, b"[{oops"),
    ("/v1/events", "/v1/events", JSON, {}, b"{}"),
    ("/v1/events", "/v1/events", JSON, {"X-API-Key": "beta-key"}, encode_json(ev(4))),
    ("/v1/events", "/v1/events", JSON, KEY, b"x" * 300_000),
    ("/v1/events", "/v1/events", "text/csv", KEY, b"a,b"),
    ("/v1/events", "/v1/events", JSON, KEY, orjson.dumps([ev(5), {"event_id": "x"}])),
    ("/v1/dvcqg/token", "/v1/dvcqg/token", JSON, {}, b'{"username": "thanhhoa", "password": "tm-key-1234"}'),
    ("/v1/dvcqg/token", "/v1/dvcqg/token", "application/x-www-form-urlencoded", {}, b"username=x&password=y"),
    ("/v1/dvcqg", "/v1/dvcqg", JSON, DV_KEY, orjson.dumps([T_SNAPSHOT])),
    ("/v1/dvcqg", "/v1/dvcqg", JSON, DV_KEY, orjson.dumps([T_SNAPSHOT, "not an object"])),
    ("/v1/dvcqg", "/v1/dvcqg", JSON, DV_KEY, b"42"),
    ("/v1/dvcqg", "/v1/dvcqg", JSON, {"X-API-Key": "nope"}, b"[]"),
    ("/v1/dvcqg", "/v1/dvcqg", JSON, DV_KEY, orjson.dumps([T_SNAPSHOT] * 200)),
    ("/v1/dvcqg/{service}", "/v1/dvcqg/DongBoHoSoMC", JSON, DV_KEY, orjson.dumps([T_SNAPSHOT])),
    ("/v1/dvcqg/{service}", "/v1/dvcqg/x", JSON, DV_KEY, orjson.dumps([T_SNAPSHOT, 1])),
    ("/v1/dvcqg/{service}", "/v1/dvcqg/x", JSON, DV_KEY, b"{oops"),
    ("/v1/dvcqg/{service}", "/v1/dvcqg/x", JSON, {}, b"[]"),
    ("/v1/dvcqg/{service}", "/v1/dvcqg/x", JSON, DV_KEY, orjson.dumps([T_SNAPSHOT] * 200)),
    ("/api/SynsTTHCC/{service}", "/api/SynsTTHCC/DongBoHoSoMC", JSON, DV_KEY, orjson.dumps([T_SNAPSHOT])),
    ("/api/SynsTTHCC/{service}", "/api/SynsTTHCC/x", JSON, DV_KEY, orjson.dumps([T_SNAPSHOT, 2])),
    ("/api/SynsTTHCC/{service}", "/api/SynsTTHCC/x", JSON, DV_KEY, b"[[["),
    ("/api/SynsTTHCC/{service}", "/api/SynsTTHCC/x", JSON, {"session": "v1.x.1.y"}, b"[]"),
    ("/api/SynsTTHCC/{service}", "/api/SynsTTHCC/x", JSON, DV_KEY, orjson.dumps([T_SNAPSHOT] * 200)),
]
GETS = ["/health", "/health/ready", "/health/live", "/metrics", "/openapi.json"]
# with Kafka known down: the 503s
DOWN = [
    ("/v1/events", "/v1/events", JSON, KEY, encode_json(ev(6))),
    *[
        (t, p, JSON, DV_KEY, orjson.dumps([T_SNAPSHOT]))
        for t, p in (
            ("/v1/dvcqg", "/v1/dvcqg"),
            ("/v1/dvcqg/{service}", "/v1/dvcqg/DongBoHoSoMC"),
            ("/api/SynsTTHCC/{service}", "/api/SynsTTHCC/DongBoHoSoMC"),
        )
    ],
]
# a rate of one request per 100 s: the second request of a key is over it
LIMITED = [
    ("/v1/events", "/v1/events", JSON, KEY, b"{}"),
    *[
        (t, p, JSON, DV_KEY, b"[]")
        for t, p in (
            ("/v1/dvcqg", "/v1/dvcqg"),
            ("/v1/dvcqg/{service}", "/v1/dvcqg/x"),
            ("/api/SynsTTHCC/{service}", "/api/SynsTTHCC/x"),
        )
    ],
]
STALLED = ["/v1/events", "/v1/dvcqg/token", "/v1/dvcqg", "/v1/dvcqg/{service}", "/api/SynsTTHCC/{service}"]


def answer_schema(template: str, method: str, status: int) -> tuple[dict, dict]:
    """The documented answer, and a JSON Schema of its body resolved against the document."""
    answers = DOC["paths"][template][method]["responses"]
    assert str(status) in answers, f"{method.upper()} {template}: {status} is not documented"
    answer = answers[str(status)]
    (media, spec), *_ = answer["content"].items()
    return answer, {**spec["schema"], "components": DOC["components"], "media": media}


def check_answer(template: str, method: str, status: int, headers, body: bytes) -> None:
    answer, schema = answer_schema(template, method, status)
    media = schema.pop("media")
    assert headers["Content-Type"].split(";")[0] == media, (template, status, headers["Content-Type"])
    for name, h in answer.get("headers", {}).items():
        assert not h.get("required") or name in headers, (template, status, name)
        jsonschema_rs.validate(h["schema"], headers[name])
    value = orjson.loads(body) if media == JSON else body.decode()
    errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(value)]
    assert not errors, (template, status, value, errors)


async def _stalled(server: TestServer, path: str) -> tuple[int, dict, bytes]:
    """A body that never completes: the raw answer, read until the server closes."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nX-API-Key: alpha-key\r\nContent-Type: application/json\r\n"
        'Content-Length: 1000\r\n\r\n{"a":'.encode()
    )
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


def exercise() -> list[tuple[str, str, int, dict, bytes]]:
    """Every request above against fresh apps: (template, method, status, headers, body)."""
    out: list[tuple[str, str, int, dict, bytes]] = []

    async def go(requests, link, settings=SETTINGS):
        app = build_app(settings, RecordingProducer(), link=link)
        async with TestClient(TestServer(app)) as client:
            for template, path, ctype, headers, body in requests:
                resp = await client.post(path, data=body, headers={"Content-Type": ctype, **headers})
                out.append((template, "post", resp.status, dict(resp.headers), await resp.read()))
            for path in GETS:
                resp = await client.get(path)
                out.append((path, "get", resp.status, dict(resp.headers), await resp.read()))
            if link is None:
                for template in STALLED:
                    status, headers, body = await _stalled(client.server, template.replace("{service}", "x"))
                    out.append((template, "post", status, headers, body))

    asyncio.run(go(REQUESTS, None))
    down = KafkaLink(RecordingProducer())
    down.mark_down("Kafka unreachable at 127.0.0.1:1: ConnectionRefusedError")
    asyncio.run(go(DOWN, down))
    slow = SETTINGS.model_copy(update={"gateway_rate_limit_per_s": 0.01, "gateway_rate_limit_burst": 1})
    asyncio.run(go([x for r in LIMITED for x in (r, r)], down, slow))
    return out


def test_the_description_is_valid_openapi_3_1_and_is_what_the_app_serves():
    OPENAPI_31_VALIDATOR.validate(DOC)
    served = [body for t, _m, _s, _h, body in exercise() if t == "/openapi.json"]
    assert orjson.loads(served[0]) == orjson.loads(orjson.dumps(DOC))  # the first app: SETTINGS


def test_every_route_is_described_and_every_described_operation_is_a_route():
    app = build_app(SETTINGS, RecordingProducer())
    routes = {
        (r.method.lower(), r.resource.canonical)
        for r in app.router.routes()
        if r.method != "HEAD"  # aiohttp adds HEAD to every GET by itself
    }
    described = {(m, p) for p, ops in DOC["paths"].items() for m in ops}
    assert routes == described


def test_the_event_schema_is_the_avro_contract():
    event = DOC["components"]["schemas"]["DossierEvent"]
    assert {"event_id", "event_type", "occurred_at", "source_system", "dossier_id"} <= set(event["required"])
    assert "RECEIVED" in event["properties"]["event_type"]["enum"]
    assert "sequence" not in event["required"] and "due_at" in event["properties"]
    assert jsonschema_rs.validator_for({**event, "components": DOC["components"]}).is_valid(
        orjson.loads(encode_json(ev(1)))
    )


def test_every_answer_of_every_handler_matches_its_description():
    seen = exercise()
    for template, method, status, headers, body in seen:
        check_answer(template, method, status, headers, body)
    reached = {(t, m, str(s)) for t, m, s, _h, _b in seen}
    documented = {
        (p, m, s) for p, ops in DOC["paths"].items() for m, op in ops.items() for s in op["responses"]
    }
    assert documented - reached == set()  # each documented status was produced and checked
    assert copy.deepcopy(DOC) == describe(SETTINGS)  # built the same way every time
