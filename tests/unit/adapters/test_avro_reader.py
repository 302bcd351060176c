"""The compiled Avro reader (motcua.adapters.avro_reader) against fastavro: the same record
for every valid encoding of the event schema, and never more lenient than fastavro on
damaged bytes (whatever it accepts, fastavro decodes to the same record)."""

from __future__ import annotations

import io

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motcua.adapters import codec
from motcua.adapters.avro_reader import compile_reader
from motcua.adapters.codec import DecodeError

REGISTRY = codec.default_registry()
SCHEMA = REGISTRY._reader.plain  # the v1 event schema, parsed, logical types stripped
READ = compile_reader(SCHEMA)
HEADER = 10

LONGS = st.integers(-(1 << 63), (1 << 63) - 1)
TEXT = st.text(max_size=40)


def _named(schema, out):
    if isinstance(schema, list):
        for s in schema:
            _named(s, out)
    elif isinstance(schema, dict):
        if "name" in schema and schema.get("type") in ("record", "enum"):
            out[schema["name"]] = schema
        for f in schema.get("fields", ()):
            _named(f["type"], out)
    return out


NAMED = _named(SCHEMA, {})


def values_of(schema):
    """A hypothesis strategy of Python values valid for ``schema`` (None for null)."""
    if isinstance(schema, str) and schema in NAMED:
        schema = NAMED[schema]
    if isinstance(schema, list):
        return st.one_of(*[values_of(s) for s in schema])
    kind = schema if isinstance(schema, str) else schema["type"]
    if kind == "null":
        return st.none()
    if kind == "string":
        return TEXT
    if kind == "long":
        return LONGS
    if kind == "int":
        return st.integers(-(1 << 31), (1 << 31) - 1)
    if kind == "boolean":
        return st.booleans()
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "record":
        return st.fixed_dictionaries({f["name"]: values_of(f["type"]) for f in schema["fields"]})
    raise AssertionError(kind)


RECORDS = values_of(SCHEMA)


def encode(record: dict) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, SCHEMA, record)
    return buf.getvalue()


def fastavro_read(body: bytes):
    """fastavro's record (None fields dropped) or None when it cannot read ``body`` to
    its exact end."""
    buf = io.BytesIO(body)
    try:
        record = fastavro.schemaless_reader(buf, SCHEMA, None)
    except Exception:
        return None
    if buf.tell() != len(body):
        return None
    return {k: v for k, v in record.items() if v is not None}


def fast_read(body: bytes):
    try:
        return READ(b"\xc3\x01" + bytes(8) + body, HEADER)
    except (ValueError, IndexError):
        return None


def test_the_event_schema_compiles():
    assert READ is not None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECORDS)
def test_valid_encodings_read_like_fastavro(record):
    body = encode(record)
    assert fast_read(body) == fastavro_read(body) == {k: v for k, v in record.items() if v is not None}


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["set", "insert", "delete", "truncate"]), st.integers(0, 10_000), st.integers(0, 255)
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECORDS, MUTATIONS)
def test_damaged_bytes_never_accepted_unless_fastavro_agrees(record, mutations):
    body = bytearray(encode(record))
    for op, at, byte in mutations:
        if not body:
            break
        i = at % len(body)
        if op == "set":
            body[i] = byte
        elif op == "insert":
            body.insert(i, byte)
        elif op == "delete":
            del body[i]
        else:
            del body[i:]
    body = bytes(body)
    ours = fast_read(body)
    if ours is not None:
        assert ours == fastavro_read(body)


@pytest.mark.parametrize(
    "name, patch",
    [
        ("negative enum index", lambda b, at: b[:at] + b"\x01" + b[at + 1 :]),  # zig-zag -1
        ("boolean byte 2", None),
        ("union index -1", None),
    ],
)
def test_what_fastavro_lets_through_is_rejected(name, patch):
    """fastavro wraps negative enum/union indexes around and reads any non-zero byte as
    true; the compiled reader refuses them (they are not valid Avro)."""
    base = {f["name"]: None for f in SCHEMA["fields"]}
    base.update(
        event_id="e",
        event_type="RECEIVED",
        occurred_at=1,
        source_system="s",
        dossier_id="d",
        province_code="75",
        unit_code="u",
        unit_level="PROVINCE",
        procedure_code="p",
        field_code="f",
    )
    if name == "negative enum index":
        body = encode(base)
        at = 1 + len("e")  # after the event_id string
        bad = patch(body, at)
    elif name == "boolean byte 2":
        body = encode(dict(base, has_fee=True))
        bad = body.replace(b"\x02\x01", b"\x02\x02", 1)
    else:
        body = encode(dict(base, sequence=5))
        # dossier_id "d", then sequence: union index 1 (zig-zag 0x02), long 5 (0x0a);
        # index -1 (0x01) wraps around to the same branch in fastavro
        bad = body.replace(b"\x02d\x02\x0a", b"\x02d\x01\x0a", 1)
    assert bad != body
    assert fastavro_read(bad) is not None  # fastavro accepts it...
    assert fast_read(bad) is None  # ...the compiled reader does not


def test_decode_avro_errors_are_bad_avro():
    data = codec.encode_avro(
        {
            "event_id": "e",
            "event_type": "RECEIVED",
            "occurred_at": 1,
            "source_system": "s",
            "dossier_id": "d",
            "province_code": "75",
            "unit_code": "u",
            "unit_level": "PROVINCE",
            "procedure_code": "p",
            "field_code": "f",
            "reason": "Hồ sơ",
        }
    )
    bad_utf8 = data.replace("ồ".encode(), b"\xff\xfe")
    for bad in (data[:-1], data + b"\x00", bad_utf8, memoryview(data)[:-2]):
        with pytest.raises(DecodeError) as info:
            codec.decode_avro(bad)
        assert info.value.code == "BAD_AVRO"
    assert codec.decode_avro(memoryview(data)) == codec.decode_avro(data)


def test_unsupported_schemas_fall_back():
    assert (
        compile_reader(
            {
                "type": "record",
                "name": "A",
                "fields": [{"name": "x", "type": {"type": "array", "items": "long"}}],
            }
        )
        is None
    )
    assert (
        compile_reader({"type": "record", "name": "B", "fields": [{"name": "x", "type": ["string", "null"]}]})
        is None
    )
    assert (
        compile_reader({"type": "record", "name": "C", "fields": [{"name": "x", "type": "double"}]}) is None
    )
    assert compile_reader("string") is None
