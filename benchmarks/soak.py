"""Soak: a steady rate of simulated events through the gateway into the whole live pipeline
(gateway -> Kafka -> processor -> writer -> ClickHouse, each a real ``motcua run ...``
process) for a bounded time, watched window by window (issue 15, item 4).

    python benchmarks/soak.py --minutes 30 --rate 1000 --window-minutes 5 \\
        --warmup-minutes 5 --workdir /tmp/soak [--bootstrap HOST:PORT] [--json soak.json]

Prints a progress line per window and, at the end, per service the RSS at start, after the
warm-up and at the end (growth after the warm-up), per window the achieved rate, freshness
p50/p99, the largest lag and the errors, the verdict against the targets (RSS growth under
10 % after the warm-up, freshness p99 under 2 s in every window), and whether the store's
figures equal a ``motcua replay`` of the events sent (the ground truth).

Freshness is the writer's own ``motcua_freshness_seconds`` histogram (gateway accept ->
the batch acknowledged by ClickHouse, one observation per event), read from its /metrics
at every window boundary: a window's figures come from the bucket deltas, the quantiles
interpolated inside a bucket like Prometheus' ``histogram_quantile``. A bucket ends at 2 s,
so "p99 under 2 s" is decided exactly (the share of events at most 2 s is counted), the
p50/p99 values themselves are as coarse as the buckets.

Lag is read from Kafka (each group's committed offsets against the end offsets: events
topic for the processor, facts topic for the writer), every few seconds. Errors are the
sender's non-2xx answers and failed connections (it sends the same batch again after a
503/429, as a client should, so every event ends up accepted), the dead letters of every
service and the exits of services (restarted, as docker's restart policy would).

The exporter is not run: with the embedded store (chDB) a data path belongs to one process,
the writer's; it needs a ClickHouse server.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))
sys.path.insert(0, str(ROOT))  # devtools/ (the broker launcher), tests/ (the store probe)

from devtools.kafka_broker import Broker, free_port  # noqa: E402

from motcua.adapters.codec import encode_json  # noqa: E402
from motcua.domain.formatting import fmt_int  # noqa: E402
from motcua.simulate import simulate  # noqa: E402

PY = sys.executable
PYTHONPATH = os.pathsep.join([str(ROOT / "services"), str(ROOT)])
API_KEY = "soak-key"
SIM_START = date(2025, 1, 1)
EVENTS_PER_DAY = 12_000  # simulated Đồng Nai at scale 1.0, a little under the real mean
RSS_TARGET = 0.10
P99_TARGET_S = 2.0
SAMPLE_S = 5.0


class HardStop(BaseException):
    """The soak's time bound is over (or SIGTERM): clean up and stop. A BaseException, like
    KeyboardInterrupt, so the ``except Exception`` of a probe does not swallow it."""


# -- events -------------------------------------------------------------------------------
def events_file(work: Path, n: int, seed: int) -> tuple[Path, date]:
    """``n`` simulated events (Đồng Nai, scale 1.0, 1 % duplicates and 1 % reordered: what
    a province's systems send) as JSON Lines, kept in ``work`` for the next run."""
    path = work / f"events-{n}-{seed}.jsonl"
    days = int(n / EVENTS_PER_DAY * 1.3) + 10
    end = SIM_START + timedelta(days=days)
    if path.exists() and sum(1 for _ in open(path, "rb")) == n:
        return path, end
    print(f"mô phỏng {fmt_int(n)} sự kiện ({days} ngày từ {SIM_START:%d/%m/%Y}) …", flush=True)
    tmp = path.with_suffix(".tmp")
    written = 0
    with open(tmp, "wb") as fh:
        for e in simulate("75", SIM_START, end, seed=seed, scale=1.0, duplicates=0.01, reorder=0.01):
            if not isinstance(e, dict):
                continue
            fh.write(encode_json(e) + b"\n")
            written += 1
            if written % 200_000 == 0:
                print(f"  {fmt_int(written)} / {fmt_int(n)}", flush=True)
            if written == n:
                break
    if written < n:
        raise RuntimeError(f"the simulation gave {written} events, fewer than {n}")
    tmp.rename(path)
    return path, end


# -- processes ----------------------------------------------------------------------------
@dataclass
class Service:
    """A ``motcua run NAME`` process, restarted when it exits (counted)."""

    name: str
    args: list[str]
    env: dict
    log: Path
    proc: subprocess.Popen | None = None
    exits: list[int] = field(default_factory=list)

    def start(self) -> Service:
        self.proc = subprocess.Popen(
            [PY, "-m", "motcua.cli.main", "run", self.name, *self.args],
            env=self.env,
            stdout=open(self.log, "ab"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,  # Ctrl-C reaches the soak only; it stops the services
        )
        return self

    def check(self) -> None:
        """Restart the service if it exited (at most 5 times), remembering the code."""
        if self.proc is not None and self.proc.poll() is not None:
            self.exits.append(self.proc.returncode)
            print(f"  ! {self.name} exited with {self.proc.returncode} (see {self.log})", flush=True)
            if len(self.exits) <= 5:
                self.start()

    def stop(self, timeout: float = 60) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def process_tree(pid: int) -> list[int]:
    """A process and its descendants (a service may start helpers)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def usage(pid: int) -> tuple[float, float]:
    """(RSS MiB, CPU seconds user + system) of a process tree; (0, 0) when it is gone."""
    rss_kib, ticks = 0, 0
    for p in process_tree(pid):
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
            rss_kib += next(int(x.split()[1]) for x in open(f"/proc/{p}/status") if x.startswith("VmRSS:"))
        except (OSError, IndexError, ValueError, StopIteration):
            continue
    return rss_kib / 1024, ticks / os.sysconf("SC_CLK_TCK")


def rss_parts(pid: int) -> dict[str, float]:
    """The RSS of a process tree split as the kernel counts it (MiB): ``anon`` (the heap:
    what a leak grows), ``file`` (mapped files: most of the writer's is the 530 MiB chDB
    library, paged in as its code runs) and ``shmem``."""
    kib = {"anon": 0, "file": 0, "shmem": 0}
    for p in process_tree(pid):
        try:
            for line in open(f"/proc/{p}/status"):
                key = {"RssAnon:": "anon", "RssFile:": "file", "RssShmem:": "shmem"}.get(
                    line.split(":")[0] + ":"
                )
                if key:
                    kib[key] += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return {k: round(v / 1024, 1) for k, v in kib.items()}


def pipeline_env(bootstrap: str, work: Path, ports: dict[str, int]) -> dict:
    """The production defaults (partitions, batch ages, rate limits, timeouts), with this
    soak's own topics, groups, store and metrics ports."""
    tag = f"soak{int(time.time())}"
    return {
        **os.environ,
        "PYTHONPATH": PYTHONPATH,
        "MOTCUA_KAFKA_BOOTSTRAP": bootstrap,
        "MOTCUA_EVENTS_TOPIC": f"{tag}-dossier-events",
        "MOTCUA_FACTS_TOPIC": f"{tag}-dossier-facts",
        "MOTCUA_DEAD_LETTERS_TOPIC": f"{tag}-dead-letters",
        "MOTCUA_PROCESSOR_APP_ID": f"{tag}-processor",
        "MOTCUA_WRITER_GROUP": f"{tag}-writer",
        "MOTCUA_DATA_DIR": str(work / "data"),
        "MOTCUA_STORE": f"chdb://{work / 'store'}",
        # the key as its hash, as in production (a plain key makes the gateway warn)
        "MOTCUA_API_KEYS": f"motcua-dongnai:sha256:{hashlib.sha256(API_KEY.encode()).hexdigest()}",
        "MOTCUA_GATEWAY_PORT": str(ports["gateway"]),
        "MOTCUA_GATEWAY_METRICS_PORT": "0",  # /metrics is on the HTTP port too
        "MOTCUA_PROCESSOR_METRICS_PORT": str(ports["processor"]),
        "MOTCUA_WRITER_METRICS_PORT": str(ports["writer"]),
    }


# -- the sender ---------------------------------------------------------------------------
class Sender(threading.Thread):
    """Posts the file's lines as NDJSON batches at ``rate`` events/s: every 50 ms, all the
    events due by then (at most 2,000 a request), so a slow answer makes the next batch
    larger instead of the rate lower. A 503/429 or a broken connection: the same batch
    again (the event ids make a repeat harmless), counted as an error."""

    def __init__(self, path: Path, port: int, rate: float, limit: int):
        super().__init__(daemon=True)
        self.path, self.port, self.rate, self.limit = path, port, rate, limit
        self.sent = self.accepted = self.rejected = self.requests = 0
        self.errors: dict[str, int] = {}
        self.stopping = threading.Event()
        self.failure: BaseException | None = None
        self.finished: float | None = None  # monotonic time the last batch was answered

    def run(self) -> None:
        try:
            self._run()
        except BaseException as err:  # reported by the monitor, never lost
            self.failure = err

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        t0 = time.monotonic()
        with open(self.path, "rb") as fh:
            while self.sent < self.limit and not self.stopping.is_set():
                due = min(self.limit, int((time.monotonic() - t0) * self.rate))
                if due - self.sent < max(1, self.rate / 20):
                    time.sleep(max(0.0, t0 + (self.sent + self.rate / 20) / self.rate - time.monotonic()))
                    continue
                batch = [fh.readline().rstrip(b"\n") for _ in range(min(due - self.sent, 2000))]
                conn = self._post(conn, b"\n".join(batch))
                self.sent += len(batch)
        self.finished = time.monotonic()
        conn.close()

    def _post(self, conn: http.client.HTTPConnection, body: bytes) -> http.client.HTTPConnection:
        headers = {"Content-Type": "application/x-ndjson", "X-API-Key": API_KEY}
        while True:
            self.requests += 1
            try:
                conn.request("POST", "/v1/events", body=body, headers=headers)
                resp = conn.getresponse()
                answer = resp.read()
            except (OSError, http.client.HTTPException) as err:
                self._count(type(err).__name__)
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                time.sleep(0.5)
                continue
            if resp.status in (429, 503):
                self._count(str(resp.status))
                time.sleep(min(1.0, float(resp.getheader("Retry-After") or 1)))
                continue
            if resp.status not in (200, 202):
                self._count(str(resp.status))
            if resp.status in (200, 202, 422):
                got = orjson.loads(answer)
                self.accepted += got.get("accepted", 0)
                self.rejected += len(got.get("rejected", ()))
            return conn

    def _count(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


# -- metrics ------------------------------------------------------------------------------
def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """A service's /metrics as {(sample name, sorted labels): value}; {} when unreachable."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
    except (OSError, http.client.HTTPException):
        return {}
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def hit_share(now: dict[str, float], before: dict[str, float]) -> float:
    hits, misses = now["hit"] - before["hit"], now["miss"] - before["miss"]
    return hits / (hits + misses) if hits + misses else float("nan")


def total(metrics: dict, name: str, **labels: str) -> float:
    return sum(
        v
        for (n, ls), v in metrics.items()
        if n == name and all(dict(ls).get(k) == want for k, want in labels.items())
    )


def freshness_buckets(metrics: dict) -> list[tuple[float, float]]:
    """(upper bound, cumulative count) of the writer's freshness histogram."""
    out = [
        (float(dict(ls)["le"]), v) for (n, ls), v in metrics.items() if n == "motcua_freshness_seconds_bucket"
    ]
    return sorted(out)


def quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """``histogram_quantile``: linear inside the bucket holding rank q x count."""
    if not buckets or buckets[-1][1] <= 0:
        return float("nan")
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for upper, cum in buckets:
        if cum >= rank:
            if upper == float("inf"):
                return float("inf")  # beyond the largest finite bucket
            return lower + (upper - lower) * (rank - below) / max(cum - below, 1e-12)
        lower, below = upper, cum
    return lower


def share_at_most(buckets: list[tuple[float, float]], bound: float) -> float:
    n = buckets[-1][1] if buckets else 0
    return next((cum for upper, cum in buckets if upper == bound), 0.0) / n if n else float("nan")


def delta(now: list[tuple[float, float]], before: list[tuple[float, float]]) -> list[tuple[float, float]]:
    old = dict(before)
    return [(le, c - old.get(le, 0.0)) for le, c in now]


class LagProbe:
    """Committed-offset lag of the two groups, read from Kafka (what an operator sees)."""

    def __init__(self, env: dict):
        from kafka import KafkaAdminClient, KafkaConsumer

        self.bootstrap = env["MOTCUA_KAFKA_BOOTSTRAP"]
        self.admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="motcua-soak")
        self.consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, client_id="motcua-soak")
        self.pairs = {
            "processor": (env["MOTCUA_PROCESSOR_APP_ID"], env["MOTCUA_EVENTS_TOPIC"]),
            "writer": (env["MOTCUA_WRITER_GROUP"], env["MOTCUA_FACTS_TOPIC"]),
        }

    def lag(self) -> dict[str, int]:
        from kafka import TopicPartition

        out = {}
        for name, (group, topic) in self.pairs.items():
            parts = self.consumer.partitions_for_topic(topic) or set()
            ends = self.consumer.end_offsets([TopicPartition(topic, p) for p in parts])
            try:
                done = {
                    tp: om.offset for tp, om in self.admin.list_group_offsets(group).get(group, {}).items()
                }
            except Exception:  # noqa: BLE001 - a group still forming: everything is lag
                done = {}
            out[name] = sum(max(0, end - max(done.get(tp, 0), 0)) for tp, end in ends.items())
        return out

    def close(self) -> None:
        self.admin.close()
        self.consumer.close()


# -- the soak -----------------------------------------------------------------------------
@dataclass
class Window:
    index: int
    started: float
    sent_before: int
    before: dict
    errors_before: dict
    cpu_before: dict
    lag_max: dict = field(default_factory=lambda: {"processor": 0, "writer": 0})
    row: dict = field(default_factory=dict)


class Soak:
    def __init__(self, a: argparse.Namespace, bootstrap: str, events: Path, sim_end: date):
        self.a, self.events, self.sim_end = a, events, sim_end
        self.work: Path = a.workdir
        self.ports = {"gateway": free_port(), "processor": free_port(), "writer": free_port()}
        self.env = pipeline_env(bootstrap, self.work, self.ports)
        logs = self.work / "logs"
        logs.mkdir(exist_ok=True)
        self.services = [
            Service("gateway", [], self.env, logs / "gateway.log"),
            Service("processor", ["--datadir", str(self.work / "faust")], self.env, logs / "processor.log"),
            Service("writer", [], self.env, logs / "writer.log"),
        ]
        self.n = int(a.rate * a.minutes * 60)
        self.sender = Sender(events, self.ports["gateway"], a.rate, self.n)
        self.rss: dict[str, dict[str, float]] = {s.name: {} for s in self.services}
        self.rss_parts: dict[str, dict[str, dict[str, float]]] = {s.name: {} for s in self.services}
        self.windows: list[dict] = []
        self.loads: dict[str, str] = {"before": load_average()}
        self.last: dict = {}
        self.drained_s: float | None = None
        self.sent_at: dict[str, int] = {}  # events sent when the RSS was sampled

    # start-up
    def start(self) -> None:
        from motcua.live.config import LiveSettings
        from motcua.live.topics import ensure_topics

        fields = LiveSettings.model_fields
        ensure_topics(
            LiveSettings(
                **{
                    k[7:].lower(): v
                    for k, v in self.env.items()
                    if k.startswith("MOTCUA_") and k[7:].lower() in fields
                }
            )
        )
        for s in self.services:
            s.start()
        self._wait_ready()
        self.lag = LagProbe(self.env)
        self.sample_rss("start")

    def _wait_ready(self, timeout: float = 300) -> None:
        """The gateway answers /health, the processor and writer serve /metrics and their
        groups are stable (partitions assigned): the soak measures running services."""
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.env["MOTCUA_KAFKA_BOOTSTRAP"])
        groups = [self.env["MOTCUA_PROCESSOR_APP_ID"], self.env["MOTCUA_WRITER_GROUP"]]
        deadline = time.monotonic() + timeout
        states: list[str] = []
        try:
            while time.monotonic() < deadline:
                for s in self.services:
                    s.check()
                if all(scrape(p) for p in self.ports.values()):
                    try:
                        described = admin.describe_groups(groups)
                    except Exception:  # noqa: BLE001 - the group coordinator is still starting
                        described = {}
                    states = [str(g.get("group_state", g.get("state"))) for g in described.values()]
                    if states == ["Stable", "Stable"]:
                        return
                time.sleep(1)
        finally:
            admin.close()
        raise RuntimeError(
            f"services not ready in {timeout:.0f} s (groups {states}); logs in {self.work / 'logs'}"
        )

    def sample_rss(self, when: str) -> None:
        self.sent_at[when] = self.sender.sent
        for s in self.services:
            self.rss[s.name][when] = usage(s.proc.pid)[0] if s.proc else 0.0
            self.rss_parts[s.name][when] = rss_parts(s.proc.pid) if s.proc else {}

    def usage(self) -> dict[str, tuple[float, float]]:
        return {s.name: usage(s.proc.pid) if s.proc else (0.0, 0.0) for s in self.services}

    # running
    def metrics(self) -> dict:
        """Freshness buckets (writer), dead letters per service, the writer's insert retries."""
        m = {name: scrape(port) for name, port in self.ports.items()}
        return {
            "fresh": freshness_buckets(m["writer"]),
            "dead": {name: total(x, "motcua_dead_letters_total") for name, x in m.items()},
            "retries": total(m["writer"], "motcua_insert_retries_total"),
            "recent": {
                o: total(m["writer"], "motcua_writer_recent_facts_total", outcome=o) for o in ("hit", "miss")
            },
            "engine": {
                dict(ls)["kind"]: v for (n, ls), v in m["writer"].items() if n == "motcua_store_engine_bytes"
            },
        }

    def open_window(self, index: int) -> Window:
        # the previous window's closing figures: no observation falls between two windows
        before = self.last if self.windows else self.metrics()
        cpu = {k: v[1] for k, v in self.usage().items()}
        return Window(index, time.monotonic(), self.sender.sent, before, dict(self.sender.errors), cpu)

    def close_window(self, w: Window, warmup: bool) -> dict:
        self.last = now = self.metrics()
        d = delta(now["fresh"], w.before["fresh"])
        closed = time.monotonic()
        seconds = closed - w.started
        # the rate over the time events were sent (the last window also waits for the drain)
        sending = (self.sender.finished or closed) - w.started
        use = self.usage()
        errors = {k: v - w.errors_before.get(k, 0) for k, v in self.sender.errors.items()}
        row = {
            "window": w.index + 1,
            "warmup": warmup,
            "seconds": round(seconds, 1),
            "sent": self.sender.sent - w.sent_before,
            "rate": (self.sender.sent - w.sent_before) / max(sending, 1e-9),
            "fresh_n": d[-1][1] if d else 0,
            "p50_s": quantile(d, 0.5),
            "p99_s": quantile(d, 0.99),
            "share_le_2s": share_at_most(d, P99_TARGET_S),
            "lag_max": dict(w.lag_max),
            "http_errors": {k: v for k, v in errors.items() if v},
            "dead_letters": {k: v - w.before["dead"].get(k, 0.0) for k, v in now["dead"].items()},
            "insert_retries": now["retries"] - w.before["retries"],
            # the writer's remembered facts (share of a round's dossiers it did not ask the
            # store for) and its embedded engine's memory at the window's end
            "recent_hit_share": hit_share(now["recent"], w.before["recent"]),
            "engine_mib": {k: round(v / 2**20, 1) for k, v in sorted(now["engine"].items())},
            "exits": sum(len(s.exits) for s in self.services),
            "rss_mib": {k: round(v[0], 1) for k, v in use.items()},
            "rss_parts_mib": {s.name: rss_parts(s.proc.pid) for s in self.services if s.proc},
            # CPU of each service as a share of one core over the window
            "cpu_cores": {k: round((v[1] - w.cpu_before.get(k, 0.0)) / seconds, 2) for k, v in use.items()},
            "load": load_average(),
        }
        # CPU per event: gateway and processor per event sent, the writer per event
        # acknowledged by ClickHouse in the window (what it can sustain on a free core)
        per = {"gateway": row["sent"], "processor": row["sent"], "writer": row["fresh_n"]}
        row["cpu_us_per_event"] = {
            k: round(c * seconds / per[k] * 1e6) if per.get(k) else None for k, c in row["cpu_cores"].items()
        }
        self.windows.append(row)
        print(progress_line(row, self.a.rate), flush=True)
        return row

    def watch(self, until: float, w: Window) -> None:
        """Sample lag and liveness every few seconds until ``until`` (monotonic)."""
        while time.monotonic() < until:
            time.sleep(min(SAMPLE_S, max(0.0, until - time.monotonic())))
            for s in self.services:
                s.check()
            if self.sender.failure is not None:
                raise RuntimeError(f"the sender failed: {self.sender.failure!r}")
            for name, v in self.lag.lag().items():
                w.lag_max[name] = max(w.lag_max[name], v)

    def run(self) -> None:
        a = self.a
        t0 = time.monotonic()
        self.sender.start()
        windows = max(1, round(a.minutes / a.window_minutes))
        warmup_end = t0 + a.warmup_minutes * 60
        for i in range(windows):
            w = self.open_window(i)
            end = t0 + min(a.minutes, (i + 1) * a.window_minutes) * 60
            if w.started <= warmup_end <= end:  # the warm-up ends in this window
                self.watch(warmup_end, w)
                self.sample_rss("warmup")
            self.watch(end, w)
            if i == windows - 1:
                self.sample_rss("end")
                self.loads["during"] = load_average()
                self.sender.stopping.set()
                self.sender.join(120)
                self.drain(w, timeout=max(300.0, a.minutes * 30))
            self.close_window(w, warmup=end <= warmup_end)

    def drain(self, w: Window, timeout: float) -> None:
        """After the last event was sent: until both groups committed the end of their
        topics twice in a row, so the last window holds the tail too."""
        started = time.monotonic()
        calm = 0
        while time.monotonic() - started < timeout:
            calm = calm + 1 if not any(self.lag.lag().values()) else 0
            if calm >= 2:
                self.drained_s = round(time.monotonic() - started, 1)
                print(f"  đã xử lý hết sau {self.drained_s} s", flush=True)
                return
            self.watch(time.monotonic() + 2, w)
        self.drained_s = None
        print(f"  ! chưa xử lý hết sau {timeout:.0f} s", flush=True)

    def stop(self) -> None:
        for s in reversed(self.services):  # the gateway last: nothing in flight is lost
            s.stop()
        if getattr(self, "lag", None) is not None:
            self.lag.close()


