"""Unit tests of motcua.adapters.codec: JSON Lines and Avro (single-object and container)
round trips, fingerprints, errors, schema evolution, dead letters."""

from __future__ import annotations

import copy
import io
import json

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motcua.adapters import codec
from motcua.adapters.codec import DecodeError, SchemaRegistry
from motcua.domain import events as ev

T0 = 1_735_700_400_000  # 2025-01-01T03:00:00Z


def envelope(event_type: str, n: int = 1, **extras) -> dict:
    e = {
        "event_id": f"evt-{event_type.lower()}-{n}",
        "event_type": event_type,
        "occurred_at": T0 + n * 60_000,
        "source_system": "motcua-dongnai",
        "dossier_id": f"H44.07-250101-{n:04d}",
        "province_code": "H44",
        "unit_code": "H44.07",
        "unit_level": "DISTRICT",
        "procedure_code": "1.004227",
        "field_code": "LV-HT",
    }
    e.update(extras)
    return e


ONE_OF_EACH = [
    envelope("SUBMITTED", 1, channel="ONLINE", online_service="FULL", sequence=1),
    envelope(
        "RECEIVED",
        2,
        channel="DIRECT",
        online_service="NONE",
        due_at=T0 + 5 * 86_400_000,
        time_limit={"value": 5, "unit": "WORKING_DAYS"},
        has_fee=True,
        requires_paper_result=False,
        sequence=2,
    ),
    envelope("REJECTED", 3, reason="Hồ sơ thiếu giấy tờ theo quy định"),
    envelope("PROCESSING", 4, transferred_to_unit="H44.100"),
    envelope("SUPPLEMENT_REQUESTED", 5),
    envelope("SUPPLEMENT_RECEIVED", 6),
    envelope("PAYMENT_REQUESTED", 7, amount_vnd=150_000),
    envelope("PAYMENT_COMPLETED", 8, amount_vnd=150_000, method="ONLINE_DVCQG"),
    envelope("WITHDRAWN", 9),
    envelope("STOPPED", 10, reason="Công dân không bổ sung"),
    envelope("DEADLINE_EXTENDED", 11, new_due_at=T0 + 9 * 86_400_000, apology_issued=True),
    envelope("RESOLVED", 12, electronic_result=True),
    envelope("RESULT_RETURNED", 13, return_channel="POSTAL"),
    envelope(
        "DIGITISED",
        14,
        components_total=4,
        components_digitised=3,
        components_reused=1,
        from_personal_store=False,
        population_data_used=True,
    ),
    envelope("RATED", 15, rating="VERY_SATISFIED", unit_level="COMMUNE"),
]


def test_fixtures_cover_every_type_and_are_valid():
    assert sorted(e["event_type"] for e in ONE_OF_EACH) == sorted(ev.EVENT_TYPES)
    for e in ONE_OF_EACH:
        assert ev.validate(copy.deepcopy(e)) == e


# --------------------------------------------------------------------------- schemas


def test_schema_matches_contract():
    schema = json.loads((codec.schema_dir() / "dossier_event_v1.avsc").read_text())
    assert schema["name"] == "DossierEvent" and schema["namespace"] == "vn.motcua"
    fields = {f["name"]: f for f in schema["fields"]}
    assert set(fields) == set(ev.ALL_FIELDS)
    assert fields["event_type"]["type"]["symbols"] == list(ev.EVENT_TYPES)
    assert fields["unit_level"]["type"]["symbols"] == list(ev.UNIT_LEVELS)
    assert fields["occurred_at"]["type"] == {"type": "long", "logicalType": "timestamp-millis"}
    for name in ev.ENVELOPE_REQUIRED:
        assert "default" not in fields[name]
    for name in ev.ENVELOPE_OPTIONAL + ev.ALL_EXTRA_FIELDS:
        assert fields[name]["default"] is None and fields[name]["type"][0] == "null", name
    assert all(f.get("doc") for f in schema["fields"])
    codec.load_schema("dead_letter_v1")  # parses


def test_load_schema_cached_and_env_override(tmp_path, monkeypatch):
    assert codec.load_schema("dossier_event_v1") is codec.load_schema("dossier_event_v1.avsc")
    (tmp_path / "tiny.avsc").write_text(
        '{"type":"record","name":"Tiny","fields":[{"name":"a","type":"int"}]}'
    )
    monkeypatch.setenv("MOTCUA_SCHEMA_DIR", str(tmp_path))
    assert codec.load_schema("tiny")["name"] == "Tiny"


