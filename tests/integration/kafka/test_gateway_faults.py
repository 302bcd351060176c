"""The gateway's failure modes against a real broker, run as ``motcua run gateway``:
a key posting for another source is refused (and the refusal is a dead letter on the
topic); with Kafka unreachable — never there, or stopped under a running gateway —
``/health`` says so and a POST gets its 503 within the configured bound; SIGTERM stops it
within a few seconds while Kafka is down; a client stalled in its body is timed out."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from datetime import date

import orjson
import pytest
from devtools.kafka_broker import Broker, free_port

from motcua.adapters.codec import decode_dead_letter

from .conftest import Pipeline, _tail
from .tools import API_KEY, post, simulated

pytestmark = pytest.mark.kafka

PUBLISH_TIMEOUT_S = 2.0
SLACK_S = 3.0  # scheduling on a shared 2-core machine
SHUTDOWN_S = 2.0


def get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, orjson.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, orjson.loads(e.read() or b"{}")


def timed_post(port: int, body: bytes, key: str = API_KEY) -> tuple[int, dict, float, dict]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/events",
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-ndjson", "X-API-Key": key},
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, orjson.loads(r.read()), time.monotonic() - started, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, orjson.loads(e.read() or b"{}"), time.monotonic() - started, dict(e.headers)


def wait_health(port: int, status: int | None = None, timeout: float = 30, svc=None) -> dict:
    """Until /health answers ``status`` (None: anything); the service's log on failure."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if svc is not None and not svc.alive():
            raise AssertionError(f"{svc.name} exited with {svc.proc.returncode}:\n{_tail(svc.log)}")
        try:
            last = get(port, "/health")
            if status is None or last[0] == status:
                return last[1]
        except OSError:
            pass
        time.sleep(0.2)
    log = f"\n{_tail(svc.log)}" if svc is not None else ""
    raise AssertionError(f"/health on {port} never answered {status or 'at all'}; last {last}{log}")


def sigterm_seconds(svc, limit: float = 30) -> float:
    """SIGTERM -> exit, in seconds."""
    started = time.monotonic()
    os.kill(svc.proc.pid, signal.SIGTERM)
    try:
        svc.proc.wait(limit)
    except subprocess.TimeoutExpired:
        svc.kill()
        raise AssertionError(f"{svc.name} ignored SIGTERM for {limit} s:\n{_tail(svc.log)}") from None
    return time.monotonic() - started


def metric(port: int, name: str, **labels) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        text = r.read().decode()
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))  # exposition order
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def read_topic(bootstrap: str, topic: str, expect: int, timeout: float = 30) -> list:
    from kafka import KafkaConsumer

    c = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    out: list = []
    try:
        deadline = time.monotonic() + timeout
        while len(out) < expect and time.monotonic() < deadline:
            out.extend(c)
        return out
    finally:
        c.close()


def gateway_env(**extra: str) -> dict:
    return {
        "MOTCUA_GATEWAY_PUBLISH_TIMEOUT_S": str(PUBLISH_TIMEOUT_S),
        "MOTCUA_GATEWAY_SHUTDOWN_S": str(SHUTDOWN_S),
        **extra,
    }


def test_a_key_bound_to_another_source_is_refused_and_its_records_are_dead_letters(pipeline, tmp_path):
    lines = simulated(tmp_path / "events.jsonl", date(2025, 3, 3), date(2025, 3, 4), seed=3, scale=0.05)[:5]
    assert all(orjson.loads(x)["source_system"] == "motcua-dongnai" for x in lines)
    port = free_port()
    gw = pipeline.service("gateway", "--port", str(port), env=gateway_env()).start()
    wait_health(port, 200, timeout=60, svc=gw)
    status, body = post(port, b"\n".join(lines), key="another-key")  # bound to "other"
    assert status == 403, body
    assert body["error"] == "SOURCE_NOT_ALLOWED" and body["accepted"] == 0
    assert "motcua-dongnai" in body["reason"] and "other" in body["reason"]
    assert [r["code"] for r in body["rejected"]] == ["SOURCE_NOT_ALLOWED"] * len(lines)
    dead = read_topic(pipeline.bootstrap, pipeline.settings.dead_letters_topic, len(lines))
    assert len(dead) == len(lines)
    records = [decode_dead_letter(m.value) for m in dead]
    assert {r["code"] for r in records} == {"SOURCE_NOT_ALLOWED"}
    assert all(r["source"].startswith(f"gateway:other:{body['request_id']}") for r in records)
    assert not any(b"another-key" in m.value for m in dead)  # the key is never stored
    assert metric(port, "motcua_events_accepted_total", service="gateway") == 0
    assert metric(port, "motcua_dead_letters_total", service="gateway", code="SOURCE_NOT_ALLOWED") == len(
        lines
    )
    # the key bound to motcua-dongnai posts the same records
    status, body = post(port, b"\n".join(lines))
    assert status == 202 and body["accepted"] == len(lines)
    assert len(read_topic(pipeline.bootstrap, pipeline.settings.events_topic, len(lines))) == len(lines)
    assert metric(port, "motcua_events_accepted_total", service="gateway") == len(lines)
    assert gw.alive()


