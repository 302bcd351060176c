"""Period closes in ClickHouse (tables of migration 0030): write a close, read closes back,
and the fingerprints of the dossiers that count in a period.

Embedded chDB and a ClickHouse server alike, through the store's clickhouse-connect
client with server-side parameters (the only identifiers in SQL are the database name and
fixed column names). On a store scoped to one province (``clickhouse_reports.province_scope``)
the fingerprints read only that province's dossiers; the close tables carry the
province code themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import orjson
import pyarrow as pa

from ..domain.closing import row_key
from ..domain.periods import Period
from .clickhouse_store import STATE_COLUMNS, ClickHouseStore

# The dossier_state columns a dossier's figures depend on: the fingerprint. Not the
# bookkeeping (version, calendar_version, revision), so a recompute that changes no
# fact changes no fingerprint.
FINGERPRINT_COLUMNS = tuple(
    c for c in STATE_COLUMNS if c not in ("dossier_id", "version", "calendar_version", "revision")
)


@dataclass(frozen=True)
class CloseHeader:
    province_code: str
    period_code: str
    kind: str
    start: date
    end: date
    version: int
    closed_at_ms: int
    content_hash: str
    note: str
    calendar_version: str
    rows: int
    dossiers: int


_HEADER_COLUMNS = (
    "province_code",
    "period_code",
    "kind",
    "start",
    "end",
    "version",
    "closed_at",
    "content_hash",
    "note",
    "calendar_version",
    "rows",
    "dossiers",
)

Fingerprints = dict[str, tuple[tuple[str, str, str], int]]


class ClosesRepository:
    def __init__(self, store: ClickHouseStore):
        self.client = store.client
        self.db = store.db

    # -- reading -------------------------------------------------------------------

    def headers(self, province_code: str, period_code: str | None = None) -> list[CloseHeader]:
        """Closes of a province (one period's, or all), by period then version."""
        where = "province_code = {p:String}" + (" AND period_code = {c:String}" if period_code else "")
        result = self.client.query(
            f"SELECT province_code, period_code, kind, start, `end`, version, "
            f"toUnixTimestamp64Milli(closed_at), content_hash, note, calendar_version, rows, dossiers "
            f"FROM {self.db}.period_closes WHERE {where} ORDER BY start, period_code, version",
            parameters={"p": province_code, "c": period_code or ""},
        )
        return [
            CloseHeader(
                str(r[0]),
                str(r[1]),
                str(r[2]),
                r[3],
                r[4],
                int(r[5]),
                int(r[6]),
                str(r[7]),
                str(r[8]),
                str(r[9]),
                int(r[10]),
                int(r[11]),
            )
            for r in result.result_rows
        ]

    def latest(self, province_code: str, period_code: str, version: int | None = None) -> CloseHeader | None:
        """The close of a period: its last version, or version ``version``."""
        found = self.headers(province_code, period_code)
        if version is not None:
            found = [h for h in found if h.version == version]
        return found[-1] if found else None

    def rows(self, h: CloseHeader) -> dict[str, list[dict]]:
        """The stored rows of a close, by grouping, in key order."""
        result = self.client.query(
            f"SELECT grouping, row FROM {self.db}.period_close_rows FINAL "
            "WHERE province_code = {p:String} AND period_code = {c:String} AND version = {v:UInt32} "
            "ORDER BY grouping, row_key",
            parameters={"p": h.province_code, "c": h.period_code, "v": h.version},
        )
        out: dict[str, list[dict]] = {}
        for grouping, row in result.result_rows:
            out.setdefault(str(grouping), []).append(orjson.loads(row))
        return out

    def fingerprints(self, h: CloseHeader) -> Fingerprints:
        result = self.client.query(
            f"SELECT dossier_id, unit_level, unit_code, field_code, fingerprint "
            f"FROM {self.db}.period_close_dossiers FINAL "
            "WHERE province_code = {p:String} AND period_code = {c:String} AND version = {v:UInt32}",
            parameters={"p": h.province_code, "c": h.period_code, "v": h.version},
        )
        return {str(r[0]): ((str(r[1]), str(r[2]), str(r[3])), int(r[4])) for r in result.result_rows}

    # -- writing -------------------------------------------------------------------

    def write(self, h: CloseHeader, rows: Mapping[str, Sequence[Mapping]], prints: Fingerprints) -> None:
        """Rows and fingerprints first, the header last (the header makes the close)."""
        keyed = [
            (g, orjson.dumps(row_key(g, r)).decode(), orjson.dumps(r).decode()) for g in rows for r in rows[g]
        ]
        self._insert_keyed(
            "period_close_rows",
            h,
            {
                "grouping": [k[0] for k in keyed],
                "row_key": [k[1] for k in keyed],
                "row": [k[2] for k in keyed],
            },
        )
        ids = list(prints)
        self._insert_keyed(
            "period_close_dossiers",
            h,
            {
                "dossier_id": ids,
                "unit_level": [prints[d][0][0] for d in ids],
                "unit_code": [prints[d][0][1] for d in ids],
                "field_code": [prints[d][0][2] for d in ids],
                "fingerprint": pa.array([prints[d][1] for d in ids], pa.uint64()),
            },
        )
        values = [getattr(h, c) if c != "closed_at" else h.closed_at_ms for c in _HEADER_COLUMNS]
        self.client.insert_arrow(
            f"{self.db}.period_closes",
            pa.table(
                {
                    c: pa.array([v], _HEADER_TYPES[c]) if c in _HEADER_TYPES else [v]
                    for c, v in zip(_HEADER_COLUMNS, values)
                }
            ),
        )

    def _insert_keyed(self, table: str, h: CloseHeader, columns: dict) -> None:
        """Rows of a close's table: the close's key (province, period, version), then ``columns``."""
        n = len(next(iter(columns.values())))
        key = {
            "province_code": [h.province_code] * n,
            "period_code": [h.period_code] * n,
            "version": pa.array([h.version] * n, pa.uint32()),
        }
        self.client.insert_arrow(f"{self.db}.{table}", pa.table({**key, **columns}))


_HEADER_TYPES = {
    "start": pa.date32(),
    "end": pa.date32(),
    "version": pa.uint32(),
    "closed_at": pa.timestamp("ms", tz="UTC"),
    "rows": pa.uint32(),
    "dossiers": pa.uint32(),
}


def live_fingerprints(store: ClickHouseStore, period: Period) -> Fingerprints:
    """{dossier_id: ((level, unit, field), fingerprint)} of every dossier that counts in
    ``period`` now: received before its end and not ended before its start."""
    cols = ", ".join(FINGERPRINT_COLUMNS)
    result = store.client.query(
        f"SELECT dossier_id, unit_level, unit_code, field_code, cityHash64({cols}) "
        f"FROM {store.db}.dossier_state FINAL "
        "WHERE received = 1 AND received_at < fromUnixTimestamp64Milli({end:Int64}, 'UTC') "
        "AND (ended = 0 OR end_at >= fromUnixTimestamp64Milli({start:Int64}, 'UTC'))",
        parameters={"start": period.start_ms, "end": period.end_ms},
    )
    return {str(r[0]): ((str(r[1]), str(r[2]), str(r[3])), int(r[4])) for r in result.result_rows}
