"""Faults of a three-broker KRaft cluster (devtools.kafka_broker.Cluster, real broker
processes) under the whole pipeline: the processor, the writer and the gateway as real
processes, topics replicated three times with min.insync.replicas 2.

1. Over 200,000 events, through the gateway (a sender thread retrying each 503 after its
   Retry-After) and ``motcua publish`` (subprocesses, retrying by themselves): one broker
   SIGKILLed and restarted, then the active KRaft controller (the DescribeQuorum leader)
   SIGKILLed and restarted. The final figures equal ``motcua replay`` of the same events,
   the gateway answered only 202 or 503 with Retry-After, publish exited 0.
2. Two brokers down (below min ISR, and the controller quorum lost): the gateway answers
   503, not 202, within a bounded time; publish retries; after both are back, every batch
   goes through and the figures equal the ground truth.

The figures each run measured (answers, retries, recovery times) are printed (``-s``) and
written to ``cluster-faults.json`` in the test's tmp dir; docs/operating-cluster.md#broker-losses
records them.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest
from devtools.kafka_broker import Cluster, free_port

from .conftest import PY, REPO, Pipeline, Service, _tail, probe, replay_truth
from .tools import API_KEY, simulated, wait_http

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.fault]

CLUSTER_ENV = {
    "MOTCUA_REPLICATION_FACTOR": "3",
    "MOTCUA_MIN_INSYNC_REPLICAS": "2",
    "MOTCUA_GATEWAY_RATE_LIMIT_PER_S": "0",
}
RETRY_LINE = "; thử lại lần "  # in each line publish prints on stderr per retry


@pytest.fixture
def cluster(tmp_path_factory):
    """A fresh cluster per test: each fault starts from a healthy cluster with no history
    (as on a CI machine), whatever an earlier test left behind."""
    c = Cluster(tmp_path_factory.mktemp("cluster"), n=3).start(timeout=300)
    yield c
    for node in c.nodes:  # its data is thrown away: no need for a controlled shutdown
        node.kill()


@pytest.fixture
def cpipe(cluster, tmp_path):
    p = Pipeline(cluster.bootstrap, tmp_path, env=CLUSTER_ENV)
    p.create_topics()
    yield p
    p.stop_all()


def post(port: int, body: bytes) -> tuple[int, dict, dict]:
    """POST an NDJSON batch -> (status, headers, body)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/events",
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-ndjson", "X-API-Key": API_KEY},
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, dict(r.headers), json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"{}")


class Sender(threading.Thread):
    """Posts the batches in order, each until 202: a 503 with Retry-After is waited out
    and sent again; anything else is recorded as wrong. ``gates[i]``: wait for that event
    before batch i (so a fault lands while batches are still being sent)."""

    def __init__(self, port: int, batches: list[bytes], gates: dict[int, threading.Event] | None = None):
        super().__init__(name="gateway-sender", daemon=True)
        self.port, self.batches, self.gates = port, batches, gates or {}
        self.answers: Counter = Counter()
        self.wrong: list[tuple[int, dict]] = []  # any answer but 202 or 503 + Retry-After
        self.unreachable = 0  # connection errors (the gateway not answering at all)
        self.done = 0  # batches acknowledged (202), in order
        self.at_gate = threading.Event()
        self.first_503: float | None = None  # monotonic time of the first 503
        self.acked_at: list[float | None] = []  # monotonic time of each 202

    def run(self) -> None:
        for i, body in enumerate(self.batches):
            gate = self.gates.get(i)
            if gate is not None:
                self.at_gate.set()
                gate.wait(900)
                self.acked_at.append(None)  # the wait at the gate is no gap of the route
            self._until_accepted(body)
            self.done = i + 1

    def _until_accepted(self, body: bytes) -> None:
        while True:
            try:
                status, headers, answer = post(self.port, body)
            except OSError:
                self.unreachable += 1
                time.sleep(1.0)
                continue
            self.answers[status] += 1
            if status == 202:
                self.acked_at.append(time.monotonic())
                return
            retry_after = headers.get("Retry-After")
            if status == 503 and retry_after and answer.get("retryable"):
                if self.first_503 is None:
                    self.first_503 = time.monotonic()
                time.sleep(float(retry_after))
                continue
            self.wrong.append((status, answer))
            return


def batches_of(lines: list[bytes], size: int) -> list[bytes]:
    return [b"\n".join(lines[i : i + size]) + b"\n" for i in range(0, len(lines), size)]


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


