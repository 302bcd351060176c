"""The CLI against the embedded ClickHouse, each command in its own process."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import orjson

from motcua.adapters.codec import DecodeError, decode_record
from motcua.domain.events import InvalidEvent
from motcua.domain.lifecycle import derive_facts, fold
from motcua.domain.metrics import METRIC_IDS, kpi_rows
from motcua.domain.periods import Period
from motcua.reference.official_calendar import default_calendar
from motcua.simulate import simulate
from tests.builders import local_ms
from tests.cli_runner import motcua, motcua_json

cal = default_calendar()
PERIOD = ("--from", "2025-03-01", "--to", "2025-03-15")


def reference_rows(events, by, as_of):
    by_id: dict = {}
    for e in events:
        by_id.setdefault(e["dossier_id"], []).append(e)
    facts = [derive_facts(fold(k, v), cal) for k, v in by_id.items()]
    return kpi_rows(facts, Period(date(2025, 3, 1), date(2025, 3, 15)), as_of, by, cal)


def test_simulate_replay_kpi_with_faults_equals_reference(tmp_path):
    store = f"chdb://{tmp_path / 'store'}"
    noisy = tmp_path / "noisy.jsonl"
    motcua(
        "simulate",
        "--province",
        "75",
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-15",
        "--seed",
        "3",
        "--scale",
        "0.02",
        "--duplicates",
        "0.05",
        "--reorder",
        "0.1",
        "--late",
        "0.02",
        "--malformed",
        "0.01",
        "--out",
        noisy,
    )
    motcua("replay", noisy, "--store", store, "--batch-size", "2000")
    bad = 0
    for line in noisy.read_bytes().splitlines():
        try:
            decode_record(line, None)
        except (DecodeError, InvalidEvent):
            bad += 1
    assert bad > 0
    letters = motcua_json("dead-letters", "--format", "json", "--last", "0", "--store", store)
    assert letters["total"] == sum(c["count"] for c in letters["by_code"]) == bad
    assert len(letters["records"]) == letters["records_shown"] == bad
    clean = list(simulate("75", date(2025, 3, 1), date(2025, 3, 14), seed=3, scale=0.02))
    for by in ("level", "unit", "field"):
        rows = motcua_json(
            "kpi", *PERIOD, "--by", by, "--as-of", "2025-03-15", "--format", "json", "--store", store
        )
        assert rows == reference_rows([dict(e) for e in clean], by, local_ms(2025, 3, 15, 0, 0))
    # replaying the same file again changes nothing
    motcua("replay", noisy, "--store", store)
    again = motcua_json(
        "kpi", *PERIOD, "--by", "unit", "--as-of", "2025-03-15", "--format", "json", "--store", store
    )
    assert again == reference_rows([dict(e) for e in clean], "unit", local_ms(2025, 3, 15, 0, 0))


def test_avro_and_jsonl_give_the_same_kpis(tmp_path):
    motcua(
        "simulate",
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-08",
        "--scale",
        "0.01",
        "--out",
        tmp_path / "ev.avro",
    )
    motcua(
        "simulate",
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-08",
        "--scale",
        "0.01",
        "--out",
        tmp_path / "ev.jsonl",
    )
    a = f"chdb://{tmp_path / 'a'}"
    b = f"chdb://{tmp_path / 'b'}"
    motcua("replay", tmp_path / "ev.avro", "--store", a)
    motcua("replay", tmp_path / "ev.jsonl", "--store", b)
    args = (
        "kpi",
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-08",
        "--by",
        "unit",
        "--format",
        "json",
        "--as-of",
        "2025-03-08",
    )
    rows_a = motcua_json(*args, "--store", a)
    assert rows_a and rows_a == motcua_json(*args, "--store", b)
    # replay leaves the working-day calendar in the store (the panels' "due soon" reads it)
    count = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import sys; from motcua.adapters.clickhouse_store import ClickHouseStore; s = ClickHouseStore(sys.argv[1]);"
                "print(s.client.command(f'SELECT countIf(is_working = 1) FROM {s.db}.work_calendar'))"
            ),
            a,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert int(count) > 60 * 240


def test_kpi_json_keys_follow_the_contract(tmp_path):
    store = f"chdb://{tmp_path / 'store'}"
    events = tmp_path / "ev.jsonl"
    events.write_bytes(
        b"\n".join(
            orjson.dumps(e)
            for e in [
                {
                    "event_id": "e1",
                    "event_type": "RECEIVED",
                    "occurred_at": "2025-03-03T09:00:00+07:00",
                    "source_system": "t",
                    "dossier_id": "D-1",
                    "province_code": "75",
                    "unit_code": "H75.01",
                    "unit_level": "COMMUNE",
                    "procedure_code": "1.1",
                    "field_code": "HT",
                    "channel": "ONLINE",
                    "time_limit": {"value": 2, "unit": "WORKING_DAYS"},
                }
            ]
        )
        + b"\n"
    )
    motcua("replay", events, "--store", store)
    expected_keys = {
        "level": ["unit_level"],
        "unit": ["unit_code", "unit_level"],
        "procedure": ["procedure_code"],
        "field": ["field_code"],
    }
    for by, keys in expected_keys.items():
        rows = motcua_json(
            "kpi", *PERIOD, "--by", by, "--format", "json", "--as-of", "2025-03-04", "--store", store
        )
        assert len(rows) == 1
        assert list(rows[0])[: len(keys)] == keys
        for m in METRIC_IDS:
            assert {f"{m}_num", f"{m}_den", m} <= set(rows[0])
        assert rows[0]["due_soon"] == 1 and rows[0]["in_progress"] == 1
    csv_out = motcua("kpi", *PERIOD, "--format", "csv", "--store", store).stdout
    assert csv_out.splitlines()[0].startswith("\ufeffunit_level,on_time_rate_num")  # BOM: Excel reads UTF-8
    csv_plain = motcua("kpi", *PERIOD, "--format", "csv", "--no-bom", "--store", store).stdout
    assert csv_plain.splitlines()[0].startswith("unit_level,on_time_rate_num")
    table = motcua("kpi", *PERIOD, "--as-of", "2025-03-04T10:30", "--store", store).stdout
    assert "Cấp xã" in table and "100,0%" in table and "Tồn đọng tính tại 04/03/2025 10:30" in table


def test_bad_arguments_are_refused_clearly(tmp_path):
    proc = motcua("kpi", "--from", "2025-13-01", "--to", "2025-03-01", check=False)
    assert proc.returncode != 0 and "not a date" in proc.stderr
    proc = motcua("kpi", "--from", "2025-03-10", "--to", "2025-03-01", check=False)
    assert proc.returncode != 0 and "--to must be after --from" in proc.stderr
    proc = motcua("kpi", *PERIOD, "--store", "mysql://x", check=False)
    assert proc.returncode == 2 and "unsupported store DSN" in proc.stderr
    assert "replay" in motcua("--help").stdout
