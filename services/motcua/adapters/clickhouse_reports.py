"""Queries the reports need beyond ``ClickHouseStore.kpi``: additive counters grouped by
unit × procedure (the 766 procedure-based metrics) and the units present in the store.

Same code for the embedded store (chDB) and a ClickHouse server: everything goes
through the store's clickhouse-connect client with server-side parameters; the only
identifiers interpolated into SQL are the store's database name and column names from
the fixed sets below.
"""

from __future__ import annotations

from ..domain.metrics import COUNTERS, Period
from .clickhouse_store import ClickHouseStore

GROUP_COLUMNS = ("unit_level", "unit_code", "procedure_code", "field_code", "province_code")


def counters_by(store: ClickHouseStore, period: Period, keys: tuple[str, ...]) -> dict[tuple, dict[str, int]]:
    """Sums of every additive counter (metrics.COUNTERS) over local days [start, end),
    grouped by ``keys`` (columns of the rollup). Groups whose counters are all zero are
    left out (the rollup holds signed deltas that may cancel)."""
    bad = [k for k in keys if k not in GROUP_COLUMNS]
    if bad:
        raise ValueError(f"cannot group by {bad}")
    select_keys = "".join(f"{k}, " for k in keys)
    group_sql = f"GROUP BY {', '.join(keys)}" if keys else ""
    sums = ", ".join(f"sum({c})" for c in COUNTERS)
    result = store.client.query(
        f"SELECT {select_keys}{sums} FROM {store.db}.kpi_daily "
        f"WHERE day >= {{start:Date}} AND day < {{end:Date}} {group_sql}",
        parameters={"start": period.start, "end": period.end},
    )
    out: dict[tuple, dict[str, int]] = {}
    n = len(keys)
    for row in result.result_rows:
        counters = {c: int(v) for c, v in zip(COUNTERS, row[n:])}
        if any(counters.values()):
            out[tuple(row[:n])] = counters
    return out


def unit_codes(store: ClickHouseStore) -> set[str]:
    """Every unit code the store has dossiers for (to validate ``--unit``)."""
    result = store.client.query(f"SELECT DISTINCT unit_code FROM {store.db}.dossier_state")
    return {r[0] for r in result.result_rows}


def province_codes(store: ClickHouseStore) -> list[str]:
    result = store.client.query(
        f"SELECT province_code, count() AS n FROM {store.db}.dossier_state GROUP BY province_code "
        "ORDER BY n DESC")
    return [r[0] for r in result.result_rows]
