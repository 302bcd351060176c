"""Both replay paths (the Python fold and the bulk fold in ClickHouse SQL) and the store's
work_calendar use the official schedule, not the bare ``holidays`` package: the two
examples of issue 11 and the 24/11/2026 decision, on real chDB."""

from __future__ import annotations

from datetime import date

import orjson
import pytest

from motcua.domain.lifecycle import LATE, ON_TIME
from motcua.reference.official_calendar import default_calendar, package_calendar
from motcua.replay import EmbeddedPipeline
from tests.builders import ENVELOPE, local_ms

NOW_MS = local_ms(2026, 12, 1, 12)

# (dossier, received, working days, resolved, official due date, outcome)
CASES = [
    ("CAL-1", local_ms(2025, 12, 31, 9), 2, local_ms(2026, 1, 6, 16), date(2026, 1, 6), ON_TIME),
    ("CAL-2", local_ms(2026, 1, 9, 9), 1, local_ms(2026, 1, 12, 9), date(2026, 1, 10), LATE),
    # Mon 23/11/2026 + 1 working day: Tue 24/11 works in the official layer
    ("CAL-3", local_ms(2026, 11, 23, 9), 1, local_ms(2026, 11, 25, 9), date(2026, 11, 24), LATE),
]


def _file(tmp_path):
    lines = []
    for did, rec, days, res, _, _ in CASES:
        env = dict(ENVELOPE, dossier_id=did)
        lines.append(
            dict(
                env,
                event_id=f"{did}-1",
                event_type="RECEIVED",
                occurred_at=rec,
                channel="DIRECT",
                time_limit={"value": days, "unit": "WORKING_DAYS"},
                sequence=1,
            )
        )
        lines.append(dict(env, event_id=f"{did}-2", event_type="RESOLVED", occurred_at=res, sequence=2))
    path = tmp_path / "calendar.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in lines) + b"\n")
    return path


@pytest.mark.parametrize("bulk", [False, True], ids=["python", "bulk"])
def test_replay_stores_the_official_due_dates(new_store, tmp_path, bulk):
    store = new_store()
    EmbeddedPipeline(store, default_calendar(), now_ms=lambda: NOW_MS).replay_files(
        [_file(tmp_path)], bulk=bulk
    )
    rows = {
        r[0]: r[1:]
        for r in store.client.query(
            f"SELECT dossier_id, due_date, outcome FROM {store.db}.dossier_state FINAL ORDER BY dossier_id"
        ).result_rows
    }
    for did, _, _, _, due, outcome in CASES:
        assert rows[did] == (due, outcome), did
    # the package alone would have given other due dates for the first two
    pkg = package_calendar()
    assert date.fromordinal(pkg.add_working_days(date(2026, 1, 9), 1)) != date(2026, 1, 10)


def test_store_work_calendar_is_the_official_one(new_store):
    store = new_store()
    store.load_calendar(default_calendar())
    days = dict(
        store.client.query(
            f"SELECT day, is_working FROM {store.db}.work_calendar WHERE day IN "
            "('2026-01-02', '2026-01-10', '2026-11-24')"
        ).result_rows
    )
    assert days == {date(2026, 1, 2): 0, date(2026, 1, 10): 1, date(2026, 11, 24): 1}


def test_cli_replay_uses_the_province_overrides(tmp_path):
    """A province that got a notice for 24/11/2026 puts it in its overrides: the CLI's
    replay then counts Wed 25/11 as the due date of CAL-3 (on time)."""
    import subprocess
    import sys

    from tests.cli_runner import motcua

    overrides = tmp_path / "cal.yaml"
    overrides.write_text("days_off: [2026-11-24]\n", encoding="utf-8")
    dsn = f"chdb://{tmp_path / 'store'}"
    motcua("replay", str(_file(tmp_path)), "--store", dsn, env={"MOTCUA_CALENDAR_OVERRIDES": str(overrides)})
    # chDB opens one path per process: read the store back in another one
    read = (
        "import sys, orjson; from motcua.adapters.clickhouse_store import ClickHouseStore; s = ClickHouseStore(sys.argv[1]); "
        "print(orjson.dumps(s.client.query(f'SELECT dossier_id, toString(due_date), outcome FROM {s.db}.dossier_state FINAL')"
        ".result_rows).decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", read, dsn], capture_output=True, text=True, timeout=300, check=True
    ).stdout
    rows = {r[0]: tuple(r[1:]) for r in orjson.loads(out.strip().splitlines()[-1])}
    assert rows["CAL-3"] == ("2026-11-25", ON_TIME)
    assert rows["CAL-2"] == ("2026-01-10", LATE)
