"""The gateway's OpenAPI 3.1 description, served at ``GET /openapi.json``.

aiohttp has no schema generator, so the description is built here, from the code where the
code holds the facts: the accepted media types are the gateway's own lists, the event schema
is converted from the Avro contract (``dossier_event_v2.avsc``), the DVCQG error codes and
the limits come from their modules and the settings. The rest (paths, answers) is written
out below; ``tests/unit/live/test_openapi.py`` holds it equal to the routes the app has and
checks real answers of every handler against it, and the schemathesis run
(``tests/integration/kafka/test_gateway_fuzz.py``) fuzzes the running gateway with it.
"""

from __future__ import annotations

from typing import Any

from ..adapters.codec import EVENT_SCHEMA, raw_schema
from . import dvcqg_endpoint as dv
from .config import LiveSettings
from .gateway import AVRO_TYPES, JSON_TYPES, NDJSON_TYPES

Schema = dict[str, Any]
REF = "#/components/schemas/"


def _ref(name: str) -> Schema:
    return {"$ref": REF + name}


# -- the event, from the Avro contract --------------------------------------------------
def _instant(doc: str | None) -> Schema:
    out: Schema = {
        "anyOf": [
            {"type": "integer", "description": "milliseconds since the Unix epoch, UTC"},
            {"type": "string", "description": "ISO-8601 with an offset, e.g. 2025-03-03T08:00:00+07:00"},
        ]
    }
    if doc:
        out["description"] = doc
    return out


def _avro_type(t: Any, named: dict[str, Schema], doc: str | None = None) -> Schema:
    """One Avro type as JSON Schema (the JSON form of the event: instants also as ISO text)."""
    if isinstance(t, list):
        out: Schema = {"anyOf": [_avro_type(x, named) for x in t]}
    elif isinstance(t, str):
        out = dict(named[t]) if t in named else _AVRO_PRIMITIVES[t]
    elif t.get("logicalType") == "timestamp-millis":
        return _instant(doc)
    elif t["type"] == "enum":
        out = {"type": "string", "enum": list(t["symbols"])}
        named[t["name"]] = out
    elif t["type"] == "record":
        out = {
            "type": "object",
            "properties": {f["name"]: _avro_type(f["type"], named, f.get("doc")) for f in t["fields"]},
            "required": [f["name"] for f in t["fields"] if "default" not in f],
        }
        named[t["name"]] = out
    elif t["type"] == "array":
        out = {"type": "array", "items": _avro_type(t["items"], named)}
    else:
        out = dict(_AVRO_PRIMITIVES[t["type"]])
    if doc:
        out = {**out, "description": doc}
    return out


_AVRO_PRIMITIVES: dict[str, Schema] = {
    "null": {"type": "null"},
    "string": {"type": "string"},
    "int": {"type": "integer"},
    "long": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "double": {"type": "number"},
    "float": {"type": "number"},
}


def event_schema() -> Schema:
    """The dossier event (contract v2) as JSON Schema."""
    avro = raw_schema(EVENT_SCHEMA)
    out = _avro_type(avro, {})
    out["description"] = (
        f"{avro.get('doc', '')} The contract and its rules: docs/event-contract.md; a record the "
        "contract refuses is answered in `rejected` and kept as a dead letter."
    ).strip()
    return out


# -- answers ------------------------------------------------------------------------------
def _object(required: list[str], **props: Schema) -> Schema:
    return {"type": "object", "required": required, "properties": props}


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer", "minimum": 0}


def _schemas() -> dict[str, Schema]:
    rejection = _object(["index", "code", "reason"], index=INT, code=STR, reason=STR)
    item_rejection = _object(["item", "code", "reason"], item=INT, code=STR, reason=STR)
    return {
        "DossierEvent": event_schema(),
        "Accepted": _object(["accepted", "request_id"], accepted=INT, request_id=STR),
        "Rejection": rejection,
        "Rejected": _object(
            ["accepted", "rejected", "request_id"],
            accepted=INT,
            rejected={"type": "array", "items": _ref("Rejection")},
            request_id=STR,
        ),
        "Error": _object(
            ["error", "reason"],
            error={"type": "string", "description": "stable code, e.g. BAD_JSON, BODY_TOO_LARGE"},
            reason={"type": "string", "description": "for humans"},
            request_id=STR,
            retryable={"type": "boolean"},
            accepted=INT,
            rejected={"type": "array", "items": _ref("Rejection")},
        ),
        "Unavailable": _object(
            ["error", "reason", "retryable", "request_id"],
            error={"const": "KAFKA_UNAVAILABLE"},
            reason=STR,
            retryable={"const": True},
            request_id=STR,
        ),
        "RateLimited": _object(
            ["error", "reason", "retryable", "request_id"],
            error={"const": "RATE_LIMITED"},
            reason=STR,
            retryable={"const": True},
            request_id=STR,
        ),
        "Health": _object(
            ["status", "kafka"],
            status={"enum": ["ok", "unavailable"]},
            kafka={"enum": ["ok", "unreachable"]},
            reason=STR,
            since={"type": "string", "format": "date-time"},
        ),
        "Live": _object(["status"], status={"const": "ok"}),
        "DvcqgAnswer": _object(
            ["error_code", "message"],
            error_code={
                "type": "integer",
                "enum": [dv.OK, dv.BAD_SESSION, dv.PARTIAL, dv.BAD_FORMAT, dv.RATE_LIMITED, dv.UNAVAILABLE],
                "description": (
                    f"{dv.OK} every item accepted; {dv.BAD_SESSION} bad or expired session (or login); "
                    f"{dv.PARTIAL} some items refused (listed); {dv.BAD_FORMAT} no sync request; "
                    f"{dv.RATE_LIMITED} too many requests, send again after Retry-After; "
                    f"{dv.UNAVAILABLE} Kafka unavailable, send again"
                ),
            },
            message={"type": "string", "description": "Vietnamese, for the operator of the sender"},
            session={"type": "string", "description": "the token (login answers with error_code 0)"},
            code=STR,
            rejected={"type": "array", "items": item_rejection},
            request_id=STR,
        ),
        "DvcqgLogin": _object(
            ["username", "password"],
            username={"type": "string", "description": "the source system"},
            password={"type": "string", "description": "its API key"},
        ),
        "DvcqgSync": {
            "description": (
                "OpenCPS's envelope {session, madonvi, service, isUpdating, data: [...]} or a bare "
                "array of DongBoHoSoMC / CapNhatTienDoHoSoMC items (docs/importing.md)"
            ),
            "anyOf": [{"type": "object"}, {"type": "array"}],
        },
    }


