"""Live counts and active targets as Prometheus gauges.

Counts, never rates (rule zero): for each window (today, this month, this year, the last
30 days, all ending at the evaluation day) the exporter publishes the numerator and the
denominator of every metric per province × level, and, for a few metrics only (default:
on_time_rate), per unit; Prometheus recording rules turn them into rates by summing
numerators and denominators. Cardinality is bounded by units × unit metrics × 2 windows:
no procedure, field or channel labels.

Numbers are read from ClickHouse every ``interval`` seconds in a background thread;
scrapes serve the last snapshot. Metric names and labels are documented in
docs/control-room.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ..domain.calendar import local_day_number
from ..domain.metrics import METRICS, METRICS_BY_ID
from ..domain.targets import Target, effective_target
from ..domain.vocabulary import LEVEL_ORDER, level_short_label

EXPORTED_METRICS = tuple(m for m in METRICS if m.id != "progress_766")
LEVEL_WINDOWS = ("today", "month", "year", "30d")
UNIT_WINDOWS = ("month", "30d")
DEFAULT_UNIT_METRICS = ("on_time_rate",)


def window_starts(day: date) -> dict[str, date]:
    return {
        "today": day,
        "month": day.replace(day=1),
        "year": day.replace(month=1, day=1),
        "30d": day - timedelta(days=29),
    }


@dataclass
class Snapshot:
    day: date
    level: dict[tuple[str, str, str, str], tuple[int, int]] = field(
        default_factory=dict
    )  # (prov, level, metric, window)
    unit: dict[tuple[str, str, str, str, str], tuple[int, int]] = field(default_factory=dict)
    backlog: dict[tuple[str, str, str], tuple[int, int, int]] = field(
        default_factory=dict
    )  # (prov, level, unit)
    level_targets: list[tuple[str, str, Target]] = field(default_factory=list)  # (prov, level, target)
    unit_targets: list[tuple[str, str, str, Target]] = field(default_factory=list)
    unit_names: dict[str, str] = field(default_factory=dict)
    province_names: dict[str, str] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    other_calendar: int | None = None  # received dossiers computed with another calendar
    refreshed_at: float = 0.0
    seconds: float = 0.0


def _read_counts(client, db: str, snap: Snapshot, unit_metrics: tuple[str, ...]) -> None:
    """Every window's counters in one query over the first window's days, summed per level, kept per unit."""
    day = snap.day
    starts = window_starts(day)
    first = min(starts.values())
    counters = sorted({m.numerator for m in EXPORTED_METRICS} | {m.denominator for m in EXPORTED_METRICS})
    cols = ", ".join(
        f"sumIf({c}, day >= {{s_{w}:Date}}) AS {c}__{w}" for w in LEVEL_WINDOWS for c in counters
    )
    params = {f"s_{w}": s for w, s in starts.items()}
    params.update({"first": first, "day": day})
    result = client.query(
        f"SELECT province_code, unit_level, unit_code, {cols} FROM {db}.kpi_daily_unit "
        "WHERE day >= {first:Date} AND day <= {day:Date} GROUP BY province_code, unit_level, unit_code",
        parameters=params,
    )
    names = result.column_names
    for row in result.result_rows:
        prov, level, unit = row[0], row[1], row[2]
        vals = dict(zip(names[3:], row[3:]))
        for w in LEVEL_WINDOWS:
            for m in EXPORTED_METRICS:
                num, den = int(vals[f"{m.numerator}__{w}"]), int(vals[f"{m.denominator}__{w}"])
                key = (prov, level, m.id, w)
                a, b = snap.level.get(key, (0, 0))
                snap.level[key] = (a + num, b + den)
                if m.id in unit_metrics and w in UNIT_WINDOWS:
                    snap.unit[(prov, level, unit, m.id, w)] = (num, den)


def _match_targets(snap: Snapshot, targets: list[Target], unit_metrics: tuple[str, ...]) -> None:
    """The target in force today for every province × level and unit that has counts to compare it with."""
    day = snap.day
    provinces = sorted({k[0] for k in snap.level} | {k[0] for k in snap.backlog})
    for prov in provinces:
        for level in LEVEL_ORDER:
            for m in EXPORTED_METRICS:
                t = effective_target(targets, prov, m.id, day, level=level)
                if t is not None:
                    snap.level_targets.append((prov, level, t))
    units = sorted({(k[0], k[1], k[2]) for k in snap.unit})
    for prov, level, unit in units:
        for mid in unit_metrics:
            t = effective_target(targets, prov, mid, day, level=level, unit_code=unit)
            if t is not None:
                snap.unit_targets.append((prov, level, unit, t))


def read_snapshot(
    store,
    as_of_ms: int,
    targets: list[Target] | None = None,
    unit_metrics: Iterable[str] = DEFAULT_UNIT_METRICS,
    calendar_version: str | None = None,
) -> Snapshot:
    """One consistent read of everything the exporter publishes; with
    ``calendar_version`` (the calendar in force), also how many stored dossiers were
    computed with another one (``motcua recompute`` brings them up to date)."""
    t0 = time.time()
    db, client = store.db, store.client
    day = date.fromordinal(local_day_number(as_of_ms))
    snap = Snapshot(day=day)
    unit_metrics = tuple(unit_metrics)
    _read_counts(client, db, snap, unit_metrics)
    for prov, level, unit, ip, od, ds in client.query(
        f"SELECT province_code, unit_level, unit_code, sum(open), sumIf(open, due_date < {{day:Date}}), "
        f"sumIf(open, due_date = {{day:Date}} OR due_date = (SELECT min(day) FROM {db}.work_calendar "
        f"WHERE day > {{day:Date}} AND is_working = 1)) FROM {db}.open_backlog_unit "
        "GROUP BY province_code, unit_level, unit_code HAVING sum(open) != 0",
        parameters={"day": day},
    ).result_rows:
        snap.backlog[(prov, level, unit)] = (int(ip), int(od), int(ds))
    for _kind, code, name, prov_code, prov_name in client.query(
        f"SELECT kind, code, name, province_code, province_name FROM {db}.reference_names FINAL "
        "WHERE kind = 'unit'"
    ).result_rows:
        snap.unit_names[code] = name
        if prov_name and prov_code:  # loaded DVCQG codes (000.00.12.H56) carry no GSO code in the code
            snap.province_names[prov_code] = prov_name
    if targets is None:
        from ..adapters.clickhouse_targets import TargetsRepository

        targets = TargetsRepository(store).all()
    _match_targets(snap, targets, unit_metrics)
    snap.dead_letters = {
        code: int(n)
        for code, n in client.query(
            f"SELECT code, count() FROM {db}.dead_letters FINAL GROUP BY code"
        ).result_rows
    }
    if calendar_version is not None:
        snap.other_calendar = int(
            client.query(
                f"SELECT count() FROM {db}.dossier_state FINAL WHERE received AND calendar_version != {{v:String}}",
                parameters={"v": calendar_version},
            ).result_rows[0][0]
        )
    snap.refreshed_at = time.time()
    snap.seconds = snap.refreshed_at - t0
    return snap


class KpiCollector(Collector):
    """Serves the latest snapshot; ``refresh()`` replaces it (thread-safe)."""

    def __init__(self, read: Callable[[], Snapshot]):
        self._read = read
        self._snap: Snapshot | None = None
        self._lock = threading.Lock()
        self.errors = 0

    def refresh(self) -> Snapshot | None:
        try:
            snap = self._read()
        except Exception:  # keep serving the previous snapshot; the error is counted
            self.errors += 1
            raise
        with self._lock:
            self._snap = snap
        return snap

    def collect(self):
        with self._lock:
            s = self._snap
        errors = CounterMetricFamily("motcua_exporter_refresh_errors", "Failed reads of the store.")
        errors.add_metric([], self.errors)
        yield errors
        if s is None:
            return
        yield from _count_families(s)
        yield from _backlog_families(s)
        yield from _target_families(s)
        yield from _store_families(s)


def _count_families(s: Snapshot) -> Iterator[GaugeMetricFamily]:
    """Counts, never rates: per province and level, and per unit for the alerting metrics."""
    lv = ["province", "level", "metric", "window"]
    num = GaugeMetricFamily(
        "motcua_kpi_numerator",
        "Numerator of a metric (docs/metrics.md) over a window ending today, per province and level.",
        labels=lv,
    )
    den = GaugeMetricFamily(
        "motcua_kpi_denominator",
        "Denominator of a metric over a window ending today, per province and level.",
        labels=lv,
    )
    for (prov, level, metric, w), (a, b) in sorted(s.level.items()):
        num.add_metric([prov, level, metric, w], a)
        den.add_metric([prov, level, metric, w], b)
    yield num
    yield den
    ul = ["province", "level", "unit", "metric", "window"]
    unum = GaugeMetricFamily(
        "motcua_unit_kpi_numerator", "Numerator per unit (alerting metrics only).", labels=ul
    )
    uden = GaugeMetricFamily(
        "motcua_unit_kpi_denominator", "Denominator per unit (alerting metrics only).", labels=ul
    )
    for (prov, level, unit, metric, w), (a, b) in sorted(s.unit.items()):
        unum.add_metric([prov, level, unit, metric, w], a)
        uden.add_metric([prov, level, unit, metric, w], b)
    yield unum
    yield uden


def _backlog_families(s: Snapshot) -> Iterator[GaugeMetricFamily]:
    """The dossiers open now, overdue and due soon, per unit."""
    bl = ["province", "level", "level_name", "unit"]
    fams = [
        GaugeMetricFamily("motcua_backlog_in_progress", "Dossiers in progress now.", labels=bl),
        GaugeMetricFamily("motcua_backlog_overdue", "Dossiers in progress and overdue now.", labels=bl),
        GaugeMetricFamily(
            "motcua_backlog_due_soon", "Dossiers due today or the next working day.", labels=bl
        ),
    ]
    for (prov, level, unit), values in sorted(s.backlog.items()):
        for fam, v in zip(fams, values):
            fam.add_metric([prov, level, level_short_label(level), unit], v)
    yield from fams


def _target_families(s: Snapshot) -> Iterator[GaugeMetricFamily]:
    """The plan targets in force today, per level and per unit, labelled for the control room."""
    tl = ["province", "province_name", "level", "level_name", "metric", "comparator", "target_vi"]
    tg = GaugeMetricFamily(
        "motcua_target_ratio", "Plan target in force today per province, level and metric.", labels=tl
    )
    for prov, level, t in s.level_targets:
        tg.add_metric(
            [
                prov,
                s.province_names.get(prov, t.province),
                level,
                level_short_label(level),
                t.metric,
                t.comparator,
                t.text_vi(),
            ],
            t.value,
        )
    yield tg
    utl = ["province", "level", "unit", "unit_name", "metric", "comparator", "target_vi"]
    utg = GaugeMetricFamily(
        "motcua_unit_target_ratio",
        "Plan target in force today for a unit (its own, else its level's).",
        labels=utl,
    )
    for prov, level, unit, t in s.unit_targets:
        utg.add_metric(
            [prov, level, unit, s.unit_names.get(unit, unit), t.metric, t.comparator, t.text_vi()],
            t.value,
        )
    yield utg


def _store_families(s: Snapshot) -> Iterator[GaugeMetricFamily]:
    """The store's own health: dead letters, stale calendars, and when and how long the last read was."""
    dl = GaugeMetricFamily(
        "motcua_store_dead_letters", "Dead letters stored in ClickHouse, per code.", labels=["code"]
    )
    for code, n in sorted(s.dead_letters.items()):
        dl.add_metric([code], n)
    yield dl
    if s.other_calendar is not None:
        oc = GaugeMetricFamily(
            "motcua_store_dossiers_other_calendar",
            "Received dossiers whose due dates were computed with another working-day "
            "calendar than the one in force (run motcua recompute).",
        )
        oc.add_metric([], s.other_calendar)
        yield oc
    ts = GaugeMetricFamily("motcua_exporter_last_refresh_timestamp_seconds", "When the snapshot was read.")
    ts.add_metric([], s.refreshed_at)
    yield ts
    dur = GaugeMetricFamily("motcua_exporter_refresh_seconds", "How long the last read of the store took.")
    dur.add_metric([], s.seconds)
    yield dur
    day = GaugeMetricFamily(
        "motcua_exporter_evaluation_day_timestamp_seconds",
        "The local day the windows end at (midnight, epoch seconds).",
    )
    from ..domain.calendar import local_midnight_ms

    day.add_metric([], local_midnight_ms(s.day) / 1000)
    yield day


