"""``--province`` through real chDB: a store with Đồng Nai, Hà Nội (one of them under the
"H01"-style code) and a province code the registry does not know. Every report must show
the figures of the province asked for, name it correctly, and work for the unknown code."""

from __future__ import annotations

from datetime import date

import docx
import orjson
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from motcua.cli.main import app
from motcua.domain.formatting import fmt_int
from motcua.domain.ii06a import build_report
from motcua.domain.metrics import kpi_rows
from motcua.domain.periods import Period, parse_period
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.settings import PACKAGE_TARGETS
from motcua.simulate import simulate
from tests.integration.reports.conftest import facts_of_events, store_dsn

cal = default_calendar()
runner = CliRunner()
FROM, TO = date(2025, 2, 1), date(2025, 3, 20)
MONTH = parse_period("2025-03")  # official: 15/02 .. 14/03


def _recode(events, province: str, tag: str):
    """The events of another simulated province under ``province`` as province_code
    (dossier and event ids made distinct)."""
    out = []
    for e in events:
        e = dict(
            e,
            province_code=province,
            dossier_id=f"{tag}-{e['dossier_id']}",
            event_id=f"{tag}-{e['event_id']}",
        )
        out.append(e)
    return out


@pytest.fixture(scope="module")
def provinces_events():
    def sim(code, seed, scale):
        return [e for e in simulate(code, FROM, TO, seed=seed, scale=scale) if isinstance(e, dict)]

    dong_nai = sim("75", 3, 0.02)
    ha_noi = sim("01", 4, 0.01)
    # Hà Nội's source sends "01" for most dossiers and "H01" for some
    ids = set(sorted({e["dossier_id"] for e in ha_noi})[::5])
    ha_noi = [dict(e, province_code="H01") if e["dossier_id"] in ids else e for e in ha_noi]
    unknown = _recode(sim("75", 5, 0.005), "99", "x")
    return {"75": dong_nai, "01": ha_noi, "99": unknown}


@pytest.fixture(scope="module")
def multi_store(chdb_path, provinces_events):
    from motcua.adapters.clickhouse_store import ClickHouseStore

    store = ClickHouseStore(f"chdb://{chdb_path}?database=reports_provinces")
    events = [e for evs in provinces_events.values() for e in evs]
    EmbeddedPipeline(store, cal).ingest((f"p:{i}", e) for i, e in enumerate(events))
    return store


def _facts(events):
    return facts_of_events(events)


def _pure_ii06a(events):
    rows = kpi_rows(_facts(events), MONTH.period, MONTH.period.end_ms, "unit_field", cal)
    return build_report(rows, MONTH.start, MONTH.end)


def _ii06a_json(store, *args):
    res = runner.invoke(
        app,
        ["report", "ii06a", "--period", "2025-03", "--format", "json", "--store", store_dsn(store), *args],
    )
    assert res.exit_code == 0, res.output
    return orjson.loads(res.stdout), res


def test_ii06a_shows_the_province_asked_for(multi_store, provinces_events):
    for code, aliases in (("75", ("75", "Đồng Nai")), ("01", ("01", "1", "H01", "Hà Nội")), ("99", ("99",))):
        expected = _pure_ii06a(provinces_events[code])
        assert expected.total["received_total"] > 0
        for alias in aliases:
            doc, _res = _ii06a_json(multi_store, "--province", alias)
            assert doc["total"] == expected.total, (code, alias)
            assert doc["rows"] == expected.to_json()["rows"], (code, alias)
    # without --province: the province with most dossiers, and the user is told
    doc, res = _ii06a_json(multi_store)
    assert doc["total"] == _pure_ii06a(provinces_events["75"]).total
    said = " ".join(res.output.split())
    assert "3 tỉnh, thành phố" in said and "báo cáo cho tỉnh Đồng Nai" in said and "--province" in said


def test_ii06a_documents_name_the_province(multi_store, tmp_path):
    dsn = store_dsn(multi_store)
    out = tmp_path / "hn.xlsx"
    res = runner.invoke(
        app,
        [
            "report",
            "ii06a",
            "--period",
            "2025-03",
            "--province",
            "01",
            "--format",
            "xlsx",
            "--out",
            str(out),
            "--store",
            dsn,
        ],
    )
    assert res.exit_code == 0, res.output
    s = load_workbook(out)["Tổng hợp"]
    assert s["A3"].value == "Thành phố Hà Nội" and s["B9"].value == "TỔNG SỐ (toàn thành phố)"
    out = tmp_path / "x.docx"
    res = runner.invoke(
        app,
        [
            "report",
            "ii06a",
            "--period",
            "2025-03",
            "--province",
            "99",
            "--format",
            "docx",
            "--out",
            str(out),
            "--store",
            dsn,
        ],
    )
    assert res.exit_code == 0, res.output
    texts = [p.text for p in docx.Document(out).paragraphs]
    assert "Tỉnh/thành phố mã 99" in texts
    assert any("mã tỉnh “99” trong dữ liệu không có trong danh mục" in t for t in texts)
    assert "không có trong danh mục" in " ".join(res.output.split())


