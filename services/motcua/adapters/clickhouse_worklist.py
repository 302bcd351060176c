"""The at-risk worklist in ClickHouse: the rows of ``domain.worklist.worklist_rows``
computed over ``dossier_state FINAL`` (docs/metrics.md#worklist).

One SQL text (``worklist_sql``) serves the store and the dashboard panel; only where its
four inputs come from differs (``WorklistInputs``):

* ``motcua worklist`` (``read_worklist``) binds them as server-side parameters: the
  instant, N, and the working-day calendar the command loaded (``cum``: the working days
  on or before each day from ``cal_first``, as ``WorkingCalendar.count_upto``; cut after
  the last day a listed dossier can be due, later days reading as "more than N left");
* the panel (``dashboards/panels.py``) reads the instant from the range end and the
  calendar from the store's ``work_calendar`` table.

Everything else — the status at T (``lifecycle.status_at``), the effective due date, the
working days left, the official month (15th → 14th) and each unit's ended / on-time
counts in it so far — is computed by the SQL itself. Same code for the embedded store
(chDB) and a ClickHouse server; the only identifiers interpolated are the database name
and the fixed filter columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..domain.calendar import WorkingCalendar, local_day_number
from ..domain.worklist import WorklistRow
from .clickhouse_store import ClickHouseStore

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
TZ = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class WorklistInputs:
    """SQL expressions for the query's inputs: the instant (Int64 epoch ms), N (working
    days), ``cum`` (Array(UInt32): working days on or before each day, the first element
    for ``cal_first``) and ``cal_first`` (Date)."""

    t_ms: str
    within: str
    cum: str
    cal_first: str


PARAMETERS = WorklistInputs("{t_ms:Int64}", "{within:Int64}", "{cum:Array(UInt32)}", "{cal_first:Date}")

COLUMNS = (
    "dossier_id",
    "unit_code",
    "unit_level",
    "procedure_code",
    "field_code",
    "received_ms",
    "due",
    "days_left",
    "overdue",
    "waiting",
    "requests",
    "unit_ended",
    "unit_ended_ok",
)


def worklist_sql(
    inputs: WorklistInputs,
    table: str,
    scope: str = "1",
    limit: str | None = None,
    select: str | None = None,
) -> str:
    """The worklist query over ``table`` (``dossier_state``, qualified or not), restricted
    by the condition ``scope`` (on dossier_state columns), most urgent first, at most
    ``limit`` rows (an SQL expression). ``select``: the outer SELECT list (default
    ``COLUMNS``; the panel names and formats them)."""
    t64 = "fromUnixTimestamp64Milli(t_ms, 'UTC')"
    # working days on or before a day: beyond the end of cum, "more than N left"
    index = "toInt64(dateDiff('day', cal_first, {d})) + 1"
    count = f"if({index} > length(cum), today_index + within + 1, toInt64(cum[{index}]))"
    due = "effective_due_dates[least(arrayCount(e -> e <= t64, pause_ends) + 1, length(effective_due_dates))]"
    return f"""WITH {inputs.t_ms} AS t_ms, {inputs.within} AS within, {inputs.cum} AS cum,
    {inputs.cal_first} AS cal_first, {t64} AS t64, toDate(t64, '{TZ}') AS today,
    toInt64(cum[{index.format(d="today")}]) AS today_index,
    if(toDayOfMonth(today) >= 15, toStartOfMonth(today), addMonths(toStartOfMonth(today), -1)) + 14
        AS period_start,
    toDateTime64(period_start, 3, '{TZ}') AS period_start64
