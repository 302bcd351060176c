"""XLSX, DOCX (and PDF where LibreOffice is installed) re-open with the right headings
and figures."""

from __future__ import annotations

import shutil
import subprocess

import docx
import pytest
from openpyxl import load_workbook

from motcua.domain.ii06a import FORM_CODE, FORM_TITLE
from motcua.reports.pdf import docx_to_pdf, soffice
from motcua.reports.word import write_ii06a_docx, write_monthly_docx
from motcua.reports.xlsx import write_ii06a_xlsx
from tests.unit.reports.conftest import NAMES

HEADINGS = {
    "A6": "STT",
    "C6": "Số hồ sơ tiếp nhận",
    "C7": "Tổng số hồ sơ tiếp nhận",
    "D7": "Trong kỳ: Trực tuyến",
    "E7": "Trong kỳ: Trực tiếp, dịch vụ bưu chính",
    "F7": "Từ kỳ trước chuyển qua",
    "G6": "Số hồ sơ đã giải quyết",
    "G7": "Tổng số",
    "H7": "Trước hạn",
    "I7": "Đúng hạn",
    "J7": "Quá hạn",
    "K6": "Số hồ sơ đang giải quyết",
    "K7": "Tổng số",
    "L7": "Trong hạn",
    "M7": "Quá hạn",
    "C8": "(3)=(4)+(5)+(6)",
}


def test_ii06a_xlsx_reopens(hand_report, tmp_path):
    path = write_ii06a_xlsx(hand_report, tmp_path / "ii06a.xlsx", NAMES, "Đồng Nai")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Tổng hợp", "Cấp tỉnh", "Cấp xã"]
    for ws in wb.worksheets:
        assert ws["A1"].value == FORM_CODE and ws["A2"].value == FORM_TITLE
        for cell, text in HEADINGS.items():
            assert ws[cell].value == text, (ws.title, cell)
    s = wb["Tổng hợp"]
    assert s["A4"].value == "Kỳ báo cáo: từ ngày 15/01/2025 đến ngày 14/02/2025"
    assert s["B9"].value == "TỔNG SỐ (toàn tỉnh)"
    assert [s.cell(9, c).value for c in range(3, 14)] == [28, 15, 6, 7, 17, 3, 8, 6, 11, 5, 6]
    assert s["C9"].number_format == "#,##0"
    assert s["B10"].value == "Cấp tỉnh" and s["C10"].value == 6
    x = wb["Cấp xã"]
    assert x["B9"].value == "TỔNG SỐ CẤP XÃ" and x["C9"].value == 22
    assert x["B10"].value == "UBND xã Thử A (H75.X.TEST_A)" and x["C10"].value == 18
    assert x["B11"].value == "Đất đai" and [x.cell(11, c).value for c in range(3, 14)] == [
        5,
        2,
        1,
        2,
        5,
        1,
        2,
        2,
        0,
        0,
        0,
    ]


def test_ii06a_docx_reopens(hand_report, tmp_path):
    path = write_ii06a_docx(hand_report, tmp_path / "ii06a.docx", NAMES, "Đồng Nai")
    d = docx.Document(path)
    text = [p.text for p in d.paragraphs]
    assert FORM_TITLE in text and FORM_CODE in text
    assert "Kỳ báo cáo: từ ngày 15/01/2025 đến ngày 14/02/2025" in text
    assert any(t.startswith("Kiểm tra số liệu") and "(28 = 17 + 11)" in t for t in text)
    summary = d.tables[0]
    head = [c.text for c in summary.rows[1].cells]
    assert head[2:6] == [
        "Tổng số hồ sơ tiếp nhận",
        "Trong kỳ: Trực tuyến",
        "Trong kỳ: Trực tiếp, dịch vụ bưu chính",
        "Từ kỳ trước chuyển qua",
    ]
    assert summary.rows[0].cells[2].text == "Số hồ sơ tiếp nhận"
    assert summary.rows[0].cells[6].text == "Số hồ sơ đã giải quyết"
    assert [c.text for c in summary.rows[3].cells] == [
        "",
        "TỔNG SỐ",
        "28",
        "15",
        "6",
        "7",
        "17",
        "3",
        "8",
        "6",
        "11",
        "5",
        "6",
    ]
    commune = d.tables[2]
    rows = [[c.text for c in r.cells] for r in commune.rows[3:]]
    assert rows[0][1] == "TỔNG SỐ CẤP XÃ" and rows[0][2] == "22"
    assert rows[1][1] == "UBND xã Thử A" and rows[1][2] == "18"
    assert rows[2][1].strip() == "Đất đai"


