"""Recompute after a calendar correction: a store replayed under the old calendar, then
recomputed under the new one, holds exactly the tables of a fresh replay under the new
calendar (dossier states, rollups, every panel rollup, backlog) — also when the
recompute fails midway at any insert and is run again, and when it is run twice."""

from __future__ import annotations

from datetime import date

import pytest

from motcua.adapters.clickhouse_store import STATE_COLUMNS, ClickHouseStore
from motcua.reference.official_calendar import default_calendar, package_calendar
from motcua.replay import EmbeddedPipeline, recompute
from motcua.simulate import simulate

# The package lacks the 2026-01-02 (off) / 2026-01-10 (working) swap: the official
# calendar moves due dates of dossiers received around New Year 2026.
OLD, NEW = package_calendar(), default_calendar()
WINDOW = (date(2025, 12, 1), date(2026, 1, 31))
NOW_MS = 1_772_000_000_000  # 2026-02-25

# Every table a reader sees, by the columns that identify a row; the others are summed
# (signed deltas) and rows that sum to zero dropped.
ROLLUPS = (
    "kpi_daily",
    "open_backlog",
    "kpi_daily_unit",
    "kpi_daily_level",
    "kpi_monthly_unit",
    "open_backlog_unit",
    "open_backlog_level",
    "open_backlog_total_unit",
    "open_backlog_due_unit",
)


@pytest.fixture(scope="module")
def events():
    out = []
    for e in simulate(75, date(2025, 12, 10), date(2026, 1, 20), seed=11, scale=0.08):
        if isinstance(e, dict) and e["event_type"] == "RECEIVED":
            e = {k: v for k, v in e.items() if k != "due_at"}  # due date from the time limit
        out.append(e)
    return out


def replay(store: ClickHouseStore, events, cal) -> None:
    EmbeddedPipeline(store, cal, batch_size=700, now_ms=lambda: NOW_MS).ingest(
        (f"sim:{i}", e) for i, e in enumerate(events)
    )


def tables(store: ClickHouseStore) -> dict[str, list]:
    q = store.client.query
    figures = [c for c in STATE_COLUMNS if c != "revision"]
    out = {
        "dossier_state": q(
            f"SELECT {', '.join(figures)} FROM {store.db}.dossier_state FINAL ORDER BY dossier_id"
        ).result_rows
    }
    for t in ROLLUPS:
        key = q(
            "SELECT sorting_key FROM system.tables WHERE database = {db:String} AND name = {t:String}",
            parameters={"db": store.db, "t": t},
        ).result_rows[0][0]
        keys = [k.strip() for k in key.split(",")]
        cols = [
            r[0]
            for r in q(
                "SELECT name FROM system.columns WHERE database = {db:String} "
                "AND table = {t:String} ORDER BY position",
                parameters={"db": store.db, "t": t},
            ).result_rows
        ]
        sums = [c for c in cols if c not in keys]
        out[t] = q(
            f"SELECT {', '.join(keys)}, {', '.join(f'sum({c})' for c in sums)} FROM {store.db}.{t} "
            f"GROUP BY ALL HAVING {' OR '.join(f'sum({c}) != 0' for c in sums)} ORDER BY ALL"
        ).result_rows
    return out


@pytest.fixture(scope="module")
def truth(chdb_path, events):
    store = ClickHouseStore(f"chdb://{chdb_path}?database=recompute_truth")
    replay(store, events, NEW)
    return tables(store)


def test_the_correction_moves_figures_and_the_recompute_equals_a_fresh_replay(new_store, events, truth):
    store = new_store()
    replay(store, events, OLD)
    before = tables(store)
    assert before["dossier_state"] != truth["dossier_state"]  # the calendars do differ here
    summary = recompute(store, NEW, batch_size=400).run(*WINDOW)
    assert summary.changed > 0 and summary.due_changed > 0 and summary.outcomes
    assert summary.skipped == 0
    assert summary.dossiers == summary.changed + summary.restamped + summary.current
    assert tables(store) == truth
    # run again: everything is current, nothing written
    again = recompute(store, NEW, batch_size=400).run(*WINDOW)
    assert again.current == again.dossiers == summary.dossiers and again.changed == again.restamped == 0
    assert tables(store) == truth
    versions = store.calendar_version_counts()
    assert [v for v, *_ in versions] == [NEW.version]


