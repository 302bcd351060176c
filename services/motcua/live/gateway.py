"""HTTP ingest gateway: ``POST /v1/events`` -> validated, Avro-encoded events on Kafka.

Bodies by Content-Type:

* ``application/json``: one event object or a JSON array of them;
* ``application/x-ndjson`` / ``application/jsonl``: one event per line;
* ``application/avro`` / ``application/vnd.apache.avro+binary``: one Avro single-object
  encoded event (C3 01 + schema fingerprint + body).

Auth: ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``, compared in constant time
against every configured key. Each key is bound to the ``source_system`` values it may post
(``MOTCUA_API_KEYS=source_system:key,...``; a key listed under several sources may post for
each). A request with a record naming another source is refused as a whole (403
``SOURCE_NOT_ALLOWED``): nothing of it is published, and the foreign records go to dead
letters. With no keys configured the gateway refuses to start unless ``allow_anonymous``
is set (tests, local demos); anonymous requests may post any source.

Answers: 202 ``{"accepted": n}`` when every event was accepted and acknowledged by Kafka
(acks=all); 422 ``{"accepted": n, "rejected": [{index, code, reason}]}`` when some were
not (the good ones are still published, the bad ones are in dead letters); 400 for a body
that is not JSON at all, 401, 403, 408 (body not received within
``gateway_body_timeout_s``; the connection is closed), 413 (body limit), 415; 503
``KAFKA_UNAVAILABLE`` with ``Retry-After`` when Kafka is known to be down (at once) or did
not acknowledge within ``gateway_publish_timeout_s``. Every rejected record also goes to
the dead-letter topic with its reason. ``motcua_events_accepted_total{service="gateway"}``
counts events once Kafka acknowledged them.

``POST /v1/dvcqg`` (and ``/v1/dvcqg/token``): the drop-in endpoint for systems that sync
dossiers to the national portal (DongBoHoSoMC / CapNhatTienDoHoSoMC), in
``dvcqg_endpoint``; it publishes through the same ``check`` and ``deliver``.

Kafka's state comes from a metadata probe every ``gateway_health_interval_s`` in a thread
(``ProbedKafkaLink``), so ``/health`` and the fast 503s read a cached answer and never wait
on the broker; an acknowledgement timeout marks Kafka down until the next good probe. The
gateway starts (and reports unhealthy) while Kafka is unreachable, and creates its topics
and producer once it answers. SIGTERM is bounded: ``gateway_shutdown_s`` for requests in
flight, as long again for the producer's flush; unacknowledged records are dropped (their
clients got, or will get, no 2xx).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..adapters.codec import (
    CODEC,
    MAX_EVENT_BYTES,
    DecodeError,
    dead_letter_record,
    decode_record,
    encode_avro,
)
from ..domain.events import InvalidEvent, hex_as_letters
from ..pipeline.batches import rejection
from .config import LiveSettings
from .ingress import Ingress, Submitted
from .limits import RateLimiter
from .metrics import DEAD_LETTERS, EVENTS_ACCEPTED, EVENTS_IN, HTTP_REQUESTS, PUBLISH_LATENCY

if TYPE_CHECKING:
    from kafka import KafkaAdminClient

log = logging.getLogger("motcua.gateway")

SERVICE = "gateway"
RECONNECT_BACKOFF_MAX_MS = 1000
JSON_TYPES = ("application/json",)
NDJSON_TYPES = (
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
    "application/jsonlines",
)
AVRO_TYPES = (
    "application/avro",
    "application/vnd.apache.avro+binary",
    "avro/binary",
    "application/octet-stream",
)


class ApiKeys:
    """The configured keys, as SHA-256 digests -> the source_system values each may post."""

    def __init__(self, bindings: dict[bytes, frozenset[str]]):
        self._keys = [(k, frozenset(s)) for k, s in bindings.items()]

    def match(self, presented: str | None) -> tuple[int, frozenset[str]] | None:
        """(the key's number, its sources) of the matching key: the presented key's digest is
        compared with every configured one (``hmac.compare_digest``, equal lengths)."""
        if not presented:
            return None
        given = hashlib.sha256(presented.encode()).digest()
        found = None
        for i, (key, sources) in enumerate(self._keys):
            if hmac.compare_digest(given, key):
                found = (i, sources)
        return found

    def sources_for(self, presented: str | None) -> frozenset[str] | None:
        """The sources of the matching key."""
        found = self.match(presented)
        return None if found is None else found[1]


def presented_key(request: web.Request) -> str | None:
    key = request.headers.get("X-API-Key")
    if key:
        return key.strip()
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


class KafkaLink:
    """The producer and whether Kafka is usable. This base is told its state (tests, or a
    producer someone else manages); ``ProbedKafkaLink`` finds it out."""

    def __init__(self, producer=None):
        self.producer = producer
        self._up = producer is not None
        self.reason: str | None = None if self._up else "Kafka not connected yet"
        self._since = time.time()

    @property
    def healthy(self) -> bool:
        return self._up and self.producer is not None

    def mark_up(self) -> None:
        if not self._up:
            log.info("kafka reachable", extra={"down_for_s": round(time.time() - self._since, 1)})
            self._since = time.time()
        self._up, self.reason = True, None

    def mark_down(self, reason: str) -> None:
        if self._up:
            log.warning("kafka unavailable", extra={"reason": reason})
            self._since = time.time()
        self._up, self.reason = False, reason

    def state(self) -> dict:
        if self.healthy:
            return {"status": "ok", "kafka": "ok"}
        return {
            "status": "unavailable",
            "kafka": "unreachable",
            "reason": self.reason or "Kafka state unknown",
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._since)),
        }

    def close(self, timeout_s: float) -> None:
        _close_producer(self.producer, timeout_s)


class ProbedKafkaLink(KafkaLink):
    """A daemon thread that, every ``gateway_health_interval_s``, checks that every partition
    of the events and dead-letter topics has a leader and at least ``min.insync.replicas``
    in-sync replicas (one metadata request). Until the
    first success it also creates the topics and the producer. A TCP connect comes first so
    a dead broker costs no client construction (kafka-python leaks an IO thread per admin
    client that fails to bootstrap)."""

    def __init__(self, settings: LiveSettings):
        super().__init__(None)
        self.settings = settings
        self.interval = max(0.1, settings.gateway_health_interval_s)
        self.probe_timeout = max(1.0, min(5.0, 2 * self.interval))
        # a probe stuck longer than this means we no longer know: unhealthy
        self.stale_after = self.interval + self.probe_timeout + 1.0
        self._checked = time.monotonic()
        self._admin: KafkaAdminClient | None = None  # made by the first probe
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kafka-probe", daemon=True)

    @property
    def healthy(self) -> bool:
        if time.monotonic() - self._checked > self.stale_after:
            return False
        return super().healthy

    def state(self) -> dict:
        out = super().state()
        if out["status"] != "ok" and time.monotonic() - self._checked > self.stale_after:
            out["reason"] = f"no Kafka probe answer for {time.monotonic() - self._checked:.0f} s"
        return out

    def start(self) -> ProbedKafkaLink:
        self._thread.start()
        return self

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                self.probe()
            except Exception as err:  # any failure is "down", with its reason
                self.mark_down(f"Kafka unreachable at {self.settings.kafka_bootstrap}: {_short(err)}")
                if first:  # mark_down logs changes only, and the link starts down
                    log.warning("kafka unavailable", extra={"reason": self.reason})
            first = False
            self._checked = time.monotonic()
            self._stop.wait(self.interval)

    def probe(self) -> None:
        s = self.settings
        _tcp_check(s.kafka_bootstrap, self.probe_timeout)
        timeout_ms = int(self.probe_timeout * 1000)
        if self.producer is None:
            from .topics import ensure_topics

            ensure_topics(s, timeout_s=self.probe_timeout)
            producer = gateway_producer(s, bootstrap_timeout_ms=timeout_ms)
            for topic in (s.events_topic, s.dead_letters_topic):
                producer.partitions_for(topic)  # metadata now, not on the event loop
            self.producer = producer
        if self._admin is None:
            from kafka import KafkaAdminClient

            # kept for good: it reconnects by itself once the broker is back
            self._admin = KafkaAdminClient(
                bootstrap_servers=s.kafka_bootstrap,
                client_id="motcua-gateway-probe",
                request_timeout_ms=timeout_ms,
                bootstrap_timeout_ms=timeout_ms,
                reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
            )
        topics = self._admin.describe_topics([s.events_topic, s.dead_letters_topic])
        # below min.insync.replicas an acks=all write is refused (NOT_ENOUGH_REPLICAS) although
        # every partition has a leader: down too, or the health would say ok while every
        # publish waits for its timeout
        need = s.min_insync_replicas if s.replication_factor > 1 else 1
        for t in topics:
            if t.get("error_code"):
                raise RuntimeError(f"topic {t['name']}: error code {t['error_code']}")
            parts = t.get("partitions") or []
            if not parts or any(p.get("leader_id", -1) < 0 for p in parts):
                raise RuntimeError(f"topic {t['name']}: a partition has no leader")
            short = [p for p in parts if len(p.get("isr_nodes") or ()) < need]
            if short:
                raise RuntimeError(
                    f"topic {t['name']}: partition {short[0].get('partition_index')} has "
                    f"{len(short[0].get('isr_nodes') or ())} in-sync replicas, fewer than min.insync.replicas={need}"
                )
        self.mark_up()

    def close(self, timeout_s: float) -> None:
        self._stop.set()
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                admin.close()
            except Exception:  # closing anyway
                pass
        super().close(timeout_s)


def gateway_producer(settings: LiveSettings, bootstrap_timeout_ms: int):
    """``adapters.kafka_clients.producer``'s settings (keep in step), plus two bounds:
    ``send`` runs on the event loop, so a metadata wait may not hold it for a minute, and
    a broker that does not answer may not hold the probe for 30 s."""
    from kafka import KafkaProducer

    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id="motcua-gateway",
        acks="all",
        enable_idempotence=True,
        max_in_flight_requests_per_connection=5,
        retries=2**31 - 1,
        linger_ms=5,
        batch_size=256 * 1024,
        max_request_size=2 * 1024 * 1024,
        max_block_ms=int(max(0.1, min(1.0, settings.gateway_publish_timeout_s)) * 1000),
        bootstrap_timeout_ms=bootstrap_timeout_ms,
        # reconnect within a second once Kafka is back (default backoff grows to 30 s,
        # while the probe already reports healthy)
        reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
    )


def _close_producer(producer, timeout_s: float) -> None:
    if producer is None:
        return
    try:
        producer.flush(timeout=timeout_s)
    except Exception as err:  # Kafka did not take everything in time
        log.warning(
            "closing the producer with records Kafka did not acknowledge", extra={"error": _short(err)}
        )
        # kafka-python's close() would raise from the same flush and leave the sender
        # running (and __del__ would wait again); its own force-close path fails the
        # pending records, so the close below returns at once
        sender = getattr(producer, "_sender", None)
        if sender is not None and hasattr(sender, "force_close"):
            sender.force_close()
    try:
        producer.close(timeout=1.0)
    except Exception as err:
        log.warning("producer close failed", extra={"error": _short(err)})


def _tcp_check(bootstrap: str, timeout_s: float) -> None:
    last: Exception | None = None
    for addr in bootstrap.split(","):
        host, _, port = addr.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout_s):
                return
        except (OSError, ValueError) as err:
            last = err
    raise ConnectionError(f"no bootstrap server accepts connections ({last})")


def _short(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:200]


class _Acks:
    """The Kafka futures of one request as one asyncio future, resolved from the producer's
    thread when every record was acknowledged (or one failed). Accepted events are counted
    as their acknowledgement arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.done = loop.create_future()
        self._left = 0
        self._sealed = self._resolved = False
        self._lock = threading.Lock()

    def watch(self, fut, event: bool) -> None:
        with self._lock:
            self._left += 1
        fut.add_callback(self._ok, event)
        fut.add_errback(self._failed)

    def seal(self) -> None:
        with self._lock:
            self._sealed = True
            finished = self._left == 0
        if finished:
            self._resolve(None)

    def _ok(self, event: bool, _metadata) -> None:
        if event:
            EVENTS_ACCEPTED.labels(SERVICE).inc()
        with self._lock:
            self._left -= 1
            finished = self._sealed and self._left == 0
        if finished:
            self._resolve(None)

    def _failed(self, exc: BaseException) -> None:
        self._resolve(exc)

    def _resolve(self, exc: BaseException | None) -> None:
        with self._lock:
            if self._resolved:
                return
            self._resolved = True
        try:
            self.loop.call_soon_threadsafe(self._set, exc)
        except RuntimeError:  # loop closed: nobody waits any more
            pass

    def _set(self, exc: BaseException | None) -> None:
        if self.done.done():
            return
        if exc is None:
            self.done.set_result(None)
        else:
            self.done.set_exception(exc)


class _BodyTimeout(Exception):
    """The body did not arrive in time (``reason``: which bound)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Unreadable(Exception):
    """A body refused as a whole before any record is checked (bad JSON, unknown type)."""

    def __init__(self, code: str, reason: str, status: int):
        super().__init__(reason)
        self.code, self.reason, self.status = code, reason, status


# (sources it may post, None: any; its name; its rate-limit key)
Caller = tuple[frozenset[str] | None, str, tuple]


class EventsGateway:
    """``POST /v1/events``, and what the DVCQG endpoint shares with it: bounded body
    reading, decoding and checking records, publishing them and answering 503 for Kafka."""

    def __init__(self, settings: LiveSettings, api_keys: ApiKeys, link: KafkaLink, anonymous: bool):
        self.settings = settings
        self.api_keys = api_keys
        self.link = link
        self.anonymous = anonymous
        self.limit = settings.max_body_bytes
        self.publish_timeout = settings.gateway_publish_timeout_s
        self.body_timeout = settings.gateway_body_timeout_s
        self.min_rate = settings.gateway_body_min_rate_bytes_s
        self.grace = settings.gateway_body_grace_s
        self.limiter = RateLimiter(settings.gateway_rate_limit_per_s, settings.gateway_rate_limit_burst)
        self.retry_after = str(max(1, math.ceil(settings.gateway_health_interval_s)))

    # -- answers ---------------------------------------------------------------------
    def _ingress(self) -> Ingress:
        """Built per use: the probe may create the producer after the app was built."""
        s = self.settings
        return Ingress(self.link.producer, s.events_topic, s.dead_letters_topic, SERVICE)

    def unavailable(self, request_id: str, reason: str) -> web.Response:
        """503 with Retry-After: the client should send the same request again later."""
        resp = _answer(
            503, {"error": "KAFKA_UNAVAILABLE", "reason": reason, "retryable": True, "request_id": request_id}
        )
        resp.headers["Retry-After"] = self.retry_after
        return resp

    def rate_limited(self, request_id: str, retry_after: int) -> web.Response:
        """429 with Retry-After: this key sent more requests than its rate allows."""
        s = self.settings
        resp = _answer(
            429,
            {
                "error": "RATE_LIMITED",
                "reason": (
                    f"more than {s.gateway_rate_limit_per_s:g} requests a second (bursts of "
                    f"{s.gateway_rate_limit_burst}) for this API key; retry after {retry_after} s"
                ),
                "retryable": True,
                "request_id": request_id,
            },
        )
        resp.headers["Retry-After"] = str(retry_after)
        return resp

    def reject_whole(
        self, request_id: str, principal: str, code: str, reason: str, payload: bytes, status: int
    ) -> web.Response:
        """Refuse the whole body, keeping (the start of) it as a dead letter."""
        self._ingress().dead_letter(
            dead_letter_record(
                source=f"gateway:{principal}:{request_id}",
                stage="gateway",
                code=code,
                reason=reason,
                payload=payload[:MAX_EVENT_BYTES],
            )
        )
        return _answer(status, {"error": code, "reason": reason, "request_id": request_id})

    # -- request ---------------------------------------------------------------------
    async def read_upto(self, request: web.Request, n: int) -> bytes:
        """The body, or its first ``n`` bytes when it is longer (nothing more is read). A
        client that stalls, or sends slower than ``gateway_body_min_rate_bytes_s`` after the
        grace, raises ``_BodyTimeout``."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        whole = start + self.body_timeout
        parts, size = [], 0
        while size < n:
            # the next bytes must come before the average rate falls under the minimum
            paced = start + self.grace + (size + 1) / self.min_rate if self.min_rate > 0 else math.inf
            try:
                async with asyncio.timeout_at(min(whole, paced)):
                    chunk = await request.content.read(n - size)
            except TimeoutError:
                if paced < whole:
                    raise _BodyTimeout(
                        f"request body arriving slower than {self.min_rate:g} bytes/s "
                        f"(after {self.grace:g} s)"
                    ) from None
                raise _BodyTimeout(f"request body not received within {self.body_timeout:g} s") from None
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts)

    def _caller(self, request: web.Request) -> Caller | None:
        """Who posts, from the API key; None when the key is missing or unknown."""
        if self.anonymous:
            return None, "anonymous", ("key", "anonymous")
        found = self.api_keys.match(presented_key(request))
        if found is None:
            return None
        number, allowed = found
        return allowed, "+".join(sorted(allowed)), ("key", number)

    async def post_events(self, request: web.Request) -> web.StreamResponse:
        """The route: authenticate, answer 503 at once when Kafka is known down, then the body."""
        # in letters: a hex id with a run of digits would be masked in dead-letter sources
        request_id = hex_as_letters(uuid.uuid4().hex)
        caller = self._caller(request)
        if caller is None:
            return _answer(401, {"error": "UNAUTHORIZED", "reason": "missing or unknown API key"})
        retry_after = self.limiter.retry_after(caller[2])
        if retry_after is not None:
            return self.rate_limited(request_id, retry_after)
        if not self.link.healthy:  # known down: answer now, before reading the body
            return self.unavailable(request_id, f"{self.link.reason or 'Kafka unavailable'}; retry")
        try:
            return await self._handle_body(request, request_id, caller)
        except _BodyTimeout as err:
            return await _body_timed_out(request, request_id, err)

    async def _handle_body(self, request: web.Request, request_id: str, caller: Caller) -> web.StreamResponse:
        """Read the body within the size limit, split it into records and publish them."""
        allowed, principal, _key = caller
        limit = self.limit
        declared = request.content_length
        if declared is not None and declared > limit:
            return await close_after(
                request,
                self.reject_whole(
                    request_id,
                    principal,
                    "BODY_TOO_LARGE",
                    f"body of {declared} bytes is over the {limit}-byte limit",
                    await self.read_upto(request, MAX_EVENT_BYTES),
                    413,
                ),
            )
        body = await self.read_upto(request, limit + 1)
        if len(body) > limit:
            return await close_after(
                request,
                self.reject_whole(
                    request_id, principal, "BODY_TOO_LARGE", f"body is over the {limit}-byte limit", body, 413
                ),
            )
        ctype = request.content_type.lower()
        if (
            body[:3] == b"\xef\xbb\xbf" and ctype not in AVRO_TYPES
        ):  # a UTF-8 BOM (Excel, Notepad) is not data
            body = body[3:]
        try:
            records = _records_of(body, ctype, f"gateway:{principal}:{request_id}")
        except _Unreadable as err:
            return self.reject_whole(request_id, principal, err.code, err.reason, body, err.status)
        return await self.publish(request_id, records, allowed)

    # -- records ---------------------------------------------------------------------
    def check(self, records: list, allowed) -> tuple[list[dict], list[dict], list[dict], list[str]]:
        """Decode and validate ``records`` ((ref, bytes | dict)): the good events, the dead
        letters, the rejections to tell the client ({index, code, reason}) and the sources
        named that ``allowed`` does not include (None: any)."""
        now = int(time.time() * 1000)
        good: list[dict] = []
        dead: list[dict] = []
        rejected: list[dict] = []
        foreign: list[str] = []
        for i, (ref, raw) in enumerate(records):
            try:
                event = decode_record(raw, now)
            except (DecodeError, InvalidEvent) as err:
                dead.append(rejection(CODEC, ref, raw, err, stage="gateway"))
                rejected.append({"index": i, "code": err.code, "reason": err.reason})
                continue
            source = event["source_system"]
            if allowed is not None and source not in allowed:
                reason = (
                    f"source_system {source!r} is not one this API key may post "
                    f"({', '.join(sorted(allowed))})"
                )
                dead.append(
                    dead_letter_record(
                        source=ref,
                        stage="gateway",
                        code="SOURCE_NOT_ALLOWED",
                        reason=reason,
                        payload=raw,
                        event_id=event["event_id"],
                        dossier_id=event["dossier_id"],
                    )
                )
                rejected.append({"index": i, "code": "SOURCE_NOT_ALLOWED", "reason": reason})
                foreign.append(source)
                continue
            good.append(event)
        EVENTS_IN.labels(SERVICE).inc(len(records))
        return good, dead, rejected, foreign

    async def deliver(self, request_id: str, good: list[dict], dead: list[dict]) -> str | None:
        """Send the events (Avro, keyed by dossier) and the dead letters, and wait until
        Kafka acknowledged every one: None, else why not (answer ``unavailable``)."""
        acks = _Acks(asyncio.get_running_loop())
        started = time.perf_counter()
        try:
            self._send(acks, good, dead)
            await asyncio.wait_for(acks.done, self.publish_timeout)
        except TimeoutError:
            reason = f"Kafka did not acknowledge within {self.publish_timeout:g} s"
            self.link.mark_down(reason)
            log.warning("publish timed out", extra={"request_id": request_id})
            return f"{reason}; retry"
        except Exception as err:  # Kafka refused, or send() could not get metadata in time
            log.warning("publish failed", extra={"request_id": request_id, "error": _short(err)})
            return f"Kafka did not acknowledge ({type(err).__name__}); retry"
        PUBLISH_LATENCY.observe(time.perf_counter() - started)
        return None

    def _send(self, acks: _Acks, good: list[dict], dead: list[dict]) -> None:
        """Hand every record to the producer, each future watched by ``acks``, then seal it."""
        producer = self.link.producer
        for event in good:
            acks.watch(
                producer.send(
                    self.settings.events_topic, key=event["dossier_id"].encode(), value=encode_avro(event)
                ),
                True,
            )
        sink = Submitted()
        front = self._ingress()
        for record in dead:
            front.dead_letter(record, sink)
        for fut in sink.futures:
            acks.watch(fut, False)
        acks.seal()

    async def publish(self, request_id: str, records: list, allowed) -> web.Response:
        """Check, deliver, and answer 202, 422, 403 (another source named) or 503."""
        good, dead, rejected, foreign = self.check(records, allowed)
        if foreign:  # a key posting for another source: refuse the whole request
            good = []
        failed = await self.deliver(request_id, good, dead)
        if failed is not None:
            return self.unavailable(request_id, failed)
        if foreign:
            return _answer(
                403,
                {
                    "error": "SOURCE_NOT_ALLOWED",
                    "reason": (
                        f"this API key may post only source_system "
                        f"{', '.join(sorted(allowed))}; the request names "
                        f"{', '.join(sorted(set(foreign)))}; nothing of it was published"
                    ),
                    "accepted": 0,
                    "rejected": rejected,
                    "request_id": request_id,
                },
            )
        if rejected:
            return _answer(422, {"accepted": len(good), "rejected": rejected, "request_id": request_id})
        return _answer(202, {"accepted": len(good), "request_id": request_id})