def progress_line(row: dict, rate: float) -> str:
    behind = " (THẤP HƠN mục tiêu)" if row["rate"] < 0.98 * rate else ""
    errs = sum(row["http_errors"].values())
    return (
        f"[cửa sổ {row['window']}{' khởi động' if row['warmup'] else ''}] "
        f"{fmt_int(row['sent'])} sự kiện, {fmt_num(row['rate'], 0)} sự kiện/s{behind}; "
        f"độ trễ p50 {fmt_num(row['p50_s'] * 1000, 0)} ms, p99 {fmt_num(row['p99_s'] * 1000, 0)} ms "
        f"({fmt_num(row['share_le_2s'] * 100, 2)}% ≤ 2 s); lag tối đa processor "
        f"{fmt_int(row['lag_max']['processor'])}, writer {fmt_int(row['lag_max']['writer'])}; "
        f"lỗi HTTP {fmt_int(errs)}, dead letters {dead_letters(row)}, "
        f"ghi lại ClickHouse {fmt_int(int(row['insert_retries']))}, "
        f"tiến trình thoát {row['exits']}; RSS MiB "
        + "/".join(fmt_num(v, 0) for v in row["rss_mib"].values())
        + " CPU lõi "
        + "/".join(fmt_num(v, 2) for v in row["cpu_cores"].values())
        + f"; writer nhớ {fmt_num(row['recent_hit_share'] * 100, 1)}% hồ sơ, chDB MiB "
        + f"{fmt_num(row['engine_mib'].get('MemoryTracking', float('nan')), 0)} (mark "
        + f"{fmt_num(row['engine_mib'].get('MarkCacheBytes', float('nan')), 0)})"
        + f"; tải {row['load']}"
    )