SELECT {select or ", ".join(COLUMNS)}
FROM (
  SELECT *,
      sum(in_period) OVER unit_w AS unit_ended,
      sum(in_period_ok) OVER unit_w AS unit_ended_ok
  FROM (
    SELECT dossier_id, unit_code, unit_level, procedure_code, field_code,
        toUnixTimestamp64Milli(received_at) AS received_ms,
        received_at <= t64 AND NOT (ended = 1 AND end_at <= t64) AS in_progress,
        arrayCount(x -> x <= t64, request_times) AS requests,
        arrayExists((s, e) -> s <= t64 AND t64 < e, pause_starts, pause_ends) AS waiting,
        if(due_known = 1, {due}, NULL) AS due,
        in_progress AND (requests >= 2 OR (NOT waiting AND due_known = 1 AND today > assumeNotNull(due)))
            AS overdue,
        if(due_known = 1, {count.format(d="assumeNotNull(due)")} - today_index, 0) AS signed_left,
        multiIf(overdue AND due_known = 1, least(-1, signed_left), overdue, -1, signed_left) AS days_left,
        in_progress AND (overdue OR (NOT waiting AND due_known = 1 AND days_left <= within)) AS listed,
        ended = 1 AND end_at >= period_start64 AND end_at <= t64 AS in_period,
        in_period AND outcome IN ('EARLY', 'ON_TIME') AS in_period_ok
    FROM {table} FINAL
    WHERE received = 1 AND (ended = 0 OR end_at >= period_start64) AND ({scope})
  )
  WINDOW unit_w AS (PARTITION BY unit_code, unit_level)
)
WHERE listed
ORDER BY days_left, due IS NULL, due, received_ms, dossier_id
{f"LIMIT {limit}" if limit is not None else ""}"""


# The filters of the command: column -> parameter (fixed names only).
_FILTERS = {"unit_code": "unit", "unit_level": "level"}


def cum_window(cal: WorkingCalendar, today: int, within: int) -> list[int]:
    """``count_upto`` of each day from the calendar's first to the last day a dossier
    listed at ``today`` can be due (the (N+1)-th working day after it, excluded)."""
    last = min(cal.last, cal.add_working_days(today, within + 1))
    counts = cal.cumulative_counts
    return list(counts[: last - cal.first + 1])


def read_worklist(
    store: ClickHouseStore,
    t_ms: int,
    within: int,
    cal: WorkingCalendar,
    *,
    unit: str | None = None,
    level: str | None = None,
    limit: int | None = None,
) -> list[WorklistRow]:
    """``domain.worklist.worklist_rows`` over the store's dossiers (a ``province_scope``
    store reads one province). Raises ValueError when N reaches past the calendar."""
    if within < 0:
        raise ValueError("within must be >= 0")
    params: dict[str, object] = {
        "t_ms": t_ms,
        "within": within,
        "cum": cum_window(cal, local_day_number(t_ms), within),
        "cal_first": date.fromordinal(cal.first),
    }
    conditions = []
    for column, name in _FILTERS.items():
        value = unit if name == "unit" else level
        if value is not None:
            conditions.append(f"{column} = {{{name}:String}}")
            params[name] = value
    limit_sql = None
    if limit is not None:
        limit_sql = "{limit:UInt64}"
        params["limit"] = limit
    sql = worklist_sql(PARAMETERS, f"{store.db}.dossier_state", " AND ".join(conditions) or "1", limit_sql)
    result = store.client.query(sql, parameters=params, query_formats={"Date": "int"})
    return [_row(dict(zip(COLUMNS, r))) for r in result.result_rows]


def _row(r: dict) -> WorklistRow:
    return WorklistRow(
        dossier_id=r["dossier_id"],
        unit_code=r["unit_code"],
        unit_level=r["unit_level"],
        procedure_code=r["procedure_code"],
        field_code=r["field_code"],
        received_at=int(r["received_ms"]),
        due_date=None if r["due"] is None else int(r["due"]) + _EPOCH_ORDINAL,
        working_days_left=int(r["days_left"]),
        overdue=bool(r["overdue"]),
        waiting=bool(r["waiting"]),
        supplement_requests=int(r["requests"]),
        unit_ended=int(r["unit_ended"]),
        unit_ended_ok=int(r["unit_ended_ok"]),
    )
