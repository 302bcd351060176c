"""Restatements of closed periods as Prometheus gauges: how many closed cells moved and by
how much the closed rates moved, per province and closed period (the last version of
each close of the last ``months`` months).

Each refresh recomputes every such period's figures (``reports.closing.restatements_for``:
a few KPI queries per period), so it runs on its own, slower interval
(``Settings.restatement_interval_s``) in the exporter's loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..domain.calendar import local_day_number
from ..domain.closing import Restatement
from ..domain.metrics import METRICS
from ..domain.periods import parse_period
from ..domain.vocabulary import level_short_label

RATE_METRICS = tuple(m.id for m in METRICS if m.percent)
ALL_LEVELS = "ALL"  # the province as a whole


@dataclass
class ClosedState:
    """What one refresh found, per (province, period): version, close time, moved cells
    per table, and the closed rates' moves in points per (level, metric)."""

    closes: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    cells: dict[tuple[str, str, str], int] = field(default_factory=dict)
    points: dict[tuple[str, str, str, str], float] = field(default_factory=dict)
    seconds: float = 0.0


def summarise(state: ClosedState, province: str, period: str, rs: list[Restatement]) -> None:
    """Add one close's restatements to ``state`` (every table present, 0 when nothing moved)."""
    for table in ("ii06a", "kpi_all", "kpi_level", "kpi_unit", "index766"):
        state.cells.setdefault((province, period, table), 0)
    for r in rs:
        c = r.cell
        state.cells[(province, period, c.table)] = state.cells.get((province, period, c.table), 0) + 1
        if c.table in ("kpi_all", "kpi_level") and c.column in RATE_METRICS and r.delta is not None:
            state.points[(province, period, c.unit_level or ALL_LEVELS, c.column)] = round(r.delta * 100, 4)


def read_closed_state(store, cal, now_ms: int, months: int) -> ClosedState:
    """Every recent close of every province in the store, compared with today's figures."""
    from ..adapters.clickhouse_closes import ClosesRepository
    from ..adapters.clickhouse_reports import province_counts, province_scope
    from ..reports.closing import ClosedPeriod, restatements_for
    from ..reports.province import choose_province

    t0 = time.monotonic()
    state = ClosedState()
    since = date.fromordinal(local_day_number(now_ms)) - timedelta(days=31 * months)
    provinces = store.client.query(f"SELECT DISTINCT province_code FROM {store.db}.period_closes").result_rows
    counts = province_counts(store)
    for (code,) in provinces:
        scoped = province_scope(store, choose_province(counts, str(code)).province.store_codes)
        repo = ClosesRepository(store)
        latest = {h.period_code: h for h in repo.headers(str(code)) if h.end >= since}
        for period_code, h in latest.items():  # headers come by version: the last one is kept
            rp = parse_period(period_code, h.kind, official=True, today=h.end)
            closed = ClosedPeriod(h, repo.rows(h))
            state.closes[(h.province_code, period_code)] = (h.version, h.closed_at_ms)
            summarise(state, h.province_code, period_code, restatements_for(scoped, closed, rp, cal, now_ms))
    state.seconds = time.monotonic() - t0
    return state


class RestatementCollector(Collector):
    """Serves the last ``ClosedState``; ``maybe_refresh`` recomputes it every ``interval``."""

    def __init__(self, read: Callable[[], ClosedState], interval: float, threshold_points: float):
        self._read = read
        self.interval = interval
        self.threshold_points = threshold_points
        self._state: ClosedState | None = None
        self._at = float("-inf")
        self._lock = threading.Lock()
        self.errors = 0

    def maybe_refresh(self) -> None:
        if time.monotonic() - self._at < self.interval:
            return
        self._at = time.monotonic()
        try:
            state = self._read()
        except Exception:  # keep serving the previous state; counted
            self.errors += 1
            raise
        with self._lock:
            self._state = state

    def collect(self):
        threshold = GaugeMetricFamily(
            "motcua_restatement_threshold_points",
            "Move of a closed on-time rate (percentage points) that raises MotcuaSoLieuDaChotThayDoi.",
        )
        threshold.add_metric([], self.threshold_points)
        yield threshold
        with self._lock:
            s = self._state
        if s is None:
            return
        yield from closed_families(s)


def closed_families(s: ClosedState):
    closed = GaugeMetricFamily(
        "motcua_period_closed_timestamp_seconds",
        "When the close in force of a period was made (its last version).",
        labels=["province", "period", "version"],
    )
    for (prov, period), (version, at_ms) in sorted(s.closes.items()):
        closed.add_metric([prov, period, str(version)], at_ms / 1000)
    yield closed
    cells = GaugeMetricFamily(
        "motcua_period_restated_cells",
        "Cells of a closed period whose live value differs from the closed one, per report table.",
        labels=["province", "period", "table"],
    )
    for (prov, period, table), n in sorted(s.cells.items()):
        cells.add_metric([prov, period, table], n)
    yield cells
    points = GaugeMetricFamily(
        "motcua_period_restated_rate_points",
        "Live minus closed rate of a closed period, percentage points, per level (ALL: the province).",
        labels=["province", "period", "level", "level_name", "metric"],
    )
    for (prov, period, level, metric), v in sorted(s.points.items()):
        name = "Toàn tỉnh" if level == ALL_LEVELS else level_short_label(level)
        points.add_metric([prov, period, level, name, metric], v)
    yield points
    took = GaugeMetricFamily(
        "motcua_restatement_refresh_seconds", "How long the last restatement refresh took."
    )
    took.add_metric([], s.seconds)
    yield took


__all__ = ["ClosedState", "RestatementCollector", "closed_families", "read_closed_state"]
