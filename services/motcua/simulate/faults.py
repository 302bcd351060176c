"""Delivery faults on top of a clean event stream: duplicates, reordering, late arrival
and malformed input (yielded as raw ``bytes`` JSON lines, never as dicts).

Faults draw from their own random generator, so the valid events are the same with or
without faults for a given seed.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Iterator

import orjson

from motcua.domain.calendar import MS_PER_DAY
from motcua.domain.events import ENVELOPE_REQUIRED, to_wire_json

REORDER_WINDOW = 50  # positions
MALFORMED_KINDS = ("broken_json", "unknown_event_type", "missing_field", "personal_data", "oversize")


def _copy(ev: dict) -> dict:
    out = dict(ev)
    tl = out.get("time_limit")
    if isinstance(tl, dict):
        out["time_limit"] = dict(tl)
    return out


def malformed_bytes(ev: dict, kind: str, rng: random.Random) -> bytes:
    """One broken JSON line derived from ``ev`` (without the trailing newline)."""
    wire = to_wire_json(ev)
    wire["event_id"] = f"{ev['event_id']}-bad"
    if kind == "broken_json":
        raw = orjson.dumps(wire)
        return raw[: max(1, len(raw) // 2)]
    if kind == "unknown_event_type":
        wire["event_type"] = rng.choice(("ARCHIVED", "DELETED", "submitted", "TRANSFERRED"))
    elif kind == "missing_field":
        del wire[rng.choice(ENVELOPE_REQUIRED[1:])]  # keep event_id for tracing
    elif kind == "personal_data":
        if rng.random() < 0.5:
            wire["citizen_id"] = "012345678901"
        else:
            wire["ho_ten"] = "Nguyễn Văn A"
            wire["so_dien_thoai"] = "0912345678"
    elif kind == "oversize":
        wire["note"] = "x" * (70 * 1024)
    else:  # pragma: no cover
        raise ValueError(kind)
    return orjson.dumps(wire)


def apply_faults(
    events: Iterable[dict],
    seed: int = 0,
    *,
    duplicates: float = 0.0,
    reorder: float = 0.0,
    late: float = 0.0,
    malformed: float = 0.0,
) -> Iterator[dict | bytes]:
    """Each rate is a fraction of the clean events:

    - ``duplicates``: the event is emitted again (an identical copy) up to 20 positions later;
    - ``reorder``: the event is held back 1..50 positions;
    - ``late``: the event is held back until the stream has moved 1–5 days past its
      ``occurred_at`` (or until the end of the stream);
    - ``malformed``: a broken item (one of :data:`MALFORMED_KINDS`, round robin from a
      random start) is inserted as ``bytes``; the clean event is still emitted.
    """
    rng = random.Random(seed * 7919 + 104_729)
    r = rng.random
    pos_heap: list = []
    time_heap: list = []
    tb = 0
    pos = 0
    kind_i = int(r() * len(MALFORMED_KINDS))
    push = heapq.heappush
    pop = heapq.heappop
    for ev in events:
        pos += 1
        now = ev["occurred_at"]
        while time_heap and time_heap[0][0] <= now:
            yield pop(time_heap)[2]
        while pos_heap and pos_heap[0][0] <= pos:
            yield pop(pos_heap)[2]
        u = r()
        if u < late:
            tb += 1
            push(time_heap, (now + MS_PER_DAY + int(r() * 4 * MS_PER_DAY), tb, ev))
        elif u < late + reorder:
            tb += 1
            push(pos_heap, (pos + 1 + int(r() * REORDER_WINDOW), tb, ev))
        else:
            yield ev
        if duplicates and r() < duplicates:
            tb += 1
            push(pos_heap, (pos + int(r() * 21), tb, _copy(ev)))
        if malformed and r() < malformed:
            kind = MALFORMED_KINDS[kind_i % len(MALFORMED_KINDS)]
            kind_i += 1
            yield malformed_bytes(ev, kind, rng)
    while pos_heap:
        yield pop(pos_heap)[2]
    while time_heap:
        yield pop(time_heap)[2]