def test_fingerprint_matches_fastavro():
    fp_fn = getattr(fastavro.schema, "fingerprint", None)
    if fp_fn is None:
        pytest.skip("fastavro without schema.fingerprint")
    for name in ("dossier_event_v1", "dead_letter_v1"):
        canonical = fastavro.schema.to_parsing_canonical_form(codec.load_schema(name))
        expected_hex = fp_fn(canonical, "CRC-64-AVRO")  # hex of the little-endian bytes
        assert codec.fingerprint(name).to_bytes(8, "little").hex() == expected_hex
    data = codec.encode_avro(ONE_OF_EACH[0])
    assert data[:2] == b"\xc3\x01"
    expected = fp_fn(
        fastavro.schema.to_parsing_canonical_form(codec.load_schema("dossier_event_v1")),
        "CRC-64-AVRO",
    )
    assert data[2:10].hex() == expected


def test_crc64_reference_values():
    # Values from the Avro spec's reference implementation: fp("") == EMPTY.
    assert codec._crc64_avro(b"") == 0xC15D213AA4D7A795
    # Canonical form of the primitive "int".
    assert codec.fingerprint('"int"') == int.from_bytes(
        bytes.fromhex(fastavro.schema.fingerprint('"int"', "CRC-64-AVRO")), "little"
    )


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: e["event_type"])
def test_avro_round_trip(event):
    data = codec.encode_avro(event)
    out = codec.decode_avro(data)
    assert out == event
    assert type(out["occurred_at"]) is int
    assert codec.sniff_and_decode(data) == event
    assert ev.validate(out) == event


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: e["event_type"])
def test_json_round_trip(event):
    line = codec.encode_json(event)
    assert not line.endswith(b"\n")
    wire = codec.decode_json(line)
    assert isinstance(wire["occurred_at"], str) and wire["occurred_at"].endswith("Z")
    assert ev.validate(wire) == event
    assert ev.validate(codec.decode_json(line.decode())) == event
    assert ev.validate(codec.sniff_and_decode(line)) == event


def test_encode_json_drops_none():
    e = dict(ONE_OF_EACH[0], reason=None, sequence=None)
    assert b"null" not in codec.encode_json(e)


def test_decoded_avro_has_no_nulls_and_nested_time_limit():
    out = codec.decode_avro(codec.encode_avro(ONE_OF_EACH[1]))
    assert None not in out.values()
    assert out["time_limit"] == {"value": 5, "unit": "WORKING_DAYS"}


# --------------------------------------------------------------------------- files


def test_avro_container_file_round_trip(tmp_path):
    path = tmp_path / "events.avro"
    assert codec.write_avro_file(path, ONE_OF_EACH) == len(ONE_OF_EACH)
    with open(path, "rb") as fh:
        reader = fastavro.reader(fh)
        assert reader.codec == "deflate"
        assert reader.writer_schema["name"] == "vn.motcua.DossierEvent"
    rows = list(codec.iter_file(path))
    assert [ref for ref, _ in rows] == [f"{path}:{i}" for i in range(1, len(ONE_OF_EACH) + 1)]
    for (_, raw), event in zip(rows, ONE_OF_EACH):
        assert raw[:2] == codec.AVRO_MAGIC
        assert codec.sniff_and_decode(raw) == event


def test_jsonl_file_round_trip(tmp_path):
    path = tmp_path / "events.jsonl"
    assert codec.write_jsonl(path, ONE_OF_EACH) == len(ONE_OF_EACH)
    # Blank lines and CRLF endings are tolerated; line numbers count them.
    text = path.read_bytes().replace(b"\n", b"\r\n", 1)
    path.write_bytes(b"\n" + text + b"\n  \n")
    rows = list(codec.iter_file(path))
    assert len(rows) == len(ONE_OF_EACH)
    assert rows[0][0] == f"{path}:2" and rows[-1][0] == f"{path}:{len(ONE_OF_EACH) + 1}"
    assert [ev.validate(codec.sniff_and_decode(raw)) for _, raw in rows] == ONE_OF_EACH


def test_jsonl_gz_and_unknown_suffix(tmp_path):
    path = tmp_path / "events.jsonl.gz"
    codec.write_jsonl(path, ONE_OF_EACH[:3])
    assert [ev.validate(codec.decode_json(raw)) for _, raw in codec.iter_file(path)] == ONE_OF_EACH[:3]
    with pytest.raises(ValueError):
        list(codec.iter_file(tmp_path / "events.csv"))


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "data, code",
    [
        (b"not json at all", "BAD_JSON"),
        (b'{"event_id": "x",', "BAD_JSON"),
        (b"\xff\xfe\x00garbage", "BAD_JSON"),
        (b"[1, 2, 3]", "NOT_AN_OBJECT"),
        (b'"a string"', "NOT_AN_OBJECT"),
        (b"", "BAD_JSON"),
        (b"\xc3\x01" + b"\x00" * 8 + b"body", "UNKNOWN_SCHEMA"),
        (b"\xc3\x01\x01", "BAD_AVRO"),
    ],
)
def test_garbage_gives_decode_error(data, code):
    with pytest.raises(DecodeError) as info:
        codec.sniff_and_decode(data)
    assert info.value.code == code


