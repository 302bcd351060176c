"""DOCX documents (python-docx): form II.06a and the monthly CCHC report.

Numbers in the text and tables use Vietnamese formats (1.234.567; 96,5%) from
``domain.formatting``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection
from copy import deepcopy
from datetime import date
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
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
from .layout import (
    BODY_PT,
    FONT,
    MARGIN_BOTTOM_CM,
    MARGIN_LEFT_CM,
    MARGIN_RIGHT_CM,
    MARGIN_TOP_CM,
    PAGE_H_CM,
    PAGE_W_CM,
    SIGNATURE_PLACEHOLDER,
    TEXT_W_CM,
    TEXT_W_LANDSCAPE_CM,
    Issuer,
    date_line,
)
from .names import Names
from .province import ReportProvince, from_registry

TABLE_PT = 8.5  # the II.06a tables (13 columns on a landscape A4 page)
SMALL_TABLE_PT = 11  # the monthly report's tables


def as_province(province: ReportProvince | str | None) -> ReportProvince | None:
    """A ReportProvince from what callers pass (a name or code is looked up)."""
    if province is None or isinstance(province, ReportProvince):
        return province
    return from_registry(province) if province else None


def set_margins(section) -> None:
    """Nghị định 30/2020: top 20–25, bottom 20–25, left 30–35, right 15–20 mm."""
    section.top_margin, section.bottom_margin = Cm(MARGIN_TOP_CM), Cm(MARGIN_BOTTOM_CM)
    section.left_margin, section.right_margin = Cm(MARGIN_LEFT_CM), Cm(MARGIN_RIGHT_CM)
    section.header_distance = section.footer_distance = Cm(1.0)


def portrait(section) -> None:
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(PAGE_W_CM), Cm(PAGE_H_CM)
    set_margins(section)


def _style_font(st, size: float | None = None) -> None:
    st.font.name = FONT
    if size is not None:
        st.font.size = Pt(size)
    fonts = st.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)


def new_document() -> DocxDocument:
    """An empty A4 portrait document: Times New Roman 14, NĐ 30 margins and spacing."""
    doc = Document()
    style = doc.styles["Normal"]
    _style_font(style, BODY_PT)
    pf = style.paragraph_format
    pf.space_before, pf.space_after = Pt(0), Pt(6)
    pf.line_spacing = 1.0
    for name in ("Heading 1", "Heading 2", "Title"):
        st = doc.styles[name]
        _style_font(st, BODY_PT)
        st.font.color.rgb = RGBColor(0, 0, 0)
        st.font.bold, st.font.italic = True, False
        st.paragraph_format.space_before, st.paragraph_format.space_after = Pt(6), Pt(6)
    for name in ("Table Grid",):
        _style_font(doc.styles[name])
    portrait(doc.sections[0])
    return doc


def page_numbers(section, first_page: bool = False) -> None:
    """The page number centred in the header (NĐ 30: from the second page on)."""
    section.different_first_page_header_footer = not first_page
    header = section.header
    header.is_linked_to_previous = False
    p = header.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for r in list(p.runs):
        r._r.getparent().remove(r._r)
    run = p.add_run()
    run.font.size = Pt(13)
    begin, instr, end = OxmlElement("w:fldChar"), OxmlElement("w:instrText"), OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    end.set(qn("w:fldCharType"), "end")
    run._r.append(begin)
    run._r.append(instr)
    run._r.append(end)


def landscape(section) -> None:
    """A4 landscape with the same NĐ 30 margins."""
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(PAGE_H_CM), Cm(PAGE_W_CM)
    set_margins(section)


def centered(doc, text: str, bold: bool = False, size: float | None = None, italic: bool = False):
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run(text)
    run.bold, run.italic = bold, italic
    if size:
        run.font.size = Pt(size)
    return p


def _cell_text(
    cell, text: str, bold: bool = False, align=None, size: float = TABLE_PT, italic: bool = False
) -> None:
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


def _cant_split(row) -> None:
    """Keep a table row on one page."""
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


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


def simple_table(
    doc,
    header: list[str],
    rows: list[list[str]],
    widths_cm: list[float] | None = None,
    numeric_from: int = 1,
    bold_rows: Collection[int] = frozenset(),
    size: float = SMALL_TABLE_PT,
    keep_with_next: Collection[int] = frozenset(),
):
    """A table with a shaded heading row repeated on every page; rows in ``keep_with_next``
    stay on the page of the row after them (a metric's rows are not split)."""
    t = doc.add_table(rows=1, cols=len(header))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, h in enumerate(header):
        _cell_text(t.rows[0].cells[i], h, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, size=size)
        _shade(t.rows[0].cells[i], "DDEBF7")
    _repeat_header(t.rows[0])
    _cant_split(t.rows[0])
    for ri, r in enumerate(rows):
        row = t.add_row()
        _cant_split(row)
        cells = row_cells(t, row)
        for i, v in enumerate(r):
            _cell_text(
                cells[i],
                v,
                bold=ri in bold_rows,
                size=size,
                align=WD_ALIGN_PARAGRAPH.RIGHT if i >= numeric_from else None,
            )
            if ri in keep_with_next:
                cells[i].paragraphs[0].paragraph_format.keep_with_next = True
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
        _cell_text(
            h3[c],
            COLUMN_FORMULAS.get(key, f"({c + 1})") if key else f"({c + 1})",
            italic=True,
            align=WD_ALIGN_PARAGRAPH.CENTER,
            size=7.5,
        )
    for r in t.rows[:2]:
        for c in r.cells:
            _shade(c, "DDEBF7")
    for r in t.rows[:3]:
        _repeat_header(r)
        _cant_split(r)
    # STT, name, 11 figures: the landscape text width (25,2 cm)
    fig_w = 1.7
    set_widths(
        t, [Cm(1.0), Cm(TEXT_W_LANDSCAPE_CM - 1.0 - fig_w * len(FIGURES))] + [Cm(fig_w)] * len(FIGURES)
    )
    # Data rows are copies of two prototype rows (normal, bold) with their texts replaced:
    # python-docx spends ~0.5 ms per formatted cell, too slow for a province's form.
    protos = {}
    for bold in (False, True):
        cells = add_row_cells(t)
        _cell_text(cells[0], "x", bold=bold, align=WD_ALIGN_PARAGRAPH.CENTER)
        _cell_text(cells[1], "x", bold=bold)
        for i in range(len(FIGURES)):
            _cell_text(cells[2 + i], "x", bold=bold, align=WD_ALIGN_PARAGRAPH.RIGHT)
        _cant_split(t.rows[-1])
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


def write_ii06a_docx(
    report: II06aReport, path: Path, names: Names, province: ReportProvince | str | None = None
) -> Path:
    """Form II.06a on A4 landscape pages (NĐ 30 margins, page numbers from page 2)."""
    prov = as_province(province)
    doc = new_document()
    landscape(doc.sections[0])
    page_numbers(doc.sections[0])
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    p.add_run(FORM_CODE).italic = True
    centered(doc, FORM_TITLE, bold=True, size=13)
    centered(doc, prov.full_name if prov else "Toàn tỉnh")
    centered(doc, _period_line(report), italic=True)
    for note in prov.notes_for(report.start) if prov is not None else []:
        centered(doc, note, italic=True, size=11)
    if not report.rows:
        centered(doc, "Không có hồ sơ nào trong kỳ báo cáo.", italic=True)
    doc.add_heading("Tổng hợp theo cấp và lĩnh vực", level=2)
    ii06a_table(doc, report, level_field_table_rows(report, names), "Lĩnh vực, công việc giải quyết theo cấp")
    for lv in report.levels:
        doc.add_heading(f"{names.level(lv.level)}: chi tiết theo đơn vị và lĩnh vực", level=2)
        rows = [("", f"TỔNG SỐ {names.level(lv.level).upper()}", lv.total, True)]
        for i, u in enumerate(lv.units, start=1):
            rows.append((str(i), names.unit(u.unit_code), u.total, True))
            rows += [
                (f"{i}.{j}", "   " + names.field(r["field_code"]), r, False)
                for j, r in enumerate(u.rows, start=1)
            ]
        ii06a_table(doc, report, rows, "Đơn vị / Lĩnh vực")
    doc.add_paragraph()
    doc.add_paragraph(identity_sentence(report))
    _problems(doc, report, names)
    doc.save(str(path))
    return path


def _problems(doc, report: II06aReport, names: Names) -> None:
    if not report.problems:
        return
    simple_table(
        doc,
        ["Đơn vị", "Lĩnh vực", "Vấn đề"],
        [
            [names.unit(p["unit_code"]), names.field(p["field_code"]), p["problem"]]
            for p in report.problems[:200]
        ],
        numeric_from=99,
    )


# -- the monthly report: a văn bản hành chính (NĐ 30/2020) ---------------------------------


def _no_borders(table) -> None:
    tbl_pr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    tbl_pr.append(borders)


def _para(
    container,
    text: str = "",
    *,
    bold: bool = False,
    italic: bool = False,
    size: float = BODY_PT,
    align=WD_ALIGN_PARAGRAPH.CENTER,
    after: float = 0,
    first: bool = False,
):
    """A paragraph in a cell or the document (``first``: reuse the cell's empty paragraph)."""
    p = container.paragraphs[0] if first else container.add_paragraph()
    p.alignment = align
    p.paragraph_format.space_before = Pt(0)
    p.paragraph_format.space_after = Pt(after)
    p.paragraph_format.first_line_indent = Cm(0)
    if text:
        lines = text.split("\n")
        for i, line in enumerate(lines):
            run = p.add_run(line)
            run.bold, run.italic = bold, italic
            run.font.size = Pt(size)
            if i < len(lines) - 1:
                run.add_break()
    return p


def text_width_cm(text: str, size_pt: float, bold: bool = False) -> float:
    """A rough width of a line of Times New Roman (for the rules under headings)."""
    em = 0.0
    for ch in text:
        if ch == " ":
            em += 0.25
        elif ch.isupper():
            em += 0.72 if bold else 0.68
        else:
            em += 0.47 if bold else 0.44
    return em * size_pt * 2.54 / 72


def _rule(container, width_cm: float, box_cm: float, after: float = 0):
    """A centred horizontal line of ``width_cm`` in a box ``box_cm`` wide (a paragraph
    bottom border between indents)."""
    p = container.add_paragraph()
    pf = p.paragraph_format
    side = max(0.0, (box_cm - width_cm) / 2)
    pf.left_indent, pf.right_indent = Cm(side), Cm(side)
    pf.space_before, pf.space_after = Pt(0), Pt(after)
    pf.first_line_indent = Cm(0)
    pf.line_spacing = Pt(2)
    p_pr = p._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), "6")
    bottom.set(qn("w:space"), "1")
    bottom.set(qn("w:color"), "000000")
    bdr.append(bottom)
    p_pr.append(bdr)
    run = p.add_run()
    run.font.size = Pt(2)
    return p


