"""Form II.06a through real chDB: the hand-built scenario cell by cell, and the
reconciliation of a simulated quarter with the KPI rows the dashboards read."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from motcua.cli.main import app
from motcua.domain.ii06a import FIGURES, build_report, figures_from_kpi
from motcua.domain.periods import parse_period
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.reports.data import ii06a_from_store
from tests.integration.reports.conftest import store_dsn
from tests.unit.domain import test_ii06a as hand

cal = default_calendar()
runner = CliRunner()


def test_hand_built_scenario_through_chdb(store):
    EmbeddedPipeline(store, cal).ingest((f"h:{i}", e) for i, e in enumerate(hand.events()))
    rows = store.kpi(hand.PERIOD.period, hand.AS_OF, "unit_field", cal)
    hand.check_report(build_report(rows, hand.PERIOD.start, hand.PERIOD.end))
    # and through the service function a report command uses (the period is over: final)
    report = ii06a_from_store(store, hand.PERIOD, cal, now_ms=hand.AS_OF + 10**9)
    hand.check_report(report)
    assert report.provisional is False


def _sum(rows, key_fn=lambda r: ()):
    out: dict = {}
    for r in rows:
        acc = out.setdefault(key_fn(r), dict.fromkeys(FIGURES, 0))
        for k, v in figures_from_kpi(r).items():
            acc[k] += v
    return out


def test_simulated_quarter_reconciles_with_kpi_rows(sim_store):
    q1 = parse_period("2025-Q1")  # official: 15/12/2024 .. 14/03/2025
    as_of = q1.period.end_ms
    report = ii06a_from_store(sim_store, q1, cal, now_ms=as_of)
    kpi_uf = sim_store.kpi(q1.period, as_of, "unit_field", cal)
    assert report.rows and report.total["received_carried_over"] > 0  # the data cross the boundary
    # every figure = the sum of the matching KPI rows (unit × lĩnh vực)
    expected = _sum(kpi_uf, lambda r: (r["unit_code"], r["field_code"]))
    got = {(r["unit_code"], r["field_code"]): {k: r[k] for k in FIGURES} for r in report.rows}
    assert got == {k: v for k, v in expected.items() if any(v.values())}
    # unit totals = KPI rows by unit; level totals = the per-level sums and KPI rows by level;
    # the province = the sum of the levels = the KPI row for everything
    by_unit = _sum(sim_store.kpi(q1.period, as_of, "unit", cal), lambda r: r["unit_code"])
    for lv in report.levels:
        for u in lv.units:
            assert u.total == by_unit[u.unit_code]
    by_level = _sum(sim_store.kpi(q1.period, as_of, "level", cal), lambda r: r["unit_level"])
    for lv in report.levels:
        assert lv.total == by_level[lv.level]
        assert lv.total == {k: sum(u.total[k] for u in lv.units) for k in FIGURES}
    assert report.total == {k: sum(lv.total[k] for lv in report.levels) for k in FIGURES}
    assert report.total == _sum(sim_store.kpi(q1.period, as_of, "all", cal))[()]
    assert report.identity_ok


def test_cli_json_equals_the_domain_report(sim_store):
    res = runner.invoke(
        app, ["report", "ii06a", "--period", "2025-03", "--format", "json", "--store", store_dsn(sim_store)]
    )
    assert res.exit_code == 0, res.output
    doc = orjson.loads(res.stdout)
    month = parse_period("2025-03")
    report = ii06a_from_store(sim_store, month, cal, now_ms=month.period.end_ms)
    assert doc["period"] == {"from": "2025-02-15", "to": "2025-03-15"}
    assert doc["rows"] == report.to_json()["rows"]
    assert doc["total"] == report.total


def test_cli_filters_and_files(sim_store, tmp_path):
    dsn = store_dsn(sim_store)
    month = parse_period("2025-03")
    full = ii06a_from_store(sim_store, month, cal, now_ms=month.period.end_ms)
    unit = full.levels[0].units[0].unit_code
    res = runner.invoke(
        app, ["report", "ii06a", "--period", "2025-03", "--unit", unit, "--format", "json", "--store", dsn]
    )
    assert res.exit_code == 0, res.output
    assert {r["unit_code"] for r in orjson.loads(res.stdout)["rows"]} == {unit}
    res = runner.invoke(
        app,
        ["report", "ii06a", "--period", "2025-03", "--level", "commune", "--format", "csv", "--store", dsn],
    )
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("period_from,period_to,unit_code,unit_level,field_code")
    assert all(",COMMUNE," in line for line in lines[1:])
    for fmt in ("xlsx", "docx"):
        out = tmp_path / f"f.{fmt}"
        res = runner.invoke(
            app,
            [
                "report",
                "ii06a",
                "--period",
                "2025-03",
                "--kind",
                "quarter",
                "--format",
                fmt,
                "--out",
                str(out),
                "--store",
                dsn,
            ],
        )
        assert res.exit_code == 0, res.output
        assert out.stat().st_size > 5000


def test_cli_refuses_bad_arguments(sim_store):
    dsn = store_dsn(sim_store)
    cases = [
        (["report", "ii06a", "--period", "2025-3x"], "kỳ báo cáo không hợp lệ"),
        (["report", "ii06a", "--period", "2099-03"], "chưa bắt đầu"),
        (["report", "ii06a", "--period", "2025-03", "--unit", "H75.KHONG.CO"], "không có đơn vị"),
        (["report", "ii06a", "--period", "2025-03", "--level", "planet"], "cấp không hợp lệ"),
        (["report", "monthly", "--month", "2025-Q1"], "tháng không hợp lệ"),
        (["report", "monthly", "--month", "2099-01"], "chưa bắt đầu"),
        (["index766", "--period", "2099"], "chưa bắt đầu"),
        (["index766", "--period", "2025-H1"], "tháng, quý hoặc năm"),
    ]
    for args, msg in cases:
        res = runner.invoke(app, args + ["--store", dsn])
        assert res.exit_code != 0, args
        assert msg in " ".join(res.output.split()), (args, res.output)
