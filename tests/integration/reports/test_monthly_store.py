"""`motcua report monthly` on the simulated store (DOCX always; PDF where LibreOffice is)."""

from __future__ import annotations

import docx
import pytest
from typer.testing import CliRunner

from motcua.cli.main import app
from motcua.reports.pdf import soffice
from tests.integration.reports.conftest import store_dsn

runner = CliRunner()


def test_monthly_docx_from_the_store(sim_store, tmp_path):
    out = tmp_path / "thang.docx"
    res = runner.invoke(
        app,
        [
            "report",
            "monthly",
            "--month",
            "2025-03",
            "--format",
            "docx",
            "--out",
            str(out),
            "--store",
            store_dsn(sim_store),
        ],
    )
    assert res.exit_code == 0, res.output
    d = docx.Document(out)
    text = "\n".join(p.text for p in d.paragraphs)
    assert "TỈNH ĐỒNG NAI" in d.tables[0].rows[0].cells[0].text
    assert "Kỳ báo cáo: từ ngày 15/02/2025 đến ngày 14/03/2025" in text
    assert "toàn tỉnh tiếp nhận mới" in text and "so với kỳ trước" in text
    assert len(d.inline_shapes) == 2
    levels = {r.cells[1].text for r in d.tables[1].rows[1:]}
    assert {"Cấp tỉnh", "Cấp xã"} <= levels
    assert "Kiểm tra số liệu: tổng số hồ sơ tiếp nhận bằng" in text


@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed: PDF export not tested")
def test_monthly_pdf_from_the_store(sim_store, tmp_path):
    out = tmp_path / "thang.pdf"
    res = runner.invoke(
        app,
        [
            "report",
            "monthly",
            "--month",
            "2025-03",
            "--format",
            "pdf",
            "--out",
            str(out),
            "--store",
            store_dsn(sim_store),
        ],
    )
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:5] == b"%PDF-"