def test_truncated_or_padded_avro_is_bad_avro():
    data = codec.encode_avro(ONE_OF_EACH[1])
    for bad in (data[:-3], data[:12], data + b"\x00\x00"):
        with pytest.raises(DecodeError) as info:
            codec.decode_avro(bad)
        assert info.value.code == "BAD_AVRO"


def test_bad_enum_index_is_bad_avro():
    data = bytearray(codec.encode_avro(ONE_OF_EACH[0]))
    # Body starts with event_id (length-prefixed string), then the event_type enum index.
    id_len = len(ONE_OF_EACH[0]["event_id"])
    data[10 + 1 + id_len] = 0x7E  # zig-zag 63: no such symbol
    with pytest.raises(DecodeError) as info:
        codec.decode_avro(bytes(data))
    assert info.value.code == "BAD_AVRO"


def test_oversize():
    big = dict(ONE_OF_EACH[2], reason="x" * (ev.MAX_EVENT_BYTES + 10))
    for data in (codec.encode_json(big), codec.encode_avro(big)):
        with pytest.raises(DecodeError) as info:
            codec.sniff_and_decode(data)
        assert info.value.code == "OVERSIZE"
    with pytest.raises(DecodeError) as info:
        codec.decode_json(codec.encode_json(big).decode())
    assert info.value.code == "OVERSIZE"
    # Just under the limit is fine.
    ok = dict(ONE_OF_EACH[2], reason="x" * 100)
    assert codec.sniff_and_decode(codec.encode_json(ok))["reason"] == "x" * 100


def test_encode_avro_refuses_missing_envelope():
    bad = dict(ONE_OF_EACH[0])
    del bad["dossier_id"]
    with pytest.raises(Exception):
        codec.encode_avro(bad)


# --------------------------------------------------------------------------- evolution


def _v1_raw() -> dict:
    return json.loads((codec.schema_dir() / "dossier_event_v1.avsc").read_text())


def test_schema_evolution_added_optional_field():
    writer = _v1_raw()
    writer["fields"].append(
        {"name": "kiosk_id", "type": ["null", "string"], "default": None, "doc": "v1.1 addition"}
    )
    registry = SchemaRegistry()
    fp = registry.register(writer)
    assert fp != registry.reader_fingerprint and fp in registry
    assert registry.register(json.dumps(writer)) == fp  # idempotent, any input form
    for event in ONE_OF_EACH:
        data = registry.encode(dict(event, kiosk_id="KIOSK-07"), fp)
        assert data[2:10] == fp.to_bytes(8, "little")
        out = codec.decode_avro(data, registry)
        assert "kiosk_id" not in out
        assert ev.validate(out) == event
    # The default registry does not know the new schema.
    with pytest.raises(DecodeError) as info:
        codec.decode_avro(registry.encode(dict(ONE_OF_EACH[0], kiosk_id="K"), fp))
    assert info.value.code == "UNKNOWN_SCHEMA"


def test_schema_evolution_writer_without_optional_field():
    writer = _v1_raw()
    writer["fields"] = [f for f in writer["fields"] if f["name"] != "rating"]
    registry = SchemaRegistry()
    fp = registry.register(writer)
    event = ONE_OF_EACH[4]  # SUPPLEMENT_REQUESTED: no rating
    assert ev.validate(codec.decode_avro(registry.encode(event, fp), registry)) == event


def test_evolved_container_file_is_registered_on_read(tmp_path):
    writer = _v1_raw()
    writer["fields"].append({"name": "kiosk_id", "type": ["null", "string"], "default": None})
    path = tmp_path / "v11.avro"
    codec.write_avro_file(path, [dict(e, kiosk_id="K1") for e in ONE_OF_EACH], schema=writer)
    registry = SchemaRegistry()
    decoded = [codec.decode_avro(raw, registry) for _, raw in codec.iter_file(path, registry)]
    assert [ev.validate(d) for d in decoded] == ONE_OF_EACH


# --------------------------------------------------------------------------- dead letters


def test_redact():
    assert codec.redact(b'{"x":"012345678","y":"12345678","z":"1234567890123"}') == (
        b'{"x":"#########","y":"12345678","z":"#############"}'
    )
    assert codec.redact(b"+84912345678") == b"+###########"