HEAD_LEFT_CM, HEAD_RIGHT_CM = 6.6, TEXT_W_CM - 6.6
MOTTO_TOP, MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"


def document_header(doc, province: ReportProvince, issuer: Issuer, year: int) -> None:
    """The header block: governing and issuing body, number (left); national motto and
    the place and date line (right)."""
    t = doc.add_table(rows=2, cols=2)
    _no_borders(t)
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    set_widths(t, [Cm(HEAD_LEFT_CM), Cm(HEAD_RIGHT_CM)])
    left, right = t.rows[0].cells
    body = issuer.name.upper()
    governing = province.committee_short
    if issuer.name.lower().startswith(("ủy ban", "ubnd")):
        _para(left, province.people_committee, bold=True, size=13, first=True)
        width = text_width_cm(province.people_committee, 13, bold=True)
    else:
        _para(left, governing, size=13, first=True)
        _para(left, body, bold=True, size=13)
        width = text_width_cm(body, 13, bold=True)
    _rule(left, min(HEAD_LEFT_CM - 0.6, max(1.2, width * 0.45)), HEAD_LEFT_CM - 0.4)
    _para(right, MOTTO_TOP, bold=True, size=12.5, first=True)
    _para(right, MOTTO, bold=True, size=13.5)
    _rule(right, text_width_cm(MOTTO, 13.5, bold=True), HEAD_RIGHT_CM - 0.4)
    num, place = t.rows[1].cells
    _para(num, issuer.number_line(), size=13, first=True).paragraph_format.space_before = Pt(6)
    _para(
        place, date_line(province, year), italic=True, size=14, first=True
    ).paragraph_format.space_before = Pt(6)