def _records_of(body: bytes, ctype: str, ref: str) -> list[tuple[str, bytes]]:
    """The body as (dead-letter source, raw record) by Content-Type; ``_Unreadable`` if none."""
    if ctype in JSON_TYPES:
        if body.lstrip()[:1] != b"[":
            return [(f"{ref}:0", body)]
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _Unreadable("BAD_JSON", f"not JSON: {exc}"[:200], 400) from None
        return [(f"{ref}:{i}", _item_bytes(x)) for i, x in enumerate(items)]
    if ctype in NDJSON_TYPES:
        return [(f"{ref}:{i}", line) for i, line in enumerate(ln for ln in body.split(b"\n") if ln.strip())]
    if ctype in AVRO_TYPES:
        return [(f"{ref}:0", body)]
    raise _Unreadable("UNSUPPORTED_MEDIA_TYPE", f"Content-Type {ctype!r} is not JSON, NDJSON or Avro", 415)


def _add_health_routes(app: web.Application, link: KafkaLink) -> None:
    """``/health`` (and ``/ready``) from the link's cached state, ``/health/live``, ``/metrics``."""

    async def health(_request: web.Request) -> web.Response:
        state = link.state()
        return _answer(200 if state["status"] == "ok" else 503, state)

    async def live(_request: web.Request) -> web.Response:
        return _answer(200, {"status": "ok"})

    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/health", health)
    app.router.add_get("/health/ready", health)
    app.router.add_get("/health/live", live)
    app.router.add_get("/metrics", metrics)


