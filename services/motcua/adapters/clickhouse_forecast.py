"""The forecast's cells from the store: ``domain.forecast.tally`` in one SQL query.

For every instant (the forecast's and its counterparts in the previous periods), every
received dossier is classified as ``domain.forecast.classify`` does (ended in the period
by then, in progress by bucket, or arrived later in a history period) and counted per
unit and class with the ``Cell`` columns. The instants are an ``ARRAY JOIN`` over
parameter arrays, so one scan of ``dossier_state FINAL`` serves them all. The clock rules
(overdue, waiting, the due date after closed pauses) are those of
``domain.lifecycle.clock_at``, as in ``ClickHouseStore._status_sql``;
``tests/integration/test_forecast_store.py`` holds the two equal on random histories.

Parameterised SQL only (clickhouse-connect server-side parameters): the embedded store
and a server run the same text; the database name is the only interpolation.
"""

from __future__ import annotations

from datetime import date

from ..domain.calendar import local_day_number
from ..domain.forecast import DUE_BUCKETS, Cell, Instant, Key
from .clickhouse_store import ClickHouseStore


def _clock(t: str, day: str) -> tuple[str, str, str]:
    """SQL for (overdue, waiting, due) at instant column ``t`` (ms) of local day ``day``."""
    t64 = f"fromUnixTimestamp64Milli({t}, 'UTC')"
    requests = f"arrayCount(x -> x <= {t64}, request_times)"
    waiting = f"arrayExists((s, e) -> s <= {t64} AND {t64} < e, pause_starts, pause_ends)"
    due = (
        f"effective_due_dates[least(arrayCount(e -> e <= {t64}, pause_ends) + 1, "
        "length(effective_due_dates))]"
    )
    overdue = f"({requests} >= 2 OR (NOT {waiting} AND due_known AND {day} > {due}))"
    return overdue, waiting, due


def _class_sql() -> str:
    overdue, waiting, due = _clock("t", "t_day")
    buckets = ", ".join(f"{due} < e{i}, '{name}'" for i, name in enumerate(DUE_BUCKETS[:-1]))
    return (
        "multiIf(received_ms > t, if(k > 0 AND received_ms < pe, 'arrival', ''), "
        "ended AND end_ms <= t, if(end_ms >= ps, 'ended', ''), "
        f"{overdue}, 'overdue', {waiting}, 'waiting', NOT due_known, 'no_due', "
        f"{buckets}, '{DUE_BUCKETS[-1]}')"
    )


def forecast_cells(store: ClickHouseStore, insts: list[Instant], cal) -> dict[Key, Cell]:
    """``domain.forecast.tally`` over the stored facts."""
    end_overdue, _w, _d = _clock("pe - 1", "pe_day")
    edges = [inst.edges(cal) for inst in insts]
    params = {
        "ks": [inst.k for inst in insts],
        "ts": [inst.at_ms for inst in insts],
        "tdays": [date.fromordinal(local_day_number(inst.at_ms)) for inst in insts],
        "pss": [inst.start_ms for inst in insts],
        "pes": [inst.end_ms for inst in insts],
        "pedays": [date.fromordinal(local_day_number(inst.end_ms - 1)) for inst in insts],
        "first": min(inst.start_ms for inst in insts),
        "last": max(inst.end_ms for inst in insts),
    }
    for i in range(len(edges[0])):
        params[f"e{i}s"] = [date.fromordinal(e[i]) for e in edges]
    edge_cols = "".join(f", {{e{i}s:Array(Date)}}[idx] AS e{i}" for i in range(len(edges[0])))
    sql = (
        "SELECT k, unit_code, unit_level, cls, count(), countIf(received_ms < ps), "
        "countIf(ended_in), countIf(ended_in AND outcome IN ('EARLY', 'ON_TIME')), "
        f"countIf(NOT (ended AND end_ms < pe) AND NOT {end_overdue}) "
        "FROM (SELECT *, "
        "{ks:Array(UInt8)}[idx] AS k, {ts:Array(Int64)}[idx] AS t, {tdays:Array(Date)}[idx] AS t_day, "
        "{pss:Array(Int64)}[idx] AS ps, {pes:Array(Int64)}[idx] AS pe, "
        f"{{pedays:Array(Date)}}[idx] AS pe_day{edge_cols}, "
        "ended AND end_ms >= ps AND end_ms < pe AS ended_in "
        "FROM (SELECT unit_code, unit_level, received_at, ended, end_at, outcome, request_times, "
        "pause_starts, pause_ends, due_known, effective_due_dates, "
        "toUnixTimestamp64Milli(received_at) AS received_ms, toUnixTimestamp64Milli(end_at) AS end_ms "
        f"FROM {store.db}.dossier_state FINAL "
        "WHERE received = 1 AND received_at < fromUnixTimestamp64Milli({last:Int64}, 'UTC') "
        "AND (ended = 0 OR end_at >= fromUnixTimestamp64Milli({first:Int64}, 'UTC'))) "
        "ARRAY JOIN arrayEnumerate({ks:Array(UInt8)}) AS idx) "
        f"WHERE ({_class_sql()} AS cls) != '' "
        "GROUP BY k, unit_code, unit_level, cls"
    )
    result = store.client.query(sql, parameters=params)
    out: dict[Key, Cell] = {}
    for k, unit, level, cls, *counts in result.result_rows:
        out[(int(k), unit, level, cls)] = Cell(*(int(v) for v in counts))
    return out
