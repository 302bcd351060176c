"""Records read from a province's exports -> contract events.

A ``Snapshot`` becomes one ``SNAPSHOT`` event (the fold's correction rule makes the latest
one win: ``domain.lifecycle.effective_state``), a ``ProgressRow`` one ordinary event (a
resumed processing row says ``resumes``), a synthetic row nothing. Event ids come from the
content, so a re-sent snapshot or row is a duplicate wherever it arrives (a file import,
the drop-in endpoint). The source system is part of the id, so send one province's feed
under one source name (``--source`` of ``motcua import`` = the endpoint's user).

Who handles a dossier, when the input does not say it in a code of its own:

* unit: the record's (envelope ``madonvi``, the query's ``MaDinhDanhDV``, a sheet column),
  else the agency identifier that prefixes ``MaHoSo`` (``000.00.12.H56-250303-00001``: a
  QCVN 102:2016 code, or a code the unit registry knows),
  else ``ConvertOptions.unit``, else ``UNKNOWN``;
* level: the record's (sheet "Cấp"), else the unit registry, else the identifier's
  QCVN 102:2016 structure (``G..`` a central agency; the People's Committee and its
  level-2 units (sở, ban, ngành) PROVINCE; level 3 and below COMMUNE: the communes under a
  former district, and since 2025 under the province), else ``ConvertOptions.default_level``,
  else ``DEFAULT_LEVEL``;
* province: the unit registry's, else the identifier's level-1 body (``H56``), else
  ``ConvertOptions.province``, else ``UNKNOWN``.

A dossier is never dropped because its unit is unknown: it is counted under the code it
has and listed (``Conversion.notes``) for someone to load the registry.
"""

from __future__ import annotations

import binascii
import hashlib
from collections import Counter
from dataclasses import dataclass, field

import orjson

from ..domain.events import MIN_INSTANT_MS, hex_as_letters
from ..reference import province_of_unit
from ..reference.catalogue import Catalogue
from ..reference.registry import Registry, default_registry
from ..reference.units_loader import qcvn_depth, qcvn_parts
from .model import ProgressRow, Snapshot

UNKNOWN = "CHUA_RO"  # a code the input does not give (chưa rõ): counted, listed
DEFAULT_LEVEL = "COMMUNE"  # most dossiers are handled by communes (docs/importing.md)
UNDATED = MIN_INSTANT_MS  # occurred_at of a snapshot that has no date (2010-01-01)


@dataclass
class ConvertOptions:
    source_system: str = "dvcqg"
    unit: str | None = None  # --unit: the handling unit when the input names none
    default_level: str | None = None  # --default-level: when nothing tells the level
    province: str | None = None  # --province: when nothing tells the province


@dataclass
class Conversion:
    """What the converter inferred, for the import summary: counts per note, and the
    codes no registry knows."""

    inferred: Counter = field(default_factory=Counter)
    unknown_units: Counter = field(default_factory=Counter)
    unknown_procedures: Counter = field(default_factory=Counter)
    synthetic_rows: int = 0


# hex_as_letters on bytes: the digest's hex digits 0-9 written g-p
_HEX_LETTERS = bytes.maketrans(b"0123456789", hex_as_letters("0123456789").encode("ascii"))


def content_id(prefix: str, content: dict) -> str:
    """``prefix`` + 16 letters of a digest of ``content`` (letters: a run of digits in an
    id would look like a phone number to the personal-data check)."""
    return prefix + _letters(orjson.dumps(content, option=orjson.OPT_SORT_KEYS))


def _letters(data: bytes) -> str:
    """``hex_as_letters`` of the 8-byte blake2b digest of ``data`` (in C calls)."""
    digest = hashlib.blake2b(data, digest_size=8).digest()
    return binascii.hexlify(digest).translate(_HEX_LETTERS).decode("ascii")