class Publish:
    """``motcua publish FILE...`` as a subprocess, stderr (the retry lines) in a file."""

    def __init__(self, pipe: Pipeline, files: list[Path], name: str):
        self.err = pipe.root / f"{name}.stderr"
        self.out = pipe.root / f"{name}.stdout"
        self.proc = subprocess.Popen(
            [PY, "-m", "motcua.cli.main", "publish", *map(str, files), "--max-wait", "600"],
            env=pipe.env,
            cwd=REPO,
            stdout=open(self.out, "wb"),
            stderr=open(self.err, "wb"),
            start_new_session=True,
        )

    def retries(self) -> int:
        return self.err.read_text(errors="replace").count(RETRY_LINE)

    def finish(self, timeout: float = 900) -> int:
        """Wait for exit 0; the number of retries it printed."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"publish still running after {timeout}s: {_tail(self.err)}") from None
        assert code == 0, f"publish exited {code}: {_tail(self.err)}"
        out = self.out.read_text()
        assert "Đã gửi vào Kafka" in out, out
        return self.retries()


def wait_for(what: str, pred, timeout: float, watch: list[Service] = ()) -> float:
    """Poll ``pred`` until true (services must stay up meanwhile); the seconds it took."""
    started = time.monotonic()
    while not pred():
        for svc in watch:
            if not svc.alive():
                raise AssertionError(f"{svc.name} exited: see {svc.log}\n{_tail(svc.log)}")
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - started


def active_controller(cluster: Cluster) -> int:
    """The node id of the active KRaft controller: the leader of the metadata quorum
    (DescribeQuorum). In KRaft the Metadata response's controller id is a random broker,
    not the active controller, so it is not used."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    up = ",".join(b.bootstrap for b in cluster.nodes if b.pid is not None)
    for attempt in range(10):
        admin = KafkaAdminClient(bootstrap_servers=up, request_timeout_ms=15000, client_id="test-quorum")
        try:
            quorum = admin.describe_metadata_quorum()
            break
        except KafkaError as err:  # a request timed out on a loaded machine: ask again
            if not err.retriable or attempt == 9:
                raise
        finally:
            admin.close()
        time.sleep(2.0)
    (partition,) = quorum["topics"][0]["partitions"]
    leader = partition["leader_id"]
    assert leader in {b.node_id for b in cluster.nodes}, quorum
    return leader


