"""``motcua forecast`` on a simulated province: the JSON is the pure reference
(domain.forecast over the pure facts) with the plan targets in force; the table speaks
Vietnamese; bad arguments are refused clearly."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from motcua.cli.main import app
from motcua.domain.forecast import VERDICT_LABELS, forecast_rows, instants, tally
from motcua.domain.periods import make_period
from motcua.reference.official_calendar import default_calendar
from tests.builders import local_ms

from .conftest import store_dsn

runner = CliRunner()
cal = default_calendar()


def run(*args):
    return runner.invoke(app, ["forecast", *args], catch_exceptions=False)


@pytest.mark.parametrize("official", [True, False])
def test_json_by_unit_equals_the_pure_forecast(sim_store, sim_facts, official):
    rp = make_period("month", 2025, 3, official)
    as_of = local_ms(2025, 3, 10, 15, 30)
    args = ["--period", "2025-03", "--as-of", "2025-03-10T15:30", "--by", "unit", "--format", "json"]
    res = run(*args, *([] if official else ["--calendar-month"]), "--store", store_dsn(sim_store))
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["period"]["kind"] == ("official" if official else "calendar")
    assert doc["period"]["start"] == rp.start.isoformat()
    insts = instants(rp, as_of, cal, 6)
    pure = forecast_rows(tally(sim_facts, insts, cal), insts, "unit")
    metrics = ("on_time_rate", "progress_766")
    got = [{k: v for k, v in r.items() if k not in metrics} for r in doc["rows"]]
    assert got == [{k: v for k, v in r.items() if k not in metrics} for r in pure]
    for r, p in zip(doc["rows"], pure):
        for m in metrics:
            assert {k: r[m][k] for k in p[m]} == p[m]
    ranked = [r["on_time_rate"] for r in doc["rows"] if r["on_time_rate"]["target"] is not None]
    assert ranked, "the plan targets of Đồng Nai apply to its units"
    for f in ranked:
        assert (f["verdict"] == "cannot_meet") == (f["best"] < f["target"])


def test_table_by_level_in_vietnamese(sim_store, tmp_path):
    targets = tmp_path / "t.yaml"
    targets.write_text(
        '- {province: "Đồng Nai", year: 2025, metric: on_time_rate, level: all, comparator: ">=", '
        "value: 1.0, source: test}\n",
        encoding="utf-8",
    )
    res = run(
        "--period",
        "2025-03",
        "--as-of",
        "2025-03-10",
        "--targets",
        str(targets),
        "--store",
        store_dsn(sim_store),
    )
    assert res.exit_code == 0, res.output
    for header in ("Cấp", "Dự báo", "Tốt nhất", "Xấu nhất", "Chỉ tiêu", "Đánh giá", "Cấp xã", "≥ 100%"):
        assert header in res.stdout, header
    assert VERDICT_LABELS["cannot_meet"] in res.stdout
    assert "kỳ chốt số liệu tháng 03/2025" in res.stdout and "%" in res.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--period", "2099-03"], "chưa bắt đầu"),
        (["--period", "2025-Q1"], "dự báo theo tháng"),
        (["--period", "2025-03", "--as-of", "2025-02-01"], "trước khi kỳ"),
        (["--period", "2025-03", "--as-of", "2025-03-20"], "đã kết thúc"),
        (["--period", "2025-01"], "đã kết thúc"),
        (["--period", "2025-03", "--as-of", "2025-03-10", "--unit", "H75.KHONG.CO"], "không có đơn vị"),
        (
            ["--period", "2025-03", "--as-of", "2025-03-10", "--level", "tinh", "--by", "province"],
            "--by level",
        ),
    ],
)
def test_bad_arguments_are_refused(sim_store, args, says):
    res = runner.invoke(app, ["forecast", *args, "--store", store_dsn(sim_store)])
    assert res.exit_code == 2, res.output
    assert says in " ".join(res.output.split()), res.output


def test_one_unit(sim_store, sim_facts):
    unit = sorted({f["unit_code"] for f in sim_facts if f["unit_level"] == "PROVINCE"})[0]
    res = run(
        "--period",
        "2025-03",
        "--as-of",
        "2025-03-10",
        "--unit",
        unit,
        "--format",
        "json",
        "--store",
        store_dsn(sim_store),
    )
    assert res.exit_code == 0, res.output
    assert [r["unit_code"] for r in json.loads(res.stdout)["rows"]] == [unit]