def build_app(
    settings: LiveSettings, producer=None, allow_anonymous: bool = False, link: KafkaLink | None = None
) -> web.Application:
    """``producer``: a ready producer (tests); ``link``: where the producer and Kafka's
    state come from (``run`` passes a ``ProbedKafkaLink``)."""
    bindings = settings.api_key_bindings()
    if not bindings and not allow_anonymous:
        raise ValueError("no API keys: set MOTCUA_API_KEYS=source_system:key,...")
    if link is None:
        link = KafkaLink(producer)
    gateway = EventsGateway(settings, ApiKeys(bindings), link, anonymous=not bindings)
    app = web.Application(client_max_size=settings.max_body_bytes + 1024)
    app.router.add_post("/v1/events", gateway.post_events)
    from .dvcqg_endpoint import DvcqgEndpoint  # here: it imports this module

    DvcqgEndpoint(
        settings,
        gateway.api_keys,
        link,
        check=gateway.check,
        deliver=gateway.deliver,
        read_upto=gateway.read_upto,
        limiter=gateway.limiter,
        anonymous=gateway.anonymous,
    ).register(app)
    _add_health_routes(app, link)
    _add_openapi_route(app, settings)
    return app


def _add_openapi_route(app: web.Application, settings: LiveSettings) -> None:
    """``GET /openapi.json``: the description of every route (``live.openapi``)."""
    from .openapi import describe  # here: it imports this module

    document = orjson.dumps(describe(settings))

    async def openapi(_request: web.Request) -> web.Response:
        return web.Response(body=document, content_type="application/json")

    app.router.add_get("/openapi.json", openapi)


