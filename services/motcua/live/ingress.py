"""The front door shared by the gateway and ``motcua publish``: validate records against
the contract, Avro-encode the good ones onto the events topic keyed by dossier_id, and
send the bad ones to the dead-letter topic with their reason."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..adapters.codec import CODEC, DecodeError, decode_record, encode_avro, encode_dead_letter
from ..domain.events import InvalidEvent
from ..pipeline.batches import rejection
from .metrics import DEAD_LETTERS, EVENTS_ACCEPTED, EVENTS_IN


@dataclass
class Submitted:
    accepted: int = 0
    rejected: list[dict] = field(default_factory=list)  # {"index", "code", "reason"}
    futures: list = field(default_factory=list)


class Ingress:
    def __init__(self, producer, events_topic: str, dead_letters_topic: str, service: str):
        self.producer = producer
        self.events_topic = events_topic
        self.dead_letters_topic = dead_letters_topic
        self.service = service

    def submit(self, records, now_ms: int | None = None) -> Submitted:
        """records: iterable of (source_ref, raw bytes | dict). Sends without waiting;
        ``wait(result)`` blocks until Kafka acknowledged (acks=all)."""
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        out = Submitted()
        send = self.producer.send
        n = 0
        for i, (source, raw) in enumerate(records):
            n += 1
            try:
                event = decode_record(raw, now)
            except (DecodeError, InvalidEvent) as err:
                self.dead_letter(rejection(CODEC, source, raw, err, stage="gateway"), out)
                out.rejected.append({"index": i, "code": err.code, "reason": err.reason})
                continue
            out.futures.append(
                send(self.events_topic, key=event["dossier_id"].encode(), value=encode_avro(event))
            )
            out.accepted += 1
        EVENTS_IN.labels(self.service).inc(n)
        EVENTS_ACCEPTED.labels(self.service).inc(out.accepted)
        return out

    def dead_letter(self, record: dict, out: Submitted | None = None) -> None:
        fut = self.producer.send(
            self.dead_letters_topic, key=record["dead_letter_id"].encode(), value=encode_dead_letter(record)
        )
        DEAD_LETTERS.labels(self.service, record["code"]).inc()
        if out is not None:
            out.futures.append(fut)

    @staticmethod
    def wait(result: Submitted, timeout_s: float = 30.0) -> None:
        for f in result.futures:
            f.get(timeout=timeout_s)
