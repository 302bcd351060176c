"""Reference data: provinces, units (đơn vị), procedures (TTHC) and fields (lĩnh vực).

Everything static ships as UTF-8 files in ``reference/data/``:

- ``fields.csv``: ``code,name,province_unit,province_unit_before_2025_03,central_unit``;
  the two ``province_unit`` columns name the sở (by abbreviation, see
  ``province_units.csv``) that handles the field at province level after / before the
  2025-03-01 merger of sở; ``central_unit`` the central branch unit handling it.
- ``procedures.csv``: MaTTHC-like code, Vietnamese name, field code, levels (``|``
  separated), has_fee, requires_paper_result, online_service, time limit and a relative
  ``volume_weight`` used by the simulator.
- ``province_units.csv``: the sở/ban/ngành and central branch units every province has
  (``abbr``, name, level, validity, successor after the 2025 merger of sở).
- ``districts.json``: names of a few former districts (cấp huyện, abolished 2025-07-01)
  for some provinces; other provinces get synthetic district names (``H75.H.01`` …, the
  districts the simulator uses).
- ``districts-2024.csv``: the real former districts of the 63 former provinces with their
  GSO codes (:func:`former_districts`, codes ``H75.HD.731``).

Communes and wards (cấp xã, since 2025-07-01) come from the ``vietnam-provinces``
package (34 provinces, 3,321 communes).

Province codes accepted everywhere (:func:`resolve_province`): the GSO code of the
post-2025 province as ``int`` or ``str`` (``75``, ``"75"``, ``"01"`` / ``"1"``), the same
prefixed with ``H`` (``"H75"``, ``"H01"``), the package codename (``"dong_nai"``) or the
Vietnamese name with or without "Tỉnh"/"Thành phố" (``"Đồng Nai"``). Events carry the
two-digit GSO code (``"75"``) as ``province_code``. A province of before the 2025-07-01
merger (``70``, ``"H70"``, ``"Bình Phước"``) resolves to the province it merged into
(``reform``: the mapping of Nghị quyết 202/2025/QH15, ``data/provinces-2025.csv``).

Unit codes (all start with ``H<GSO 2 digits>.``):

- ``H75.SO.STP`` sở / provincial bodies (level PROVINCE), ``H75.TW.THUE`` central branch
  units (level CENTRAL_BRANCH);
- ``H75.X.26068`` communes/wards valid from 2025-07-01 (the number is the ward code of
  ``vietnam-provinces``), ``H75.XC.26068`` the (synthetic) pre-merger commune that became
  it, valid to 2025-06-30;
- ``H75.H.01`` … former districts, valid to 2025-06-30; ``H75.HD.731`` the real former
  district of GSO code 731 (:func:`former_districts`), valid to 2025-06-30.

:func:`successor_of` maps a unit that ceased to exist to the unit that took over.
"""

from __future__ import annotations

import csv
import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

DISTRICT_ABOLISHED = date(2025, 7, 1)
SO_MERGER = date(2025, 3, 1)

__all__ = [
    "DISTRICT_ABOLISHED",
    "SO_MERGER",
    "Field",
    "Procedure",
    "ProvinceInfo",
    "Registry",  # imported at the end of the module: registry imports this one
    "Unit",
    "fields",
    "former_districts",
    "procedures",
    "province_of_unit",
    "provinces",
    "resolve_province",
    "successor_of",
    "unit_by_code",
    "units_for_province",
    "units_valid_on",
]


def short_province_name(name: str) -> str:
    """A province's name without "Tỉnh"/"Thành phố": "Hà Nội", "Bình Phước"."""
    for lead in ("Thành phố ", "Tỉnh "):
        if name.startswith(lead):
            return name[len(lead) :]
    return name


@dataclass(frozen=True)
class ProvinceInfo:
    gso: int  # GSO code, e.g. 75
    code: str  # two-digit GSO code as carried in events, e.g. "75"
    prefix: str  # unit code prefix, e.g. "H75"
    name: str  # "Đồng Nai", "Thành phố Hà Nội"
    codename: str  # "dong_nai"
    slug: str  # "dongnai" (source_system "motcua-dongnai")

    @property
    def is_city(self) -> bool:
        """A thành phố trực thuộc Trung ương (Hà Nội, Huế, Hải Phòng, Đà Nẵng, Cần Thơ,
        TP Hồ Chí Minh): ``vietnam-provinces`` names them "Thành phố …"."""
        return self.name.startswith("Thành phố ")

    @property
    def kind(self) -> str:
        """ "thành phố" or "tỉnh" (lower case, as inside a sentence)."""
        return "thành phố" if self.is_city else "tỉnh"

    @property
    def short_name(self) -> str:
        """The name without "Tỉnh"/"Thành phố": "Hà Nội", "Đồng Nai"."""
        return short_province_name(self.name)

    @property
    def full_name(self) -> str:
        """ "Thành phố Hà Nội", "Tỉnh Đồng Nai"."""
        return f"{self.kind.capitalize()} {self.short_name}"


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str
    parent: str | None
    valid_from: date | None
    valid_to: date | None
    province_code: str
    successor: str | None = None

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    field_code: str
    levels: tuple[str, ...]
    has_fee: bool
    requires_paper_result: bool
    online_service: str
    time_limit: dict  # {"value": int, "unit": "WORKING_DAYS" | "DAYS" | "HOURS"}
    volume_weight: float = 1.0

    @property
    def field_name(self) -> str:
        f = fields().get(self.field_code)
        return f.name if f else self.field_code


