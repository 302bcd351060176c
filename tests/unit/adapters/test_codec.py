"""Unit tests of motcua.adapters.codec: JSON Lines and Avro (single-object and container)
round trips, fingerprints, errors, schema evolution, files (encodings, JSON documents,
damaged .gz/.avro), dead letters (redacted)."""

from __future__ import annotations

import copy
import gzip
import io
import json
import zlib

import fastavro
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motcua.adapters import codec
from motcua.adapters.codec import DecodeError, SchemaRegistry
from motcua.domain import events as ev
from motcua.imports import textfiles

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
    envelope("REJECTED", 3),
    envelope("PROCESSING", 4, transferred_to_unit="H44.100"),
    envelope("SUPPLEMENT_REQUESTED", 5),
    envelope("SUPPLEMENT_RECEIVED", 6),
    envelope("PAYMENT_REQUESTED", 7, amount_vnd=150_000),
    envelope("PAYMENT_COMPLETED", 8, amount_vnd=150_000, method="ONLINE_DVCQG"),
    envelope("WITHDRAWN", 9),
    envelope("STOPPED", 10),
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
    envelope(
        "SNAPSHOT",
        16,
        received_at=T0,
        channel="ONLINE",
        due_at=T0 + 5 * 86_400_000,
        has_fee=True,
        resolved_at=T0 + 2 * 86_400_000,
        electronic_result=True,
        returned_at=T0 + 3 * 86_400_000,
        return_channel="POSTAL",
        rejected_at=T0 + 86_400_000,
        source_status=10,
        payment="ONLINE_LOCAL",
        components_total=3,
        components_digitised=2,
        components_reused=1,
        from_personal_store=True,
        population_data_used=False,
        snapshot_rank=2,
    ),
]


def test_fixtures_cover_every_type_and_are_valid():
    assert sorted(e["event_type"] for e in ONE_OF_EACH) == sorted(ev.EVENT_TYPES)
    for e in ONE_OF_EACH:
        assert ev.validate(copy.deepcopy(e)) == e


@pytest.mark.parametrize("event", [ONE_OF_EACH[2], ONE_OF_EACH[9]], ids=["REJECTED", "STOPPED"])
def test_free_text_reason_travels_on_the_wire_but_is_never_kept(event):
    sent = dict(event, reason="Ông Nguyễn Văn An, sinh năm 1980, SĐT 0912 345 678")
    assert ev.FREE_TEXT_FIELDS == {"reason"}
    for wire in (codec.encode_json(sent), codec.encode_avro(sent)):
        decoded = codec.sniff_and_decode(wire)
        assert decoded["reason"] == sent["reason"]  # the codec only reads the wire form
        assert ev.validate(decoded) == event  # accepted, the free text dropped


# --------------------------------------------------------------------------- schemas


def test_v1_schema_is_v2_without_what_v2_added():
    v1 = json.loads((codec.schema_dir() / "dossier_event_v1.avsc").read_text())
    v2 = json.loads((codec.schema_dir() / "dossier_event_v2.avsc").read_text())
    added = {
        "resumes",
        "received_at",
        "resolved_at",
        "returned_at",
        "rejected_at",
        "source_status",
        "payment",
        "snapshot_rank",
    }
    assert [f["name"] for f in v2["fields"]] == [f["name"] for f in v1["fields"]] + sorted(
        added, key=[f["name"] for f in v2["fields"]].index
    )
    symbols = {f["name"]: f for f in v2["fields"]}["event_type"]["type"]["symbols"]
    assert symbols == {f["name"]: f for f in v1["fields"]}["event_type"]["type"]["symbols"] + ["SNAPSHOT"]


def test_v1_records_still_decode():
    """Topics and files written before contract v2 are read as they were."""
    v1 = SchemaRegistry("dossier_event_v1")
    for event in ONE_OF_EACH[:-1]:  # every v1 type
        data = v1.encode(event)
        assert ev.validate(codec.decode_avro(data)) == event


