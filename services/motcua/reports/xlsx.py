"""XLSX documents (openpyxl): form II.06a and the 766 index.

Figures stay numbers (officials edit and sum them); the number formats group thousands
and show percentages with one decimal, which Excel/LibreOffice display in the reader's
locale (1.234.567 and 96,5% under Vietnamese settings).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

from ..domain.ii06a import (
    COLUMN_FORMULAS,
    COLUMNS,
    FIGURES,
    FORM_CODE,
    FORM_TITLE,
    II06aReport,
    identity_sentence,
    level_field_rows,
)
from ..domain.index766 import GROUPS, ScoringConfig
from ..domain.vocabulary import level_short_label
from .layout import MARGIN_BOTTOM_CM, MARGIN_LEFT_CM, MARGIN_RIGHT_CM, MARGIN_TOP_CM
from .names import Names
from .province import ReportProvince, from_registry

INT_FMT = "#,##0"
PCT_FMT = "0.00"
_thin = Side(style="thin", color="808080")
BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
BOLD = Font(bold=True)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def print_setup(ws, title_rows: str | None, landscape: bool = True) -> None:
    """Print on A4 (landscape by default), every column on one page width, the heading
    rows repeated on every page, NĐ 30 margins, "Trang 1/3" in the footer."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows:
        ws.print_title_rows = title_rows
    inch = 2.54
    ws.page_margins = PageMargins(
        left=MARGIN_LEFT_CM / inch,
        right=MARGIN_RIGHT_CM / inch,
        top=MARGIN_TOP_CM / inch,
        bottom=MARGIN_BOTTOM_CM / inch,
        header=0.3,
        footer=0.3,
    )
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "Trang &P/&N"
    ws.oddFooter.center.size = 10


def _as_province(province: ReportProvince | str | None) -> ReportProvince | None:
    if province is None or isinstance(province, ReportProvince):
        return province
    return from_registry(province) if province else None


def _ii06a_header(ws, report: II06aReport, subtitle: str, first_col_title: str) -> int:
    """Title, period, the two heading rows and the column-number row; returns the next row."""
    ncols = 2 + len(FIGURES)
    last = get_column_letter(ncols)
    ws["A1"] = FORM_CODE
    ws["A1"].font = Font(italic=True)
    ws["A2"] = FORM_TITLE
    ws.merge_cells(f"A2:{last}2")
    ws["A2"].font = Font(bold=True, size=13)
    ws["A2"].alignment = CENTER
    ws["A3"] = subtitle
    ws.merge_cells(f"A3:{last}3")
    ws["A3"].alignment = CENTER
    period = (
        f"Kỳ báo cáo: từ ngày {report.start:%d/%m/%Y} đến ngày "
        f"{report.end.fromordinal(report.end.toordinal() - 1):%d/%m/%Y}"
    )
    if report.provisional:
        period += " (số liệu tạm tính, kỳ chưa kết thúc)"
    ws["A4"] = period
    ws.merge_cells(f"A4:{last}4")
    ws["A4"].alignment = CENTER
    h1, h2, h3 = 6, 7, 8
    ws.cell(h1, 1, "STT")
    ws.merge_cells(start_row=h1, start_column=1, end_row=h2, end_column=1)
    ws.cell(h1, 2, first_col_title)
    ws.merge_cells(start_row=h1, start_column=2, end_row=h2, end_column=2)
    col = 3
    groups: list[tuple[str, int, int]] = []
    for _key, group, heading in COLUMNS:
        if not groups or groups[-1][0] != group:
            groups.append((group, col, col))
        else:
            groups[-1] = (group, groups[-1][1], col)
        ws.cell(h2, col, heading)
        col += 1
    for group, c0, c1 in groups:
        ws.cell(h1, c0, group)
        ws.merge_cells(start_row=h1, start_column=c0, end_row=h1, end_column=c1)
    for c in range(1, ncols + 1):
        key = FIGURES[c - 3] if c >= 3 else None
        ws.cell(h3, c, COLUMN_FORMULAS.get(key, f"({c})") if key else f"({c})")
        for r in (h1, h2, h3):
            cell = ws.cell(r, c)
            cell.alignment = CENTER
            cell.border = BORDER
            cell.font = BOLD if r < h3 else Font(italic=True, size=9)
            if r < h3:
                cell.fill = HEAD_FILL
    ws.row_dimensions[h2].height = 48
    ws.column_dimensions["A"].width = 6
    ws.column_dimensions["B"].width = 48
    for c in range(3, ncols + 1):
        ws.column_dimensions[get_column_letter(c)].width = 13
    ws.freeze_panes = ws.cell(h3 + 1, 3)
    print_setup(ws, f"{h1}:{h3}")
    return h3 + 1


