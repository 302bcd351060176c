"""The processing step shared by the embedded replay and the live processor.

``DossierBook`` keeps the folded state of dossiers and, for a batch of accepted events,
answers "which dossiers changed, from which facts to which facts". ``rollup_deltas``
turns those transitions into signed counter rows for ``kpi_daily``. Nothing here knows
Kafka or ClickHouse: where earlier events of a dossier live is behind ``load_events``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from ..domain.calendar import WorkingCalendar
from ..domain.lifecycle import DossierState, derive_facts
from ..domain.metrics import COUNTERS, backlog_due, contributions

# Loads earlier events of dossiers the book does not hold: ids -> {dossier_id: [events]}.
EventLoader = Callable[[Sequence[str]], dict[str, list[dict]]]


@dataclass(slots=True)
class Transition:
    dossier_id: str
    old: dict | None  # facts before the batch (None: unknown dossier)
    new: dict  # facts after the batch


class DossierBook:
    """Dossier states with a bounded cache; evicted dossiers are reloaded on demand."""

    def __init__(self, cal: WorkingCalendar, load_events: EventLoader | None = None,
                 max_dossiers: int = 2_000_000):
        self.cal = cal
        self.load_events = load_events
        self.max_dossiers = max_dossiers
        self._states: OrderedDict[str, tuple[DossierState, dict | None]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def state(self, dossier_id: str) -> DossierState | None:
        entry = self._states.get(dossier_id)
        return entry[0] if entry else None

    def apply(self, events: Iterable[dict]) -> tuple[list[Transition], list[dict]]:
        """Fold a batch of valid events. Returns one transition per dossier that changed
        and the events that were new (not duplicates of what the book already had)."""
        by_dossier: dict[str, list[dict]] = {}
        for e in events:
            by_dossier.setdefault(e["dossier_id"], []).append(e)
        missing = [d for d in by_dossier if d not in self._states]
        if missing and self.load_events is not None:
            earlier = self.load_events(missing)
            for dossier_id, evs in earlier.items():
                if not evs:
                    continue
                st = DossierState(dossier_id)
                st.absorb_all(evs)
                self._states[dossier_id] = (st, derive_facts(st, self.cal))
        transitions: list[Transition] = []
        fresh: list[dict] = []
        for dossier_id, evs in by_dossier.items():
            entry = self._states.get(dossier_id)
            if entry is None:
                st, old = DossierState(dossier_id), None
            else:
                st, old = entry
                self._states.move_to_end(dossier_id)
            changed = False
            for e in evs:
                if st.absorb(e):
                    fresh.append(e)
                    changed = True
            if not changed:
                continue
            new = derive_facts(st, self.cal)
            self._states[dossier_id] = (st, new)
            transitions.append(Transition(dossier_id, old, new))
        self._evict()
        return transitions, fresh

    def _evict(self) -> None:
        excess = len(self._states) - self.max_dossiers
        for _ in range(max(0, excess)):
            self._states.popitem(last=False)

    def all_facts(self) -> list[dict]:
        return [facts for _st, facts in self._states.values() if facts is not None]


def _rollup_key(f: dict, day: int) -> tuple:
    return (day, f["province_code"], f["unit_level"], f["unit_code"], f["procedure_code"],
            f["field_code"], f["channel"])


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
            if due is None:
                continue
            key = _rollup_key(facts, due)
            acc[key] = acc.get(key, 0) + sign
    return [key + (n,) for key, n in acc.items() if n]


def transition_token_parts(transitions: Sequence[Transition]) -> list[bytes]:
    """What identifies a batch of transitions: each dossier with its old and new version.
    The same transitions always give the same rows, so this is a safe dedup token."""
    parts = sorted(
        f"{t.dossier_id}:{t.old['version'] if t.old else 0}:{t.new['version']}"
        for t in transitions
    )
    return [p.encode() for p in parts]