def test_schema_matches_contract():
    schema = json.loads((codec.schema_dir() / "dossier_event_v2.avsc").read_text())
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
    for name in ("dossier_event_v1", "dossier_event_v2", "dead_letter_v1"):
        canonical = fastavro.schema.to_parsing_canonical_form(codec.load_schema(name))
        expected_hex = fp_fn(canonical, "CRC-64-AVRO")  # hex of the little-endian bytes
        assert codec.fingerprint(name).to_bytes(8, "little").hex() == expected_hex
    data = codec.encode_avro(ONE_OF_EACH[0])
    assert data[:2] == b"\xc3\x01"
    expected = fp_fn(
        fastavro.schema.to_parsing_canonical_form(codec.load_schema("dossier_event_v2")),
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
    assert codec.file_kind(path) == "json"
    for name in ("events.csv", "events.xlsx", "events", "events.gz", "events.txt.gz"):
        (tmp_path / name).write_bytes(b"x")
        with pytest.raises(codec.UnsupportedFile) as info:
            list(codec.iter_file(tmp_path / name))
        assert isinstance(info.value, ValueError) and name in info.value.message
        assert "chỉ nhận tệp sự kiện" in info.value.message and "unsupported event file type" in str(
            info.value
        )
        with pytest.raises(codec.UnsupportedFile):
            codec.file_kind(tmp_path / name)


# --------------------------------------------------------------------------- file encodings

LINES = [codec.encode_json(e) for e in ONE_OF_EACH]
BODY = b"\n".join(LINES) + b"\n"


def _read(path) -> tuple[list[dict], list[tuple[str, str, str]]]:
    """(accepted events, [(source ref, code, reason)] of the rejected records)."""
    good, bad = [], []
    for ref, raw in codec.iter_file(path):
        try:
            good.append(ev.validate(codec.sniff_and_decode(raw)))
        except (DecodeError, ev.InvalidEvent) as err:
            bad.append((ref, err.code, err.reason))
    return good, bad


@pytest.mark.parametrize(
    "name, data",
    [
        ("bom.jsonl", textfiles._BOM + BODY),
        ("bom-crlf.ndjson", textfiles._BOM + BODY.replace(b"\n", b"\r\n")),
        ("utf16.jsonl", BODY.decode().encode("utf-16")),  # BOM (Excel "Unicode text", Notepad)
        ("utf16be.jsonl", BODY.decode().encode("utf-16-be")),  # no BOM: the NUL pattern
        ("utf16le.jsonl", BODY.decode().encode("utf-16-le")),
        ("utf32.jsonl", BODY.decode().encode("utf-32")),
        ("utf16.jsonl.gz", gzip.compress(BODY.decode().encode("utf-16"))),
    ],
)
def test_a_bom_and_utf16_text_are_read_whole(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    good, bad = _read(path)
    assert good == ONE_OF_EACH and bad == []
    # line numbers are the file's; ClickHouse reads UTF-8 (BOM) files itself, not UTF-16
    assert next(ref for ref, _ in codec.iter_file(path)) == f"{path}:1"
    assert codec.file_kind(path) == ("json" if name.startswith("bom") else "json-python")


def test_a_latin1_or_cp1258_line_is_rejected_naming_the_encoding(tmp_path):
    lines = list(LINES)
    lines[3] = lines[3][:-1] + ',"ghi_chu":"H\xe9 s\xf4 \xd0\xe3 nh\xe2n"}'.encode("latin-1")
    lines[5] = lines[5][:-1] + b',"x":"H\xf4\xcc s\xf5"}'  # "Hồ sơ" in Windows-1258
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b"\n".join(lines))
    good, bad = _read(path)
    assert len(good) == len(LINES) - 2  # the UTF-8 (ASCII) lines of the file are read
    assert [(ref, code) for ref, code, _ in bad] == [
        (f"{path}:4", "BAD_ENCODING"),
        (f"{path}:6", "BAD_ENCODING"),
    ]
    for _ref, _code, reason in bad:
        assert "không phải UTF-8" in reason and "Windows-1258" in reason and "Latin-1" in reason


@pytest.mark.parametrize(
    "line, code, words",
    [
        ("Hồ sơ".encode("utf-16-le") + b'{\x00"\x00', "BAD_ENCODING", "UTF-16"),
        (b"\xef\xbb\xbf" + LINES[0], None, None),
        (b"null", "NOT_AN_OBJECT", "giá trị null"),
        (b"[1]", "NOT_AN_OBJECT", "một mảng"),
        (b"12", "NOT_AN_OBJECT", "một số"),
        (b'{"a":1', "BAD_JSON", "bị cắt"),
        (b'{"a":1,}', "BAD_JSON", "dấu phẩy thừa"),
        (b"not json", "BAD_JSON", "không phải JSON hợp lệ"),
    ],
)
def test_reasons_are_written_for_people(line, code, words):
    if code is None:
        assert ev.validate(codec.sniff_and_decode(line)) == ONE_OF_EACH[0]
        return
    with pytest.raises(DecodeError) as info:
        codec.sniff_and_decode(line)
    assert info.value.code == code and words in info.value.reason
    assert "NoneType" not in info.value.reason and "JSON list" not in info.value.reason


# --------------------------------------------------------------------------- JSON documents


def test_a_json_array_file_is_read_like_the_gateway_reads_a_body(tmp_path):
    path = tmp_path / "batch.json"
    path.write_bytes(b"[\n  " + b",\n  ".join(LINES) + b"\n]\n")
    assert codec.file_kind(path) == "json-python"
    rows = list(codec.iter_file(path))
    assert [ref for ref, _ in rows] == [f"{path}:#{n}" for n in range(1, len(LINES) + 1)]
    assert [ev.validate(codec.sniff_and_decode(raw)) for _, raw in rows] == ONE_OF_EACH
    pretty = tmp_path / "one.json"
    pretty.write_text(json.dumps(codec.decode_json(LINES[1]), indent=2, ensure_ascii=False))
    assert [ev.validate(codec.sniff_and_decode(raw)) for _, raw in codec.iter_file(pretty)] == [
        ONE_OF_EACH[1]
    ]
    # a .json file of JSON Lines stays JSON Lines (and goes to ClickHouse)
    lines = tmp_path / "lines.json"
    lines.write_bytes(BODY)
    assert codec.file_kind(lines) == "json" and _read(lines) == (ONE_OF_EACH, [])


def test_a_broken_json_array_keeps_its_readable_items(tmp_path):
    text = b"[" + b",\n".join(LINES) + b"]"
    cut = text.index(LINES[6]) + 20  # inside item 7
    path = tmp_path / "cut.json"
    path.write_bytes(text[:cut])
    good, bad = _read(path)
    assert good == ONE_OF_EACH[:6]
    assert [(ref, code) for ref, code, _ in bad] == [(f"{path}:#7", "DAMAGED_FILE")]
    assert "6 phần tử trước đó đã được đọc" in bad[0][2]
    # an item that is not an event is its own dead letter; the others are read
    path.write_bytes(b"[" + LINES[0] + b', 42, {"x": NaN}, ' + LINES[1] + b"]")
    good, bad = _read(path)
    assert good == ONE_OF_EACH[:2] and [c for _, c, _ in bad] == ["NOT_AN_OBJECT", "BAD_JSON"]


# --------------------------------------------------------------------------- damaged files


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9, 0.999])
def test_a_truncated_gz_keeps_its_readable_lines(tmp_path, keep):
    data = gzip.compress(BODY * 50)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: int(len(data) * keep)])
    assert codec.file_kind(path) == "json-python"  # ClickHouse would stop: Python reads it
    good, bad = _read(path)
    readable = zlib.decompressobj(31).decompress(data[: int(len(data) * keep)])
    whole_lines = readable.count(b"\n")
    assert len(good) == whole_lines and good == (ONE_OF_EACH * 50)[:whole_lines]
    assert len(bad) == 1 and bad[0][1] == "DAMAGED_FILE"
    assert bad[0][0] == f"{path}:{whole_lines + 1}" and "bị cắt" in bad[0][2]
    assert f"ở byte {int(len(data) * keep)}" in bad[0][2]


