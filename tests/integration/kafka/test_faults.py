"""Faults against the real broker: SIGKILL of the processor and the writer at random
points during a run of more than 200,000 events; two processor workers sharing the
partitions with rebalances mid-run. Final KPI rows must equal ``motcua replay``."""

from __future__ import annotations

import random
import time
from datetime import date

import pytest

from .conftest import probe, replay_truth
from .tools import dossier_of, kcat_produce, simulated

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.fault]


def _pause(rng: random.Random, lo: float, hi: float) -> None:
    # Random kill points: *when* the kill lands is what is random, nothing is asserted
    # about durations.
    time.sleep(rng.uniform(lo, hi))


def wait_members(pipeline, n: int, timeout: float = 120) -> list[dict]:
    """Wait until the processor group is stable with ``n`` members that each hold
    partitions; returns them."""
    from kafka import KafkaAdminClient

    group = pipeline.settings.processor_app_id
    admin = KafkaAdminClient(bootstrap_servers=pipeline.bootstrap)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                g = admin.describe_groups([group])[group]
            except Exception:  # coordinator not elected yet on a fresh broker
                time.sleep(0.5)
                continue
            members = [
                {"id": m["member_id"], "assigned": bool(m.get("member_assignment"))} for m in g["members"]
            ]
            if g["group_state"] == "Stable" and len(members) == n:
                return members
            time.sleep(0.5)
    finally:
        admin.close()
    raise AssertionError(f"processor group never had {n} stable members")


def test_sigkill_processor_and_writer_loses_and_doubles_nothing(pipeline, tmp_path):
    lines = simulated(
        tmp_path / "events.jsonl",
        date(2025, 3, 1),
        date(2025, 3, 31),
        seed=11,
        scale=0.55,
        duplicates=0.01,
        reorder=0.02,
    )
    assert len(lines) >= 200_000
    rng = random.Random(20250301)
    chunks = [lines[i::4] for i in range(4)]  # input keeps arriving while workers die
    processor, writer = pipeline.processor(), pipeline.writer()
    processor.start()
    writer.start()
    kills = {"processor": 0, "writer": 0}
    topic = pipeline.settings.events_topic
    for round_ in range(6):
        if round_ < len(chunks):
            kcat_produce(pipeline.bootstrap, topic, [(dossier_of(x), x) for x in chunks[round_]])
        _pause(rng, 1.0, 5.0)
        victims = rng.choice([["processor"], ["writer"], ["processor", "writer"]])
        if round_ == 0:
            victims = ["processor", "writer"]
        for name in victims:
            svc = processor if name == "processor" else writer
            svc.kill()
            kills[name] += 1
        _pause(rng, 0.0, 2.0)
        for name in victims:
            (processor if name == "processor" else writer).start()
    assert kills["processor"] >= 2 and kills["writer"] >= 2
    pipeline.wait_drained(timeout=900, watch=[processor, writer])
    pipeline.stop_all()
    live = probe(pipeline.store)
    truth = replay_truth(tmp_path, [tmp_path / "events.jsonl"])
    assert live["events"] == truth["events"]
    assert live["dossiers"] == truth["dossiers"]
    assert live["backlog"] == truth["backlog"]
    assert live["kpi"] == truth["kpi"]
    assert live["rollups"] == truth["rollups"]  # the panel rollups the control room reads too


def test_two_processor_workers_and_rebalances_change_nothing(pipeline, tmp_path):
    lines = simulated(
        tmp_path / "events.jsonl", date(2025, 3, 1), date(2025, 3, 12), seed=21, scale=0.3, duplicates=0.02
    )
    half = len(lines) // 2
    topic = pipeline.settings.events_topic
    first, writer = pipeline.processor(0), pipeline.writer()
    first.start()
    writer.start()
    kcat_produce(pipeline.bootstrap, topic, [(dossier_of(x), x) for x in lines[:half]])
    second = pipeline.processor(1).start()  # rebalance: partitions and tables move
    members = wait_members(pipeline, 2)
    kcat_produce(pipeline.bootstrap, topic, [(dossier_of(x), x) for x in lines[half:]])
    pipeline.wait_drained(watch=[first, second, writer])
    first.stop()  # rebalance again: the second worker takes everything over
    wait_members(pipeline, 1)
    kcat_produce(pipeline.bootstrap, topic, [(dossier_of(x), x) for x in lines[: len(lines) // 10]])
    pipeline.wait_drained(watch=[second, writer])
    pipeline.stop_all()
    live = probe(pipeline.store)
    truth = replay_truth(tmp_path, [tmp_path / "events.jsonl"])
    assert len(members) == 2 and all(m["assigned"] for m in members)
    assert live["events"] == truth["events"]
    assert live["kpi"] == truth["kpi"]
    assert live["rollups"] == truth["rollups"]
