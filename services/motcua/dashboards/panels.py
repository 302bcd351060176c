"""The SQL of every ClickHouse panel, in one place: the dashboard generator puts it in the
provisioning JSON, tests expand its macros and run it against the embedded store, and
``motcua snapshot`` renders the overview from it.

Conventions
- Tables are unqualified: the Grafana datasource's default database (``motcua``) applies.
- Only Grafana macros and dashboard variables parameterise the SQL: ``$__fromTime`` /
  ``$__toTime`` (the picker's range, read as Asia/Ho_Chi_Minh local days, inclusive),
  ``$province``, ``$level``, ``$unit``, ``$field`` (with ``$__conditionalAll`` so "All"
  costs nothing), ``$bottom_n``, ``$min_volume``.
- The end of the range is "today" for the instant-dependent counts (in progress,
  overdue, due soon) and the anchor of "today / this month / this year".
  ``open_backlog`` holds the backlog after the latest event, so those counts are exact
  for a range that ends now (the default of every dashboard).
- Rates are sum(numerator) / sum(denominator) over the period and the group (rule zero).
- Rollup routing: with field = All the panels read the rollups (``kpi_daily_level``,
  ``kpi_daily_unit``, ``kpi_monthly_unit``; the backlog "now" from
  ``open_backlog_total_unit`` + ``open_backlog_due_unit``); with a field selected they
  read the fine tables. The unused branch has a constant-false WHERE and reads nothing.
- Latency: on the embedded engine most of a panel's time is planning (≈ 2–3 ms per
  UNION branch or joined subquery) rather than reading, so panels keep few branches and
  joins; lookups of small constant sets (targets) are scalar subqueries.
- Column aliases are ASCII (stable for tests); dashboards give them Vietnamese names.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.metrics import METRICS, METRICS_BY_ID
from ..domain.vocabulary import CHANNEL_LABELS, CHANNEL_ORDER, LEVEL_ORDER, LEVEL_SHORT_LABELS

TZ = "Asia/Ho_Chi_Minh"
D_FROM = f"toDate($__fromTime, '{TZ}')"
D_TO = f"toDate($__toTime, '{TZ}')"
# The SQL's code -> name transforms and orders (domain.vocabulary: short level labels).
LEVEL_CODES = LEVEL_ORDER
LEVEL_NAMES = tuple(LEVEL_SHORT_LABELS[c] for c in LEVEL_CODES)
CHANNEL_CODES = CHANNEL_ORDER
CHANNEL_NAMES = tuple(CHANNEL_LABELS[c] for c in CHANNEL_CODES)
# Rates of metrics.md shown as percentages (progress_766 needs the backlog: its own panel).
RATE_METRICS = tuple(m for m in METRICS if m.percent and m.id != "progress_766")
TREND_METRICS = (
    "on_time_rate",
    "online_filing_rate",
    "dossier_digitisation_rate",
    "result_digitisation_rate",
    "online_payment_rate",
    "satisfaction_rate",
)


def _list(values) -> str:
    return "[" + ", ".join("'" + v.replace("'", "\\'") + "'" for v in values) + "]"


def province_key(col: str = "province_code") -> str:
    """The new province's two-digit code of a stored province code: a former province's
    code ("70", "H70": Bình Phước, merged 2025-07-01) counts as the province it merged
    into ("75"), so the province variable lists new provinces only and selecting one
    reads its predecessors' dossiers too; "1" / "H01" are "01". Unknown codes stay."""
    from ..reference.reform import code_spellings

    spell = code_spellings()
    keys = sorted(spell)
    return f"transform(toString({col}), {_list(keys)}, {_list([spell[k] for k in keys])}, toString({col}))"


# FIELD_ALL's form (the filter outside $__conditionalAll): the key has commas, which the
# macro's argument list must not see.
PROVINCE_F = f"(($__conditionalAll(0, $province)) OR {province_key()} IN (${{province:singlequote}}))"
LEVEL_F = "$__conditionalAll(unit_level IN (${level:singlequote}), $level)"
UNIT_F = "$__conditionalAll(unit_code IN (${unit:singlequote}), $unit)"
SCOPE_F = f"{PROVINCE_F} AND {LEVEL_F} AND {UNIT_F}"
FIELD_ALL = "($__conditionalAll(0, $field))"  # true when field = All, else false
FIELD_ONE = "NOT ($__conditionalAll(0, $field)) AND field_code IN (${field:singlequote})"


