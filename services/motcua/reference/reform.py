"""The 2025 province merger across time: which former province became part of which new one.

Nghị quyết 202/2025/QH15 (12/06/2025, effective 01/07/2025) merged the 63 provinces into
34. Every new province kept the GSO code of one of its predecessors (Đồng Nai 75 = old
Đồng Nai 75 + Bình Phước 70; Quảng Trị 44 = old Quảng Bình 44 + old Quảng Trị 45), so a
former code never names a different new province: a code is read as the new province
when it is one, else as the former province, which resolves to the province it merged
into. Names work the same way: a name the new provinces use (Quảng Trị, Tây Ninh, Bắc
Ninh, …) means the new province; a former name that is not a new one (Bình Phước)
means the former province.

Dossiers received before 2025-07-01 carry the former province's code, so everything
that reports per province groups the stored codes by the new province they resolve to
(:func:`motcua.reference.resolve_province`); :func:`predecessors` lists the former
provinces a new one is made of, for the notes of documents.

The mapping ships as ``data/provinces-2025.csv`` (``vietnam-provinces`` 2025.x has the 34
new provinces only and no legacy mapping; its 0.6.0 release had the 63 former ones,
whose names and codenames the data file repeats).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

MERGER_EFFECTIVE = date(2025, 7, 1)
LEGAL_SOURCE = "Nghị quyết số 202/2025/QH15 ngày 12/06/2025 của Quốc hội"
DATA_FILE = "provinces-2025.csv"
COLUMNS = ("former_code", "former_name", "former_codename", "new_code")

__all__ = [
    "LEGAL_SOURCE",
    "MERGER_EFFECTIVE",
    "FormerProvince",
    "MergerDataError",
    "code_spellings",
    "former_province",
    "former_provinces",
    "lookup_former",
    "merged_from_text",
    "parse_merger_csv",
    "predecessors",
]


class MergerDataError(ValueError):
    """The merger data file is malformed (names the line and the reason)."""


@dataclass(frozen=True)
class FormerProvince:
    gso: int  # GSO code before 2025-07-01, e.g. 70
    name: str  # "Tỉnh Bình Phước", "Thành phố Hải Phòng"
    codename: str  # "binh_phuoc"
    new_gso: int  # GSO code of the province it is part of since 2025-07-01, e.g. 75

    def __str__(self) -> str:
        return f"{self.short_name} ({self.code})"

    @property
    def code(self) -> str:
        """Two-digit GSO code as events carry it: "70", "02"."""
        return f"{self.gso:02d}"

    @property
    def short_name(self) -> str:
        from . import short_province_name

        return short_province_name(self.name)

    @property
    def in_text(self) -> str:
        """Inside a sentence: "tỉnh Bình Phước", "thành phố Hải Phòng"."""
        return self.name[0].lower() + self.name[1:]

    @property
    def successor(self):
        """The new province (:class:`motcua.reference.ProvinceInfo`)."""
        from . import resolve_province

        return resolve_province(self.new_gso)

    @property
    def unchanged(self) -> bool:
        """The new province is this one alone (Hà Nội, Huế, Cao Bằng, …)."""
        return len(predecessors(self.new_gso)) == 1

    @property
    def renamed(self) -> bool:
        """True when the new province has another name (Bình Phước → Đồng Nai). Old
        Quảng Trị (45) is not renamed but is not the new Quảng Trị's code either."""
        return self.short_name != self.successor.short_name

    def describe(self) -> str:
        """How output names it: "Bình Phước (nay thuộc tỉnh Đồng Nai)"; old Quảng Trị:
        "Quảng Trị (mã cũ 45, nay thuộc tỉnh Quảng Trị)"; an unchanged one: its name."""
        new = self.successor
        if self.unchanged:
            return self.short_name
        if self.renamed:
            return f"{self.short_name} (nay thuộc {new.kind} {new.short_name})"
        if self.gso != new.gso:
            return f"{self.short_name} (mã cũ {self.code}, nay thuộc {new.kind} {new.short_name})"
        return self.short_name


