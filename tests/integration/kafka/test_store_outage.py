"""A long store outage under sustained input (issue 15, item 3; docs/operating-cluster.md#store-outage).

Gateway, processor and writer run as real processes on the real broker; a sender posts a
simulated stream through the gateway at a steady rate the whole time. The writer's store
is made unreachable for ``MOTCUA_TEST_OUTAGE_S`` seconds (default 600; a developer runs it
at 60) by the fault switch at the store's client (``adapters/store_faults.py``: every call
raises clickhouse-connect's ``OperationalError``, as a server outage does). During the
outage: the three services stay up, the writer's RSS stays within a stated bound, the
processor's committed offsets keep moving, the writer's lag (its own metrics endpoint)
grows, its retry backoff stays at the cap and its retry log lines are rate-limited; it
stops on SIGTERM while waiting and is restarted still inside the outage. After the store
comes back: drained, and the KPI rows, events, dossiers, backlog and every panel rollup
equal ``motcua replay`` of the same events (nothing lost, nothing counted twice).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import orjson
import pytest
from devtools.kafka_broker import free_port

from .conftest import _tail, probe, replay_truth
from .tools import post, simulated, wait_http

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.fault]

OUTAGE_S = float(os.environ.get("MOTCUA_TEST_OUTAGE_S", "600"))
RATE = 50  # events a second through the gateway, the whole run
BATCH = 10  # events per POST
RETRY_MAX_S = 5.0  # the writer's backoff cap in this test (MOTCUA_WRITER_RETRY_MAX_S)
LOG_EVERY_S = 30.0  # live/store_health.py: at most one retry line per this, per streak
# The writer's RSS may grow this much over the outage. Buffering the facts it cannot write
# would grow it by at least their size in Kafka (about 3.5 MiB a minute at this rate: 38 MiB
# on disk for the 600 s run); a paused consumer holds only the round in hand.
RSS_GROWTH_MAX_MIB = 24.0
SAMPLE_S = 5.0
SIGTERM_MAX_S = 20.0  # generous: the writer checks for a stop at least once a second


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


def metric_sum(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels`` (0 if none)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line[len(name) : len(name) + 1] not in ("{", " "):
            continue
        series, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in series for k, v in labels.items()):
            total += float(value)
    return total


class Sender(threading.Thread):
    """Posts ``lines`` through the gateway at ``RATE`` events a second, ``BATCH`` a request,
    until stopped; a request that fails (a retryable 503, a timeout under load) is sent
    again. ``sent``: the lines the gateway accepted, in order."""

    def __init__(self, port: int, lines: list[bytes]):
        super().__init__(daemon=True)
        self.port, self.lines = port, lines
        self.stopping = threading.Event()
        self.sent: list[bytes] = []
        self.statuses: dict[int, int] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            started = time.monotonic()
            for i in range(0, len(self.lines), BATCH):
                if self.stopping.is_set():
                    return
                chunk = self.lines[i : i + BATCH]
                self._post(b"\n".join(chunk))
                self.sent.extend(chunk)
                time.sleep(max(0.0, started + (i + BATCH) / RATE - time.monotonic()))
            raise AssertionError("the sender ran out of simulated events")
        except BaseException as err:  # noqa: BLE001 - reported by the test
            self.error = err

    def _post(self, body: bytes) -> None:
        for _attempt in range(30):
            try:
                status, _ = post(self.port, body)
            except (OSError, urllib.error.URLError):
                status = -1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 202:
                return
            if status not in (-1, 503):
                raise AssertionError(f"gateway answered {status}")
            time.sleep(1.0)
        raise AssertionError("the gateway did not accept a request in 30 attempts")


def group_committed(bootstrap: str, group: str, topic: str, attempts: int = 30) -> int:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    for attempt in range(attempts):
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            offs = admin.list_group_offsets(group).get(group, {})
            return sum(om.offset for tp, om in offs.items() if tp.topic == topic and om.offset > 0)
        except KafkaError as err:
            # a coordinator loading or moving (NOT_COORDINATOR, seen on a loaded CI machine):
            # the question is asked again, the way a client would
            if not err.retriable or attempt == attempts - 1:
                raise
        finally:
            admin.close()
        time.sleep(1.0)
    raise AssertionError("unreachable")


def wait_for(what: str, check, timeout: float, services) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for svc in services:
            assert svc.alive(), f"{svc.name} exited while waiting for {what}:\n{_tail(svc.log)}"
        try:
            if check():
                return
        except OSError:
            pass  # a metrics endpoint not up yet
        time.sleep(0.5)
    raise AssertionError(f"never: {what}")


def sigterm_seconds(svc) -> float:
    started = time.monotonic()
    os.kill(svc.proc.pid, signal.SIGTERM)
    try:
        svc.proc.wait(60)
    except subprocess.TimeoutExpired:
        svc.kill()
        raise AssertionError(f"the writer ignored SIGTERM during the outage:\n{_tail(svc.log)}") from None
    return time.monotonic() - started


def retry_lines(log: Path) -> int:
    n = 0
    for line in log.read_bytes().splitlines():
        if line.startswith(b"{") and orjson.loads(line).get("msg") == "store failing; retrying":
            n += 1
    return n


def outage_samples(pipeline, writer, services, wport: int, seconds: float) -> list[dict]:
    """Every ``SAMPLE_S`` while the store is down: services alive, the writer's RSS, lag,
    store metrics, and the processor's committed offsets."""
    s = pipeline.settings
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for svc in services:
            assert svc.alive(), f"{svc.name} exited during the outage:\n{_tail(svc.log)}"
        text = scrape(wport)  # the writer's endpoint answers throughout
        samples.append(
            {
                "t": time.monotonic(),
                "rss_mib": rss_mib(writer.proc.pid),
                "lag": metric_sum(text, "motcua_consumer_lag", service="writer", topic=s.facts_topic),
                "store_up": metric_sum(text, "motcua_store_up", service="writer"),
                "errors": metric_sum(text, "motcua_store_errors_total", service="writer"),
                "backoff_s": metric_sum(text, "motcua_writer_retry_backoff_seconds"),
                "blocked_s": metric_sum(text, "motcua_writer_blocked_seconds"),
                "processor_committed": group_committed(
                    pipeline.bootstrap, s.processor_app_id, s.events_topic
                ),
            }
        )
        time.sleep(max(0.0, min(SAMPLE_S, end - time.monotonic())))
    return samples