def dead_letters(row: dict) -> str:
    """gateway/processor/writer (the writer's: stored, so the others' again, plus its own)."""
    d = row["dead_letters"]
    return "/".join(fmt_int(int(d.get(k, 0))) for k in ("gateway", "processor", "writer"))


def fmt_num(x: float, digits: int) -> str:
    """Vietnamese number: 1.234,5 (NaN as —)."""
    if x != x:
        return "—"
    if x == float("inf"):
        return "> 60.000"  # the histogram's largest finite bucket is 60 s
    s = f"{x:,.{digits}f}"
    return s.replace(",", "\0").replace(".", ",").replace("\0", ".")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- ground truth -------------------------------------------------------------------------
def compare_with_replay(soak: Soak, timeout: float) -> dict:
    """The live store (stopped) against ``motcua replay`` of the events sent, both read by
    the store probe in its own process (chDB: one data path per process)."""
    sent = soak.sender.sent
    path = soak.work / "sent.jsonl"
    with open(soak.events, "rb") as src, open(path, "wb") as dst:
        for _ in range(sent):
            dst.write(src.readline())
    replay_store = f"chdb://{soak.work / 'replay-store'}"
    env = {**os.environ, "PYTHONPATH": PYTHONPATH}
    t = time.monotonic()
    subprocess.run(
        [PY, "-m", "motcua.cli.main", "replay", str(path), "--store", replay_store],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=timeout,
    )
    args = [SIM_START.isoformat(), soak.sim_end.isoformat(), soak.sim_end.isoformat()]
    live, truth = (
        orjson.loads(
            subprocess.run(
                [PY, "-m", "tests.integration.kafka.storeprobe", dsn, *args],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=timeout,
            ).stdout
        )
        for dsn in (soak.env["MOTCUA_STORE"], replay_store)
    )
    differs = sorted(k for k in truth if live.get(k) != truth[k])
    return {
        "equal": not differs,
        "differs": differs,
        "events_live": live["events"],
        "events_replay": truth["events"],
        "dossiers": truth["dossiers"],
        "seconds": round(time.monotonic() - t, 1),
    }


