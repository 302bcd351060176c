"""The month-end forecast read from a store, with the targets in force and the verdicts:
what ``motcua forecast``, the exporter and the benchmarks share (docs/forecast.md)."""

from __future__ import annotations

from dataclasses import dataclass

from ..adapters.clickhouse_forecast import forecast_cells
from ..domain.forecast import DEFAULT_HISTORY, METRICS, forecast_rows, instants, verdict
from ..domain.periods import ReportPeriod
from ..domain.targets import Target, effective_target


@dataclass(frozen=True)
class Forecast:
    period: ReportPeriod
    as_of_ms: int
    by: str
    history: int  # history periods asked for
    history_used: int  # of them, those with any dossier in the store
    rows: list[dict]


def forecast_from_store(
    store,
    rp: ReportPeriod,
    as_of_ms: int,
    cal,
    by: str,
    targets: list[Target] | None = None,
    province_code: str | None = None,
    history: int = DEFAULT_HISTORY,
) -> Forecast:
    """Rows of ``domain.forecast.forecast_rows`` for ``by`` (province, level, unit), each
    metric with the target in force on the period's last day and the verdict."""
    return forecasts_from_store(store, rp, as_of_ms, cal, (by,), targets, province_code, history)[by]


def forecasts_from_store(
    store,
    rp: ReportPeriod,
    as_of_ms: int,
    cal,
    bys: tuple[str, ...],
    targets: list[Target] | None = None,
    province_code: str | None = None,
    history: int = DEFAULT_HISTORY,
) -> dict[str, Forecast]:
    """``forecast_from_store`` for several groupings from one read of the store."""
    insts = instants(rp, as_of_ms, cal, history)
    cells = forecast_cells(store, insts, cal)
    used = len({k for (k, _u, _l, _c) in cells if k > 0})
    out = {}
    for by in bys:
        rows = forecast_rows(cells, insts, by)
        for row in rows:
            _attach_targets(row, rp, targets, province_code)
        out[by] = Forecast(rp, as_of_ms, by, history, used, rows)
    return out


def _attach_targets(
    row: dict, rp: ReportPeriod, targets: list[Target] | None, province_code: str | None
) -> None:
    for metric in METRICS:
        t = None
        if targets and province_code:
            t = effective_target(
                targets,
                province_code,
                metric,
                rp.last_day,
                level=row.get("unit_level"),
                unit_code=row.get("unit_code"),
            )
        figures = row[metric]
        figures["target"] = None if t is None else t.value
        figures["comparator"] = None if t is None else t.comparator
        figures["target_vi"] = None if t is None else t.text_vi()
        figures["verdict"] = verdict(t, figures["expected"], figures["best"])
