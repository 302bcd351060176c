"""The restatement section as officials read it: Vietnamese labels and number formats,
and the sheet / section added to an XLSX or DOCX report."""

from __future__ import annotations

from docx import Document
from openpyxl import Workbook, load_workbook

from motcua.domain.closing import Cell, Restatement
from motcua.reports.names import Names
from motcua.reports.restated import TITLE, add_docx_section, add_xlsx_sheet, table_rows

RS = [
    Restatement(Cell("kpi_level", "COMMUNE", "", "", "on_time_rate"), 0.965, 0.953, ["D1", "D2"]),
    Restatement(
        Cell("ii06a", "COMMUNE", "U1", "HT", "resolved_late"), 1234, 1236, [f"D{i}" for i in range(7)]
    ),
    Restatement(Cell("index766", "", "", "", "group.progress"), 18.5, 18.25, []),
]
NAMES = Names(unit=lambda c: {"U1": "UBND xã A"}.get(c, c), field=lambda c: {"HT": "Hộ tịch"}.get(c, c))


def test_rows_in_vietnamese():
    rate, late, score = table_rows(RS, NAMES)
    assert rate == (
        "Cấp xã",
        "",
        "Tỷ lệ hồ sơ giải quyết đúng hạn (gồm trước hạn và đúng hạn)",
        "96,5%",
        "95,3%",
        "-1,2 điểm",
        "D1, D2",
    )
    assert late[:2] == ("UBND xã A", "Hộ tịch") and late[3:6] == ("1.234", "1.236", "+2")
    assert late[6] == "D0, D1, D2, D3, D4 và 2 hồ sơ khác"
    assert score[0] == "Toàn tỉnh" and score[2] == "Chỉ số 766 — Tiến độ giải quyết" and score[5] == "-0,25"


def test_xlsx_sheet_lists_every_dossier(tmp_path):
    path = tmp_path / "r.xlsx"
    Workbook().save(path)
    add_xlsx_sheet(path, RS, NAMES, "Số liệu đã chốt ngày 15/03/2025 08:00, phiên bản 1")
    ws = load_workbook(path)[TITLE]
    assert ws["A1"].value.startswith("Số liệu đã chốt") and "3 ô số liệu" in ws["A2"].value
    assert ws["A4"].value == "Đơn vị" and ws["G6"].value == ", ".join(f"D{i}" for i in range(7))


def test_docx_section_at_the_end(tmp_path):
    path = tmp_path / "r.docx"
    Document().save(str(path))
    add_docx_section(path, RS, NAMES, "Số liệu đã chốt ngày 15/03/2025 08:00, phiên bản 1")
    doc = Document(str(path))
    assert doc.paragraphs[0].text == TITLE and "phiên bản 1" in doc.paragraphs[1].text
    (table,) = doc.tables
    assert len(table.rows) == 1 + len(RS) and table.rows[1].cells[5].text == "-1,2 điểm"
