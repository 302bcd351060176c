"""Queries the reports need beyond ``ClickHouseStore.kpi``: additive counters grouped by
unit × procedure (the 766 procedure-based metrics), the units and provinces present in
the store, and :func:`province_scope`, a view of a store whose reads see one province.

Same code for the embedded store (chDB) and a ClickHouse server: everything goes
through the store's clickhouse-connect client with server-side parameters; the only
identifiers interpolated into SQL are the store's database name and column names from
the fixed sets below.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..domain.metrics import COUNTERS
from ..domain.periods import Period
from .clickhouse_store import ClickHouseStore

# Tables with a province_code column that the reports (and the panels) read.
PROVINCE_TABLES = (
    "dossier_state",
    "kpi_daily",
    "kpi_daily_unit",
    "kpi_daily_level",
    "kpi_monthly_unit",
    "open_backlog",
    "open_backlog_unit",
    "open_backlog_level",
    "open_backlog_total_unit",
    "open_backlog_due_unit",
    "events",
)

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


def province_counts(store: ClickHouseStore) -> list[tuple[str, int]]:
    """(province_code as stored, dossiers), most dossiers first."""
    result = store.client.query(
        f"SELECT province_code, uniqExact(dossier_id) AS n FROM {store.db}.dossier_state "
        "GROUP BY province_code ORDER BY n DESC, province_code"
    )
    return [(r[0], int(r[1])) for r in result.result_rows]


def province_codes(store: ClickHouseStore) -> list[str]:
    return [c for c, _n in province_counts(store)]


class _FilteredClient:
    """A client whose queries carry ``additional_table_filters`` (ClickHouse applies them
    to every read of the named tables, in subqueries too); everything else is the
    wrapped client's."""

    def __init__(self, client, filters: dict[str, str]):
        self._client = client
        self._filters = filters

    def _settings(self, settings: dict | None) -> dict:
        merged = dict(settings or {})
        merged["additional_table_filters"] = {**merged.get("additional_table_filters", {}), **self._filters}
        return merged

    def query(self, *args, settings: dict | None = None, **kwargs):
        return self._client.query(*args, settings=self._settings(settings), **kwargs)

    def command(self, *args, settings: dict | None = None, **kwargs):
        return self._client.command(*args, settings=self._settings(settings), **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def province_scope(store: ClickHouseStore, province_codes: Iterable[str]) -> ClickHouseStore:
    """The same store, with every read of the province-keyed tables (``PROVINCE_TABLES``)
    restricted to ``province_codes`` (the codes as stored; none: no rows at all).
    ``kpi``, :func:`counters_by` and the panel queries work on it unchanged."""
    from clickhouse_connect.driver.binding import str_query_value

    codes = sorted(set(province_codes))
    cond = f"province_code IN ({', '.join(str_query_value(c) for c in codes)})" if codes else "0"
    scoped = ClickHouseStore.__new__(ClickHouseStore)
    scoped.location = store.location
    scoped.db = store.db
    scoped.client = _FilteredClient(store.client, {f"{store.db}.{t}": cond for t in PROVINCE_TABLES})
    return scoped
