"""live/logs.py RepeatedClientErrors: the Kafka clients' retry errors while brokers are down
are written once per kind and interval, with the count of those left out."""

from __future__ import annotations

import io
import logging

import orjson

from motcua.live.logs import JsonFormatter, RepeatedClientErrors, logging_config


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def record(name: str, msg: str, *args, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_the_same_error_is_written_once_per_interval_with_the_count_left_out():
    clock = Clock()
    f = RepeatedClientErrors(every_s=10.0, clock=clock)
    template = "Unable connect to node with id %s: %s"
    written = []
    for i in range(300):  # 300 retries in 3 s, to three different nodes
        clock.t = 1000.0 + i * 0.01
        r = record("aiokafka.conn", template, i % 3, "ConnectionRefused")
        if f.filter(r):
            written.append(r)
    assert len(written) == 1 and not hasattr(written[0], "repeated")
    clock.t = 1010.0  # 10 s after the first one written
    r = record("aiokafka.conn", template, 1, "ConnectionRefused")
    assert f.filter(r) and r.repeated == 299
    clock.t = 1011.0
    assert not f.filter(record("aiokafka.conn", template, 2, "x"))


def test_other_kinds_loggers_and_levels_pass():
    clock = Clock()
    f = RepeatedClientErrors(every_s=10.0, clock=clock)
    assert f.filter(record("kafka.client", "Node %s not ready", 1))
    assert f.filter(record("kafka.client", "Node %s not ready", 1, level=logging.WARNING))
    assert f.filter(record("kafka.conn", "Node %s not ready", 1))  # another logger
    assert f.filter(record("kafka.client", "another template %s", 1))
    for _ in range(5):
        assert f.filter(record("motcua.writer", "store down"))
        assert f.filter(record("kafkaesque", "not a Kafka client"))
        assert f.filter(record("aiokafka.conn", "connected", level=logging.INFO))


def test_the_json_line_carries_the_count():
    clock = Clock()
    f = RepeatedClientErrors(every_s=1.0, clock=clock)
    f.filter(record("kafka.client", "down"))
    f.filter(record("kafka.client", "down"))
    clock.t += 2
    r = record("kafka.client", "down")
    assert f.filter(r)
    line = orjson.loads(JsonFormatter("processor").format(r))
    assert line["repeated"] == 1 and line["msg"] == "down"


def test_the_services_stderr_handler_has_it():
    import logging.config

    stream = io.StringIO()
    config = logging_config("processor")
    config["handlers"]["stderr"]["stream"] = stream
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        logging.config.dictConfig(config)
        for _ in range(50):
            logging.getLogger("aiokafka.consumer.fetcher").error("Failed fetch messages from %s", 1)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    lines = [orjson.loads(x) for x in stream.getvalue().splitlines()]
    assert [x["msg"] for x in lines] == ["Failed fetch messages from 1"]