def signature_block(doc, province: ReportProvince, issuer: Issuer) -> None:
    """'Nơi nhận:' bottom left, the signer's position and a signature placeholder right."""
    t = doc.add_table(rows=1, cols=2)
    _no_borders(t)
    left_w = 8.4
    set_widths(t, [Cm(left_w), Cm(TEXT_W_CM - left_w)])
    left, right = t.rows[0].cells
    p = _para(left, "Nơi nhận:", bold=True, italic=True, size=12, align=WD_ALIGN_PARAGRAPH.LEFT, first=True)
    p.paragraph_format.space_before = Pt(6)
    for line in issuer.recipient_lines(province):
        _para(left, line, size=11, align=WD_ALIGN_PARAGRAPH.LEFT)
    p = _para(right, issuer.position, bold=True, size=14, first=True)
    p.paragraph_format.space_before = Pt(6)
    _para(right, SIGNATURE_PLACEHOLDER, italic=True, size=13).paragraph_format.space_before = Pt(6)
    for _ in range(3):
        _para(right, "")


def body_paragraph(doc, text: str):
    p = doc.add_paragraph(text)
    p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    p.paragraph_format.first_line_indent = Cm(1.27)
    return p


def section_heading(doc, text: str):
    h = doc.add_heading(text, level=1)
    h.paragraph_format.first_line_indent = Cm(1.27)
    h.paragraph_format.keep_with_next = True
    return h