def _figure_row(
    ws,
    r: int,
    stt: str,
    name: str,
    figures: dict,
    bold: bool = False,
    fill: PatternFill | None = None,
    indent: int = 0,
) -> None:
    ws.cell(r, 1, stt)
    ws.cell(r, 2, name).alignment = Alignment(indent=indent, wrap_text=True, vertical="center")
    for i, key in enumerate(FIGURES):
        cell = ws.cell(r, 3 + i, figures[key])
        cell.number_format = INT_FMT
    for c in range(1, 3 + len(FIGURES)):
        cell = ws.cell(r, c)
        cell.border = BORDER
        if bold:
            cell.font = BOLD
        if fill is not None:
            cell.fill = fill


def write_ii06a_xlsx(
    report: II06aReport, path: Path, names: Names, province: ReportProvince | str | None = None
) -> Path:
    """One sheet per unit level (units, then their lĩnh vực) and a 'Tổng hợp' sheet with
    the totals per level and for the province, plus the lĩnh vực rows per level."""
    prov = _as_province(province)
    wb = Workbook()
    summary = wb.active
    summary.title = "Tổng hợp"
    subtitle = prov.full_name if prov else "Toàn tỉnh"
    whole = prov.whole if prov else "toàn tỉnh"
    r = _ii06a_header(summary, report, subtitle, "Lĩnh vực, công việc giải quyết theo cấp")
    _figure_row(summary, r, "", f"TỔNG SỐ ({whole})", report.total, bold=True, fill=TOTAL_FILL)
    r += 1
    roman = ["I", "II", "III", "IV", "V", "VI"]
    for i, lv in enumerate(report.levels):
        _figure_row(
            summary,
            r,
            roman[i] if i < len(roman) else str(i + 1),
            names.level(lv.level),
            lv.total,
            bold=True,
            fill=TOTAL_FILL,
        )
        r += 1
        for j, (field_code, figs) in enumerate(level_field_rows(lv), start=1):
            _figure_row(summary, r, str(j), names.field(field_code), figs, indent=1)
            r += 1
    summary.cell(r + 1, 1, identity_sentence(report))
    notes = [
        *(prov.notes_for(report.start) if prov else []),
        *([] if report.rows else ["Không có hồ sơ nào trong kỳ báo cáo."]),
    ]
    for i, note in enumerate(notes, start=2):
        summary.cell(r + i, 1, note).font = Font(italic=True)
    for lv in report.levels:
        ws = wb.create_sheet(level_short_label(lv.level)[:31])
        r = _ii06a_header(ws, report, f"{names.level(lv.level)} — {subtitle}", "Đơn vị / Lĩnh vực")
        _figure_row(
            ws, r, "", f"TỔNG SỐ {names.level(lv.level).upper()}", lv.total, bold=True, fill=TOTAL_FILL
        )
        r += 1
        for i, u in enumerate(lv.units, start=1):
            _figure_row(ws, r, str(i), f"{names.unit(u.unit_code)} ({u.unit_code})", u.total, bold=True)
            r += 1
            for j, row in enumerate(u.rows, start=1):
                _figure_row(ws, r, f"{i}.{j}", names.field(row["field_code"]), row, indent=2)
                r += 1
    if report.problems:
        ws = wb.create_sheet("Kiểm tra số liệu")
        ws.append(["Mã đơn vị", "Cấp", "Lĩnh vực", "Vấn đề", "Chênh lệch"])
        for p in report.problems:
            ws.append(
                [
                    p["unit_code"],
                    names.level(p["unit_level"]),
                    names.field(p["field_code"]),
                    p["problem"],
                    p["gap"],
                ]
            )
        for c in ws[1]:
            c.font = BOLD
        for col, w in zip("ABCDE", (22, 16, 30, 60, 12)):
            ws.column_dimensions[col].width = w
        print_setup(ws, "1:1")
    wb.save(path)
    return path