# -- report -------------------------------------------------------------------------------
def dossiers_at(path: Path, counts: dict[str, int]) -> dict[str, int]:
    """Distinct dossiers among the first n events of the file, for each n given: what the
    processor's state table holds then (it keeps every dossier it has seen)."""
    out: dict[str, int] = {}
    seen: set[str] = set()
    marks = sorted(counts.items(), key=lambda kv: kv[1])
    with open(path, "rb") as fh:
        for i, line in enumerate(fh):
            while marks and marks[0][1] <= i:
                out[marks.pop(0)[0]] = len(seen)
            if not marks:
                break
            seen.add(orjson.loads(line)["dossier_id"])
    out.update({k: len(seen) for k, _ in marks})
    return out


def memory_per_dossier(soak: Soak) -> dict:
    """RSS growth after the warm-up per dossier added to the state meanwhile, KiB."""
    held = dossiers_at(soak.events, soak.sent_at)
    added = held.get("end", 0) - held.get("warmup", 0)
    return {
        "dossiers": held,
        "kib_per_dossier_added": {
            name: round((r["end"] - r["warmup"]) * 1024 / added, 2) if added and "warmup" in r else None
            for name, r in soak.rss.items()
        },
    }


def verdict(soak: Soak) -> dict:
    growth = {
        name: (r["end"] - r["warmup"]) / r["warmup"] if r.get("warmup") else float("nan")
        for name, r in soak.rss.items()
    }
    rss_ok = all(g < RSS_TARGET for g in growth.values())
    fresh_ok = all(w["share_le_2s"] >= 0.99 for w in soak.windows)
    rate_ok = all(w["rate"] >= 0.98 * soak.a.rate for w in soak.windows)
    return {
        "rss_growth": growth,
        "rss_ok": rss_ok,
        "freshness_ok": fresh_ok,
        "rate_held": rate_ok,
        "memory": memory_per_dossier(soak),
    }