def test_a_corrupt_or_fake_gz_is_one_dead_letter(tmp_path):
    for name, data in (("fake.jsonl.gz", BODY), ("junk.jsonl.gz", b"\x1f\x8b" + b"\xff" * 50)):
        path = tmp_path / name
        path.write_bytes(data)
        good, bad = _read(path)
        assert good == [] and [c for _, c, _ in bad] == ["DAMAGED_FILE"] and "hỏng" in bad[0][2]


def test_concatenated_and_padded_gz_members_are_read(tmp_path):
    path = tmp_path / "two.jsonl.gz"
    path.write_bytes(gzip.compress(BODY) + gzip.compress(BODY) + b"\x00" * 10)
    assert _read(path) == (ONE_OF_EACH * 2, [])


@pytest.mark.parametrize("keep", [0.3, 0.7, 0.95])
def test_a_truncated_avro_file_keeps_its_readable_records(tmp_path, keep):
    whole = tmp_path / "whole.avro"
    codec.write_avro_file(whole, ONE_OF_EACH * 400)
    data = whole.read_bytes()
    path = tmp_path / "cut.avro"
    path.write_bytes(data[: int(len(data) * keep)])
    good, bad = _read(path)
    assert 0 < len(good) < 400 * len(ONE_OF_EACH) and good == (ONE_OF_EACH * 400)[: len(good)]
    assert [(ref, code) for ref, code, _ in bad] == [(f"{path}:{len(good) + 1}", "DAMAGED_FILE")]
    assert f"{len(good)} bản ghi trước đó đã được đọc" in bad[0][2]
    head = tmp_path / "head.avro"
    head.write_bytes(data[:20])
    assert [c for _, c, _ in _read(head)[1]] == ["DAMAGED_FILE"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([b"\n", b"\r\n", b"\r", b" ", b"{}", b"ab", b"\xe9", b"\n\n"]), max_size=40),
    st.integers(1, 9),
    st.booleans(),
)
def test_lines_are_numbered_like_reading_the_file_line_by_line(pieces, chunk, gz):
    """However the bytes fall into chunks (plain or gzip), the lines and their numbers
    are those of ``for line in open(path, "rb")`` (and ClickHouse's LineAsString)."""
    import tempfile

    data = b"".join(pieces)
    with tempfile.TemporaryDirectory() as d:
        path = codec.Path(d) / ("x.jsonl.gz" if gz else "x.jsonl")
        path.write_bytes(gzip.compress(data) if gz else data)
        want = []
        with open(codec.Path(d) / "plain", "wb") as fh:
            fh.write(data)
        with open(codec.Path(d) / "plain", "rb") as fh:
            for n, line in enumerate(fh, 1):
                line = line.rstrip(b"\r\n")
                if line and not line.isspace():
                    want.append((f"{path}:{n}", line))
        old = textfiles._CHUNK
        textfiles._CHUNK = chunk
        try:
            got = list(codec.iter_file(path))
        finally:
            textfiles._CHUNK = old
        if data[:3] == textfiles._BOM:
            return
        assert got == want


