"""Synthetic one-stop dossier event streams (canonical dicts per the v1 contract).

    from datetime import date
    from motcua.simulate import simulate, write_events
    events = simulate("75", date(2025, 3, 1), date(2025, 3, 31), seed=1, scale=0.05)
    write_events(events, "events.jsonl", progress=True)

``province``: any code :func:`motcua.reference.resolve_province` accepts — the GSO code of
one of the 34 post-2025 provinces (``75`` / ``"75"`` / ``"01"``), ``"H75"``, the codename
(``"dong_nai"``) or the Vietnamese name (``"Đồng Nai"``).
"""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

import orjson

from motcua.domain.events import to_wire_json

from .calendar import WorkCalendar, is_working_day
from .faults import MALFORMED_KINDS, apply_faults, malformed_bytes
from .generator import Simulator

__all__ = [
    "MALFORMED_KINDS",
    "Simulator",
    "WorkCalendar",
    "apply_faults",
    "is_working_day",
    "malformed_bytes",
    "simulate",
    "write_events",
]


def simulate(
    province: str | int,
    start: date,
    end: date,
    seed: int = 0,
    *,
    scale: float = 1.0,
    duplicates: float = 0.0,
    reorder: float = 0.0,
    late: float = 0.0,
    malformed: float = 0.0,
) -> Iterator[dict | bytes]:
    """Events of dossiers received from ``start`` to ``end`` (inclusive, local dates),
    ordered by ``occurred_at`` unless faults are asked for; events after ``end`` are not
    emitted. Deterministic for a seed. ``scale`` 1.0 ≈ 600,000 dossiers a year. Fault
    rates are fractions of the clean events (see :func:`apply_faults`); malformed items
    are ``bytes`` (a raw JSON line without newline), everything else canonical dicts."""
    sim = Simulator(province, start, end, seed, scale)
    stream: Iterator = sim.events()
    if duplicates or reorder or late or malformed:
        stream = apply_faults(
            stream, seed, duplicates=duplicates, reorder=reorder, late=late, malformed=malformed
        )
    return stream


def write_events(
    events: Iterable[dict | bytes],
    path: str | Path,
    *,
    progress: bool = False,
    total: int | None = None,
) -> int:
    """Write JSON Lines (wire form: ISO-8601 instants). ``bytes`` items are written as they
    are, plus a newline when they lack one. ``path`` ending in ``.gz`` is gzipped; ``-`` is
    stdout. Returns the number of lines written."""
    dumps = orjson.dumps
    opt = orjson.OPT_APPEND_NEWLINE
    if progress:
        from tqdm import tqdm

        events = tqdm(events, total=total, unit=" ev", unit_scale=True, file=sys.stderr)
    p = str(path)
    if p == "-":
        fh = sys.stdout.buffer
        close = False
    elif p.endswith(".gz"):
        fh = gzip.open(p, "wb", compresslevel=3)
        close = True
    else:
        fh = open(p, "wb", buffering=1 << 20)
        close = True
    n = 0
    buf = []
    try:
        for item in events:
            if isinstance(item, (bytes, bytearray)):
                buf.append(bytes(item) if item.endswith(b"\n") else bytes(item) + b"\n")
            else:
                buf.append(dumps(to_wire_json(item), option=opt))
            n += 1
            if len(buf) >= 4096:
                fh.write(b"".join(buf))
                buf.clear()
        if buf:
            fh.write(b"".join(buf))
    finally:
        if close:
            fh.close()
        else:
            fh.flush()
    return n
