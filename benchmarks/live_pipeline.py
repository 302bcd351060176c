"""Live pipeline benchmark on the local broker (devtools/kafka_broker.py).

Prints, in one run:

1. processor throughput: N simulated events preloaded (Avro, as the gateway writes them)
   and folded by one faust worker (``motcua run processor``), from the first to the last
   facts message it produced;
2. baseline: the same events through a plain aiokafka consumer loop over the same fold
   (``decode_record`` + ``DossierBook``), producing the same facts and state messages;
3. end to end: processor + writer into ClickHouse (chDB), from start to all committed;
4. freshness at a steady ~1,000 events/s posted to the gateway: gateway accept (ingest
   record time) -> the writer's batch acknowledged by ClickHouse (row visible), p50/p99.

    python benchmarks/live_pipeline.py [--events 200000] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))
sys.path.insert(0, str(ROOT))  # devtools/ (the broker launcher)

from devtools.kafka_broker import Broker, free_port  # noqa: E402

from motcua.adapters.codec import (  # noqa: E402
    decode_record,
    encode_avro,
    encode_json,
)
from motcua.live.config import LiveSettings  # noqa: E402
from motcua.live.topics import ensure_topics  # noqa: E402
from motcua.pipeline.dossiers import DossierBook  # noqa: E402
from motcua.reference.official_calendar import default_calendar  # noqa: E402
from motcua.simulate import simulate  # noqa: E402


def events(n: int) -> list[dict]:
    out = []
    start = date(2025, 1, 1)
    days = 31
    while len(out) < n:
        out = [
            e
            for e in simulate("75", start, start + timedelta(days=days), seed=7, scale=1.0)
            if isinstance(e, dict)
        ]
        days *= 2
    return out[:n]


def settings_for(tag: str, bootstrap: str, partitions: int, data: Path) -> LiveSettings:
    return LiveSettings(
        kafka_bootstrap=bootstrap,
        events_topic=f"{tag}-events",
        facts_topic=f"{tag}-facts",
        dead_letters_topic=f"{tag}-dead",
        events_partitions=partitions,
        facts_partitions=partitions,
        processor_app_id=f"{tag}-processor",
        writer_group=f"{tag}-writer",
        data_dir=data,
        store=f"chdb://{data / 'store'}",
        processor_metrics_port=0,
        writer_metrics_port=0,
        gateway_metrics_port=0,
        api_keys="motcua-dongnai:bench-key",
        session_timeout_s=10,
    )


def env_of(s: LiveSettings) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "services"))
    for name, value in s.model_dump().items():
        if value is not None:
            env[f"MOTCUA_{name.upper()}"] = str(value)
    return env


async def preload(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    p = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=512 * 1024,
    )
    await p.start()
    try:
        for k, v in values:
            await p.send(topic, key=k, value=v)
        await p.flush()
    finally:
        await p.stop()


def load_average() -> str:
    """The machine is shared: every figure is printed with the load at the time."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class CpuSampler(threading.Thread):
    """CPU seconds (user + system) of a process, sampled every 0.1 s, so the CPU spent
    between two instants (the first and last facts message) can be read afterwards."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.done = threading.Event()

    def cpu(self) -> float:
        fields = open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run(self) -> None:
        while not self.done.wait(0.1):
            try:
                self.samples.append((time.time(), self.cpu()))
            except OSError:
                return

    def between(self, t0: float, t1: float) -> float:
        def at(t):
            return min(self.samples, key=lambda s: abs(s[0] - t))[1]

        return at(t1) - at(t0)


def facts_span(
    bootstrap: str, topic: str, expect_events: int, times: list | None = None
) -> tuple[float, int]:
    """Seconds from the first to the last facts message, once all events are carried
    (``times`` gets the first and last message times, epoch seconds)."""
    from kafka import KafkaConsumer

    c = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        fetch_max_bytes=64 << 20,
    )
    first = last = None
    carried = 0
    seen_ids = 0
    try:
        while carried < expect_events:
            for _tp, recs in c.poll(timeout_ms=1000).items():
                for r in recs:
                    first = r.timestamp if first is None else min(first, r.timestamp)
                    last = r.timestamp if last is None else max(last, r.timestamp)
                    carried += len(orjson.loads(r.value)["events"])
                    seen_ids += 1
    finally:
        c.close()
    if times is not None:
        times[:] = [first / 1000, last / 1000]
    return (last - first) / 1000, seen_ids


async def baseline(s: LiveSettings, n: int) -> float:
    """Plain aiokafka loop: decode, fold (DossierBook), produce facts (murmur2-partitioned)
    + a state message per changed dossier to the source partition (what the processor's
    changelog write is), with ``AIOKafkaProducer.send`` like the processor; flush, then
    commit per poll."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.partitioner import murmur2

    cal = default_calendar()
    book = DossierBook(cal)
    consumer = AIOKafkaConsumer(
        s.events_topic,
        bootstrap_servers=s.kafka_bootstrap,
        group_id=f"{s.processor_app_id}-baseline",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=s.processor_batch,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=s.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=512 * 1024,
    )
    await consumer.start()
    await producer.start()
    facts_topic, state_topic = f"{s.facts_topic}-baseline", f"{s.facts_topic}-baseline-state"
    facts_parts = sorted(await producer.partitions_for(facts_topic))
    done = 0
    started = None
    try:
        while done < n:
            batches = await consumer.getmany(timeout_ms=500, max_records=s.processor_batch)
            if started is None and batches:
                started = time.perf_counter()
            now = int(time.time() * 1000)
            for _tp, recs in batches.items():
                accepted = []
                for r in recs:
                    try:
                        accepted.append(decode_record(r.value, now))
                    except ValueError:
                        pass
                transitions, _fresh = book.apply(accepted)
                by = {}
                for e in accepted:
                    by.setdefault(e["dossier_id"], []).append(e)
                new = {t.dossier_id: t.new for t in transitions}
                facts_out: dict[int, list] = {}
                state_out = []
                for d, evs in by.items():
                    facts = new.get(d)
                    if facts is None:
                        continue
                    key = d.encode()
                    p = facts_parts[(murmur2(key) & 0x7FFFFFFF) % len(facts_parts)]
                    facts_out.setdefault(p, []).append((key, orjson.dumps({"facts": facts, "events": evs})))
                    state_out.append((key, orjson.dumps(book.state(d).to_dict())))
                for p, items in facts_out.items():
                    for key, value in items:
                        await producer.send(facts_topic, value, key=key, partition=p)
                for key, value in state_out:
                    await producer.send(state_topic, value, key=key, partition=_tp.partition)
                done += len(recs)
            await producer.flush()
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    return time.perf_counter() - started


