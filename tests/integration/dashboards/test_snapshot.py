"""`motcua snapshot` renders the overview from the same panel SQL."""

from __future__ import annotations

from datetime import date

from motcua.dashboards.runner import collect_overview
from motcua.dashboards.snapshot import render_html, render_png
from motcua.domain.formatting import fmt_percent


def test_snapshot_png_and_html_show_the_panel_figures(loaded_store, tmp_path):
    data = collect_overview(loaded_store, date(2025, 3, 1), date(2025, 3, 31))
    render_png(data, date(2025, 3, 1), date(2025, 3, 31), tmp_path / "overview.png")
    render_html(data, date(2025, 3, 1), date(2025, 3, 31), "overview.png", tmp_path / "index.html")
    png = (tmp_path / "overview.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    month = data["headline_on_time_month"][0]
    on_time_commune = next(
        r for r in data["rates_month"] if r["metric_id"] == "on_time_rate" and r["unit_level"] == "COMMUNE"
    )
    assert fmt_percent(on_time_commune["ratio"]) in page and "≥ 96,0%" in page
    assert "Tỷ lệ hồ sơ giải quyết đúng hạn" in page and "Chưa đạt" in page
    assert month["denominator"] > 0