def level_name(col: str = "unit_level") -> str:
    return f"transform(toString({col}), {_list(LEVEL_CODES)}, {_list(LEVEL_NAMES)}, toString({col}))"


UNIT_ALL = "($__conditionalAll(0, $unit))"  # true when unit = All


MONTHS_FROM = "if(toDayOfMonth(d0) = 1, d0, toStartOfMonth(d0) + INTERVAL 1 MONTH)"  # first whole month
MONTHS_TO = "toStartOfMonth(d1 + 1)"  # end (exclusive) of the last whole month


def counter_branches(
    columns: tuple[str, ...],
    day_filter: str,
    extra_keys: str = "",
    by_unit: bool = False,
    monthly: bool = False,
    select: str = "",
) -> list[str]:
    """The SELECTs (to UNION ALL) of daily counters in scope, routed to the smallest table
    that can answer: the per-level rollup (unit = All, field = All; not when ``by_unit``),
    the per-unit rollup (field = All; with ``monthly``, the whole months of [d0, d1] from the
    monthly per-unit rollup and the days at the ends from the daily one), else kpi_daily.
    The branches not taken have a constant-false WHERE and read nothing. ``select``
    replaces the default list (the keys then ``columns``) in every branch."""
    cols = ", ".join(columns)
    keys = "day, province_code, unit_level, unit_code"
    if extra_keys:
        return [
            f"SELECT {select or f'{keys}, {extra_keys}, {cols}'} FROM kpi_daily "
            f"WHERE {day_filter} AND {SCOPE_F} AND $__conditionalAll(field_code IN (${{field:singlequote}}), $field)"
        ]
    sel = select or f"{keys}, {cols}"
    unit_rollup = FIELD_ALL if by_unit else f"{FIELD_ALL} AND NOT {UNIT_ALL}"
    out = []
    if not by_unit:
        level_sel = select or f"day, province_code, unit_level, '' AS unit_code, {cols}"
        out.append(
            f"SELECT {level_sel} FROM kpi_daily_level "
            f"WHERE {FIELD_ALL} AND {UNIT_ALL} AND {day_filter} AND {PROVINCE_F} AND {LEVEL_F}"
        )
    if monthly:
        month_sel = select or f"month AS day, province_code, unit_level, unit_code, {cols}"
        out.append(
            f"SELECT {month_sel} FROM kpi_monthly_unit "
            f"WHERE {unit_rollup} AND month >= {MONTHS_FROM} AND month < {MONTHS_TO} AND {SCOPE_F}"
        )
        out.append(
            f"SELECT {sel} FROM kpi_daily_unit WHERE {unit_rollup} AND {day_filter} "
            f"AND NOT (day >= {MONTHS_FROM} AND day < {MONTHS_TO}) AND {SCOPE_F}"
        )
    else:
        out.append(f"SELECT {sel} FROM kpi_daily_unit WHERE {unit_rollup} AND {day_filter} AND {SCOPE_F}")
    out.append(f"SELECT {sel} FROM kpi_daily WHERE {FIELD_ONE} AND {day_filter} AND {SCOPE_F}")
    return out


def union(branches: list[str]) -> str:
    return "(" + "\n  UNION ALL\n  ".join(branches) + ")"


def counters(
    columns: tuple[str, ...],
    day_filter: str,
    extra_keys: str = "",
    by_unit: bool = False,
    monthly: bool = False,
) -> str:
    """A subquery of daily counters in scope: ``counter_branches`` in a UNION ALL."""
    return union(counter_branches(columns, day_filter, extra_keys, by_unit, monthly))


