"""``motcua period`` and the reports of a closed period as a user runs them (in process,
on chDB): close, list, show; closed figures by default and --live; the restatement in
the JSON of every report after late events; the exporter's restatement gauges; clear
refusals."""

from __future__ import annotations

from datetime import date

import orjson
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from typer.testing import CliRunner

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.cli.main import app
from motcua.domain.periods import parse_period
from motcua.exporter.restatements import RestatementCollector, read_closed_state
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.reports.closing import find_close, restatements_for
from motcua.simulate import simulate
from tests.builders import local_ms, make_event
from tests.integration.reports.conftest import store_dsn

CAL = default_calendar()
RP = parse_period("2025-03", "month", official=True, today=date(2026, 12, 1))
runner = CliRunner()


@pytest.fixture(scope="module")
def store(chdb_path):
    st = ClickHouseStore(f"chdb://{chdb_path}?database=period_cli")
    events = [
        e
        for e in simulate("75", date(2025, 1, 20), date(2025, 3, 14), seed=3, scale=0.02)
        if isinstance(e, dict)
    ]
    EmbeddedPipeline(st, CAL).ingest((f"s:{i}", e) for i, e in enumerate(events))
    return st


def cli(store, *args, ok=True):
    r = runner.invoke(app, [*args, "--store", store_dsn(store)])
    if ok:
        assert r.exit_code == 0, r.output
    return r


def said(r) -> str:
    """The output as one line (the console wraps at its width)."""
    return " ".join(r.output.split())


def late_events(store, n=3) -> list[dict]:
    """RESOLVED inside the period for dossiers still open at its end."""
    rows = store.client.query(
        f"SELECT dossier_id, province_code, unit_code, unit_level, procedure_code, field_code "
        f"FROM {store.db}.dossier_state FINAL WHERE ended = 0 ORDER BY dossier_id LIMIT {n}"
    ).result_rows
    keys = ("province_code", "unit_code", "unit_level", "procedure_code", "field_code")
    return [
        {**make_event(d, 990, "RESOLVED", local_ms(2025, 3, 13, 10)), **dict(zip(keys, rest))}
        for d, *rest in rows
    ]


def test_close_report_restate_and_close_again(store):
    r = cli(store, "period", "close", "2025-03", "--note", "gửi Bộ Nội vụ")
    assert "phiên bản 1" in said(r)
    listed = orjson.loads(cli(store, "period", "list", "--json").stdout)
    assert [(c["period"], c["version"], c["note"]) for c in listed] == [("2025-03", 1, "gửi Bộ Nội vụ")]
    before = orjson.loads(cli(store, "report", "ii06a", "--period", "2025-03", "--format", "json").stdout)
    assert before["closed"]["version"] == 1 and before["restatements"] == []

    late = late_events(store)
    EmbeddedPipeline(store, CAL).ingest((f"late:{i}", e) for i, e in enumerate(late))

    closed = orjson.loads(cli(store, "report", "ii06a", "--period", "2025-03", "--format", "json").stdout)
    assert closed["rows"] == before["rows"] and closed["total"] == before["total"]  # stands still
    ids = {e["dossier_id"] for e in late}
    moved = closed["restatements"]
    assert moved and {d for m in moved for d in m["dossier_ids"]} == ids
    total = [m for m in moved if (m["unit_code"], m["unit_level"], m["column"]) == ("", "", "resolved_total")]
    assert [(m["closed"], m["live"], m["delta"]) for m in total] == [
        (before["total"]["resolved_total"], before["total"]["resolved_total"] + 3, 3)
    ]
    live = orjson.loads(
        cli(store, "report", "ii06a", "--period", "2025-03", "--format", "json", "--live").stdout
    )
    assert live["closed"] is None and live["total"]["resolved_total"] == before["total"]["resolved_total"] + 3

    kpi = orjson.loads(cli(store, "kpi", "--period", "2025-03", "--by", "level", "--format", "json").stdout)
    assert kpi["closed"]["version"] == 1 and kpi["restatements"]
    assert sum(r["ended"] for r in kpi["rows"]) == before["total"]["resolved_total"]
    i766 = orjson.loads(cli(store, "index766", "--period", "2025-03", "--official", "--by", "unit").stdout)
    assert i766["closed"]["version"] == 1 and len(i766["units"]) > 1

    show = orjson.loads(cli(store, "period", "show", "2025-03", "--json").stdout)
    c = find_close(store, "75", RP)
    assert c is not None
    assert show["restatements"] == [
        r.to_json() for r in restatements_for(store, c, RP, CAL, local_ms(2026, 1, 1))
    ]

    assert "phiên bản 2" in said(cli(store, "period", "close", "2025-03"))
    again = orjson.loads(cli(store, "report", "ii06a", "--period", "2025-03", "--format", "json").stdout)
    assert again["closed"]["version"] == 2 and again["restatements"] == []
    assert again["total"] == live["total"]
    v1 = orjson.loads(cli(store, "period", "show", "2025-03", "--version", "1", "--json").stdout)
    assert v1["closed"]["version"] == 1 and v1["restatements"]


def test_exporter_publishes_the_restatements(store):
    if find_close(store, "75", RP) is None:
        cli(store, "period", "close", "2025-03")
    EmbeddedPipeline(store, CAL).ingest((f"late2:{i}", e) for i, e in enumerate(late_events(store, 2)))
    now = local_ms(2025, 4, 20)
    state = read_closed_state(store, CAL, now, months=13)
    c = find_close(store, "75", RP)
    assert c is not None
    rs = restatements_for(store, c, RP, CAL, now)
    assert sum(n for (p, period, _t), n in state.cells.items() if (p, period) == ("75", "2025-03")) == len(rs)
    on_time = {
        r.cell.unit_level or "ALL": r.delta * 100
        for r in rs
        if r.cell.table in ("kpi_level", "kpi_all") and r.cell.column == "on_time_rate"
    }
    got = {lv: v for (_p, _c, lv, m), v in state.points.items() if m == "on_time_rate"}
    assert got == pytest.approx(on_time) and got
    registry = CollectorRegistry()
    collector = RestatementCollector(lambda: state, interval=0, threshold_points=0.5)
    registry.register(collector)
    collector.maybe_refresh()
    text = generate_latest(registry).decode()
    assert 'motcua_period_restated_cells{period="2025-03",province="75",table="ii06a"}' in text
    assert "motcua_restatement_threshold_points 0.5" in text


def test_refusals_are_clear(store):
    r = cli(store, "period", "close", "2099-01", ok=False)
    assert r.exit_code == 2 and "chưa bắt đầu" in said(r)
    r = cli(store, "period", "close", "2025-02", "--note", "liên hệ a@b.vn", ok=False)
    assert r.exit_code == 2 and "dữ liệu cá nhân" in said(r)
    r = cli(store, "period", "show", "2024-07", ok=False)
    assert r.exit_code == 2 and "chưa có số liệu chốt" in said(r)
    r = cli(store, "kpi", "--period", "2025-03", "--from", "2025-03-01", ok=False)
    assert r.exit_code == 2