@pytest.mark.slow
def test_monthly_docx_reopens(monthly, tmp_path):
    path = write_monthly_docx(monthly, tmp_path / "monthly.docx", NAMES, chart_dir=tmp_path / "charts")
    d = docx.Document(path)
    text = "\n".join(p.text for p in d.paragraphs)
    assert "BÁO CÁO" in text
    assert "Tình hình, kết quả giải quyết thủ tục hành chính tháng 02/2025" in text
    assert "(Kỳ báo cáo: từ ngày 15/01/2025 đến ngày 14/02/2025)" in text
    for heading in (
        "I. TÓM TẮT TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
        "II. KẾT QUẢ THEO CẤP SO VỚI CHỈ TIÊU KẾ HOẠCH CẢI CÁCH HÀNH CHÍNH",
        "III. CÁC ĐƠN VỊ CÓ TỶ LỆ GIẢI QUYẾT ĐÚNG HẠN THẤP NHẤT",
        "IV. BIỂU ĐỒ",
        "V. KIỂM TRA SỐ LIỆU",
        "PHỤ LỤC",
    ):
        assert heading in text
    # the summary, from the figures: 21 new dossiers, 15 online (71,4%), 7 carried over
    assert "toàn tỉnh tiếp nhận mới 21 hồ sơ" in text and "15 hồ sơ trực tuyến (71,4%)" in text
    assert "từ kỳ trước chuyển qua 7 hồ sơ" in text
    assert "cấp xã – tỷ lệ tiếp nhận trực tuyến 68,8% (chỉ tiêu ≥ 70%)" in text
    assert len(d.inline_shapes) == 2  # the two charts
    assert (tmp_path / "charts" / "xu-huong.png").stat().st_size > 10_000
    kpi_table = d.tables[1]
    assert [c.text for c in kpi_table.rows[0].cells][:4] == ["Chỉ số", "Cấp", "Số hồ sơ (mẫu số)", "Kỳ này"]
    first = [c.text for c in kpi_table.rows[1].cells]
    # province on time: 1 of 3 ended -> 33,3%, target ≥ 96%, gap −62,7 points
    assert first[1:] == ["Cấp tỉnh", "3", "33,3%", "–", "≥ 96%", "−62,7 điểm %", "Chưa đạt"]
    annex = d.tables[-1]
    assert [c.text for c in annex.rows[3].cells][1:4] == ["TỔNG SỐ", "28", "15"]


@pytest.mark.slow
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed: PDF export not tested")
def test_monthly_pdf(monthly, tmp_path):
    docx_path = write_monthly_docx(monthly, tmp_path / "monthly.docx", NAMES)
    pdf = docx_to_pdf(docx_path, tmp_path / "monthly.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "BÁO CÁO" in text and "PHỤ LỤC" in text and "Số hồ sơ tiếp nhận" in text
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Nơi nhận:" in text
    if shutil.which("pdfinfo"):
        info = subprocess.run(
            ["pdfinfo", "-f", "1", "-l", "99", str(pdf)], capture_output=True, text=True
        ).stdout
        sizes = [
            line.split(":", 1)[1].split("pts")[0].split(" x ")
            for line in info.splitlines()
            if line.startswith("Page") and "size:" in line
        ]
        assert sizes, info
        for w, h in sizes:  # A4 = 595.3 x 841.9 pt, portrait pages then the landscape annex
            assert sorted((round(float(w)), round(float(h)))) == [595, 842], info
