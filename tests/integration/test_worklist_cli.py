"""``motcua worklist`` as a user runs it: simulated dossiers replayed into an embedded
store, the list in every format equal to the pure reference, bad arguments refused."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest

from motcua.domain.lifecycle import derive_facts, fold
from motcua.domain.worklist import official_month_of, summary, worklist_rows
from motcua.reference.official_calendar import default_calendar
from motcua.reports.worklist import EXPORT_KEYS, WorklistNames, export_rows
from motcua.simulate import simulate
from tests.builders import local_ms
from tests.cli_runner import motcua, motcua_json

cal = default_calendar()
AS_OF = "2025-03-17T10:00"
T = local_ms(2025, 3, 17, 10)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """Twenty days of Đồng Nai at a small scale, replayed through the CLI; the pure facts."""
    tmp = tmp_path_factory.mktemp("worklist")
    store = f"chdb://{tmp / 'store'}"
    events = tmp / "march.jsonl"
    args = ("--province", "75", "--from", "2025-03-01", "--to", "2025-03-21", "--seed", "5")
    motcua("simulate", *args, "--scale", "0.05", "--out", events)
    motcua("replay", events, "--store", store)
    by_id: dict = {}
    for e in simulate("75", date(2025, 3, 1), date(2025, 3, 20), seed=5, scale=0.05):
        by_id.setdefault(e["dossier_id"], []).append(dict(e))
    facts = [derive_facts(fold(k, v), cal) for k, v in by_id.items()]
    return store, facts, tmp


def expected(facts, within=2, **kw):
    rows = worklist_rows(facts, T, within, cal, **kw)
    return rows, export_rows(rows, WorklistNames.from_registry(), official_month_of(date(2025, 3, 17)))


def test_json_is_the_pure_worklist_with_its_summary(sim):
    store, facts, _tmp = sim
    doc = motcua_json("worklist", "--as-of", AS_OF, "--format", "json", "--store", store)
    rows, records = expected(facts)
    assert doc["rows"] == records and len(records) > 20
    assert (doc["overdue"], doc["due_within"]) == summary(rows)
    assert doc["period"] == {"code": "2025-04", "from": "2025-03-15", "to": "2025-04-15"}
    assert doc["as_of"] == "2025-03-17T10:00:00.000+07:00" and doc["within_working_days"] == 2
    assert any(r["overdue"] for r in records) and any(not r["overdue"] for r in records)
    # --within 0 and one unit
    unit = max({r.unit_code for r in rows}, key=lambda u: sum(r.unit_code == u for r in rows))
    doc = motcua_json(
        "worklist", "--as-of", AS_OF, "--within", "0", "--unit", unit, "--format", "json", "--store", store
    )
    assert doc["rows"] == expected(facts, 0, unit=unit)[1]
    assert {r["unit_code"] for r in doc["rows"]} == {unit}


def test_table_csv_and_xlsx_carry_the_same_rows(sim):
    store, facts, tmp = sim
    rows, records = expected(facts, level="COMMUNE")
    overdue, due = summary(rows)
    table = motcua("worklist", "--as-of", AS_OF, "--level", "xa", "--store", store).stdout
    for header in ("Mã hồ sơ", "Đơn vị", "Thủ tục", "Lĩnh vực", "Hạn xử lý", "Chờ bổ"):
        assert header in table
    first = records[0]
    assert (
        first["dossier_id"] in table and date.fromisoformat(first["due_date"]).strftime("%d/%m/%Y") in table
    )
    assert f"{overdue} hồ sơ quá hạn, {due} hồ sơ đến hạn trong 2 ngày làm việc tới" in table
    assert " điểm" in table and "tháng 04/2025" in table
    short = motcua("worklist", "--as-of", AS_OF, "--max-rows", "3", "--store", store).stdout
    assert f"Bảng chỉ hiện 3 hồ sơ gấp nhất trên {len(expected(facts)[0])}" in short
    text = motcua(
        "worklist", "--as-of", AS_OF, "--level", "COMMUNE", "--format", "csv", "--store", store
    ).stdout
    got = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["dossier_id"] for r in got] == [r["dossier_id"] for r in records]
    assert list(got[0]) == list(EXPORT_KEYS) and got[0]["overdue"] in ("true", "false")
    out = tmp / "ds.xlsx"
    motcua(
        "worklist", "--as-of", AS_OF, "--level", "COMMUNE", "--format", "xlsx", "--out", out, "--store", store
    )
    ws = openpyxl.load_workbook(out).active
    ids = [row[0] for row in ws.iter_rows(min_row=5, values_only=True) if row[0] and row[1]]
    assert ids == [r["dossier_id"] for r in records]


def test_an_empty_list_says_so_and_bad_arguments_are_refused(sim):
    store, _facts, _tmp = sim
    empty = motcua("worklist", "--as-of", "2025-02-20", "--store", store)
    assert "Không có hồ sơ nào đang giải quyết quá hạn hoặc đến hạn" in empty.stdout
    far = motcua_json("worklist", "--as-of", "2031-01-01", "--format", "json", "--store", store)
    assert far["rows"] and all(r["overdue"] for r in far["rows"])  # a far future as-of is fine
    for args, needle in (
        (("--within", "-1"), "--within"),
        (("--level", "tinhh"), "cấp không hợp lệ"),
        (("--unit", "H75.KHONG.CO"), "không có đơn vị mã"),
        (("--as-of", "2099-01-01"), "nằm ngoài lịch làm việc"),
        (("--province", "01"), "--province"),
    ):
        proc = motcua("worklist", *args, "--store", store, check=False)
        assert proc.returncode == 2 and needle in proc.stdout + proc.stderr, args
