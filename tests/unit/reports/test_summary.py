"""The monthly report's words come from the figures."""

from motcua.reports.summary import bottom_units, level_target_rows, pp, summary_paragraphs, unit_misses
from tests.unit.reports.conftest import NAMES


def test_level_target_rows_and_gaps(monthly):
    rows = {(r.level, r.metric): r for r in level_target_rows(monthly)}
    commune_online = rows[("COMMUNE", "online_filing_rate")]
    assert commune_online.value == 11 / 16 and commune_online.met is False
    assert commune_online.target == "≥ 70%"
    assert round(commune_online.gap, 6) == round(11 / 16 - 0.70, 6)
    province_online = rows[("PROVINCE", "online_filing_rate")]
    assert province_online.value == 4 / 5 and province_online.met is True
    assert rows[("COMMUNE", "dossier_digitisation_rate")].target == ""  # no target


def test_unit_misses_and_bottom_units(monthly):
    misses = unit_misses(monthly)
    # on time: A 8/11, B 2/3, C 1/3 ended early or on time: all under 96%
    assert {r["unit_code"] for r in misses["on_time_rate"]} == {
        "H75.X.TEST_A",
        "H75.X.TEST_B",
        "H75.SO.TEST_C",
    }
    # online filing: A 9/13 (69,2%) misses 70%, B 2/3 misses, C 4/5 meets its 50%
    assert {r["unit_code"] for r in misses["online_filing_rate"]} == {"H75.X.TEST_A", "H75.X.TEST_B"}
    assert [r["unit_code"] for r in bottom_units(monthly)] == ["H75.X.TEST_A"]  # only A has >= 5 ended


def test_summary_says_what_rose_fell_and_missed(monthly):
    text = " ".join(summary_paragraphs(monthly, NAMES.unit))
    assert "Chưa đạt chỉ tiêu kế hoạch CCHC" in text
    assert "Đơn vị chưa đạt chỉ tiêu — tỷ lệ giải quyết đúng hạn: 3 đơn vị" in text
    assert "UBND xã Thử A" in text
    assert ("Tăng so với kỳ trước" in text) or ("Giảm so với kỳ trước" in text)


def test_percentage_points():
    assert pp(0.012) == "+1,2 điểm %" and pp(-0.627) == "−62,7 điểm %" and pp(None) == "–"
    # a change that rounds to nothing has no sign (the year-on-year table showed "−0,0")
    assert pp(-0.0004) == pp(0.0004) == pp(0.0) == "0,0 điểm %"