def backlog_branches(
    today: str = "today",
    due_soon: str | None = None,
    keys: str = "province_code, unit_level, unit_code",
    tail: str = "",
) -> list[str]:
    """The SELECTs (to UNION ALL) of the open backlog "now" in scope, by unit (or finer):
    ``keys``, ``open`` (in progress), ``open_not_due`` (open, due on or after ``today``),
    with ``due_soon`` (a condition on due_date implying due_date >= today) ``open_due_soon``,
    then ``tail`` (constant columns for a wider union). Overdue = sum(open) -
    sum(open_not_due). With field = All: the per-unit totals plus the rows due from today
    on, read from the copy of the backlog ordered by due date (migration 0025), a few
    thousand rows however long the history; with a field: open_backlog. The branches not
    taken read nothing. Names come from the first branch (the others alias nothing: an
    alias ``open`` would shadow the column)."""
    soon = (lambda expr: "") if due_soon is None else (lambda expr: f", {expr}")
    t = f", {tail}" if tail else ""
    return [
        f"SELECT {keys}, open, 0 AS open_not_due{soon('0 AS open_due_soon')}{t} FROM open_backlog_total_unit "
        f"WHERE {FIELD_ALL} AND {SCOPE_F}",
        f"SELECT {keys}, 0, open{soon(f'if({due_soon}, open, 0)')}{t} FROM open_backlog_due_unit "
        f"WHERE {FIELD_ALL} AND due_date >= {today} AND {SCOPE_F}",
        f"SELECT {keys}, open, if(due_date >= {today}, open, 0){soon(f'if({due_soon}, open, 0)')}{t} FROM open_backlog "
        f"WHERE {FIELD_ONE} AND {SCOPE_F}",
    ]


NEXT_WORKING_DAY = "(SELECT min(day) FROM work_calendar WHERE day > today AND is_working = 1)"


def level_targets(anchor: str = "d1", metric_filter: str = "1") -> str:
    """Targets in force on ``anchor`` per (metric, level): a valid one beats an expired
    one, then the latest start, then level-specific beats 'all' (domain.targets rule)."""
    return (
        "(SELECT metric AS t_metric, lv AS t_level,\n"
        f"    argMax(value, (valid_to > {anchor}, valid_from, specific)) AS target,\n"
        f"    argMax(comparator, (valid_to > {anchor}, valid_from, specific)) AS cmp\n"
        f"  FROM (SELECT *, unit_level != '' AS specific FROM targets)\n"
        f"  ARRAY JOIN if(unit_level = '', {_list(LEVEL_CODES)}, [toString(unit_level)]) AS lv\n"
        f"  WHERE unit_code = '' AND valid_from <= {anchor} AND {PROVINCE_F} AND {metric_filter}\n"
        "  GROUP BY t_metric, t_level)"
    )


def met_sql(ratio: str, target: str, cmp: str) -> str:
    return (
        f"multiIf({target} IS NULL OR {ratio} IS NULL, NULL, {cmp} = '>=', {ratio} >= {target} - 1e-12, "
        f"{cmp} = '>', {ratio} > {target}, {cmp} = '=', abs({ratio} - {target}) < 1e-9, "
        f"{cmp} = '<=', {ratio} <= {target} + 1e-12, {ratio} < {target})"
    )


def _metric_tuples(metrics) -> str:
    return (
        "["
        + ", ".join(
            f"('{m.id}', '{m.label_vi}', toInt64({m.numerator}), toInt64({m.denominator}))" for m in metrics
        )
        + "]"
    )


PERIOD_STARTS = {
    "day": "d1",
    "month": "toStartOfMonth(d1)",
    "year": "toStartOfYear(d1)",
    "range": D_FROM,
}
PERIOD_TITLES = {
    "day": "Hôm nay",
    "month": "Tháng này",
    "year": "Năm nay",
    "range": "Khoảng thời gian đã chọn",
}


def rates_by_level(period: str) -> str:
    """Every rate per level for today / this month / this year (ending at the range end)
    or the selected range, with the target in force and whether it is met."""
    cols = sorted({m.numerator for m in RATE_METRICS} | {m.denominator for m in RATE_METRICS})
    sums = ", ".join(f"sum({c}) AS {c}" for c in cols)
    start = PERIOD_STARTS[period]
    return f"""WITH {D_TO} AS d1, {start} AS d0
SELECT unit_level, {level_name()} AS level_name, m.1 AS metric_id, m.2 AS metric_name,
    m.3 AS numerator, m.4 AS denominator,
    if(m.4 = 0, NULL, m.3 / m.4) AS ratio,
    tg.target AS target, tg.cmp AS comparator,
    {met_sql("ratio", "tg.target", "tg.cmp")} AS met
FROM (
  SELECT unit_level, {sums}
  FROM {counters(tuple(cols), "day >= d0 AND day <= d1")}
  GROUP BY unit_level
) AS c
ARRAY JOIN {_metric_tuples(RATE_METRICS)} AS m
LEFT JOIN {level_targets()} AS tg ON tg.t_metric = m.1 AND tg.t_level = c.unit_level
ORDER BY indexOf({_list(LEVEL_CODES)}, toString(unit_level)), indexOf({_list([m.id for m in RATE_METRICS])}, metric_id)
SETTINGS join_use_nulls = 1"""


