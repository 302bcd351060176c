"""The restatement section (Điều chỉnh sau khi chốt) as officials read it: labels and
values in Vietnamese, and the section added to an .xlsx or .docx report."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..domain.closing import Restatement
from ..domain.formatting import fmt_decimal, fmt_int, fmt_percent
from ..domain.metrics import METRICS_BY_ID
from .names import Names

TITLE = "Điều chỉnh sau khi chốt"
HEADINGS = ("Đơn vị", "Lĩnh vực", "Chỉ tiêu", "Đã chốt", "Hiện tại", "Chênh lệch", "Hồ sơ")
IDS_SHOWN = 5

# Column headings of the restated cells, as the reports print them.
_COLUMN_LABELS = {
    "received_total": "Tổng số hồ sơ tiếp nhận",
    "received_online": "Tiếp nhận trực tuyến",
    "received_direct_postal": "Tiếp nhận trực tiếp, bưu chính",
    "received_carried_over": "Từ kỳ trước chuyển qua",
    "resolved_total": "Đã giải quyết",
    "resolved_early": "Giải quyết trước hạn",
    "resolved_on_time": "Giải quyết đúng hạn",
    "resolved_late": "Giải quyết quá hạn",
    "in_progress_total": "Đang giải quyết",
    "in_progress_within": "Đang giải quyết trong hạn",
    "in_progress_overdue": "Đang giải quyết quá hạn",
    "received": "Tiếp nhận trong kỳ",
    "carried_over": "Từ kỳ trước chuyển qua",
    "ended": "Đã giải quyết",
    "ended_early": "Giải quyết trước hạn",
    "ended_on_time": "Giải quyết đúng hạn",
    "ended_late": "Giải quyết quá hạn",
    "in_progress_overdue_end": "Đang giải quyết quá hạn (cuối kỳ)",
    "total": "Chỉ số 766 — tổng điểm",
}


def column_label(column: str) -> str:
    if column in _COLUMN_LABELS:
        return _COLUMN_LABELS[column]
    if column.startswith("group."):
        from ..domain.index766 import GROUPS

        name = GROUPS.get(column[6:], (column[6:], 0))[0]
        return f"Chỉ số 766 — {name}"
    m = METRICS_BY_ID.get(column)
    return m.label_vi if m is not None else column


def is_ratio(column: str) -> bool:
    m = METRICS_BY_ID.get(column)
    return m is not None and m.percent


def value_text(column: str, v: float | None) -> str:
    if v is None:
        return "–"
    if is_ratio(column):
        return fmt_percent(v)
    return fmt_int(v) if float(v).is_integer() else fmt_decimal(v, 2)


def delta_text(column: str, d: float | None) -> str:
    if d is None:
        return "–"
    sign = "+" if d > 0 else ""
    if is_ratio(column):
        return f"{sign}{fmt_decimal(d * 100, 1)} điểm"
    return f"{sign}{fmt_int(d) if float(d).is_integer() else fmt_decimal(d, 2)}"


def where_text(r: Restatement, names: Names, whole: str = "Toàn tỉnh") -> str:
    c = r.cell
    if c.unit_code:
        return names.unit(c.unit_code)
    return names.level(c.unit_level) if c.unit_level else whole


def ids_text(ids: list[str], shown: int = IDS_SHOWN) -> str:
    text = ", ".join(ids[:shown])
    return text + (f" và {len(ids) - shown} hồ sơ khác" if len(ids) > shown else "")


def table_rows(rs: Iterable[Restatement], names: Names, shown: int = IDS_SHOWN) -> list[tuple[str, ...]]:
    """One row of HEADINGS per moved cell."""
    return [
        (
            where_text(r, names),
            names.field(r.cell.field_code) if r.cell.field_code else "",
            column_label(r.cell.column),
            value_text(r.cell.column, r.closed),
            value_text(r.cell.column, r.live),
            delta_text(r.cell.column, r.delta),
            ids_text(r.dossier_ids, shown),
        )
        for r in rs
    ]


def summary_text(rs: list[Restatement]) -> str:
    if not rs:
        return f"{TITLE}: không có ô số liệu nào thay đổi so với số liệu đã chốt."
    return f"{TITLE}: {fmt_int(len(rs))} ô số liệu thay đổi so với số liệu đã chốt."


def add_xlsx_sheet(path: Path, rs: list[Restatement], names: Names, banner: str) -> None:
    """Add the section as a sheet of the workbook at ``path`` (every dossier id listed)."""
    from openpyxl import load_workbook
    from openpyxl.styles import Font

    wb = load_workbook(path)
    ws = wb.create_sheet(TITLE[:31])
    ws.append([banner])
    ws.append([summary_text(rs)])
    ws.append([])
    ws.append(list(HEADINGS))
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for row in table_rows(rs, names, shown=len(max((r.dossier_ids for r in rs), key=len, default=[]))):
        ws.append(list(row))
    for col, width in zip("ABCDEFG", (34, 24, 36, 12, 12, 14, 60)):
        ws.column_dimensions[col].width = width
    wb.save(path)


def add_docx_section(path: Path, rs: list[Restatement], names: Names, banner: str) -> None:
    """Add the section at the end of the document at ``path``."""
    from docx import Document

    doc = Document(str(path))
    doc.add_heading(TITLE, level=2)
    doc.add_paragraph(f"{banner}. {summary_text(rs)}")
    if rs:
        table = doc.add_table(rows=1, cols=len(HEADINGS))
        table.style = "Table Grid"
        for cell, h in zip(table.rows[0].cells, HEADINGS):
            cell.text = h
        for row in table_rows(rs, names):
            for cell, text in zip(table.add_row().cells, row):
                cell.text = text
    doc.save(str(path))
