"""The loaded procedure catalogue in ClickHouse (``registry_procedures``, migration 0029).

``save`` writes the entries of a catalogue file, inserting only the ones that are new or
changed (a second load of the same file writes nothing); ``catalogue`` reads it back as
the mapping the fold takes; ``disagreements`` lists where a dossier's RECEIVED event and
the catalogue both state a flag and differ (computed from the stored events, so it is
the same whichever path folded them).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
import pyarrow as pa

from ..reference.catalogue import CatalogueEntry

_NO_SEQUENCE = 1 << 62  # lifecycle.NO_SEQUENCE: events without a sequence sort after sequenced ones


def entry_digest(e: CatalogueEntry) -> str:
    """What an entry says (not when it was loaded)."""
    body = orjson.dumps(
        [
            e.code,
            e.name,
            e.field_code,
            e.field_name,
            e.has_fee,
            e.requires_paper_result,
            e.time_limit,
            list(e.channels),
        ],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.blake2b(body, digest_size=8).hexdigest()


@dataclass
class SaveSummary:
    new: int = 0
    changed: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Disagreement:
    procedure_code: str
    flag: str  # has_fee / requires_paper_result / time_limit
    event_value: object  # bool, or {"value", "unit"}
    catalogue_value: object
    dossiers: int


class ProceduresRepository:
    def __init__(self, store):
        self.client = store.client
        self.db = store.db

    def _digests(self) -> dict[str, str]:
        return dict(
            self.client.query(f"SELECT code, digest FROM {self.db}.registry_procedures FINAL").result_rows
        )

    def save(self, entries: Iterable[CatalogueEntry]) -> SaveSummary:
        known = self._digests()
        out = SaveSummary()
        rows = []
        for e in entries:
            digest = entry_digest(e)
            before = known.get(e.code)
            if before == digest:
                out.unchanged += 1
                continue
            if before is None:
                out.new += 1
            else:
                out.changed += 1
            rows.append((e, digest))
        if not rows:
            return out
        now = int(time.time() * 1000)
        es = [e for e, _ in rows]
        table = pa.table(
            {
                "code": [e.code for e in es],
                "name": [e.name for e in es],
                "field_code": [e.field_code for e in es],
                "field_name": [e.field_name for e in es],
                "has_fee": pa.array([None if e.has_fee is None else int(e.has_fee) for e in es], pa.uint8()),
                "requires_paper_result": pa.array(
                    [None if e.requires_paper_result is None else int(e.requires_paper_result) for e in es],
                    pa.uint8(),
                ),
                "time_limit_value": pa.array(
                    [e.time_limit["value"] if e.time_limit else None for e in es], pa.uint32()
                ),
                "time_limit_unit": [e.time_limit["unit"] if e.time_limit else "" for e in es],
                "channels": pa.array([list(e.channels) for e in es], pa.list_(pa.string())),
                "digest": [d for _, d in rows],
                "loaded_at": pa.array([now] * len(es), pa.timestamp("ms", tz="UTC")),
            }
        )
        self.client.insert_arrow(f"{self.db}.registry_procedures", table)
        return out

    def catalogue(self) -> dict[str, CatalogueEntry]:
        """Procedure code -> entry, the newest version of each."""
        rows = self.client.query(
            f"SELECT code, name, field_code, field_name, has_fee, requires_paper_result, time_limit_value, "
            f"time_limit_unit, channels FROM {self.db}.registry_procedures FINAL"
        ).result_rows
        out = {}
        for code, name, fcode, fname, fee, paper, lv, lu, channels in rows:
            out[code] = CatalogueEntry(
                code=code,
                name=name,
                field_code=fcode,
                field_name=fname,
                has_fee=None if fee is None else bool(fee),
                requires_paper_result=None if paper is None else bool(paper),
                time_limit=None if lv is None or not lu else {"value": int(lv), "unit": lu},
                channels=tuple(channels),
            )
        return out

    def count(self) -> int:
        return int(self.client.command(f"SELECT count() FROM {self.db}.registry_procedures FINAL"))

    def _disagreement_rows(self) -> str:
        """One row per dossier and flag where the dossier's first RECEIVED event (the one
        the fold keeps: least by sequence, occurred_at, event_id) and the catalogue both
        state the flag and differ: dossier_id, code, flag, ev, cv (values as text)."""
        return f"""