def test_recompute_with_the_same_calendar_changes_no_figure(new_store, events, truth):
    store = new_store()
    replay(store, events, NEW)
    summary = recompute(store, NEW, batch_size=400).run(*WINDOW)
    assert summary.changed == summary.restamped == 0 and summary.current == summary.dossiers > 0
    assert tables(store) == truth


class Crash(Exception):
    pass


@pytest.mark.parametrize("point", ["insert_rollup", "insert_backlog", "insert_states"])
def test_a_recompute_failing_midway_and_rerun_equals_a_fresh_replay(new_store, events, truth, point):
    store = new_store()
    replay(store, events, OLD)
    real = getattr(store, point)
    calls = {"n": 0}

    def failing(*args, **kwargs):
        real(*args, **kwargs)  # this insert lands, then the process "dies"
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash(point)

    setattr(store, point, failing)
    with pytest.raises(Crash):
        recompute(store, NEW, batch_size=300).run(*WINDOW)
    setattr(store, point, real)
    assert tables(store) != truth  # stopped midway
    recompute(store, NEW, batch_size=300).run(*WINDOW)
    assert tables(store) == truth


def test_a_second_correction_and_its_reversal_are_recomputed_too(new_store, events, truth):
    """Calendar A -> B -> A -> B: each recompute of the same dossiers at the same version
    carries a new revision, so no token repeats and no delta is dropped or doubled."""
    store = new_store()
    replay(store, events, OLD)
    for cal in (NEW, OLD, NEW):
        recompute(store, cal, batch_size=500).run(*WINDOW)
    assert tables(store) == truth


def test_a_new_event_after_a_recompute_outranks_it(new_store, events):
    """The recomputed row has revision 1; the next event's facts (version + 1, revision 0)
    replace it."""
    store = new_store()
    replay(store, events[:-1], OLD)
    recompute(store, NEW, batch_size=500).run(*WINDOW)
    last = events[-1]
    pipeline = EmbeddedPipeline(store, NEW, now_ms=lambda: NOW_MS)
    pipeline.ingest([("sim:last", last)])
    facts = store.facts_of([last["dossier_id"]])[last["dossier_id"]]
    assert facts["revision"] == 0 and facts["calendar_version"] == NEW.version
    assert facts["version"] == len([e for e in events if e["dossier_id"] == last["dossier_id"]])


def test_a_recompute_after_a_catalogue_load_folds_with_it(new_store, chdb_path, events):
    """Dossiers whose RECEIVED leaves the fee flag and time limit out take them from the
    procedure catalogue: replayed without one, then recomputed with it, the store equals a
    replay made with the catalogue (and with the new calendar)."""
    from motcua.reference.catalogue import CatalogueEntry

    stripped = [
        {k: v for k, v in e.items() if k not in ("has_fee", "time_limit")}
        if isinstance(e, dict) and e["event_type"] == "RECEIVED"
        else e
        for e in events
    ]
    codes = sorted({e["procedure_code"] for e in stripped if isinstance(e, dict)})
    catalogue = {
        c: CatalogueEntry(
            code=c, name=c, has_fee=i % 2 == 0, time_limit={"value": 1 + i % 4, "unit": "WORKING_DAYS"}
        )
        for i, c in enumerate(codes)
    }
    want = ClickHouseStore(f"chdb://{chdb_path}?database=recompute_catalogue_truth")
    EmbeddedPipeline(want, NEW, batch_size=700, now_ms=lambda: NOW_MS, catalogue=catalogue).ingest(
        (f"sim:{i}", e) for i, e in enumerate(stripped)
    )
    store = new_store()
    EmbeddedPipeline(store, OLD, batch_size=700, now_ms=lambda: NOW_MS, catalogue={}).ingest(
        (f"sim:{i}", e) for i, e in enumerate(stripped)
    )
    summary = recompute(store, NEW, batch_size=400, catalogue=catalogue).run(*WINDOW)
    assert summary.changed == summary.dossiers and summary.outcomes  # no due date before
    assert tables(store) == tables(want)
