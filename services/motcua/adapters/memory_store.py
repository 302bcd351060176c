"""An in-memory store: the service layer's ports in plain Python, for fast tests.

It behaves like ``ClickHouseStore`` where the handlers depend on it, and
``tests/contract/store_contract.py`` holds both to that: inserts deduplicated by token
(within the last ``DEDUP_WINDOW`` tokens of a table, as ClickHouse's
``non_replicated_deduplication_window``), events kept once per (dossier, event id),
states ranked by (version, revision) with the highest read back, rollup and backlog rows
summed, dead letters kept once per id, and ``kpi`` computed as the ClickHouse store
does it: additive counters from the rollup rows, instant-dependent counts from the
latest states. ``before_insert(table)`` is called before every insert (tests make it
raise to simulate a crash between two inserts).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from ..domain.calendar import WorkingCalendar
from ..domain.metrics import COUNTERS, GROUPINGS, finish_row, kpi_rows
from ..domain.periods import Period
from ..pipeline.dossiers import ROLLUP_KEYS

DEDUP_WINDOW = 10_000
# What ``kpi`` takes from the states rather than from the rollup (ClickHouseStore.kpi).
STATUS_COUNTS = (
    "carried_over",
    "in_progress_within",
    "in_progress_overdue_end",
    "in_progress",
    "in_progress_overdue",
    "due_soon",
)
# The facts a state row must carry (ClickHouseStore.state_table refuses rows without them).
REQUIRED_FACTS = (
    "dossier_id",
    "version",
    "province_code",
    "unit_code",
    "unit_level",
    "procedure_code",
    "field_code",
    "received",
    "channel",
    "ended",
)


class MemoryStore:
    def __init__(self, before_insert: Callable[[str], None] | None = None):
        self.before_insert = before_insert or (lambda table: None)
        self.events: dict[tuple[str, str], tuple[dict, bytes]] = {}
        self.states: dict[str, dict] = {}
        self.rollup: list[tuple] = []
        self.backlog: list[tuple] = []
        self.dead_letters: dict[str, dict] = {}
        self._tokens: dict[str, OrderedDict[str, None]] = {}
        self.inserts: list[str] = []  # tables, in insert order (dropped repeats excluded)

    # -- writes -----------------------------------------------------------------------
    def _accept(self, table: str, token: str | None) -> bool:
        """Whether an insert into ``table`` with ``token`` is to be applied."""
        self.before_insert(table)
        if token:
            seen = self._tokens.setdefault(table, OrderedDict())
            if token in seen:
                return False
            seen[token] = None
            if len(seen) > DEDUP_WINDOW:
                seen.popitem(last=False)
        self.inserts.append(table)
        return True

    def insert_events(
        self, events: Sequence[dict], payloads: Sequence[bytes], token: str | None = None
    ) -> None:
        if not events or not self._accept("events", token):
            return
        for e, p in zip(events, payloads):
            self.events.setdefault((e["dossier_id"], e["event_id"]), (e, bytes(p)))

    def insert_states(self, facts_rows: Sequence[dict], token: str | None = None) -> None:
        if not facts_rows:
            return
        self.check_states(facts_rows)  # all of the insert or none of it, as in ClickHouse
        if not self._accept("dossier_state", token):
            return
        for f in facts_rows:
            cur = self.states.get(f["dossier_id"])
            if cur is None or _rank(f) >= _rank(cur):
                self.states[f["dossier_id"]] = dict(f)

    @staticmethod
    def check_states(facts_rows: Sequence[dict]) -> None:
        """Raises on facts rows the store cannot hold (``pipeline.rounds.unusable``)."""
        for f in facts_rows:
            missing = [k for k in REQUIRED_FACTS if k not in f]
            if missing:
                raise KeyError(f"facts without {', '.join(missing)}")
            if type(f["version"]) is not int or not isinstance(f["dossier_id"], str):
                raise TypeError("facts with a bad dossier id or version")

    def insert_rollup(self, rows: Sequence[tuple], token: str | None = None) -> None:
        if rows and self._accept("kpi_daily", token):
            self.rollup.extend(tuple(r) for r in rows)

    def insert_backlog(self, rows: Sequence[tuple], token: str | None = None) -> None:
        if rows and self._accept("open_backlog", token):
            self.backlog.extend(tuple(r) for r in rows)

    def insert_dead_letters(self, records: Sequence[dict]) -> None:
        if records and self._accept("dead_letters", None):
            for r in records:
                self.dead_letters[r["dead_letter_id"]] = dict(r)

    # -- reads ------------------------------------------------------------------------
    def events_of(self, dossier_ids: Sequence[str]) -> dict[str, list[bytes]]:
        wanted = set(dossier_ids)
        out: dict[str, list[bytes]] = {}
        for (d, _e), (_event, payload) in self.events.items():
            if d in wanted:
                out.setdefault(d, []).append(payload)
        return out

    def facts_of(self, dossier_ids: Sequence[str]) -> dict[str, dict]:
        return {d: dict(self.states[d]) for d in dossier_ids if d in self.states}

    def stored_dossiers(self, dossier_ids: Sequence[str]) -> set[str]:
        return {d for d in dossier_ids if d in self.states}

    def count(self, table: str, final: bool = True) -> int:
        sizes = {
            "events": len(self.events),
            "dossier_state": len(self.states),
            "dead_letters": len(self.dead_letters),
            "kpi_daily": len(self.rollup),
        }
        return sizes[table]

    def open_backlog(self) -> dict[tuple, int]:
        """Open dossiers per backlog key (due day first), zeros left out."""
        acc: dict[tuple, int] = {}
        for *key, n in self.backlog:
            acc[tuple(key)] = acc.get(tuple(key), 0) + n
        return {k: n for k, n in acc.items() if n}

    def kpi(self, period: Period, as_of_ms: int, by: str, cal: WorkingCalendar) -> list[dict]:
        """KPI rows for a period: additive counters summed from the rollup rows,
        instant-dependent counts from the latest states (``ClickHouseStore.kpi``)."""
        keys = GROUPINGS[by]
        at = [ROLLUP_KEYS.index(k) for k in keys]
        start, end = period.start.toordinal(), period.end.toordinal()
        width = len(ROLLUP_KEYS)
        groups: dict[tuple, dict[str, int]] = {}
        for row in self.rollup:
            if not start <= row[0] < end:
                continue
            c = groups.setdefault(tuple(row[i] for i in at), {})
            for name, v in zip(COUNTERS, row[width:]):
                c[name] = c.get(name, 0) + v
        groups = {k: c for k, c in groups.items() if any(c.values())}
        for pure in kpi_rows(self.states.values(), period, as_of_ms, by, cal):
            status = {name: pure[name] for name in STATUS_COUNTS if pure.get(name)}
            if status:
                groups.setdefault(tuple(pure[k] for k in keys), {}).update(status)
        rows = [finish_row(dict(zip(keys, k)), c) for k, c in groups.items()]
        rows.sort(key=lambda r: tuple(str(r[k]) for k in keys))
        return rows


def _rank(f: dict) -> tuple[int, int]:
    return f["version"], f.get("revision", 0)
