"""A real Apache Kafka broker (KRaft, one JVM) for the whole session, and helpers that run
the live services as subprocesses the way an operator would (``motcua run ...``).

The broker comes from ``devtools.kafka_broker`` (jars cached by ``.ci/install-kafka``).
Each test gets its own topics, consumer groups and store path, so tests never see each
other's data. The embedded store (chDB) is owned by the writer subprocess; results are
read after it stopped, by another subprocess (``probe``).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from devtools.kafka_broker import Broker, free_port

REPO = Path(__file__).resolve().parents[3]
PY = sys.executable
# what a subprocess imports: this checkout's package (not an editable install of another
# checkout), then the repository root (tests.*, devtools.*)
PYTHONPATH = os.pathsep.join([str(REPO / "services"), str(REPO)])
_ids = itertools.count()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory):
    external = os.environ.get("MOTCUA_TEST_KAFKA_BOOTSTRAP")
    if external:  # a broker someone already runs (make kafka-up)
        yield external
        return
    broker = Broker(tmp_path_factory.mktemp("kafka"), free_port(), free_port())
    broker.start(timeout=180)
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


class Service:
    """A ``motcua run ...`` subprocess with its log file."""

    def __init__(self, name: str, args: list[str], env: dict, log: Path):
        self.name, self.args, self.env, self.log = name, args, env, log
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> Service:
        fh = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [PY, "-m", "motcua.cli.main", *self.args],
            env=self.env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )
        self.starts += 1
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 60) -> None:
        if not self.alive():
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class Pipeline:
    """Settings (env) of one isolated pipeline on the session broker + its services.
    ``env``: more settings (a cluster's replication), over the defaults below."""

    def __init__(self, bootstrap: str, root: Path, env: dict | None = None):
        n = next(_ids)
        tag = f"t{os.getpid()}x{n}"
        self.root = root
        self.bootstrap = bootstrap
        self.store = f"chdb://{root / 'store'}"
        self.env = {
            **os.environ,
            "PYTHONPATH": PYTHONPATH,
            "MOTCUA_KAFKA_BOOTSTRAP": bootstrap,
            "MOTCUA_EVENTS_TOPIC": f"{tag}-dossier-events",
            "MOTCUA_FACTS_TOPIC": f"{tag}-dossier-facts",
            "MOTCUA_DEAD_LETTERS_TOPIC": f"{tag}-dead-letters",
            "MOTCUA_EVENTS_PARTITIONS": "4",
            "MOTCUA_FACTS_PARTITIONS": "4",
            "MOTCUA_PROCESSOR_APP_ID": f"{tag}-processor",
            "MOTCUA_WRITER_GROUP": f"{tag}-writer",
            "MOTCUA_DATA_DIR": str(root / "data"),
            "MOTCUA_STORE": self.store,
            # API keys are bound to the source_system they may post (simulated events: motcua-dongnai)
            "MOTCUA_API_KEYS": "motcua-dongnai:k3y-for-tests,other:another-key",
            "MOTCUA_PROCESSOR_METRICS_PORT": "0",
            "MOTCUA_WRITER_METRICS_PORT": "0",
            "MOTCUA_GATEWAY_METRICS_PORT": "0",
            # a SIGKILLed worker gives its partitions up quickly
            "MOTCUA_SESSION_TIMEOUT_S": "6",
            "MOTCUA_HEARTBEAT_INTERVAL_S": "1",
            "MOTCUA_PROCESSOR_STALL_EXIT_S": "45",
            **(env or {}),
        }
        self.services: list[Service] = []
        from motcua.live.config import LiveSettings

        self.settings = LiveSettings(
            **{
                k[7:].lower(): v
                for k, v in self.env.items()
                if k.startswith("MOTCUA_") and k[7:].lower() in LiveSettings.model_fields
            }
        )

    def service(self, name: str, *args: str, env: dict | None = None) -> Service:
        s = Service(
            name,
            ["run", name, *args],
            {**self.env, **(env or {})},
            self.root / f"{name}-{len(self.services)}.log",
        )
        self.services.append(s)
        return s

    def processor(self, idx: int = 0) -> Service:
        return self.service("processor", "--datadir", str(self.root / f"faust-{idx}"))

    def writer(self) -> Service:
        return self.service("writer")

    def gateway(self, port: int) -> Service:
        return self.service("gateway", "--port", str(port))

    def create_topics(self) -> None:
        from motcua.live.topics import ensure_topics

        ensure_topics(self.settings)

    # -- progress ---------------------------------------------------------------------
    def _group_offsets(self, admin, group: str) -> dict:
        try:
            offs = admin.list_group_offsets(group).get(group, {})
        except Exception:
            return {}
        return {(tp.topic, tp.partition): om.offset for tp, om in offs.items()}

    def drained(self, admin) -> bool:
        """Processor committed the end of the events topic and the writer the end of the
        facts and dead-letter topics."""
        from motcua.adapters.kafka_clients import end_offsets

        s = self.settings
        proc = self._group_offsets(admin, s.processor_app_id)
        wr = self._group_offsets(admin, s.writer_group)
        for topic, committed in ((s.events_topic, proc), (s.facts_topic, wr), (s.dead_letters_topic, wr)):
            for p, end in end_offsets(self.bootstrap, topic).items():
                if end and committed.get((topic, p), 0) < end:
                    return False
        return True

    def wait_drained(self, timeout: float = 600, watch: list[Service] = ()) -> None:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            deadline = time.monotonic() + timeout
            stable = 0
            while time.monotonic() < deadline:
                for svc in watch:
                    if not svc.alive():
                        if svc.proc.returncode == 70 and svc.starts < 4:
                            # the service asked to be restarted (docker: restart policy)
                            svc.start()
                            continue
                        raise AssertionError(f"{svc.name} exited: see {svc.log}\n" + _tail(svc.log))
                stable = stable + 1 if self.drained(admin) else 0
                if stable >= 2:
                    return
                time.sleep(1.0)
        finally:
            admin.close()
        logs = "\n".join(f"--- {s.log}\n{_tail(s.log)}" for s in self.services)
        raise AssertionError(f"pipeline did not drain in {timeout}s\n{logs}")

    def stop_all(self) -> None:
        for s in self.services:
            s.stop()


def _tail(path: Path, n: int = 4000) -> str:
    try:
        return path.read_bytes()[-n:].decode(errors="replace")
    except OSError:
        return ""


@pytest.fixture
def pipeline(kafka_broker, tmp_path):
    p = Pipeline(kafka_broker, tmp_path)
    p.create_topics()
    yield p
    p.stop_all()


def probe(store: str, *args: str) -> dict:
    """Read a stopped store from another process (chDB: one data path per process)."""
    out = subprocess.run(
        [PY, "-m", "tests.integration.kafka.storeprobe", store, *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": PYTHONPATH},
        capture_output=True,
        check=True,
    )
    return json.loads(out.stdout)


def replay_truth(root: Path, files: list[Path]) -> dict:
    """Ground truth: ``motcua replay`` of the same events into a fresh store, probed."""
    store = f"chdb://{root / 'replay-store'}"
    subprocess.run(
        [PY, "-m", "motcua.cli.main", "replay", *map(str, files), "--store", store],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": PYTHONPATH},
        check=True,
        capture_output=True,
    )
    return probe(store)
