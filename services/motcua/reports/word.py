"""DOCX documents (python-docx): form II.06a and the monthly CCHC report.

Numbers in the text and tables use Vietnamese formats (1.234.567; 96,5%) from
``domain.formatting``.
"""

from __future__ import annotations

import tempfile
from copy import deepcopy
from datetime import date
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import _Cell

from ..domain.formatting import fmt_int, fmt_percent
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
from .names import Names

FONT = "Times New Roman"
TABLE_PT = 8.5


def new_document() -> Document:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(12)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    for name in ("Heading 1", "Heading 2", "Title"):
        st = doc.styles[name]
        st.font.name = FONT
        st.font.color.rgb = RGBColor(0, 0, 0)
        st.font.size = Pt(13 if name == "Heading 1" else 12)
        fonts = st.element.rPr.rFonts
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(attr), None)
        fonts.set(qn("w:eastAsia"), FONT)
    sec = doc.sections[0]
    sec.left_margin = sec.right_margin = Cm(2)
    sec.top_margin = sec.bottom_margin = Cm(1.8)
    return doc


def landscape(section) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE
    w, h = section.page_width, section.page_height
    if h > w:
        section.page_width, section.page_height = h, w
    section.left_margin = section.right_margin = Cm(1.5)
    section.top_margin = section.bottom_margin = Cm(1.5)


def centered(doc, text: str, bold: bool = False, size: float | None = None, italic: bool = False):
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run(text)
    run.bold, run.italic = bold, italic
    if size:
        run.font.size = Pt(size)
    return p


def _cell_text(cell, text: str, bold: bool = False, align=None, size: float = TABLE_PT,
               italic: bool = False) -> None:
    p = cell.paragraphs[0]
    run = p.add_run(text)
    run.bold, run.italic = bold, italic
    run.font.size = Pt(size)
    if align is not None:
        p.alignment = align
    p.paragraph_format.space_after = Pt(0)


def _shade(cell, hex_fill: str) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), hex_fill)
    tc_pr.append(shd)


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def row_cells(table, row) -> list:
    """A row's cells without python-docx's ``row.cells``, which rebuilds the whole table's
    cell grid on every call (quadratic on large tables). Valid for rows without merges."""
    return [_Cell(tc, table) for tc in row._tr.tc_lst]


def add_row_cells(table) -> list:
    return row_cells(table, table.add_row())


def set_widths(table, widths) -> None:
    """Fixed column widths (the grid, for LibreOffice, and every cell, for Word)."""
    table.autofit = False
    for col, w in zip(table.columns, widths):
        col.width = w
    for row in table.rows:
        for tc, w in zip(row._tr.tc_lst, widths):
            tc.width = w