def headline(metric: str, period: str) -> str:
    """One rate over every level in scope for a period: a stat panel."""
    m = METRICS_BY_ID[metric]
    return f"""WITH {D_TO} AS d1, {PERIOD_STARTS[period]} AS d0
SELECT sum({m.numerator}) AS numerator, sum({m.denominator}) AS denominator,
    if(denominator = 0, NULL, numerator / denominator) AS ratio
FROM {counters((m.numerator, m.denominator), "day >= d0 AND day <= d1")}"""


def backlog_counts(by_level: bool) -> str:
    """In progress now, overdue now, due soon (today or the next working day)."""
    group = "unit_level" if by_level else ""
    sel = f"unit_level, {level_name()} AS level_name, " if by_level else ""
    tail = (
        f"GROUP BY unit_level ORDER BY indexOf({_list(LEVEL_CODES)}, toString(unit_level))" if group else ""
    )
    return f"""WITH {D_TO} AS today, {NEXT_WORKING_DAY} AS next_wd
SELECT {sel}sum(open) AS in_progress,
    in_progress - sum(open_not_due) AS overdue,
    sum(open_due_soon) AS due_soon
FROM {union(backlog_branches(due_soon="due_date = today OR due_date = next_wd"))}
{tail}"""


def trend(metric: str) -> str:
    """Daily (weekly over ranges longer than 62 days) rate per level over the range."""
    m = METRICS_BY_ID[metric]
    return f"""WITH {D_FROM} AS d0, {D_TO} AS d1, dateDiff('day', d0, d1) > 62 AS weekly
SELECT toDateTime(if(weekly, toMonday(day), day), '{TZ}') AS time, {level_name()} AS series,
    sum({m.numerator}) / sum({m.denominator}) AS value
FROM {counters((m.numerator, m.denominator), "day >= d0 AND day <= d1")}
GROUP BY time, series
HAVING sum({m.denominator}) > 0
ORDER BY time, series"""


def trend_targets(metric: str) -> str:
    """The target in force at the range end per level, as a flat line over the range."""
    return f"""WITH {D_FROM} AS d0, {D_TO} AS d1
SELECT toDateTime(t, '{TZ}') AS time, concat('Chỉ tiêu ', {level_name("t_level")}) AS series, target AS value
FROM {level_targets(metric_filter=f"metric = '{metric}'")}
ARRAY JOIN [d0, d1] AS t
WHERE $__conditionalAll(t_level IN (${{level:singlequote}}), $level)
ORDER BY time, series"""


def ranking_targets(metric: str, anchor: str = "d1") -> str:
    """The targets of ``metric`` started by ``anchor``, computed once (a scalar subquery)
    as an array of (unit_code, unit_level, valid on anchor, valid_from, value) sorted best
    first by the domain.targets rule: one still valid beats one that expired, then the
    latest start, then the most specific (unit > level > all). The first one matching a
    unit (its own, one for its level, one for every level) is ``effective_target``."""
    return (
        "(SELECT arrayReverseSort(t -> (t.3, t.4, if(t.1 != '', 2, t.2 != '')),\n"
        f"    groupArray((unit_code, toString(unit_level), valid_to > {anchor}, valid_from, value)))\n"
        f"  FROM targets WHERE metric = '{metric}' AND valid_from <= {anchor} AND {PROVINCE_F})"
    )


