"""Period close: the frozen figures of an official period and what moved since.

A close holds the rows the reports read (KPI rows per grouping, the 766 items per unit)
as they were at the close. A *restatement* is a cell whose live value differs from the
closed one: a late event, a correction, a recompute after a calendar change. The cells
compared are the figures a report prints: the II.06a columns per unit × lĩnh vực (and
their totals), the metrics and counts of the KPI rows per level and unit, the 766 group
and total scores per unit. The dossiers named beside a moved cell are those whose facts
changed since the close (fingerprints differ, or the dossier is new to or gone from the
period) and that belong to the cell's unit (and lĩnh vực) before or after the change.

Pure: no I/O. The store side is ``adapters.clickhouse_closes``, the orchestration
``reports.closing``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import orjson

from .ii06a import FIGURES, figures_from_kpi
from .metrics import GROUPINGS, METRICS, ROW_COUNTS

# What a close stores: the KPI rows of every grouping a report cell has keys for (not
# procedure), and the 766 items per unit.
KPI_GROUPINGS = ("all", "level", "unit", "field", "unit_field")
INDEX766 = "index766"
CLOSE_GROUPINGS = (*KPI_GROUPINGS, INDEX766)
NOTE_MAX = 200

# Cells compared per table of a restatement: (table, grouping, columns of a row).
KPI_COLUMNS = (*(m.id for m in METRICS), *ROW_COUNTS)
# Rates are compared in points; a difference below this is rounding, not a restatement.
RATE_EPSILON = 1e-9

_DIGIT_RUN = re.compile(r"\d[\d .\-]{7,}\d")


class CloseError(ValueError):
    """A close refused (bad note, open period): the message is for the user."""


def check_note(note: str | None) -> str:
    """The note of a close, stripped: short free text about the close itself ("gửi Bộ Nội
    vụ ngày 15/3"). Refused when it may hold personal data (an e-mail address, a run of 9
    or more digits as in an ID or phone number) or is longer than NOTE_MAX characters."""
    text = " ".join((note or "").split())
    if len(text) > NOTE_MAX:
        raise CloseError(f"ghi chú dài quá {NOTE_MAX} ký tự")
    if "@" in text or _DIGIT_RUN.search(text):
        raise CloseError(
            "ghi chú có thể chứa dữ liệu cá nhân (địa chỉ e-mail, số điện thoại, số CCCD): không lưu"
        )
    return text


def row_key(grouping: str, row: Mapping) -> tuple[str, ...]:
    """The grouping keys of a stored row (unit_code for a 766 item)."""
    if grouping == INDEX766:
        return (str(row.get("unit_level", "")), str(row.get("unit_code", "")))
    return tuple(str(row.get(k, "")) for k in GROUPINGS[grouping])


def content_hash(rows: Mapping[str, Iterable[Mapping]]) -> str:
    """sha256 over the close's rows (grouping by grouping, rows in key order): two closes
    with the same figures have the same hash."""
    h = hashlib.sha256()
    for grouping in sorted(rows):
        for r in sorted(rows[grouping], key=lambda r: row_key(grouping, r)):
            h.update(grouping.encode())
            h.update(orjson.dumps(r, option=orjson.OPT_SORT_KEYS))
    return h.hexdigest()


# -- cells ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One figure of a report: which table, whose row, which column."""

    table: str  # "ii06a", "kpi_level", "kpi_unit", "kpi_all", "index766"
    unit_level: str
    unit_code: str
    field_code: str
    column: str


def ii06a_cells(unit_field_rows: Iterable[Mapping]) -> dict[Cell, float]:
    """The II.06a figures per unit × lĩnh vực, with the totals of the form: per unit
    (field_code ""), per level (unit_code "") and for the province (both "")."""
    out: dict[Cell, float] = {}
    for r in unit_field_rows:
        figs = figures_from_kpi(dict(r))
        lv, unit, fld = str(r["unit_level"]), str(r["unit_code"]), str(r["field_code"])
        for at in ((lv, unit, fld), (lv, unit, ""), (lv, "", ""), ("", "", "")):
            for col in FIGURES:
                c = Cell("ii06a", *at, col)
                out[c] = out.get(c, 0) + figs[col]
    return out


# KPI groupings whose keys a Cell can hold (not "procedure": a cell has no procedure).
CELL_GROUPINGS = KPI_GROUPINGS


def kpi_cells(rows: Iterable[Mapping], grouping: str) -> dict[Cell, float | None]:
    """The metrics (ratios) and counts of KPI rows of one of CELL_GROUPINGS."""
    if grouping not in CELL_GROUPINGS:
        raise ValueError(f"no cells for KPI rows by {grouping}")
    out: dict[Cell, float | None] = {}
    for r in rows:
        lv, unit, fld = (str(r.get(k, "")) for k in ("unit_level", "unit_code", "field_code"))
        for col in KPI_COLUMNS:
            out[Cell(f"kpi_{grouping}", lv, unit, fld, col)] = r.get(col)
    return out