def test_monthly_report_of_a_city(multi_store, provinces_events, tmp_path):
    out = tmp_path / "hn.docx"
    res = runner.invoke(
        app,
        [
            "report",
            "monthly",
            "--month",
            "2025-03",
            "--province",
            "01",
            "--out",
            str(out),
            "--store",
            store_dsn(multi_store),
        ],
    )
    assert res.exit_code == 0, res.output
    d = docx.Document(out)
    left = d.tables[0].rows[0].cells[0].text
    assert left.startswith("UBND THÀNH PHỐ HÀ NỘI") and "SỞ NỘI VỤ" in left and "TỈNH" not in left
    assert d.tables[0].rows[1].cells[1].text.startswith("Hà Nội, ngày ")
    received = kpi_rows(_facts(provinces_events["01"]), MONTH.period, MONTH.period.end_ms, "all", cal)[0][
        "received"
    ]
    text = "\n".join(p.text for p in d.paragraphs)
    assert f"toàn thành phố tiếp nhận mới {fmt_int(received)} hồ sơ" in text
    # Hà Nội has no targets in the plan file: no target is claimed
    assert "Chưa đạt chỉ tiêu" not in text


def test_monthly_report_of_an_unknown_province_code(multi_store, tmp_path):
    out = tmp_path / "x.docx"
    res = runner.invoke(
        app,
        [
            "report",
            "monthly",
            "--month",
            "2025-03",
            "--province",
            "99",
            "--out",
            str(out),
            "--store",
            store_dsn(multi_store),
        ],
    )
    assert res.exit_code == 0, res.output
    d = docx.Document(out)
    assert d.tables[0].rows[0].cells[0].text.startswith("UBND TỈNH/THÀNH PHỐ MÃ 99")
    assert any("mã tỉnh “99”" in p.text for p in d.paragraphs)


def test_a_province_without_dossiers_is_refused_clearly(multi_store):
    dsn = store_dsn(multi_store)
    for args in (
        ["report", "ii06a", "--period", "2025-03"],
        ["report", "monthly", "--month", "2025-03"],
        ["index766", "--period", "2025-Q1"],
    ):
        res = runner.invoke(app, args + ["--province", "42", "--store", dsn])
        said = " ".join(res.output.split())
        assert res.exit_code == 2, (args, res.output)
        assert "không có hồ sơ nào của tỉnh Hà Tĩnh (mã 42)" in said and "Đồng Nai (75)" in said
        assert "Traceback" not in res.output
    res = runner.invoke(app, ["report", "ii06a", "--period", "2025-03", "--province", "78", "--store", dsn])
    assert res.exit_code == 2 and "không rõ tỉnh '78'" in " ".join(res.output.split())


def test_index766_and_targets_check_follow_the_province(multi_store, provinces_events):
    dsn = store_dsn(multi_store)
    q1 = parse_period("2025-Q1", official=False)
    for code in ("75", "01"):
        res = runner.invoke(
            app, ["index766", "--period", "2025-Q1", "--province", code, "--format", "json", "--store", dsn]
        )
        assert res.exit_code == 0, res.output
        doc = orjson.loads(res.stdout)
        assert doc["province"]["code"] == code
        pure = kpi_rows(_facts(provinces_events[code]), q1.period, q1.period.end_ms, "all", cal)[0]
        assert doc["units"][0]["counts"]["PROGRESS"] == {
            "numerator": pure["progress_766_num"],
            "denominator": pure["progress_766_den"],
        }
    res = runner.invoke(
        app,
        [
            "targets",
            "check",
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-15",
            "--format",
            "json",
            "--province",
            "75",
            "--file",
            str(PACKAGE_TARGETS),
            "--store",
            dsn,
        ],
    )
    assert res.exit_code in (0, 1), res.output
    rows = orjson.loads(res.stdout)
    pure = {
        r["unit_level"]: r
        for r in kpi_rows(
            _facts(provinces_events["75"]),
            Period(date(2025, 3, 1), date(2025, 3, 15)),
            Period(date(2025, 3, 1), date(2025, 3, 15)).end_ms,
            "level",
            cal,
        )
    }
    on_time = [r for r in rows if r["metric"] == "on_time_rate"]
    assert on_time and all(r["denominator"] == pure[r["unit_level"]]["on_time_rate_den"] for r in on_time)
