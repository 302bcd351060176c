"""The dossier lifecycle fold.

A dossier's state is built from its events by ``DossierState.absorb``. The state is a
join-semilattice: every part is either "the least event of a kind by the ordering key" or
"the set of events of a kind", so absorbing is commutative, associative and idempotent.
The same set of events gives the same state whatever the order and however many
duplicates arrived; no re-sorting or event log is needed, and two partial states can be
merged (``merge``), which is what a restarted or rebalanced worker relies on.

``derive_facts`` turns a state into the flat facts docs/metrics.md#facts defines (received,
due date, supplement pauses, end, outcome, ...). Facts that depend on "now" (in progress,
overdue, due soon) are *not* frozen here: ``status_at`` evaluates them for any instant.

Snapshots (contract v2). A ``SNAPSHOT`` event is what the source says the dossier *is*
(a DVCQG DongBoHoSoMC item, a row of a dossier-list sheet), so a later one corrects an
earlier one. "Later" is the order in which the fold first saw them: a snapshot without a
``snapshot_rank`` is stamped with one more than the greatest rank the dossier has (the
stamped event is what gets stored, so a refold from the store sees the same ranks), and
the snapshot with the greatest rank is the dossier's ``snapshot``. A snapshot already
seen (the same content: ``event_digest`` leaves the rank out) is a duplicate and takes
its first rank back, so a re-sent old snapshot changes nothing. Given their ranks, the
state is still a semilattice: the greatest rank wins whatever the order of arrival, and
ordinary events (progress rows) fold exactly as before. ``effective_state`` then reads
the latest snapshot over the ordinary events (see its docstring for the rules).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from .calendar import (
    MS_PER_HOUR,
    WorkingCalendar,
    end_of_local_day_ms,
    local_day_number,
)
from .events import END_TYPES, EXTRA_FIELDS, RANK_FIELD, hex_as_letters

NO_SEQUENCE = 1 << 62  # events without a sequence sort after sequenced ones

# The kinds of "least event" the state keeps, and the event types feeding each.
FIRST_OF = {
    "RECEIVED": "received",
    "SUBMITTED": "submitted",
    "RESOLVED": "resolved",
    "RESULT_RETURNED": "returned",
}
LAST_OF = {"DIGITISED": "digitised", "RATED": "rated"}
ENDS = frozenset(END_TYPES)
NEUTRAL_ENDS = frozenset(("STOPPED", "REJECTED", "WITHDRAWN"))  # count as on time
ONLINE_METHODS = frozenset(("ONLINE_DVCQG", "ONLINE_LOCAL"))

EARLY, ON_TIME, LATE = "EARLY", "ON_TIME", "LATE"

# A slot keeps only the fields of its event that order_key and derive_facts read: the
# state is the live processor's table value, written to its changelog for every changed
# dossier, so its size is throughput (a whole event is ~350 bytes of JSON).
SLOTS = ("first", "received", "submitted", "end", "resolved", "returned", "digitised", "rated", "snapshot")
_ORDER = ("event_id", "sequence", "occurred_at")
_ENVELOPE = ("province_code", "unit_code", "unit_level", "procedure_code", "field_code")
SLOT_FIELDS = {
    "first": _ORDER + _ENVELOPE,
    "received": _ORDER
    + _ENVELOPE
    + ("channel", "online_service", "has_fee", "requires_paper_result", "due_at", "time_limit"),
    "submitted": _ORDER + ("channel", "online_service"),
    "end": _ORDER + ("event_type",),
    "resolved": _ORDER + ("electronic_result",),
    "returned": _ORDER + ("return_channel",),
    "digitised": _ORDER
    + (
        "components_total",
        "components_digitised",
        "components_reused",
        "from_personal_store",
        "population_data_used",
    ),
    "rated": _ORDER + ("rating",),
    "snapshot": _ORDER + _ENVELOPE + tuple(EXTRA_FIELDS["SNAPSHOT"]),
}
_OPTIONAL_SLOTS = ("snapshot",)  # absent from states written before contract v2
# TrangThaiHoSo codes after which a dossier is ended (766: 3, 7, 8, 9, 10).
ENDED_STATUSES = frozenset((3, 7, 8, 9, 10))


NEW, DUPLICATE, CONFLICT = "new", "duplicate", "conflict"


def event_digest(event: dict) -> str:
    """What an event says, as 16 letters (a 64-bit hash): the same for every encoding of
    the same validated event (instants are ints, absent optional fields dropped),
    different when any field differs. One event_id with two digests is a conflict. A
    snapshot's rank is not part of what it says (see the module doc)."""
    if RANK_FIELD in event:
        event = {k: v for k, v in event.items() if k != RANK_FIELD}
    h = hashlib.blake2b(orjson.dumps(event, option=orjson.OPT_SORT_KEYS), digest_size=8)
    return hex_as_letters(h.hexdigest())