def ranking(order: str) -> str:
    """Units by on-time rate over the range (``order`` = 'rate' or 'gap'), bottom N, with
    the target that applies to the unit at the range end (``ranking_targets``), the gap
    and the overdue backlog now.
    Units with fewer than $min_volume ended dossiers are left out. One aggregation over
    the counters (monthly per-unit rollup for the whole months) and the backlog now; the
    targets are a constant array, looked up per unit."""
    # unit_code last: units tied on the figures keep one order between runs (and pages)
    order_sql = "ratio ASC, ended DESC" if order == "rate" else "gap ASC NULLS LAST, ratio ASC"
    order_sql += ", c.unit_code"
    rows = backlog_branches(keys="unit_code, unit_level", tail="0 AS ended, 0 AS ended_ok")
    rows += counter_branches(
        ("ended", "ended_ok"),
        "day >= d0 AND day <= d1",
        by_unit=True,
        monthly=True,
        select="unit_code, unit_level, 0, 0, ended, ended_ok",
    )
    return f"""WITH {D_FROM} AS d0, {D_TO} AS d1, d1 AS today, {ranking_targets("on_time_rate")} AS tg
SELECT c.unit_code AS unit_code, if(ifNull(n.name, '') = '', c.unit_code, n.name) AS unit_name,
    c.unit_level AS unit_level, {level_name("c.unit_level")} AS level_name,
    c.ended AS ended, c.ended_ok AS ended_ok, c.ended_ok / c.ended AS ratio,
    if((arrayFirstIndex(t -> t.1 = c.unit_code OR (t.1 = '' AND t.2 IN ('', c.unit_level)), tg) AS t_index) = 0,
       NULL, tg[t_index].5) AS target,
    ratio - target AS gap, c.overdue AS overdue_now
FROM (
  SELECT unit_code, any(unit_level) AS unit_level, sum(ended) AS ended, sum(ended_ok) AS ended_ok,
      sum(open) - sum(open_not_due) AS overdue
  FROM {union(rows)}
  GROUP BY unit_code
  HAVING ended >= $min_volume AND ended > 0
) AS c
LEFT JOIN (SELECT code, name FROM reference_names WHERE kind = 'unit') AS n ON n.code = c.unit_code
ORDER BY {order_sql}
LIMIT $bottom_n
SETTINGS join_use_nulls = 1"""


def unit_breakdown(dim: str) -> str:
    """On-time, online filing and digitisation of the selected unit(s) per procedure,
    field or channel over the range (drill-down)."""
    key = {"procedure": "procedure_code", "field": "field_code", "channel": "channel"}[dim]
    if dim == "channel":
        label = f"transform(toString(k), {_list(CHANNEL_CODES)}, {_list(CHANNEL_NAMES)}, toString(k))"
        join = ""
    else:
        kind = "procedure" if dim == "procedure" else "field"
        label = "if(ifNull(n.name, '') = '', k, n.name)"
        join = (
            f"LEFT JOIN (SELECT code, name FROM reference_names WHERE kind = '{kind}') AS n ON n.code = c.k"
        )
    return f"""WITH {D_FROM} AS d0, {D_TO} AS d1
SELECT c.k AS code, {label} AS name, c.received AS received, c.ended AS ended,
    if(c.ended = 0, NULL, c.ended_ok / c.ended) AS on_time_rate,
    if(c.received = 0, NULL, c.received_online / c.received) AS online_filing_rate,
    if(c.received = 0, NULL, c.digitised_all / c.received) AS dossier_digitisation_rate
FROM (
  SELECT toString({key}) AS k, sum(received) AS received, sum(ended) AS ended, sum(ended_ok) AS ended_ok,
      sum(received_online) AS received_online, sum(digitised_all) AS digitised_all
  FROM kpi_daily
  WHERE day >= d0 AND day <= d1 AND {SCOPE_F} AND $__conditionalAll(field_code IN (${{field:singlequote}}), $field)
  GROUP BY k
  HAVING received != 0 OR ended != 0
) AS c
{join}
ORDER BY c.ended DESC, c.received DESC, code
SETTINGS join_use_nulls = 1"""


FAR_FUTURE_MS = 4102444800000  # domain.lifecycle.FAR_FUTURE_MS: a supplement pause still open

