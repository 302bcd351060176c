"""kafka-python clients with the project's settings (admin, idempotent producer, consumer).

kafka-python computes and checks each record batch's CRC-32C; the ``crc32c`` package (a
dependency) makes that C code, else it is pure Python at about 0.4 s of CPU a MiB.
"""

from __future__ import annotations

import time


def uses_c_crc32c() -> bool:
    """Whether kafka-python found the ``crc32c`` package (its C CRC-32C)."""
    from kafka.record import util

    return util.crc32c_c is not None


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


def producer(bootstrap: str, client_id: str = "motcua", linger_ms: int = 5, max_block_ms: int = 60000):
    """acks=all, idempotent, ordered per partition; keys and values are bytes. ``send``
    blocks at most ``max_block_ms`` for metadata or buffer space, then raises."""
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
        max_block_ms=max_block_ms,
    )


def discard_producer(producer) -> None:
    """Close a producer now, dropping the records it still buffers: kafka-python's close()
    would raise from its own flush and leave the sender thread running; its force-close
    fails the pending records, so the close after it returns at once."""
    try:
        producer.flush(timeout=0)
    except Exception:  # records pending: drop them
        sender = getattr(producer, "_sender", None)
        if sender is not None and hasattr(sender, "force_close"):
            sender.force_close()
    try:
        producer.close(timeout=1.0)
    except Exception:  # closing anyway
        pass


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