SELECT dossier_id, code, x.1 AS flag, x.2 AS ev, x.3 AS cv
FROM (
    SELECT e.dossier_id AS dossier_id, r.code AS code, e.p AS p, r.has_fee AS c_fee,
           r.requires_paper_result AS c_paper, r.time_limit_value AS c_lv, r.time_limit_unit AS c_lu
    FROM (
        SELECT dossier_id, p, JSONExtractString(p, 'procedure_code') AS pc FROM (
            SELECT dossier_id,
                   argMin(payload, (ifNull(sequence, toInt64({_NO_SEQUENCE})), occurred_at, event_id)) AS p
            FROM {self.db}.events FINAL WHERE event_type = 'RECEIVED' GROUP BY dossier_id)
    ) AS e
    INNER JOIN (SELECT * FROM {self.db}.registry_procedures FINAL) AS r ON r.code = e.pc
)
ARRAY JOIN [
    ('has_fee', if(JSONType(p, 'has_fee') = 'Bool', toString(JSONExtractBool(p, 'has_fee')), ''),
     if(isNull(c_fee), '', toString(assumeNotNull(c_fee)))),
    ('requires_paper_result',
     if(JSONType(p, 'requires_paper_result') = 'Bool', toString(JSONExtractBool(p, 'requires_paper_result')), ''),
     if(isNull(c_paper), '', toString(assumeNotNull(c_paper)))),
    ('time_limit',
     if(JSONType(p, 'time_limit') = 'Object',
        concat(toString(JSONExtractUInt(p, 'time_limit', 'value')), ' ', JSONExtractString(p, 'time_limit', 'unit')), ''),
     if(isNull(c_lv) OR c_lu = '', '', concat(toString(assumeNotNull(c_lv)), ' ', c_lu)))
] AS x
WHERE x.2 != '' AND x.3 != '' AND x.2 != x.3"""

    def disagreements(self) -> list[Disagreement]:
        """By procedure, flag, event value and catalogue value: the number of dossiers
        whose RECEIVED event states the flag otherwise than the catalogue. The event's
        value is the one the figures use."""
        rows = self.client.query(
            f"SELECT code, flag, ev, cv, count() AS dossiers FROM ({self._disagreement_rows()}) "
            f"GROUP BY code, flag, ev, cv ORDER BY code, flag, dossiers DESC, ev"
        ).result_rows
        return [
            Disagreement(code, flag, _value(flag, ev), _value(flag, cv), int(n))
            for code, flag, ev, cv, n in rows
        ]

    def disagreeing_dossiers(self) -> int:
        """Distinct dossiers with at least one disagreement."""
        return int(self.client.command(f"SELECT uniqExact(dossier_id) FROM ({self._disagreement_rows()})"))


def _value(flag: str, text: str) -> object:
    if flag == "time_limit":
        value, unit = text.split(" ", 1)
        return {"value": int(value), "unit": unit}
    return text == "1"


def use_store_catalogue(store) -> int:
    """Name procedures and fields in this process (``default_registry()``: KPI tables,
    reports) by the catalogue loaded into ``store``. Returns its number of procedures."""
    from ..reference.registry import use_catalogue

    cat = ProceduresRepository(store).catalogue()
    use_catalogue(cat)
    return len(cat)


def reference_name_rows(store) -> tuple[list[tuple], list[tuple]]:
    """(field rows, procedure rows) of ``reference_names``: the shipped names with the
    loaded catalogue's winning."""
    from ..reference import fields, procedures

    cat = ProceduresRepository(store).catalogue()
    field_names = {f.code: f.name for f in fields().values()}
    proc_names = {p.code: p.name for p in procedures().values()}
    for e in cat.values():
        proc_names[e.code] = e.name
        if e.field_code and e.field_name:
            field_names[e.field_code] = e.field_name
    return (
        [("field", c, n, "", "", "") for c, n in sorted(field_names.items())],
        [("procedure", c, n, "", "", "") for c, n in sorted(proc_names.items())],
    )