OVERDUE_LIMIT = 1000  # the panel says so (build.py); far below the profile's 100,000-row cap
OVERDUE_LIST = f"""WITH {D_TO} AS today
SELECT dossier_id, unit_code, if(ifNull(n.name, '') = '', s.procedure_code, n.name) AS procedure_name,
    toTimeZone(received_at, '{TZ}') AS received_at_local, effective_due_date,
    if(supplement_requests >= 2, NULL, dateDiff('day', effective_due_date, today)) AS days_overdue,
    supplement_requests
FROM (
  SELECT dossier_id, unit_code, procedure_code, received_at, effective_due_date, supplement_requests
  FROM dossier_state FINAL
  WHERE {SCOPE_F} AND $__conditionalAll(field_code IN (${{field:singlequote}}), $field)
    AND received = 1 AND ended = 0
    AND (supplement_requests >= 2 OR (due_known = 1 AND effective_due_date < today
         AND NOT (length(pause_ends) > 0 AND toUnixTimestamp64Milli(pause_ends[-1]) = {FAR_FUTURE_MS})))
) AS s
LEFT JOIN (SELECT code, name FROM reference_names WHERE kind = 'procedure') AS n ON n.code = s.procedure_code
ORDER BY supplement_requests >= 2 DESC, days_overdue DESC, dossier_id
LIMIT {OVERDUE_LIMIT}
SETTINGS join_use_nulls = 1"""


# -- the at-risk worklist (docs/metrics.md#worklist) ---------------------------------------
WORKLIST_WITHIN = 2  # working days: domain.worklist.DEFAULT_WITHIN, what the panel shows
WORKLIST_LIMIT = 200


def worklist_panel(within: int = WORKLIST_WITHIN, limit: int = WORKLIST_LIMIT) -> str:
    """The panel "Hồ sơ cần xử lý gấp": the rows of ``motcua worklist`` for the scope, as of the
    range end (now by default), through the same SQL (``adapters.clickhouse_worklist``)
    with the calendar read from ``work_calendar``; names from ``reference_names``."""
    from ..adapters.clickhouse_worklist import WorklistInputs, worklist_sql

    inputs = WorklistInputs(
        t_ms="toUnixTimestamp64Milli($__toTime_ms)",
        within=str(int(within)),
        cum="(SELECT arrayMap(x -> x.2, arraySort(groupArray((day, working_index)))) FROM work_calendar FINAL)",
        cal_first="(SELECT min(day) FROM work_calendar FINAL)",
    )
    scope = f"{SCOPE_F} AND $__conditionalAll(field_code IN (${{field:singlequote}}), $field)"
    inner = worklist_sql(inputs, "dossier_state", scope, str(int(limit)))
    return f"""SELECT w.dossier_id AS dossier_id, if(ifNull(u.name, '') = '', w.unit_code, u.name) AS unit_name,
    if(ifNull(p.name, '') = '', w.procedure_code, p.name) AS procedure_name,
    if(ifNull(f.name, '') = '', w.field_code, f.name) AS field_name,
    toTimeZone(fromUnixTimestamp64Milli(w.received_ms), '{TZ}') AS received_at_local,
    w.due AS due_date, w.days_left AS working_days_left,
    if(w.waiting, 'Có', '') AS waiting_for_supplement,
    -100 / (w.unit_ended + 1) AS rate_impact_points
FROM (
{inner}
) AS w
LEFT JOIN (SELECT code, name FROM reference_names FINAL WHERE kind = 'unit') AS u ON u.code = w.unit_code
LEFT JOIN (SELECT code, name FROM reference_names FINAL WHERE kind = 'procedure') AS p ON p.code = w.procedure_code
LEFT JOIN (SELECT code, name FROM reference_names FINAL WHERE kind = 'field') AS f ON f.code = w.field_code
ORDER BY w.days_left, w.due IS NULL, w.due, w.received_ms, w.dossier_id
SETTINGS join_use_nulls = 1"""


def _score(expr: str) -> str:
    return f"round({expr}, 2)"