def partition_states(cluster: Cluster, pipe: Pipeline) -> list[tuple]:
    """(topic, partition, leader, in-sync replicas) of the pipeline's topics, to diagnose."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, request_timeout_ms=15000)
    try:
        s = pipe.settings
        topics = admin.describe_topics([s.events_topic, s.facts_topic, s.dead_letters_topic])
    finally:
        admin.close()
    return [
        (t["name"], p["partition_index"], p["leader_id"], p["isr_nodes"])
        for t in topics
        for p in t["partitions"]
    ]


def restart(node, timeout: float = 300) -> float:
    """Start a killed node again; seconds until it answers."""
    started = time.monotonic()
    node.start(wait=False)
    node.wait_ready(timeout)
    return time.monotonic() - started


def start_services(pipe: Pipeline) -> tuple[list[Service], int]:
    port = free_port()
    services = [pipe.processor(), pipe.writer(), pipe.gateway(port)]
    for svc in services:
        svc.start()
    wait_http(port, timeout=180)
    return services, port


def check_figures(pipe: Pipeline, tmp_path: Path, events_file: Path) -> None:
    pipe.stop_all()
    live = probe(pipe.store)
    truth = replay_truth(tmp_path, [events_file])
    assert live["events"] == truth["events"]
    assert live["dossiers"] == truth["dossiers"]
    assert live["backlog"] == truth["backlog"]
    assert live["kpi"] == truth["kpi"]
    assert live["rollups"] == truth["rollups"]  # the panel rollups the control room reads too


def longest_gap(times: list[float | None]) -> float:
    """The longest wait between two acknowledged batches (how long a fault held the route);
    None: the sender waited at a gate there."""
    return max((b - a for a, b in pairwise(times) if a is not None and b is not None), default=0.0)


def report(tmp_path: Path, name: str, figures: dict) -> None:
    (tmp_path / "cluster-faults.json").write_text(json.dumps(figures, indent=2))
    print(f"\n{name}: {json.dumps(figures)}")


def test_broker_and_active_controller_killed_under_gateway_and_publish(cluster, cpipe, tmp_path):
    lines = simulated(
        tmp_path / "events.jsonl",
        date(2025, 3, 1),
        date(2025, 3, 31),
        seed=31,
        scale=0.55,
        duplicates=0.01,
        reorder=0.02,
    )
    gw, pub = lines[0::2], lines[1::2] + lines[0::40]  # some events on both routes: duplicates
    assert len(lines) >= 200_000  # distinct events; the routes share some on top
    pub_files = [write_lines(tmp_path / f"pub-{i}.jsonl", pub[i::2]) for i in range(2)]
    batches = batches_of(gw, 500)
    gate = threading.Event()  # the sender holds at half way until the controller is killed
    sender = Sender(0, batches, {len(batches) // 2: gate})
    services, sender.port = start_services(cpipe)
    figures: dict = {"events_sent": len(gw) + len(pub), "gateway_events": len(gw), "publish_events": len(pub)}
    t0 = time.monotonic()
    sender.start()
    first = Publish(cpipe, pub_files[:1], "publish-1")

    controller = active_controller(cluster)
    victim = next(b for b in cluster.nodes if b.node_id != controller)
    wait_for("a fifth of the batches", lambda: sender.done >= len(batches) // 5, 600, services)
    victim.kill()
    figures["broker_killed"] = victim.node_id
    mark = sender.done
    wait_for("batches while a broker is down", lambda: sender.done >= mark + 10, 600, services)
    figures["broker_restart_s"] = round(restart(victim), 1)

    wait_for("the sender at half way", sender.at_gate.is_set, 900, services)
    controller = active_controller(cluster)
    second = Publish(cpipe, pub_files[1:], "publish-2")
    node = next(b for b in cluster.nodes if b.node_id == controller)
    node.kill()
    figures["controller_killed"] = controller
    gate.set()
    mark = sender.done
    wait_for("batches without the controller", lambda: sender.done >= mark + 10, 600, services)
    figures["new_controller"] = active_controller(cluster)
    figures["controller_restart_s"] = round(restart(node), 1)

    sender.join(900)
    assert not sender.is_alive(), "the gateway sender did not finish"
    figures["publish_retries"] = [first.finish(), second.finish()]
    figures["sending_s"] = round(time.monotonic() - t0, 1)
    cpipe.wait_drained(timeout=900, watch=services)
    figures["drained_s"] = round(time.monotonic() - t0, 1)
    figures["gateway_answers"] = dict(sender.answers)
    figures["longest_wait_between_202s_s"] = round(longest_gap(sender.acked_at), 1)
    figures["service_starts"] = {s.name: s.starts for s in services}
    report(tmp_path, "cluster faults 1", figures)
    assert figures["new_controller"] != controller
    assert sender.wrong == [] and set(sender.answers) <= {202, 503}
    assert sender.unreachable == 0 and sender.answers[202] == len(batches)
    assert all(s.starts == 1 and s.alive() for s in services), figures["service_starts"]
    check_figures(cpipe, tmp_path, tmp_path / "events.jsonl")


def test_two_brokers_down_the_gateway_refuses_and_loses_nothing(cluster, cpipe, tmp_path):
    lines = simulated(
        tmp_path / "events.jsonl", date(2025, 3, 1), date(2025, 3, 8), seed=41, scale=0.3, duplicates=0.01
    )
    gw, pub = lines[0::2], lines[1::2]
    batches = batches_of(gw, 250)
    gate = threading.Event()
    hold = len(batches) // 3
    sender = Sender(0, batches, {hold: gate})
    services, sender.port = start_services(cpipe)
    sender.start()
    wait_for("a third of the batches", sender.at_gate.is_set, 600, services)
    # before the fault: every batch accepted; a 503 is allowed only as what it is, a
    # publish timeout on a loaded machine that the sender honoured and sent again
    assert sender.answers[202] == hold and set(sender.answers) <= {202, 503}, sender.answers
    sender.first_503, refused_before = None, sender.answers[503]

    controller = active_controller(cluster)
    down = [next(b for b in cluster.nodes if b.node_id == controller)]
    down.append(next(b for b in cluster.nodes if b.node_id != controller))
    for node in down:
        node.kill()
    killed = time.monotonic()
    gate.set()
    publish = Publish(cpipe, [write_lines(tmp_path / "pub.jsonl", pub)], "publish")
    figures: dict = {"events_sent": len(lines), "brokers_killed": [b.node_id for b in down]}
    # bounded: the gateway's publish timeout (5 s) and its probe (2 s), with room for load
    figures["first_503_after_s"] = round(
        wait_for("a 503", lambda: sender.first_503 is not None, 120, services), 1
    )
    acked_before = sender.done
    wait_for("three 503s", lambda: sender.answers[503] >= refused_before + 3, 300, services)
    wait_for("a publish retry", lambda: publish.retries() >= 1, 300, services)
    accepted_while_down = sum(1 for t in sender.acked_at if t is not None and t > killed)
    figures["down_s"] = round(time.monotonic() - killed, 1)
    back = time.monotonic()
    for node in down:
        node.start(wait=False)
    for node in down:
        node.wait_ready(300)
    figures["brokers_ready_s"] = round(time.monotonic() - back, 1)
    try:
        wait_for("a 202 after recovery", lambda: sender.done > acked_before, 300, services)
    except AssertionError as err:
        raise AssertionError(f"{err}; partitions: {partition_states(cluster, cpipe)}") from None
    figures["first_202_after_restart_s"] = round(time.monotonic() - back, 1)
    sender.join(900)
    assert not sender.is_alive(), "the gateway sender did not finish"
    figures["publish_retries"] = publish.finish()
    cpipe.wait_drained(timeout=900, watch=services)
    figures["gateway_answers"] = dict(sender.answers)
    figures["accepted_while_down"] = accepted_while_down
    figures["service_starts"] = {s.name: s.starts for s in services}
    report(tmp_path, "cluster faults 2", figures)
    assert sender.wrong == [] and set(sender.answers) <= {202, 503} and sender.unreachable == 0
    assert sender.answers[202] == len(batches) and figures["publish_retries"] >= 1
    # every 202 (those while two brokers were down included) is in the figures: nothing
    # acknowledged was lost, and what was refused came in again by the senders' retries
    check_figures(cpipe, tmp_path, tmp_path / "events.jsonl")