def run_processor(s: LiveSettings, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "motcua.cli.main",
            "run",
            "processor",
            "--datadir",
            str(s.data_dir / f"faust-{s.processor_app_id}"),
        ],
        env=env_of(s),
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
    )


def stop(p: subprocess.Popen) -> None:
    p.terminate()
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--bootstrap")
    ap.add_argument("--partitions", type=int, default=6)
    ap.add_argument("--rate", type=int, default=1000, help="events/s for the freshness run")
    ap.add_argument("--seconds", type=int, default=30, help="length of the freshness run")
    ap.add_argument(
        "--writer-seconds",
        type=float,
        default=0.1,
        help="writer batch age for the freshness run (a flush per partition costs a few "
        "ClickHouse statements and two offset commits)",
    )
    ap.add_argument("--only-freshness", action="store_true", help="skip the throughput runs")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="motcua-bench-"))
    broker = None
    bootstrap = a.bootstrap
    if not bootstrap:
        broker = Broker(work / "kafka", free_port(), free_port()).start()
        bootstrap = broker.bootstrap
    tag = f"bench{int(time.time())}"
    try:
        evs = events(a.events)
        values = [(e["dossier_id"].encode(), encode_avro(dict(e))) for e in evs]
        print(f"{len(evs):,} simulated events; broker {bootstrap}; {a.partitions} partitions", flush=True)

        if not a.only_freshness:
            throughput_runs(a, evs, values, tag, bootstrap, work)

        # 4. freshness at ~1,000 events/s through the gateway
        freshness_run(a, evs, tag, bootstrap, work)
    finally:
        if broker is not None:
            broker.stop()


