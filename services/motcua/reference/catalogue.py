"""A province's procedure catalogue (danh mục thủ tục hành chính) as the fold uses it.

A RECEIVED event may leave out ``has_fee``, ``requires_paper_result`` and ``time_limit``.
Where it does, the catalogue entry of its ``procedure_code`` supplies them; where the
event says something, the event wins (it is what the one-stop system recorded for this
dossier) and a disagreement with the catalogue is only listed, never "corrected". A
dossier known from a snapshot (``domain.lifecycle.effective_state``) takes the fee and
paper-result flags but not the time limit: its due date is the source's NgayHenTra, and
a dossier without one cannot be late.

Everything here is pure: a catalogue is a plain mapping procedure_code ->
:class:`CatalogueEntry` (loaded from a file by ``reference.procedures_loader`` or from
the store by ``adapters.clickhouse_procedures``) and :func:`supply_flags` is a function of
an event dict and that mapping, so the embedded replay, the bulk path, the live processor
and ``motcua recompute`` give the same facts for the same events and catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

FLAGS = ("has_fee", "requires_paper_result", "time_limit")
CHANNEL_CODES = {"1": "DIRECT", "2": "ONLINE", "3": "POSTAL"}  # DVCQG KENH


@dataclass(frozen=True)
class CatalogueEntry:
    """One procedure of a loaded catalogue. ``None`` = the file could not say (the flag is
    then left to the events; nothing is invented)."""

    code: str
    name: str
    field_code: str = ""
    field_name: str = ""
    has_fee: bool | None = None
    requires_paper_result: bool | None = None
    time_limit: dict | None = None  # {"value": int, "unit": WORKING_DAYS | DAYS | HOURS}
    channels: tuple[str, ...] = field(default=())  # DIRECT / ONLINE / POSTAL offered

    def flags(self) -> dict:
        """The flags this entry knows (absent keys: unknown)."""
        out: dict = {}
        if self.has_fee is not None:
            out["has_fee"] = self.has_fee
        if self.requires_paper_result is not None:
            out["requires_paper_result"] = self.requires_paper_result
        if self.time_limit is not None:
            out["time_limit"] = dict(self.time_limit)
        return out


Catalogue = Mapping[str, CatalogueEntry]


def supply_flags(event: dict, catalogue: Catalogue | None) -> dict:
    """``event`` with every flag it leaves out (absent or null) taken from the catalogue
    entry of its procedure, when the entry knows it. Returns ``event`` itself (not a copy)
    when nothing is supplied, else a new dict; ``event`` is never changed. Only RECEIVED
    events carry these flags; any other event is returned as it is (an event without
    ``event_type`` is taken as a RECEIVED: the fold's trimmed ``received`` slot)."""
    if not catalogue or event.get("event_type", "RECEIVED") != "RECEIVED":
        return event
    code = event.get("procedure_code")
    entry = catalogue.get(code) if code is not None else None
    if entry is None:
        return event
    out = None
    for name, value in entry.flags().items():
        if name == "time_limit" and event.get("from_snapshot"):
            continue  # a snapshot's due date is its NgayHenTra: without one it cannot be late
        if event.get(name) is None:
            if out is None:
                out = dict(event)
            out[name] = value
    return event if out is None else out


def disagreements(event: dict, catalogue: Catalogue | None) -> list[tuple[str, object, object]]:
    """(flag, event value, catalogue value) for every flag both state and disagree on."""
    if not catalogue or event.get("event_type", "RECEIVED") != "RECEIVED":
        return []
    code = event.get("procedure_code")
    entry = catalogue.get(code) if code is not None else None
    if entry is None:
        return []
    out = []
    for name, value in entry.flags().items():
        mine = event.get(name)
        if mine is not None and mine != value:
            out.append((name, mine, value))
    return out


def codes_knowing(catalogue: Catalogue | None, flag: str) -> list[str]:
    """The procedure codes whose entry knows ``flag`` (sorted)."""
    if not catalogue:
        return []
    return sorted(code for code, e in catalogue.items() if flag in e.flags())


def catalogue_version(catalogue: Catalogue | None) -> str:
    """A digest (16 hex digits) of what the catalogue contributes to figures: the known
    flags per procedure (names and channels do not move any figure). The same for equal
    flags whatever the order; "" for no catalogue (or one that knows no flag), so that a
    recompute can tell which dossiers were folded with another catalogue."""
    import hashlib

    import orjson

    known = {code: e.flags() for code, e in (catalogue or {}).items() if e.flags()}
    if not known:
        return ""
    return hashlib.blake2b(orjson.dumps(known, option=orjson.OPT_SORT_KEYS), digest_size=8).hexdigest()
