"""CSV and JSON text of table rows (reports.tables)."""

from __future__ import annotations

import io

from motcua.reports.tables import csv_text, emit_rows


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_csv_has_a_bom_for_excel_unless_asked_or_on_a_terminal():
    rows = [{"unit_code": "H75.SO.STP", "tên": "Sở Tư pháp"}]
    buf = io.StringIO()
    emit_rows(rows, "csv", out=buf)
    assert buf.getvalue() == "\ufeffunit_code,tên\r\nH75.SO.STP,Sở Tư pháp\r\n"
    assert buf.getvalue().encode("utf-8").startswith(b"\xef\xbb\xbf")
    buf = io.StringIO()
    emit_rows(rows, "csv", out=buf, bom=False)
    assert buf.getvalue().startswith("unit_code")
    tty = _Tty()
    emit_rows(rows, "csv", out=tty)
    assert tty.getvalue().startswith("unit_code")
    buf = io.StringIO()
    emit_rows(rows, "json", out=buf)
    assert not buf.getvalue().startswith("\ufeff")


def test_csv_text_of_no_rows_is_empty():
    assert csv_text([]) == ""
