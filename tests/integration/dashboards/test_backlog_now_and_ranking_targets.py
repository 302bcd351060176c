"""Migration 0025 (open backlog "now": per-unit totals and the copy ordered by due date)
backfills from open_backlog when applied to a store that already holds data, then follows
the signed deltas of dossiers counted before it (ended, due date moved)."""

from __future__ import annotations

from datetime import date

import pytest

from motcua.adapters.clickhouse_store import ClickHouseStore, load_migrations
from motcua.replay import EmbeddedPipeline
from motcua.simulate import simulate

from .conftest import CAL


def _migrate_up_to(store: ClickHouseStore, last: int, later_from: int | None = None) -> None:
    """The store as a release before ``last + 1`` left it, plus the migrations from
    ``later_from`` on (tables and columns today's pipeline writes, which do not depend on
    the missing ones)."""
    c, db = store.client, store.db
    c.command(f"CREATE DATABASE IF NOT EXISTS {db}")
    c.command(
        f"CREATE TABLE IF NOT EXISTS {db}.schema_migrations (version UInt32, description String, "
        "applied_at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree ORDER BY version"
    )
    for version, description, statements in load_migrations():
        if last < version and (later_from is None or version < later_from):
            continue
        for sql in statements:
            c.command(sql.replace("{db}", db))
        c.insert(f"{db}.schema_migrations", [[version, description]], column_names=["version", "description"])


def _assert_equal_to_open_backlog(store: ClickHouseStore) -> None:
    c, db = store.client, store.db

    def rows(sql: str) -> list[tuple]:
        return c.query(sql.format(db=db)).result_rows

    by_unit = rows("SELECT unit_code, sum(open) s FROM {db}.open_backlog GROUP BY 1 HAVING s != 0 ORDER BY 1")
    by_due = rows(
        "SELECT unit_code, due_date, sum(open) s FROM {db}.open_backlog GROUP BY 1, 2 HAVING s != 0 ORDER BY 1, 2"
    )
    assert by_unit and by_due
    assert (
        rows(
            "SELECT unit_code, sum(open) s FROM {db}.open_backlog_total_unit GROUP BY 1 HAVING s != 0 ORDER BY 1"
        )
        == by_unit
    )
    assert (
        rows(
            "SELECT unit_code, due_date, sum(open) s FROM {db}.open_backlog_due_unit "
            "GROUP BY 1, 2 HAVING s != 0 ORDER BY 1, 2"
        )
        == by_due
    )


def test_backlog_now_rollups_backfill_then_follow_the_deltas(chdb_path):
    store = ClickHouseStore(f"chdb://{chdb_path}?database=backlog_now_0025", migrate=False)
    _migrate_up_to(store, 24, later_from=27)  # 0026 alters 0025's tables
    store.load_calendar(CAL)
    events = list(simulate("75", date(2025, 3, 1), date(2025, 3, 31), seed=3, scale=0.05))
    records = [(f"s:{i}", e) for i, e in enumerate(events)]
    half = len(records) // 2
    pipe = EmbeddedPipeline(store, CAL, batch_size=5_000)
    pipe.ingest(records[:half])
    applied = store.migrate()
    assert applied[0] == 25
    _assert_equal_to_open_backlog(store)  # backfilled
    ended_before = store.client.query(f"SELECT sum(ended) FROM {store.db}.kpi_daily").result_rows[0][0]
    pipe.ingest(records[half:])  # dossiers counted before the migration end or change
    assert store.client.query(f"SELECT sum(ended) FROM {store.db}.kpi_daily").result_rows[0][0] > ended_before
    _assert_equal_to_open_backlog(store)
    store.client.command(f"OPTIMIZE TABLE {store.db}.open_backlog_total_unit FINAL")
    store.client.command(f"OPTIMIZE TABLE {store.db}.open_backlog_due_unit FINAL")
    _assert_equal_to_open_backlog(store)


def test_ranking_target_follows_the_domain_rule_for_unit_targets(chdb_path):
    """Unit targets: the ranking's target is ``effective_target`` of the unit (a valid
    level target beats an expired unit target; a unit target beats its level's otherwise)."""
    from dataclasses import replace

    from motcua.adapters.clickhouse_targets import TargetsRepository
    from motcua.bootstrap import plan_targets
    from motcua.dashboards import panels as P
    from motcua.dashboards.macros import PanelContext
    from motcua.dashboards.runner import PanelRunner
    from motcua.domain.targets import effective_target
    from motcua.settings import get_settings

    store = ClickHouseStore(f"chdb://{chdb_path}?database=ranking_unit_targets")
    store.load_calendar(CAL)
    events = list(simulate("75", date(2025, 3, 1), date(2025, 3, 31), seed=4, scale=0.05))
    EmbeddedPipeline(store, CAL, batch_size=5_000).ingest([(f"s:{i}", e) for i, e in enumerate(events)])
    ctx = PanelContext.for_days(date(2025, 3, 1), date(2025, 3, 31), bottom_n="1000", min_volume="1")
    run = PanelRunner(store)
    units = {r["unit_code"]: r["unit_level"] for r in run.dicts(P.ranking("rate"), ctx)}
    commune = next(u for u, lv in sorted(units.items()) if lv == "COMMUNE")
    other = next(u for u, lv in sorted(units.items()) if lv != "COMMUNE")
    base = next(
        t for t in plan_targets(get_settings()) if t.metric == "on_time_rate" and t.province_code == "75"
    )
    extra = [
        replace(base, unit_code=other, value=0.8, valid_from=date(2025, 1, 1), valid_to=date(2026, 1, 1)),
        replace(base, unit_code=commune, value=0.7, valid_from=date(2024, 1, 1), valid_to=date(2025, 1, 1)),
        replace(base, level="COMMUNE", value=0.9, valid_from=date(2025, 1, 1), valid_to=date(2026, 1, 1)),
    ]
    targets = plan_targets(get_settings()) + extra
    TargetsRepository(store).replace(targets)
    rows = run.dicts(P.ranking("gap"), ctx)
    assert {r["unit_code"] for r in rows} == set(units)
    got = {r["unit_code"]: r["target"] for r in rows}
    assert got[other] == 0.8 and got[commune] == 0.9
    for r in rows:
        t = effective_target(
            targets, "75", "on_time_rate", date(2025, 3, 31), level=r["unit_level"], unit_code=r["unit_code"]
        )
        assert r["target"] == (t.value if t else None), r["unit_code"]
        assert r["gap"] == pytest.approx(r["ratio"] - r["target"])