class Converter:
    def __init__(
        self,
        options: ConvertOptions | None = None,
        registry: Registry | None = None,
        catalogue: Catalogue | None = None,
    ):
        self.options = options or ConvertOptions()
        self.registry = registry or default_registry()
        self.catalogue = catalogue or {}
        self.notes = Conversion()
        self._units: dict[tuple, tuple[str, str, str, tuple[str, ...], bool]] = {}

    # -- who handles it ----------------------------------------------------------------
    def _unit(self, dossier_id: str, unit_code: str | None, level: str | None) -> tuple[str, str, str]:
        """(unit_code, unit_level, province_code), noting what was inferred."""
        key = (unit_code, level, dossier_id.split("-", 1)[0] if unit_code is None else None)
        hit = self._units.get(key)
        if hit is None:
            hit = self._units[key] = self._resolve_unit(dossier_id, unit_code, level)
        code, lvl, prov, notes, known = hit
        for note in notes:
            self.notes.inferred[note] += 1
        if not known:
            self.notes.unknown_units[code] += 1
        return code, lvl, prov

    def _resolve_unit(self, dossier_id: str, unit_code: str | None, level: str | None):
        notes: list[str] = []
        code = unit_code
        if code is None:
            prefix = dossier_id.split("-", 1)[0] if "-" in dossier_id else ""
            # an agency identifier: QCVN 102:2016-shaped, or a unit the registry knows
            if prefix and (qcvn_parts(prefix) is not None or self.registry.unit(prefix) is not None):
                code = prefix
                notes.append("unit_from_dossier_code")
            elif self.options.unit:
                code = self.options.unit
                notes.append("unit_from_option")
            else:
                code = UNKNOWN
                notes.append("unit_unknown")
        unit = self.registry.unit(code)
        parts = qcvn_parts(code)
        if level is None:
            if unit is not None:
                level = unit.level
                notes.append("level_registry")
            elif parts is not None:
                level = (
                    "CENTRAL_BRANCH"
                    if parts[3].startswith("G")
                    else "PROVINCE"
                    if qcvn_depth(code) in (1, 2)
                    else "COMMUNE"
                )
                notes.append("level_from_identifier")
            elif self.options.default_level:
                level = self.options.default_level
                notes.append("level_from_option")
            else:
                level = DEFAULT_LEVEL
                notes.append("level_default")
        if unit is not None and unit.province_code:
            province = unit.province_code
        elif (info := province_of_unit(code)) is not None:
            province = info.code
        elif parts is not None and parts[3].startswith("H"):
            province = parts[3]
            notes.append("province_from_identifier")
        elif self.options.province:
            province = self.options.province
            notes.append("province_from_option")
        else:
            province = UNKNOWN
            notes.append("province_unknown")
        return code, level, province, tuple(notes), unit is not None

    def _procedure(self, code: str | None) -> str:
        if not code:
            self.notes.inferred["procedure_unknown"] += 1
            return UNKNOWN
        if code not in self.catalogue and isinstance(self.registry.procedure(code), str):
            self.notes.unknown_procedures[code] += 1
        return code

    def _field(self, code: str | None, procedure: str) -> str:
        if code:
            return code
        entry = self.catalogue.get(procedure)
        if entry is not None and entry.field_code:
            self.notes.inferred["field_from_catalogue"] += 1
            return entry.field_code
        known = self.registry.procedure(procedure)
        if not isinstance(known, str) and known.field_code:
            self.notes.inferred["field_from_registry"] += 1
            return known.field_code
        self.notes.inferred["field_unknown"] += 1
        return UNKNOWN

    # -- events ------------------------------------------------------------------------
    def snapshot_event(self, s: Snapshot) -> dict:
        """The SNAPSHOT event of a snapshot. A snapshot with no date at all (registered,
        not received yet: OpenCPS's status 1) still names the dossier's procedure and
        unit; it is placed at ``UNDATED`` (its occurred_at orders nothing: the figures
        read its dates, and the fold ranks snapshots by arrival)."""
        received = s.received_at
        if received is not None:
            occurred = received
        else:
            dates = [t for t in (s.resolved_at, s.returned_at, s.rejected_at) if t is not None]
            if not dates:
                self.notes.inferred["snapshot_without_date"] += 1
            occurred = min(dates, default=UNDATED)
        unit, level, province = self._unit(s.dossier_id, s.unit_code, s.unit_level)
        procedure = self._procedure(s.procedure_code)
        e: dict = {
            "event_type": "SNAPSHOT",
            "occurred_at": occurred,
            "source_system": self.options.source_system,
            "dossier_id": s.dossier_id,
            "province_code": province,
            "unit_code": unit,
            "unit_level": level,
            "procedure_code": procedure,
            "field_code": self._field(s.field_code, procedure),
        }
        # the optional facts the snapshot states, in this order
        if received is not None:
            e["received_at"] = received
        if s.channel is not None:
            e["channel"] = s.channel
        if s.due_at is not None:
            e["due_at"] = s.due_at
        if s.has_fee is not None:
            e["has_fee"] = s.has_fee
        if s.resolved_at is not None:
            e["resolved_at"] = s.resolved_at
        if s.electronic_result is not None:
            e["electronic_result"] = s.electronic_result
        if s.returned_at is not None:
            e["returned_at"] = s.returned_at
        if s.rejected_at is not None:
            e["rejected_at"] = s.rejected_at
        if s.status is not None:
            e["source_status"] = s.status
        if s.payment is not None:
            e["payment"] = s.payment
        if s.return_postal is not None:
            e["return_channel"] = "POSTAL" if s.return_postal else "DIRECT"
        d = s.digitisation
        if d is not None:
            for name, value in (
                ("components_total", d.components_total),
                ("components_digitised", d.components_digitised),
                ("components_reused", d.components_reused),
                ("from_personal_store", d.from_personal_store),
                ("population_data_used", d.population_data_used),
            ):
                if value is not None:
                    e[name] = value
        if received is None:
            self.notes.inferred["not_received"] += 1
        elif s.channel is None:
            self.notes.inferred["channel_direct_by_default"] += 1
        if s.has_fee is None:
            entry = self.catalogue.get(procedure)
            if entry is not None and entry.has_fee is not None:
                self.notes.inferred["fee_from_catalogue"] += 1
        if s.due_at is None and received is not None:
            self.notes.inferred["no_due_date"] += 1
        e["event_id"] = content_id("dvs-", e)
        return e

    def row_event(self, r: ProgressRow) -> dict | None:
        """The event of a progress row; None for a row its sender made up."""
        if r.synthetic:
            self.notes.synthetic_rows += 1
            return None
        unit, level, province = self._unit(r.dossier_id, r.unit_code, None)
        e: dict = {
            "event_type": r.kind,
            "occurred_at": r.at,
            "source_system": self.options.source_system,
            "dossier_id": r.dossier_id,
            # a row names no procedure: the dossier's snapshot gives its envelope
            "province_code": province,
            "unit_code": unit,
            "unit_level": level,
            "procedure_code": UNKNOWN,
            "field_code": UNKNOWN,
        }
        if r.kind in ("RECEIVED", "SUBMITTED"):
            e["channel"] = "DIRECT"  # a row does not say (766: none = direct); the snapshot's channel wins
        elif r.kind == "PROCESSING":
            e["resumes"] = True  # TrangThai 4: back in processing (answers a supplement request)
        # content_id's bytes, keys already in sorted order (d, k, s, src, t)
        data = orjson.dumps(
            {"d": r.dossier_id, "k": r.kind, "s": r.status, "src": self.options.source_system, "t": r.at}
        )
        e["event_id"] = "dvr-" + _letters(data)
        return e