def parse_merger_csv(text: str) -> list[FormerProvince]:
    """Rows of the data file (``#`` lines are comments); a bad row raises
    :class:`MergerDataError` naming its line."""
    lines = [
        (n, line)
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise MergerDataError(f"{DATA_FILE}: no header and no rows")
    header_no, header = lines[0]
    cols = tuple(c.strip() for c in next(csv.reader([header])))
    if cols != COLUMNS:
        raise MergerDataError(
            f"{DATA_FILE} line {header_no}: header is {','.join(cols)}, expected {','.join(COLUMNS)}"
        )
    out: list[FormerProvince] = []
    seen: dict[int, int] = {}
    for n, line in lines[1:]:
        cells = [c.strip() for c in next(csv.reader([line]))]
        if len(cells) != len(COLUMNS):
            raise MergerDataError(f"{DATA_FILE} line {n}: {len(cells)} columns, expected {len(COLUMNS)}")
        code, name, codename, new = cells
        try:
            gso, new_gso = int(code), int(new)
        except ValueError:
            raise MergerDataError(
                f"{DATA_FILE} line {n}: codes must be integers (former_code {code!r}, new_code {new!r})"
            ) from None
        if not (0 < gso < 100 and 0 < new_gso < 100):
            raise MergerDataError(f"{DATA_FILE} line {n}: GSO codes are 1..99")
        if not name or not codename:
            raise MergerDataError(f"{DATA_FILE} line {n}: former_name and former_codename are required")
        if gso in seen:
            raise MergerDataError(f"{DATA_FILE} line {n}: former code {gso} repeats line {seen[gso]}")
        seen[gso] = n
        out.append(FormerProvince(gso, name, codename, new_gso))
    return sorted(out, key=lambda p: p.gso)


@lru_cache(maxsize=1)
def former_provinces() -> tuple[FormerProvince, ...]:
    """The 63 provinces before 2025-07-01, in GSO code order."""
    from . import _data_text

    return tuple(parse_merger_csv(_data_text(DATA_FILE)))


def _key(text: str) -> str:
    """The lookup key ``resolve_province`` builds from its input."""
    from . import _fold

    return _fold(text).replace("-", "_")


@lru_cache(maxsize=1)
def _former_lookup() -> dict[str, FormerProvince]:
    out: dict[str, FormerProvince] = {}
    for p in former_provinces():
        keys = {
            str(p.gso),
            p.code,
            f"h{p.gso}",
            f"h{p.code}",
            p.codename,
            p.codename.replace("_", ""),
            _key(p.name),
            _key(p.short_name),
            _key("Tỉnh " + p.short_name),
            _key(p.short_name.replace(" - ", " ")),
            "tinh_" + p.codename,
        }
        for k in keys:
            out[k] = p
    return out


def lookup_former(key: str) -> FormerProvince | None:
    """A former province by a ``resolve_province`` key (folded, ``-`` as ``_``); used
    after the new provinces' lookup missed, so names shared with a new province never
    get here."""
    table = _former_lookup()
    return table.get(key) or table.get(key.replace(" ", "_"))


def former_province(code: int | str) -> FormerProvince | None:
    """The former province a code or name denotes (None when it denotes none, or when
    it is a new province's name: "Bắc Ninh" is the new province, see
    :func:`motcua.reference.resolve_province`). Former codes: 70, "70", "H70"."""
    from . import _province_table

    if isinstance(code, bool):
        return None
    key = str(code) if isinstance(code, int) else _key(str(code))
    digits = key[1:] if key.startswith("h") else key
    if digits.isdigit():
        return _former_lookup().get(str(int(digits)))
    new_table = _province_table()[0]
    if key in new_table or key.replace(" ", "_") in new_table:
        return None  # a name (or codename) of a new province means the new province
    return lookup_former(key)


def predecessors(code: int | str) -> list[FormerProvince]:
    """The former provinces a new province is made of, the one whose code it kept first:
    ``predecessors(75)`` → [Đồng Nai (75), Bình Phước (70)]. Accepts any code or name
    ``resolve_province`` accepts (a former one means its new province)."""
    from . import resolve_province

    new = resolve_province(code)
    members = [p for p in former_provinces() if p.new_gso == new.gso]
    return sorted(members, key=lambda p: (p.gso != new.gso, p.gso))


def merged_from_text(code: int | str) -> str | None:
    """The note of a document for a period before 2025-07-01: "Số liệu trước 01/07/2025
    gồm: tỉnh Đồng Nai, tỉnh Bình Phước" (None for a province that was not merged)."""
    members = predecessors(code)
    if len(members) < 2:
        return None
    return f"Số liệu trước {MERGER_EFFECTIVE:%d/%m/%Y} gồm: " + ", ".join(p.in_text for p in members)


@lru_cache(maxsize=1)
def code_spellings() -> dict[str, str]:
    """Every spelling of a province code a source may write (``"70"``, ``"7"`` for
    single digits, ``"H70"``) -> the two-digit code of the new province, for former and
    new codes alike (the dashboards count a stored former code under its new province)."""
    out: dict[str, str] = {}
    for p in former_provinces():
        new = f"{p.new_gso:02d}"
        for s in (p.code, str(p.gso), f"H{p.code}", f"H{p.gso}"):
            out[s] = new
    return out
