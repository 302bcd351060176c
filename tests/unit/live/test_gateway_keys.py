"""API keys given as hashes (``source:sha256:<hex>`` in MOTCUA_API_KEYS), plain keys still
accepted with a warning, and no key, hash, event content or personal value in any log line
of the gateway (events endpoint and DVCQG endpoint, every answer kind). The DVCQG endpoint's
own privacy test is in test_dvcqg_endpoint.py; the real-broker scan of every service's log
in tests/integration/kafka/test_personal_data_live.py and test_gateway_fuzz.py."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from motcua.adapters.codec import encode_json
from motcua.live.config import LiveSettings, key_digest
from motcua.live.dvcqg_endpoint import SessionTokens
from motcua.live.gateway import ApiKeys, KafkaLink, build_app, warn_plain_keys
from motcua.live.logs import JsonFormatter
from tests.unit.imports.test_dvcqg_reader import PERSONAL, T_SNAPSHOT
from tests.unit.live.test_gateway import RecordingProducer
from tests.unit.live.test_gateway import ev as base_ev


def sha(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


KEYS = {"test": "alpha-Key-7f3a9c", "thanhhoa": "tm-Key-41b2d8", "src-b": "beta-Key-0c5e11"}
HASHED = LiveSettings(
    api_keys=",".join(f"{s}:{sha(k)}" for s, k in KEYS.items()),
    max_body_bytes=200_000,
    gateway_publish_timeout_s=0.5,
    gateway_body_timeout_s=0.5,
    dvcqg_session_secret="replica-shared-Secret-93",
)


def test_a_hashed_key_and_the_same_key_in_plain_bind_alike():
    hashed = LiveSettings(api_keys=f"a:{sha('k1')},b:{sha('k2').upper().replace('SHA256', 'sha256')}")
    plain = LiveSettings(api_keys="a:k1,b:k2")
    assert hashed.api_key_bindings() == plain.api_key_bindings()
    assert key_digest(sha("k1")) == hashlib.sha256(b"k1").digest()
    assert hashed.plain_api_key_sources() == [] and plain.plain_api_key_sources() == ["a", "b"]
    keys = ApiKeys(hashed.api_key_bindings())
    assert keys.sources_for("k1") == {"a"} and keys.sources_for("k2") == {"b"}
    # the hash is no key: knowing the configuration does not let one post
    assert keys.sources_for(sha("k1")) is None and keys.sources_for(sha("k1")[7:]) is None


@pytest.mark.parametrize("spec", ["sha256:abc", "sha256:" + "g" * 64, "sha256:" + "a" * 63])
def test_a_malformed_hash_is_refused_without_echoing_it(spec):
    with pytest.raises(ValueError) as err:
        LiveSettings(api_keys=f"src:{spec}").api_key_bindings()
    assert spec[7:] not in str(err.value) and "64 hex digits" in str(err.value)


def test_plain_keys_give_a_warning_naming_the_sources_only(caplog):
    caplog.set_level(logging.INFO)
    warn_plain_keys(LiveSettings(api_keys=f"dev:plain-Key-55,prod:{sha('x')}"))
    [record] = [r for r in caplog.records if "plain" in r.getMessage()]
    assert record.levelno == logging.WARNING and record.sources == ["dev"]
    assert "plain-Key-55" not in JsonFormatter("gateway").format(record)
    caplog.clear()
    warn_plain_keys(HASHED)
    assert not [r for r in caplog.records if "plain" in r.getMessage()]


def test_session_tokens_are_signed_from_the_digest_and_the_server_secret():
    tokens = SessionTokens(HASHED.api_key_bindings(), 3600, server_secret="s1")
    token = tokens.issue("thanhhoa", KEYS["thanhhoa"])
    assert tokens.source_of(token) == "thanhhoa"
    # a replica with another server secret, or none, does not take it
    assert SessionTokens(HASHED.api_key_bindings(), 3600, server_secret="s2").source_of(token) is None
    assert SessionTokens(HASHED.api_key_bindings(), 3600).source_of(token) is None


def ev(i: int, **over) -> dict:
    """An event with ids that no log line could hold by chance."""
    return base_ev(i, dossier_id=f"HS-QX{i}-ZK", event_id=f"EV-QX{i}-ZK", **over)


def run_requests(settings: LiveSettings, link: KafkaLink | None = None) -> list[tuple[int, dict]]:
    """Every kind of answer of both endpoints, with keys in every place and personal data."""
    pii_event = dict(ev(71), reason=f"Ông {PERSONAL[0]}, SĐT {PERSONAL[2]}")
    bad_pii = dict(ev(72), citizen_id=PERSONAL[1])
    plain = {"Content-Type": "application/json"}
    calls = [
        ("/v1/events", {"X-API-Key": KEYS["test"]}, encode_json(ev(70))),
        ("/v1/events", {"Authorization": f"Bearer {KEYS['test']}"}, orjson.dumps([pii_event, bad_pii])),
        ("/v1/events", {"X-API-Key": KEYS["src-b"]}, encode_json(ev(73))),  # 403
        ("/v1/events", {"X-API-Key": sha(KEYS["test"])}, encode_json(ev(74))),  # 401
        ("/v1/events", {"X-API-Key": KEYS["test"]}, b"[{" + PERSONAL[0].encode()),  # 400
        ("/v1/events", {"X-API-Key": KEYS["test"]}, b"x" * 300_000),  # 413
        ("/v1/dvcqg/token", {}, orjson.dumps({"username": "thanhhoa", "password": KEYS["thanhhoa"]})),
        ("/v1/dvcqg/token", {}, orjson.dumps({"username": PERSONAL[0], "password": KEYS["test"]})),
        ("/v1/dvcqg", {"X-API-Key": KEYS["thanhhoa"]}, orjson.dumps([T_SNAPSHOT, PERSONAL[1]])),
        ("/v1/dvcqg", {"session": "v1.x.1.y"}, orjson.dumps([T_SNAPSHOT])),  # 401
    ]

    async def go():
        app = build_app(settings, RecordingProducer(), link=link)
        async with TestClient(TestServer(app)) as client:
            out = []
            for path, headers, body in calls:
                resp = await client.post(path, data=body, headers={**plain, **headers})
                out.append((resp.status, orjson.loads(await resp.read())))
            return out

    return asyncio.run(go())


def test_hashed_keys_post_log_in_and_sync(caplog):
    caplog.set_level(logging.DEBUG)
    statuses = [s for s, _a in run_requests(HASHED)]
    assert statuses == [202, 422, 403, 401, 400, 413, 200, 200, 200, 401]
    down = KafkaLink(RecordingProducer())
    down.mark_down("Kafka unreachable at 127.0.0.1:1: ConnectionRefusedError")
    assert {s for s, _a in run_requests(HASHED, down)} <= {503, 401, 200, 413}
    # every log line, as the JSON formatter writes it (the test server's access log aside:
    # the gateway serves with access_log=None)
    fmt = JsonFormatter("gateway")
    logs = "\n".join(fmt.format(r) for r in caplog.records if r.name != "aiohttp.access")
    assert "dvcqg sync" in logs and "kafka unavailable" in logs  # the scan sees the logs
    secrets = [*KEYS.values(), *(sha(k)[7:] for k in KEYS.values()), HASHED.dvcqg_session_secret]
    content = [ev(i)["dossier_id"] for i in range(70, 75)] + [ev(i)["event_id"] for i in range(70, 75)]
    content.append(T_SNAPSHOT["MaHoSo"])
    for value in (*secrets, *PERSONAL, *content):
        assert value not in logs, value


def test_aiohttp_error_records_keep_no_request_content():
    """Found by the schemathesis run: aiohttp logged a malformed header line, whole, in the
    traceback of "Error handling request from <address>"."""
    from aiohttp.http_exceptions import BadHttpMessage

    from motcua.live.logs import NoRequestContent

    def record(exc: BaseException) -> logging.LogRecord:
        try:
            raise exc
        except BaseException:
            import sys

            info = sys.exc_info()
        return logging.LogRecord(
            "aiohttp.server", logging.ERROR, "x.py", 1, "Error handling request from %s", ("10.1.2.3",), info
        )

    secret = f"Invalid header value char: b'X-API-Key: {KEYS['test']}\\x00 {PERSONAL[0]}'"
    fmt, keep = JsonFormatter("gateway"), NoRequestContent()
    bad = record(BadHttpMessage(secret))
    assert keep.filter(bad)
    line = orjson.loads(fmt.format(bad))
    assert line["level"] == "warning" and line["msg"].startswith("Error handling request: BadHttpMessage at ")
    bug = record(TypeError(f"unhashable: {PERSONAL[1]}"))
    keep.filter(bug)
    line = orjson.loads(fmt.format(bug))
    assert line["level"] == "error" and "TypeError" in line["msg"] and "exc" not in line
    for text in (fmt.format(bad), fmt.format(bug)):
        assert KEYS["test"] not in text and PERSONAL[0] not in text and PERSONAL[1] not in text
        assert "10.1.2.3" not in text
    other = logging.LogRecord("motcua.gateway", logging.INFO, "x.py", 1, "kept %s", ("as is",), None)
    assert keep.filter(other) and other.getMessage() == "kept as is"
