"""The worklist as officials read it: export keys, Vietnamese cells and numbers, the
summary line, CSV and the XLSX sheet (reports/worklist.py)."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl

from motcua.domain.periods import make_period
from motcua.domain.worklist import WorklistRow
from motcua.reports.worklist import (
    EXPORT_KEYS,
    HEADERS,
    WorklistNames,
    csv_text_of,
    export_rows,
    fmt_points,
    impact_note,
    summary_sentence,
    table_cells,
    write_worklist_xlsx,
)
from tests.builders import local_ms

PERIOD = make_period("month", 2025, 4)


def row(dossier_id="D1", due=date(2025, 3, 20), left=0, overdue=False, waiting=False, ended=124):
    return WorklistRow(
        dossier_id=dossier_id,
        unit_code="H75.SO.STP",
        unit_level="PROVINCE",
        procedure_code="1.001",
        field_code="HT",
        received_at=local_ms(2025, 3, 17, 23, 30),
        due_date=None if due is None else due.toordinal(),
        working_days_left=left,
        overdue=overdue,
        waiting=waiting,
        supplement_requests=2 if waiting else 0,
        unit_ended=ended,
        unit_ended_ok=100,
    )


NAMES = WorklistNames(unit=lambda c: "Sở Tư pháp", procedure=lambda c: "Cấp phiếu lý lịch", field=str)


def test_export_keys_local_dates_and_the_impact():
    (r,) = export_rows([row()], NAMES, PERIOD)
    assert tuple(r) == EXPORT_KEYS
    assert r["received_at"] == "2025-03-17T23:30:00.000+07:00" and r["received_date"] == "2025-03-17"
    assert r["due_date"] == "2025-03-20" and r["period"] == "2025-04"
    assert r["rate_impact_points"] == -0.8 and r["unit_name"] == "Sở Tư pháp"
    assert export_rows([row(due=None, left=-1, overdue=True)], NAMES, PERIOD)[0]["due_date"] is None


def test_cells_are_vietnamese_with_vietnamese_numbers():
    records = export_rows([row(left=-1_234, overdue=True, waiting=True, ended=5)], NAMES, PERIOD)
    cells = table_cells(records[0])
    assert len(cells) == len(HEADERS)
    assert cells[4:] == ["17/03/2025", "20/03/2025", "-1.234", "Có", "-16,7 điểm"]
    assert fmt_points(-0.8333) == "-0,8 điểm"
    assert table_cells(export_rows([row(due=None)], NAMES, PERIOD)[0])[5] == "–"


def test_summary_sentence_and_note():
    rows = [row("A", left=-2, overdue=True), row("B", left=1), row("C", left=2)]
    assert summary_sentence(rows, 2, "17/03/2025 10:00") == (
        "1 hồ sơ quá hạn, 2 hồ sơ đến hạn trong 2 ngày làm việc tới (tính tại 17/03/2025 10:00); "
        "tổng 3 hồ sơ cần xử lý gấp."
    )
    assert summary_sentence([], 0, "x").startswith(
        "Không có hồ sơ nào đang giải quyết quá hạn hoặc đến hạn hôm nay"
    )
    assert "tháng 04/2025" in impact_note(PERIOD) and "15/03/2025" in impact_note(PERIOD)


def test_csv_has_a_header_even_when_empty_and_booleans_as_words():
    assert csv_text_of([]).strip() == ",".join(EXPORT_KEYS)
    got = list(csv.DictReader(io.StringIO(csv_text_of(export_rows([row(waiting=True)], NAMES, PERIOD)))))
    assert got[0]["waiting_for_supplement"] == "true" and got[0]["overdue"] == "false"


def test_xlsx_keeps_dates_and_numbers(tmp_path):
    records = export_rows([row("A", left=-3, overdue=True), row("B", left=1)], NAMES, PERIOD)
    out = tmp_path / "ds.xlsx"
    write_worklist_xlsx(records, out, ["DANH SÁCH HỒ SƠ CẦN XỬ LÝ GẤP", "câu tóm tắt"], impact_note(PERIOD))
    ws = openpyxl.load_workbook(out).active
    assert [c.value for c in ws[4]][: len(HEADERS)] == [h for _k, h in HEADERS]
    first = [c.value for c in ws[5]]
    assert first[0] == "A" and first[5].date() == date(2025, 3, 20) and first[6] == -3
    assert first[8] == -0.8 and ws.cell(row=5, column=9).number_format == '0.0 "điểm"'
    assert ws.auto_filter.ref == "A4:J6" and ws.freeze_panes == "B5"
