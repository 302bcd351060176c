"""The 766 index from chDB equals the same computation over the pure facts."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from motcua.adapters.clickhouse_reports import counters_by
from motcua.cli.main import app
from motcua.domain.index766 import GROUPS, ScoringConfig, additive_counters
from motcua.domain.metrics import kpi_rows
from motcua.domain.periods import parse_period
from motcua.reference.official_calendar import default_calendar
from motcua.reports.data import index766_from_store, index766_items, online_service_lookup
from tests.integration.reports.conftest import store_dsn

cal = default_calendar()
KEYS = ("unit_level", "unit_code", "procedure_code")


def test_rollup_counters_by_unit_and_procedure_equal_the_pure_reference(sim_store, sim_facts):
    q = parse_period("2025-Q1", official=False)
    sql = counters_by(sim_store, q.period, KEYS)
    ref = additive_counters(sim_facts, q.start.toordinal(), q.end.toordinal(), KEYS)
    ref = {k: dict(cs) for k, cs in ref.items() if any(cs.values())}
    assert {k: {c: v for c, v in cs.items() if c in ref[k]} for k, cs in sql.items()} == ref


def test_index766_store_equals_pure(sim_store, sim_facts):
    q = parse_period("2025-Q1", official=False)
    as_of = q.period.end_ms
    got = index766_from_store(sim_store, q, cal, as_of, by_unit=True)
    pure = index766_items(
        kpi_rows(sim_facts, q.period, as_of, "all", cal),
        kpi_rows(sim_facts, q.period, as_of, "unit", cal),
        additive_counters(sim_facts, q.start.toordinal(), q.end.toordinal(), KEYS),
        ScoringConfig(),
        online_service_lookup(),
        by_unit=True,
    )
    assert got == pure
    province = got[0]
    assert province["unit_code"] == "" and set(province["groups"]) == set(GROUPS)
    assert province["counts"]["PROGRESS"]["denominator"] > 1000
    assert 0 < province["total"]["score"] <= province["total"]["max"] == 82
    units = {it["unit_code"] for it in got[1:]}
    assert len(units) > 20
    # dossier counts of the units add up to the province's
    for code in ("ONLINE_DOSSIERS", "SO_HOA_GIAY_TO_GIAI_QUYET", "PAYMENT_DOSSIER_ONLINE"):
        for part in ("numerator", "denominator"):
            assert sum(it["counts"][code][part] for it in got[1:]) == province["counts"][code][part]


def test_cli_index766_json_and_xlsx(sim_store, tmp_path):
    from openpyxl import load_workbook

    runner = CliRunner()
    dsn = store_dsn(sim_store)
    res = runner.invoke(
        app, ["index766", "--period", "2025-Q1", "--by", "unit", "--format", "json", "--store", dsn]
    )
    assert res.exit_code == 0, res.output
    doc = orjson.loads(res.stdout)
    assert doc["period"] == {"from": "2025-01-01", "to": "2025-04-01"}
    assert doc["units"][0]["unit_code"] == "" and len(doc["units"]) > 20
    out = tmp_path / "i.xlsx"
    res = runner.invoke(
        app, ["index766", "--period", "2025-Q1", "--format", "xlsx", "--out", str(out), "--store", dsn]
    )
    assert res.exit_code == 0, res.output
    wb = load_workbook(out)
    ws = wb["Điểm theo nhóm"]
    assert ws["B5"].value == "Toàn tỉnh"
    assert ws["D4"].value == "Tiến độ giải quyết (tối đa 20)"
    assert ws["D5"].value == doc["units"][0]["groups"]["progress"]["score"]
    assert "Chi tiết chỉ tiêu" in wb.sheetnames
