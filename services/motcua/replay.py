"""The embedded replay: event files into a ClickHouse store (``motcua replay``, ``motcua
demo``, the imports).

A composition, not a service: ``pipeline.ingest.IngestService`` (the handlers every
loop shares) over the ClickHouse store and this codec, with the procedure catalogue
loaded into the store; plus the ClickHouse bulk path for whole JSON Lines files
(``adapters.clickhouse_bulk``), which must give the same tables (tested).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import orjson

from .adapters.clickhouse_bulk import BulkReplayer
from .adapters.clickhouse_procedures import ProceduresRepository
from .adapters.clickhouse_store import ClickHouseStore
from .adapters.codec import CODEC, DecodeError, decode_record, file_kind, iter_file
from .domain.calendar import WorkingCalendar
from .domain.events import InvalidEvent
from .pipeline.importing import Importer, ImportOptions
from .pipeline.ingest import IngestService, IngestSummary
from .pipeline.recompute import Recompute
from .reference.catalogue import Catalogue


def store_catalogue(store: ClickHouseStore) -> Catalogue:
    """The procedure catalogue loaded into the store (``motcua registry load procedures``)."""
    return ProceduresRepository(store).catalogue()


def importer(
    store: ClickHouseStore,
    cal: WorkingCalendar,
    options: ImportOptions | None = None,
    catalogue: Catalogue | None = None,
    now_ms: Callable[[], int] | None = None,
) -> Importer:
    """An ``Importer`` over this store and codec (``catalogue`` None: the store's); into
    an embedded store the events take the bulk replay (``EmbeddedPipeline.ingest_bulk``)."""
    catalogue = store_catalogue(store) if catalogue is None else catalogue
    bulk = None
    if store.location.embedded:
        batch = (options or ImportOptions()).batch_size
        bulk = EmbeddedPipeline(store, cal, batch, now_ms=now_ms, catalogue=catalogue).ingest_bulk
    return Importer(store, cal, options, codec=CODEC, catalogue=catalogue, now_ms=now_ms, bulk=bulk)


def recompute(
    store: ClickHouseStore, cal: WorkingCalendar, batch_size: int = 5000, catalogue: Catalogue | None = None
) -> Recompute:
    """A ``Recompute`` over this store and codec (``catalogue`` None: the store's)."""
    return Recompute(
        store,
        cal,
        codec=CODEC,
        batch_size=batch_size,
        catalogue=store_catalogue(store) if catalogue is None else catalogue,
    )


class EmbeddedPipeline:
    """Records and event files into one ClickHouse store."""

    def __init__(
        self,
        store: ClickHouseStore,
        cal: WorkingCalendar,
        batch_size: int = 100_000,
        now_ms: Callable[[], int] | None = None,
        catalogue: Catalogue | None = None,
    ):
        """``catalogue``: procedure_code -> flags for RECEIVED events that leave them out
        (``reference.catalogue``); None reads the one loaded into the store (``motcua
        registry load procedures``), ``{}`` folds without one."""
        self.store = store
        self.cal = cal
        self.catalogue = store_catalogue(store) if catalogue is None else catalogue
        self.service = IngestService(store, cal, CODEC, self.catalogue, batch_size=batch_size, now_ms=now_ms)
        self.now_ms = self.service.now_ms
        self.book = self.service.book
        self.last_timings: list[tuple[str, float, float]] = []  # stages of the last bulk replay

    def ingest(
        self, records: Iterable[tuple[str, bytes | dict]], progress: Callable[[int], None] | None = None
    ) -> IngestSummary:
        return self.service.ingest(records, progress)

    def ingest_batch(
        self, batch: list[tuple[str, bytes | dict]], changed: set[str] | None = None
    ) -> IngestSummary:
        return self.service.ingest_batch(batch, changed)

    def replay_files(
        self, paths: Sequence[str | Path], progress: Callable[[int], None] | None = None, bulk: bool = True
    ) -> IngestSummary:
        """Replay event files. JSON Lines files into an embedded store take the bulk path
        (``adapters.clickhouse_bulk``): ClickHouse reads the files, checks which lines the
        validator would accept unchanged and folds the dossiers made only of such lines that
        the store does not know yet; every other line and dossier goes through
        ``ingest`` here, as in the live processor. Both give the same tables (tested)."""
        files = [Path(p) for p in paths]
        started = time.perf_counter()
        if not bulk or not self.store.location.embedded or any(file_kind(p) != "json" for p in files):
            # one pass over all files: a dossier changed by several files counts once
            total = self.ingest((r for p in files for r in iter_file(p)), progress)
        else:
            refs = [str(p) for p in files]
            total = _bulk_replay(
                self, [str(p.resolve()) for p in files], lambda f, n: f"{refs[f]}:{n}", progress
            )
        total.seconds = time.perf_counter() - started
        return total

    def ingest_bulk(
        self, records: Iterable[tuple[str, dict]], progress: Callable[[int], None] | None = None
    ) -> IngestSummary:
        """Records (source position, event) through the bulk path, as ``ingest`` would take
        them: the events are written to a JSON Lines file (``orjson``: what the Python path
        stores of them), their positions to a second file line by line, and the file is
        replayed; a line that takes the Python path keeps its own position (dead letters
        name it). ``progress`` counts the events written. A server store: ``ingest``."""
        if not self.store.location.embedded:
            return self.ingest(records, progress)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="motcua-bulk-") as tmp:
            events, sources = Path(tmp) / "events.jsonl", Path(tmp) / "sources.txt"
            _write_events(records, events, sources, progress)
            with open(sources, "rb") as where:
                total = _bulk_replay(self, [str(events)], _LineAt(where), None)
        total.seconds = time.perf_counter() - started
        return total


def _write_events(
    records: Iterable[tuple[str, dict]], events: Path, sources: Path, progress: Callable[[int], None] | None
) -> None:
    """Each event as a JSON line in ``events``, its position as the same line of ``sources``."""
    with open(events, "wb") as out, open(sources, "wb") as where:
        n = 0
        for ref, event in records:
            out.write(orjson.dumps(event) + b"\n")
            where.write(ref.replace("\n", " ").encode("utf-8", "replace") + b"\n")
            n += 1
            if progress and n % 20_000 == 0:
                progress(20_000)
    if progress and n % 20_000:
        progress(n % 20_000)


def _bulk_replay(
    pipeline: EmbeddedPipeline,
    paths: list[str],
    ref_of: Callable[[int, int], str],
    progress: Callable[[int], None] | None,
) -> IngestSummary:
    """The bulk replay of JSON Lines files (absolute paths): SQL for the dossiers it can
    fold, ``pipeline.ingest`` for the rest; ``ref_of(file index, line number)`` is the
    source position of a line that takes the Python path."""
    replayer = BulkReplayer(pipeline.store, pipeline.cal)
    try:
        clock = _StageClock()
        now = pipeline.now_ms()
        replayer.stage(paths)
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
        dossiers, events, new = replayer.fold(pipeline.catalogue)
        clock.lap("fold + facts (SQL)")
        replayer.write()
        clock.lap("write rollup, backlog, states, events")
        if progress:
            progress(events)
        total = pipeline.ingest(((ref_of(f, n), line) for f, n, line in replayer.python_lines()), progress)
        clock.lap(f"Python path ({total.read:,} records)")
        pipeline.last_timings = clock.laps
        total.read += events
        total.accepted += events
        total.duplicates += events - new
        total.dossiers_changed += dossiers
    finally:
        replayer.drop_scratch()  # the Memory tables hold the replayed lines
    return total


class _LineAt:
    """``ref_of`` over a file of positions, one a line: line n of it for line n of the one
    events file (the Python lines of a bulk replay come in rising line order)."""

    def __init__(self, fh):
        self._fh, self._n, self._line = fh, 0, b""

    def __call__(self, _f: int, n: int) -> str:
        while self._n < n:
            self._line = self._fh.readline()
            self._n += 1
        return self._line.rstrip(b"\n").decode("utf-8")


class _StageClock:
    """Wall and CPU seconds (this process, all threads: chDB's included) per stage."""

    def __init__(self):
        self.laps: list[tuple[str, float, float]] = []
        self._t, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, what: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.laps.append((what, now - self._t, cpu - self._cpu))
        self._t, self._cpu = now, cpu
