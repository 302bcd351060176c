"""The control room's forecast band reads exactly what the exporter publishes
(exporter/forecast_metrics.py): its gauges, labels and bounds; one band per level."""

from __future__ import annotations

from motcua.dashboards import panels as P
from motcua.dashboards.build import FORECAST_KINDS, load
from motcua.exporter.forecast_metrics import BOUNDS, ForecastCollector
from tests.unit.dashboards.test_dashboards import OUT_DIR


def _exposed() -> dict[str, list[str]]:
    level = ("75", "COMMUNE", "", "on_time_rate", "official", "best", 0.9)
    c = ForecastCollector(lambda: ([level], [], {"official": "kỳ chốt số liệu tháng 03/2025"}))
    c.refresh()
    return {f.name: [list(s.labels) for s in f.samples] for f in c.collect()}


def test_the_band_queries_use_the_exporter_gauges_and_labels():
    exposed = _exposed()
    (labels,) = exposed["motcua_forecast_ratio"]
    for kind in FORECAST_KINDS:
        queries = P.forecast_band_queries(kind)
        assert set(queries) == {*BOUNDS, "target"}
        for bound in BOUNDS:
            q = queries[bound]
            assert q.startswith("max by (level, level_name) (motcua_forecast_ratio{")
            assert f'bound="{bound}"' in q and f'period_kind="{kind}"' in q
            assert {"level", "level_name", "bound", "period_kind", "metric"} <= set(labels)


def test_the_overview_draws_one_band_per_kind_filled_between_worst_and_best():
    model = load(OUT_DIR / "motcua-phong-dieu-hanh.json")
    bands = [p for p in model.panels or [] if (p.title or "").startswith("Dự báo tỷ lệ đúng hạn")]
    assert len(bands) == len(FORECAST_KINDS)
    for p in bands:
        exprs = {t.expr for t in p.targets}
        assert any("motcua_target_ratio" in e for e in exprs)
        fills = [
            prop.value
            for o in p.field_config.overrides
            for prop in o.properties
            if prop.id_val == "custom.fillBelowTo"
        ]
        assert sorted(fills) == sorted(f"{n} — xấu nhất" for n in P.LEVEL_NAMES)
