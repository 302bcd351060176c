"""A corpus of bad input files, replayed into fresh chDB stores: every case ends in a
dead letter with a clear reason (or a clear error for a file the product cannot read at
all), accepted + rejected = read, the readable part of every file is loaded (the tables
equal those of a replay of only the good records), the bulk and the Python path agree,
and a scan of every table of the store finds none of the personal data the input held."""

from __future__ import annotations

import gzip
import json
import re
from datetime import date

import fastavro
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motcua.adapters import codec
from motcua.adapters.codec import decode_record
from motcua.domain import events as ev
from motcua.imports import textfiles
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.simulate import simulate
from tests.cli_runner import motcua
from tests.integration.test_bulk_replay import CHECKS as BULK_CHECKS

NOW_MS = 1_764_000_000_000  # 2025-11-24
PII = [
    "0912 345 678",
    "0912.345.678",
    "0912-345-678",
    "+84-912-345-678",
    "+84 912 345 678",
    "079.203.001.234",
    "079203001234",
    "0792 0300 1234",
    "nguyen.van.an@gmail.com",
    "an.tv@dongnai.gov.vn",
]
NAMES = ["Ông Nguyễn Văn An, sinh năm 1980", "123 Lê Lợi, phường Bến Nghé"]

# the bulk replay test's table checks, the events without their payload (compared apart)
CHECKS = {name: BULK_CHECKS[name] for name in ("state", "rollup", "backlog")}
CHECKS["events"] = BULK_CHECKS["events"].replace("unit_code, payload FROM", "unit_code FROM")


def tables(store, checks=CHECKS) -> dict[str, list]:
    return {name: store.client.query(sql.format(db=store.db)).result_rows for name, sql in checks.items()}


def wire(e: dict) -> dict:
    return orjson.loads(codec.encode_json(e))


def line(e: dict) -> bytes:
    return orjson.dumps(wire(e))


@pytest.fixture(scope="module")
def good_events() -> list[dict]:
    evs = list(simulate("75", date(2025, 3, 3), date(2025, 3, 7), seed=11, scale=0.03))
    assert len(evs) > 200
    return evs