def simple_table(doc, header: list[str], rows: list[list[str]], widths_cm: list[float] | None = None,
                 numeric_from: int = 1, bold_rows: set[int] = frozenset()):
    t = doc.add_table(rows=1, cols=len(header))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, h in enumerate(header):
        _cell_text(t.rows[0].cells[i], h, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        _shade(t.rows[0].cells[i], "DDEBF7")
    _repeat_header(t.rows[0])
    for ri, r in enumerate(rows):
        cells = add_row_cells(t)
        for i, v in enumerate(r):
            _cell_text(cells[i], v, bold=ri in bold_rows,
                       align=WD_ALIGN_PARAGRAPH.RIGHT if i >= numeric_from else None)
    if widths_cm:
        set_widths(t, [Cm(w) for w in widths_cm])
    return t


def ii06a_table(doc, report: II06aReport, rows: list[tuple[str, str, dict, bool]], first_col: str):
    """The form's table: two heading rows, the column-number row, then (stt, name,
    figures, bold) rows."""
    ncols = 2 + len(FIGURES)
    t = doc.add_table(rows=3, cols=ncols)
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    h1, h2, h3 = t.rows[0].cells, t.rows[1].cells, t.rows[2].cells
    a = h1[0].merge(h2[0])
    _cell_text(a, "STT", bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    b = h1[1].merge(h2[1])
    _cell_text(b, first_col, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    groups: list[tuple[str, int, int]] = []
    for i, (_key, group, heading) in enumerate(COLUMNS):
        col = 2 + i
        _cell_text(h2[col], heading, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
        if not groups or groups[-1][0] != group:
            groups.append((group, col, col))
        else:
            groups[-1] = (group, groups[-1][1], col)
    for group, c0, c1 in groups:
        merged = h1[c0].merge(h1[c1])
        _cell_text(merged, group, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    for c in range(ncols):
        key = FIGURES[c - 2] if c >= 2 else None
        _cell_text(h3[c], COLUMN_FORMULAS.get(key, f"({c + 1})") if key else f"({c + 1})",
                   italic=True, align=WD_ALIGN_PARAGRAPH.CENTER, size=7.5)
    for r in t.rows[:2]:
        for c in r.cells:
            _shade(c, "DDEBF7")
    for r in t.rows[:3]:
        _repeat_header(r)
    set_widths(t, [Cm(1.0), Cm(6.4)] + [Cm(1.72)] * len(FIGURES))
    # Data rows are copies of two prototype rows (normal, bold) with their texts replaced:
    # python-docx spends ~0.5 ms per formatted cell, too slow for a province's form.
    protos = {}
    for bold in (False, True):
        cells = add_row_cells(t)
        _cell_text(cells[0], "x", bold=bold, align=WD_ALIGN_PARAGRAPH.CENTER)
        _cell_text(cells[1], "x", bold=bold)
        for i in range(len(FIGURES)):
            _cell_text(cells[2 + i], "x", bold=bold, align=WD_ALIGN_PARAGRAPH.RIGHT)
        protos[bold] = t.rows[-1]._tr
    for tr in protos.values():
        t._tbl.remove(tr)
    for stt, name, figs, bold in rows:
        tr = deepcopy(protos[bold])
        texts = [stt, name] + [fmt_int(figs[key]) for key in FIGURES]
        for tc, text in zip(tr.tc_lst, texts):
            tc.xpath(".//w:t")[0].text = text
        t._tbl.append(tr)
    return t


ROMAN = ["I", "II", "III", "IV", "V", "VI"]


def level_field_table_rows(report: II06aReport, names: Names) -> list[tuple[str, str, dict, bool]]:
    """Province total, then each level's total and its lĩnh vực rows (the form at province level)."""
    rows = [("", "TỔNG SỐ", report.total, True)]
    for i, lv in enumerate(report.levels):
        rows.append((ROMAN[i] if i < len(ROMAN) else str(i + 1), names.level(lv.level), lv.total, True))
        for j, (field_code, figs) in enumerate(level_field_rows(lv), start=1):
            rows.append((str(j), names.field(field_code), figs, False))
    return rows


def _period_line(report: II06aReport) -> str:
    last = date.fromordinal(report.end.toordinal() - 1)
    text = f"Kỳ báo cáo: từ ngày {report.start:%d/%m/%Y} đến ngày {last:%d/%m/%Y}"
    if report.provisional:
        text += " (số liệu tạm tính, kỳ chưa kết thúc)"
    return text


def write_ii06a_docx(report: II06aReport, path: Path, names: Names, province_name: str = "") -> Path:
    doc = new_document()
    landscape(doc.sections[0])
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p.add_run(FORM_CODE).italic = True
    centered(doc, FORM_TITLE, bold=True, size=13)
    centered(doc, f"Tỉnh {province_name}" if province_name else "Toàn tỉnh")
    centered(doc, _period_line(report), italic=True)
    doc.add_heading("Tổng hợp theo cấp và lĩnh vực", level=2)
    ii06a_table(doc, report, level_field_table_rows(report, names), "Lĩnh vực, công việc giải quyết theo cấp")
    for lv in report.levels:
        doc.add_heading(f"{names.level(lv.level)}: chi tiết theo đơn vị và lĩnh vực", level=2)
        rows = [("", f"TỔNG SỐ {names.level(lv.level).upper()}", lv.total, True)]
        for i, u in enumerate(lv.units, start=1):
            rows.append((str(i), names.unit(u.unit_code), u.total, True))
            rows += [(f"{i}.{j}", "   " + names.field(r["field_code"]), r, False)
                     for j, r in enumerate(u.rows, start=1)]
        ii06a_table(doc, report, rows, "Đơn vị / Lĩnh vực")
    doc.add_paragraph()
    doc.add_paragraph(identity_sentence(report))
    _problems(doc, report, names)
    doc.save(path)
    return path


def _problems(doc, report: II06aReport, names: Names) -> None:
    if not report.problems:
        return
    simple_table(doc, ["Đơn vị", "Lĩnh vực", "Vấn đề"],
                 [[names.unit(p["unit_code"]), names.field(p["field_code"]), p["problem"]]
                  for p in report.problems[:200]], numeric_from=99)


# -- the monthly report ----------------------------------------------------------------

def write_monthly_docx(d, path: Path, names: Names, chart_dir: Path | None = None) -> Path:
    """The monthly CCHC report (see module doc of ``reports.summary`` for the words)."""
    from .charts import level_chart, trend_chart
    from .summary import bottom_units, level_target_rows, pp, short_label, summary_paragraphs
    from .data import target_for, target_text

    doc = new_document()
    head = doc.add_table(rows=1, cols=2)
    left, right = head.rows[0].cells
    _cell_text(left, f"ỦY BAN NHÂN DÂN\nTỈNH {d.province_name.upper()}", bold=True,
               align=WD_ALIGN_PARAGRAPH.CENTER, size=12)
    _cell_text(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc", bold=True,
               align=WD_ALIGN_PARAGRAPH.CENTER, size=12)
    set_widths(head, [Cm(6.5), Cm(10.5)])
    doc.add_paragraph()
    centered(doc, "BÁO CÁO", bold=True, size=15)
    centered(doc, f"Tình hình, kết quả giải quyết thủ tục hành chính {d.period.label_vi}", bold=True, size=13)
    centered(doc, f"Kỳ báo cáo: {d.period.range_vi}", italic=True)
    if d.provisional:
        centered(doc, "(Số liệu tạm tính: kỳ báo cáo chưa kết thúc)", italic=True)

    doc.add_heading("I. Tóm tắt", level=1)
    for para in summary_paragraphs(d, names.unit):
        doc.add_paragraph(para).paragraph_format.first_line_indent = Cm(1)

    doc.add_heading("II. Kết quả theo cấp so với chỉ tiêu kế hoạch CCHC", level=1)
    rows = []
    last_metric = None
    for tr in level_target_rows(d):
        label = short_label(tr.metric).capitalize() if tr.metric != last_metric else ""
        last_metric = tr.metric
        verdict = {True: "Đạt", False: "Chưa đạt", None: ""}[tr.met]
        rows.append([label, names.level_short(tr.level), fmt_int(tr.denominator), fmt_percent(tr.value),
                     fmt_percent(tr.previous), tr.target or "–", pp(tr.gap) if tr.gap is not None else "–",
                     verdict])
    simple_table(doc, ["Chỉ số", "Cấp", "Số hồ sơ (mẫu số)", "Kỳ này", "Kỳ trước", "Chỉ tiêu",
                       "Chênh lệch so với chỉ tiêu", "Đánh giá"], rows,
                 widths_cm=[4.0, 2.6, 1.8, 1.6, 1.6, 1.6, 2.2, 1.6], numeric_from=2)

    doc.add_heading("III. Các đơn vị có tỷ lệ giải quyết đúng hạn thấp nhất", level=1)
    bottom = bottom_units(d)
    if bottom:
        rows = []
        for i, r in enumerate(bottom, start=1):
            t = target_for(d.targets, "on_time_rate", r["unit_level"], r["unit_code"])
            rows.append([str(i), names.unit(r["unit_code"]), names.level_short(r["unit_level"]),
                         fmt_int(r["ended"]), fmt_int(r["ended_late"]), fmt_percent(r["on_time_rate"]),
                         target_text(t) or "–", fmt_percent(r["online_filing_rate"]),
                         fmt_int(r["in_progress_overdue_end"])])
        simple_table(doc, ["STT", "Đơn vị", "Cấp", "Đã giải quyết", "Quá hạn", "Tỷ lệ đúng hạn",
                           "Chỉ tiêu", "Tỷ lệ trực tuyến", "Đang giải quyết quá hạn"], rows,
                     widths_cm=[0.9, 4.6, 1.8, 1.6, 1.3, 1.6, 1.4, 1.6, 1.8], numeric_from=3)
    else:
        doc.add_paragraph("Không có đơn vị đủ số hồ sơ đã giải quyết để xếp hạng.")

    doc.add_heading("IV. Biểu đồ", level=1)
    with tempfile.TemporaryDirectory() as tmp:
        cdir = Path(chart_dir) if chart_dir else Path(tmp)
        cdir.mkdir(parents=True, exist_ok=True)
        trend = trend_chart(d, cdir / "xu-huong.png")
        levels = level_chart(d, cdir / "theo-cap.png")
        doc.add_paragraph("Biểu đồ 1. Xu hướng tỷ lệ giải quyết đúng hạn và tỷ lệ tiếp nhận trực tuyến "
                          "qua các kỳ báo cáo, so với chỉ tiêu.")
        doc.add_picture(str(trend), width=Cm(17))
        doc.add_paragraph(f"Biểu đồ 2. Kết quả theo cấp {d.period.label_vi} so với chỉ tiêu.")
        doc.add_picture(str(levels), width=Cm(17))

        doc.add_heading("V. Kiểm tra số liệu", level=1)
        doc.add_paragraph(identity_sentence(d.ii06a))
        _problems(doc, d.ii06a, names)

        annex = doc.add_section(WD_SECTION.NEW_PAGE)
        landscape(annex)
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        p.add_run(FORM_CODE).italic = True
        centered(doc, "PHỤ LỤC", bold=True, size=13)
        centered(doc, FORM_TITLE, bold=True, size=12)
        centered(doc, _period_line(d.ii06a), italic=True)
        ii06a_table(doc, d.ii06a, level_field_table_rows(d.ii06a, names),
                    "Lĩnh vực, công việc giải quyết theo cấp")
        doc.save(path)
    return path
