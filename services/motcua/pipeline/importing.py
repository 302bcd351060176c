"""Import what a province already has: DVCQG sync payload files and dossier-list sheets.

Readers (``imports.dvcqg``, ``imports.sheet``) make plain records of the files,
``imports.convert`` makes contract events of them, and the events go through the same
path as ``motcua replay`` (``IngestService``: validation, dead letters, the fold, the
store; into the embedded store, its bulk replay, which gives the same tables), in file
order then line order: the order in which the fold ranks a dossier's snapshots
(the latest one wins). What cannot be read becomes a dead letter with its position and
reason; nothing personal is kept (the readers keep no such field, dead letters hold a
redacted summary of what arrived).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..domain.calendar import WorkingCalendar
from ..imports.convert import Converter, ConvertOptions
from ..imports.model import Problem, ProgressRow, Snapshot
from ..reference.catalogue import Catalogue
from .ingest import IngestService, IngestSummary
from .ports import Codec, Store

DEAD_LETTER_CHUNK = 10_000
# (source position, event) records and a progress callback -> what the pipeline did
Ingest = Callable[[Iterable[tuple[str, dict]], Callable[[int], None] | None], IngestSummary]


@dataclass
class ImportOptions(ConvertOptions):
    batch_size: int = 50_000


@dataclass
class ImportSummary:
    """What an import read and did (printed by ``motcua import``, ``--format json``)."""

    kind: str  # "dvcqg" or "sheet"
    files: list[str] = field(default_factory=list)
    requests: int = 0  # DVCQG requests read
    snapshots: int = 0
    rows: int = 0  # progress rows
    synthetic_rows: int = 0  # rows the sender made up (skipped)
    sheet_rows: int = 0
    dossiers: int = 0  # distinct dossier codes read
    events: int = 0  # events made and sent through the pipeline
    new_events: int = 0
    duplicates: int = 0  # events the store already had (re-sent snapshots and rows)
    dossiers_changed: int = 0
    dead_letters: Counter = field(default_factory=Counter)  # by reason code
    unknown_units: Counter = field(default_factory=Counter)  # unit code -> records
    unknown_procedures: Counter = field(default_factory=Counter)
    inferred: Counter = field(default_factory=Counter)  # note -> records
    sheets: list[dict] = field(default_factory=list)  # per sheet: name, heading row, columns used
    seconds: float = 0.0

    def as_dict(self) -> dict:
        out = asdict(self)
        for name in ("dead_letters", "unknown_units", "unknown_procedures", "inferred"):
            out[name] = dict(getattr(self, name).most_common())
        return out


class Importer:
    """One import into a store (the composition of reader, converter and ingest; built
    over ClickHouse by ``motcua.replay.importer``)."""

    def __init__(
        self,
        store: Store,
        cal: WorkingCalendar,
        options: ImportOptions | None,
        *,
        codec: Codec,
        catalogue: Catalogue,
        now_ms: Callable[[], int] | None = None,
        bulk: Ingest | None = None,
    ):
        """``bulk``: what takes the events instead of ``IngestService.ingest`` (the same
        contract: the embedded store's bulk replay of them, ``replay.EmbeddedPipeline``)."""
        self.store = store
        self.codec = codec
        self.options = options or ImportOptions()
        self.pipeline = IngestService(
            store, cal, codec, catalogue, batch_size=self.options.batch_size, now_ms=now_ms
        )
        self.ingest: Ingest = bulk or self.pipeline.ingest
        self.converter = Converter(self.options, catalogue=catalogue)
        self._dead: list[dict] = []
        self._dossiers: set[str] = set()

    # -- entry points --------------------------------------------------------------------
    def import_dvcqg(
        self, paths: Sequence[str | Path], progress: Callable[[int], None] | None = None
    ) -> ImportSummary:
        """Import DVCQG sync request files (JSON documents or JSON Lines, .gz too)."""
        from ..imports.dvcqg import read_file

        summary = ImportSummary("dvcqg", files=[Path(p).name for p in paths])

        def records() -> Iterator:
            for path in paths:
                for request in read_file(path):
                    if isinstance(request, Problem):
                        yield request
                        continue
                    summary.requests += 1
                    yield from request.records

        return self._run(summary, records(), progress)

    def import_sheet(
        self, path: str | Path, mapping=None, progress: Callable[[int], None] | None = None
    ) -> ImportSummary:
        """Import one dossier-list sheet (XLSX or CSV), one row per dossier."""
        from ..imports.sheet import read_sheet

        read = read_sheet(path, mapping)
        summary = ImportSummary("sheet", files=[Path(path).name], sheet_rows=read.rows)
        summary.sheets.append(
            {
                "file": read.where,
                "sheet": read.sheet,
                "heading_row": read.heading_row,
                "columns": dict(read.columns),
                "ignored": list(read.ignored),
            }
        )
        return self._run(summary, iter(read.records), progress)

    # -- the shared path -------------------------------------------------------------------
    def _run(self, summary: ImportSummary, records: Iterable, progress) -> ImportSummary:
        started = time.perf_counter()
        self._dead, self._dossiers = [], set()
        before = _copy_notes(self.converter.notes)
        result = self.ingest(self._events(records, summary), progress)
        self._flush_dead()
        summary.dossiers = len(self._dossiers)
        summary.new_events = result.accepted - result.duplicates
        summary.duplicates = result.duplicates
        summary.dossiers_changed = result.dossiers_changed
        summary.dead_letters.update(result.rejected_by_code)
        notes = self.converter.notes
        summary.inferred = notes.inferred - before.inferred
        summary.unknown_units = notes.unknown_units - before.unknown_units
        summary.unknown_procedures = notes.unknown_procedures - before.unknown_procedures
        summary.synthetic_rows = notes.synthetic_rows - before.synthetic_rows
        summary.seconds = time.perf_counter() - started
        return summary

    def _events(
        self, records: Iterable[Snapshot | ProgressRow | Problem], summary: ImportSummary
    ) -> Iterator[tuple[str, dict]]:
        """(source position, event) for the pipeline; problems become dead letters."""
        convert = self.converter
        for record in records:
            event: dict | Problem | None
            if isinstance(record, Snapshot):
                summary.snapshots += 1
                self._dossiers.add(record.dossier_id)
                event = convert.snapshot_event(record)
            elif isinstance(record, ProgressRow):
                summary.rows += 1
                self._dossiers.add(record.dossier_id)
                event = convert.row_event(record)
                if event is None:
                    continue
            else:
                event = record
            if isinstance(event, Problem):
                self._dead_letter(event, summary)
                continue
            summary.events += 1
            yield record.where, event

    def _dead_letter(self, problem: Problem, summary: ImportSummary) -> None:
        summary.dead_letters[problem.code] += 1
        self._dead.append(
            self.codec.dead_letter(
                source=problem.where,
                stage="import",
                code=problem.code,
                reason=problem.reason,
                payload=problem.raw or b"{}",
            )
        )
        if len(self._dead) >= DEAD_LETTER_CHUNK:
            self._flush_dead()

    def _flush_dead(self) -> None:
        if self._dead:
            self.store.insert_dead_letters(self._dead)
            self._dead = []


def _copy_notes(notes):
    from ..imports.convert import Conversion

    return Conversion(
        Counter(notes.inferred),
        Counter(notes.unknown_units),
        Counter(notes.unknown_procedures),
        notes.synthetic_rows,
    )