def check_outage(samples: list[dict], writer_log: Path) -> int:
    """The outage's assertions; returns the writer's retry log lines."""
    first, last = samples[0], samples[-1]
    assert all(x["store_up"] == 0 for x in samples), "the writer reported the store up while it was down"
    growth = max(x["rss_mib"] for x in samples) - first["rss_mib"]
    assert growth < RSS_GROWTH_MAX_MIB, f"writer RSS grew {growth:.1f} MiB during the outage"
    assert last["processor_committed"] > first["processor_committed"], "the processor stopped"
    lags = [x["lag"] for x in samples]
    assert lags == sorted(lags) and lags[-1] > lags[0], f"the writer's lag did not grow: {lags}"
    assert all(0 < x["backoff_s"] <= RETRY_MAX_S for x in samples)
    assert last["backoff_s"] == RETRY_MAX_S  # the cap was reached and held
    assert last["blocked_s"] >= (last["t"] - first["t"]) * 0.9  # one streak, the whole outage
    span = last["t"] - first["t"]
    retries = last["errors"] - first["errors"]
    # retried all along, never faster than the jittered cap allows (at least 0.75 x cap apart)
    assert span < RETRY_MAX_S * 4 or retries >= 2, f"{retries} retries in {span:.0f} s"
    assert retries <= span / (0.75 * RETRY_MAX_S) + 2, f"{retries} retries in {span:.0f} s"
    lines = retry_lines(writer_log)
    assert 1 <= lines <= (span + 60) / LOG_EVERY_S + 2, f"{lines} retry log lines"
    return lines


