"""One simulated month of Đồng Nai (March 2025) loaded once for the panel tests."""

from __future__ import annotations

from datetime import date

import pytest

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.adapters.clickhouse_targets import TargetsRepository
from motcua.bootstrap import plan_targets
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.settings import get_settings
from motcua.simulate import simulate

CAL = default_calendar()


@pytest.fixture(scope="session")
def loaded_store(chdb_path):
    store = ClickHouseStore(f"chdb://{chdb_path}?database=panels_march")
    store.load_calendar(CAL)
    events = list(simulate("75", date(2025, 3, 1), date(2025, 3, 31), seed=1, scale=0.2, duplicates=0.02))
    records = [(f"s:{i}", e) for i, e in enumerate(events)]
    pipe = EmbeddedPipeline(store, CAL, batch_size=20_000)
    pipe.ingest(records)
    pipe.ingest(records[: len(records) // 3])  # a replay of a prefix changes nothing
    pipe.ingest([("bad:1", b"not json"), ("bad:2", b'{"event_id": 1}')])
    repo = TargetsRepository(store)
    repo.replace(plan_targets(get_settings()))
    repo.load_reference_names(["75"], repo.stored_unit_codes())
    return store
