"""The embedded product as a newcomer runs it: demo, then the commands on its store."""

from __future__ import annotations

from tests.cli_runner import motcua, motcua_json


def test_demo_then_kpi_on_the_same_store(tmp_path):
    store = f"chdb://{tmp_path / 'store'}"
    out = motcua("demo", "--scale", "0.03", "--store", store)
    table = out.stdout
    # Vietnamese labels, levels, targets beside the figures, Vietnamese number formats
    for text in ("Tỷ lệ hồ sơ giải quyết đúng hạn", "Cấp tỉnh", "Cấp xã", "Chỉ tiêu", "≥ 96%", "%"):
        assert text in table
    assert "," in table.split("Tỷ lệ hồ sơ tiếp nhận trực tuyến")[1].splitlines()[0]  # 98,1%
    rows = motcua_json(
        "kpi",
        "--from",
        "2025-03-01",
        "--to",
        "2025-04-01",
        "--by",
        "level",
        "--as-of",
        "2025-04-01",
        "--format",
        "json",
        "--store",
        store,
    )
    levels = {r["unit_level"] for r in rows}
    assert {"PROVINCE", "DISTRICT", "COMMUNE"} <= levels
    total = sum(r["online_filing_rate_den"] for r in rows)
    online = sum(r["online_filing_rate_num"] for r in rows)
    assert total > 500 and 0.9 < online / total <= 1.0  # calibrated: ~98% online
    on_time = sum(r["on_time_rate_num"] for r in rows) / sum(r["on_time_rate_den"] for r in rows)
    assert 0.8 < on_time < 1.0
    # a second demo run on the same store is a replay of the same events: nothing changes
    motcua("demo", "--scale", "0.03", "--store", store)
    assert (
        motcua_json(
            "kpi",
            "--from",
            "2025-03-01",
            "--to",
            "2025-04-01",
            "--by",
            "level",
            "--as-of",
            "2025-04-01",
            "--format",
            "json",
            "--store",
            store,
        )
        == rows
    )