def test_a_long_store_outage_loses_and_doubles_nothing(pipeline, tmp_path):
    started = time.monotonic()
    need = int(RATE * (OUTAGE_S + 240))  # warm-up, restart and recovery with margin
    lines = simulated(
        tmp_path / "simulated.jsonl",
        date(2025, 3, 1),
        date(2025, 3, 31),
        seed=15,
        scale=max(0.05, need / 200_000 * 0.55 * 1.3),
        duplicates=0.01,
        reorder=0.02,
    )
    assert len(lines) >= need
    down = tmp_path / "store-down"
    port, wport = free_port(), free_port()
    env = {
        "MOTCUA_FAULT_STORE_DOWN_FILE": str(down),
        "MOTCUA_WRITER_RETRY_MAX_S": str(RETRY_MAX_S),
        "MOTCUA_WRITER_METRICS_PORT": str(wport),
        "MOTCUA_GATEWAY_RATE_LIMIT_PER_S": "0",
    }
    processor = pipeline.processor()
    writer = pipeline.service("writer", env=env)
    gateway = pipeline.service("gateway", "--port", str(port), env=env)
    for svc in (processor, writer, gateway):
        svc.start()
    services = [processor, writer, gateway]
    wait_http(port, timeout=120)
    sender = Sender(port, lines)
    sender.start()
    wait_for(
        "the writer wrote rows",
        lambda: metric_sum(scrape(wport), "motcua_events_out_total", service="writer") > 0,
        180,
        services,
    )
    rss_before = rss_mib(writer.proc.pid)

    down.touch()  # the store goes down
    went_down = time.monotonic()
    wait_for(
        "the writer saw the store fail",
        lambda: metric_sum(scrape(wport), "motcua_store_up", service="writer") == 0,
        60,
        services,
    )
    samples = outage_samples(
        pipeline, writer, services, wport, OUTAGE_S - (time.monotonic() - went_down) - 15
    )
    log_lines = check_outage(samples, writer.log)
    stop_s = sigterm_seconds(writer)  # SIGTERM while it waits to retry
    assert stop_s < SIGTERM_MAX_S, f"the writer took {stop_s:.1f} s to stop"
    writer = pipeline.service("writer", env=env).start()  # restarted inside the outage
    services[1] = writer
    wait_for(
        "the restarted writer reported the store down",
        lambda: metric_sum(scrape(wport), "motcua_store_errors_total", service="writer") > 0,
        60,
        services,
    )
    time.sleep(max(0.0, went_down + OUTAGE_S - time.monotonic()))

    down.unlink()  # the store is back
    outage = time.monotonic() - went_down
    recovered = time.monotonic()
    time.sleep(15)  # input goes on after the recovery too
    sender.stopping.set()
    sender.join(120)
    assert sender.error is None, repr(sender.error)
    pipeline.wait_drained(timeout=900, watch=services)
    drained = time.monotonic() - recovered
    pipeline.stop_all()

    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\n".join(sender.sent) + b"\n")
    live = probe(pipeline.store)
    truth = replay_truth(tmp_path, [events])
    assert live["events"] == truth["events"]
    assert live["dossiers"] == truth["dossiers"]
    assert live["backlog"] == truth["backlog"]
    assert live["kpi"] == truth["kpi"]
    assert live["rollups"] == truth["rollups"]  # every panel rollup: nothing counted twice
    rss = [x["rss_mib"] for x in samples]
    print(
        f"\nstore outage {outage:.0f} s, {len(sender.sent)} events at {RATE}/s "
        f"(gateway answers {sender.statuses}); writer RSS {rss_before:.1f} MiB before, "
        f"{rss[0]:.1f} -> max {max(rss):.1f} MiB during; lag {samples[0]['lag']:.0f} -> "
        f"{samples[-1]['lag']:.0f} facts messages; retries "
        f"{samples[-1]['errors'] - samples[0]['errors']:.0f}, {log_lines} "
        f"log lines; SIGTERM {stop_s:.1f} s; drained {drained:.0f} s after recovery; "
        f"test {time.monotonic() - started:.0f} s; load {os.getloadavg()}"
    )
