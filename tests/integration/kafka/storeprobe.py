"""``python -m tests.integration.kafka.storeprobe DSN [FROM TO AS_OF]``: KPI rows (by level,
unit and all), open backlog and row counts of a store, as JSON on stdout."""

from __future__ import annotations

import sys
from datetime import date

import orjson

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.domain.calendar import default_calendar, local_midnight_ms
from motcua.domain.metrics import Period


def main(argv: list[str]) -> None:
    dsn = argv[0]
    start, end = (date.fromisoformat(argv[1]), date.fromisoformat(argv[2])) if len(argv) > 2 \
        else (date(2025, 1, 1), date(2026, 1, 1))
    as_of = local_midnight_ms(date.fromisoformat(argv[3])) if len(argv) > 3 \
        else local_midnight_ms(date(2025, 4, 15))
    store = ClickHouseStore(dsn)
    cal = default_calendar()
    period = Period(start, end)
    out = {
        "kpi": {by: store.kpi(period, as_of, by, cal) for by in ("all", "level", "unit")},
        "events": store.count("events"),
        "dossiers": store.count("dossier_state"),
        "dead_letters": dict(store.dead_letter_summary()),
        "backlog": [list(r) for r in store.client.query(
            f"SELECT due_date, unit_code, sum(open) AS n FROM {store.db}.open_backlog "
            "GROUP BY due_date, unit_code HAVING n != 0 ORDER BY due_date, unit_code").result_rows],
    }
    sys.stdout.buffer.write(orjson.dumps(out, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
