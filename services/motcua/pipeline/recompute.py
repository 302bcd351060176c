"""Recompute: refold stored dossiers from their events under today's calendar (and the
procedure catalogue in the store).

Every stored due date, outcome and working-day count was computed with the calendar of
its day. When the calendar is corrected (an official swap the ``holidays`` package did not
know, a province's own notice), ``Recompute`` refolds every dossier received in a window
from its stored events with the current calendar and writes the differences through the
same signed-delta path as new events (``pipeline.rounds.write_transitions``): the rollups
and the panel rollups fed from them stay the sum of the dossiers' stored facts.

A recomputed dossier keeps its version (its number of events) and gets revision r + 1, so
its row outranks the old one in ``dossier_state`` (``state_rank``) while any new event
(version + 1) outranks both; the revision is part of the deduplication tokens, so two
recomputes of one version never share a token.

Crash safety: dossiers are taken in pages of ``batch_size`` ids in id order over the
dossiers received in the window (keyset paging, so the pages depend only on the window
and the page size). A page's transitions are written rollups, backlog, then states, each
with a token naming them. Killed midway, a rerun with the same window and page size finds
the finished pages unchanged (no transition), and the interrupted page with its old
states (the states insert is one insert: all of a page or none), hence the same
transitions and tokens: what landed is dropped, the rest written.

No writer may write the same store meanwhile: a transition is computed from the stored
facts, and a concurrent writer's would be computed from the same old facts (the embedded
store is locked by one process anyway; for a server store, stop the writer).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from ..domain.calendar import WorkingCalendar
from ..domain.lifecycle import DossierState
from ..reference.catalogue import Catalogue
from .batches import decode_record
from .dossiers import Transition, fold_dossier
from .ports import Codec
from .rounds import write_transitions

# Provenance, not figures: a difference only here does not move any count.
STAMPS = ("calendar_version", "revision")


@dataclass
class RecomputeSummary:
    dossiers: int = 0  # received in the window
    changed: int = 0  # figures moved (due date, outcome, working days, catalogue flags, ...)
    restamped: int = 0  # same figures, now recorded as computed with this calendar
    current: int = 0  # already computed with this calendar, nothing to do
    skipped: int = 0  # stored events and state disagree, or the events no longer fold
    due_changed: int = 0  # of ``changed``: the effective due date moved
    outcomes: Counter = field(default_factory=Counter)  # (old outcome, new outcome) of ended ones
    skipped_ids: list[str] = field(default_factory=list)  # the first few, to look at
    seconds: float = 0.0


def figures(facts: dict) -> dict:
    """The facts without their provenance stamps."""
    return {k: v for k, v in facts.items() if k not in STAMPS}


class Recompute:
    def __init__(
        self, store, cal: WorkingCalendar, *, codec: Codec, catalogue: Catalogue, batch_size: int = 5000
    ):
        """``store``: the ClickHouse store (its windowed reads and ``load_calendar`` beside
        the ports); ``catalogue``: the procedure flags for RECEIVED events that leave them
        out, as replay folds with (``motcua.replay.recompute`` passes the one loaded into
        the store), so a recompute after a catalogue load refolds with it too."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.store = store
        self.cal = cal
        self.batch_size = batch_size
        self.codec = codec
        self.catalogue = catalogue

    def pending(self, first: date, last: date) -> int:
        """Dossiers received in the window (what ``run`` will look at)."""
        return sum(n for _v, n, _a, _b in self.store.calendar_version_counts(first, last))

    def run(self, first: date, last: date, progress: Callable[[int], None] | None = None) -> RecomputeSummary:
        started = time.perf_counter()
        summary = RecomputeSummary()
        # the panels' "next working day" and `calendar check` read the calendar in force
        self.store.load_calendar(self.cal)
        after = ""
        while True:
            ids = self.store.received_dossiers(first, last, after, self.batch_size)
            if not ids:
                break
            transitions = self.page(ids, summary)
            write_transitions(self.store, transitions, token_prefix=f"recompute:{self.cal.version}")
            summary.dossiers += len(ids)
            after = ids[-1]
            if progress:
                progress(len(ids))
        summary.seconds = time.perf_counter() - started
        return summary

    def page(self, ids: list[str], summary: RecomputeSummary) -> list[Transition]:
        """The transitions of one page of dossiers (pure given the store's reads)."""
        stored = self.store.facts_of(ids)
        payloads = self.store.events_of(ids)
        out: list[Transition] = []
        for dossier_id in ids:
            old = stored.get(dossier_id)
            new = self.refold(dossier_id, payloads.get(dossier_id, []))
            if old is None or new is None or new["version"] != old["version"]:
                # The events table is written after the states, so a replay interrupted
                # between the two leaves a state ahead of its events: rerunning the replay
                # repairs it; recomputing it from fewer events would not.
                summary.skipped += 1
                if len(summary.skipped_ids) < 10:
                    summary.skipped_ids.append(dossier_id)
                continue
            same = figures(new) == figures(old)
            if same and old.get("calendar_version") == self.cal.version:
                summary.current += 1
                continue
            new["revision"] = old.get("revision", 0) + 1
            out.append(Transition(dossier_id, old, new))
            if same:
                summary.restamped += 1
                continue
            summary.changed += 1
            if new["effective_due_date"] != old["effective_due_date"]:
                summary.due_changed += 1
            if new["outcome"] != old["outcome"]:
                summary.outcomes[(old["outcome"], new["outcome"])] += 1
        return out

    def refold(self, dossier_id: str, payloads: list[bytes]) -> dict | None:
        """The dossier's facts from its stored events under ``self.cal`` (None: none fold).
        Stored events were valid when accepted; the future-event check does not apply."""
        events = []
        for p in payloads:
            try:
                events.append(decode_record(p, None, self.codec))
            except Exception:  # noqa: BLE001 - a stored payload that no longer decodes
                return None
        folded = fold_dossier(
            DossierState(dossier_id), events, self.cal, lambda: DossierState(dossier_id), self.catalogue
        )
        if folded.rejected:
            return None
        return folded.facts
