"""Importing the DVCQG payloads that real senders (OpenCPS "O", Thanh Hoá "T") would have
sent for a simulated province gives the same KPI rows, backlog and dossier facts as
replaying the v1 events that say the same (``simulate.dvcqg.equivalent_events``)."""

from __future__ import annotations

import random
from datetime import date

import pytest

from motcua.adapters.clickhouse_store import STATE_COLUMNS
from motcua.pipeline.importing import ImportOptions
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.replay import importer as Importer
from motcua.simulate.dvcqg import dossiers, equivalent_events, to_requests, unit_of, write_requests
from motcua.simulate.generator import Simulator
from tests.integration.test_bulk_replay import CHECKS

CAL = default_calendar()
SKIP = {"version", "calendar_version", "revision"}


def _facts(store) -> dict:
    rows = store.client.query(
        f"SELECT {', '.join(STATE_COLUMNS)} FROM {store.db}.dossier_state FINAL"
    ).result_rows
    return {r[0]: {k: v for k, v in zip(STATE_COLUMNS, r) if k not in SKIP} for r in rows}


def _query(store, name):
    return store.client.query(CHECKS[name].format(db=store.db)).result_rows


@pytest.mark.parametrize("style", ["T", "O"])
def test_imported_payloads_equal_the_equivalent_v1_events(new_store, tmp_path, style):
    sim = Simulator("Đồng Nai", date(2025, 3, 1), date(2025, 3, 15), seed=7, scale=0.03)
    rng = random.Random(7)
    by_unit: dict[str, list] = {}
    equivalent: list[dict] = []
    for evs in dossiers(sim.events()):
        reqs = to_requests(evs, style, rng, CAL)
        for req in reqs:
            by_unit.setdefault(unit_of(req) or "", []).append(req)
        equivalent += equivalent_events(evs, style, CAL, reqs)
    imported, replayed = new_store(), new_store()
    source = sim.source_system
    for i, (unit, reqs) in enumerate(sorted(by_unit.items())):
        path = tmp_path / f"feed-{i}.jsonl"
        write_requests(path, reqs)
        # T posts bare arrays (no madonvi): each file is one unit's feed, imported with --unit
        Importer(imported, CAL, ImportOptions(source_system=source, unit=unit or None)).import_dvcqg([path])
    EmbeddedPipeline(replayed, CAL).ingest(("sim", e) for e in equivalent)
    assert imported.count("dossier_state") > 300
    assert _query(imported, "rollup") == _query(replayed, "rollup")
    assert _query(imported, "backlog") == _query(replayed, "backlog")
    fa, fb = _facts(imported), _facts(replayed)
    assert fa == fb, _diff(fa, fb)
    assert not imported.client.query(f"SELECT count() FROM {imported.db}.dead_letters").result_rows[0][0]


def _diff(a, b):
    return {
        d: {k: (a[d][k], b[d][k]) for k in a[d] if a[d][k] != b[d][k]} for d in a if d in b and a[d] != b[d]
    }
