"""The writer while its store fails (live/store_health.py, live/writer.py StoreWait): the
store metrics, one log line per streak start then at most one per LOG_EVERY_S, and the
wait before a retry: partitions paused, the consumer polled, a rebalance abandons the
round, a stop ends the wait. The consumer is a fake with kafka-python's calls."""

from __future__ import annotations

import logging
import threading
from collections import namedtuple
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY

from motcua.live.store_health import LOG_EVERY_S, StoreHealth, describe
from motcua.live.writer import StoreWait
from motcua.pipeline.rounds import RoundAbandoned

TP = namedtuple("TP", "topic partition")


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def retry_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "store failing; retrying"]


def test_a_failing_streak_logs_its_start_then_at_most_one_line_per_interval(caplog):
    caplog.set_level(logging.INFO, logger="motcua.writer")
    clock = Clock()
    health = StoreHealth("writer-test", clock)
    errors_before = sample("motcua_store_errors_total", service="writer-test") or 0.0
    for _ in range(40):  # a retry every 2 s for 80 s
        health.failed("round-1", ConnectionRefusedError("connection refused\nsecond line"), 2.0)
        clock.now += 2.0
    lines = retry_lines(caplog)
    assert len(lines) == 3  # at 0 s, 30 s and 60 s
    assert [r.since_last_line for r in lines] == [1, 15, 15]
    assert lines[0].error == "ConnectionRefusedError: connection refused"
    assert sample("motcua_store_errors_total", service="writer-test") == errors_before + 40
    assert sample("motcua_store_up", service="writer-test") == 0
    assert sample("motcua_writer_retry_backoff_seconds") == 2.0
    assert sample("motcua_writer_blocked_seconds") == pytest.approx(78.0)
    health.ok()
    assert [r.getMessage() for r in caplog.records][-1] == "store answers again"
    assert sample("motcua_store_up", service="writer-test") == 1
    assert sample("motcua_writer_blocked_seconds") == 0
    assert sample("motcua_writer_retry_backoff_seconds") == 0
    health.failed("round-2", OSError("down"), 0.5)  # a new streak logs at once
    assert len(retry_lines(caplog)) == 4 and LOG_EVERY_S == 30.0


def test_describe_keeps_the_class_and_the_first_line_only():
    assert describe(ValueError("a" * 300 + "\nrow data")) == "ValueError: " + "a" * 200
    assert describe(OSError()) == "OSError: "


class FakeConsumer:
    """kafka-python's KafkaConsumer calls the wait makes."""

    def __init__(self, on_poll=None):
        self.assigned = {TP("facts", 0), TP("facts", 1)}
        self.paused_: set = set()
        self.polls = 0
        self.seeks: list = []
        self.on_poll = on_poll

    def assignment(self):
        return set(self.assigned)

    def pause(self, *tps):
        self.paused_.update(tps)

    def poll(self, timeout_ms):
        self.polls += 1
        return self.on_poll() if self.on_poll else {}

    def seek(self, tp, offset):
        self.seeks.append((tp, offset))

    def end_offsets(self, tps, timeout_ms=None):
        return dict.fromkeys(tps, 100)

    def position(self, tp, timeout_ms=None):
        return 40


def test_the_wait_pauses_every_partition_polls_and_reports_the_lag():
    wait = StoreWait(threading.Event(), StoreHealth("writer-wait"))
    wait.consumer = consumer = FakeConsumer()
    assert wait(0.05) is False
    assert consumer.paused_ == consumer.assigned and consumer.polls >= 1 and consumer.seeks == []
    lag = sample("motcua_consumer_lag", service="writer", topic="facts", partition="1")
    assert lag == 60  # end offset from the broker (paused: no fetch) minus the position


def test_a_stop_ends_the_wait_at_once():
    stop = threading.Event()
    stop.set()
    wait = StoreWait(stop, StoreHealth("writer-wait"))
    wait.consumer = consumer = FakeConsumer()
    assert wait(30.0) is True and consumer.polls == 0


def test_a_rebalance_during_the_wait_abandons_the_round_and_puts_records_back():
    wait = StoreWait(threading.Event(), StoreHealth("writer-wait"))
    assigned: list = []
    on_assigned = wait.counted(assigned.append)
    new = TP("facts", 2)

    def rebalance():  # kafka-python runs the callbacks inside poll; the new partition fetches
        on_assigned([new])
        return {new: [SimpleNamespace(offset=7), SimpleNamespace(offset=8)]}

    wait.consumer = consumer = FakeConsumer(rebalance)
    with pytest.raises(RoundAbandoned):
        wait(30.0)
    assert assigned == [[new]] and consumer.seeks == [(new, 7)]