def test_dead_letter_record_and_avro():
    payload = b'{"event_id":"e1","cccd":"001099012345"}'
    rec = codec.dead_letter_record(
        source="file:/data/x.jsonl:3",
        stage="validate",
        code="PERSONAL_DATA",
        reason="field 'cccd' would carry personal data",
        payload=payload,
        event_id="e1",
        received_at=T0,
    )
    assert b"001099012345" not in rec["payload"] and b"############" in rec["payload"]
    assert rec["schema_version"] == ev.SCHEMA_VERSION and rec["dossier_id"] is None
    again = codec.dead_letter_record(
        source="file:/data/x.jsonl:3", stage="validate", code="PERSONAL_DATA",
        reason="other wording", payload=payload,
    )
    assert again["dead_letter_id"] == rec["dead_letter_id"]  # deterministic
    plain = codec.dead_letter_record(
        source="gateway", stage="decode", code="BAD_JSON", reason="not JSON", payload=b"123456789xx"
    )
    assert plain["payload"] == b"123456789xx"  # only PERSONAL_DATA is redacted
    data = codec.encode_dead_letter(rec)
    assert codec.decode_dead_letter(data) == rec
    fastavro.validation.validate(rec, codec.load_schema("dead_letter_v1"), raise_errors=True)


# --------------------------------------------------------------------------- JSON instants


def test_json_instant_round_trip_is_exact():
    ms = 2_155_230_173_351
    assert ev.parse_instant(ev.format_instant(ms), "occurred_at") == ms


# --------------------------------------------------------------------------- properties

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzĐđơư-._ ", min_size=1, max_size=20).filter(
    lambda s: s.strip() == s and s
)
_ident = st.text(alphabet="ABCDEFGHXYZ0123456789.-_", min_size=1, max_size=64).filter(
    lambda s: not ev.PERSONAL_VALUE.search(s) and not (s.isdigit() and len(s) in (9, 12))
)
_instant = st.integers(min_value=0, max_value=4_102_444_800_000)
_count = st.integers(min_value=0, max_value=2**31 - 1)


@st.composite
def valid_events(draw) -> dict:
    etype = draw(st.sampled_from(ev.EVENT_TYPES))
    e = {
        "event_id": draw(_ident),
        "event_type": etype,
        "occurred_at": draw(_instant),
        "source_system": draw(_ident),
        "dossier_id": draw(_ident),
        "province_code": draw(_ident),
        "unit_code": draw(_ident),
        "unit_level": draw(st.sampled_from(ev.UNIT_LEVELS)),
        "procedure_code": draw(_ident),
        "field_code": draw(_ident),
    }
    if draw(st.booleans()):
        e["sequence"] = draw(st.integers(min_value=0, max_value=2**63 - 1))
    required = ev.REQUIRED_EXTRAS.get(etype, ())
    for name, kind in ev.EXTRA_FIELDS[etype].items():
        if name not in required and not draw(st.booleans()):
            continue
        if isinstance(kind, tuple):
            e[name] = draw(st.sampled_from(kind))
        elif kind == "bool":
            e[name] = draw(st.booleans())
        elif kind == "int":
            e[name] = draw(st.integers(min_value=0, max_value=2**62) if name == "amount_vnd" else _count)
        elif kind == "instant":
            e[name] = draw(_instant)
        elif kind == "str":
            e[name] = draw(_word)
        elif kind == "time_limit":
            e[name] = {"value": draw(_count), "unit": draw(st.sampled_from(ev.TIME_LIMIT_UNITS))}
    if etype == "DIGITISED":
        total = e["components_total"]
        e["components_digitised"] = min(e["components_digitised"], total)
        if "components_reused" in e:
            e["components_reused"] = min(e["components_reused"], total)
    return e


_settings = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(valid_events())
def test_property_avro_round_trip(event):
    assert ev.validate(copy.deepcopy(event)) == event
    assert codec.decode_avro(codec.encode_avro(event)) == event


@_settings
@given(valid_events())
def test_property_json_round_trip(event):
    wire = codec.decode_json(codec.encode_json(event))
    assert wire == ev.to_wire_json(event)
    out = ev.validate(wire)
    assert out == event


@_settings
@given(st.binary(max_size=300))
def test_property_arbitrary_bytes_never_crash(data):
    try:
        out = codec.sniff_and_decode(data)
    except DecodeError as exc:
        assert exc.code in {"BAD_JSON", "NOT_AN_OBJECT", "BAD_AVRO", "UNKNOWN_SCHEMA", "OVERSIZE"}
    else:
        assert isinstance(out, dict)


def test_avro_magic_prefix_with_known_fingerprint_and_junk_body():
    header = codec.encode_avro(ONE_OF_EACH[0])[:10]
    for junk in (b"", b"\xff" * 20, b"\x02a" * 3):
        with pytest.raises(DecodeError) as info:
            codec.decode_avro(header + junk)
        assert info.value.code == "BAD_AVRO"


def test_bytes_like_inputs():
    data = codec.encode_avro(ONE_OF_EACH[3])
    assert codec.decode_avro(bytearray(data)) == ONE_OF_EACH[3]
    line = codec.encode_json(ONE_OF_EACH[3])
    assert ev.validate(codec.sniff_and_decode(memoryview(line))) == ONE_OF_EACH[3]
    assert io  # keep import used
