"""``Importer`` / ``motcua import`` on a real embedded store: the DVCQG examples of the spec
(Thanh Hoá's bare arrays with synthetic rows, OpenCPS's envelopes with one sync pair per
action) and a dossier-list sheet give hand-computed facts; a re-import changes nothing; a
corrected snapshot replaces the earlier one and a re-sent old one changes nothing; the
KPI rows equal those of the equivalent hand-written v1 events; nothing personal is kept
anywhere."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import date
from pathlib import Path

import orjson

from motcua.adapters.clickhouse_store import STATE_COLUMNS
from motcua.domain.metrics import COUNTERS
from motcua.pipeline.importing import ImportOptions
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.replay import importer as Importer
from tests.builders import local_ms
from tests.cli_runner import motcua

DATA = Path(__file__).parent / "data" / "dvcqg"
T_FILES = [DATA / "thanhhoa-snapshot.json", DATA / "thanhhoa-rows.json"]
O_FILE = DATA / "opencps.jsonl"
T_ID, O_ID = "000.00.12.H56-240311-48213", "H56.22-240301-0012"
# The personal values written into the example files' personal fields and free text.
PERSONAL = (
    "Nguyễn Văn An",
    "079203001234",
    "0912345678",
    "Trần Thị Bình",
    "Lê Văn Cường",
    "cuong@example.vn",
    "Phạm Văn Dũng",
    "Lê Thị B",
    "079203001235",
    "Thiếu bản vẽ",
    "to-khai.pdf",
    "files.example",
    "motcua.example",
    "Điện Biên",
    "TECH123",
    "Đề nghị cấp bản sao",
)
CAL = default_calendar()
ROLLUP = (
    f"SELECT day, province_code, unit_level, unit_code, procedure_code, field_code, channel, "
    f"{', '.join(f'sum({c})' for c in COUNTERS)} FROM {{db}}.kpi_daily GROUP BY ALL "
    f"HAVING {' OR '.join(f'sum({c}) != 0' for c in COUNTERS)} ORDER BY ALL"
)


def facts(store) -> dict[str, dict]:
    rows = store.client.query(
        f"SELECT {', '.join(STATE_COLUMNS)} FROM {store.db}.dossier_state FINAL"
    ).result_rows
    return {r[0]: dict(zip(STATE_COLUMNS, r)) for r in rows}


def rollup(store) -> list:
    return store.client.query(ROLLUP.format(db=store.db)).result_rows


def run(store, *paths, **options):
    return Importer(store, CAL, ImportOptions(**options)).import_dvcqg(list(paths))


def test_the_spec_examples_give_hand_computed_facts(store):
    s = run(store, *T_FILES, O_FILE)
    assert (s.requests, s.snapshots, s.rows, s.synthetic_rows) == (9, 4, 10, 2)
    assert (s.dossiers, s.events, s.new_events, s.duplicates) == (2, 12, 12, 0)
    assert not s.dead_letters
    f = facts(store)
    t, o = f[T_ID], f[O_ID]
    # T: online, received Mon 11/03 08:30, due Wed 13/03, resolved Tue 12/03: early, e-result, digitised
    assert (t["unit_code"], t["unit_level"], t["province_code"]) == ("000.00.12.H56", "PROVINCE", "H56")
    assert (t["channel"], t["procedure_code"], t["field_code"]) == ("ONLINE", "1.001612", "G09-TP03")
    assert t["due_date"] == date(2024, 3, 13) and t["end_type"] == "RESOLVED" and t["outcome"] == "EARLY"
    assert t["electronic_result"] and t["digitised_all"] and not t["paid_online"]
    # O: no KenhThucHien -> direct; supplement asked Tue 05/03, processing resumed Fri 08/03:
    # Wed 06, Thu 07, Fri 08 paused, due Fri 15/03 -> Wed 20/03; resolved Tue 19/03: early
    assert (o["unit_code"], o["channel"], o["supplement_requests"]) == ("000.00.12.H56", "DIRECT", 1)
    assert o["effective_due_date"] == date(2024, 3, 20) and o["outcome"] == "EARLY"
    assert o["end_at"].timestamp() * 1000 == local_ms(2024, 3, 19, 15)
    assert o["version"] == 7  # 3 distinct snapshots + 4 rows


def test_a_reimport_is_all_duplicates_and_changes_nothing(store):
    run(store, *T_FILES, O_FILE)
    before = (facts(store), rollup(store))
    again = run(store, O_FILE, *T_FILES)  # another order too
    assert again.duplicates == again.events == 12 and again.new_events == 0 and again.dossiers_changed == 0
    assert (facts(store), rollup(store)) == before


def test_a_corrected_snapshot_wins_and_a_resent_old_one_changes_nothing(store, tmp_path):
    run(store, *T_FILES)
    assert facts(store)[T_ID]["outcome"] == "EARLY"
    item = json.loads(T_FILES[0].read_text())
    item[0]["NgayKetThucXuLy"] = (
        "20240314100000"  # the province corrects the end: Thu 14/03, after the due date
    )
    corrected = tmp_path / "corrected.json"
    corrected.write_text(json.dumps(item, ensure_ascii=False))
    s = run(store, corrected)
    assert s.new_events == 1 and s.dossiers_changed == 1
    assert facts(store)[T_ID]["outcome"] == "LATE"
    late = rollup(store)
    s = run(store, T_FILES[0])  # the old snapshot sent again
    assert s.duplicates == 1 and s.dossiers_changed == 0
    assert facts(store)[T_ID]["outcome"] == "LATE" and rollup(store) == late


def test_a_rolled_back_status_reopens_the_dossier(store, tmp_path):
    run(store, *T_FILES)
    item = json.loads(T_FILES[0].read_text())
    item[0].update(TrangThaiHoSo="4", NgayKetThucXuLy="", NgayTra="")
    back = tmp_path / "back.json"
    back.write_text(json.dumps(item, ensure_ascii=False))
    run(store, back)
    f = facts(store)[T_ID]
    assert not f["ended"] and f["end_type"] == ""


def hand_written_events() -> list[dict]:
    """The v1 events that say what the two example dossiers say."""
    env = dict(source_system="hand", province_code="H56", unit_code="000.00.12.H56", unit_level="PROVINCE")
    t = dict(env, dossier_id=T_ID, procedure_code="1.001612", field_code="G09-TP03")
    o = dict(env, dossier_id=O_ID, procedure_code="1.004227", field_code="G16-XD04")
    return [
        dict(
            t,
            event_id="t1",
            event_type="SUBMITTED",
            occurred_at=local_ms(2024, 3, 11, 7, 2),
            channel="ONLINE",
        ),
        dict(
            t,
            event_id="t2",
            event_type="RECEIVED",
            occurred_at=local_ms(2024, 3, 11, 8, 30) + 15_000,
            channel="ONLINE",
            due_at=local_ms(2024, 3, 13, 17),
        ),
        dict(
            t,
            event_id="t3",
            event_type="RESOLVED",
            occurred_at=local_ms(2024, 3, 12, 14, 30),
            electronic_result=True,
        ),
        dict(
            t,
            event_id="t4",
            event_type="RESULT_RETURNED",
            occurred_at=local_ms(2024, 3, 12, 16),
            return_channel="DIRECT",
        ),
        dict(
            t,
            event_id="t5",
            event_type="DIGITISED",
            occurred_at=local_ms(2024, 3, 11, 8, 30),
            components_total=1,
            components_digitised=1,
            components_reused=0,
        ),
        dict(
            o,
            event_id="o1",
            event_type="RECEIVED",
            occurred_at=local_ms(2024, 3, 1, 9, 10),
            channel="DIRECT",
            due_at=local_ms(2024, 3, 15, 17),
        ),
        dict(o, event_id="o2", event_type="SUPPLEMENT_REQUESTED", occurred_at=local_ms(2024, 3, 5, 10, 30)),
        dict(o, event_id="o3", event_type="SUPPLEMENT_RECEIVED", occurred_at=local_ms(2024, 3, 8, 9)),
        dict(
            o,
            event_id="o4",
            event_type="RESOLVED",
            occurred_at=local_ms(2024, 3, 19, 15),
            electronic_result=True,
        ),
        dict(o, event_id="o5", event_type="RESULT_RETURNED", occurred_at=local_ms(2024, 3, 20, 8)),
    ]


def test_kpi_rows_equal_those_of_the_equivalent_v1_events(new_store):
    imported, replayed = new_store(), new_store()
    run(imported, *T_FILES, O_FILE)
    EmbeddedPipeline(replayed, CAL).ingest(("hand", e) for e in hand_written_events())
    assert rollup(imported) == rollup(replayed)
    a, b = facts(imported), facts(replayed)
    skip = {"version", "calendar_version", "revision"}
    for d in (T_ID, O_ID):
        assert {k: v for k, v in a[d].items() if k not in skip} == {
            k: v for k, v in b[d].items() if k not in skip
        }


def test_bad_requests_and_items_are_dead_letters_with_their_position(store):
    s = run(store, DATA / "damaged.jsonl")
    assert dict(s.dead_letters) == {"BAD_JSON": 1, "NO_DOSSIER_CODE": 1, "BAD_DATE": 1}
    rows = store.client.query(
        f"SELECT source, code, reason FROM {store.db}.dead_letters FINAL ORDER BY source"
    ).result_rows
    assert [(r[0], r[1]) for r in rows] == [
        ("damaged.jsonl:1", "BAD_JSON"),
        ("damaged.jsonl:2 mục 1", "NO_DOSSIER_CODE"),
        ("damaged.jsonl:2 mục 2", "BAD_DATE"),
    ]
    assert "NgayTiepNhan" in rows[2][2]


def test_a_sheet_import_gives_the_rows_dossiers(store):
    s = Importer(store, CAL, ImportOptions(source_system="sheet")).import_sheet(DATA / "danh-sach.csv")
    assert (s.sheet_rows, s.snapshots, s.events) == (4, 2, 2)
    assert dict(s.dead_letters) == {"NO_DOSSIER_CODE": 1, "BAD_DATE": 1}
    f = facts(store)
    one, two = f["000.00.12.H56-250303-00001"], f["000.00.12.H56-250303-00002"]
    # received Mon 03/03/2025 08:30 online, due Wed 05/03, result Thu 06/03: late
    assert (one["channel"], one["due_date"], one["outcome"]) == ("ONLINE", date(2025, 3, 5), "LATE")
    assert (two["channel"], two["ended"], two["unit_code"]) == ("DIRECT", False, "000.00.12.H56")


def test_reimporting_a_sheet_and_an_updated_export_follow_the_snapshot_rule(store, tmp_path):
    sheet = DATA / "danh-sach.csv"
    importer = Importer(store, CAL, ImportOptions(source_system="sheet"))
    importer.import_sheet(sheet)
    again = importer.import_sheet(sheet)
    assert again.duplicates == again.events == 2 and again.dossiers_changed == 0
    # the next export: dossier 2 got its result on Thu 06/03 (due Fri 07/03): early
    updated = tmp_path / "danh-sach-moi.csv"
    updated.write_bytes(
        sheet.read_bytes().replace(
            "07/03/2025;;Đang xử lý".encode(), "07/03/2025;06/03/2025 15:00;Đã xử lý xong".encode()
        )
    )
    s = importer.import_sheet(updated)
    assert (s.new_events, s.duplicates, s.dossiers_changed) == (1, 1, 1)
    two = facts(store)["000.00.12.H56-250303-00002"]
    assert two["ended"] and two["outcome"] == "EARLY"


def _every_table_as_text(store) -> str:
    out = []
    for (name,) in store.client.query(f"SHOW TABLES FROM {store.db}").result_rows:
        engine = store.client.query(
            "SELECT engine FROM system.tables WHERE database = {d:String} AND name = {n:String}",
            parameters={"d": store.db, "n": name},
        ).result_rows[0][0]
        if engine.endswith("View") and engine != "MaterializedView":
            continue
        rows = store.client.query(
            f"SELECT * FROM {store.db}.`{name}`", column_formats={"*": "string"}
        ).result_rows
        out.append(orjson.dumps(rows, default=str).decode())
    return "\n".join(out)


def test_nothing_personal_is_kept_in_any_table_or_log(store, caplog):
    caplog.set_level(logging.DEBUG)
    run(store, *T_FILES, O_FILE, DATA / "damaged.jsonl")
    Importer(store, CAL, ImportOptions(source_system="sheet")).import_sheet(DATA / "danh-sach.csv")
    text = _every_table_as_text(store) + "\n" + caplog.text
    assert "000.00.12.H56" in text  # the scan reads the tables
    for value in PERSONAL:
        assert value not in text, value


def test_the_command_as_a_user_runs_it(tmp_path):
    dsn = f"chdb://{tmp_path}/store"
    files = [shutil.copy(p, tmp_path) for p in (*T_FILES, O_FILE)]
    proc = motcua("import", "dvcqg", *files, "--store", dsn)
    assert "Kết quả nhập dữ liệu đồng bộ DVCQG" in proc.stderr and "Dòng tiến độ" in proc.stderr
    out = json.loads(motcua("import", "dvcqg", *files, "--store", dsn, "--format", "json").stdout)
    assert out["duplicates"] == out["events"] == 12
    bad = motcua(
        "import", "dvcqg", shutil.copy(DATA / "damaged.jsonl", tmp_path), "--store", dsn, check=False
    )
    assert bad.returncode == 1 and "BAD_DATE" in bad.stderr
    kpi = json.loads(
        motcua("kpi", "--from", "2024-03-01", "--to", "2024-04-01", "--store", dsn, "--format", "json").stdout
    )
    assert kpi
    for value in PERSONAL:
        assert value not in proc.stdout + proc.stderr + bad.stdout + bad.stderr


def test_stored_snapshot_events_replay_to_the_same_tables(new_store, tmp_path):
    """What an import stores (the stamped SNAPSHOT events and the rows' events) is a
    v2 event file like any other: replayed into a fresh store (the bulk path sends the
    SNAPSHOT dossiers through Python) it gives the same tables."""
    from tests.integration.test_bulk_replay import tables

    imported = new_store()
    run(imported, *T_FILES, O_FILE)
    item = json.loads(T_FILES[0].read_text())
    item[0]["NgayKetThucXuLy"] = "20240314100000"
    corrected = tmp_path / "corrected.json"
    corrected.write_text(json.dumps(item, ensure_ascii=False))
    run(imported, corrected)
    payloads = [
        r[0]
        for r in imported.client.query(
            f"SELECT any(payload) FROM {imported.db}.events GROUP BY event_id ORDER BY event_id",
            column_formats={"any(payload)": "bytes"},
        ).result_rows
    ]
    assert all(b'"snapshot_rank"' in p for p in payloads if b'"SNAPSHOT"' in p)
    export = tmp_path / "export.jsonl"
    export.write_bytes(b"\n".join(payloads) + b"\n")
    for bulk in (True, False):
        again = new_store()
        EmbeddedPipeline(again, CAL).replay_files([export], bulk=bulk)
        mine, theirs = tables(imported), tables(again)
        for name in ("state", "rollup", "backlog"):
            assert mine[name] == theirs[name], name
        assert facts(again)[T_ID]["outcome"] == "LATE"
