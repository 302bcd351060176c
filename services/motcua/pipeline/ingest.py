"""Ingest: raw records -> validated events -> dossier transitions -> the store.

This is the embedded pipeline (``motcua replay``, ``motcua demo``); the live processor and
writer run the same ``decode_record`` and ``DossierBook`` over Kafka instead of files.

Write order per batch is rollup deltas, then dossier states, then raw events, each with a
deduplication token that identifies the batch's content. A crash between two inserts
therefore repeats, on the next run, exactly the inserts that already landed (and
ClickHouse drops them by token) and performs the ones that did not: the events table is
written last because it is what a restarted run rebuilds "old" states from.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import orjson

from ..adapters.clickhouse_bulk import BulkReplayer
from ..adapters.clickhouse_procedures import ProceduresRepository
from ..adapters.clickhouse_store import ClickHouseStore, content_token
from ..adapters.codec import DecodeError, dead_letter_record, file_kind, iter_file, sniff_and_decode
from ..domain.calendar import WorkingCalendar
from ..domain.events import InvalidEvent, validate
from ..reference.catalogue import Catalogue
from .dossiers import DossierBook


@dataclass
class IngestSummary:
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0  # accepted events the store already had
    dossiers_changed: int = 0  # distinct dossiers (a dossier changed by several batches counts once)
    rejected_by_code: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, other: "IngestSummary") -> None:
        self.read += other.read
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.duplicates += other.duplicates
        self.dossiers_changed += other.dossiers_changed
        self.rejected_by_code.update(other.rejected_by_code)


def decode_record(raw: bytes | dict, now_ms: int) -> dict:
    """Bytes (JSON or Avro single-object) or an already-decoded dict -> a valid event.
    Raises DecodeError / InvalidEvent."""
    event = sniff_and_decode(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else dict(raw)
    return validate(event, now_ms)


def rejection(source: str, raw: bytes | dict, err: Exception, stage: str = "validate",
              event: dict | None = None) -> dict:
    """A dead letter for what arrived (``raw``); ``event``: its validated form, when a
    later stage refused it (its ids are then known to be codes)."""
    payload = raw if isinstance(raw, (bytes, bytearray)) else orjson.dumps(raw, default=str)
    code = getattr(err, "code", "INVALID")
    reason = getattr(err, "reason", None) or str(err)
    event_id = dossier_id = None
    ids = event if event is not None else raw
    if isinstance(ids, dict):
        event_id, dossier_id = ids.get("event_id"), ids.get("dossier_id")
        event_id = event_id if isinstance(event_id, str) else None
        dossier_id = dossier_id if isinstance(dossier_id, str) else None
    if isinstance(err, DecodeError):
        stage = "decode"
    return dead_letter_record(source=source, stage=stage, code=code, reason=reason,
                              payload=payload, event_id=event_id, dossier_id=dossier_id)


class EmbeddedPipeline:
    """Batches records into the store through a DossierBook."""

    def __init__(self, store: ClickHouseStore, cal: WorkingCalendar, batch_size: int = 100_000,
                 now_ms: Callable[[], int] | None = None, catalogue: Catalogue | None = None):
        """``catalogue``: procedure_code -> flags for RECEIVED events that leave them out
        (``reference.catalogue``); None reads the one loaded into the store (``motcua
        registry load procedures``), ``{}`` folds without one."""
        self.store = store
        self.cal = cal
        self.batch_size = batch_size
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        self.catalogue = ProceduresRepository(store).catalogue() if catalogue is None else catalogue
        self.book = DossierBook(cal, load_events=self._load_events, catalogue=self.catalogue,
                                load_facts=store.facts_of)
        self.last_timings: list[tuple[str, float, float]] = []  # stages of the last bulk replay

    def _load_events(self, dossier_ids):
        stored = self.store.events_of(dossier_ids)
        return {d: [decode_record(p, None) for p in payloads] for d, payloads in stored.items()}

    def ingest(self, records: Iterable[tuple[str, bytes | dict]],
               progress: Callable[[int], None] | None = None) -> IngestSummary:
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

    def ingest_batch(self, batch: list[tuple[str, bytes | dict]], changed: set[str] | None = None) -> IngestSummary:
        """One batch into the store; ``changed`` collects the ids of the dossiers it changed."""
        s = IngestSummary(read=len(batch))
        now = self.now_ms()
        accepted: list[dict] = []
        raw_of: dict[int, bytes | dict] = {}  # id(event) -> what arrived, stored as payload
        source_of: dict[int, str] = {}
        dead: list[dict] = []
        for source, raw in batch:
            try:
                event = decode_record(raw, now)
            except (DecodeError, InvalidEvent) as err:
                dead.append(rejection(source, raw, err))
                s.rejected_by_code[getattr(err, "code", "INVALID")] += 1
                continue
            accepted.append(event)
            raw_of[id(event)] = raw
            source_of[id(event)] = source
        transitions, new_events, refused = self.book.apply_checked(accepted)
        # Refused by the fold (an event_id reused with other content, an event that does
        # not fold): dead letters like the invalid ones, never counted.
        for event, err in refused:
            dead.append(rejection(source_of[id(event)], raw_of[id(event)], err, stage="fold", event=event))
            s.rejected_by_code[err.code] += 1
        s.accepted, s.rejected = len(accepted) - len(refused), len(dead)
        # Dead letters first: they follow from the input and the stored events alone (a
        # rerun after a crash refuses the same records) and are deduplicated by id.
        self.store.insert_dead_letters(dead)
        s.dossiers_changed = len(transitions)
        if changed is not None:
            changed.update(t.dossier_id for t in transitions)
        s.duplicates = s.accepted - len(new_events)
        self.store.write_transitions(transitions)
        if new_events:
            # The payload is what arrived when it holds exactly the event, else the
            # normalised event (see _payload); a restarted run decodes it with the same
            # decode_record.
            payloads = [_payload(raw_of[id(e)], e) for e in new_events]
            ids = sorted(e["event_id"].encode() for e in new_events)
            self.store.insert_events(new_events, payloads, content_token("events", ids))
        return s

    def replay_files(self, paths: Sequence[str | Path], progress: Callable[[int], None] | None = None,
                     bulk: bool = True) -> IngestSummary:
        """Replay event files. JSON Lines files into an embedded store take the bulk path
        (``adapters.clickhouse_bulk``): ClickHouse reads the files, checks which lines the
        validator would accept unchanged and folds the dossiers made only of such lines that
        the store does not know yet; every other line and dossier goes through
        ``ingest`` here, as in the live processor. Both give the same tables (tested)."""
        paths = [Path(p) for p in paths]
        started = time.perf_counter()
        if not bulk or not self.store.location.embedded or any(file_kind(p) != "json" for p in paths):
            # one pass over all files: a dossier changed by several files counts once
            total = self.ingest((r for p in paths for r in iter_file(p)), progress)
            total.seconds = time.perf_counter() - started
            return total
        replayer = BulkReplayer(self.store, self.cal)
        try:
            clock = _StageClock()
            now = self.now_ms()
            replayer.stage([str(p.resolve()) for p in paths])
            replayer.extract(now)
            clock.lap("check + extract fast lines (SQL)")
            # Slow lines are few; they are decoded here for their dossier id and again by
            # ingest below, which also writes the dead letters of the rejected ones.
            python_dossiers: set[str] = set()
            for _f, _n, line in replayer.slow_lines():
                try:
                    python_dossiers.add(decode_record(line, now)["dossier_id"])
                except (DecodeError, InvalidEvent):
                    continue
            replayer.mark_python(python_dossiers)
            clock.lap("split dossiers")
            dossiers, events, new = replayer.fold(self.catalogue)
            clock.lap("fold + facts (SQL)")
            replayer.write()
            clock.lap("write rollup, backlog, states, events")
            if progress:
                progress(events)
            refs = [str(p) for p in paths]
            total = self.ingest(((f"{refs[f]}:{n}", line) for f, n, line in replayer.python_lines()), progress)
            clock.lap(f"Python path ({total.read:,} records)")
            self.last_timings = clock.laps
            total.read += events
            total.accepted += events
            total.duplicates += events - new
            total.dossiers_changed += dossiers
        finally:
            replayer.drop_scratch()  # the Memory tables hold the replayed lines
        total.seconds = time.perf_counter() - started
        return total


class _StageClock:
    """Wall and CPU seconds (this process, all threads: chDB's included) per stage."""

    def __init__(self):
        self.laps: list[tuple[str, float, float]] = []
        self._t, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, what: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.laps.append((what, now - self._t, cpu - self._cpu))
        self._t, self._cpu = now, cpu


def _payload(raw: bytes | dict, event: dict) -> bytes:
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