INDEX_766 = f"""WITH {D_FROM} AS d0, {D_TO} AS d1, d1 AS today
SELECT c.unit_code AS unit_code, if(ifNull(n.name, '') = '', c.unit_code, n.name) AS unit_name,
    {level_name("c.unit_level")} AS level_name,
    c.p_received AS received, c.p_carried_over AS carried_over,
    (c.p_ended_ok + ifNull(b.within_now, 0)) / nullIf(c.p_received + c.p_carried_over, 0) AS progress,
    {_score("20 * ifNull(progress, 0)")} AS progress_score,
    c.p_paid_online / nullIf(c.p_has_fee, 0) AS payment_dossier_online,
    {_score("6 * ifNull(payment_dossier_online, 0)")} AS payment_dossier_score,
    p.fee_procs_paid_online / nullIf(p.fee_procs, 0) AS payment_procedure_online,
    {_score("least(2, 2.5 * ifNull(payment_procedure_online, 0))")} AS payment_procedure_score,
    c.p_electronic_result_any / nullIf(c.p_ended, 0) AS original_result_available,
    {_score("6 * ifNull(original_result_available, 0)")} AS original_result_score,
    c.p_digitised_all / nullIf(c.p_received, 0) AS so_hoa_giay_to,
    {_score("4 * ifNull(so_hoa_giay_to, 0)")} AS so_hoa_score,
    c.p_reused / nullIf(c.p_received, 0) AS reused_digitized_data,
    {_score("2 * least(1, ifNull(reused_digitized_data, 0) / 0.8)")} AS reused_score,
    c.p_personal_store / nullIf(c.p_received, 0) AS synced_personal_storage,
    {_score("4 * ifNull(synced_personal_storage, 0)")} AS synced_score,
    c.p_population_data / nullIf(c.p_received, 0) AS citizen_data_dossier,
    {_score("2 * ifNull(citizen_data_dossier, 0)")} AS citizen_data_score,
    1 - c.p_ended_late / nullIf(c.p_ended, 0) - (c.p_rated - c.p_rated_satisfied) / nullIf(c.p_rated, 0) AS receiving_satisfaction,
    {
    _score("least(6, 6 * greatest(0, ifNull(receiving_satisfaction, 0)) / 0.9)")
} AS receiving_satisfaction_score
FROM (
  SELECT unit_code, any(unit_level) AS unit_level,
      sumIf(received, day >= d0) AS p_received,
      sumIf(received, day < d0) - sumIf(ended, day < d0) AS p_carried_over,
      sumIf(ended, day >= d0) AS p_ended, sumIf(ended_ok, day >= d0) AS p_ended_ok,
      sumIf(ended_late, day >= d0) AS p_ended_late,
      sumIf(has_fee, day >= d0) AS p_has_fee, sumIf(paid_online, day >= d0) AS p_paid_online,
      sumIf(electronic_result_any, day >= d0) AS p_electronic_result_any,
      sumIf(digitised_all, day >= d0) AS p_digitised_all, sumIf(reused, day >= d0) AS p_reused,
      sumIf(personal_store, day >= d0) AS p_personal_store,
      sumIf(population_data, day >= d0) AS p_population_data,
      sumIf(rated, day >= d0) AS p_rated, sumIf(rated_satisfied, day >= d0) AS p_rated_satisfied
  FROM {
    counters(
        (
            "received",
            "ended",
            "ended_ok",
            "ended_late",
            "has_fee",
            "paid_online",
            "electronic_result_any",
            "digitised_all",
            "reused",
            "personal_store",
            "population_data",
            "rated",
            "rated_satisfied",
        ),
        "day <= d1",
        by_unit=True,
    )
}
  GROUP BY unit_code
  HAVING p_received + p_carried_over > 0
) AS c
LEFT JOIN (SELECT unit_code, sum(open_not_due) AS within_now FROM {
    union(backlog_branches())
} GROUP BY unit_code) AS b
  ON b.unit_code = c.unit_code
LEFT JOIN (
  SELECT unit_code, countIf(fee > 0) AS fee_procs, countIf(fee > 0 AND paid > 0) AS fee_procs_paid_online
  FROM (SELECT unit_code, procedure_code, sum(has_fee) AS fee, sum(paid_online) AS paid
        FROM {counters(("has_fee", "paid_online"), "day >= d0 AND day <= d1", "procedure_code")}
        GROUP BY unit_code, procedure_code)
  GROUP BY unit_code
) AS p ON p.unit_code = c.unit_code
LEFT JOIN (SELECT code, name FROM reference_names WHERE kind = 'unit') AS n ON n.code = c.unit_code
ORDER BY progress_score ASC, unit_code
SETTINGS join_use_nulls = 1"""


