"""A three-broker KRaft cluster (devtools.kafka_broker.Cluster, real broker processes):
the project's topics replicated three times with min.insync.replicas 2 from settings; an
acks=all idempotent producer keeps every acknowledged record through the loss of one
broker, is refused (not silently accepted) below the minimum of in-sync replicas, and
everything acknowledged is there after the brokers come back."""

from __future__ import annotations

import asyncio
import time

import pytest
from devtools.kafka_broker import Cluster

from motcua.live.config import LiveSettings
from motcua.live.topics import ensure_topics

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.fault]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"), n=3).start()
    yield c
    c.stop()


def settings(c: Cluster) -> LiveSettings:
    return LiveSettings(
        kafka_bootstrap=c.bootstrap,
        events_topic="c-events",
        facts_topic="c-facts",
        dead_letters_topic="c-dead",
        processor_app_id="c-processor",
        replication_factor=3,
        min_insync_replicas=2,
    )


async def send(bootstrap: str, topic: str, keys: range, wait_s: float = 60.0) -> list[int]:
    """The keys whose records were acknowledged (acks=all, idempotent) within ``wait_s``
    each (the producer retries a refused record until then: NOT_ENOUGH_REPLICAS is
    retriable)."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.errors import KafkaError

    p = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, retry_backoff_ms=200
    )
    acked: list[int] = []
    try:
        await asyncio.wait_for(p.start(), wait_s)
    except (KafkaError, TimeoutError):  # no metadata at all: nothing acknowledged
        await p.stop()
        return acked
    try:
        for k in keys:
            try:
                await asyncio.wait_for(
                    p.send_and_wait(topic, key=str(k).encode(), value=b"v%d" % k, partition=k % 6), wait_s
                )
                acked.append(k)
            except (KafkaError, TimeoutError):
                pass
    finally:
        try:
            await asyncio.wait_for(p.stop(), wait_s)
        except (KafkaError, TimeoutError):
            pass
    return acked


async def read_all(bootstrap: str, topic: str) -> set[int]:
    from aiokafka import AIOKafkaConsumer

    c = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await c.start()
    got: set[int] = set()
    try:
        while True:
            batch = await c.getmany(timeout_ms=3000)
            if not batch:
                return got
            for recs in batch.values():
                got.update(int(r.key) for r in recs)
    finally:
        await c.stop()


def test_replicated_topics_survive_one_broker_and_refuse_below_min_isr(cluster):
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    s = settings(cluster)
    assert set(ensure_topics(s)) >= {"c-events", "c-facts", "c-dead"}
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        (meta,) = admin.describe_topics(["c-events"])
        assert {len(p["replica_nodes"]) for p in meta["partitions"]} == {3}
        conf = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "c-events")])
        assert conf["topic"]["c-events"]["min.insync.replicas"]["value"] == "2"
    finally:
        admin.close()

    ok = asyncio.run(send(cluster.bootstrap, "c-events", range(300)))
    assert ok == list(range(300))
    cluster.nodes[0].kill()  # one broker lost: still accepted
    ok = asyncio.run(send(cluster.bootstrap, "c-events", range(300, 600)))
    assert ok == list(range(300, 600))
    cluster.nodes[1].kill()  # below min ISR: refused, not accepted silently
    refused = asyncio.run(send(cluster.bootstrap, "c-events", range(600, 601), wait_s=6))
    assert refused == []
    cluster.nodes[0].start(wait=False)
    cluster.nodes[1].start(wait=False)
    for b in cluster.nodes:
        b.wait_ready(300)  # a JVM restarting on a loaded 2-core machine
    ok = asyncio.run(send(cluster.bootstrap, "c-events", range(606, 700)))
    assert ok == list(range(606, 700))
    got = asyncio.run(read_all(cluster.bootstrap, "c-events"))
    # everything acknowledged is there; a refused record may still have been written by
    # the one broker left (not acknowledged, so the sender retries it: at-least-once)
    assert set(range(600)) | set(range(606, 700)) <= got <= set(range(700))


def until(what: str, check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.5)


def test_the_gateway_probe_is_down_below_the_minimum_of_in_sync_replicas(cluster):
    from motcua.live.gateway import ProbedKafkaLink

    # every partition has a leader after one broker is lost; with a minimum of three in
    # sync every acks=all write would be refused, so the gateway must say it is down
    s = settings(cluster).model_copy(update={"min_insync_replicas": 3, "gateway_health_interval_s": 0.5})
    link = ProbedKafkaLink(s).start()
    try:
        until("healthy with all replicas in sync", lambda: link.healthy, 300)
        cluster.nodes[2].kill()
        # the controller drops the lost broker from the ISR once its session times out
        below = "in-sync replicas, fewer than min.insync.replicas=3"
        until("down for the ISR", lambda: below in (link.state().get("reason") or ""), 120)
        assert not link.healthy
        cluster.nodes[2].start(wait=False)
        cluster.nodes[2].wait_ready(300)
        until("healthy again once the broker caught up", lambda: link.healthy, 300)
    finally:
        link.close(5)
