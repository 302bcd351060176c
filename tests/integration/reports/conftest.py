"""A simulated province loaded once per session into its own chDB database."""

from __future__ import annotations

from datetime import date

import pytest

from motcua.domain.lifecycle import derive_facts, fold
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.simulate import simulate

SIM_FROM, SIM_TO = date(2024, 11, 1), date(2025, 3, 31)  # official Q1 2025 starts 15/12/2024


def store_dsn(store) -> str:
    return f"{store.location.dsn}?database={store.db}"


def facts_of_events(events) -> list[dict]:
    """The pure fold's facts of every dossier in ``events`` (what a store must report)."""
    by_id: dict[str, list] = {}
    for e in events:
        by_id.setdefault(e["dossier_id"], []).append(e)
    cal = default_calendar()
    return [derive_facts(fold(k, v), cal) for k, v in by_id.items()]


@pytest.fixture(scope="session")
def sim_events():
    return [e for e in simulate("75", SIM_FROM, SIM_TO, seed=1, scale=0.03) if isinstance(e, dict)]


@pytest.fixture(scope="session")
def sim_facts(sim_events):
    return facts_of_events(sim_events)


@pytest.fixture(scope="session")
def sim_store(chdb_path, sim_events):
    from motcua.adapters.clickhouse_store import ClickHouseStore

    store = ClickHouseStore(f"chdb://{chdb_path}?database=reports_sim")
    EmbeddedPipeline(store, default_calendar()).ingest((f"s:{i}", e) for i, e in enumerate(sim_events))
    return store
