"""The live metrics of docs/metrics.md as numerator/denominator pairs.

Rule zero: store counts, compute rates as sum(numerator) / sum(denominator) at query time.

Each dossier contributes *counters* to the day it was received (the "received" role) and
to the day it ended (the "ended" role). Those counters are additive, so they can be kept
as signed deltas in a rollup and summed over any period and any grouping. What depends on
an instant (in progress, overdue, due soon, carried over) is evaluated at query time by
``status_at``. ``kpi_rows`` is the reference computation in plain Python; the ClickHouse
queries must give the same rows (tests compare them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from .calendar import WorkingCalendar
from .lifecycle import EARLY, FAR_FUTURE_MS, LATE, ON_TIME, clock_at, status_at

if TYPE_CHECKING:  # only for annotations: Period lives in periods.py
    from .periods import Period


@dataclass(frozen=True)
class Metric:
    id: str
    numerator: str  # counter name
    denominator: str  # counter name
    label_vi: str
    percent: bool = True


# Counters a dossier contributes on its received day.
RECEIVED_COUNTERS = (
    "received",
    "received_online",
    "received_online_full",
    "received_postal",
    "digitised_all",
    "reused",
    "has_fee",
    "paid_online",
    "rated",
    "rated_satisfied",
    "personal_store",
    "population_data",
)
# Counters a dossier contributes on its end day.
ENDED_COUNTERS = (
    "ended",
    "ended_early",
    "ended_on_time",
    "ended_late",
    "ended_ok",
    "late_with_apology",
    "paper_result",
    "electronic_result",
    "electronic_result_any",
    "working_days",
)
COUNTERS = RECEIVED_COUNTERS + ENDED_COUNTERS
# Counter totals every KPI row carries besides the metrics (reports build on them).
ROW_COUNTS = (
    "received",
    "carried_over",
    "ended",
    "ended_early",
    "ended_on_time",
    "ended_late",
    "in_progress_within",
    "in_progress_overdue_end",
)

METRICS: tuple[Metric, ...] = (
    Metric(
        "on_time_rate", "ended_ok", "ended", "Tỷ lệ hồ sơ giải quyết đúng hạn (gồm trước hạn và đúng hạn)"
    ),
    Metric("progress_766", "progress_num", "progress_den", "Tiến độ giải quyết (Chỉ số 766)"),
    Metric("online_filing_rate", "received_online", "received", "Tỷ lệ hồ sơ tiếp nhận trực tuyến"),
    Metric(
        "full_online_share", "received_online_full", "received_online", "Tỷ lệ hồ sơ trực tuyến toàn trình"
    ),
    Metric("postal_rate", "received_postal", "received", "Tỷ lệ hồ sơ qua dịch vụ bưu chính công ích"),
    Metric("dossier_digitisation_rate", "digitised_all", "received", "Tỷ lệ số hóa hồ sơ"),
    Metric("result_digitisation_rate", "electronic_result", "paper_result", "Tỷ lệ cấp kết quả điện tử"),
    Metric("data_reuse_rate", "reused", "received", "Tỷ lệ khai thác, sử dụng lại dữ liệu số hóa"),
    Metric("online_payment_rate", "paid_online", "has_fee", "Tỷ lệ thanh toán trực tuyến"),
    Metric("late_apology_rate", "late_with_apology", "ended_late", "Tỷ lệ hồ sơ trễ hạn có văn bản xin lỗi"),
    Metric("satisfaction_rate", "rated_satisfied", "rated", "Tỷ lệ hài lòng"),
    Metric(
        "avg_processing_working_days",
        "working_days",
        "ended",
        "Thời gian giải quyết trung bình (ngày làm việc)",
        percent=False,
    ),
)
METRIC_IDS = tuple(m.id for m in METRICS)
METRICS_BY_ID = {m.id: m for m in METRICS}
COUNT_LABELS = {
    "in_progress": "Đang giải quyết",
    "in_progress_overdue": "Đang giải quyết quá hạn",
    "due_soon": "Sắp đến hạn",
}

GROUPINGS: dict[str, tuple[str, ...]] = {
    "all": (),
    "level": ("unit_level",),
    "unit": ("unit_code", "unit_level"),
    "procedure": ("procedure_code",),
    "field": ("field_code",),
    "unit_field": ("unit_code", "unit_level", "field_code"),
}


def received_counters(f: dict) -> dict[str, int]:
    online = f["channel"] == "ONLINE"
    fee = f["has_fee"]
    rated = f["rating"] != ""
    return {
        "received": 1,
        "received_online": int(online),
        "received_online_full": int(online and f["online_service"] == "FULL"),
        "received_postal": int(f["postal"]),
        "digitised_all": int(f["digitised_all"]),
        "reused": int(f["reused"]),
        "has_fee": int(fee),
        "paid_online": int(fee and f["paid_online"]),
        "rated": int(rated),
        "rated_satisfied": int(rated and f["rating"] != "DISSATISFIED"),
        "personal_store": int(f["from_personal_store"]),
        "population_data": int(f["population_data_used"]),
    }


def ended_counters(f: dict) -> dict[str, int]:
    outcome = f["outcome"]
    paper = f["requires_paper_result"]
    late = outcome == LATE
    return {
        "ended": 1,
        "ended_early": int(outcome == EARLY),
        "ended_on_time": int(outcome == ON_TIME),
        "ended_late": int(late),
        "ended_ok": int(outcome in (EARLY, ON_TIME)),
        "late_with_apology": int(late and f["apology_ok"]),
        "paper_result": int(paper),
        "electronic_result": int(paper and f["electronic_result"]),
        "electronic_result_any": int(f["electronic_result"]),
        "working_days": f["working_days"],
    }


def contributions(f: dict | None) -> list[tuple[int, str, dict[str, int]]]:
    """The (local day ordinal, role, counters) a dossier's facts add to the rollup.
    A dossier never received contributes nothing (it waits for its RECEIVED)."""
    if f is None or not f["received"]:
        return []
    out = [(f["received_date"], "received", received_counters(f))]
    if f["ended"]:
        out.append((f["end_date"], "ended", ended_counters(f)))
    return out


# The open backlog: each dossier in progress counts once under the date its deadline
# clock says it becomes overdue. "In progress / overdue / due soon now" are then sums over
# due dates (< today, = today or next working day), exact for any "now" after the latest
# event, and additive, so they can be kept as signed deltas like the daily rollup.
ALWAYS_OVERDUE = date(1970, 1, 2).toordinal()  # two supplement requests
NEVER_OVERDUE = date(2149, 6, 6).toordinal()  # waiting for a supplement, or no due date


def backlog_due(f: dict | None) -> int | None:
    """The backlog key of a dossier: None when it is not in progress (or not received)."""
    if f is None or not f["received"] or f["ended"]:
        return None
    if f["supplement_requests"] >= 2:
        return ALWAYS_OVERDUE
    waiting = bool(f["pause_ends"]) and f["pause_ends"][-1] == FAR_FUTURE_MS
    if waiting or not f["due_known"]:
        return NEVER_OVERDUE
    return f["effective_due_date"]


def ratio(num: float, den: float) -> float | None:
    return None if den == 0 else num / den


def finish_row(keys: dict, c: dict[str, int]) -> dict:
    """Counters of one group -> the KPI row: keys, then <id>_num/<id>_den/<id>, then counts."""
    c = dict(c)
    c["progress_num"] = c.get("ended_ok", 0) + c.get("in_progress_within", 0)
    c["progress_den"] = c.get("received", 0) + c.get("carried_over", 0)
    row = dict(keys)
    for m in METRICS:
        num, den = c.get(m.numerator, 0), c.get(m.denominator, 0)
        row[f"{m.id}_num"] = num
        row[f"{m.id}_den"] = den
        r = ratio(num, den)
        row[m.id] = None if r is None else round(r, 6)
    for name in ROW_COUNTS:
        row[name] = c.get(name, 0)
    row["in_progress"] = c.get("in_progress", 0)
    row["in_progress_overdue"] = c.get("in_progress_overdue", 0)
    row["due_soon"] = c.get("due_soon", 0)
    return row


def row_counters(row: dict) -> dict[str, int]:
    """The counters a KPI row was finished from (``finish_row``'s input)."""
    c: dict[str, int] = {}
    for m in METRICS:
        c[m.numerator] = row[f"{m.id}_num"]
        c[m.denominator] = row[f"{m.id}_den"]
    for name in (*ROW_COUNTS, "in_progress", "in_progress_overdue", "due_soon"):
        c[name] = row[name]
    return c


def regroup(rows: Iterable[dict], by: str) -> list[dict]:
    """KPI rows of a finer grouping (e.g. unit_field) -> the rows of grouping ``by``, whose
    keys are among theirs: counters summed, rates recomputed (rule zero). The same rows as
    ``kpi_rows`` / the store's ``kpi`` for ``by`` (every count is additive over groups)."""
    keys_of = GROUPINGS[by]
    groups: dict[tuple, dict[str, int]] = {}
    for r in rows:
        c = groups.setdefault(tuple(r[k] for k in keys_of), {})
        for name, v in row_counters(r).items():
            c[name] = c.get(name, 0) + v
    out = [finish_row(dict(zip(keys_of, key)), c) for key, c in groups.items()]
    out.sort(key=lambda r: tuple(str(r[k]) for k in keys_of))
    return out


def kpi_rows(
    facts: Iterable[dict],
    period: Period,
    as_of_ms: int,
    by: str,
    cal: WorkingCalendar,
) -> list[dict]:
    """Reference KPI computation over dossier facts (plain Python, used by tests and as the
    definition the SQL must match). ``as_of_ms`` drives in_progress / overdue / due_soon;
    progress_766 counts dossiers not ended by the period end as within deadline or not at
    min(period end, as_of)."""
    keys_of = GROUPINGS[by]
    start_o, end_o = period.start.toordinal(), period.end.toordinal()
    eval_ms = min(period.end_ms - 1, as_of_ms)
    groups: dict[tuple, dict[str, int]] = {}
    for f in facts:
        if not f["received"]:
            continue
        key = tuple(f[k] for k in keys_of)
        c = groups.get(key)
        touched = False
        if c is None:
            c = {}
        for day, _role, counters in contributions(f):
            if start_o <= day < end_o:
                touched = True
                for name, v in counters.items():
                    c[name] = c.get(name, 0) + v
        # Carried over: received before the period and not ended at its start.
        if f["received_at"] < period.start_ms and not (f["ended"] and f["end_at"] < period.start_ms):
            c["carried_over"] = c.get("carried_over", 0) + 1
            touched = True
        # TD1's second part: not ended by the period end, within deadline at the
        # evaluation instant (the period end, or as_of for a period still running).
        if f["received_at"] < period.end_ms and not (f["ended"] and f["end_at"] < period.end_ms):
            touched = True
            name = "in_progress_overdue_end" if clock_at(f, eval_ms, cal).overdue else "in_progress_within"
            c[name] = c.get(name, 0) + 1
        now = status_at(f, as_of_ms, cal)
        if now.in_progress:
            touched = True
            c["in_progress"] = c.get("in_progress", 0) + 1
            c["in_progress_overdue"] = c.get("in_progress_overdue", 0) + int(now.overdue)
            c["due_soon"] = c.get("due_soon", 0) + int(now.due_soon)
        if touched:
            groups[key] = c
    rows = [finish_row(dict(zip(keys_of, key)), c) for key, c in groups.items()]
    rows.sort(key=lambda r: tuple(str(r[k]) for k in keys_of))
    return rows
