"""The at-risk worklist (docs/metrics.md#worklist): the dossiers in progress at an instant
that are overdue or due within N working days, most urgent first, with what each one's
late end would cost its unit's on-time rate.

This is the definition; ``adapters/clickhouse_worklist.py`` computes the same rows in
ClickHouse (the tests hold the two equal on random histories and instants).

Definitions, at instant T (local day ``today``), for a dossier's facts:

* **listed**: in progress at T (``lifecycle.status_at``) and either overdue at T (the
  status rule: two or more supplement requests by T, or not waiting, the due date known
  and ``today`` after the effective due date) or not waiting, the due date known and
  ``working_days_left`` ≤ N. A dossier waiting for a supplement is listed only when
  overdue (two requests): its clock is stopped, its due date not yet moved.
* **due date**: the effective due date at T (after the pauses closed by T), the one the
  status rules compare with.
* **working days left**: ``count(due) − count(today)`` where ``count(d)`` is the number
  of working days on or before d (``WorkingCalendar.count_upto``): for a due date on or
  after today, the working days d with today < d ≤ due (0 = due today, 1 = due on the
  next working day); before today, minus the working days d with due < d ≤ today. An
  overdue dossier always shows at least −1 (``min(−1, …)``: overdue as of a day off right
  after its due date, or by the two-requests rule with a later due date; −1 without a
  known due date). For a due date on a working day (every due date a WORKING_DAYS limit
  or a pause gives), "left ≤ 1 and not overdue" is exactly ``status_at``'s due soon.
* **rate impact**: the points the unit's on-time rate (docs/metrics.md#on-time) of the
  running official month (``official_month_of``: 15th → 14th, the period containing
  today) loses if this dossier ends late instead of on time, with ``ended`` the unit's
  dossiers ended in that month up to T: ``100 / (ended + 1)`` points (the rate is
  ok / (ended + 1) against (ok + 1) / (ended + 1)), shown as a negative number. The
  unit is (unit_code, unit_level), as ``kpi --by unit`` groups; each dossier counts
  alone (not the other listed dossiers ending late too).
* **order** (urgency): working days left ascending, then due date (unknown last), then
  received instant, then dossier id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .calendar import WorkingCalendar, local_day_number
from .lifecycle import EARLY, ON_TIME, status_at
from .periods import CUT_OFF_DAY, ReportPeriod, make_period

DEFAULT_WITHIN = 2  # working days: the default, the dashboard panel's N
OVERDUE_AT_LEAST = -1  # an overdue dossier's working days left is at most this


@dataclass(frozen=True, slots=True)
class WorklistRow:
    """One listed dossier (ids and codes only: no personal data)."""

    dossier_id: str
    unit_code: str
    unit_level: str
    procedure_code: str
    field_code: str
    received_at: int  # epoch ms
    due_date: int | None  # local ordinal: the effective due date at T; None when unknown
    working_days_left: int
    overdue: bool
    waiting: bool  # inside a supplement pause at T
    supplement_requests: int  # requests made by T
    unit_ended: int  # the unit's dossiers ended in the running official month, up to T
    unit_ended_ok: int  # of which early or on time

    @property
    def rate_impact(self) -> float:
        """Points the unit's on-time rate loses if this dossier ends late (negative)."""
        return rate_impact_points(self.unit_ended)

    @property
    def sort_key(self) -> tuple:
        return (
            self.working_days_left,
            self.due_date is None,
            self.due_date or 0,
            self.received_at,
            self.dossier_id,
        )


def rate_impact_points(unit_ended: int) -> float:
    """−100 / (ended + 1): the on-time rate's points lost by one late end instead of an
    on-time one, ``unit_ended`` dossiers having ended in the period so far."""
    return -100.0 / (unit_ended + 1)


def official_month_of(day: date) -> ReportPeriod:
    """The official month (15th → 14th, docs/metrics.md#official-periods) containing ``day``."""
    if day.day >= CUT_OFF_DAY:
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    else:
        year, month = day.year, day.month
    return make_period("month", year, month, official=True)


def due_at(facts: dict, t_ms: int) -> int | None:
    """The effective due date (local ordinal) at ``t_ms``: after the pauses closed by then."""
    if not facts["due_known"]:
        return None
    dues = facts["effective_due_dates"]
    closed = sum(1 for e in facts["pause_ends"] if e <= t_ms)
    return dues[min(closed, len(dues) - 1)]


def working_days_left(due: int | None, today: int, overdue: bool, cal: WorkingCalendar) -> int:
    """The signed working days from ``today`` to ``due`` (module doc); at most −1 when overdue."""
    if due is None:
        return OVERDUE_AT_LEAST
    left = cal.count_upto(due) - cal.count_upto(today)
    return min(OVERDUE_AT_LEAST, left) if overdue else left


def unit_period_counts(facts: Iterable[dict], t_ms: int) -> dict[tuple[str, str], tuple[int, int]]:
    """(ended, ended early or on time) per (unit_code, unit_level): the received dossiers
    that ended in the official month containing ``t_ms``'s day, at or before ``t_ms``."""
    start_ms = official_month_of(date.fromordinal(local_day_number(t_ms))).period.start_ms
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for f in facts:
        if f["received"] and f["ended"] and start_ms <= f["end_at"] <= t_ms:
            key = (f["unit_code"], f["unit_level"])
            ended, ok = out.get(key, (0, 0))
            out[key] = (ended + 1, ok + int(f["outcome"] in (EARLY, ON_TIME)))
    return out


def worklist_rows(
    facts: Iterable[dict],
    t_ms: int,
    within: int,
    cal: WorkingCalendar,
    *,
    unit: str | None = None,
    level: str | None = None,
    limit: int | None = None,
) -> list[WorklistRow]:
    """The worklist at ``t_ms`` (module doc) of the dossiers of ``unit`` / ``level`` (all
    when None), most urgent first, at most ``limit`` rows."""
    if within < 0:
        raise ValueError("within must be >= 0")
    scoped = [
        f
        for f in facts
        if (unit is None or f["unit_code"] == unit) and (level is None or f["unit_level"] == level)
    ]
    counts = unit_period_counts(scoped, t_ms)
    today = local_day_number(t_ms)
    rows = []
    for f in scoped:
        s = status_at(f, t_ms, cal)
        if not s.in_progress or (s.waiting and not s.overdue):
            continue
        due = due_at(f, t_ms)
        if not s.overdue and due is None:
            continue
        left = working_days_left(due, today, s.overdue, cal)
        if not s.overdue and left > within:
            continue
        ended, ok = counts.get((f["unit_code"], f["unit_level"]), (0, 0))
        rows.append(
            WorklistRow(
                dossier_id=f["dossier_id"],
                unit_code=f["unit_code"],
                unit_level=f["unit_level"],
                procedure_code=f["procedure_code"],
                field_code=f["field_code"],
                received_at=f["received_at"],
                due_date=due,
                working_days_left=left,
                overdue=s.overdue,
                waiting=s.waiting,
                supplement_requests=sum(1 for r in f["request_times"] if r <= t_ms),
                unit_ended=ended,
                unit_ended_ok=ok,
            )
        )
    rows.sort(key=lambda r: r.sort_key)
    return rows if limit is None else rows[:limit]


def summary(rows: Iterable[WorklistRow]) -> tuple[int, int]:
    """(overdue, due within N and not overdue) among ``rows``."""
    overdue = due = 0
    for r in rows:
        if r.overdue:
            overdue += 1
        else:
            due += 1
    return overdue, due