@dataclass(frozen=True)
class Field:
    code: str
    name: str
    province_unit: str | None  # sở abbreviation after 2025-03-01
    province_unit_before_2025_03: str | None
    central_unit: str | None


def _data_text(name: str) -> str:
    return resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")


def _csv(name: str) -> list[dict]:
    return list(csv.DictReader(_data_text(name).splitlines()))


def _date(s: str | None) -> date | None:
    return date.fromisoformat(s) if s else None


def _bool(s: str) -> bool:
    return s.strip().lower() in ("true", "1", "yes")


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFD", s.strip().lower()).replace("đ", "d")
    return "".join(c for c in s if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def fields() -> dict[str, Field]:
    """Field code -> :class:`Field` (lĩnh vực)."""
    out = {}
    for r in _csv("fields.csv"):
        out[r["code"]] = Field(
            r["code"],
            r["name"],
            r["province_unit"] or None,
            r["province_unit_before_2025_03"] or None,
            r["central_unit"] or None,
        )
    return out


@lru_cache(maxsize=1)
def procedures() -> dict[str, Procedure]:
    """MaTTHC -> :class:`Procedure`."""
    out = {}
    for r in _csv("procedures.csv"):
        out[r["code"]] = Procedure(
            code=r["code"],
            name=r["name"],
            field_code=r["field_code"],
            levels=tuple(r["levels"].split("|")),
            has_fee=_bool(r["has_fee"]),
            requires_paper_result=_bool(r["requires_paper_result"]),
            online_service=r["online_service"],
            time_limit={"value": int(r["time_limit_value"]), "unit": r["time_limit_unit"]},
            volume_weight=float(r["volume_weight"] or 1),
        )
    return out


@lru_cache(maxsize=1)
def _province_table() -> tuple[dict[str, ProvinceInfo], list[ProvinceInfo]]:
    from vietnam_provinces import Province

    lookup: dict[str, ProvinceInfo] = {}
    ordered = []
    for p in Province.iter_all():
        gso = int(p.code)
        info = ProvinceInfo(
            gso=gso,
            code=f"{gso:02d}",
            prefix=f"H{gso:02d}",
            name=p.name,
            codename=p.codename,
            slug=p.codename.replace("_", ""),
        )
        ordered.append(info)
        short = p.name
        for lead in ("Thành phố ", "Tỉnh "):
            if short.startswith(lead):
                short = short[len(lead) :]
        for key in (
            str(gso),
            f"{gso:02d}",
            f"h{gso}",
            f"h{gso:02d}",
            p.codename,
            info.slug,
            _fold(p.name),
            _fold(short),
            _fold("Tỉnh " + short),
        ):
            lookup[key.lower()] = info
    return lookup, ordered


def resolve_province(code: int | str | ProvinceInfo) -> ProvinceInfo:
    """Accepts 75, "75", "01", "H75", "dong_nai", "Đồng Nai" (see module docstring), and a
    province of before the 2025 merger (70, "H70", "Bình Phước"): the province it merged
    into (``reform``). A name both used means the new province ("Quảng Trị" is 44)."""
    if isinstance(code, ProvinceInfo):
        return code
    lookup, _ = _province_table()
    key = _fold(str(int(code))) if isinstance(code, int) and not isinstance(code, bool) else None
    if key is None:
        key = _fold(str(code)).replace("-", "_")
    info = lookup.get(key) or lookup.get(key.replace(" ", "_"))
    if info is None:
        from .reform import lookup_former

        former = lookup_former(key)
        if former is not None:
            return resolve_province(former.new_gso)
        raise ValueError(
            f"unknown province {code!r}: give a GSO code of the 34 post-2025 provinces "
            "(e.g. 75 or 'H75') or of the 63 before 2025-07-01 (70 = Bình Phước, now Đồng Nai), "
            "its codename ('dong_nai') or its name ('Đồng Nai')"
        )
    return info


def provinces() -> list[ProvinceInfo]:
    """The 34 provinces (post-2025-07-01) in GSO code order."""
    return list(_province_table()[1])


@lru_cache(maxsize=64)
def _units(gso: int) -> tuple[Unit, ...]:
    """The province's bodies, its former districts, its communes after and before the
    reorganisation of 2025-07-01, in that order."""
    info = resolve_province(gso)
    new_communes = _new_communes(info)
    districts = _former_districts(info, new_communes)
    px, pc = info.prefix, info.code
    units = _province_bodies(info)
    for dcode, dname, succ in districts:
        units.append(
            Unit(
                code=dcode,
                name=dname,
                level="DISTRICT",
                parent=f"{px}.SO.UBND",
                valid_from=None,
                valid_to=date(2025, 6, 30),
                province_code=pc,
                successor=succ.code if succ else None,
            )
        )
    units.extend(u for _, u in new_communes)
    units.extend(_former_communes(info, new_communes, districts))
    return tuple(units)


def _province_bodies(info: ProvinceInfo) -> list[Unit]:
    """The sở and provincial bodies (SO) and central branch units (TW) of province_units.csv."""
    pc, px = info.code, info.prefix
    units: list[Unit] = []
    for r in _csv("province_units.csv"):
        kind = "TW" if r["level"] == "CENTRAL_BRANCH" else "SO"
        name = r["name"]
        if name.endswith(" tỉnh") and info.name.startswith("Thành phố"):
            name = name[: -len(" tỉnh")] + " thành phố"
        units.append(
            Unit(
                code=f"{px}.{kind}.{r['abbr']}",
                name=name,
                level=r["level"],
                parent=None if r["abbr"] == "UBND" else f"{px}.SO.UBND",
                valid_from=_date(r["valid_from"]),
                valid_to=_date(r["valid_to"]),
                province_code=pc,
                successor=f"{px}.SO.{r['successor']}" if r["successor"] else None,
            )
        )
    return units


def _new_communes(info: ProvinceInfo) -> list[tuple[Any, Unit]]:
    """The communes and wards of ``vietnam-provinces`` (valid from 2025-07-01), by code."""
    from vietnam_provinces import ProvinceCode, Ward

    px = info.prefix
    wards = sorted(Ward.iter_by_province(ProvinceCode(info.gso)), key=lambda w: int(w.code))
    new_communes = []
    for w in wards:
        label = w.name
        u = Unit(
            code=f"{px}.X.{int(w.code)}",
            name=f"UBND {label[0].lower() + label[1:]}",
            level="COMMUNE",
            parent=f"{px}.SO.UBND",
            valid_from=DISTRICT_ABOLISHED,
            valid_to=None,
            province_code=info.code,
        )
        new_communes.append((w, u))
    return new_communes


def _former_districts(info: ProvinceInfo, new_communes: list[tuple[Any, Unit]]) -> list[list]:
    """[code, name, successor commune] of the former districts: named ones from
    districts.json, else synthetic; one without a named successor ward is succeeded by
    the first of the communes dealt to it (see ``_former_communes``)."""
    px = info.prefix
    spec = json.loads(_data_text("districts.json")).get(str(info.gso))
    n_districts = len(spec) if spec else max(3, min(10, len(new_communes) // 12))
    by_name = {w.name: u for w, u in new_communes}
    districts = []
    for i in range(n_districts):
        dcode = f"{px}.H.{i + 1:02d}"
        if spec:
            dname = spec[i]["name"]
            succ = by_name.get(spec[i].get("successor_ward", ""))
        else:
            dname = f"UBND cấp huyện số {i + 1:02d} ({info.name})"
            succ = None
        districts.append([dcode, dname, succ])
    for j, (_w, u) in enumerate(new_communes):
        d = districts[j % n_districts]
        if d[2] is None:
            d[2] = u
    return districts


def _former_communes(
    info: ProvinceInfo, new_communes: list[tuple[Any, Unit]], districts: list[list]
) -> list[Unit]:
    """One pre-merger commune per new one (valid to 2025-06-30), dealt round the districts."""
    old_communes = []
    for j, (w, u) in enumerate(new_communes):
        d = districts[j % len(districts)]
        old_communes.append(
            Unit(
                code=f"{info.prefix}.XC.{int(w.code)}",
                name=f"{u.name} (trước sắp xếp 01/07/2025)",
                level="COMMUNE",
                parent=d[0],
                valid_from=None,
                valid_to=date(2025, 6, 30),
                province_code=info.code,
                successor=u.code,
            )
        )
    return old_communes


def units_for_province(code: int | str) -> list[Unit]:
    """All units of one province (any accepted province code): sở and provincial bodies,
    central branch units, former districts and pre-merger communes (valid to 2025-06-30)
    and the communes/wards of ``vietnam-provinces`` (valid from 2025-07-01)."""
    return list(_units(resolve_province(code).gso))


def province_of_unit(unit_code: str) -> ProvinceInfo | None:
    """The province of a unit code by its ``H<GSO>`` prefix; a former province's prefix
    (``H70.SO.STP``, ``H70.H.01``) gives the province it merged into (Đồng Nai)."""
    head = unit_code.split(".", 1)[0]
    if len(head) >= 2 and head[0] in "Hh" and head[1:].isdigit():
        try:
            return resolve_province(head)
        except ValueError:
            return None
    return None


def unit_by_code(unit_code: str) -> Unit | None:
    info = province_of_unit(unit_code)
    if info is None:
        return None
    return _unit_index(info.gso).get(unit_code)


@lru_cache(maxsize=64)
def _unit_index(gso: int) -> dict[str, Unit]:
    return {u.code: u for u in (*_units(gso), *former_districts(gso))}


DISTRICTS_2024 = "districts-2024.csv"
_URBAN_DISTRICT = ("Quận ", "Thành phố ", "Thị xã ")


def _district_rows() -> list[dict]:
    lines = [line for line in _data_text(DISTRICTS_2024).splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def _stem(name: str) -> str:
    """A division's name without its kind: "Thành phố Biên Hòa" / "Phường Biên Hòa" -> "bien hoa"."""
    for lead in ("Thành phố ", "Thị xã ", "Thị trấn ", "Quận ", "Huyện ", "Phường ", "Xã ", "Đặc khu "):
        if name.startswith(lead):
            name = name[len(lead) :]
            break
    return _fold(name)


@lru_cache(maxsize=64)
def former_districts(code: int | str) -> tuple[Unit, ...]:
    """The real district-level units (cấp huyện) of the former provinces that make up a
    province, as they were before their abolition on 2025-07-01 (GSO list, shipped as
    ``data/districts-2024.csv``): code ``H75.HD.<GSO district code>`` (``H75.HD.731`` =
    Thành phố Biên Hòa), valid to 2025-06-30. Successor rule: the post-2025 commune or
    ward of the same province that carries the district's name (most new communes that
    took over a district seat kept its name: "Thành phố Biên Hòa" -> "Phường Biên Hòa";
    a ward for a quận / thành phố / thị xã, a commune for a huyện, else either); none when
    no commune has the name. Not part of :func:`units_for_province` (the simulator's
    districts stay the ``H75.H.nn`` ones); :func:`unit_by_code` and registries know them."""
    from vietnam_provinces import ProvinceCode, Ward

    from .reform import former_provinces

    info = resolve_province(code)
    olds = {p.code for p in former_provinces() if p.new_gso == info.gso} | {info.code}
    by_stem: dict[str, list[tuple[str, str]]] = {}
    for w in sorted(Ward.iter_by_province(ProvinceCode(info.gso)), key=lambda w: int(w.code)):
        kind = "ward" if w.name.startswith("Phường ") else "commune"
        by_stem.setdefault(_stem(w.name), []).append((kind, f"{info.prefix}.X.{int(w.code)}"))
    out = []
    for r in _district_rows():
        if r["former_province_code"] not in olds:
            continue
        name = r["name"]
        matches = by_stem.get(_stem(name), [])
        wanted = "ward" if name.startswith(_URBAN_DISTRICT) else "commune"
        successor = next((c for k, c in matches if k == wanted), matches[0][1] if matches else None)
        out.append(
            Unit(
                code=f"{info.prefix}.HD.{r['district_code']}",
                name=f"UBND {name[0].lower() + name[1:]}",
                level="DISTRICT",
                parent=f"{info.prefix}.SO.UBND",
                valid_from=None,
                valid_to=date(2025, 6, 30),
                province_code=info.code,
                successor=successor,
            )
        )
    return tuple(out)


def successor_of(unit_code: str, *, final: bool = True) -> str | None:
    """The unit that took over ``unit_code`` (None when it still exists or is unknown).
    With ``final`` the chain is followed to a unit without successor."""
    u = unit_by_code(unit_code)
    if u is None or u.successor is None:
        return None
    nxt = u.successor
    if final:
        seen = {unit_code}
        while nxt not in seen:
            seen.add(nxt)
            v = unit_by_code(nxt)
            if v is None or v.successor is None:
                break
            nxt = v.successor
    return nxt


def units_valid_on(units: Iterable[Unit], day: date) -> list[Unit]:
    return [u for u in units if u.valid_on(day)]


from .registry import Registry  # noqa: E402
