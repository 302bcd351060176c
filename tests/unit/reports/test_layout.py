"""Layout of the documents officials file: A4 pages, Nghị định 30/2020 margins and the
administrative-report blocks of the monthly report; XLSX print settings; how a province
is named and chosen."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import docx
import pytest
from docx.shared import Cm
from openpyxl import load_workbook

from motcua.reports.layout import Issuer, initials
from motcua.reports.province import ProvinceChoiceError, choose_province, from_registry, group_codes
from motcua.reports.word import write_ii06a_docx, write_monthly_docx
from motcua.reports.xlsx import write_ii06a_xlsx, write_index766_xlsx
from tests.unit.reports.conftest import NAMES

A4 = (Cm(21), Cm(29.7))


def _close(a, b, tol=Cm(0.05)) -> bool:
    return abs(a - b) <= tol


def _check_nd30_page(section, landscape: bool) -> None:
    w, h = (A4[1], A4[0]) if landscape else A4
    assert _close(section.page_width, w) and _close(section.page_height, h)
    tol = Cm(0.01)  # DOCX stores twentieths of a point
    assert Cm(2.0) - tol <= section.top_margin <= Cm(2.5) + tol
    assert Cm(2.0) - tol <= section.bottom_margin <= Cm(2.5) + tol
    assert Cm(3.0) - tol <= section.left_margin <= Cm(3.5) + tol
    assert Cm(1.5) - tol <= section.right_margin <= Cm(2.0) + tol


def _lines(cell) -> list[str]:
    return [line for p in cell.paragraphs for line in p.text.split("\n")]


def _monthly(monthly, tmp_path, province="75", issuer=None):
    d = replace(monthly, scope=from_registry(province))
    path = write_monthly_docx(d, tmp_path / "m.docx", NAMES, issuer=issuer, issued_on=date(2025, 2, 20))
    return docx.Document(path)


def test_monthly_report_is_an_administrative_report_on_a4(monthly, tmp_path):
    d = _monthly(monthly, tmp_path)
    portrait, annex = d.sections[0], d.sections[-1]
    _check_nd30_page(portrait, landscape=False)
    _check_nd30_page(annex, landscape=True)
    normal = d.styles["Normal"].font
    assert normal.name == "Times New Roman" and 13 <= normal.size.pt <= 14
    # page numbers in the header, not on the first page
    assert portrait.different_first_page_header_footer
    assert "PAGE" in portrait.header._element.xml
    # header block
    head = d.tables[0]
    left, right = head.rows[0].cells
    assert _lines(left)[:2] == ["UBND TỈNH ĐỒNG NAI", "SỞ NỘI VỤ"]
    assert [r.bold for r in left.paragraphs[1].runs] == [True] and not left.paragraphs[0].runs[0].bold
    assert _lines(right)[:2] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    number, place = head.rows[1].cells
    assert number.text.startswith("Số:") and number.text.endswith("/BC-SNV")
    assert (
        place.text.startswith("Đồng Nai, ngày ")
        and " tháng " in place.text
        and place.text.endswith("năm 2025")
    )
    assert place.paragraphs[0].runs[0].italic
    # the rules under the issuing body and the motto are paragraph borders
    assert "w:pBdr" in left._tc.xml and "w:pBdr" in right._tc.xml
    texts = [p.text for p in d.paragraphs]
    i = texts.index("BÁO CÁO")
    assert texts[i + 1] == "Tình hình, kết quả giải quyết thủ tục hành chính tháng 02/2025"
    assert d.paragraphs[i].runs[0].bold and d.paragraphs[i + 1].runs[0].bold
    assert any(
        t.startswith("Sở Nội vụ báo cáo tình hình") and "trên địa bàn tỉnh Đồng Nai" in t for t in texts
    )
    assert any(t.startswith("Trên đây là báo cáo") and t.endswith("./.") for t in texts)
    # recipients bottom left, signer bottom right, no personal name
    sign = d.tables[3]
    recipients, signer = sign.rows[0].cells
    lines = _lines(recipients)
    assert lines[0] == "Nơi nhận:"
    assert recipients.paragraphs[0].runs[0].bold and recipients.paragraphs[0].runs[0].italic
    assert all(line.startswith("- ") and line.endswith(";") for line in lines[1:-1])
    assert lines[-1] == "- Lưu: VT, CCHC."
    assert "- UBND tỉnh (để báo cáo);" in lines and "- Văn phòng Chính phủ (Cục Kiểm soát TTHC);" in lines
    assert [x for x in _lines(signer) if x] == ["GIÁM ĐỐC", "(Ký, ghi rõ họ tên)"]
    # the annex refers to the report
    assert any(
        t.startswith("(Kèm theo Báo cáo số") and "/BC-SNV" in t and "của Sở Nội vụ)" in t for t in texts
    )


def test_a_city_is_named_as_a_city(monthly, tmp_path):
    d = _monthly(monthly, tmp_path, "01")
    left, _right = d.tables[0].rows[0].cells
    assert _lines(left)[0] == "UBND THÀNH PHỐ HÀ NỘI"
    assert d.tables[0].rows[1].cells[1].text.startswith("Hà Nội, ngày ")
    text = "\n".join(p.text for p in d.paragraphs)
    assert "toàn thành phố tiếp nhận mới 21 hồ sơ" in text and "trên địa bàn thành phố Hà Nội" in text
    assert "TỈNH" not in left.text
    recipients = _lines(d.tables[3].rows[0].cells[0])
    assert (
        "- TT Thành ủy, TT HĐND thành phố;" in recipients and "- UBND thành phố (để báo cáo);" in recipients
    )
    hcm = from_registry("79")
    assert (
        hcm.place == "Thành phố Hồ Chí Minh"
        and hcm.people_committee == "ỦY BAN NHÂN DÂN THÀNH PHỐ HỒ CHÍ MINH"
    )
    for code in ("01", "31", "46", "48", "79", "92"):
        assert from_registry(code).is_city and from_registry(code).full_name.startswith("Thành phố ")
    assert from_registry("75").full_name == "Tỉnh Đồng Nai" and from_registry("H44").short_name == "Quảng Trị"


@pytest.mark.slow
def test_another_issuer_and_signer(monthly, tmp_path):
    d = _monthly(monthly, tmp_path, issuer=Issuer("Văn phòng UBND tỉnh", abbreviation="VP"))
    left, _right = d.tables[0].rows[0].cells
    assert _lines(left)[:2] == ["UBND TỈNH ĐỒNG NAI", "VĂN PHÒNG UBND TỈNH"]
    assert d.tables[0].rows[1].cells[0].text.endswith("/BC-VP")
    recipients, signer = d.tables[3].rows[0].cells
    assert "CHÁNH VĂN PHÒNG" in signer.text
    assert not any("Văn phòng UBND" in line for line in _lines(recipients))
    d = _monthly(monthly, tmp_path, issuer=Issuer(signer="KT. GIÁM ĐỐC\nPHÓ GIÁM ĐỐC"))
    assert [x for x in _lines(d.tables[3].rows[0].cells[1]) if x][:2] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]
    assert initials("Sở Nội vụ") == "SNV" and initials("Văn phòng UBND tỉnh") == "VPUBNDT"


def test_an_unknown_province_code_is_shown(monthly, tmp_path):
    d = _monthly(replace(monthly, notes=[from_registry("99").unknown_note]), tmp_path, "99")
    assert _lines(d.tables[0].rows[0].cells[0])[0] == "UBND TỈNH/THÀNH PHỐ MÃ 99"
    text = "\n".join(p.text for p in d.paragraphs)
    assert "mã tỉnh “99” trong dữ liệu không có trong danh mục" in text


def test_ii06a_docx_on_a4_landscape(hand_report, tmp_path):
    d = docx.Document(write_ii06a_docx(hand_report, tmp_path / "f.docx", NAMES, from_registry("01")))
    for s in d.sections:
        _check_nd30_page(s, landscape=True)
    texts = [p.text for p in d.paragraphs]
    assert "Thành phố Hà Nội" in texts
    table = d.tables[0]
    width = sum(tc.width for tc in table.rows[3]._tr.tc_lst)
    assert width <= d.sections[0].page_width - d.sections[0].left_margin - d.sections[0].right_margin + Cm(
        0.05
    )


def test_xlsx_print_on_a4_landscape_with_titles(hand_report, tmp_path):
    wb = load_workbook(write_ii06a_xlsx(hand_report, tmp_path / "f.xlsx", NAMES, from_registry("01")))
    for ws in wb.worksheets:
        assert int(ws.page_setup.paperSize) == 9 and ws.page_setup.orientation == "landscape"  # 9 = A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.print_title_rows == "$6:$8"
        assert "&P" in ws.oddFooter.center.text
    s = wb["Tổng hợp"]
    assert s["A3"].value == "Thành phố Hà Nội" and s["B9"].value == "TỔNG SỐ (toàn thành phố)"
    items = [
        {
            "unit_code": "",
            "unit_level": "",
            "counts": {},
            "metrics": {},
            "groups": {},
            "total": {"score": 0.0, "max": 82.0, "percent": 0.0, "grade": "Yếu"},
        }
    ]
    wb = load_workbook(
        write_index766_xlsx(items, tmp_path / "i.xlsx", NAMES, "Kỳ: quý I/2025", province=from_registry("01"))
    )
    ws = wb["Điểm theo nhóm"]
    assert int(ws.page_setup.paperSize) == 9 and ws.print_title_rows == "$4:$4"
    assert ws["B5"].value == "Toàn thành phố" and ws["A2"].value.startswith("Thành phố Hà Nội.")
    assert wb["Chi tiết chỉ tiêu"].print_title_rows == "$1:$1"


def test_store_codes_are_grouped_by_province():
    groups = group_codes([("75", 100), ("H75", 5), ("01", 40), ("99", 7), ("1", 2)])
    assert [(p.code, p.store_codes, p.dossiers, p.known) for p in groups] == [
        ("75", ("75", "H75"), 105, True),
        ("01", ("01", "1"), 42, True),
        ("99", ("99",), 7, False),
    ]
    assert groups[2].short_name == "mã 99" and groups[2].full_name == "Tỉnh/thành phố mã 99"


def test_choosing_the_province():
    counts = [("75", 100), ("01", 40), ("99", 7)]
    c = choose_province(counts, None)
    assert c.province.code == "75" and c.needs_filter
    assert "3 tỉnh, thành phố" in c.note and "--province" in c.note and "Đồng Nai (75) 100 hồ sơ" in c.note
    only = choose_province([("75", 100)], None)
    assert only.note is None and not only.needs_filter
    for text in ("01", "1", "H01", "Hà Nội", "ha_noi"):
        assert choose_province(counts, text).province.store_codes == ("01",)
    unknown = choose_province(counts, "99")
    assert unknown.province.known is False and unknown.province.store_codes == ("99",)
    none = choose_province(counts, "42")
    assert none.province.dossiers == 0 and "không có hồ sơ nào của tỉnh Hà Tĩnh (mã 42)" in none.note
    with pytest.raises(ProvinceChoiceError, match="không rõ tỉnh '78'"):
        choose_province(counts, "78")
    # 77 is a former province (Bà Rịa - Vũng Tàu, merged into Hồ Chí Minh 2025-07-01)
    assert choose_province(counts, "77").province.code == "79"
    empty = choose_province([], None)
    assert empty.province.code == "75" and "chưa có hồ sơ" in empty.note
