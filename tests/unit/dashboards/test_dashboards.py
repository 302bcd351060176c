"""Dashboards as code: regenerating changes nothing, the JSON decodes back through the SDK
(ClickHouse queries into the registered variant), and the macro expansion is Grafana's."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from motcua.dashboards import panels
from motcua.dashboards.build import DASHBOARDS, generate, load
from motcua.dashboards.clickhouse import ClickHouseQuery
from motcua.dashboards.macros import PanelContext, expand

# the provisioned dashboards: the repository's dashboards/, which Grafana mounts
OUT_DIR = Path(__file__).resolve().parents[3] / "dashboards"


def test_regenerating_the_dashboards_changes_nothing(tmp_path):
    paths = generate(tmp_path)
    assert sorted(p.name for p in paths) == sorted(p.name for p in OUT_DIR.glob("*.json"))
    for p in paths:
        committed = OUT_DIR / p.name
        assert p.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8"), (
            f"{committed} is stale: run `python -m motcua.dashboards`"
        )


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_committed_json_decodes_through_the_sdk_and_round_trips(uid):
    path = OUT_DIR / f"{uid}.json"
    model = load(path)
    assert model.uid == uid and model.timezone == "Asia/Ho_Chi_Minh"
    assert json.loads(json.dumps(model, cls=JSONEncoder)) == json.loads(path.read_text(encoding="utf-8"))
    targets = [t for p in model.panels or [] for t in (getattr(p, "targets", None) or [])]
    assert targets
    ch = [t for t in targets if isinstance(t, ClickHouseQuery)]
    if uid != "motcua-suc-khoe-he-thong":
        # the health board, the forecast band and the restatements of closed periods read Prometheus
        prom = [t for t in targets if t not in ch]
        allowed = ("motcua_forecast_ratio", "motcua_target_ratio", "motcua_period_restated_")
        assert all(any(m in t.expr for m in allowed) for t in prom)
        assert len(ch) + len(prom) == len(targets) and (not prom or uid == "motcua-phong-dieu-hanh")
    for q in ch:
        assert q.datasource.uid == "motcua-clickhouse" and q.raw_sql.strip()


def test_every_clickhouse_query_in_the_json_is_panel_sql_from_panels_py():
    known = {q.sql for q in panels.all_queries()}
    for path in OUT_DIR.glob("*.json"):
        model = load(path)
        for p in model.panels or []:
            for t in getattr(p, "targets", None) or []:
                if isinstance(t, ClickHouseQuery):
                    assert t.raw_sql in known, f"{path.name}: {p.title}"


def test_titles_are_vietnamese():
    titles = {load(OUT_DIR / f"{uid}.json").title for uid in DASHBOARDS}
    assert any(t.startswith("Phòng điều hành") for t in titles)
    assert any(t.startswith("Xếp hạng đơn vị") for t in titles)
    assert any(t.startswith("Chỉ số 766") for t in titles)
    assert any(t.startswith("Sức khỏe hệ thống") for t in titles)


def test_panel_sql_uses_only_macros_and_variables_no_literal_periods():
    for q in panels.all_queries():
        assert "2025-" not in q.sql and "today()" not in q.sql and "now()" not in q.sql, q.key


def test_macro_expansion_matches_the_plugin():
    ctx = PanelContext.for_days(date(2025, 3, 1), date(2025, 3, 31), level=["COMMUNE", "DISTRICT"])
    sql = (
        "SELECT 1 WHERE $__timeFilter(t) AND d >= toDate($__fromTime, 'Asia/Ho_Chi_Minh') "
        "AND $__conditionalAll(unit_level IN (${level:singlequote}), $level) "
        "AND $__conditionalAll(province_code IN (${province:singlequote}), $province) AND x = $__toTime_ms"
    )
    out = expand(sql, ctx, {"province": ["75"], "level": ["COMMUNE", "DISTRICT"]})
    assert "t >= toDateTime(1740762000) AND t <= toDateTime(1743440399)" in out
    assert "d >= toDate(toDateTime(1740762000), 'Asia/Ho_Chi_Minh')" in out
    assert "unit_level IN ('COMMUNE','DISTRICT')" in out
    assert "AND 1=1 AND" in out  # province = All
    assert out.endswith("x = fromUnixTimestamp64Milli(1743440399999)")
    with pytest.raises(ValueError, match="unexpanded"):
        expand("SELECT $__unknownMacro", ctx)


def test_ranking_orders_end_with_the_unit_so_ties_keep_one_order():
    for sql in (panels.ranking("rate"), panels.ranking("gap"), panels.INDEX_766):
        order = sql.rsplit("ORDER BY", 1)[1].split("\n")[0]
        assert order.rstrip().endswith("unit_code"), order
