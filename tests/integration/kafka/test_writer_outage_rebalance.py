"""A rebalance of the writer group while the store is down (docs/operating-cluster.md#store-outage).

Two writers share the facts partitions; the store goes down (the fault switch of
``adapters/store_faults.py``) with rounds in hand on both; one writer stops. The other is
waiting to retry with its partitions paused, sees the rebalance in its polls and abandons
its round uncommitted (``RoundAbandoned``): it takes every partition over from the commits,
re-forms the stopped writer's intents, and waits for the store again. After the store is
back the figures equal the embedded replay: nothing lost, nothing counted twice."""

from __future__ import annotations

import logging
import threading
import time
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

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
cal = default_calendar()
ABANDONED = "group rebalanced while the store failed; partitions read again"


class SharedStore(ClickHouseStore):
    """The real store behind the fault switch, its calls serialised: the two writers of this
    test share the in-process chDB, whose client is not safe across threads."""

    lock = threading.Lock()

    def __init__(self, dsn: str, down):
        with self.lock:
            super().__init__(dsn, fault_down_file=down)

    def _locked(self, name: str, *a, **kw):
        with self.lock:
            return getattr(ClickHouseStore, name)(self, *a, **kw)

    def insert_events(self, *a, **kw):
        return self._locked("insert_events", *a, **kw)

    def facts_of(self, *a, **kw):
        return self._locked("facts_of", *a, **kw)

    def stored_dossiers(self, *a, **kw):
        return self._locked("stored_dossiers", *a, **kw)

    def insert_rollup(self, *a, **kw):
        return self._locked("insert_rollup", *a, **kw)

    def insert_backlog(self, *a, **kw):
        return self._locked("insert_backlog", *a, **kw)

    def insert_states(self, *a, **kw):
        return self._locked("insert_states", *a, **kw)

    def insert_dead_letters(self, *a, **kw):
        return self._locked("insert_dead_letters", *a, **kw)


def until(what: str, check, timeout: float = 120, watch=()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for svc in watch:
            assert svc.alive(), f"{svc.name} exited"
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"never: {what}")


def test_a_rebalance_while_the_store_is_down_abandons_the_round_and_counts_once(
    pipeline, tmp_path, chdb_path, caplog
):
    caplog.set_level(logging.INFO, logger="motcua.writer")
    lines = simulated(tmp_path / "events.jsonl", date(2025, 3, 3), date(2025, 3, 10), seed=9, scale=0.1)
    half = len(lines) // 2
    down = tmp_path / "store-down"
    dsn = f"chdb://{chdb_path}?database=outage_rebalance"
    settings = pipeline.settings.model_copy(update={"writer_retry_max_s": 1.0, "writer_batch_size": 500})
    processor = pipeline.processor().start()
    writers = [Writer(settings, store=SharedStore(dsn, down)) for _ in range(2)]
    threads = [threading.Thread(target=w.run, daemon=True) for w in writers]
    for t in threads:
        t.start()
    try:
        until(
            "both writers own partitions",
            lambda: all(w.consumer and w.consumer.assignment() for w in writers),
        )
        topic = settings.events_topic
        kcat_produce(pipeline.bootstrap, topic, [(dossier_of(x), x) for x in lines[:half]])
        until("both writers wrote", lambda: all(w.flushed_batches for w in writers), watch=[processor])
        down.touch()
        kcat_produce(pipeline.bootstrap, topic, [(dossier_of(x), x) for x in lines[half:]])
        until("both writers wait for the store", lambda: all(w.waits.health.failing_since for w in writers))
        writers[1].stop()  # leaves the group: the other one rebalances while it waits
        threads[1].join(60)
        assert not threads[1].is_alive()
        until("the round was abandoned", lambda: any(r.getMessage() == ABANDONED for r in caplog.records))
        until(
            "the remaining writer owns every facts partition",
            lambda: len(writers[0].consumer.assignment()) == 5,
        )
        time.sleep(3)  # it waits for the store again, with the re-formed intents in hand
        assert writers[0].waits.health.failing_since is not None
        down.unlink()
        pipeline.wait_drained(watch=[processor])
    finally:
        for w in writers:
            w.stop()
        for t in threads:
            t.join(60)
        processor.stop()
    assert writers[0].reformed, "the stopped writer's intents were re-formed"
    live = ClickHouseStore(dsn)
    truth = ClickHouseStore(f"chdb://{chdb_path}?database=outage_rebalance_truth")
    EmbeddedPipeline(truth, cal).ingest((f"l:{i}", x) for i, x in enumerate(lines))
    period = Period(date(2025, 3, 1), date(2025, 4, 1))
    as_of = 1_744_000_000_000
    for by in ("all", "unit"):
        assert live.kpi(period, as_of, by, cal) == truth.kpi(period, as_of, by, cal)
    assert live.count("events") == truth.count("events") == len({orjson.loads(x)["event_id"] for x in lines})
    assert rollup_totals(live) == rollup_totals(truth)
