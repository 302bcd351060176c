"""The drop-in DVCQG endpoint: a province's existing national sync (OpenCPS and the
provincial connectors of docs/importing.md#senders) is pointed at motcua by changing its URLs.

Routes (registered by ``gateway.build_app``):

* ``POST /v1/dvcqg/token`` with ``{"username": <source system>, "password": <its API key>}``
  (JSON or form-encoded) -> ``{"error_code": 0, "message": "Lấy token thành công",
  "session": <token>}``. Wrong credentials: HTTP 200 with ``error_code`` 1 (DVCQG clients
  read ``error_code``: OpenCPS checks ``session`` and ``error_code == 0``; T deserialises
  the body whatever the status; no source reads the HTTP status).
* ``POST /v1/dvcqg``, ``/v1/dvcqg/<service>`` and Hà Giang's ``/api/SynsTTHCC/<service>``
  (``<service>``: DongBoHoSoMC or CapNhatTienDoHoSoMC; another segment leaves the service
  to the body or the items' shape). Body: O's envelope ``{"session", "madonvi", "service",
  "isUpdating", "data": [...]}`` or a bare array of items (``?isUpdating=``,
  ``?MaDinhDanhDV=`` / ``?madonvi=`` in the query).

Credentials: ``?session=``, a ``session`` header, ``Authorization: Bearer``, ``X-API-Key``
(each may hold a session token or the API key itself), checked before the body is read;
only when none is outside the body is the envelope's ``session`` used (O puts it there).
The token is ``v1.<source, base64url>.<expiry, epoch s>.<mac, base64url>`` with mac =
HMAC-SHA256(secret, source "\\n" expiry), secret = HMAC-SHA256(SHA-256(api key),
"motcua-dvcqg-session-v1" + ``MOTCUA_DVCQG_SESSION_SECRET``): the gateway knows keys by their
digests only; every replica checks a token without shared state, and a key removed from
``MOTCUA_API_KEYS`` voids its tokens. Lifetime ``MOTCUA_DVCQG_SESSION_TTL_S`` (8 hours).

Each item is read by ``imports.dvcqg.parse_request``, converted by an
``imports.convert.Converter`` under the authenticated source (as ``motcua import dvcqg
--source`` does), validated and published by the gateway's own ``check`` / ``deliver``;
items that cannot be read or converted, and events the contract refuses, go to the
dead-letter topic (source ``gateway:<source>:<request id>:<where>``, payload redacted).

Answers ``{"error_code", "message"}`` once Kafka acknowledged every record:

* 0 (HTTP 200) "Đồng bộ thành công <n> hồ sơ, <m> dòng tiến độ": every item accepted;
* 2 (HTTP 200) some items refused (counted by code in the message and listed under
  ``rejected``); the good ones are published all the same;
* 3 (HTTP 400; 413 for a body over the limit) "Dữ liệu không đúng định dạng ...": the body
  is no DongBoHoSoMC / CapNhatTienDoHoSoMC request; nothing is published;
* 1 (HTTP 401) "Phiên làm việc không hợp lệ hoặc đã hết hạn";
* 5 (HTTP 503, ``Retry-After``) Kafka unavailable: nothing acknowledged, send again.

Messages are raw UTF-8 (T looks for "thành công" in the plain text of the progress answer).
No message, log line or dead letter holds the session, the API key or a personal value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import os
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from ..adapters.codec import MAX_EVENT_BYTES, dead_letter_record
from ..domain.events import hex_as_letters
from ..imports.convert import Converter, ConvertOptions
from ..imports.dvcqg import DONG_BO, TIEN_DO, Request, parse_request
from ..imports.model import Problem, ProgressRow, Snapshot
from .config import LiveSettings
from .gateway import ApiKeys, KafkaLink, _body_timed_out, _BodyTimeout, close_after, presented_key
from .limits import RateLimiter
from .metrics import HTTP_REQUESTS

log = logging.getLogger("motcua.gateway.dvcqg")

TOKEN_VERSION = "v1"
_DERIVE = b"motcua-dvcqg-session-v1"
ANONYMOUS_SOURCE = "dvcqg"  # the source when no keys are configured (tests, demos)
TOKEN_BODY_LIMIT = 64 * 1024
_SERVICES = {DONG_BO.lower(): DONG_BO, TIEN_DO.lower(): TIEN_DO}

OK = 0
BAD_SESSION = 1
PARTIAL = 2
BAD_FORMAT = 3
RATE_LIMITED = 4
UNAVAILABLE = 5
INTERNAL = 9

MSG_BAD_LOGIN = "Sai tên đăng nhập hoặc mật khẩu"
MSG_BAD_SESSION = "Phiên làm việc không hợp lệ hoặc đã hết hạn"
MSG_RATE_LIMITED = "Gửi quá nhiều yêu cầu trong thời gian ngắn; vui lòng thử lại sau {s} giây"
MSG_UNAVAILABLE = (
    "Hệ thống tạm thời chưa nhận được dữ liệu (hàng đợi Kafka không sẵn sàng); "
    "chưa hồ sơ nào được ghi nhận, vui lòng thử lại sau"
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionTokens:
    """Issues and checks the HMAC-signed session tokens of the sources' API keys."""

    def __init__(
        self,
        bindings: dict[bytes, frozenset[str]],
        ttl_s: float,
        clock: Callable[[], float] = time.time,
        open_secret: bytes | None = None,
        server_secret: str = "",
    ):
        """``bindings``: key digest -> sources. ``open_secret``: no keys configured
        (anonymous gateway): tokens for any source, signed with this secret (random per
        process: valid on this replica only). ``server_secret``: mixed into every key's."""
        self.ttl_s = ttl_s
        self.clock = clock
        self.open_secret = open_secret
        self._derive = _DERIVE + server_secret.encode()
        # source -> the secrets derived from each key that may post it
        self._secrets: dict[str, list[bytes]] = {}
        for digest, sources in bindings.items():
            secret = self._secret_of(digest)
            for source in sources:
                self._secrets.setdefault(source, []).append(secret)

    def _secret_of(self, digest: bytes) -> bytes:
        return hmac.new(digest, self._derive, hashlib.sha256).digest()

    @staticmethod
    def _mac(secret: bytes, source: str, expiry: int) -> bytes:
        return hmac.new(secret, f"{source}\n{expiry}".encode(), hashlib.sha256).digest()

    def issue(self, source: str, key: str | None) -> str:
        """A token for ``source`` signed with (the secret of) ``key`` (None: the open secret)."""
        secret = (
            self._secret_of(hashlib.sha256(key.encode()).digest()) if key is not None else self.open_secret
        )
        if secret is None:
            raise ValueError("no key to sign with")
        expiry = int(self.clock() + self.ttl_s)
        return ".".join(
            (TOKEN_VERSION, _b64(source.encode()), str(expiry), _b64(self._mac(secret, source, expiry)))
        )

    def source_of(self, token: str) -> str | None:
        """The source a valid, unexpired token names; None for anything else."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != TOKEN_VERSION:
            return None
        _v, src, exp, mac = parts
        if not (exp.isascii() and exp.isdigit() and len(exp) <= 12) or len(mac) > 64 or len(src) > 400:
            return None
        try:
            source = _unb64(src).decode("utf-8")
            given = _unb64(mac)
        except (ValueError, UnicodeError):
            return None
        expiry = int(exp)
        if expiry <= self.clock():
            return None
        found = False
        secrets = self._secrets.get(source, [])
        for secret in secrets + ([self.open_secret] if self.open_secret is not None else []):
            if hmac.compare_digest(given, self._mac(secret, source, expiry)):
                found = True
        return source if found else None


def _answer(status: int, body: dict, headers: dict | None = None) -> web.Response:
    HTTP_REQUESTS.labels(str(status)).inc()
    return web.Response(
        status=status,
        body=orjson.dumps(body),
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )


def _folded(mapping) -> dict[str, str]:
    """Query parameters / form fields by lower-case name (the first one given)."""
    out: dict[str, str] = {}
    for k, v in mapping.items():
        out.setdefault(str(k).strip().lower(), v)
    return out


def _query_bool(value: str | None) -> bool | None:
    if value is None:
        return None
    v = value.strip().lower()
    if v in ("true", "1", "yes"):
        return True
    if v in ("false", "0", "no"):
        return False
    return None


def _session_in(value: Any) -> str | None:
    """The envelope's ``session`` (any key case), when the body is an envelope."""
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and k.strip().lower() == "session" and isinstance(v, str):
                return v.strip() or None
    return None


