"""A local single-node Apache Kafka broker (KRaft) for development, tests and CI.

No Docker engine runs on our machines, so Kafka runs as a plain JVM process. The jars come
from Maven Central: ``mvn dependency:copy-dependencies`` on ``deploy/kafka/pom.xml`` into
``$MOTCUA_KAFKA_CACHE/<version>`` (default ``<repo>/.cache/kafka/<version>``). Storage is
formatted with ``kafka.tools.StorageTool format --standalone`` and the broker is
``kafka.Kafka server.properties``: the two classes the distribution's shell scripts wrap.

    python -m devtools.kafka_broker fetch          # jars only (CI prefetch)
    python -m devtools.kafka_broker up [--port N]  # start, wait until it answers
    python -m devtools.kafka_broker down           # stop cleanly (SIGTERM, then SIGKILL)
    python -m devtools.kafka_broker status

``up`` writes ``<data dir>/broker.json`` (pid, bootstrap) so ``down`` finds it; the
bootstrap address is the only line it prints on stdout (progress goes to stderr), so
``export MOTCUA_KAFKA_BOOTSTRAP=$(make -s kafka-up)`` works.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

# 4.1.1: checked with faust-streaming 0.15.3 + aiokafka 0.14 (topic creation, changelog,
# assignor, rebalance), kafka-python 3.0.12 and kcat; 3.9.1 also works with this script
# (MOTCUA_KAFKA_VERSION=3.9.1). See docs/live-pipeline.md.
KAFKA_VERSION = os.environ.get("MOTCUA_KAFKA_VERSION", "4.1.1")
REPO_ROOT = Path(__file__).resolve().parent.parent  # devtools/ sits at the repository root
POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"


def cache_dir(version: str = KAFKA_VERSION) -> Path:
    base = os.environ.get("MOTCUA_KAFKA_CACHE")
    root = Path(base) if base else REPO_ROOT / ".cache" / "kafka"
    return root / version


def fetch(version: str = KAFKA_VERSION, quiet: bool = True) -> Path:
    """Copy the broker jars into the cache (idempotent); returns the jar folder."""
    libs = cache_dir(version) / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    libs.mkdir(parents=True, exist_ok=True)
    cmd = [
        "mvn",
        "-B",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        f"-Dkafka.version={version}",
        f"-DoutputDirectory={libs}",
        "-DincludeScope=runtime",
    ]
    if quiet:
        cmd.insert(1, "-q")
    # stdout is for results only (``make -s kafka-up`` prints the bootstrap address)
    subprocess.run(cmd, check=True, stdout=sys.stderr)
    if not any(libs.glob(f"kafka_2.13-{version}.jar")):
        raise RuntimeError(f"kafka_2.13-{version}.jar missing after mvn in {libs}")
    marker.write_text(version)
    return libs


_PORT_LOCKS: dict[int, int] = {}  # port -> fd of its lock file, held while this process lives


def _ephemeral_range() -> tuple[int, int]:
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A loopback port nobody listens on, kept for this process.

    Not the kernel's pick (bind to port 0): that comes from the ephemeral range, where every
    outgoing connection of the machine also takes its local port, and a broker restarted on
    its old port, or a JVM that binds seconds after the pick, found it taken (a CI run failed
    with "broker exited with 1" while two test lanes ran). Ports come from below the
    ephemeral range, and a lock file in the temp dir keeps other processes (the other lanes)
    off a port this one handed out.
    """
    lo, hi = _ephemeral_range()
    first, last = (20000, lo - 1) if lo > 21000 else (hi + 1, 65535)
    lock_dir = Path(tempfile.gettempdir()) / "motcua-ports"
    lock_dir.mkdir(exist_ok=True)
    rng = random.Random()
    for _ in range(200):
        port = rng.randint(first, last)
        if port in _PORT_LOCKS:
            continue
        fd = os.open(lock_dir / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another process holds it
            os.close(fd)
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # something else listens there
                os.close(fd)
                continue
        _PORT_LOCKS[port] = fd
        return port
    raise RuntimeError(f"no free loopback port in {first}-{last}")


_LOG4J = """log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=WARN
log4j.logger.org.apache.kafka=WARN
"""


@dataclass
class Broker:
    """One combined broker + controller node: alone (a standalone KRaft quorum), or node
    ``node_id`` of a ``Cluster`` (``voters``: the static quorum, ``cluster_id`` shared)."""

    data_dir: Path
    port: int
    controller_port: int
    process: subprocess.Popen | None = None
    pid: int | None = None
    version: str = KAFKA_VERSION
    node_id: int = 1
    voters: str | None = None  # "1@127.0.0.1:9093,2@127.0.0.1:9095,…" in a cluster
    cluster_id: str | None = None
    replication: int = 1  # of the internal topics (offsets, transactions)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _props(self) -> str:
        logs = self.data_dir / "kraft-logs"
        return "\n".join(
            [
                "process.roles=broker,controller",
                f"node.id={self.node_id}",
                (
                    f"controller.quorum.voters={self.voters}"
                    if self.voters
                    else f"controller.quorum.bootstrap.servers=127.0.0.1:{self.controller_port}"
                ),
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={logs}",
                "num.partitions=6",
                f"default.replication.factor={self.replication}",
                f"offsets.topic.replication.factor={self.replication}",
                "offsets.topic.num.partitions=6",
                f"transaction.state.log.replication.factor={self.replication}",
                f"transaction.state.log.min.isr={min(2, self.replication)}",
                # topics created without a min.insync.replicas of their own (Faust's, an
                # operator's) are durable on two replicas in a cluster, like the project's
                f"min.insync.replicas={min(2, self.replication)}",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=false",
                "log.retention.hours=168",
                "log.segment.bytes=268435456",
                "message.max.bytes=2097152",
                "",
            ]
        )

    def _java(self, main: str, *args: str, **kw):
        libs = fetch(self.version)
        cp = os.pathsep.join(sorted(str(p) for p in libs.glob("*.jar")))
        log4j = self.data_dir / "log4j.properties"
        log4j.write_text(_LOG4J)
        heap = os.environ.get("MOTCUA_KAFKA_HEAP", "-Xms256m -Xmx768m").split()
        cmd = [
            "java",
            *heap,
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{log4j}",
            "-cp",
            cp,
            main,
            *args,
        ]
        return cmd

    def start(self, timeout: float = 90.0, wait: bool = True) -> Broker:
        """Start the node (formatting its storage the first time); ``wait``: until it
        answers (a cluster's node cannot before a majority of the quorum runs)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        props = self.data_dir / "server.properties"
        props.write_text(self._props())
        if not (self.data_dir / "kraft-logs" / "meta.properties").exists():
            quorum = () if self.voters else ("--standalone",)  # static voters: no --standalone
            subprocess.run(
                self._java(
                    "kafka.tools.StorageTool",
                    "format",
                    *quorum,
                    # "=" form: a base64url id may begin with "-", which argparse
                    # would read as an option (a CI run failed on one).
                    f"--cluster-id={self.cluster_id or _random_uuid()}",
                    "-c",
                    str(props),
                    "--ignore-formatted",
                ),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        log = open(self.data_dir / "broker.log", "ab")
        self.process = subprocess.Popen(
            self._java("kafka.Kafka", str(props)),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.process.pid
        (self.data_dir / "broker.json").write_text(
            json.dumps(
                {
                    "pid": self.pid,
                    "bootstrap": self.bootstrap,
                    "port": self.port,
                    "controller_port": self.controller_port,
                    "version": self.version,
                }
            )
        )
        if wait:
            self.wait_ready(timeout)
        return self

    def kill(self) -> None:
        """SIGKILL the node (a crash: no controlled shutdown)."""
        if self.pid is not None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if self.process is not None:
                self.process.wait(timeout=30)
            self.pid = None

    def wait_ready(self, timeout: float) -> None:
        from kafka import KafkaAdminClient

        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"broker exited with {self.process.returncode}; see {self.data_dir / 'broker.log'}"
                )
            try:
                admin = KafkaAdminClient(
                    bootstrap_servers=self.bootstrap, request_timeout_ms=5000, client_id="devbroker"
                )
                try:
                    admin.list_topics()
                    if admin.describe_cluster().get("brokers"):
                        return
                finally:
                    admin.close()
            except Exception as err:  # not up yet
                last = err
            time.sleep(0.5)
        raise TimeoutError(f"broker did not answer within {timeout}s: {last}")

    def stop(self, timeout: float = 30.0) -> None:
        pid = self.pid
        if pid is None:
            return
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid, self.process):
                break
            time.sleep(0.2)
        else:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process is not None:
            self.process.wait(timeout=10)
        (self.data_dir / "broker.json").unlink(missing_ok=True)
        self.pid = None


class Cluster:
    """``n`` combined broker + controller nodes on loopback ports, one static KRaft quorum
    (every node a voter), internal topics replicated ``min(n, 3)`` times. Nodes are
    stopped, killed and started again one by one (``nodes[i]``) to test broker losses."""

    def __init__(self, data_dir: Path, n: int = 3, version: str = KAFKA_VERSION):
        ports = [(free_port(), free_port()) for _ in range(n)]
        voters = ",".join(f"{i + 1}@127.0.0.1:{c}" for i, (_p, c) in enumerate(ports))
        cluster_id = _random_uuid()
        self.nodes = [
            Broker(
                data_dir / f"node-{i + 1}",
                p,
                c,
                version=version,
                node_id=i + 1,
                voters=voters,
                cluster_id=cluster_id,
                replication=min(n, 3),
            )
            for i, (p, c) in enumerate(ports)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(b.bootstrap for b in self.nodes)

    def start(self, timeout: float = 120.0) -> Cluster:
        for b in self.nodes:
            b.start(wait=False)
        for b in self.nodes:
            b.wait_ready(timeout)
        return self

    def stop(self) -> None:
        for b in self.nodes:
            b.stop()


def _alive(pid: int, proc: subprocess.Popen | None) -> bool:
    if proc is not None:
        return proc.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie of someone else's is not ours to wait for; check /proc state
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _random_uuid() -> str:
    """What ``kafka-storage.sh random-uuid`` prints: a base64url UUID without padding."""
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def default_data_dir() -> Path:
    return Path(os.environ.get("MOTCUA_KAFKA_DATA", REPO_ROOT / ".cache" / "kafka-data"))


def _say(message: str) -> None:
    """Progress for a person, on stderr: stdout carries only the bootstrap address."""
    print(message, file=sys.stderr, flush=True)


def up(data_dir: Path, port: int | None = None, fresh: bool = False, quiet: bool = True) -> Broker:
    state = data_dir / "broker.json"
    if state.exists():
        info = json.loads(state.read_text())
        if _alive(info["pid"], None):
            if not quiet:
                _say(f"Kafka đang chạy (pid {info['pid']}, dữ liệu {data_dir}).")
            return Broker(data_dir, info["port"], info["controller_port"], pid=info["pid"])
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    old_props = data_dir / "server.properties"
    controller = free_port()
    if port is None and old_props.exists():  # keep the ports of an existing data dir
        text = old_props.read_text()
        port = int(text.split("PLAINTEXT://127.0.0.1:")[1].split(",")[0].split()[0])
        controller = int(text.split("bootstrap.servers=127.0.0.1:")[1].split()[0])
    broker = Broker(data_dir, port or free_port(), controller)
    if not quiet:
        if not (cache_dir(broker.version) / "libs" / ".complete").exists():
            _say(f"Tải thư viện Kafka {broker.version} (Maven Central) vào {cache_dir(broker.version)}…")
        _say(
            f"Khởi động Kafka {broker.version} tại {broker.bootstrap} (dữ liệu {data_dir}, nhật ký "
            f"{data_dir / 'broker.log'})…"
        )
    broker.start()
    if not quiet:
        _say("Kafka đã sẵn sàng.")
    return broker


def down(data_dir: Path) -> bool:
    state = data_dir / "broker.json"
    if not state.exists():
        return False
    info = json.loads(state.read_text())
    Broker(data_dir, info["port"], info["controller_port"], pid=info["pid"]).stop()
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="devtools.kafka_broker", description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=("fetch", "up", "down", "status"))
    p.add_argument("--port", type=int, default=int(os.environ.get("MOTCUA_KAFKA_PORT", "0")) or None)
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--fresh", action="store_true", help="wipe the data dir first")
    p.add_argument("--version", default=KAFKA_VERSION)
    a = p.parse_args(argv)
    if a.action == "fetch":
        print(fetch(a.version, quiet=False))
    elif a.action == "up":
        b = up(a.data_dir, a.port, a.fresh, quiet=False)
        print(b.bootstrap)  # the only line on stdout: BOOTSTRAP=$(make -s kafka-up)
    elif a.action == "down":
        print("stopped" if down(a.data_dir) else "not running")
    else:
        state = a.data_dir / "broker.json"
        if state.exists() and _alive(json.loads(state.read_text())["pid"], None):
            print(json.loads(state.read_text())["bootstrap"])
        else:
            print("not running")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