def write_index766_xlsx(
    items: list[dict],
    path: Path,
    names: Names,
    period_text: str,
    config: ScoringConfig | None = None,
    province: ReportProvince | str | None = None,
    period_start: date | None = None,
) -> Path:
    """One row per unit (the province first): group scores, total and grade; a second
    sheet with every metric's numerator, denominator, ratio and score. With
    ``period_start``, row 3 carries the province's notes (the former provinces of a
    period before 2025-07-01)."""
    config = config or ScoringConfig()
    prov = _as_province(province)
    whole = (prov.whole if prov else "toàn tỉnh").capitalize()
    if prov is not None:
        period_text = f"{prov.full_name}. {period_text}"
    notes = prov.notes_for(period_start) if (prov is not None and period_start is not None) else []
    wb = Workbook()
    ws = wb.active
    ws.title = "Điểm theo nhóm"
    _index766_scores(ws, items, names, whole, period_text, notes)
    _index766_detail(wb.create_sheet("Chi tiết chỉ tiêu"), items, names, whole, config)
    wb.save(path)
    return path


def _index766_scores(
    ws, items: list[dict], names: Names, whole: str, period_text: str, notes: list[str]
) -> None:
    """The first sheet: title, period, the notes (or an empty row 3), then one row of group
    scores, total and grade per unit under a frozen header in row 4."""
    ws["A1"] = "CHỈ SỐ PHỤC VỤ NGƯỜI DÂN, DOANH NGHIỆP (QĐ 766/QĐ-TTg) — PHẦN DỰA TRÊN HỒ SƠ"
    ws["A1"].font = Font(bold=True, size=12)
    ws["A2"] = period_text
    head = (
        ["Mã đơn vị", "Đơn vị", "Cấp"]
        + [f"{GROUPS[g][0]} (tối đa {GROUPS[g][1]})" for g in GROUPS]
        + ["Tổng điểm", "Điểm tối đa", "Tỷ lệ điểm (%)", "Xếp loại"]
    )
    if notes:
        ws["A3"] = " ".join(notes)
        ws["A3"].font = Font(italic=True)
    else:
        ws.append([])
    ws.append(head)
    for c in ws[4]:
        c.font, c.fill, c.alignment, c.border = BOLD, HEAD_FILL, CENTER, BORDER
    for it in items:
        name = whole if not it["unit_code"] else names.unit(it["unit_code"])
        row = [it["unit_code"], name, names.level(it["unit_level"]) if it["unit_level"] else ""]
        row += [it["groups"][g]["score"] if g in it["groups"] else None for g in GROUPS]
        tot = it["total"]
        row += [tot["score"], tot["max"], tot["percent"], tot["grade"]]
        ws.append(row)
        for c in ws[ws.max_row]:
            c.border = BORDER
            if isinstance(c.value, float):
                c.number_format = PCT_FMT
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 40
    ws.column_dimensions["C"].width = 14
    for col in range(4, len(head) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 15
    ws.row_dimensions[4].height = 45
    ws.freeze_panes = "D5"
    print_setup(ws, "4:4")


def _index766_detail(detail, items: list[dict], names: Names, whole: str, config: ScoringConfig) -> None:
    """The second sheet: every metric of every unit with its numerator, denominator, ratio
    and score, so an official can check each score by hand."""
    detail.append(
        [
            "Mã đơn vị",
            "Đơn vị",
            "Nhóm",
            "Mã chỉ tiêu",
            "Chỉ tiêu",
            "Tử số",
            "Mẫu số",
            "Tỷ lệ (%)",
            "Điểm",
            "Điểm tối đa",
        ]
    )
    for c in detail[1]:
        c.font, c.fill = BOLD, HEAD_FILL
    defs = config.by_code
    for it in items:
        name = whole if not it["unit_code"] else names.unit(it["unit_code"])
        for code, m in it["metrics"].items():
            cnt = it["counts"][code]
            detail.append(
                [
                    it["unit_code"],
                    name,
                    GROUPS[defs[code].group][0],
                    code,
                    defs[code].label_vi,
                    cnt["numerator"],
                    cnt["denominator"],
                    m["ratio"],
                    m["score"],
                    m["max"],
                ]
            )
            for c in detail[detail.max_row][5:7]:
                c.number_format = INT_FMT
            for c in detail[detail.max_row][7:10]:
                c.number_format = PCT_FMT
    for letter, w in zip("ABCDEFGHIJ", (16, 36, 22, 36, 50, 10, 10, 10, 8, 10)):
        detail.column_dimensions[letter].width = w
    detail.freeze_panes = "C2"
    print_setup(detail, "1:1")
