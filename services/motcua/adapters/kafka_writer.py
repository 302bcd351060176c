"""The writer's Kafka side (kafka-python): the group subscription, offset commits with
a round's intent in their metadata, and the group-less reading of a round's ranges.

``live/writer.py`` holds the argument these serve (rounds, intents, re-forming); the
round's composition and tokens are pure (``pipeline.rounds.Round``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError, KafkaError, OffsetMetadataTooLargeError
from kafka.structs import OffsetAndMetadata

from ..pipeline.rounds import CommitRejected, Round

log = logging.getLogger("motcua.writer")


def consumer_settings(bootstrap: str) -> dict:
    return dict(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )


def subscribe(
    settings, on_revoked: Callable[[list], None], on_assigned: Callable[[list], None]
) -> KafkaConsumer:
    """The writer group's consumer of the facts and dead-letter topics. The callbacks run
    on kafka-python's IO thread: they must not make blocking consumer calls."""

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            on_revoked(revoked)

        def on_partitions_assigned(self, assigned):
            on_assigned(assigned)

    c = KafkaConsumer(
        group_id=settings.writer_group,
        client_id="motcua-writer",
        max_poll_records=max(500, settings.writer_batch_size),
        max_poll_interval_ms=600_000,
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        heartbeat_interval_ms=int(settings.heartbeat_interval_s * 1000),
        **consumer_settings(settings.kafka_bootstrap),
    )
    c.subscribe([settings.facts_topic, settings.dead_letters_topic], listener=Listener())
    # The topics' metadata before the first join: without it the group leader assigns
    # nothing, then rejoins once the metadata arrives; kafka-python 3.0.12 was seen to
    # hang in that second join (SyncGroup never completed) when writers restart fast.
    for topic in (settings.facts_topic, settings.dead_letters_topic):
        c.partitions_for_topic(topic)
    return c


def intent_offsets(r: Round, tps: list) -> dict:
    """The intent commit: every partition at its first offset, the composition as metadata."""
    meta = r.metadata()
    return {tp: OffsetAndMetadata(r.first_of(tp.partition), meta, -1) for tp in tps}


def final_offsets(r: Round, tps: list) -> dict:
    """The final commit: every partition past its last offset, no metadata."""
    return {tp: OffsetAndMetadata(r.last_of(tp.partition) + 1, "", -1) for tp in tps}


def past(tp, last: int) -> dict:
    """A final commit of one partition after offset ``last``."""
    return {tp: OffsetAndMetadata(last + 1, "", -1)}


def commit(consumer: KafkaConsumer, offsets: dict, stop: threading.Event, max_backoff_s: float) -> None:
    """Commit, retrying what may pass on a retry (timeouts, a coordinator moving: the
    request is idempotent). Raises ``CommitRejected`` when the broker refused the request as a
    whole (group generation gone, or metadata too large), SystemExit when stopped."""
    delay = 0.2
    while True:
        try:
            consumer.commit(offsets)
            return
        except CommitFailedError as err:
            raise CommitRejected(too_large=False) from err
        except OffsetMetadataTooLargeError as err:
            raise CommitRejected(too_large=True) from err
        except KafkaError as err:
            log.warning(
                "offset commit failed; retrying", extra={"error": repr(err)[:300], "backoff_s": delay}
            )
            if stop.wait(delay):
                raise SystemExit(0) from None
            delay = min(delay * 2, max_backoff_s)


def read_round(r: Round, bootstrap: str, stop: threading.Event) -> dict[int, list]:
    """All ranges of a round, whoever owns their partitions now: a group-less consumer
    (assign + seek) that commits nothing. -> partition -> records within its range."""
    ranges = {TopicPartition(r.topic, p): (first, last) for p, first, last in r.parts}
    got: dict[int, list] = {tp.partition: [] for tp in ranges}
    c = KafkaConsumer(group_id=None, client_id="motcua-writer-reform", **consumer_settings(bootstrap))
    try:
        c.assign(list(ranges))
        for tp, (f, _l) in ranges.items():
            c.seek(tp, f)
        todo = set(ranges)
        warn_at = time.monotonic() + 60
        while todo:
            if stop.is_set():
                raise SystemExit(0)
            if time.monotonic() > warn_at:
                warn_at = time.monotonic() + 60
                log.error(
                    "still reading the ranges of an interrupted round",
                    extra={"round": r.token, "missing": sorted(tp.partition for tp in todo)},
                )
            for tp, recs in c.poll(timeout_ms=500).items():
                first, last = ranges[tp]
                got[tp.partition].extend(x for x in recs if first <= x.offset <= last)
            for tp in list(todo):
                if c.position(tp) > ranges[tp][1]:
                    todo.discard(tp)
    finally:
        c.close(autocommit=False)
    return got


def poll_paused(consumer: KafkaConsumer, seconds: float) -> None:
    """Poll with every assigned partition paused: the group membership (heartbeats, the
    poll interval) and rebalances go on, no record is taken. A partition assigned during
    this poll is not paused yet and may return records: they are put back (seek)."""
    consumer.pause(*consumer.assignment())
    for tp, recs in consumer.poll(timeout_ms=max(1, int(seconds * 1000))).items():
        if recs:
            consumer.seek(tp, recs[0].offset)


def resume_all(consumer: KafkaConsumer) -> None:
    paused = consumer.paused()
    if paused:
        consumer.resume(*paused)


def report_lag(consumer: KafkaConsumer, gauge, fresh: bool = False) -> None:
    """Lag per assigned partition into ``gauge`` (labels service, topic, partition): the
    high watermark of the last fetch, or (``fresh``, for paused partitions, which fetch
    nothing) the end offsets asked of the broker."""
    try:
        tps = list(consumer.assignment())
        ends = consumer.end_offsets(tps, timeout_ms=2000) if fresh and tps else {}
        for tp in tps:
            hw = ends.get(tp) if fresh else consumer.highwater(tp)
            pos = consumer.position(tp, timeout_ms=1000)
            if hw is not None and pos is not None:
                gauge.labels("writer", tp.topic, str(tp.partition)).set(max(0, hw - pos))
    except Exception:  # noqa: BLE001 - metrics must never stop the writer
        pass


class KafkaOffsets:
    """``pipeline.ports.OffsetLog`` over the writer group's consumer."""

    def __init__(self, consumer: KafkaConsumer, bootstrap: str, stop: threading.Event, max_backoff_s: float):
        self.consumer, self.bootstrap, self.stop, self.max_backoff_s = (
            consumer,
            bootstrap,
            stop,
            max_backoff_s,
        )

    partition = staticmethod(TopicPartition)
    intent = staticmethod(intent_offsets)
    final = staticmethod(final_offsets)

    def commit(self, offsets: dict) -> None:
        commit(self.consumer, offsets, self.stop, self.max_backoff_s)

    def committed(self, tp) -> tuple[int | None, str | None]:
        c = self.consumer.committed(tp, metadata=True)
        return (None, None) if c is None else (c.offset, c.metadata)

    def seek(self, tp, offset: int) -> None:
        self.consumer.seek(tp, offset)

    def seek_to_beginning(self, tp) -> None:
        self.consumer.seek_to_beginning(tp)

    def assignment(self) -> set:
        return self.consumer.assignment()

    def read_round(self, r: Round) -> dict[int, list]:
        return read_round(r, self.bootstrap, self.stop)


def close(consumer: KafkaConsumer | None) -> None:
    """Leave the group without committing anything more."""
    try:
        if consumer is not None:
            consumer.close(autocommit=False)
    except Exception:  # noqa: BLE001 - closing after a broker loss
        pass