def within(rs: Iterable[Restatement], level: str | None = None, unit: str | None = None) -> list[Restatement]:
    """The restatements of one level or one unit (and the totals above them that a report
    of that level or unit prints: none, the report's own totals are its rows')."""
    out = []
    for r in rs:
        c = r.cell
        if level is not None and c.unit_level != level:
            continue
        if unit is not None and c.unit_code != unit:
            continue
        out.append(r)
    return out


def index766_cells(items: Iterable[Mapping]) -> dict[Cell, float | None]:
    """The 766 group scores and the total per unit (the province: unit_code "")."""
    out: dict[Cell, float | None] = {}
    for it in items:
        lv, unit = str(it.get("unit_level", "")), str(it.get("unit_code", ""))
        for g, v in (it.get("groups") or {}).items():
            out[Cell("index766", lv, unit, "", f"group.{g}")] = v.get("score")
        out[Cell("index766", lv, unit, "", "total")] = (it.get("total") or {}).get("score")
    return out


# -- restatements --------------------------------------------------------------------


@dataclass(frozen=True)
class DossierChange:
    """A dossier whose facts differ from the close: its (level, unit, field) then and now
    (None when it did not count in the period then, or does not now)."""

    dossier_id: str
    before: tuple[str, str, str] | None
    after: tuple[str, str, str] | None


@dataclass
class Restatement:
    cell: Cell
    closed: float | None
    live: float | None
    dossier_ids: list[str] = field(default_factory=list)

    @property
    def delta(self) -> float | None:
        if self.closed is None or self.live is None:
            return None
        return self.live - self.closed

    def to_json(self) -> dict:
        c = self.cell
        return {
            "table": c.table,
            "unit_level": c.unit_level,
            "unit_code": c.unit_code,
            "field_code": c.field_code,
            "column": c.column,
            "closed": self.closed,
            "live": self.live,
            "delta": self.delta,
            "dossier_ids": self.dossier_ids,
        }


def _differs(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return abs(a - b) > RATE_EPSILON


def _touches(cell: Cell, at: tuple[str, str, str] | None) -> bool:
    """Whether a dossier at (level, unit, field) counts in ``cell``'s row."""
    if at is None:
        return False
    lv, unit, fld = at
    return (
        (not cell.unit_level or cell.unit_level == lv)
        and (not cell.unit_code or cell.unit_code == unit)
        and (not cell.field_code or cell.field_code == fld)
    )


def restatements(
    closed: Mapping[Cell, float | None],
    live: Mapping[Cell, float | None],
    changes: Iterable[DossierChange],
) -> list[Restatement]:
    """Every cell whose live value differs from the closed one (a cell absent on one side
    is 0 for a count, None for a ratio or score), in table and key order, each with the
    changed dossiers of its row."""
    changes = list(changes)
    out = []
    for cell in sorted(set(closed) | set(live), key=_cell_order):
        a, b = closed.get(cell), live.get(cell)
        if cell.table == "ii06a" or cell.column in ROW_COUNTS:
            a, b = a or 0, b or 0
        if not _differs(a, b):
            continue
        ids = sorted(
            {ch.dossier_id for ch in changes if _touches(cell, ch.before) or _touches(cell, ch.after)}
        )
        out.append(Restatement(cell, a, b, ids))
    return out


_TABLE_ORDER = {
    "ii06a": 0,
    "kpi_all": 1,
    "kpi_level": 2,
    "kpi_unit": 3,
    "kpi_field": 4,
    "kpi_unit_field": 5,
    "index766": 6,
}
_COLUMN_ORDER = {c: i for i, c in enumerate((*FIGURES, *KPI_COLUMNS))}


def _cell_order(c: Cell) -> tuple:
    # totals after their rows, as the form prints them
    return (
        _TABLE_ORDER.get(c.table, 9),
        c.unit_level == "",
        c.unit_level,
        c.unit_code == "",
        c.unit_code,
        c.field_code == "",
        c.field_code,
        _COLUMN_ORDER.get(c.column, 99),
        c.column,
    )


def dossier_changes(
    closed: Mapping[str, tuple[tuple[str, str, str], int]],
    live: Mapping[str, tuple[tuple[str, str, str], int]],
) -> list[DossierChange]:
    """Fingerprints then and now ({dossier_id: ((level, unit, field), fingerprint)}) ->
    the dossiers that changed, appeared or disappeared, in id order."""
    out = []
    for d in sorted(set(closed) | set(live)):
        a, b = closed.get(d), live.get(d)
        if a is not None and b is not None and a[1] == b[1]:
            continue
        out.append(DossierChange(d, a[0] if a else None, b[0] if b else None))
    return out
