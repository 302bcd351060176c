"""Ingest: records -> validated events -> dossier transitions -> the store.

The service behind ``motcua replay``, ``motcua demo`` and the imports (the composition
in ``motcua.replay`` adds the ClickHouse bulk path for whole files); the live processor
and writer run the same handlers (``pipeline.batches``, ``pipeline.dossiers``,
``pipeline.rounds``) over Kafka instead.

Write order per batch is dead letters, rollup deltas, backlog deltas, dossier states,
then raw events, each with a deduplication token that identifies the batch's content. A
crash between two inserts therefore repeats, on the next run, exactly the inserts that
already landed (and the store drops them by token) and performs the ones that did not:
the events are written last because they are what a restarted run rebuilds "old" states
from.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import orjson

from ..domain.calendar import WorkingCalendar
from ..reference.catalogue import Catalogue
from .batches import decode_batch, decode_record, rejection
from .dossiers import DossierBook
from .ports import Codec, Store
from .rounds import content_token, write_transitions


@dataclass
class IngestSummary:
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0  # accepted events the store already had
    dossiers_changed: int = 0  # distinct dossiers (a dossier changed by several batches counts once)
    rejected_by_code: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, other: IngestSummary) -> None:
        self.read += other.read
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.duplicates += other.duplicates
        self.dossiers_changed += other.dossiers_changed
        self.rejected_by_code.update(other.rejected_by_code)


class IngestService:
    """Batches records into the store through a DossierBook."""

    def __init__(
        self,
        store: Store,
        cal: WorkingCalendar,
        codec: Codec,
        catalogue: Catalogue,
        batch_size: int = 100_000,
        now_ms: Callable[[], int] | None = None,
    ):
        """``catalogue``: procedure_code -> flags for RECEIVED events that leave them out
        (``reference.catalogue``; ``{}`` folds without one)."""
        self.store = store
        self.cal = cal
        self.codec = codec
        self.batch_size = batch_size
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        self.catalogue = catalogue
        self.book = DossierBook(
            cal, load_events=self._load_events, catalogue=catalogue, load_facts=store.facts_of
        )

    def _load_events(self, dossier_ids):
        stored = self.store.events_of(dossier_ids)
        return {d: [decode_record(p, None, self.codec) for p in payloads] for d, payloads in stored.items()}

    def ingest(
        self, records: Iterable[tuple[str, bytes | dict]], progress: Callable[[int], None] | None = None
    ) -> IngestSummary:
        total = IngestSummary()
        started = time.perf_counter()
        changed: set[str] = set()
        for batch in _batches(records, self.batch_size):
            summary = self.ingest_batch(batch, changed)
            total.add(summary)
            if progress:
                progress(summary.read)
        total.dossiers_changed = len(changed)
        total.seconds = time.perf_counter() - started
        return total

    def ingest_batch(
        self, batch: list[tuple[str, bytes | dict]], changed: set[str] | None = None
    ) -> IngestSummary:
        """One batch into the store; ``changed`` collects the ids of the dossiers it changed."""
        s = IngestSummary(read=len(batch))
        groups, dead = decode_batch(((src, raw, 0) for src, raw in batch), self.now_ms(), self.codec)
        for d in dead:
            s.rejected_by_code[d["code"]] += 1
        accepted = [e for g in groups.values() for e in g.events]
        transitions, new_events, refused = self.book.apply_checked(accepted)
        # Refused by the fold (an event_id reused with other content, an event that does
        # not fold): dead letters like the invalid ones, never counted.
        for event, err in refused:
            source, raw = groups[event["dossier_id"]].origin_of(event)
            dead.append(rejection(self.codec, source, raw, err, stage="fold", event=event))
            s.rejected_by_code[err.code] += 1
        s.accepted, s.rejected = len(accepted) - len(refused), len(dead)
        # Dead letters first: they follow from the input and the stored events alone (a
        # rerun after a crash refuses the same records) and are deduplicated by id.
        self.store.insert_dead_letters(dead)
        s.dossiers_changed = len(transitions)
        if changed is not None:
            changed.update(t.dossier_id for t in transitions)
        s.duplicates = s.accepted - len(new_events)
        write_transitions(self.store, transitions)
        if new_events:
            # The payload is what arrived when it holds exactly the event, else the
            # normalised event (see stored_payload); a restarted run decodes it with the
            # same decode_record.
            payloads = [stored_payload(groups[e["dossier_id"]].origin_of(e)[1], e) for e in new_events]
            ids = sorted(e["event_id"].encode() for e in new_events)
            self.store.insert_events(new_events, payloads, content_token("events", ids))
        return s


def stored_payload(raw: bytes | dict, event: dict) -> bytes:
    """What ``events.payload`` keeps of an accepted event: the JSON line that arrived when
    it is exactly the event in compact form (validate dropped nothing: no free text, no
    unknown, null or other-type field, no repeated key, no extra time_limit key, and
    re-encoding it gives the same bytes; a UTF-8 BOM is left out), so the bulk path's
    fast lines and this path store the same bytes; else the normalised event itself
    (``orjson``, instants as epoch millis, as the live writer stores it). Free text and
    fields the contract does not keep therefore never reach the store."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        body = bytes(raw)
        if body[:3] == b"\xef\xbb\xbf":
            body = body[3:]
        if body[:1] == b"{":
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                parsed = None
            if type(parsed) is dict and len(parsed) == len(event) and orjson.dumps(parsed) == body:
                limit = parsed.get("time_limit")
                if limit is None or len(limit) == 2:
                    return body
    return orjson.dumps(event)


def _batches(records: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for r in records:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