def serve(
    store,
    port: int,
    interval: float,
    as_of_ms: Callable[[], int],
    addr: str = "0.0.0.0",
    targets: list[Target] | None = None,
    unit_metrics: Iterable[str] = DEFAULT_UNIT_METRICS,
    stop: threading.Event | None = None,
    on_refresh: Callable[[Snapshot], None] | None = None,
    calendar=None,
    forecast_every: float | None = 300.0,
    restatements=None,
):
    """Start the HTTP endpoint and refresh every ``interval`` seconds until ``stop``.
    ``calendar`` (default: the product calendar without overrides) feeds the calendar
    gauges (exporter/calendar_metrics.py) and the forecast (exporter/forecast_metrics.py,
    recomputed every ``forecast_every`` seconds; None: not published); ``restatements``
    (a ``RestatementCollector``) is refreshed in the same loop, on its own interval."""
    from prometheus_client import CollectorRegistry, start_http_server

    from ..reference.official_calendar import default_calendar
    from .calendar_metrics import CalendarCollector

    registry = CollectorRegistry()
    calendar = calendar or default_calendar()
    collector = KpiCollector(
        lambda: read_snapshot(store, as_of_ms(), targets, unit_metrics, calendar_version=calendar.version)
    )
    registry.register(collector)
    registry.register(CalendarCollector(calendar, as_of_ms))
    if restatements is not None:  # exporter.restatements.RestatementCollector
        registry.register(restatements)
    collector.refresh()
    forecast = _forecast_collector(store, calendar, as_of_ms, forecast_every)
    if forecast is not None:
        registry.register(forecast)
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    stop = stop or threading.Event()
    try:
        while not stop.wait(interval):
            try:
                snap = collector.refresh()
                if forecast is not None:
                    forecast.refresh()
                if on_refresh and snap:
                    on_refresh(snap)
                if restatements is not None:
                    restatements.maybe_refresh()
            except Exception as err:  # the store may be briefly unavailable
                print(f"exporter: refresh failed: {err}", flush=True)
    finally:
        server.shutdown()
    return collector


def _forecast_collector(store, calendar, as_of_ms: Callable[[], int], every: float | None):
    """The forecast gauges' collector, read once now (a failed first read leaves it empty
    until the next refresh), or None when not asked for."""
    if every is None:
        return None
    from .forecast_metrics import ForecastCollector, read_forecast

    forecast = ForecastCollector(lambda: read_forecast(store, as_of_ms(), calendar), every)
    try:
        forecast.refresh()
    except Exception as err:  # the store may be briefly unavailable
        print(f"exporter: forecast failed: {err}", flush=True)
    return forecast


__all__ = ["METRICS_BY_ID", "KpiCollector", "Snapshot", "read_snapshot", "serve"]
