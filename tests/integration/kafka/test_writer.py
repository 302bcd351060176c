"""The writer against the real broker and a store that fails: inserts that raise, and a
failure between the rollup insert and the state insert (what a crash there leaves). The
writer retries with backoff, commits only after the store acknowledged, and the result
equals the embedded replay."""

from __future__ import annotations

import threading
from datetime import date

import orjson
import pytest

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.domain.periods import Period
from motcua.live.writer import Writer
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline

from .storeprobe import rollup_totals
from .tools import dossier_of, kcat_produce, simulated

pytestmark = pytest.mark.kafka
cal = default_calendar()


class FlakyStore(ClickHouseStore):
    """Fails the first inserts of events, and fails after the rollup landed but before the
    backlog and states did (twice)."""

    def __init__(self, dsn: str):
        super().__init__(dsn)
        self.failures = {"insert_events": 2, "insert_backlog": 2}
        self.failed = 0

    def _maybe_fail(self, name: str) -> None:
        if self.failures[name] > 0:
            self.failures[name] -= 1
            self.failed += 1
            raise ConnectionError(f"ClickHouse is down ({name})")

    def insert_events(self, *a, **kw):
        self._maybe_fail("insert_events")
        return super().insert_events(*a, **kw)

    def insert_backlog(self, *a, **kw):
        self._maybe_fail("insert_backlog")
        return super().insert_backlog(*a, **kw)


def test_writer_retries_while_the_store_fails_and_counts_once(pipeline, tmp_path, chdb_path):
    lines = simulated(tmp_path / "events.jsonl", date(2025, 3, 3), date(2025, 3, 8), seed=4, scale=0.1)
    flaky = FlakyStore(f"chdb://{chdb_path}?database=live_writer")
    settings = pipeline.settings.model_copy(update={"writer_batch_size": 500})
    writer = Writer(settings, store=flaky, max_backoff_s=0.2)
    thread = threading.Thread(target=writer.run, daemon=True)
    processor = pipeline.processor().start()
    thread.start()
    try:
        kcat_produce(pipeline.bootstrap, settings.events_topic, [(dossier_of(x), x) for x in lines])
        pipeline.wait_drained(watch=[processor])
    finally:
        writer.stop()
        thread.join(60)
        processor.stop()
    assert flaky.failed == 4 and writer.flushed_batches > 1
    truth = ClickHouseStore(f"chdb://{chdb_path}?database=live_writer_truth")
    EmbeddedPipeline(truth, cal).ingest((f"l:{i}", x) for i, x in enumerate(lines))
    period = Period(date(2025, 3, 1), date(2025, 4, 1))
    as_of = 1_744_000_000_000
    for by in ("all", "unit"):
        assert flaky.kpi(period, as_of, by, cal) == truth.kpi(period, as_of, by, cal)
    assert flaky.count("events") == truth.count("events") == len({orjson.loads(x)["event_id"] for x in lines})
    assert rollup_totals(flaky) == rollup_totals(truth)  # the retried inserts count once in the panels too