def write_monthly_docx(
    d,
    path: Path,
    names: Names,
    chart_dir: Path | None = None,
    issuer: Issuer | None = None,
    issued_on: date | None = None,
) -> Path:
    """The monthly CCHC report as a văn bản hành chính (see ``reports.layout``; the words
    are ``reports.summary``'s)."""
    from .summary import summary_paragraphs

    issuer = issuer or Issuer()
    province = d.scope or as_province(d.province_name) or from_registry(d.province)
    year = (issued_on or date.today()).year
    doc = new_document()
    page_numbers(doc.sections[0])
    document_header(doc, province, issuer, year)
    _monthly_title(doc, d, province, issuer)

    section_heading(doc, "I. TÓM TẮT TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH")
    for para in summary_paragraphs(d, names.unit):
        body_paragraph(doc, para)
    section_heading(doc, "II. KẾT QUẢ THEO CẤP SO VỚI CHỈ TIÊU KẾ HOẠCH CẢI CÁCH HÀNH CHÍNH")
    _level_targets(doc, d, names)
    _year_on_year(doc, d, names)
    section_heading(doc, "III. CÁC ĐƠN VỊ CÓ TỶ LỆ GIẢI QUYẾT ĐÚNG HẠN THẤP NHẤT")
    _bottom_units(doc, d, names)
    with tempfile.TemporaryDirectory() as tmp:
        section_heading(doc, "IV. BIỂU ĐỒ")
        _charts(doc, d, Path(chart_dir) if chart_dir else Path(tmp))
        section_heading(doc, "V. KIỂM TRA SỐ LIỆU")
        body_paragraph(doc, identity_sentence(d.ii06a))
        _problems(doc, d.ii06a, names)
        body_paragraph(
            doc,
            f"Trên đây là báo cáo tình hình, kết quả giải quyết thủ tục hành chính "
            f"{d.period.label_vi} trên địa bàn {province.in_text} (số liệu chi tiết tại "
            f"Phụ lục kèm theo)./.",
        )
        signature_block(doc, province, issuer)
        _ii06a_annex(doc, d, names, issuer, year)
        doc.save(str(path))
    return path