async def close_after(request: web.Request, resp: web.Response) -> web.Response:
    """Send ``resp``, then close the connection, the rest of the body unread: aiohttp would
    otherwise keep reading (and discarding) it for its lingering time, and a stalled client
    would keep the connection."""
    resp.force_close()
    await resp.prepare(request)
    await resp.write_eof()
    request.protocol.force_close()
    return resp


async def _body_timed_out(request: web.Request, request_id: str, err: _BodyTimeout):
    """408, then close."""
    resp = _answer(408, {"error": "BODY_TIMEOUT", "reason": err.reason, "request_id": request_id})
    return await close_after(request, resp)


def _item_bytes(item) -> bytes:
    """An array item back to bytes, so size and JSON rules are checked like a line's."""
    return orjson.dumps(item)


def _answer(status: int, body: dict) -> web.Response:
    HTTP_REQUESTS.labels(str(status)).inc()
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


def warn_plain_keys(settings: LiveSettings) -> None:
    """A warning at start for each source whose key is configured in plain (the sources
    only: never a key nor its hash)."""
    plain = settings.plain_api_key_sources()
    if plain:
        log.warning(
            "API keys given in plain in MOTCUA_API_KEYS: for development only; give each as "
            "sha256:<hex digest of the key> (docs/gateway.md#keys)",
            extra={"sources": plain},
        )


def run(settings: LiveSettings, allow_anonymous: bool = False) -> None:
    from .metrics import serve

    warn_plain_keys(settings)
    link = ProbedKafkaLink(settings)
    app = build_app(settings, allow_anonymous=allow_anonymous, link=link)
    serve(settings.gateway_metrics_port)
    link.start()

    async def close_link(_app):
        # bounded: Kafka may be down, and SIGTERM must still stop the gateway
        link.close(settings.gateway_shutdown_s)

    app.on_cleanup.append(close_link)
    log.info(
        "gateway listening", extra={"port": settings.gateway_port, "bootstrap": settings.kafka_bootstrap}
    )
    web.run_app(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        print=None,
        access_log=None,
        shutdown_timeout=settings.gateway_shutdown_s,
    )


__all__ = ["DEAD_LETTERS", "ApiKeys", "KafkaLink", "ProbedKafkaLink", "build_app", "run"]
