"""A province's own unit catalogue (danh mục cơ quan, đơn vị) read from its files.

Accepted files (see docs/registries.md):

- JSON in the shape of the DVCQG ``LayDanhMucCoQuan`` answer: items with ``MADONVI``,
  ``TENDONVI``, ``CAPDONVI`` (and a parent where present), wrapped as the service answers
  (``{"error_code": 0, "result": [...]}``), as ``{"data": [...]}``, a bare array, or JSON
  Lines (one item a line); any of them gzip-compressed (``.gz``);
- CSV (UTF-8, ``,`` ``;`` or tab) and XLSX with Vietnamese headings, with or without
  diacritics, in any case ("Mã đơn vị", "Ma don vi", "MADONVI", "Tên đơn vị", "Cấp",
  "Đơn vị cha", "Hiệu lực từ", "Hiệu lực đến", "Đơn vị kế thừa", "Mã tỉnh").

Only the catalogue fields are kept (code, name, level, parent, validity, successor,
province); every other column is ignored (a catalogue of agencies holds no personal
data, and we keep it that way). A bad row is reported with its position (file line,
JSON item, sheet row) and a Vietnamese reason; the good rows are still returned.

Unit codes in the QCVN 102:2016 form ``xxx.yy.zz.Ann`` (mã định danh điện tử, e.g.
``000.00.12.H56``) read right to left: ``Ann`` is the level-1 body (``H`` + 2 digits a
province's People's Committee, ``G`` + 2 digits a ministry or central agency), ``zz``
a level-2 unit under it (a sở or a former district People's Committee), ``yy`` a level-3
unit under that, ``xxx`` a level-4 unit; ``00``/``000`` = none. So ``000.00.00.H56`` is
the province's People's Committee, ``000.00.12.H56`` one of its level-2 units and its
parent is ``000.00.00.H56``. ``Hnn`` is the identifier the Ministry of Home Affairs /
Ministry of Information assigned, NOT the GSO province code (``H56`` is not GSO 56), and
we found no public table of them we could verify: the province of such codes comes from
a "Mã tỉnh" column, ``--province``, or the unit's parent in the same file.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

from ..domain.vocabulary import LEVEL_LABELS, LEVEL_ORDER, LEVEL_SHORT_LABELS
from . import Unit, province_of_unit, resolve_province

__all__ = [
    "CAPDONVI_LEVELS",
    "RowProblem",
    "UnitsFile",
    "UnitsFileError",
    "parse_day",
    "parse_level",
    "parse_units",
    "qcvn_parent",
    "qcvn_parts",
    "read_units",
]


class UnitsFileError(Exception):
    """The file cannot be read at all (exit code 2); the message is Vietnamese."""


@dataclass(frozen=True)
class RowProblem:
    where: str  # "dòng 7", "mục thứ 3", "trang tính 'Đơn vị', dòng 12"
    reason: str  # Vietnamese

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class UnitsFile:
    units: list[Unit] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    rows: int = 0  # data rows seen (good + bad, empty rows not counted)
    without_province: list[str] = field(default_factory=list)  # codes whose province is unknown


# -- headings ----------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower case, no diacritics, đ -> d, only letters and digits: "Mã đơn vị" -> "madonvi"."""
    s = unicodedata.normalize("NFD", str(text).strip().lower()).replace("đ", "d")
    s = "".join(c for c in s if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", s)


_HEADINGS = {
    "code": (
        "madonvi",
        "madinhdanh",
        "madinhdanhdonvi",
        "madinhdanhdientu",
        "macoquan",
        "madv",
        "ma",
        "code",
        "unitcode",
        "unit_code",
    ),
    "name": ("tendonvi", "tencoquan", "tendv", "ten", "name", "unitname"),
    "level": ("capdonvi", "cap", "capcoquan", "level", "unitlevel"),
    "parent": (
        "madonvicha",
        "donvicha",
        "macha",
        "madinhdanhcha",
        "macoquancha",
        "coquancha",
        "macoquanchuquan",
        "coquanchuquan",
        "parent",
        "parentcode",
    ),
    "valid_from": ("hieuluctu", "hieuluctungay", "ngayhieuluc", "tungay", "ngaybatdau", "validfrom"),
    "valid_to": ("hieulucden", "hieulucdenngay", "ngayhethieuluc", "denngay", "ngayketthuc", "validto"),
    "successor": ("donvikethua", "madonvikethua", "kethua", "makethua", "successor"),
    "province": ("matinh", "tinh", "tinhthanhpho", "province", "provincecode"),
}
_HEADING_INDEX = {_fold(h): key for key, hs in _HEADINGS.items() for h in hs}
_FIELD_VI = {
    "code": "mã đơn vị",
    "name": "tên đơn vị",
    "level": "cấp",
    "parent": "đơn vị cha",
    "valid_from": "hiệu lực từ",
    "valid_to": "hiệu lực đến",
    "successor": "đơn vị kế thừa",
    "province": "mã tỉnh",
}


def _columns(headings: Iterable[Any]) -> dict[str, int]:
    """Catalogue field -> column index for a heading row (first matching column wins)."""
    out: dict[str, int] = {}
    for i, h in enumerate(headings):
        if h is None:
            continue
        key = _HEADING_INDEX.get(_fold(h))
        if key is not None and key not in out:
            out[key] = i
    return out


# -- values ------------------------------------------------------------------------------

# DVCQG CAPDONVI numbers. The public integration code we read (OpenCPS) only stores the
# number as an integer level; its meaning is not published. We assume the four
# administrative tiers from the top (1 = central / cấp bộ, 2 = province, 3 = district,
# 4 = commune). A written level ("Cấp tỉnh", "Sở", PROVINCE …) is preferred whenever a
# file has one (docs/registries.md).
CAPDONVI_LEVELS = {"1": "CENTRAL_BRANCH", "2": "PROVINCE", "3": "DISTRICT", "4": "COMMUNE"}

_LEVEL_WORDS = {
    "PROVINCE": (
        "province",
        "captinh",
        "tinh",
        "so",
        "sobannganh",
        "ban",
        "ubndtinh",
        "uybannhandantinh",
        "coquanchuyenmon",
        "capso",
    ),
    "DISTRICT": ("district", "caphuyen", "huyen", "quan", "thixa", "ubndhuyen", "caphuyencu"),
    "COMMUNE": ("commune", "capxa", "xa", "phuong", "thitran", "dackhu", "ubndxa", "xaphuong"),
    "CENTRAL_BRANCH": (
        "centralbranch",
        "nganhdoc",
        "nganhdoctw",
        "nganhdoctrunguong",
        "trunguong",
        "tw",
        "captrunguong",
        "captw",
        "capbo",
        "bo",
        "cotochucnganhdoc",
    ),
}
_LEVEL_INDEX = {w: lvl for lvl, ws in _LEVEL_WORDS.items() for w in ws}
# Every label we print (domain.vocabulary) reads back as its level.
_LEVEL_INDEX.update(
    {_fold(label): lvl for labels in (LEVEL_LABELS, LEVEL_SHORT_LABELS) for lvl, label in labels.items()}
)


def parse_level(value: Any) -> str | None:
    """Our level code from a cell: PROVINCE/DISTRICT/COMMUNE/CENTRAL_BRANCH, Vietnamese
    words ("Cấp tỉnh", "Sở", "Cấp xã", "Ngành dọc") or a DVCQG CAPDONVI number; None when
    blank. Raises ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        return None
    if text.upper() in LEVEL_ORDER:
        return text.upper()
    if text in CAPDONVI_LEVELS:
        return CAPDONVI_LEVELS[text]
    level = _LEVEL_INDEX.get(_fold(text))
    if level is None:
        raise ValueError(text)
    return level


_NAME_LEVELS = (
    (
        (
            "ubnd xa ",
            "ubnd phuong ",
            "ubnd thi tran ",
            "ubnd dac khu ",
            "uy ban nhan dan xa ",
            "uy ban nhan dan phuong ",
            "uy ban nhan dan thi tran ",
            "uy ban nhan dan dac khu ",
        ),
        "COMMUNE",
    ),
    (
        (
            "ubnd huyen ",
            "ubnd quan ",
            "ubnd thi xa ",
            "uy ban nhan dan huyen ",
            "uy ban nhan dan quan ",
            "uy ban nhan dan thi xa ",
        ),
        "DISTRICT",
    ),
)


def _level_from_name(name: str) -> str | None:
    """COMMUNE / DISTRICT when the name says so ("UBND xã …", "UBND huyện …"); None
    otherwise (a sở, a bureau: its tier is not in its name reliably)."""
    s = unicodedata.normalize("NFD", name.strip().lower()).replace("đ", "d")
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = re.sub(r"\s+", " ", s) + " "
    for leads, level in _NAME_LEVELS:
        if s.startswith(leads):
            return level
    return None


_QCVN = re.compile(r"^(\d{3})\.(\d{2})\.(\d{2})\.([A-Z]\d{2})$")


def qcvn_parts(code: str) -> tuple[str, str, str, str] | None:
    """``(level4, level3, level2, level1)`` of a QCVN 102:2016 code, else None."""
    m = _QCVN.match(code.strip().upper())
    return m.groups() if m else None  # type: ignore[return-value]


def qcvn_depth(code: str) -> int | None:
    """1 for ``000.00.00.H56``, 2 for ``000.00.12.H56``, 3 for ``000.34.12.H56``, 4 below."""
    p = qcvn_parts(code)
    if p is None:
        return None
    l4, l3, l2, _l1 = p
    if l2 == "00":
        return 1
    if l3 == "00":
        return 2
    return 3 if l4 == "000" else 4


def qcvn_parent(code: str) -> str | None:
    """The parent a QCVN code implies (its last non-zero part blanked), None at level 1."""
    p = qcvn_parts(code)
    if p is None:
        return None
    l4, l3, l2, l1 = p
    if l4 != "000":
        return f"000.{l3}.{l2}.{l1}"
    if l3 != "00":
        return f"000.00.{l2}.{l1}"
    if l2 != "00":
        return f"000.00.00.{l1}"
    return None


_DAY_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y/%m/%d", "%d/%m/%y")


def parse_day(value: Any) -> date | None:
    """A day from dd/mm/yyyy, ISO yyyy-mm-dd (a time after it is ignored), an Excel
    date cell or DVCQG's yyyyMMdd[HHmmss]; None when blank. ValueError otherwise."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{8}(\d{6})?", text):
        return datetime.strptime(text[:8], "%Y%m%d").date()
    head = re.split(r"[ T]", text, maxsplit=1)[0]
    for fmt in _DAY_FORMATS:
        try:
            return datetime.strptime(head, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


_CODE_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", str(value))).strip()


# -- one row -----------------------------------------------------------------------------


@dataclass
class _Row:
    where: str
    values: dict[str, Any]


def _province_code(value: str) -> str:
    return resolve_province(value).code


def _build(rows: Iterable[_Row], province: str | None) -> UnitsFile:
    """The units of ``rows`` in three passes (each row checked alone; parents and
    successors given by name resolved; level and province inferred), problems in file order."""
    out = UnitsFile()
    default_province = _province_code(province) if province else None
    order: dict[str, int] = {}  # position -> row number, to list the problems in file order
    pending = _checked_rows(rows, out, order)
    pending = _resolved_names(pending, out)
    by_code = {p["code"]: p for _r, p in pending}
    for row, p in pending:
        code = p["code"]
        level = _infer_level(by_code, p)
        if level is None:
            out.problems.append(
                RowProblem(
                    row.where,
                    f"không xác định được cấp của đơn vị {code}: thêm cột Cấp (ví dụ Cấp tỉnh, Cấp xã)",
                )
            )
            continue
        prov = p["province"] or default_province
        if prov is None:
            info = province_of_unit(code)
            prov = info.code if info else _inherited(by_code, p, "province")
        if prov is None:
            out.without_province.append(code)
        out.units.append(
            Unit(
                code=code,
                name=p["name"],
                level=level,
                parent=p["parent"],
                valid_from=p["valid_from"],
                valid_to=p["valid_to"],
                province_code=prov or "",
                successor=p["successor"],
            )
        )
    out.problems.sort(key=lambda problem: order.get(problem.where, 0))
    return out


def _checked_rows(rows: Iterable[_Row], out: UnitsFile, order: dict[str, int]) -> list[tuple[_Row, dict]]:
    """First pass: the fields of every row that passes its own checks and repeats no
    code; the others' problems go to ``out`` (empty rows are skipped, not counted)."""
    pending: list[tuple[_Row, dict]] = []
    seen: dict[str, str] = {}
    for row in rows:
        v = row.values
        if all(_text(x) == "" for x in v.values()):
            continue  # an empty line / row
        out.rows += 1
        order[row.where] = out.rows
        if v.get("_bad"):
            out.problems.append(RowProblem(row.where, v["_bad"]))
            continue
        fields, problems = _row_fields(v)
        code = fields["code"]
        if code and code in seen and not problems:
            problems.append(f"mã đơn vị {code} trùng với {seen[code]}")
        if problems:
            out.problems.append(RowProblem(row.where, "; ".join(problems)))
            continue
        seen[code] = row.where
        pending.append((row, fields))
    return pending


def _row_fields(v: dict) -> tuple[dict, list[str]]:
    """One row's catalogue fields, parsed, and what is wrong with them (Vietnamese)."""
    problems = []
    code = _text(v.get("code"))
    name = _text(v.get("name"))
    if not code:
        problems.append("thiếu mã đơn vị")
    elif not _CODE_OK.match(code):
        problems.append(f"mã đơn vị {code!r} không hợp lệ (chỉ gồm chữ, số, dấu chấm, gạch; tối đa 64 ký tự)")
    if not name:
        problems.append("thiếu tên đơn vị")
    level = None
    try:
        level = parse_level(v.get("level"))
    except ValueError as err:
        problems.append(
            f"cấp {str(err)!r} không nhận ra (dùng: Cấp tỉnh, Cấp huyện, Cấp xã, Ngành dọc "
            "hoặc PROVINCE, DISTRICT, COMMUNE, CENTRAL_BRANCH, hoặc CAPDONVI 1–4)"
        )
    days: dict[str, date | None] = {}
    for key in ("valid_from", "valid_to"):
        try:
            days[key] = parse_day(v.get(key))
        except ValueError as err:
            problems.append(
                f"{_FIELD_VI[key]} {str(err)!r} không phải ngày (dùng dd/mm/yyyy hoặc yyyy-mm-dd)"
            )
            days[key] = None
    valid_from, valid_to = days.get("valid_from"), days.get("valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        problems.append(f"hiệu lực đến {valid_to:%d/%m/%Y} trước hiệu lực từ {valid_from:%d/%m/%Y}")
    prov = None
    prov_text = _text(v.get("province"))
    if prov_text:
        try:
            prov = _province_code(prov_text)
        except ValueError:
            problems.append(f"mã tỉnh {prov_text!r} không có trong danh mục 34 tỉnh, thành phố")
    parent = _text(v.get("parent")) or None
    successor = _text(v.get("successor")) or None
    return dict(
        code=code, name=name, level=level, parent=parent, successor=successor, province=prov, **days
    ), problems


def _resolved_names(pending: list[tuple[_Row, dict]], out: UnitsFile) -> list[tuple[_Row, dict]]:
    """Second pass: a parent or successor given by name (some sheets do) is the code of the
    unit of that name in the file; a row without a parent gets its QCVN parent."""
    by_name: dict[str, list[str]] = {}
    for _r, p in pending:
        by_name.setdefault(_fold(p["name"]), []).append(p["code"])
    kept = []
    for row, p in pending:
        problems = []
        for key in ("parent", "successor"):
            other = p[key]
            if other is None or _CODE_OK.match(other):
                continue
            named = by_name.get(_fold(other), [])
            if len(named) == 1:
                p[key] = named[0]
            else:
                problems.append(
                    f"{_FIELD_VI[key]} {other!r} không phải một mã đơn vị"
                    + (
                        " và trùng tên nhiều đơn vị trong tệp"
                        if named
                        else " và không có đơn vị nào tên như vậy trong tệp"
                    )
                )
        if problems:
            out.problems.append(RowProblem(row.where, "; ".join(problems)))
            continue
        if p["parent"] is None:
            p["parent"] = qcvn_parent(p["code"])
        kept.append((row, p))
    return kept


def _inherited(by_code: dict[str, dict], p: dict, key: str, depth: int = 0):
    """What a row leaves out, from its nearest ancestor in the file that says it."""
    q = by_code.get(p["parent"] or "")
    if q is None or depth > 16:
        return None
    return q[key] or _inherited(by_code, q, key, depth + 1)


def _infer_level(by_code: dict[str, dict], p: dict, depth: int = 0) -> str | None:
    """A row's level: written, else from its name ("UBND xã …"), its QCVN code, its
    parent in the file, or one of our synthetic codes (kept in the row once found)."""
    if p["level"] is None:
        code = p["code"]
        level = _level_from_name(p["name"])
        parts = qcvn_parts(code)
        if level is None and parts is not None:
            if parts[3].startswith("G"):
                level = "CENTRAL_BRANCH"  # under a ministry / central agency
            elif qcvn_depth(code) in (1, 2):
                level = "PROVINCE"  # the People's Committee or a sở (a district says so in its name)
        if level is None:
            q = by_code.get(p["parent"] or "")
            if q is not None and depth < 16:
                level = _infer_level(by_code, q, depth + 1)
        if level is None and province_of_unit(code) is not None:
            level = _our_code_level(code)
        p["level"] = level
    return p["level"]


def _our_code_level(code: str) -> str | None:
    """The level of one of our synthetic codes (H75.SO.STP, H75.TW.THUE, H75.H.01, H75.X.…)."""
    kind = code.split(".")[1] if code.count(".") >= 1 else ""
    return {"SO": "PROVINCE", "TW": "CENTRAL_BRANCH", "H": "DISTRICT", "X": "COMMUNE", "XC": "COMMUNE"}.get(
        kind
    )


# -- file shapes -------------------------------------------------------------------------


def _json_rows(items: list, where_of) -> Iterator[_Row]:
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            what = "không phải JSON hợp lệ" if item is None else "không phải một đối tượng JSON {…}"
            yield _Row(where_of(i), {"_bad": what})
            continue
        cols = _columns(item.keys())
        keys = list(item.keys())
        yield _Row(where_of(i), {k: item[keys[j]] for k, j in cols.items()})


def _json_items(text: str) -> tuple[list, Any]:
    """(items, position label function) of a JSON document or JSON Lines text."""
    stripped = text.lstrip()
    try:
        doc = orjson.loads(stripped) if stripped else None
    except orjson.JSONDecodeError:
        doc = None
        lines = text.splitlines()
        items = []
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                items.append((n, orjson.loads(line)))
            except orjson.JSONDecodeError as err:
                if n == 1 or not stripped.startswith("{"):
                    raise UnitsFileError(f"không phải JSON hợp lệ (dòng {n}: {err})") from None
                items.append((n, None))
        numbers = [n for n, _ in items]
        return [obj for _, obj in items], (lambda i: f"dòng {numbers[i - 1]}")
    if doc is None:
        raise UnitsFileError("tệp rỗng")
    if isinstance(doc, dict):
        if "error_code" in doc and str(doc.get("error_code")) not in ("0", "None"):
            raise UnitsFileError(
                f"câu trả lời của dịch vụ báo lỗi (error_code {doc.get('error_code')}: "
                f"{doc.get('message', '')})"
            )
        for key in ("result", "data", "items", "Result", "Data"):
            if isinstance(doc.get(key), list):
                return doc[key], (lambda i, k=key: f"mục thứ {i} của {k}")
        if _columns(doc.keys()).get("code") is not None:
            return [doc], (lambda i: "dòng 1")  # JSON Lines with a single line
        raise UnitsFileError('JSON không có danh sách đơn vị (cần một mảng, hoặc khóa "result" / "data")')
    if isinstance(doc, list):
        return doc, (lambda i: f"mục thứ {i}")
    raise UnitsFileError("JSON không có danh sách đơn vị")


_HEADER_SCAN = 15  # title lines an official sheet may have above its heading row


def _table_rows(rows: Iterable[tuple[int, list]], label) -> Iterator[_Row]:
    """Rows of a CSV / sheet: find the heading row (with code and name columns) among the
    first lines, then yield the data rows with their line numbers."""
    cols = None
    it = iter(rows)
    for n, cells in it:
        found = _columns(cells)
        if "code" in found and "name" in found:
            cols = found
            break
        if n > _HEADER_SCAN:
            break
    if cols is None:
        raise UnitsFileError(
            f'không tìm thấy dòng tiêu đề có cột "Mã đơn vị" và "Tên đơn vị" trong {_HEADER_SCAN} dòng đầu'
        )
    for n, cells in it:
        yield _Row(label(n), {k: (cells[j] if j < len(cells) else None) for k, j in cols.items()})


def _csv_rows(text: str) -> Iterator[_Row]:
    # The delimiter used most on one line among the first ones (a title line above the
    # headings may hold a comma of its own).
    head = text.splitlines()[:_HEADER_SCAN]
    delimiter = max((",", ";", "\t"), key=lambda d: max((line.count(d) for line in head), default=0))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)

    def numbered():
        for cells in reader:
            yield reader.line_num, cells

    return _table_rows(numbered(), lambda n: f"dòng {n}")


def _xlsx_rows(data: bytes) -> Iterator[_Row]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as err:  # zipfile / openpyxl errors of a damaged or foreign file
        raise UnitsFileError(f"không đọc được tệp Excel (.xlsx): {type(err).__name__}") from None
    problems = []
    for ws in wb.worksheets:
        rows = [(n, list(r)) for n, r in enumerate(ws.iter_rows(values_only=True), start=1)]
        try:
            return iter(list(_table_rows(rows, lambda n, t=ws.title: f"trang tính '{t}', dòng {n}")))
        except UnitsFileError as err:
            problems.append(err)
    raise problems[0] if problems else UnitsFileError("tệp Excel không có trang tính nào")


def parse_units(data: bytes, name: str, province: str | None = None) -> UnitsFile:
    """Units of a file's bytes; ``name`` (the file name) chooses the shape by its ending
    (``.json``, ``.jsonl``, ``.csv``, ``.xlsx``, each optionally ``.gz``), else the content
    decides. ``province``: the province of rows that do not say (any accepted code)."""
    lower = name.lower()
    if lower.endswith(".gz") or data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise UnitsFileError(f"tệp nén gzip bị hỏng ({err})") from None
        lower = lower[:-3] if lower.endswith(".gz") else lower
    if province is not None:
        try:
            resolve_province(province)
        except ValueError:
            raise UnitsFileError(f"tỉnh {province!r} không có trong danh mục 34 tỉnh, thành phố") from None
    if lower.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        return _build(_xlsx_rows(data), province)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UnitsFileError(f"tệp không mã hóa UTF-8 (byte thứ {err.start + 1})") from None
    if lower.endswith((".json", ".jsonl", ".ndjson")) or text.lstrip()[:1] in ("[", "{"):
        items, where_of = _json_items(text)
        return _build(_json_rows(items, where_of), province)
    return _build(_csv_rows(text), province)


def read_units(path: Path, province: str | None = None) -> UnitsFile:
    """:func:`parse_units` of a file; an unreadable file raises :class:`UnitsFileError`."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise UnitsFileError(f"không đọc được tệp {path}: {err.strerror or err}") from None
    return parse_units(data, Path(path).name, province)