def throughput_runs(a, evs, values, tag, bootstrap, work) -> None:
    # 1. faust processor (one worker)
    s = settings_for(tag, bootstrap, a.partitions, work)
    ensure_topics(s)
    asyncio.run(preload(bootstrap, s.events_topic, values))
    print(f"load average before the processor run: {load_average()}", flush=True)
    proc = run_processor(s, work / "processor.log")
    sampler = CpuSampler(proc.pid)
    sampler.start()
    times: list = []
    try:
        span, msgs = facts_span(bootstrap, s.facts_topic, len(evs), times)
        time.sleep(0.3)
    finally:
        sampler.done.set()
        stop(proc)
    faust_rate = len(evs) / span
    faust_cpu = sampler.between(*times)
    print(
        f"processor (faust, 1 worker): {faust_rate:,.0f} events/s "
        f"({len(evs):,} events, {msgs:,} facts messages in {span:.1f} s; "
        f"{faust_cpu:.1f} CPU s = {faust_cpu / len(evs) * 1e6:.0f} us/event; "
        f"load average {load_average()})",
        flush=True,
    )

    # 2. baseline: plain aiokafka loop over the same fold, same topic
    base_s = baseline_settings = s
    ensure_topics(baseline_settings.model_copy(update={"facts_topic": f"{s.facts_topic}-baseline"}))
    ensure_topics(baseline_settings.model_copy(update={"facts_topic": f"{s.facts_topic}-baseline-state"}))
    import resource

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t = asyncio.run(baseline(base_s, len(evs)))
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    base_cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime  # incl. its start-up
    base_rate = len(evs) / t
    print(
        f"baseline (aiokafka loop, same fold): {base_rate:,.0f} events/s "
        f"({base_cpu:.1f} CPU s = {base_cpu / len(evs) * 1e6:.0f} us/event; "
        f"load average {load_average()}); faust/baseline time ratio "
        f"{base_rate / faust_rate:.2f}x, CPU ratio {faust_cpu / base_cpu:.2f}x",
        flush=True,
    )

    # 3. end to end: processor + writer from a preloaded topic
    from motcua.adapters.clickhouse_store import ClickHouseStore
    from motcua.live.writer import Writer

    s3 = settings_for(tag + "e2e", bootstrap, a.partitions, work)
    ensure_topics(s3)
    asyncio.run(preload(bootstrap, s3.events_topic, values))
    store = ClickHouseStore(f"chdb://{work / 'store'}?database=e2e")
    carried = [0]
    first_ack = [None]

    def flushed(_b, messages, acked):
        carried[0] += sum(len(m["events"]) for m in messages)
        first_ack[0] = first_ack[0] or acked

    w = Writer(s3, store=store, on_flushed=flushed)
    th = threading.Thread(target=w.run, daemon=True)
    started = time.time()
    proc = run_processor(s3, work / "processor-e2e.log")
    th.start()
    try:
        while carried[0] < len(evs):
            time.sleep(0.2)
    finally:
        w.stop()
        th.join(60)
        stop(proc)
    e2e = time.time() - started
    print(
        f"end to end (processor + writer -> ClickHouse, incl. startup): "
        f"{len(evs) / e2e:,.0f} events/s ({e2e:.1f} s; load average {load_average()})",
        flush=True,
    )


def freshness_run(a, evs, tag, bootstrap, work) -> None:
    from motcua.adapters.clickhouse_store import ClickHouseStore
    from motcua.live.writer import Writer

    s4 = settings_for(tag + "fresh", bootstrap, a.partitions, work).model_copy(
        update={"writer_batch_seconds": a.writer_seconds}
    )
    ensure_topics(s4)
    store4 = ClickHouseStore(f"chdb://{work / 'store'}?database=fresh")
    fresh: list[float] = []

    def observed(_b, messages, acked):
        for m in messages:
            fresh.extend(acked - t / 1000 for t in m.get("ts", ()))

    port = free_port()
    gw = subprocess.Popen(
        [sys.executable, "-m", "motcua.cli.main", "run", "gateway", "--port", str(port)],
        env=env_of(s4),
        stdout=open(work / "gateway.log", "ab"),
        stderr=subprocess.STDOUT,
    )
    proc = run_processor(s4, work / "processor-fresh.log")
    w4 = Writer(s4, store=store4, on_flushed=observed)
    th4 = threading.Thread(target=w4.run, daemon=True)
    th4.start()
    try:
        _wait_http(port)
        time.sleep(8)  # let the processor join its group before measuring
        lines = [encode_json(e) for e in evs[: a.rate * a.seconds]]
        per_tick = max(1, a.rate // 20)
        t0 = time.perf_counter()
        for i in range(0, len(lines), per_tick):
            body = b"\n".join(lines[i : i + per_tick])
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/events",
                data=body,
                method="POST",
                headers={"Content-Type": "application/x-ndjson", "X-API-Key": "bench-key"},
            )
            urllib.request.urlopen(req, timeout=30).read()
            target = t0 + (i // per_tick + 1) / 20
            time.sleep(max(0.0, target - time.perf_counter()))
        sent_rate = len(lines) / (time.perf_counter() - t0)
        deadline = time.time() + 60
        while len(fresh) < len(lines) and time.time() < deadline:
            time.sleep(0.2)
    finally:
        w4.stop()
        th4.join(60)
        stop(proc)
        stop(gw)
    from motcua.live.metrics import INSERT_LATENCY

    def mean_ms(table: str) -> float:
        samples = {
            x.name: x.value
            for m in INSERT_LATENCY.collect()
            for x in m.samples
            if x.labels.get("table") == table
        }
        count = next((v for k, v in samples.items() if k.endswith("_count")), 0)
        total = next((v for k, v in samples.items() if k.endswith("_sum")), 0)
        return total / count * 1000 if count else 0.0

    print(
        f"writer: {w4.flushed_batches:,} batch flushes in the whole run (all stages); mean insert latency "
        f"per flush: events {mean_ms('events'):.0f} ms, rollup+backlog+states {mean_ms('transitions'):.0f} ms",
        flush=True,
    )
    print(
        f"freshness at {sent_rate:,.0f} events/s via the gateway ({len(fresh):,} events, "
        f"writer batch age {a.writer_seconds} s): "
        f"p50 {pct(fresh, 0.5) * 1000:,.0f} ms, p99 {pct(fresh, 0.99) * 1000:,.0f} ms; "
        f"load average {load_average()}",
        flush=True,
    )


def _wait_http(port: int) -> None:
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gateway did not start")


if __name__ == "__main__":
    main()
