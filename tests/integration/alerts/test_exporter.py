"""The exporter's counts equal the store's KPIs for the same windows (rule zero: counts,
not rates), with bounded labels and the targets in force."""

from __future__ import annotations

from datetime import date

from prometheus_client import CollectorRegistry, generate_latest

from motcua.dashboards.macros import PanelContext
from motcua.domain.periods import Period
from motcua.exporter.collector import KpiCollector, read_snapshot
from motcua.reference.official_calendar import default_calendar

CAL = default_calendar()
AS_OF = PanelContext.for_days(date(2025, 3, 31), date(2025, 3, 31)).to_ms


def test_snapshot_counts_equal_kpi_per_window(loaded_store):
    snap = read_snapshot(loaded_store, AS_OF)
    assert snap.day == date(2025, 3, 31)
    for window, period in (
        ("month", Period(date(2025, 3, 1), date(2025, 4, 1))),
        ("30d", Period(date(2025, 3, 2), date(2025, 4, 1))),
        ("today", Period(date(2025, 3, 31), date(2025, 4, 1))),
    ):
        for row in loaded_store.kpi(period, AS_OF, "level", CAL):
            for metric in ("on_time_rate", "online_filing_rate", "online_payment_rate"):
                assert snap.level[("75", row["unit_level"], metric, window)] == (
                    row[f"{metric}_num"],
                    row[f"{metric}_den"],
                )
    by_unit = {
        r["unit_code"]: r
        for r in loaded_store.kpi(Period(date(2025, 3, 2), date(2025, 4, 1)), AS_OF, "unit", CAL)
    }
    units = {k[2] for k in snap.unit}
    assert len(units) > 100 and units <= set(by_unit)
    for (_prov, _level, unit, _metric, window), (num, den) in snap.unit.items():
        if window == "30d":
            assert (num, den) == (by_unit[unit]["on_time_rate_num"], by_unit[unit]["on_time_rate_den"])
    for (_prov, _level, unit), (ip, od, ds) in snap.backlog.items():
        assert (ip, od, ds) == (
            by_unit[unit]["in_progress"],
            by_unit[unit]["in_progress_overdue"],
            by_unit[unit]["due_soon"],
        )


def test_exposition_has_targets_and_no_procedure_labels(loaded_store):
    registry = CollectorRegistry()
    c = KpiCollector(lambda: read_snapshot(loaded_store, AS_OF))
    registry.register(c)
    c.refresh()
    text = generate_latest(registry).decode()
    assert (
        'motcua_target_ratio{comparator=">=",level="COMMUNE",level_name="Cấp xã",metric="on_time_rate",'
        'province="75",province_name="Đồng Nai",target_vi="≥ 96%"} 0.96'
    ) in text
    assert "motcua_unit_target_ratio{" in text and 'unit_name="Sở Tư pháp"' in text
    assert "procedure" not in text and "field_code" not in text
    series = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert len(series) < 5000
    assert 'motcua_store_dead_letters{code="' in text


def test_dossiers_computed_with_another_calendar_are_published(loaded_store):
    """``motcua_store_dossiers_other_calendar``: 0 for the calendar the store was loaded
    with, every received dossier for any other one (the alert MotcuaSoLieuTheoLichCu)."""
    received = loaded_store.client.query(
        f"SELECT count() FROM {loaded_store.db}.dossier_state FINAL WHERE received"
    ).result_rows[0][0]
    assert received > 1000
    assert read_snapshot(loaded_store, AS_OF, calendar_version=CAL.version).other_calendar == 0
    other = read_snapshot(loaded_store, AS_OF, calendar_version="0123456789abcdef")
    assert other.other_calendar == received
    registry = CollectorRegistry()
    c = KpiCollector(lambda: other)
    registry.register(c)
    c.refresh()
    assert f"motcua_store_dossiers_other_calendar {float(received)}" in generate_latest(registry).decode()
    assert read_snapshot(loaded_store, AS_OF).other_calendar is None  # not asked: not published
