"""The processing step shared by the embedded replay and the live processor.

``DossierBook`` keeps the folded state of dossiers and, for a batch of accepted events,
answers "which dossiers changed, from which facts to which facts". ``rollup_deltas``
turns those transitions into signed counter rows for ``kpi_daily``. Nothing here knows
Kafka or ClickHouse: where earlier events of a dossier live is behind ``load_events``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial

from ..domain.calendar import WorkingCalendar
from ..domain.events import InvalidEvent
from ..domain.lifecycle import (
    CONFLICT,
    DUPLICATE,
    NEW,
    DossierState,
    derive_facts,
    effective_state,
    event_digest,
)
from ..domain.metrics import COUNTERS, backlog_due, contributions
from ..reference.catalogue import Catalogue, supply_flags

# Loads earlier events of dossiers the book does not hold: ids -> {dossier_id: [events]}.
EventLoader = Callable[[Sequence[str]], dict[str, list[dict]]]
# Loads the stored facts of dossiers: ids -> {dossier_id: facts} (those with a stored row).
FactsLoader = Callable[[Sequence[str]], dict[str, dict]]


@dataclass(slots=True)
class Transition:
    dossier_id: str
    old: dict | None  # facts before the batch (None: unknown dossier)
    new: dict  # facts after the batch


@dataclass(slots=True)
class Folded:
    """One dossier after a batch of its events (``fold_dossier``)."""

    state: DossierState
    facts: dict | None  # None: the dossier has no event that folds
    fresh: list[dict]  # the new events, in arrival order
    duplicates: int
    rejected: list[tuple[dict, InvalidEvent]]  # conflicting ids, events the fold cannot take


def conflict_error(known: str | None, event: dict) -> InvalidEvent:
    return InvalidEvent(
        "CONFLICTING_DUPLICATE",
        f"event_id already received with other content (stored version "
        f"{known}, this one {event_digest(event)}); the stored version is kept",
    )


def facts_of(state: DossierState, cal: WorkingCalendar, catalogue: Catalogue | None = None) -> dict:
    """``derive_facts``, with the flags the dossier's RECEIVED event leaves out taken from
    the procedure catalogue (``reference.catalogue.supply_flags``; the event wins where
    it speaks). The state itself keeps the events as they are: the catalogue only changes
    facts, so a changed catalogue changes figures on a refold, never stored events."""
    state = effective_state(state)  # a snapshot's received slot takes the catalogue's flags too
    rec = state.received
    if catalogue and rec is not None:
        filled = supply_flags(rec, catalogue)
        if filled is not rec:
            state = replace(state, received=filled)
    return derive_facts(state, cal)


def fold_dossier(
    state: DossierState,
    events: list[dict],
    cal: WorkingCalendar,
    rebuild: Callable[[], DossierState],
    catalogue: Catalogue | None = None,
) -> Folded:
    """Fold a batch of one dossier's (valid) events into ``state`` (mutated) and derive its
    facts. No event may stop a service: should the facts of the result fail (an event the
    validator accepted but the fold cannot take: a bug, or a calendar narrower than the
    contract's instants), the batch is refolded one event at a time from ``rebuild()``
    (the state before the batch) and every event that breaks it is rejected (FOLD_FAILED)
    while the others go on. ``catalogue``: procedure_code -> flags supplied where the
    RECEIVED event leaves them out (``facts_of``)."""
    fresh: list[dict] = []
    rejected: list[tuple[dict, InvalidEvent]] = []
    dups = 0
    try:
        for e in events:
            outcome = state.absorb_checked(e)
            if outcome is NEW:
                fresh.append(e)
            elif outcome is DUPLICATE:
                dups += 1
            else:
                rejected.append((e, conflict_error(state.event_ids[e["event_id"]], e)))
        facts = facts_of(state, cal, catalogue) if state.first is not None else None
        return Folded(state, facts, fresh, dups, rejected)
    except Exception:  # noqa: BLE001 - whatever it is, one dossier must not stop the batch
        return _fold_one_by_one(rebuild(), events, cal, catalogue)


def _fold_one_by_one(
    state: DossierState, events: list[dict], cal: WorkingCalendar, catalogue: Catalogue | None = None
) -> Folded:
    fresh: list[dict] = []
    rejected: list[tuple[dict, InvalidEvent]] = []
    dups = 0
    facts = None
    if state.first is not None:
        try:
            facts = facts_of(state, cal, catalogue)
        except Exception:  # noqa: BLE001 - a stored history the fold cannot take
            facts = None
    for e in events:
        trial = DossierState.from_dict(state.to_dict())
        outcome = trial.absorb_checked(e)
        if outcome is DUPLICATE:
            dups += 1
            continue
        if outcome is CONFLICT:
            rejected.append((e, conflict_error(trial.event_ids[e["event_id"]], e)))
            continue
        try:
            trial_facts = facts_of(trial, cal, catalogue)
        except Exception as err:  # noqa: BLE001
            rejected.append(
                (
                    e,
                    InvalidEvent(
                        "FOLD_FAILED",
                        f"the dossier cannot be folded with this "
                        f"event ({type(err).__name__}: {str(err)[:120]})",
                    ),
                )
            )
            continue
        state, facts = trial, trial_facts
        fresh.append(e)
    return Folded(state, facts, fresh, dups, rejected)


class DossierBook:
    """Dossier states with a bounded cache; evicted dossiers are reloaded on demand."""

    def __init__(
        self,
        cal: WorkingCalendar,
        load_events: EventLoader | None = None,
        max_dossiers: int = 2_000_000,
        catalogue: Catalogue | None = None,
        load_facts: FactsLoader | None = None,
    ):
        self.cal = cal
        self.catalogue = catalogue  # procedure flags for RECEIVED events that leave them out
        self.load_events = load_events
        # A reloaded dossier's "old" facts are the stored ones when given (what the rollups
        # hold for it), not a refold: a catalogue or calendar changed since they were
        # written would otherwise make the signed deltas drift from the stored states.
        self.load_facts = load_facts
        self.max_dossiers = max_dossiers
        self._states: OrderedDict[str, tuple[DossierState, dict | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def state(self, dossier_id: str) -> DossierState | None:
        entry = self._states.get(dossier_id)
        return entry[0] if entry else None

    def facts(self, dossier_id: str) -> dict | None:
        """The dossier's current facts (None: unknown, or no event that folds)."""
        entry = self._states.get(dossier_id)
        return entry[1] if entry else None

    def apply(self, events: Iterable[dict]) -> tuple[list[Transition], list[dict]]:
        """Fold a batch of valid events. Returns one transition per dossier that changed
        and the events that were new (not duplicates of what the book already had)."""
        transitions, fresh, _conflicts = self.apply_checked(events)
        return transitions, fresh

    def apply_checked(
        self, events: Iterable[dict]
    ) -> tuple[list[Transition], list[dict], list[tuple[dict, InvalidEvent]]]:
        """``apply``, and the events rejected by the fold (``fold_dossier``): ids reused
        with other content, events the fold cannot take. They change nothing; the caller
        dead-letters them."""
        by_dossier: dict[str, list[dict]] = {}
        for e in events:
            by_dossier.setdefault(e["dossier_id"], []).append(e)
        missing = [d for d in by_dossier if d not in self._states]
        if missing and self.load_events is not None:
            earlier = self.load_events(missing)
            # The stored facts of every dossier not in the book, also of those without
            # stored events: a batch killed between its states insert and its events
            # insert left facts whose events are not stored. Their "old" facts must be
            # those (what the rollups already count), or the rerun's transitions differ
            # from the first attempt's, hence its rollup token, and the batch's other
            # dossiers were counted twice (the store contract test found it).
            stored = self.load_facts(missing) if self.load_facts is not None else {}
            for dossier_id in missing:
                evs = earlier.get(dossier_id)
                if evs:
                    folded = fold_dossier(
                        DossierState(dossier_id),
                        evs,
                        self.cal,
                        partial(DossierState, dossier_id),
                        self.catalogue,
                    )
                    self._states[dossier_id] = (folded.state, stored.get(dossier_id, folded.facts))
                elif dossier_id in stored:
                    self._states[dossier_id] = (DossierState(dossier_id), stored[dossier_id])
        transitions: list[Transition] = []
        fresh: list[dict] = []
        rejected: list[tuple[dict, InvalidEvent]] = []
        for dossier_id, evs in by_dossier.items():
            entry = self._states.get(dossier_id)
            if entry is None:
                st, old = DossierState(dossier_id), None
            else:
                st, old = entry
                self._states.move_to_end(dossier_id)
            folded = fold_dossier(
                st, evs, self.cal, partial(self._rebuild, dossier_id, entry is not None), self.catalogue
            )
            rejected.extend(folded.rejected)
            if folded.state is not st:  # refolded one event at a time
                self._states[dossier_id] = (folded.state, old)
            if not folded.fresh:
                continue
            assert folded.facts is not None  # a fresh event always folds into facts
            fresh.extend(folded.fresh)
            self._states[dossier_id] = (folded.state, folded.facts)
            transitions.append(Transition(dossier_id, old, folded.facts))
        self._evict()
        return transitions, fresh, rejected

    def _rebuild(self, dossier_id: str, known: bool) -> DossierState:
        """The state of a dossier before the current batch: its stored events (written
        after every batch, so they are exactly the earlier batches)."""
        st = DossierState(dossier_id)
        if known and self.load_events is not None:
            st.absorb_all(self.load_events([dossier_id]).get(dossier_id, []))
        elif known:
            raise RuntimeError(f"cannot rebuild dossier {dossier_id}: no event loader")
        return st

    def _evict(self) -> None:
        excess = len(self._states) - self.max_dossiers
        for _ in range(max(0, excess)):
            self._states.popitem(last=False)

    def all_facts(self) -> list[dict]:
        return [facts for _st, facts in self._states.values() if facts is not None]


# The key columns of a rollup or backlog row, in the order ``_rollup_key`` builds them
# (the stores read rows by this order).
ROLLUP_KEYS = ("day", "province_code", "unit_level", "unit_code", "procedure_code", "field_code", "channel")


def _rollup_key(f: dict, day: int) -> tuple:
    return (
        day,
        f["province_code"],
        f["unit_level"],
        f["unit_code"],
        f["procedure_code"],
        f["field_code"],
        f["channel"],
    )


def rollup_deltas(transitions: Iterable[Transition]) -> list[tuple]:
    """Signed rollup rows: +new contributions − old ones, merged per key, zeros dropped."""
    acc: dict[tuple, list[int]] = {}
    index = {c: i for i, c in enumerate(COUNTERS)}
    width = len(COUNTERS)
    for t in transitions:
        for facts, sign in ((t.old, -1), (t.new, 1)):
            if facts is None:
                continue
            for day, _role, counters in contributions(facts):
                key = _rollup_key(facts, day)
                vec = acc.get(key)
                if vec is None:
                    vec = acc[key] = [0] * width
                for name, v in counters.items():
                    if v:
                        vec[index[name]] += sign * v
    return [key + tuple(vec) for key, vec in acc.items() if any(vec)]


def backlog_deltas(transitions: Iterable[Transition]) -> list[tuple]:
    """Signed open-backlog rows: (due day, province, level, unit, procedure, field,
    channel, ±open), merged per key, zeros dropped."""
    acc: dict[tuple, int] = {}
    for t in transitions:
        for facts, sign in ((t.old, -1), (t.new, 1)):
            due = backlog_due(facts)
            if due is None or facts is None:  # (None facts have no due day)
                continue
            key = _rollup_key(facts, due)
            acc[key] = acc.get(key, 0) + sign
    return [key + (n,) for key, n in acc.items() if n]


def _revision_part(t: Transition) -> str:
    """A recompute keeps the version and raises the revision (see ``pipeline.recompute``):
    the revisions tell two recomputes of one version apart. Empty for new events, so
    their tokens are those of before recomputes existed."""
    new = t.new.get("revision", 0)
    if not new:
        return ""
    return f":r{t.old.get('revision', 0) if t.old else 0}>{new}"


def transition_token_parts(transitions: Sequence[Transition]) -> list[bytes]:
    """What identifies a batch of transitions: each dossier with its old and new version
    (and revision, for a recompute).
    The same transitions always give the same rows, so this is a safe dedup token."""
    parts = sorted(
        f"{t.dossier_id}:{t.old['version'] if t.old else 0}:{t.new['version']}{_revision_part(t)}"
        for t in transitions
    )
    return [p.encode() for p in parts]