def test_unreadable_decodes_to_its_error():
    raw = codec.Unreadable(b"abc", "DAMAGED_FILE", "tệp bị cắt")
    assert isinstance(raw, bytes) and raw == b"abc"
    with pytest.raises(DecodeError) as info:
        codec.sniff_and_decode(raw)
    assert (info.value.code, info.value.reason) == ("DAMAGED_FILE", "tệp bị cắt")


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "data, code",
    [
        (b"not json at all", "BAD_JSON"),
        (b'{"event_id": "x",', "BAD_JSON"),
        (b"\xff\xfe\x00garbage", "BAD_ENCODING"),  # a UTF-16 BOM
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
    with pytest.raises(ValueError, match="dossier_id"):
        codec.encode_avro(bad)


# --------------------------------------------------------------------------- evolution


def _current_raw() -> dict:
    """The schema we write (v2)."""
    return json.loads((codec.schema_dir() / "dossier_event_v2.avsc").read_text())


def test_schema_evolution_added_optional_field():
    writer = _current_raw()
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
    writer = _current_raw()
    writer["fields"] = [f for f in writer["fields"] if f["name"] != "rating"]
    registry = SchemaRegistry()
    fp = registry.register(writer)
    event = ONE_OF_EACH[4]  # SUPPLEMENT_REQUESTED: no rating
    assert ev.validate(codec.decode_avro(registry.encode(event, fp), registry)) == event


def test_evolved_container_file_is_registered_on_read(tmp_path):
    writer = _current_raw()
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
    assert b"001099012345" not in rec["payload"]
    assert orjson.loads(rec["payload"]) == {
        "redacted": True,
        "format": "json",
        "bytes": len(payload),
        "value": {"event_id": "e1", "cccd": "<redacted: string, 12 characters>"},
    }
    assert (
        rec["schema_version"] == ev.SCHEMA_VERSION and rec["dossier_id"] is None and rec["event_id"] == "e1"
    )
    again = codec.dead_letter_record(
        source="file:/data/x.jsonl:3",
        stage="validate",
        code="PERSONAL_DATA",
        reason="other wording",
        payload=payload,
    )
    assert again["dead_letter_id"] == rec["dead_letter_id"]  # deterministic
    plain = codec.dead_letter_record(
        source="gateway",
        stage="decode",
        code="BAD_JSON",
        reason="not JSON 0912 345 678",
        payload=b"123456789xx",
        dossier_id="079.203.001.234",
    )
    # every payload is redacted, whatever the code; reasons and ids too
    assert orjson.loads(plain["payload"]) == {
        "redacted": True,
        "format": "text",
        "bytes": 11,
        "utf8": True,
        "value": "<redacted: 11 bytes>",
    }
    assert plain["reason"] == "not JSON <redacted>" and plain["dossier_id"] is None
    # a personal number in a file name is masked; the position (line, record, offset) is kept
    for source, want in (
        ("/data/0912345678.jsonl:123456789", "/data/<redacted>.jsonl:123456789"),
        ("dossier-events:3:912345678", "dossier-events:3:912345678"),
        ("/data/a.json:#12", "/data/a.json:#12"),
        ("gateway:0912 345 678", "gateway:<redacted>"),
    ):
        assert (
            codec.dead_letter_record(source=source, stage="s", code="c", reason="r", payload=b"")["source"]
            == want
        )
    # the positions the codec writes in a reason stay (a big file has 9-digit offsets)
    reason = "tệp nén .gz bị cắt ở byte 123456789 của tệp: từ dòng 912345678 không đọc được nữa"
    assert (
        codec.dead_letter_record(source="s", stage="s", code="c", reason=reason, payload=b"")["reason"]
        == reason
    )
    assert (
        codec.dead_letter_record(source="s", stage="s", code="c", reason="dòng 0912 345 678", payload=b"")[
            "reason"
        ]
        == "dòng <redacted>"
    )
    data = codec.encode_dead_letter(rec)
    assert codec.decode_dead_letter(data) == rec
    fastavro.validation.validate(rec, codec.load_schema("dead_letter_v1"), raise_errors=True)


def _redacted(raw: bytes) -> dict:
    return orjson.loads(codec.redact_payload(raw))


def test_redacted_payload_keeps_what_fixes_the_sender_and_nothing_personal():
    sent = dict(
        ONE_OF_EACH[1],
        unit_level="VILLAGE",
        sequence=1.5,
        reason="Ông Nguyễn Văn An",
        ghi_chu="123 Lê Lợi, phường Bến Nghé",
        due_at="0912-345-678",
        time_limit={"value": 5, "unit": "WORKING_DAYS", "note": "a@b.vn"},
        dossier_id="079203001234",
        amount_vnd=912345678,
        extra_flag=True,
    )
    sent["079.203.001.234"] = 1
    out = _redacted(orjson.dumps(sent))
    v = out["value"]
    assert out["format"] == "json" and out["bytes"] == len(orjson.dumps(sent))
    assert v["event_id"] == sent["event_id"] and v["unit_code"] == "H44.07" and v["channel"] == "DIRECT"
    assert (
        v["unit_level"] == "VILLAGE" and v["sequence"] == 1.5 and v["has_fee"] is True
    )  # wrong values shown
    assert v["occurred_at"] == sent["occurred_at"] and v["extra_flag"] is True
    assert v["reason"] == "<redacted: string, 17 characters>"
    assert v["ghi_chu"] == "<redacted: string, 27 characters>"
    assert v["due_at"] == v["dossier_id"] == "<redacted: string, 12 characters>"
    assert v["amount_vnd"] == "<redacted: number>"
    assert v["time_limit"] == {"value": 5, "unit": "WORKING_DAYS", "note": "<redacted: string, 6 characters>"}
    assert f"<redacted key {len(sent)}>" in v and "079.203.001.234" not in v
    text = codec.redact_payload(orjson.dumps(sent)).decode()
    for secret in ("Nguyễn", "Lê Lợi", "0912", "079203001234", "912345678", "a@b.vn"):
        assert secret not in text


def test_redacted_payload_of_avro_text_and_other_json():
    avro = codec.encode_avro(dict(ONE_OF_EACH[9], reason="CCCD 079203001234"))
    out = _redacted(avro)
    assert (
        out["format"] == "avro"
        and out["fingerprint"] == f"{codec.default_registry().reader_fingerprint:016x}"
    )
    assert out["value"]["event_type"] == "STOPPED" and out["value"]["reason"].startswith("<redacted")
    assert _redacted(avro[:14])["value"] == "<redacted: 4 bytes>"
    assert _redacted(b"[1, 2]") == {
        "redacted": True,
        "format": "json",
        "bytes": 6,
        "value": "<redacted: array, 2 items>",
    }
    latin = _redacted(b'{"a":"Nguy\xean"}')
    assert latin["format"] == "text" and latin["utf8"] is False and "Windows-1258" in latin["encoding"]
    assert latin["starts_with"] == "{"
    assert _redacted("Ông An".encode("utf-16"))["encoding"].startswith("mã hóa UTF-16")
    assert _redacted(b"\xef\xbb\xbf" + LINES[0])["value"]["event_id"] == ONE_OF_EACH[0]["event_id"]


# --------------------------------------------------------------------------- JSON instants


def test_json_instant_round_trip_is_exact():
    ms = 2_155_230_173_351
    assert ev.parse_instant(ev.format_instant(ms), "occurred_at") == ms


# --------------------------------------------------------------------------- properties

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzĐđơư-._ ", min_size=1, max_size=20).filter(
    lambda s: s.strip() == s and s
)
_ident = st.text(alphabet="ABCDEFGHXYZ0123456789.-_", min_size=1, max_size=64).filter(
    lambda s: not ev.looks_personal(s)
)
# the contract's instants: [2010-01-01, 2036-01-01) in Asia/Ho_Chi_Minh
_instant = st.integers(min_value=ev.MIN_INSTANT_MS, max_value=ev.MAX_INSTANT_MS - 1)
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
        elif kind == "code":
            e[name] = draw(_ident)
        elif kind == "status":
            e[name] = draw(st.integers(1, 10))
        elif kind == "text":
            continue  # free text is not kept (test_free_text_reason_travels_...)
        elif kind == "time_limit":
            e[name] = {
                "value": draw(st.integers(0, ev.MAX_TIME_LIMIT)),
                "unit": draw(st.sampled_from(ev.TIME_LIMIT_UNITS)),
            }
    if etype == "SNAPSHOT" and ("components_digitised" in e or "components_reused" in e):
        e.setdefault("components_total", max(e.get("components_digitised", 0), e.get("components_reused", 0)))
    if "components_total" in e:
        total = e["components_total"]
        if "components_digitised" in e:
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
        assert exc.code in {
            "BAD_JSON",
            "NOT_AN_OBJECT",
            "BAD_AVRO",
            "UNKNOWN_SCHEMA",
            "OVERSIZE",
            "BAD_ENCODING",
        }
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
