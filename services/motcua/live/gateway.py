"""HTTP ingest gateway: ``POST /v1/events`` -> validated, Avro-encoded events on Kafka.

Bodies by Content-Type:

* ``application/json``: one event object or a JSON array of them;
* ``application/x-ndjson`` / ``application/jsonl``: one event per line;
* ``application/avro`` / ``application/vnd.apache.avro+binary``: one Avro single-object
  encoded event (C3 01 + schema fingerprint + body).

Auth: ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``, one key per source system
(``MOTCUA_API_KEYS=source:key,...``), compared in constant time. With no keys configured
the gateway refuses to start unless ``allow_anonymous`` is set (tests, local demos).

Answers: 202 ``{"accepted": n}`` when every event was accepted and acknowledged by Kafka
(acks=all); 422 ``{"accepted": n, "rejected": [{index, code, reason}]}`` when some were
not (the good ones are still published, the bad ones are in dead letters); 400 for a body
that is not JSON at all, 401, 413 (body limit), 415; 503 when Kafka did not acknowledge.
Every rejected record also goes to the dead-letter topic with its reason.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..adapters.codec import MAX_EVENT_BYTES, dead_letter_record
from .config import LiveSettings
from .ingress import Ingress
from .metrics import DEAD_LETTERS, HTTP_REQUESTS, PUBLISH_LATENCY

log = logging.getLogger("motcua.gateway")

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl",
                "application/x-jsonlines", "application/jsonlines")
AVRO_TYPES = ("application/avro", "application/vnd.apache.avro+binary",
              "avro/binary", "application/octet-stream")


class ApiKeys:
    def __init__(self, keys: dict[str, str]):
        self._keys = [(s, k.encode()) for s, k in keys.items()]

    def source_for(self, presented: str | None) -> str | None:
        """The source whose key matches; every key is compared (constant time)."""
        if not presented:
            return None
        given = presented.encode()
        found = None
        for source, key in self._keys:
            if hmac.compare_digest(given, key):
                found = source
        return found


def presented_key(request: web.Request) -> str | None:
    key = request.headers.get("X-API-Key")
    if key:
        return key.strip()
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


def build_app(settings: LiveSettings, producer, allow_anonymous: bool = False) -> web.Application:
    keys = settings.api_key_map()
    if not keys and not allow_anonymous:
        raise ValueError("no API keys: set MOTCUA_API_KEYS=source:key,...")
    api_keys = ApiKeys(keys)
    ingress = Ingress(producer, settings.events_topic, settings.dead_letters_topic, "gateway")
    limit = settings.max_body_bytes

    def reject_whole(request_id: str, source: str, code: str, reason: str, payload: bytes,
                     status: int) -> web.Response:
        ingress.dead_letter(dead_letter_record(source=f"gateway:{source}:{request_id}",
                                               stage="gateway", code=code, reason=reason,
                                               payload=payload[:MAX_EVENT_BYTES]))
        return _answer(status, {"error": code, "reason": reason, "request_id": request_id})

    async def post_events(request: web.Request) -> web.Response:
        request_id = uuid.uuid4().hex
        if keys:
            source = api_keys.source_for(presented_key(request))
            if source is None:
                return _answer(401, {"error": "UNAUTHORIZED", "reason": "missing or unknown API key"})
        else:
            source = "anonymous"
        declared = request.content_length
        if declared is not None and declared > limit:
            return reject_whole(request_id, source, "BODY_TOO_LARGE",
                                f"body of {declared} bytes is over the {limit}-byte limit",
                                await _read_upto(request, MAX_EVENT_BYTES), 413)
        body = await _read_upto(request, limit + 1)
        if len(body) > limit:
            return reject_whole(request_id, source, "BODY_TOO_LARGE",
                                f"body is over the {limit}-byte limit", body, 413)
        ctype = request.content_type.lower()
        ref = f"gateway:{source}:{request_id}"
        if ctype in JSON_TYPES:
            stripped = body.lstrip()
            if stripped[:1] == b"[":
                try:
                    items = orjson.loads(body)
                except orjson.JSONDecodeError as exc:
                    return reject_whole(request_id, source, "BAD_JSON", f"not JSON: {exc}"[:200], body, 400)
                records = [(f"{ref}:{i}", _item_bytes(x)) for i, x in enumerate(items)]
            else:
                records = [(f"{ref}:0", body)]
        elif ctype in NDJSON_TYPES:
            records = [(f"{ref}:{i}", line) for i, line in enumerate(
                ln for ln in body.split(b"\n") if ln.strip())]
        elif ctype in AVRO_TYPES:
            records = [(f"{ref}:0", body)]
        else:
            return reject_whole(request_id, source, "UNSUPPORTED_MEDIA_TYPE",
                                f"Content-Type {ctype!r} is not JSON, NDJSON or Avro", body, 415)
        result = ingress.submit(records)
        started = time.perf_counter()
        try:
            await asyncio.get_running_loop().run_in_executor(None, Ingress.wait, result)
        except Exception as err:  # Kafka did not acknowledge
            log.warning("publish failed", extra={"request_id": request_id, "error": repr(err)})
            return _answer(503, {"error": "UNAVAILABLE", "reason": "Kafka did not acknowledge; retry",
                                 "request_id": request_id})
        PUBLISH_LATENCY.observe(time.perf_counter() - started)
        if result.rejected:
            return _answer(422, {"accepted": result.accepted, "rejected": result.rejected,
                                 "request_id": request_id})
        return _answer(202, {"accepted": result.accepted, "request_id": request_id})

    async def health(_request: web.Request) -> web.Response:
        return _answer(200, {"status": "ok"})

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application(client_max_size=limit + 1024)
    app.router.add_post("/v1/events", post_events)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics)
    return app


async def _read_upto(request: web.Request, n: int) -> bytes:
    """The body, or its first ``n`` bytes when it is longer."""
    parts, size = [], 0
    while size < n:
        chunk = await request.content.read(n - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _item_bytes(item) -> bytes:
    """An array item back to bytes, so size and JSON rules are checked like a line's."""
    return orjson.dumps(item)


def _answer(status: int, body: dict) -> web.Response:
    HTTP_REQUESTS.labels(str(status)).inc()
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def run(settings: LiveSettings, allow_anonymous: bool = False) -> None:
    from ..adapters.kafka_clients import producer as make_producer
    from .topics import ensure_topics

    from .metrics import serve

    ensure_topics(settings)
    serve(settings.gateway_metrics_port)
    producer = make_producer(settings.kafka_bootstrap, client_id="motcua-gateway")
    app = build_app(settings, producer, allow_anonymous=allow_anonymous)

    async def close_producer(_app):
        await asyncio.get_running_loop().run_in_executor(None, producer.close)

    app.on_cleanup.append(close_producer)
    log.info("gateway listening", extra={"port": settings.gateway_port,
                                          "bootstrap": settings.kafka_bootstrap})
    web.run_app(app, host=settings.gateway_host, port=settings.gateway_port, print=None,
                access_log=None)


__all__ = ["build_app", "run", "ApiKeys", "DEAD_LETTERS"]
