"""Figures for the reports, read from a store through ``ClickHouseStore.kpi`` and
``adapters.clickhouse_reports`` (embedded chDB or a ClickHouse server alike), then shaped
by the pure domain (``domain.ii06a``, ``domain.index766``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..domain.calendar import WorkingCalendar
from ..domain.ii06a import II06aReport, build_report
from ..domain.index766 import (
    ScoringConfig,
    counts_from_figures,
    score_counts,
    total_and_grade,
)
from ..domain.metrics import METRICS_BY_ID
from ..domain.periods import ReportPeriod
from ..domain.targets import Target
from .province import ReportProvince


def eval_instant(rp: ReportPeriod, now_ms: int) -> tuple[int, bool]:
    """(as_of for the KPI query, provisional?): the period end, or now while it runs."""
    end_ms = rp.period.end_ms
    return (end_ms, False) if now_ms >= end_ms else (now_ms, True)


def ii06a_from_store(
    store,
    rp: ReportPeriod,
    cal: WorkingCalendar,
    now_ms: int,
    *,
    level: str | None = None,
    unit: str | None = None,
) -> II06aReport:
    as_of, provisional = eval_instant(rp, now_ms)
    rows = store.kpi(rp.period, as_of, "unit_field", cal)
    return build_report(rows, rp.start, rp.end, level=level, unit=unit, provisional=provisional)


# -- 766 ---------------------------------------------------------------------------


def online_service_lookup() -> Callable[[str], str]:
    from ..reference import procedures

    procs = procedures()

    def of(code: str) -> str:
        p = procs.get(code)
        return p.online_service if p is not None else "NONE"

    return of


def index766_from_store(
    store,
    rp: ReportPeriod,
    cal: WorkingCalendar,
    now_ms: int,
    *,
    by_unit: bool,
    config: ScoringConfig | None = None,
    online_service_of: Callable[[str], str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """766 counts, scores, totals and grades for the province (first) and, with
    ``by_unit``, every unit. Each item: unit_code ("" for the province), unit_level,
    counts, metrics, groups, total."""
    from ..adapters.clickhouse_reports import counters_by

    config = config or ScoringConfig()
    online_service_of = online_service_of or online_service_lookup()
    as_of, _provisional = eval_instant(rp, now_ms)
    say = progress or (lambda _msg: None)
    say("Đọc số liệu tiến độ (TD1)")
    kpi_all = store.kpi(rp.period, as_of, "all", cal)
    kpi_units = store.kpi(rp.period, as_of, "unit", cal) if by_unit else []
    say("Đọc số liệu theo đơn vị × thủ tục")
    per_up = counters_by(store, rp.period, ("unit_level", "unit_code", "procedure_code"))
    return index766_items(kpi_all, kpi_units, per_up, config, online_service_of, by_unit)


def index766_items(
    kpi_all: list[dict],
    kpi_units: list[dict],
    per_unit_procedure: dict[tuple, dict[str, int]],
    config: ScoringConfig,
    online_service_of: Callable[[str], str],
    by_unit: bool,
) -> list[dict]:
    """Pure assembly shared by the store path and the tests."""
    empty_kpi = {"progress_766_num": 0, "progress_766_den": 0}
    province_counters: dict[str, int] = {}
    province_procs: dict[str, dict[str, int]] = {}
    unit_counters: dict[tuple, dict[str, int]] = {}
    unit_procs: dict[tuple, dict[str, dict[str, int]]] = {}
    for (lv, unit, proc), c in per_unit_procedure.items():
        for target in (
            province_counters,
            province_procs.setdefault(proc, {}),
            unit_counters.setdefault((lv, unit), {}),
            unit_procs.setdefault((lv, unit), {}).setdefault(proc, {}),
        ):
            for k, v in c.items():
                target[k] = target.get(k, 0) + v

    def item(code: str, level: str, kpi: dict, counters: dict, procs: dict) -> dict:
        counts = counts_from_figures(kpi, counters, procs.items(), online_service_of)
        scored = score_counts(counts, config, where=code or "province")
        return {
            "unit_code": code,
            "unit_level": level,
            "counts": counts,
            **scored,
            "total": total_and_grade(scored, config),
        }

    out = [item("", "", kpi_all[0] if kpi_all else empty_kpi, province_counters, province_procs)]
    if by_unit:
        kpi_by = {(r["unit_level"], r["unit_code"]): r for r in kpi_units}
        for key in sorted(set(kpi_by) | set(unit_counters), key=lambda k: (k[0], k[1])):
            out.append(
                item(
                    key[1],
                    key[0],
                    kpi_by.get(key, empty_kpi),
                    unit_counters.get(key, {}),
                    unit_procs.get(key, {}),
                )
            )
    return out


# -- targets -----------------------------------------------------------------------


def target_for(
    targets: list[Target], metric: str, level: str | None, unit: str | None = None
) -> Target | None:
    """The target that applies: a unit's own, else its level's, else the all-levels one."""
    cands = [t for t in targets if t.metric == metric]
    if unit is not None:
        for t in cands:
            if t.unit_code == unit:
                return t
    for t in cands:
        if t.unit_code is None and t.level is not None and t.level == level:
            return t
    for t in cands:
        if t.unit_code is None and t.level is None:
            return t
    return None


def target_text(t: Target | None) -> str:
    from ..domain.formatting import fmt_percent

    if t is None:
        return ""
    comp = t.comparator.replace(">=", "≥").replace("<=", "≤")
    m = METRICS_BY_ID.get(t.metric)
    value = fmt_percent(t.value, 0) if (m is None or m.percent) else str(t.value)
    return f"{comp} {value}"


# -- monthly -------------------------------------------------------------------------

REPORT_METRICS = (
    "on_time_rate",
    "online_filing_rate",
    "dossier_digitisation_rate",
    "result_digitisation_rate",
    "online_payment_rate",
    "satisfaction_rate",
    "late_apology_rate",
)


@dataclass
class MonthlyData:
    period: ReportPeriod
    province: str
    province_name: str
    provisional: bool
    current_all: dict
    previous_all: dict | None
    current_levels: list[dict]
    previous_levels: list[dict]
    units: list[dict]  # KPI rows by unit, current period
    trend: list[tuple[ReportPeriod, dict | None, list[dict]]]  # (period, all row, level rows)
    targets: list[Target]
    ii06a: II06aReport
    notes: list[str] = field(default_factory=list)
    scope: ReportProvince | None = None  # how documents name the province (None: a tỉnh)
    # the same period one year earlier (read with the same province codes: after the 2025
    # merger the year-earlier figures include the former provinces' dossiers)
    year_ago: ReportPeriod | None = None
    year_ago_all: dict | None = None
    year_ago_levels: list[dict] = field(default_factory=list)
    # year-earlier KPI rows by unit, a unit that ceased to exist counted under the unit
    # that took over (units_under_successors), keyed by that unit's code
    year_ago_units: dict[str, dict] = field(default_factory=dict)

    @property
    def whole(self) -> str:
        """'toàn tỉnh' or 'toàn thành phố'."""
        return self.scope.whole if self.scope is not None else "toàn tỉnh"


def monthly_from_store(
    store,
    rp: ReportPeriod,
    cal: WorkingCalendar,
    now_ms: int,
    targets: list[Target],
    province: str,
    province_name: str,
    months: int = 6,
    progress: Callable[[str], None] | None = None,
    scope: ReportProvince | None = None,
) -> MonthlyData:
    return monthly_data(
        lambda period, as_of, by: store.kpi(period, as_of, by, cal),
        rp,
        now_ms,
        targets,
        province,
        province_name,
        months,
        progress,
        scope=scope,
    )


def monthly_data(
    kpi: Callable,
    rp: ReportPeriod,
    now_ms: int,
    targets: list[Target],
    province: str,
    province_name: str,
    months: int = 6,
    progress: Callable[[str], None] | None = None,
    scope: ReportProvince | None = None,
) -> MonthlyData:
    """The monthly report's figures from ``kpi(period, as_of_ms, by) -> rows`` (the store's
    ``kpi`` or the pure ``kpi_rows``)."""
    from ..domain.periods import make_period, months_back

    say = progress or (lambda _msg: None)
    as_of, provisional = eval_instant(rp, now_ms)
    say(f"số liệu {rp.label_vi}")
    current_all = kpi(rp.period, as_of, "all")
    current_levels = kpi(rp.period, as_of, "level")
    units = kpi(rp.period, as_of, "unit")
    prev = rp.previous()
    say(f"số liệu {prev.label_vi}")
    p_as_of, _ = eval_instant(prev, now_ms)
    previous_all = kpi(prev.period, p_as_of, "all")
    previous_levels = kpi(prev.period, p_as_of, "level")
    trend = []
    for p in months_back(rp, months):
        if p == rp:
            trend.append((p, current_all[0] if current_all else None, current_levels))
            continue
        if p == prev:
            trend.append((p, previous_all[0] if previous_all else None, previous_levels))
            continue
        say(f"xu hướng {p.label_vi}")
        t_as_of, _ = eval_instant(p, now_ms)
        rows_all = kpi(p.period, t_as_of, "all")
        trend.append((p, rows_all[0] if rows_all else None, kpi(p.period, t_as_of, "level")))
    year_ago = make_period(rp.kind, rp.year - 1, rp.number, rp.official)
    say(f"cùng kỳ năm trước ({year_ago.label_vi})")
    y_as_of, _ = eval_instant(year_ago, now_ms)
    year_ago_all = kpi(year_ago.period, y_as_of, "all")
    year_ago_levels = kpi(year_ago.period, y_as_of, "level")
    year_ago_units = {
        r["unit_code"]: r for r in units_under_successors(kpi(year_ago.period, y_as_of, "unit"))
    }
    say("Biểu II.06a")
    ii = build_report(kpi(rp.period, as_of, "unit_field"), rp.start, rp.end, provisional=provisional)
    earliest = min([rp.start, year_ago.start] + [p.start for p, _a, _l in trend])
    notes = scope.notes_for(earliest) if scope is not None else []
    return MonthlyData(
        period=rp,
        province=province,
        province_name=province_name,
        provisional=provisional,
        current_all=current_all[0] if current_all else {},
        previous_all=previous_all[0] if previous_all else None,
        current_levels=current_levels,
        previous_levels=previous_levels,
        units=units,
        trend=trend,
        targets=targets,
        ii06a=ii,
        scope=scope,
        notes=notes,
        year_ago=year_ago,
        year_ago_all=year_ago_all[0] if year_ago_all else None,
        year_ago_levels=year_ago_levels,
        year_ago_units=year_ago_units,
    )


def successor_unit(unit_code: str) -> str:
    """The unit that carries ``unit_code``'s dossiers in comparisons across time: the unit
    that took over (``reference.successor_of``: former districts, merged sở, pre-merger
    communes), and for a sở or central branch unit of a former province merged into
    another (``H70.SO.STP``) the same body of the new province (``H75.SO.STP``), itself
    followed to its successor. Any other unit is itself."""
    from ..reference.reform import former_province

    code = _follow(unit_code)
    head, _, rest = code.partition(".")
    if head[:1] in "Hh" and head[1:].isdigit() and rest.split(".", 1)[0] in ("SO", "TW"):
        old = former_province(head)
        if old is not None and old.new_gso != old.gso and old.gso not in _new_codes():
            return _follow(f"H{old.new_gso:02d}.{rest}")
    return code


def _follow(code: str) -> str:
    """``code``'s last successor in the unit registry (a deployment's loaded registry
    knows successors the shipped reference data does not), else ``code``."""
    from ..reference import successor_of
    from ..reference.registry import default_registry

    reg, seen, cur = default_registry(), {code}, code
    while True:
        u = reg.unit(cur)
        nxt = u.successor if u is not None else None
        if not nxt or nxt in seen:
            break
        seen.add(nxt)
        cur = nxt
    return cur if cur != code else (successor_of(code) or code)


def _new_codes() -> set[int]:
    from ..reference import provinces

    return {p.gso for p in provinces()}


def units_under_successors(rows: list[dict], successor: Callable[[str], str] = successor_unit) -> list[dict]:
    """KPI rows by unit -> one row per successor unit (rule zero: numerators and
    denominators summed, the rates recomputed), its level the successor's when the
    registry knows it. Used only where a report compares across time."""
    from ..domain.metrics import METRICS, ratio
    from ..reference import unit_by_code

    merged: dict[str, dict] = {}
    for r in rows:
        code = successor(r["unit_code"])
        into = merged.get(code)
        if into is None:
            u = unit_by_code(code)
            into = merged[code] = {
                k: (0 if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in r.items()
            }
            into["unit_code"] = code
            if u is not None:
                into["unit_level"] = u.level
        for k, v in r.items():
            if isinstance(v, int) and not isinstance(v, bool) and k not in ("unit_code", "unit_level"):
                into[k] = into.get(k, 0) + v
    for row in merged.values():
        for m in METRICS:
            q = ratio(row.get(f"{m.id}_num", 0), row.get(f"{m.id}_den", 0))
            row[m.id] = None if q is None else round(q, 6)
    return list(merged.values())