def order_key(event: dict) -> tuple:
    """Source sequence first (when given), then occurred_at, then event_id."""
    seq = event.get("sequence")
    return (NO_SEQUENCE if seq is None else seq, event["occurred_at"], event["event_id"])


@dataclass(slots=True)
class DossierState:
    """Everything the metrics need from a dossier's events (see module doc)."""

    dossier_id: str
    # event_id -> digest of its content (None: unknown, in a state written before digests)
    event_ids: dict = field(default_factory=dict)
    first: dict | None = None  # least event of any type (envelope fallback)
    received: dict | None = None
    submitted: dict | None = None
    end: dict | None = None  # least event of an END type
    resolved: dict | None = None
    returned: dict | None = None
    digitised: dict | None = None  # greatest DIGITISED: the latest count wins
    rated: dict | None = None  # greatest RATED: a citizen may re-rate
    snapshot: dict | None = None  # the SNAPSHOT of greatest rank: the latest word of the source
    snapshot_ranks: dict = field(default_factory=dict)  # SNAPSHOT event_id -> its rank
    supplements: dict = field(default_factory=dict)  # event_id -> (key, type, occurred_at)
    extensions: dict = field(default_factory=dict)  # event_id -> (occurred_at, apology)
    online_payment: bool = False
    payment_requested: bool = False
    first_key: tuple | None = None  # order_key(first), cached: every event is compared to it

    def absorb(self, event: dict) -> bool:
        """Fold one event in. Returns False when its event_id was already known."""
        return self.absorb_checked(event) is NEW

    def absorb_checked(self, event: dict) -> str:
        """Fold one event in: NEW; DUPLICATE when its event_id is known with the same
        content; CONFLICT when the id is known with other content (nothing changes: the
        first version of an id stays, the other is for a person to look at)."""
        eid = event["event_id"]
        digest = event_digest(event)
        known = self.event_ids.get(eid, False)
        etype = event["event_type"]
        if known is not False:
            if known is None or known == digest:
                if etype == "SNAPSHOT" and eid in self.snapshot_ranks:
                    event[RANK_FIELD] = self.snapshot_ranks[eid]  # stored as first seen
                return DUPLICATE
            return CONFLICT
        self.event_ids[eid] = digest
        if etype == "SNAPSHOT":
            self._absorb_snapshot(event)
        key = order_key(event)
        if self.first_key is None or key < self.first_key:
            self.first = _trim(event, SLOT_FIELDS["first"])
            self.first_key = key
        slot = FIRST_OF.get(etype)
        if slot is not None:
            current = getattr(self, slot)
            if current is None or key < order_key(current):
                setattr(self, slot, _trim(event, SLOT_FIELDS[slot]))
        slot = LAST_OF.get(etype)
        if slot is not None:
            current = getattr(self, slot)
            if current is None or key > order_key(current):
                setattr(self, slot, _trim(event, SLOT_FIELDS[slot]))
        if etype in ENDS and (self.end is None or key < order_key(self.end)):
            self.end = _trim(event, SLOT_FIELDS["end"])
        if etype == "SUPPLEMENT_REQUESTED" or etype == "SUPPLEMENT_RECEIVED":
            self.supplements[eid] = (key, etype, event["occurred_at"])
        elif etype == "PROCESSING" and event.get("resumes"):
            # back in processing (DVCQG TrangThai 4): answers an open supplement request
            self.supplements[eid] = (key, "SUPPLEMENT_RECEIVED", event["occurred_at"])
        elif etype == "DEADLINE_EXTENDED":
            self.extensions[eid] = (event["occurred_at"], bool(event.get("apology_issued")))
        elif etype == "PAYMENT_COMPLETED":
            if event.get("method") in ONLINE_METHODS:
                self.online_payment = True
        elif etype == "PAYMENT_REQUESTED":
            self.payment_requested = True
        return NEW

    def _absorb_snapshot(self, event: dict) -> None:
        """Rank a new snapshot (stamping it when it comes without one) and keep it when
        it is the latest."""
        rank = event.get(RANK_FIELD)
        if rank is None:
            rank = event[RANK_FIELD] = max(self.snapshot_ranks.values(), default=0) + 1
        self.snapshot_ranks[event["event_id"]] = rank
        if self.snapshot is None or _snapshot_key(event) > _snapshot_key(self.snapshot):
            self.snapshot = _trim(event, SLOT_FIELDS["snapshot"])

    def absorb_all(self, events: Iterable[dict]) -> bool:
        changed = False
        for e in events:
            changed |= self.absorb(e)
        return changed

    def merge(self, other: DossierState) -> None:
        """Join another partial state of the same dossier into this one (the semilattice
        join: least/greatest per slot, union of sets, OR of flags)."""
        for eid, digest in other.event_ids.items():
            if self.event_ids.get(eid) is None:
                self.event_ids[eid] = digest
        if other.first_key is not None and (self.first_key is None or other.first_key < self.first_key):
            self.first, self.first_key = other.first, other.first_key
        for name in ("received", "submitted", "end", "resolved", "returned"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if theirs is not None and (mine is None or order_key(theirs) < order_key(mine)):
                setattr(self, name, theirs)
        for name in ("digitised", "rated"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if theirs is not None and (mine is None or order_key(theirs) > order_key(mine)):
                setattr(self, name, theirs)
        if other.snapshot is not None and (
            self.snapshot is None or _snapshot_key(other.snapshot) > _snapshot_key(self.snapshot)
        ):
            self.snapshot = other.snapshot
        for eid, rank in other.snapshot_ranks.items():
            self.snapshot_ranks.setdefault(eid, rank)
        self.supplements.update(other.supplements)
        self.extensions.update(other.extensions)
        self.online_payment |= other.online_payment
        self.payment_requested |= other.payment_requested

    # -- serialisation (Faust table values, caches) -------------------------------
    def to_dict(self) -> dict:
        return {
            "dossier_id": self.dossier_id,
            "event_ids": dict(sorted(self.event_ids.items())),
            "first": self.first,
            "received": self.received,
            "submitted": self.submitted,
            "end": self.end,
            "resolved": self.resolved,
            "returned": self.returned,
            "digitised": self.digitised,
            "rated": self.rated,
            "snapshot": self.snapshot,
            "snapshot_ranks": dict(sorted(self.snapshot_ranks.items())),
            "supplements": {k: [list(v[0]), v[1], v[2]] for k, v in self.supplements.items()},
            "extensions": {k: [v[0], v[1]] for k, v in self.extensions.items()},
            "online_payment": self.online_payment,
            "payment_requested": self.payment_requested,
        }

    @classmethod
    def from_dict(cls, d: dict) -> DossierState:
        """Reads ``to_dict``'s form (also one with whole events in the slots, written by
        a processor before slots were trimmed: they are trimmed here)."""
        s = cls(d["dossier_id"])
        ids = d["event_ids"]  # a list in states written before content digests
        s.event_ids = dict(ids) if isinstance(ids, dict) else dict.fromkeys(ids)
        for name in SLOTS:
            event = d.get(name) if name in _OPTIONAL_SLOTS else d[name]
            setattr(s, name, None if event is None else _trim(event, SLOT_FIELDS[name]))
        s.snapshot_ranks = dict(d.get("snapshot_ranks") or {})
        s.first_key = order_key(s.first) if s.first is not None else None
        s.supplements = {k: (tuple(v[0]), v[1], v[2]) for k, v in d["supplements"].items()}
        s.extensions = {k: (v[0], v[1]) for k, v in d["extensions"].items()}
        s.online_payment = d["online_payment"]
        s.payment_requested = d["payment_requested"]
        return s


def _snapshot_key(snapshot: dict) -> tuple:
    return (snapshot.get(RANK_FIELD, 0), snapshot["event_id"])


def _trim(event: dict, fields: tuple) -> dict:
    return {k: event[k] for k in fields if k in event}


def fold(dossier_id: str, events: Iterable[dict]) -> DossierState:
    state = DossierState(dossier_id)
    state.absorb_all(events)
    return state


# -- facts ------------------------------------------------------------------------

FAR_FUTURE_MS = 4102444800000  # 2100-01-01, "pause still open"


def _pauses(state: DossierState, until_ms: int | None) -> tuple[list[tuple[int, int]], list[int]]:
    """Supplement pauses as (start_ms, end_ms) with FAR_FUTURE_MS for an open one, and the
    instants of the supplement requests. Only events up to ``until_ms`` (the end) count."""
    pauses: list[tuple[int, int]] = []
    requests: list[int] = []
    open_start: int | None = None
    for _key, etype, at in sorted(state.supplements.values()):
        if until_ms is not None and at > until_ms:
            break
        if etype == "SUPPLEMENT_REQUESTED":
            requests.append(at)
            if open_start is None:
                open_start = at
        elif open_start is not None:  # SUPPLEMENT_RECEIVED closes the open pause
            pauses.append((open_start, at))
            open_start = None
    if open_start is not None:
        pauses.append((open_start, FAR_FUTURE_MS))
    return pauses, requests


def base_due_date(received: dict, cal: WorkingCalendar) -> int | None:
    """The due date (local ordinal) before pauses: the source's due_at when given, else
    from time_limit. None when neither is known."""
    received_at = received["occurred_at"]
    if received.get("due_at") is not None:
        return local_day_number(received["due_at"])
    limit = received.get("time_limit")
    if not limit:
        return None
    n, unit = limit["value"], limit["unit"]
    day = local_day_number(received_at)
    if unit == "WORKING_DAYS":
        return cal.add_working_days(day, n)
    if unit == "DAYS":
        return day + n
    return local_day_number(received_at + n * MS_PER_HOUR)  # HOURS


_SNAPSHOT_ENDS = (
    ("rejected_at", "REJECTED"),
    ("resolved_at", "RESOLVED"),
    ("returned_at", "RESULT_RETURNED"),
)
_DIGITISATION = tuple(EXTRA_FIELDS["DIGITISED"])


def _snapshot_received(state: DossierState, snap: dict, ref: dict, env: dict) -> dict | None:
    """The reception as the snapshot dates it, else the RECEIVED row's under its envelope."""
    if snap.get("received_at") is not None:
        received = {
            **ref,
            "occurred_at": snap["received_at"],
            **env,
            "channel": snap.get("channel", "DIRECT"),
            "from_snapshot": True,
        }
        for name in ("due_at", "has_fee"):
            if snap.get(name) is not None:
                received[name] = snap[name]
        return received
    if state.received is not None:
        return {**state.received, **env}
    return None


def _snapshot_end(state: DossierState, snap: dict, ref: dict) -> tuple[dict | None, dict | None, bool]:
    """The end and resolution the snapshot gives, and whether the ordinary rows decide them instead."""
    # The end of processing is NgayKetThucXuLy when given (766: status 9 over 10), else the
    # return of the result; a refusal to receive ends it too, whichever came first.
    finished = "resolved_at" if snap.get("resolved_at") is not None else "returned_at"
    dated = sorted(
        (snap[name], etype)
        for name, etype in _SNAPSHOT_ENDS
        if snap.get(name) is not None and name in ("rejected_at", finished)
    )
    status = snap.get("source_status")
    from_rows = not dated and (status is None or status in ENDED_STATUSES)
    if dated:
        end: dict | None = {**ref, "occurred_at": dated[0][0], "event_type": dated[0][1]}
    else:
        end = state.end if from_rows else None
    resolved = None
    if end is not None and end["event_type"] in ("RESOLVED", "RESULT_RETURNED"):
        row = (state.resolved or {}) if from_rows else {}
        at = snap.get("resolved_at") or row.get("occurred_at") or end["occurred_at"]
        e_result = snap.get("electronic_result")
        resolved = {
            **ref,
            "occurred_at": at,
            "electronic_result": bool(row.get("electronic_result")) if e_result is None else e_result,
        }
    return end, resolved, from_rows


def effective_state(state: DossierState) -> DossierState:
    """The dossier as the figures read it: its latest snapshot over its ordinary events.

    Without a snapshot this is ``state`` itself. With one (``None``: the snapshot does
    not say, so the ordinary events decide):

    * envelope (unit, level, procedure, field, province): the snapshot's;
    * received: at ``received_at`` with the snapshot's channel (none = DIRECT, as the
      766 rules count a null KenhThucHien), ``due_at`` and ``has_fee``; a snapshot
      without ``received_at`` leaves it to a RECEIVED event; its channel is also that
      of the dossier's submission;
    * end: ``resolved_at`` (NgayKetThucXuLy: the 766 rules judge on it, 9 over 10), else
      ``returned_at``; or ``rejected_at`` when earlier.
      A snapshot with none of them ends the dossier only when its status is an end
      status (3, 7, 8, 9, 10) or unknown, and then at the first ending event (the progress
      row of the withdrawal, the stop, ...); with any other status it is not ended, even
      if an earlier row said so (a status rolled back). The status alone never gives a
      time: Thanh Hoá's system sends a dossier waiting for a supplement as 9;
    * electronic result, return channel, digitisation, online payment: the snapshot's
      when it says them;
    * supplements, deadline extensions, ratings: always the ordinary events' (a snapshot
      does not carry them)."""
    snap = state.snapshot
    if snap is None:
        return state
    env = {k: snap[k] for k in _ENVELOPE}
    ref = {"event_id": snap["event_id"]}
    first = {**ref, "occurred_at": snap["occurred_at"], **env}
    received = _snapshot_received(state, snap, ref, env)
    submitted = state.submitted
    if submitted is not None and snap.get("channel") is not None:
        submitted = {**submitted, "channel": snap["channel"]}  # the snapshot says how it was filed
    end, resolved, from_rows = _snapshot_end(state, snap, ref)
    returned: dict | None
    if snap.get("returned_at") is not None:
        returned = {**ref, "occurred_at": snap["returned_at"]}
        if snap.get("return_channel") is not None:
            returned["return_channel"] = snap["return_channel"]
    else:
        returned = state.returned if from_rows else None
    digitised: dict | None
    if snap.get("components_total") is not None:
        digitised = {
            **ref,
            "occurred_at": snap["occurred_at"],
            **{k: snap[k] for k in _DIGITISATION if k in snap},
        }
    else:
        digitised = state.digitised
    payment = snap.get("payment")
    online = state.online_payment if payment is None else payment in ONLINE_METHODS
    view = DossierState(
        state.dossier_id,
        event_ids=state.event_ids,
        first=first,
        received=received,
        submitted=submitted,
        end=end,
        resolved=resolved,
        returned=returned,
        digitised=digitised,
        rated=state.rated,
        supplements=state.supplements,
        extensions=state.extensions,
        online_payment=online,
        payment_requested=state.payment_requested,
    )
    view.first_key = order_key(first)
    return view


def derive_facts(state: DossierState, cal: WorkingCalendar) -> dict:
    """The flat dossier facts of docs/metrics.md#facts. Dates are local ordinals (int) or None."""
    state = effective_state(state)
    rec = state.received
    end = state.end
    end_ms = end["occurred_at"] if end is not None else None
    pauses, request_times = _pauses(state, end_ms)
    facts = _recorded_facts(state, cal, end_ms, pauses, request_times)
    dig = state.digitised
    if dig is not None:
        total = dig.get("components_total", 0)
        facts["digitised_all"] = total > 0 and dig.get("components_digitised", 0) >= total
        facts["reused"] = dig.get("components_reused", 0) >= 1
        facts["from_personal_store"] = bool(dig.get("from_personal_store"))
        facts["population_data_used"] = bool(dig.get("population_data_used"))
    if rec is None:
        return facts
    due = base_due_date(rec, cal)
    if due is not None:
        facts["due_known"] = True
        facts["due_date"] = due
        facts["effective_due_dates"] = dues = _effective_due_dates(due, pauses, end_ms, cal)
        facts["effective_due_date"] = dues[-1]
    if end is not None:
        _judge_end(facts, state, cal)
    return facts


def _recorded_facts(
    state: DossierState,
    cal: WorkingCalendar,
    end_ms: int | None,
    pauses: list[tuple[int, int]],
    request_times: list[int],
) -> dict[str, Any]:
    """Every fact, with what the events say directly; the ones judged later (due dates,
    outcome, digitisation) at their 'not known' value."""
    rec = state.received
    env = rec if rec is not None else state.first
    assert env is not None  # facts are derived from a dossier with at least one event
    channel_src = rec if rec is not None else state.submitted
    end = state.end
    facts: dict[str, Any] = {
        "dossier_id": state.dossier_id,
        "version": len(state.event_ids),
        # which calendar computed the due dates below ('' before receipt: none depends on
        # it yet), and how often they were recomputed at this version (pipeline.recompute
        # raises it; a new event starts again at 0)
        "calendar_version": cal.version if rec is not None else "",
        "revision": 0,
        "province_code": env["province_code"],
        "unit_code": env["unit_code"],
        "unit_level": env["unit_level"],
        "procedure_code": env["procedure_code"],
        "field_code": env["field_code"],
        "received": rec is not None,
        "received_at": rec["occurred_at"] if rec is not None else None,
        "received_date": local_day_number(rec["occurred_at"]) if rec is not None else None,
        "channel": (channel_src or {}).get("channel", ""),
        "online_service": (channel_src or {}).get("online_service", ""),
        "has_fee": bool(rec.get("has_fee")) if rec is not None else False,
        "requires_paper_result": bool(rec.get("requires_paper_result")) if rec is not None else False,
        "ended": end is not None,
        "end_type": end["event_type"] if end is not None else "",
        "end_at": end_ms,
        "end_date": local_day_number(end_ms) if end_ms is not None else None,
        "supplement_requests": len(request_times),
        "request_times": request_times,
        # most dossiers have no pause: skip the comprehensions (each is a call in 3.11)
        "pause_starts": [p[0] for p in pauses] if pauses else [],
        "pause_ends": [p[1] for p in pauses] if pauses else [],
        "due_known": False,
        "due_date": None,
        "effective_due_dates": [],
        "effective_due_date": None,
        "outcome": "",
        "working_days": 0,
        "electronic_result": bool(state.resolved and state.resolved.get("electronic_result")),
        "postal": False,
        "digitised_all": False,
        "reused": False,
        "from_personal_store": False,
        "population_data_used": False,
        "paid_online": state.online_payment,
        "apology_ok": False,
        "rating": (state.rated or {}).get("rating", ""),
    }
    facts["postal"] = facts["channel"] == "POSTAL" or (
        state.returned is not None and state.returned.get("return_channel") == "POSTAL"
    )
    return facts


def _effective_due_dates(
    due: int, pauses: list[tuple[int, int]], end_ms: int | None, cal: WorkingCalendar
) -> list[int]:
    """Cumulative effective due date after each closed pause (pauses are sequential,
    so the ones closed by any instant T are a prefix): a query at T picks entry k."""
    dues = [due]
    shift = 0
    for start, stop in pauses:
        stop_for_shift = stop if stop != FAR_FUTURE_MS else end_ms
        if stop_for_shift is None:
            break  # still open and not ended: no shift known yet
        shift += cal.working_days_between(local_day_number(start), local_day_number(stop_for_shift))
        dues.append(cal.add_working_days(due, shift) if shift else due)
    return dues


def _judge_end(facts: dict, state: DossierState, cal: WorkingCalendar) -> None:
    """An ended, received dossier: its working days, outcome and, when late, whether an
    apology came by the effective due date."""
    facts["working_days"] = cal.working_days_between(facts["received_date"], facts["end_date"])
    facts["outcome"] = _outcome(facts)
    if facts["outcome"] == LATE:
        due_limit = (
            end_of_local_day_ms_ordinal(facts["effective_due_date"])
            if facts["effective_due_date"] is not None
            else None
        )
        facts["apology_ok"] = any(
            apology and (due_limit is None or at <= due_limit) for at, apology in state.extensions.values()
        )


def end_of_local_day_ms_ordinal(ordinal: int) -> int:
    return end_of_local_day_ms(date.fromordinal(ordinal))


def _outcome(facts: dict) -> str:
    if facts["end_type"] in NEUTRAL_ENDS:
        return ON_TIME
    if facts["supplement_requests"] >= 2:
        return LATE
    due = facts["effective_due_date"]
    if due is None:
        return ON_TIME  # no statutory limit known: cannot be late
    end_day = facts["end_date"]
    if end_day < due:
        return EARLY
    if end_day == due:
        return ON_TIME
    return LATE


@dataclass(frozen=True, slots=True)
class Status:
    in_progress: bool
    waiting: bool
    overdue: bool
    due_soon: bool


NOT_IN_PROGRESS = Status(False, False, False, False)


def status_at(facts: dict, t_ms: int, cal: WorkingCalendar) -> Status:
    """In progress / waiting for a supplement / overdue / due soon at instant ``t_ms``."""
    if not facts["received"] or facts["received_at"] > t_ms:
        return NOT_IN_PROGRESS
    if facts["ended"] and facts["end_at"] <= t_ms:
        return NOT_IN_PROGRESS
    return clock_at(facts, t_ms, cal)


def clock_at(facts: dict, t_ms: int, cal: WorkingCalendar) -> Status:
    """The deadline clock of a received dossier at ``t_ms``, taking it as not ended."""
    starts, ends = facts["pause_starts"], facts["pause_ends"]
    requests_by_t = sum(1 for s in facts["request_times"] if s <= t_ms)
    waiting = any(s <= t_ms < e for s, e in zip(starts, ends))
    if requests_by_t >= 2:
        return Status(True, waiting, True, False)
    if waiting or not facts["due_known"]:
        return Status(True, waiting, False, False)
    closed = sum(1 for e in ends if e <= t_ms)
    dues = facts["effective_due_dates"]
    due = dues[min(closed, len(dues) - 1)]
    today = local_day_number(t_ms)
    if today > due:
        return Status(True, False, True, False)
    due_soon = due == today or due == cal.next_working_day(today)
    return Status(True, False, False, due_soon)
