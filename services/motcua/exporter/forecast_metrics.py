"""The month-end forecast as Prometheus gauges (docs/forecast.md), for the alerts
MotcuaDuBaoKhongTheDatChiTieu and MotcuaDuBaoDuoiChiTieu and the control room's band:

- ``motcua_forecast_ratio{province, level, level_name, metric, metric_name, period_kind,
  period_vi, bound}``:
  expected, best or worst (``bound``) of on_time_rate and progress_766 at the end of
  the running official period (``period_kind="official"``, 15th -> 14th) and calendar
  month (``"calendar"``), per province and level;
- ``motcua_unit_forecast_ratio{province, level, unit, metric, period_kind, bound}``: the
  same per unit, for on_time_rate only (cardinality: units x 2 kinds x 3 bounds).

A forecast is a model's output, not a count: these gauges are ratios, never summed (the
forecast of a level is computed from its units' figures, not averaged). The forecast
reads the store for seven instants, so it is refreshed every ``every`` seconds (default
five minutes), not at every KPI refresh; scrapes serve the last one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import date

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..domain.calendar import local_day_number
from ..domain.periods import ReportPeriod, make_period
from ..domain.vocabulary import level_short_label
from ..reports.forecast import forecasts_from_store

BOUNDS = ("expected", "best", "worst")
LEVEL_METRICS = ("on_time_rate", "progress_766")
UNIT_METRICS = ("on_time_rate",)

Sample = tuple[str, str, str, str, str, str, float]  # province, level, unit, metric, kind, bound, value
METRIC_NAMES = {"on_time_rate": "Tỷ lệ giải quyết đúng hạn", "progress_766": "Tiến độ giải quyết (766)"}


def running_periods(day: date) -> dict[str, ReportPeriod]:
    """The official period (15th -> 14th) and the calendar month that contain ``day``."""
    y, m = (day.year, day.month) if day.day < 15 else (day.year + (day.month == 12), day.month % 12 + 1)
    return {
        "official": make_period("month", y, m, official=True),
        "calendar": make_period("month", day.year, day.month, official=False),
    }


def period_vi(rp: ReportPeriod) -> str:
    """'kỳ chốt số liệu tháng 03/2025' or 'tháng 03/2025' (the alerts' texts)."""
    return f"kỳ chốt số liệu {rp.label_vi}" if rp.official else rp.label_vi


def read_forecast(store, as_of_ms: int, cal) -> tuple[list[Sample], list[Sample], dict[str, str]]:
    """(level samples, unit samples, Vietnamese name of each period kind) of every
    province in the store, both period kinds."""
    from ..adapters.clickhouse_reports import province_counts, province_scope

    day = date.fromordinal(local_day_number(as_of_ms))
    levels: list[Sample] = []
    units: list[Sample] = []
    periods = running_periods(day)
    for prov, _n in province_counts(store):
        scoped = province_scope(store, [prov])
        for kind, rp in periods.items():
            result = forecasts_from_store(scoped, rp, as_of_ms, cal, ("level", "unit"))
            for row in result["level"].rows:
                levels.extend(_samples(prov, row, "", LEVEL_METRICS, kind))
            for row in result["unit"].rows:
                units.extend(_samples(prov, row, row["unit_code"], UNIT_METRICS, kind))
    return levels, units, {kind: period_vi(rp) for kind, rp in periods.items()}


def _samples(prov: str, row: dict, unit: str, metrics, kind: str) -> Iterator[Sample]:
    for metric in metrics:
        for bound in BOUNDS:
            value = row[metric][bound]
            if value is not None:
                yield (prov, row["unit_level"], unit, metric, kind, bound, value)


class ForecastCollector(Collector):
    """Serves the last forecast; ``refresh()`` recomputes it when older than ``every`` s."""

    def __init__(
        self, read: Callable[[], tuple[list[Sample], list[Sample], dict[str, str]]], every: float = 300.0
    ):
        self._read = read
        self.every = every
        self._data: tuple[list[Sample], list[Sample], dict[str, str]] | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def refresh(self, force: bool = False) -> None:
        if not force and self._data is not None and time.time() - self._at < self.every:
            return
        data = self._read()
        with self._lock:
            self._data, self._at = data, time.time()

    def collect(self):
        with self._lock:
            data = self._data
        if data is None:
            return
        levels, units, names = data
        lv = GaugeMetricFamily(
            "motcua_forecast_ratio",
            "Month-end forecast (expected, best, worst) per province and level (docs/forecast.md).",
            labels=[
                "province",
                "level",
                "level_name",
                "metric",
                "metric_name",
                "period_kind",
                "period_vi",
                "bound",
            ],
        )
        for prov, level, _u, metric, kind, bound, v in levels:
            labels = [
                prov,
                level,
                level_short_label(level),
                metric,
                METRIC_NAMES[metric],
                kind,
                names[kind],
                bound,
            ]
            lv.add_metric(labels, v)
        yield lv
        un = GaugeMetricFamily(
            "motcua_unit_forecast_ratio",
            "Month-end forecast of the on-time rate per unit (docs/forecast.md).",
            labels=["province", "level", "unit", "metric", "period_kind", "bound"],
        )
        for prov, level, unit, metric, kind, bound, v in units:
            un.add_metric([prov, level, unit, metric, kind, bound], v)
        yield un


__all__ = ["ForecastCollector", "read_forecast", "running_periods"]