def test_a_client_stalling_in_its_body_is_timed_out(pipeline):
    port = free_port()
    gw = pipeline.service(
        "gateway", "--port", str(port), env=gateway_env(MOTCUA_GATEWAY_BODY_TIMEOUT_S="2")
    ).start()
    wait_health(port, 200, timeout=60, svc=gw)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/events HTTP/1.1\r\nHost: gw\r\nX-API-Key: "
            + API_KEY.encode()
            + b"\r\nContent-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n"
            + b'{"event_id": "half'
        )
        started = time.monotonic()
        data = b""
        while chunk := sock.recv(65536):  # until the gateway closes the connection
            data += chunk
        elapsed = time.monotonic() - started
    assert data.startswith(b"HTTP/1.1 408"), data[:200]
    assert b"BODY_TIMEOUT" in data
    assert 2 - 0.5 < elapsed < 2 + SLACK_S
    status, _ = get(port, "/health")
    assert status == 200 and gw.alive()


def test_gateway_started_while_kafka_is_unreachable(tmp_path):
    """Bootstrap on a closed port: the gateway serves, says Kafka is unreachable, answers
    503 at once, and SIGTERM stops it."""
    p = Pipeline(f"127.0.0.1:{free_port()}", tmp_path)  # settings only; nothing listens there
    port = free_port()
    gw = p.service("gateway", "--port", str(port), env=gateway_env()).start()
    try:
        wait_health(port, timeout=60, svc=gw)
        status, health = get(port, "/health")
        assert status == 503 and health["kafka"] == "unreachable", health
        assert p.bootstrap in health["reason"]
        assert get(port, "/health/live")[0] == 200
        status, body, elapsed, headers = timed_post(port, b'{"event_id": "x"}')
        assert status == 503 and body["error"] == "KAFKA_UNAVAILABLE" and body["retryable"], body
        assert int(headers["Retry-After"]) >= 1
        assert elapsed < PUBLISH_TIMEOUT_S + SLACK_S
        assert sigterm_seconds(gw) < 2 * SHUTDOWN_S + SLACK_S
    finally:
        p.stop_all()


def test_kafka_stopped_under_running_gateways(tmp_path, monkeypatch):
    """A private broker is stopped under two gateways: one whose probe is slow to notice
    (its POST waits for the acknowledgement bound, then 503, and marks Kafka down), one whose
    probe notices within seconds; both report it on /health; SIGTERM stops the first within a
    few seconds while its producer holds unacknowledged records; the second reports Kafka
    healthy again when it is back, and SIGTERM stops it once Kafka is gone again."""
    monkeypatch.setenv("MOTCUA_KAFKA_HEAP", "-Xms128m -Xmx384m")
    broker = Broker(tmp_path / "kafka", free_port(), free_port())
    broker.start(timeout=180)
    p = Pipeline(broker.bootstrap, tmp_path)
    lines = simulated(tmp_path / "events.jsonl", date(2025, 3, 3), date(2025, 3, 4), seed=4, scale=0.05)
    batch = b"\n".join(lines[:20])
    quick_port, slow_port = free_port(), free_port()
    quick = p.service(
        "gateway", "--port", str(quick_port), env=gateway_env(MOTCUA_GATEWAY_HEALTH_INTERVAL_S="1.0")
    ).start()
    slow = p.service(
        "gateway", "--port", str(slow_port), env=gateway_env(MOTCUA_GATEWAY_HEALTH_INTERVAL_S="120")
    ).start()
    try:
        for port, svc in ((quick_port, quick), (slow_port, slow)):
            wait_health(port, 200, timeout=180, svc=svc)  # a loaded 2-core machine: slow probes
            status, body, _, _ = timed_post(port, batch)
            assert status == 202 and body["accepted"] == 20, body
        accepted_before = metric(slow_port, "motcua_events_accepted_total", service="gateway")
        assert accepted_before == 20

        broker.stop()
        # the slow-probing gateway still believes Kafka is up: the POST waits for the bound
        status, body, elapsed, headers = timed_post(slow_port, batch)
        assert status == 503 and body["error"] == "KAFKA_UNAVAILABLE", body
        assert "Retry-After" in headers
        assert PUBLISH_TIMEOUT_S - 0.5 < elapsed < PUBLISH_TIMEOUT_S + SLACK_S
        status, health = get(slow_port, "/health")  # marked down by the missing acknowledgement
        assert status == 503 and health["kafka"] == "unreachable", health
        status, _, elapsed, _ = timed_post(slow_port, batch)
        assert status == 503 and elapsed < 1.0  # known down: no second wait
        # nothing unacknowledged counts as accepted
        assert metric(slow_port, "motcua_events_accepted_total", service="gateway") == accepted_before
        # its producer still holds the unacknowledged records: closing gives up on them
        took = sigterm_seconds(slow)
        assert took < 2 * SHUTDOWN_S + SLACK_S, (slow.log, took)

        health = wait_health(quick_port, 503, timeout=10, svc=quick)
        assert health["kafka"] == "unreachable"
        status, body, elapsed, _ = timed_post(quick_port, batch)
        assert status == 503 and elapsed < PUBLISH_TIMEOUT_S + SLACK_S

        broker.start(timeout=180)  # same ports and data: Kafka is back
        wait_health(quick_port, 200, timeout=90, svc=quick)
        status, body, _, _ = timed_post(quick_port, batch)
        assert status == 202, body

        broker.stop()
        wait_health(quick_port, 503, timeout=10, svc=quick)
        took = sigterm_seconds(quick)
        assert took < 2 * SHUTDOWN_S + SLACK_S, (quick.log, took)
    finally:
        p.stop_all()
        broker.stop()