def write_corpus(folder, evs: list[dict]) -> tuple[list, dict]:
    """The corpus files (in replay order) and the ones the product refuses whole."""
    chunks = [evs[i::9] for i in range(9)]
    files = []

    def put(name, data):
        path = folder / name
        path.write_bytes(data)
        files.append(path)
        return path

    # 1. a truncated .gz: its first lines are readable
    body = b"".join(line(e) + b"\n" for e in chunks[0])
    gz = gzip.compress(body)
    put("cut.jsonl.gz", gz[: len(gz) * 3 // 4])
    # 2. a truncated .avro container file
    whole = folder / "whole.avro.tmp"
    with open(whole, "wb") as fh:  # small blocks, as a long file has many
        fastavro.writer(
            fh, codec.load_schema("dossier_event_v1"), chunks[1], codec="deflate", sync_interval=400
        )
    data = whole.read_bytes()
    put("cut.avro", data[: len(data) * 2 // 3])
    # 3. Excel / Notepad: a UTF-8 BOM and CRLF
    put("excel.jsonl", textfiles._BOM + b"".join(line(e) + b"\r\n" for e in chunks[2]))
    # 4. UTF-16 with a BOM ("Unicode text") and UTF-16-LE without one
    text = "".join(line(e).decode() + "\n" for e in chunks[3])
    half = len(chunks[3]) // 2
    put("unicode.jsonl", "".join(line(e).decode() + "\n" for e in chunks[3][:half]).encode("utf-16"))
    put("unicode-le.ndjson", "".join(line(e).decode() + "\n" for e in chunks[3][half:]).encode("utf-16-le"))
    assert text
    # 5. Latin-1 / Windows-1258 lines among UTF-8 ones
    lines = [line(e) for e in chunks[4]]
    for i in range(0, len(lines), 5):
        lines[i] = lines[i][:-1] + b',"ghi_chu":"Nguy\xean V\xe3n An"}'
    put("latin1.jsonl", b"\n".join(lines) + b"\n")
    # 6. a .json holding a JSON array (pretty), and one cut inside an item
    items = [wire(e) for e in chunks[5]]
    half = len(items) // 2
    put("batch.json", json.dumps(items[:half], indent=2, ensure_ascii=False).encode())
    arr = json.dumps(items[half:], indent=1, ensure_ascii=False).encode()
    put("batch-cut.json", arr[: len(arr) * 3 // 4])
    # 7. personal data: in free text (accepted, dropped), in ids (refused), inside a line
    #    rejected for another reason, in an unknown field, as a field name
    pii_lines = []
    for i, e in enumerate(chunks[6]):
        p = PII[i % len(PII)]
        w = wire(e)
        kind = i % 6
        if kind == 0:
            w["reason"] = f"{NAMES[i % 2]}, SĐT {p}"
        elif kind == 1:
            w["ghi_chu"] = f"{NAMES[i % 2]} {p}"
        elif kind == 2:
            w = dict(w, dossier_id=p)
        elif kind == 3:  # rejected for its unit_level; personal data in its text
            w = dict(w, unit_level="VILLAGE", reason=p, ghi_chu=NAMES[i % 2])
        elif kind == 4:
            w["so_dien_thoai"] = p
        else:
            w = dict(w, unit_level="VILLAGE", event_id=p)
        pii_lines.append(orjson.dumps(w))
    pii_lines.append(
        orjson.dumps(dict(wire(chunks[6][0]), event_id="STOP-1", event_type="STOPPED", reason=NAMES[0]))
    )
    put("personal.jsonl", b"\n".join(pii_lines) + b"\n")
    # 8. plain bad lines between good ones
    bad = [
        b"not json",
        b'{"event_id":',
        b"null",
        b"[1,2]",
        b'{"a":NaN}',
        b"\x00\x01",
        b"{" + b" " * 70_000 + b"}",
        b'{"event_id":"x","event_type":"SUBMITTED"}',
        orjson.dumps(dict(wire(chunks[7][0]), event_type="ARCHIVED")),
        orjson.dumps(dict(wire(chunks[7][0]), occurred_at="0912 345 678")),
    ]
    mixed = []
    for i, e in enumerate(chunks[7]):
        mixed.append(line(e))
        if i < len(bad):
            mixed.append(bad[i])
    put("mixed.jsonl", b"\n".join(mixed) + b"\n")
    # 9. a file that is not gzip at all, and a clean file after all the bad ones
    put("fake.jsonl.gz", b"".join(line(e) + b"\n" for e in chunks[8][:5]))
    put("clean.jsonl", b"".join(line(e) + b"\n" for e in chunks[8][5:]))
    whole.unlink()
    refused = {}
    for name in ("events.csv", "events.xlsx", "events.txt.gz"):
        path = folder / name
        path.write_bytes(b"a,b\n1,2\n")
        refused[name] = path
    return files, refused


def readable_records(files) -> tuple[int, list[bytes]]:
    """(records read, the accepted ones as clean JSON lines), by the codec alone."""
    read, good = 0, []
    for path in files:
        for _ref, raw in codec.iter_file(path):
            read += 1
            try:
                good.append(codec.encode_json(decode_record(raw, NOW_MS)))
            except (codec.DecodeError, ev.InvalidEvent):
                pass
    return read, good


def scan_every_table(store) -> str:
    """Every column of every table of the store's database, as text."""
    names = [
        r[0]
        for r in store.client.query(
            "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name",
            parameters={"db": store.db},
        ).result_rows
    ]
    assert {"events", "dead_letters", "dossier_state", "kpi_daily"} <= set(names)
    out = []
    for name in names:
        result = store.client.query(f"SELECT * FROM {store.db}.`{name}`", query_formats={"String": "bytes"})
        for row in result.result_rows:
            out.append(
                "\t".join(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row)
            )
    return "\n".join(out)


def pii_forms(text: str) -> list[str]:
    d = re.sub(r"[^0-9]", "", text)
    forms = [text]
    if "@" not in text:
        forms += [d] + ([d[2:]] if d.startswith("84") else [])
    return forms


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "python"])
def test_the_bad_input_corpus(new_store, tmp_path, good_events, bulk):
    files, refused = write_corpus(tmp_path, good_events)
    # a file the product cannot read at all: a clear error before anything is loaded
    for name, path in refused.items():
        with pytest.raises(codec.UnsupportedFile) as info:
            codec.file_kind(path)
        assert name in info.value.message
    store, reference = new_store(), new_store()
    summary = EmbeddedPipeline(store, default_calendar(), now_ms=lambda: NOW_MS).replay_files(
        files, bulk=bulk
    )
    read, good = readable_records(files)
    assert summary.read == read and summary.accepted + summary.rejected == summary.read
    assert summary.accepted == len(good) and summary.rejected == read - len(good)
    # the readable part of every file is loaded: the tables of a replay of the good records
    clean = tmp_path / "good-only.jsonl"
    clean.write_bytes(b"".join(g + b"\n" for g in good))
    EmbeddedPipeline(reference, default_calendar(), now_ms=lambda: NOW_MS).replay_files([clean], bulk=False)
    assert tables(store) == tables(reference)
    loaded = {r[1] for r in tables(store)["events"]}
    for path in files:
        if path.name == "fake.jsonl.gz":
            continue
        ids = set()
        for _ref, raw in codec.iter_file(path):
            try:
                ids.add(decode_record(raw, NOW_MS)["event_id"])
            except (codec.DecodeError, ev.InvalidEvent):
                pass
        assert ids and ids <= loaded, path.name
    # every rejection is a dead letter with a code and a reason for people
    dead = store.client.query(
        f"SELECT source, code, reason, payload FROM {store.db}.dead_letters FINAL"
    ).result_rows
    assert len(dead) == summary.rejected
    codes = {c for _s, c, _r, _p in dead}
    assert {
        "DAMAGED_FILE",
        "BAD_ENCODING",
        "PERSONAL_DATA",
        "BAD_JSON",
        "NOT_AN_OBJECT",
        "OVERSIZE",
        "BAD_ENUM",
        "UNKNOWN_EVENT_TYPE",
        "MISSING_FIELD",
        "BAD_INSTANT",
    } <= codes
    for _source, _code, reason, payload in dead:
        assert reason and "NoneType" not in reason and "Traceback" not in reason
        assert orjson.loads(payload)["redacted"] is True
    damaged = {s.rsplit(":", 1)[0].rsplit("/", 1)[1] for s, c, _r, _p in dead if c == "DAMAGED_FILE"}
    assert damaged == {"cut.jsonl.gz", "cut.avro", "batch-cut.json", "fake.jsonl.gz"}
    assert any("UTF-8" in r and "Windows-1258" in r for _s, c, r, _p in dead if c == "BAD_ENCODING")
    # no personal data anywhere in the store
    text = scan_every_table(store)
    assert '"redacted":true' in text and good_events[0]["dossier_id"] in text  # the scan sees the data
    for secret in PII:
        for form in pii_forms(secret):
            assert form not in text, form
    for secret in NAMES + ["Nguyễn", "Lê Lợi", "Nguy\ufffdn", "Nguyên", "Nguy\xean"]:
        assert secret not in text, secret


def test_bulk_and_python_paths_agree_on_the_corpus(new_store, tmp_path, good_events):
    files, _refused = write_corpus(tmp_path, good_events)
    jsonl = [p for p in files if codec.file_kind(p) == "json"]
    assert len(jsonl) >= 3  # the BOM, Latin-1, mixed, clean files stay on the bulk path
    checks = dict(
        CHECKS,
        events=CHECKS["events"].replace("unit_code FROM", "unit_code, payload FROM"),
        dead=(
            "SELECT dead_letter_id, source, stage, code, reason, event_id, dossier_id, payload "
            "FROM {db}.dead_letters FINAL ORDER BY ALL"
        ),
    )
    a, b = new_store(), new_store()
    sa = EmbeddedPipeline(a, default_calendar(), now_ms=lambda: NOW_MS).replay_files(jsonl, bulk=True)
    sb = EmbeddedPipeline(b, default_calendar(), now_ms=lambda: NOW_MS).replay_files(jsonl, bulk=False)
    assert (sa.read, sa.accepted, sa.rejected, dict(sa.rejected_by_code)) == (
        sb.read,
        sb.accepted,
        sb.rejected,
        dict(sb.rejected_by_code),
    )
    assert tables(a, checks) == tables(b, checks)


def test_the_cli_replays_the_corpus_without_stopping(tmp_path, good_events):
    files, _refused = write_corpus(tmp_path, good_events)
    store = f"chdb://{tmp_path / 'store'}"
    proc = motcua("replay", *files, "--store", store)
    assert "Traceback" not in proc.stdout + proc.stderr and "Aborted" not in proc.stdout + proc.stderr


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet="0123456789 .-_/+()84ABCx", max_size=30))
def test_the_sql_personal_number_pattern_is_the_python_one(store, text):
    """The bulk check's RE2 form of the pattern finds what events.looks_personal finds
    (ASCII text; the bulk check only lets ASCII codes through)."""
    found = store.client.command(
        "SELECT match({t:String}, {p:String})", parameters={"t": text, "p": ev.personal_number_pattern("re2")}
    )
    python = ev._NATIONAL.search(text) is not None or ev._OTHER.search(text) is not None
    assert bool(int(found)) == python, text