DEAD_LETTERS_BY_CODE = """SELECT code, count() AS dead_letters, max(received_at) AS last_seen
FROM dead_letters FINAL
WHERE $__timeFilter(received_at)
GROUP BY code
ORDER BY dead_letters DESC, code"""

DEAD_LETTERS_TREND = f"""SELECT toStartOfHour(toTimeZone(received_at, '{TZ}')) AS time, code AS series, count() AS value
FROM dead_letters FINAL
WHERE $__timeFilter(received_at)
GROUP BY time, series
ORDER BY time"""


# -- variables ---------------------------------------------------------------------------
VAR_PROVINCE = (
    f"SELECT {province_key()} AS province, anyIf(province_name, province_name != '') FROM reference_names "
    "WHERE kind = 'unit' AND province_code != '' GROUP BY province ORDER BY province"
)
VAR_UNIT = (
    "SELECT code, name FROM reference_names WHERE kind = 'unit' AND "
    + PROVINCE_F
    + " AND "
    + LEVEL_F.replace("unit_level IN", "unit_level IN")
    + " ORDER BY indexOf("
    + _list(LEVEL_CODES)
    + ", toString(unit_level)), name"
)
VAR_FIELD = "SELECT code, name FROM reference_names WHERE kind = 'field' ORDER BY name"


@dataclass(frozen=True)
class PanelQuery:
    key: str
    sql: str
    kind: str  # "table" | "timeseries"


# The month-end forecast band (exporter/forecast_metrics.py): PromQL over the exporter's
# gauges, per level, for one period kind; the target line is the level's plan target.
def forecast_band_queries(kind: str, metric: str = "on_time_rate") -> dict[str, str]:
    sel = f'metric="{metric}", period_kind="{kind}", level=~"${{level:regex}}"'
    return {
        bound: f'max by (level, level_name) (motcua_forecast_ratio{{{sel}, bound="{bound}"}})'
        for bound in ("best", "worst", "expected")
    } | {
        "target": f'max by (level, level_name) (motcua_target_ratio{{metric="{metric}", level=~"${{level:regex}}"}})'
    }


def overview_queries() -> list[PanelQuery]:
    """Every ClickHouse query of the Phòng điều hành dashboard, by a stable key."""
    out = [PanelQuery(f"rates_{p}", rates_by_level(p), "table") for p in ("day", "month", "year")]
    out += [
        PanelQuery(f"headline_on_time_{p}", headline("on_time_rate", p), "table") for p in ("month", "year")
    ]
    out += [
        PanelQuery("backlog_total", backlog_counts(False), "table"),
        PanelQuery("backlog_by_level", backlog_counts(True), "table"),
    ]
    for m in TREND_METRICS:
        out += [
            PanelQuery(f"trend_{m}", trend(m), "timeseries"),
            PanelQuery(f"trend_targets_{m}", trend_targets(m), "timeseries"),
        ]
    return out


def ranking_queries() -> list[PanelQuery]:
    return [
        PanelQuery("ranking_rate", ranking("rate"), "table"),
        PanelQuery("ranking_gap", ranking("gap"), "table"),
    ]


def unit_queries() -> list[PanelQuery]:
    return [
        PanelQuery(f"unit_by_{d}", unit_breakdown(d), "table") for d in ("procedure", "field", "channel")
    ] + [
        PanelQuery("unit_overdue_list", OVERDUE_LIST, "table"),
        PanelQuery("unit_worklist", worklist_panel(), "table"),
        PanelQuery("unit_backlog", backlog_counts(False), "table"),
        PanelQuery("unit_trend_on_time", trend("on_time_rate"), "timeseries"),
    ]


def index766_queries() -> list[PanelQuery]:
    return [PanelQuery("index766_units", INDEX_766, "table")]


def health_queries() -> list[PanelQuery]:
    return [
        PanelQuery("dead_letters_by_code", DEAD_LETTERS_BY_CODE, "table"),
        PanelQuery("dead_letters_trend", DEAD_LETTERS_TREND, "timeseries"),
    ]


def all_queries() -> list[PanelQuery]:
    return overview_queries() + ranking_queries() + unit_queries() + index766_queries() + health_queries()


VARIABLE_QUERIES = {"province": VAR_PROVINCE, "unit": VAR_UNIT, "field": VAR_FIELD}
