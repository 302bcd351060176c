"""Schemathesis hooks of the gateway fuzz run (loaded through ``SCHEMATHESIS_HOOKS``): how
to put the generated values of the gateway's non-JSON media types on the wire. NDJSON: the
generated text as UTF-8 (a list or object: one JSON value a line); the Avro types: bytes,
as schemathesis sends ``application/octet-stream``."""

from __future__ import annotations

import json

import schemathesis

from motcua.live.gateway import AVRO_TYPES, NDJSON_TYPES


@schemathesis.serializer(*NDJSON_TYPES)
def ndjson(_ctx, value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    items = value if isinstance(value, list) else [value]
    # json, not orjson: negative cases hold integers past 64 bits
    return "\n".join(json.dumps(x, ensure_ascii=False) for x in items).encode("utf-8", "surrogatepass")


schemathesis.serializer.alias(
    [t for t in AVRO_TYPES if t != "application/octet-stream"], "application/octet-stream"
)
