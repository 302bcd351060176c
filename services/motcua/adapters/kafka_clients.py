"""kafka-python clients with the project's settings (admin, idempotent producer, consumer)."""

from __future__ import annotations

import time


def admin_client(bootstrap: str, timeout_s: float = 60.0):
    """An admin client, retrying until the broker answers or ``timeout_s`` passes."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return KafkaAdminClient(
                bootstrap_servers=bootstrap, client_id="motcua-admin", request_timeout_ms=30000
            )
        except (KafkaError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def producer(bootstrap: str, client_id: str = "motcua", linger_ms: int = 5):
    """acks=all, idempotent, ordered per partition; keys and values are bytes."""
    from kafka import KafkaProducer

    return KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        max_in_flight_requests_per_connection=5,
        retries=2**31 - 1,
        linger_ms=linger_ms,
        batch_size=256 * 1024,
        max_request_size=2 * 1024 * 1024,
    )


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """partition -> end offset (what has been written so far)."""
    from kafka import KafkaConsumer, TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap, client_id="motcua-offsets")
    try:
        parts = c.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        return {tp.partition: off for tp, off in c.end_offsets(tps).items()}
    finally:
        c.close()