def _monthly_title(doc, d, province: ReportProvince, issuer: Issuer) -> None:
    """'BÁO CÁO', the title and period (provisional, notes), and the opening sentence."""
    title = f"Tình hình, kết quả giải quyết thủ tục hành chính {d.period.label_vi}"
    _para(doc, "BÁO CÁO", bold=True, size=14).paragraph_format.space_before = Pt(18)
    _para(doc, title, bold=True, size=14)
    _rule(doc, min(TEXT_W_CM / 2, max(2.5, text_width_cm(title, 14, bold=True) * 0.4)), TEXT_W_CM, after=6)
    _para(doc, f"(Kỳ báo cáo: {d.period.range_vi})", italic=True, size=13)
    if d.provisional:
        _para(doc, "(Số liệu tạm tính: kỳ báo cáo chưa kết thúc)", italic=True, size=13)
    for note in d.notes:
        _para(doc, note, italic=True, size=12)
    doc.add_paragraph()
    body_paragraph(
        doc,
        f"{issuer.name} báo cáo tình hình, kết quả giải quyết thủ tục hành chính "
        f"{d.period.label_vi} trên địa bàn {province.in_text} như sau:",
    )


def _level_targets(doc, d, names: Names) -> None:
    """Section II's table: each metric by level against its target, with a verdict."""
    from .summary import level_target_rows, pp, short_label

    rows = []
    target_rows = level_target_rows(d)
    # a metric's rows stay on one page
    keep = {i for i in range(len(target_rows) - 1) if target_rows[i].metric == target_rows[i + 1].metric}
    last_metric = None
    for tr in target_rows:
        label = short_label(tr.metric).capitalize() if tr.metric != last_metric else ""
        last_metric = tr.metric
        verdict = {True: "Đạt", False: "Chưa đạt", None: ""}[tr.met]
        rows.append(
            [
                label,
                names.level_short(tr.level),
                fmt_int(tr.denominator),
                fmt_percent(tr.value),
                fmt_percent(tr.previous),
                tr.target or "–",
                pp(tr.gap) if tr.gap is not None else "–",
                verdict,
            ]
        )
    if rows:
        simple_table(
            doc,
            [
                "Chỉ số",
                "Cấp",
                "Số hồ sơ (mẫu số)",
                "Kỳ này",
                "Kỳ trước",
                "Chỉ tiêu",
                "Chênh lệch so với chỉ tiêu",
                "Đánh giá",
            ],
            rows,
            widths_cm=[3.2, 2.7, 1.6, 1.4, 1.4, 1.6, 2.6, 2.0],
            numeric_from=2,
            size=10.5,
            keep_with_next=keep,
        )
    else:
        body_paragraph(doc, "Không có số liệu trong kỳ báo cáo.")


def _year_on_year(doc, d, names: Names) -> None:
    """Section II's comparison with the same period a year earlier, or why there is none."""
    from .summary import pp, short_label, year_on_year_rows

    yoy = year_on_year_rows(d) if d.year_ago_all else []
    if d.year_ago is not None and not d.year_ago_all:
        body_paragraph(doc, f"Không có số liệu cùng kỳ năm trước ({d.year_ago.label_vi}) để so sánh.")
    if not yoy:
        return
    body_paragraph(
        doc, f"So sánh với cùng kỳ năm trước ({d.year_ago.label_vi}, {d.year_ago.range_vi}):"
    ).paragraph_format.keep_with_next = True
    rows, last_metric = [], None
    for yr in yoy:
        rows.append(
            [
                short_label(yr.metric).capitalize() if yr.metric != last_metric else "",
                names.level_short(yr.level),
                fmt_percent(yr.value),
                fmt_percent(yr.year_ago),
                pp(yr.delta),
            ]
        )
        last_metric = yr.metric
    simple_table(
        doc,
        ["Chỉ số", "Cấp", "Kỳ này", "Cùng kỳ năm trước", "Chênh lệch"],
        rows,
        widths_cm=[4.6, 3.2, 2.4, 3.0, 3.3],
        numeric_from=2,
        size=10.5,
    )