def print_report(soak: Soak, v: dict, truth: dict | None) -> None:
    print("\nBộ nhớ (RSS, MiB) theo dịch vụ: đầu / sau khởi động / cuối — tăng sau khởi động")
    for name, r in soak.rss.items():
        g = v["rss_growth"][name]
        print(
            f"  {name:<10} {fmt_num(r.get('start', 0), 0):>7} / {fmt_num(r.get('warmup', float('nan')), 0):>7}"
            f" / {fmt_num(r.get('end', 0), 0):>7} — {fmt_num(g * 100, 1)}%"
        )
    print(
        "\nCửa sổ | sự kiện/s | p50 ms | p99 ms | ≤ 2 s | lag processor / writer | lỗi HTTP | dead letters gw/proc/writer | tải"
    )
    for w in soak.windows:
        print(
            f"  {w['window']}{'*' if w['warmup'] else ' '} | {fmt_num(w['rate'], 0)} | "
            f"{fmt_num(w['p50_s'] * 1000, 0)} | {fmt_num(w['p99_s'] * 1000, 0)} | "
            f"{fmt_num(w['share_le_2s'] * 100, 2)}% | {fmt_int(w['lag_max']['processor'])} / "
            f"{fmt_int(w['lag_max']['writer'])} | {fmt_int(sum(w['http_errors'].values()))} | "
            f"{dead_letters(w)} | {w['load']}"
        )
    print("  (* cửa sổ khởi động)")
    names = [x.name for x in soak.services]
    print(
        f"\nCửa sổ | RSS cuối cửa sổ MiB {'/'.join(names)} | CPU (số lõi) {'/'.join(names)} | "
        f"CPU µs/sự kiện {'/'.join(names)} | writer: RSS ẩn danh / tệp MiB, chDB theo dõi MiB, nhớ facts"
    )
    for w in soak.windows:
        us, parts = w["cpu_us_per_event"], w["rss_parts_mib"].get("writer", {})
        print(
            f"  {w['window']} | {' / '.join(fmt_num(w['rss_mib'][n], 0) for n in names)} | "
            f"{' / '.join(fmt_num(w['cpu_cores'][n], 2) for n in names)} | "
            f"{' / '.join(fmt_int(us[n]) if us[n] is not None else '—' for n in names)} | "
            f"{fmt_num(parts.get('anon', float('nan')), 0)} / {fmt_num(parts.get('file', float('nan')), 0)}, "
            f"{fmt_num(w['engine_mib'].get('MemoryTracking', float('nan')), 0)}, "
            f"{fmt_num(w['recent_hit_share'] * 100, 1)}%"
        )
    s = soak.sender
    exits = {x.name: x.exits for x in soak.services if x.exits}
    print(
        f"\nĐã gửi {fmt_int(s.sent)} sự kiện trong {fmt_int(s.requests)} yêu cầu: nhận {fmt_int(s.accepted)}, "
        f"từ chối {fmt_int(s.rejected)}; lỗi {s.errors or 'không có'}; tiến trình thoát {exits or 'không có'}"
    )
    print(
        f"Kết quả: RSS tăng < 10% sau khởi động: {'ĐẠT' if v['rss_ok'] else 'KHÔNG ĐẠT'}; "
        f"p99 < 2 s mọi cửa sổ: {'ĐẠT' if v['freshness_ok'] else 'KHÔNG ĐẠT'}; "
        f"giữ được tốc độ: {'có' if v['rate_held'] else 'KHÔNG'}"
    )
    if truth is None:
        why = "--no-truth" if soak.a.no_truth else "pipeline chưa xử lý hết"
        print(f"Đối chiếu với replay: bỏ qua ({why})")
    else:
        print(
            f"Đối chiếu với replay ({fmt_int(truth['events_replay'])} sự kiện, {truth['seconds']} s): "
            + ("KHỚP" if truth["equal"] else f"KHÁC ở {', '.join(truth['differs'])}")
        )
    m = v["memory"]
    print(
        f"Hồ sơ trong trạng thái processor: {fmt_int(m['dossiers'].get('warmup', 0))} sau khởi động, "
        f"{fmt_int(m['dossiers'].get('end', 0))} cuối; RSS tăng thêm mỗi hồ sơ (KiB): "
        + ", ".join(
            f"{k} {fmt_num(x, 2) if x is not None else '—'}" for k, x in m["kib_per_dossier_added"].items()
        )
    )
    print(f"Tải trước / trong / sau: {soak.loads}")


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    ap.add_argument("--minutes", type=float, default=30, help="how long events are sent (default 30)")
    ap.add_argument("--rate", type=float, default=1000, help="events per second (default 1000)")
    ap.add_argument("--window-minutes", type=float, default=5, help="length of a window (default 5)")
    ap.add_argument("--warmup-minutes", type=float, default=5, help="RSS baseline after this (default 5)")
    ap.add_argument("--workdir", type=Path, required=True, help="broker, store, logs, the event file")
    ap.add_argument("--bootstrap", help="a running Kafka (default: start a single broker of our own)")
    ap.add_argument("--json", type=Path, help="save the figures to this file")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--no-truth", action="store_true", help="skip the comparison with a replay")
    a = ap.parse_args(argv)
    if not 0 < a.warmup_minutes < a.minutes:
        ap.error("--warmup-minutes must be between 0 and --minutes")
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    a.workdir.mkdir(parents=True, exist_ok=True)
    # the bound: set-up, the run, the drain and the comparison; then everything is stopped
    bound = 900 + a.minutes * 60 + max(300, a.minutes * 30) + (900 if not a.no_truth else 0)

    def hard_stop(signum, _frame):
        raise HardStop(f"signal {signum}")

    signal.signal(signal.SIGALRM, hard_stop)
    signal.signal(signal.SIGTERM, hard_stop)
    signal.alarm(int(bound))
    broker = soak = None
    try:
        events, sim_end = events_file(a.workdir, int(a.rate * a.minutes * 60), a.seed)
        bootstrap = a.bootstrap
        if not bootstrap:
            broker = Broker(a.workdir / "kafka", free_port(), free_port()).start(timeout=180)
            bootstrap = broker.bootstrap
        print(
            f"broker {bootstrap}; tải {load_average()}; giới hạn thời gian {bound / 60:.0f} phút", flush=True
        )
        soak = Soak(a, bootstrap, events, sim_end)
        soak.start()
        print(f"dịch vụ sẵn sàng; RSS lúc đầu {soak.rss}; ẩn danh / tệp {soak.rss_parts}", flush=True)
        soak.run()
        soak.stop()
        soak.loads["after"] = load_average()
        truth = None if a.no_truth or soak.drained_s is None else compare_with_replay(soak, timeout=900)
        v = verdict(soak)
        print_report(soak, v, truth)
        if a.json:
            a.json.write_text(json.dumps(figures(soak, v, truth), indent=2, default=str))
        return 0 if v["rss_ok"] and v["freshness_ok"] and (truth is None or truth["equal"]) else 1
    except (HardStop, KeyboardInterrupt) as err:
        print(f"\ndừng: {err!r}; dọn dẹp …", file=sys.stderr, flush=True)
        return 130
    finally:
        signal.alarm(0)
        if soak is not None:
            soak.sender.stopping.set()
            soak.stop()
        if broker is not None:
            broker.stop()


def figures(soak: Soak, v: dict, truth: dict | None) -> dict:
    s = soak.sender
    return {
        "args": {k: str(x) for k, x in vars(soak.a).items()},
        "rss_mib": soak.rss,
        "rss_parts_mib": soak.rss_parts,
        "windows": soak.windows,
        "verdict": v,
        "sent": {"events": s.sent, "requests": s.requests, "accepted": s.accepted, "rejected": s.rejected},
        "errors": s.errors,
        "exits": {x.name: x.exits for x in soak.services},
        "truth": truth,
        "drained_after_s": soak.drained_s,
        "load": soak.loads,
    }


if __name__ == "__main__":
    sys.exit(main())
