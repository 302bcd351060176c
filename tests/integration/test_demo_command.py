"""`motcua demo` (small scale) leaves a store on which the README commands show plan
targets and unit names; `motcua snapshot` works on a store whose units have no names."""

from __future__ import annotations

from datetime import date

import docx
import orjson
from openpyxl import load_workbook
from typer.testing import CliRunner

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.cli.main import app
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.simulate import simulate

runner = CliRunner()


def _dsn(store: ClickHouseStore) -> str:
    return f"{store.location.dsn}?database={store.db}"


def test_demo_leaves_targets_names_and_calendar(chdb_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the reports' default output files
    dsn = f"chdb://{chdb_path}?database=demo_small"
    res = runner.invoke(app, ["demo", "--scale", "0.03", "--store", dsn])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "chỉ tiêu kế hoạch CCHC" in said and "≥ 96%" in said and "Tiếp theo" in said
    st = ClickHouseStore(dsn)
    count = lambda sql: st.client.query(sql.replace("{db}", st.db)).result_rows[0][0]  # noqa: E731
    assert count("SELECT count() FROM {db}.targets WHERE province_code = '75'") >= 10
    assert count("SELECT count() FROM {db}.work_calendar") > 300
    stored_units = count("SELECT uniqExact(unit_code) FROM {db}.kpi_daily_unit")
    named = count(
        "SELECT count() FROM {db}.reference_names WHERE kind = 'unit' AND code IN "
        "(SELECT DISTINCT unit_code FROM {db}.kpi_daily_unit) AND name != code"
    )
    assert stored_units > 10 and named == stored_units

    # a second run changes nothing it loaded (targets replaced, names reloaded)
    before = [
        count(f"SELECT count() FROM {{db}}.{t}") for t in ("targets", "reference_names", "work_calendar")
    ]
    res = runner.invoke(app, ["demo", "--scale", "0.03", "--store", dsn])
    assert res.exit_code == 0, res.output
    assert [
        count(f"SELECT count() FROM {{db}}.{t}") for t in ("targets", "reference_names", "work_calendar")
    ] == before

    # the README commands
    res = runner.invoke(
        app, ["targets", "check", "--from", "2025-03-01", "--to", "2025-04-01", "--store", dsn]
    )
    assert res.exit_code == 1, res.output  # some targets are missed (exit 1), none unevaluated
    said = " ".join(res.output.split())
    assert "Tỉnh Đồng Nai" in said and "≥ 96%" in said and "Chưa đạt" in said and "Đạt" in said
    assert "Chưa có chỉ tiêu" not in said

    out = tmp_path / "out"
    res = runner.invoke(
        app, ["snapshot", "--from", "2025-03-01", "--to", "2025-04-01", "--out", str(out), "--store", dsn]
    )
    assert res.exit_code == 0, res.output
    assert "chưa có chỉ tiêu" not in res.output
    png = (out / "overview.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Tỉnh Đồng Nai" in page and "≥ 96,0%" in page and "Chưa đạt" in page
    ranking = page.split("10 đơn vị có tỷ lệ đúng hạn thấp nhất", 1)[1]
    assert "UBND" in ranking  # units are named

    res = runner.invoke(app, ["report", "ii06a", "--period", "2025-03", "--format", "xlsx", "--store", dsn])
    assert res.exit_code == 0, res.output
    s = load_workbook(tmp_path / "bieu-II06a-2025-03.xlsx")["Tổng hợp"]
    assert s["A3"].value == "Tỉnh Đồng Nai" and s["C9"].value > 0
    res = runner.invoke(app, ["report", "monthly", "--month", "2025-03", "--format", "docx", "--store", dsn])
    assert res.exit_code == 0, res.output
    d = docx.Document(tmp_path / "bao-cao-thang-2025-03.docx")
    assert "≥ 96%" in "\n".join(c.text for r in d.tables[1].rows for c in r.cells)
    res = runner.invoke(
        app, ["index766", "--period", "2025-Q1", "--by", "unit", "--format", "json", "--store", dsn]
    )
    assert res.exit_code == 0, res.output
    assert orjson.loads(res.stdout)["units"][0]["counts"]["PROGRESS"]["denominator"] > 0


def test_snapshot_on_a_store_without_names_or_targets(new_store, tmp_path):
    store = new_store()
    cal = default_calendar()
    events = [
        e
        for e in simulate("75", date(2025, 3, 1), date(2025, 3, 31), seed=2, scale=0.02)
        if isinstance(e, dict)
    ]
    EmbeddedPipeline(store, cal).ingest((f"u:{i}", e) for i, e in enumerate(events))
    out = tmp_path / "out"
    res = runner.invoke(
        app,
        ["snapshot", "--from", "2025-03-01", "--to", "2025-04-01", "--out", str(out), "--store", _dsn(store)],
    )
    assert res.exit_code == 0, res.output
    assert "chưa có chỉ tiêu nào của tỉnh Đồng Nai" in " ".join(res.output.split())
    page = (out / "index.html").read_text(encoding="utf-8")
    ranking = page.split("10 đơn vị có tỷ lệ đúng hạn thấp nhất", 1)[1]
    first = ranking.split("<tr>")[2]  # the first unit row: its code stands for its name
    cells = [c.split("</td>")[0] for c in first.split("<td")[1:]]
    assert cells[0].lstrip(">").startswith("H75.") and cells[1].lstrip(">") == cells[0].lstrip(">")
    assert (out / "overview.png").stat().st_size > 50_000