def _bottom_units(doc, d, names: Names) -> None:
    """Section III: the units with the lowest on-time rate (a year earlier too, when known)."""
    from .data import target_for, target_text
    from .summary import bottom_units, unit_year_ago

    bottom = bottom_units(d)
    if not bottom:
        body_paragraph(doc, "Không có đơn vị đủ số hồ sơ đã giải quyết để xếp hạng.")
        return
    rows = []
    for i, r in enumerate(bottom, start=1):
        t = target_for(d.targets, "on_time_rate", r["unit_level"], r["unit_code"])
        row = [
            str(i),
            names.unit(r["unit_code"]),
            names.level_short(r["unit_level"]),
            fmt_int(r["ended"]),
            fmt_int(r["ended_late"]),
            fmt_percent(r["on_time_rate"]),
            target_text(t) or "–",
            fmt_percent(r["online_filing_rate"]),
            fmt_int(r["in_progress_overdue_end"]),
        ]
        if d.year_ago_all:
            before = unit_year_ago(d, r["unit_code"])
            row.insert(6, fmt_percent(before["on_time_rate"] if before else None))
        rows.append(row)
    head = [
        "STT",
        "Đơn vị",
        "Cấp",
        "Đã giải quyết",
        "Quá hạn",
        "Tỷ lệ đúng hạn",
        "Chỉ tiêu",
        "Tỷ lệ trực tuyến",
        "Đang giải quyết quá hạn",
    ]
    widths = [1.1, 3.9, 2.1, 1.6, 1.3, 1.6, 1.4, 1.6, 1.9]
    if d.year_ago_all:
        head.insert(6, "Đúng hạn cùng kỳ năm trước")
        widths = [0.9, 3.4, 1.8, 1.5, 1.2, 1.5, 1.5, 1.3, 1.5, 1.9]
    simple_table(doc, head, rows, widths_cm=widths, numeric_from=3, size=10.5)
    if d.year_ago_all:
        body_paragraph(
            doc,
            "Cột “đúng hạn cùng kỳ năm trước”: hồ sơ của đơn vị cũ (cấp huyện, "
            "sở hợp nhất, tỉnh cũ) được tính cho đơn vị kế thừa.",
        )


def _charts(doc, d, cdir: Path) -> None:
    """Section IV: the trend and by-level charts, drawn as PNG files into ``cdir``."""
    from .charts import level_chart, trend_chart

    cdir.mkdir(parents=True, exist_ok=True)
    trend = trend_chart(d, cdir / "xu-huong.png")
    levels = level_chart(d, cdir / "theo-cap.png")
    body_paragraph(
        doc,
        "Biểu đồ 1. Xu hướng tỷ lệ giải quyết đúng hạn và tỷ lệ tiếp nhận trực tuyến "
        "qua các kỳ báo cáo, so với chỉ tiêu.",
    ).paragraph_format.keep_with_next = True
    doc.add_picture(str(trend), width=Cm(TEXT_W_CM))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    body_paragraph(
        doc, f"Biểu đồ 2. Kết quả theo cấp {d.period.label_vi} so với chỉ tiêu."
    ).paragraph_format.keep_with_next = True
    doc.add_picture(str(levels), width=Cm(TEXT_W_CM))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER


def _ii06a_annex(doc, d, names: Names, issuer: Issuer, year: int) -> None:
    """The annex on landscape pages: form II.06a of the period, tied to the report."""
    annex = doc.add_section(WD_SECTION.NEW_PAGE)
    landscape(annex)
    annex.different_first_page_header_footer = False
    _para(doc, "PHỤ LỤC", bold=True, size=14)
    _para(doc, FORM_TITLE, bold=True, size=13)
    _para(
        doc,
        f"(Kèm theo Báo cáo số        /BC-{issuer.symbol} ngày        tháng        năm {year} "
        f"của {issuer.name})",
        italic=True,
        size=13,
        after=6,
    )
    _para(doc, _period_line(d.ii06a), italic=True, size=13)
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    run = p.add_run(FORM_CODE)
    run.italic, run.font.size = True, Pt(11)
    ii06a_table(
        doc, d.ii06a, level_field_table_rows(d.ii06a, names), "Lĩnh vực, công việc giải quyết theo cấp"
    )
