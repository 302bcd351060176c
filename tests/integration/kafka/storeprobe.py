"""``python -m tests.integration.kafka.storeprobe DSN [FROM TO AS_OF]``: KPI rows (by level,
unit and all), open backlog, row counts and the column totals of every rollup table of a
store, as JSON on stdout."""

from __future__ import annotations

import sys
from datetime import date

import orjson

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.domain.calendar import local_midnight_ms
from motcua.domain.periods import Period
from motcua.reference.official_calendar import default_calendar

# Every rollup the writer's rows reach: the two its inserts carry tokens for, and the panel
# rollups the control room reads, fed from them by materialized views (migrations
# 0021-0025). A view block repeats its source's token and the view tables deduplicate like
# their sources (migration 0026), so a retried or re-formed round must count once there too.
ROLLUPS = (
    "kpi_daily",
    "open_backlog",
    "kpi_daily_unit",
    "open_backlog_unit",
    "kpi_daily_level",
    "kpi_monthly_unit",
    "open_backlog_level",
    "open_backlog_total_unit",
    "open_backlog_due_unit",
)


def rollup_totals(store: ClickHouseStore) -> dict:
    """Per rollup table, the sum of each integer column: a delta counted twice shows."""
    q = store.client.query
    totals = {}
    for t in ROLLUPS:
        cols = [
            r[0]
            for r in q(
                "SELECT name FROM system.columns WHERE database = {db:String} AND "
                "table = {t:String} AND type LIKE '%Int%' ORDER BY name",
                parameters={"db": store.db, "t": t},
            ).result_rows
        ]
        totals[t] = dict(
            zip(cols, q(f"SELECT {', '.join(f'sum({c})' for c in cols)} FROM {store.db}.{t}").result_rows[0])
        )
    return totals


def main(argv: list[str]) -> None:
    dsn = argv[0]
    start, end = (
        (date.fromisoformat(argv[1]), date.fromisoformat(argv[2]))
        if len(argv) > 2
        else (date(2025, 1, 1), date(2026, 1, 1))
    )
    as_of = (
        local_midnight_ms(date.fromisoformat(argv[3]))
        if len(argv) > 3
        else local_midnight_ms(date(2025, 4, 15))
    )
    store = ClickHouseStore(dsn)
    cal = default_calendar()
    period = Period(start, end)
    out = {
        "kpi": {by: store.kpi(period, as_of, by, cal) for by in ("all", "level", "unit")},
        "events": store.count("events"),
        "dossiers": store.count("dossier_state"),
        "dead_letters": dict(store.dead_letter_summary()),
        "backlog": [
            list(r)
            for r in store.client.query(
                f"SELECT due_date, unit_code, sum(open) AS n FROM {store.db}.open_backlog "
                "GROUP BY due_date, unit_code HAVING n != 0 ORDER BY due_date, unit_code"
            ).result_rows
        ],
        "rollups": rollup_totals(store),
    }
    sys.stdout.buffer.write(orjson.dumps(out, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