# -- paths --------------------------------------------------------------------------------
def _json(schema: Schema) -> dict[str, Schema]:
    return {"application/json": {"schema": schema}}


def _answer(description: str, schema: str, retry_after: bool = False) -> Schema:
    out: Schema = {"description": description, "content": _json(_ref(schema))}
    if retry_after:
        out["headers"] = {
            "Retry-After": {
                "required": True,
                "description": "seconds to wait before sending the same request again",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        }
    return out


KEY_SECURITY: list[dict[str, list[str]]] = [{"apiKey": []}, {"bearer": []}]


def _events_operation(settings: LiveSettings) -> Schema:
    limit = settings.max_body_bytes
    content: dict[str, Schema] = {}
    for t in JSON_TYPES:
        content[t] = {
            "schema": {"anyOf": [_ref("DossierEvent"), {"type": "array", "items": _ref("DossierEvent")}]}
        }
    for t in NDJSON_TYPES:
        content[t] = {"schema": {"type": "string", "description": "one JSON event a line"}}
    for t in AVRO_TYPES:
        content[t] = {
            "schema": {"type": "string", "format": "binary", "description": "one Avro single-object event"}
        }
    return {
        "operationId": "postEvents",
        "summary": "Send dossier events",
        "description": (
            f"Every record is validated and published to Kafka (acks=all); the answer waits for "
            f"Kafka's acknowledgement (at most {settings.gateway_publish_timeout_s:g} s). Body limit "
            f"{limit} bytes (enforced while reading); a body must arrive within "
            f"{settings.gateway_body_timeout_s:g} s and, after {settings.gateway_body_grace_s:g} s, at "
            f"{settings.gateway_body_min_rate_bytes_s:g} bytes/s or more on average. Without a Content-Type the body is read as Avro. "
            "Every refused record is also a dead letter."
        ),
        "security": KEY_SECURITY,
        "requestBody": {"required": True, "content": content},
        "responses": {
            "202": _answer("every event accepted and acknowledged by Kafka", "Accepted"),
            "400": _answer("a JSON array that is not JSON (BAD_JSON)", "Error"),
            "401": _answer("missing or unknown API key (UNAUTHORIZED)", "Error"),
            "403": _answer("a record names a source_system the key may not post; nothing published", "Error"),
            "408": _answer("body not received in time (BODY_TIMEOUT); the connection is closed", "Error"),
            "413": _answer("body over the limit (BODY_TOO_LARGE); the connection is closed", "Error"),
            "415": _answer("unknown Content-Type (UNSUPPORTED_MEDIA_TYPE)", "Error"),
            "422": _answer("some records refused (listed); the others are published", "Rejected"),
            "429": _answer(_rate_text(settings), "RateLimited", True),
            "503": _answer(
                "Kafka unavailable: nothing acknowledged, send again (retryable)", "Unavailable", True
            ),
        },
    }


def _dvcqg_parameters(with_service: bool) -> list[Schema]:
    out: list[Schema] = [
        {"name": n, "in": "query", "required": False, "schema": STR, "description": d}
        for n, d in (
            ("session", "a session token or the API key (prefer a header behind a logging proxy)"),
            ("isUpdating", "true/false/1/0: the items update dossiers already sent"),
            ("madonvi", "the unit code of a bare array"),
            ("MaDinhDanhDV", "the unit code of a bare array (Hà Giang)"),
        )
    ]
    out.append({"name": "session", "in": "header", "required": False, "schema": STR})
    if with_service:
        out.append(
            {
                "name": "service",
                "in": "path",
                "required": True,
                "description": "DongBoHoSoMC or CapNhatTienDoHoSoMC; another name leaves it to the body",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,64}$"},
            }
        )
    return out