class DvcqgEndpoint:
    """The routes; ``check`` / ``deliver`` / ``read_upto`` are the gateway's own."""

    def __init__(
        self,
        settings: LiveSettings,
        api_keys: ApiKeys,
        link: KafkaLink,
        *,
        check: Callable,
        deliver: Callable[..., Awaitable[str | None]],
        read_upto: Callable[..., Awaitable[bytes]],
        limiter: RateLimiter | None = None,
        anonymous: bool = False,
        clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self.api_keys = api_keys
        self.link = link
        self.check = check
        self.deliver = deliver
        self.read_upto = read_upto
        self.limiter = limiter or RateLimiter(0, 1)
        self.anonymous = anonymous
        self.tokens = SessionTokens(
            settings.api_key_bindings(),
            settings.dvcqg_session_ttl_s,
            clock,
            open_secret=os.urandom(32) if anonymous else None,
            server_secret=settings.dvcqg_session_secret,
        )
        self.limit = settings.max_body_bytes
        self.retry_after = str(max(1, math.ceil(settings.gateway_health_interval_s)))

    def register(self, app: web.Application) -> None:
        app.router.add_post("/v1/dvcqg/token", self.token)
        app.router.add_post("/v1/dvcqg", self.sync)
        app.router.add_post("/v1/dvcqg/{service}", self.sync)
        app.router.add_post("/api/SynsTTHCC/{service}", self.sync)

    # -- token ---------------------------------------------------------------------------
    async def token(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await self.read_upto(request, TOKEN_BODY_LIMIT + 1)
        except _BodyTimeout as err:
            return await _body_timed_out(request, "dvcqg-token", err)
        creds = self._credentials(body, request.content_type.lower())
        username, password = creds.get("username"), creds.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or len(body) > TOKEN_BODY_LIMIT:
            return _answer(200, {"error_code": BAD_SESSION, "message": MSG_BAD_LOGIN})
        username, password = username.strip(), password.strip()
        if self.anonymous:
            if not username:
                return _answer(200, {"error_code": BAD_SESSION, "message": MSG_BAD_LOGIN})
            token = self.tokens.issue(username, None)
            return _answer(200, {"error_code": OK, "message": "Lấy token thành công", "session": token})
        sources = self.api_keys.sources_for(password)
        if sources is None or username not in sources:
            log.info("dvcqg token refused")  # never the name or password given
            return _answer(200, {"error_code": BAD_SESSION, "message": MSG_BAD_LOGIN})
        log.info("dvcqg token issued", extra={"source_system": username})
        return _answer(
            200,
            {
                "error_code": OK,
                "message": "Lấy token thành công",
                "session": self.tokens.issue(username, password),
            },
        )

    @staticmethod
    def _credentials(body: bytes, ctype: str) -> dict:
        """username/password from a JSON object or a form; {} when neither."""
        text = body[3:] if body[:3] == b"\xef\xbb\xbf" else body
        if ctype != "application/x-www-form-urlencoded":
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                value = None
            if isinstance(value, dict):
                return _folded(value)
        try:
            form = urllib.parse.parse_qs(text.decode("utf-8"), keep_blank_values=True)
        except (UnicodeError, ValueError):
            return {}
        return _folded({k: v[0] for k, v in form.items() if v})

    # -- who is calling ----------------------------------------------------------------
    def _outside_credential(self, request: web.Request, query: dict[str, str]) -> str | None:
        for value in (query.get("session"), request.headers.get("session"), presented_key(request)):
            if value and value.strip():
                return value.strip()
        return None

    def _source_of(self, credential: str | None) -> str | None:
        """The source a token or an API key stands for (an API key: its only source)."""
        if credential is None:
            return ANONYMOUS_SOURCE if self.anonymous else None
        source = self.tokens.source_of(credential)
        if source is not None:
            return source
        if self.anonymous:
            return ANONYMOUS_SOURCE
        sources = self.api_keys.sources_for(credential)
        if sources is not None and len(sources) == 1:
            return next(iter(sources))
        return None  # unknown, or a key of several sources: it must log in by name

    def _refused(self) -> web.Response:
        return _answer(401, {"error_code": BAD_SESSION, "message": MSG_BAD_SESSION})

    def _refused_or_limited(self, source: str | None, request_id: str) -> web.Response | None:
        """401 without a source; 429 (Retry-After) when the source is over its rate; 503
        when Kafka is known down; else None: go on."""
        if source is None:
            return self._refused()
        retry_after = self.limiter.retry_after(("source", source))
        if retry_after is not None:
            return _answer(
                429,
                {
                    "error_code": RATE_LIMITED,
                    "message": MSG_RATE_LIMITED.format(s=retry_after),
                    "request_id": request_id,
                },
                headers={"Retry-After": str(retry_after)},
            )
        if not self.link.healthy:
            return self._unavailable(request_id)
        return None

    def _unavailable(self, request_id: str) -> web.Response:
        return _answer(
            503,
            {"error_code": UNAVAILABLE, "message": MSG_UNAVAILABLE, "request_id": request_id},
            headers={"Retry-After": self.retry_after},
        )

    # -- sync --------------------------------------------------------------------------
    async def sync(self, request: web.Request) -> web.StreamResponse:
        # in letters: a hex id with a run of digits would be masked in dead-letter sources
        request_id = hex_as_letters(uuid.uuid4().hex)
        try:
            return await self._sync(request, request_id)
        except _BodyTimeout as err:
            return await _body_timed_out(request, request_id, err)
        except Exception as err:  # a bug: say so without the input (the message may hold it)
            log.error("dvcqg request failed", extra={"request_id": request_id, "error": type(err).__name__})
            return _answer(
                500,
                {
                    "error_code": INTERNAL,
                    "message": "Lỗi hệ thống, vui lòng thử lại sau",
                    "request_id": request_id,
                },
            )

    async def _sync(self, request: web.Request, request_id: str) -> web.StreamResponse:
        query = _folded(request.query)
        credential = self._outside_credential(request, query)
        source = None
        if credential is not None:  # checked before the body is read
            source = self._source_of(credential)
            stop = self._refused_or_limited(source, request_id)
            if stop is not None:
                return stop
        declared = request.content_length
        if declared is not None and declared > self.limit:
            body = await self.read_upto(request, MAX_EVENT_BYTES)
            return await close_after(request, await self._too_large(request_id, source, body))
        body = await self.read_upto(request, self.limit + 1)
        if len(body) > self.limit:
            return await close_after(request, await self._too_large(request_id, source, body))
        if body[:3] == b"\xef\xbb\xbf":
            body = body[3:]
        try:
            value: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            value = None
        if source is None:  # O: the session is in the envelope
            source = self._source_of(_session_in(value))
            stop = self._refused_or_limited(source, request_id)
            if stop is not None:
                return stop
        assert source is not None  # _refused_or_limited answered 401 otherwise
        segment = request.match_info.get("service", "")
        parsed = parse_request(
            body if value is None else value,
            "dvcqg",
            madonvi=query.get("madinhdanhdv") or query.get("madonvi"),
            updating=_query_bool(query.get("isupdating")),
            service=_SERVICES.get(segment.strip().lower()),
        )
        ref = f"gateway:{source}:{request_id}"
        if isinstance(parsed, Problem):
            return await self._malformed(request_id, ref, parsed)
        return await self._publish(request_id, ref, source, parsed)

    async def _too_large(self, request_id: str, source: str | None, body: bytes) -> web.Response:
        reason = f"nội dung dài hơn giới hạn {self.limit} byte; hãy gửi ít hồ sơ hơn mỗi lần"
        if source is not None:
            await self.deliver(
                request_id,
                [],
                [
                    dead_letter_record(
                        source=f"gateway:{source}:{request_id}",
                        stage="gateway",
                        code="BODY_TOO_LARGE",
                        reason=reason,
                        payload=body[:MAX_EVENT_BYTES],
                    )
                ],
            )
        return _answer(
            413,
            {
                "error_code": BAD_FORMAT,
                "message": f"Dữ liệu không đúng định dạng: {reason}",
                "request_id": request_id,
            },
        )

    async def _malformed(self, request_id: str, ref: str, problem: Problem) -> web.Response:
        """The whole body is no request: a dead letter, error_code 3."""
        dead = dead_letter_record(
            source=f"{ref}:{problem.where}",
            stage="gateway",
            code=problem.code,
            reason=problem.reason,
            payload=problem.raw or b"{}",
        )
        if await self.deliver(request_id, [], [dead]) is not None:
            return self._unavailable(request_id)
        return _answer(
            400,
            {
                "error_code": BAD_FORMAT,
                "message": f"Dữ liệu không đúng định dạng: {problem.reason}",
                "code": problem.code,
                "request_id": request_id,
            },
        )

    async def _publish(self, request_id: str, ref: str, source: str, parsed: Request) -> web.Response:
        converter = Converter(ConvertOptions(source_system=source))
        records: list[tuple[str, dict]] = []  # (dead-letter source, event) for ``check``
        items: list[int] = []  # the item number of each of ``records``
        kinds: list[str] = []  # "snapshot" / "row" of each of ``records``
        dead: list[dict] = []
        rejected: list[dict] = []
        snapshots = rows = 0
        for n, record in enumerate(parsed.records, 1):
            event: dict | Problem | None
            if isinstance(record, Snapshot):
                event = converter.snapshot_event(record)
                kind = "snapshot"
            elif isinstance(record, ProgressRow):
                event = converter.row_event(record)
                kind = "row"
                if event is None:  # a row its sender made up: accepted, nothing to publish
                    rows += 1
                    continue
            else:
                event, kind = record, ""
            if isinstance(event, Problem):
                dead.append(
                    dead_letter_record(
                        source=f"{ref}:{event.where}",
                        stage="gateway",
                        code=event.code,
                        reason=event.reason,
                        payload=event.raw or b"{}",
                    )
                )
                rejected.append({"item": n, "code": event.code, "reason": event.reason})
                continue
            records.append((f"{ref}:{record.where}", event))
            items.append(n)
            kinds.append(kind)
        good, invalid, refused, _foreign = self.check(records, frozenset((source,)))
        dead.extend(invalid)
        refused_at = {r["index"] for r in refused}
        for r in refused:
            rejected.append({"item": items[r["index"]], "code": r["code"], "reason": r["reason"]})
        for i, kind in enumerate(kinds):
            if i not in refused_at:
                snapshots += kind == "snapshot"
                rows += kind == "row"
        if await self.deliver(request_id, good, dead) is not None:
            return self._unavailable(request_id)
        rejected.sort(key=lambda r: r["item"])
        log.info(
            "dvcqg sync",
            extra={
                "request_id": request_id,
                "source_system": source,
                "dvcqg_service": parsed.service,  # "service" is the process's (logs.JsonFormatter)
                "snapshots": snapshots,
                "rows": rows,
                "rejected": len(rejected),
            },
        )
        if not rejected:
            return _answer(
                200,
                {
                    "error_code": OK,
                    "message": f"Đồng bộ thành công {snapshots} hồ sơ, {rows} dòng tiến độ",
                    "request_id": request_id,
                },
            )
        by_code = Counter(r["code"] for r in rejected)
        codes = ", ".join(f"{code}: {k}" for code, k in sorted(by_code.items()))
        message = (
            f"Đã ghi nhận {snapshots} hồ sơ, {rows} dòng tiến độ; {len(rejected)} mục bị từ chối "
            f"({codes}) và đã chuyển vào danh sách lỗi (dead letters). Các mục hợp lệ vẫn được "
            f"ghi nhận; hãy sửa các mục bị từ chối rồi gửi lại"
        )
        return _answer(
            200, {"error_code": PARTIAL, "message": message, "rejected": rejected, "request_id": request_id}
        )


__all__ = ["TOKEN_VERSION", "DvcqgEndpoint", "SessionTokens"]
