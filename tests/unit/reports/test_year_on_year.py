"""The monthly report's comparison with the same period one year earlier (pure)."""

import dataclasses

import docx
import pytest

from motcua.domain.formatting import fmt_percent
from motcua.domain.metrics import finish_row
from motcua.domain.periods import parse_period
from motcua.reports.data import units_under_successors
from motcua.reports.summary import pp, summary_paragraphs, unit_year_ago, year_on_year_rows
from motcua.reports.word import write_monthly_docx
from tests.unit.reports.conftest import NAMES


def _row(level, received, ended, ended_ok, unit=""):
    keys = {"unit_level": level, "unit_code": unit} if unit else {"unit_level": level}
    return finish_row(keys, {"received": received, "ended": ended, "ended_ok": ended_ok})


def _with_year_ago(monthly, levels, units=()):
    ago = {r["unit_code"]: r for r in units_under_successors(list(units))}
    total = finish_row(
        {},
        {
            "received": sum(r["received"] for r in levels),
            "ended": sum(r["ended"] for r in levels),
            "ended_ok": sum(r["on_time_rate_num"] for r in levels),
        },
    )
    return dataclasses.replace(
        monthly,
        year_ago=parse_period("2024-02"),
        year_ago_all=total,
        year_ago_levels=levels,
        year_ago_units=ago,
    )


def test_the_fixture_has_no_year_earlier_figures(monthly):
    assert monthly.year_ago == parse_period("2024-02") and monthly.year_ago_all is None
    assert not any("cùng kỳ năm trước" in p for p in summary_paragraphs(monthly, NAMES.unit))


def test_year_on_year_rows_per_level_with_the_delta_in_points(monthly):
    now = {r["unit_level"]: r for r in monthly.current_levels}
    levels = [_row("COMMUNE", 20, 10, 9), _row("DISTRICT", 8, 4, 2)]
    d = _with_year_ago(monthly, levels)
    rows = {(r.level, r.metric): r for r in year_on_year_rows(d)}
    commune = rows[("COMMUNE", "on_time_rate")]
    assert commune.value == now["COMMUNE"]["on_time_rate"] and commune.year_ago == 0.9
    assert commune.delta == commune.value - 0.9
    # the districts exist only a year earlier; the province level only now
    district = rows[("DISTRICT", "on_time_rate")]
    assert district.value is None and district.year_ago == 0.5 and district.delta is None
    province = rows[("PROVINCE", "on_time_rate")]
    assert province.year_ago is None and province.delta is None
    text = " ".join(summary_paragraphs(d, NAMES.unit))
    a = monthly.current_all
    assert (
        f"So với cùng kỳ năm trước (tháng 02/2024): tiếp nhận mới {a['received']} hồ sơ so với 28 hồ sơ"
        in text
    )
    assert f"tỷ lệ giải quyết đúng hạn {fmt_percent(a['on_time_rate'])}" in text
    assert pp(a["on_time_rate"] - 11 / 14) in text


def test_a_unit_compares_with_the_units_it_took_over(monthly):
    from motcua.reference import successor_of

    district = "H75.H.01"
    commune = successor_of(district)
    units = [_row("DISTRICT", 4, 4, 1, unit=district), _row("COMMUNE", 6, 6, 6, unit=commune)]
    d = _with_year_ago(monthly, [_row("COMMUNE", 10, 10, 7)], units)
    ago = unit_year_ago(d, commune)
    assert ago["received"] == 10 and ago["on_time_rate"] == 0.7 and ago["unit_level"] == "COMMUNE"
    assert unit_year_ago(d, district) is ago  # the former unit's own code finds its successor's row


@pytest.mark.slow
def test_the_document_shows_the_comparison_only_with_year_earlier_figures(monthly, tmp_path):
    out = tmp_path / "none.docx"
    write_monthly_docx(monthly, out, NAMES)
    plain = docx.Document(out)
    assert "Không có số liệu cùng kỳ năm trước (tháng 02/2024) để so sánh." in [
        p.text for p in plain.paragraphs
    ]
    d = _with_year_ago(monthly, [_row("COMMUNE", 20, 10, 9)])
    out = tmp_path / "yoy.docx"
    write_monthly_docx(d, out, NAMES)
    doc = docx.Document(out)
    assert len(doc.tables) == len(plain.tables) + 1
    table = next(t for t in doc.tables if [c.text for c in t.rows[0].cells][3:4] == ["Cùng kỳ năm trước"])
    commune = next(r for r in table.rows[1:] if r.cells[1].text == "Cấp xã")
    assert commune.cells[3].text == "90,0%" and commune.cells[4].text.endswith("điểm %")
    bottom = next(t for t in doc.tables if "Đúng hạn cùng kỳ năm trước" in [c.text for c in t.rows[0].cells])
    assert len(bottom.rows) > 1