def _rate_text(settings: LiveSettings) -> str:
    return (
        f"over the key's rate ({settings.gateway_rate_limit_per_s:g} requests a second, bursts of "
        f"{settings.gateway_rate_limit_burst}; per source for DVCQG): RATE_LIMITED, nothing read or "
        "published; send again after Retry-After"
    )


def _dvcqg_operation(settings: LiveSettings, operation_id: str, with_service: bool) -> Schema:
    return {
        "operationId": operation_id,
        "summary": "DVCQG sync (DongBoHoSoMC / CapNhatTienDoHoSoMC), drop-in for the national portal",
        "description": (
            "The credential (a session token or the API key) is taken from ?session=, a session "
            "header, Authorization: Bearer or X-API-Key, else from the envelope's session. "
            "Answers carry error_code; HTTP statuses mirror it."
        ),
        "security": [*KEY_SECURITY, {}],
        "parameters": _dvcqg_parameters(with_service),
        "requestBody": {"required": True, "content": _json(_ref("DvcqgSync"))},
        "responses": {
            "200": _answer(
                f"error_code {dv.OK} (every item accepted) or {dv.PARTIAL} (some refused)", "DvcqgAnswer"
            ),
            "400": _answer(f"error_code {dv.BAD_FORMAT}: no sync request; nothing published", "DvcqgAnswer"),
            "401": _answer(f"error_code {dv.BAD_SESSION}: bad or expired session", "DvcqgAnswer"),
            "408": _answer("body not received in time (BODY_TIMEOUT); the connection is closed", "Error"),
            "413": _answer(f"error_code {dv.BAD_FORMAT}: body over the limit", "DvcqgAnswer"),
            "429": _answer(f"error_code {dv.RATE_LIMITED}: {_rate_text(settings)}", "DvcqgAnswer", True),
            "503": _answer(
                f"error_code {dv.UNAVAILABLE}: Kafka unavailable, send again", "DvcqgAnswer", True
            ),
        },
    }


def _token_operation() -> Schema:
    return {
        "operationId": "dvcqgToken",
        "summary": "DVCQG login: a session token for a source system and its API key",
        "description": (
            f"Wrong credentials answer HTTP 200 with error_code {dv.BAD_SESSION} (DVCQG clients read "
            f"the code). Body limit {dv.TOKEN_BODY_LIMIT} bytes."
        ),
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _ref("DvcqgLogin")},
                "application/x-www-form-urlencoded": {"schema": _ref("DvcqgLogin")},
            },
        },
        "responses": {
            "200": _answer(f"error_code {dv.OK} with session, or {dv.BAD_SESSION}", "DvcqgAnswer"),
            "408": _answer("body not received in time (BODY_TIMEOUT); the connection is closed", "Error"),
        },
    }


def _health_operation(operation_id: str) -> Schema:
    return {
        "operationId": operation_id,
        "summary": "Ready: Kafka's state from the gateway's probe (cached; never waits on Kafka)",
        "responses": {
            "200": _answer("Kafka reachable, every partition has a leader", "Health"),
            "503": _answer("Kafka unreachable, or no probe answer lately", "Health"),
        },
    }


def _get(operation_id: str, summary: str, description: str, content: dict[str, Schema]) -> Schema:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "responses": {"200": {"description": description, "content": content}},
        }
    }


def _paths(settings: LiveSettings) -> dict[str, Schema]:
    return {
        "/v1/events": {"post": _events_operation(settings)},
        "/v1/dvcqg/token": {"post": _token_operation()},
        "/v1/dvcqg": {"post": _dvcqg_operation(settings, "dvcqgSync", False)},
        "/v1/dvcqg/{service}": {"post": _dvcqg_operation(settings, "dvcqgSyncService", True)},
        "/api/SynsTTHCC/{service}": {"post": _dvcqg_operation(settings, "dvcqgSyncHaGiang", True)},
        "/health": {"get": _health_operation("health")},
        "/health/ready": {"get": _health_operation("healthReady")},
        "/health/live": _get("healthLive", "Live: the process serves", "serving", _json(_ref("Live"))),
        "/metrics": _get(
            "metrics", "Prometheus metrics", "the text exposition format", {"text/plain": {"schema": STR}}
        ),
        "/openapi.json": _get(
            "openapi", "This description", "OpenAPI 3.1", _json({"type": "object", "required": ["openapi"]})
        ),
    }


def describe(settings: LiveSettings) -> Schema:
    """The OpenAPI 3.1 document of the gateway built with ``settings``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "motcua gateway",
            "version": "1",
            "description": (
                "HTTP ingest of one-stop-shop dossier events into Kafka, and the drop-in DVCQG "
                "sync endpoint. docs/live-pipeline.md and docs/gateway.md describe it."
            ),
        },
        "paths": _paths(settings),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer", "description": "the API key"},
            },
        },
    }


__all__ = ["describe", "event_schema"]
