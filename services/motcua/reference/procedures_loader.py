"""Reading a province's procedure catalogue from its own files.

Accepted (``read_catalogue``):

- JSON in the DVCQG procedure shape (``LayThuTuc`` / ``LayDanhSachTTHC``): items with
  ``MATTHC``, ``TENTTHC``, ``LINHVUCTHUCHIEN[{MALINHVUC, TENLINHVUC}]``,
  ``CACHTHUCTHUCHIEN[{KENH, THOIGIAN[{THOIGIANGIAIQUYET, DONVITINH, MOTA,
  PHILEPHI[{MAPHILEPHI, SOTIEN, DONVI, MOTA}]}]}]``, ``KETQUATHUCHIEN[{MAKETQUA,
  TENKETQUA}]`` ... (key case is ignored: ``MaTTHC`` works too); wrapped as the service
  answers (``{"error_code": 0, "result": [...]}``, ``{"data": [...]}``), a bare array, one
  item, or JSON Lines (one item or one answer per line).
- CSV (UTF-8, comma / semicolon / tab) and XLSX with Vietnamese headings, with or without
  diacritics, any case (``Mã thủ tục`` / ``Ma TTHC`` / ``MATTHC``, ``Tên thủ tục``, ``Mã lĩnh
  vực``, ``Tên lĩnh vực``, ``Có phí/lệ phí``, ``Kết quả bản giấy``, ``Thời hạn giải quyết``,
  ``Đơn vị tính``, ``Kênh thực hiện``); the heading row may sit below a title (the first
  10 rows are searched); other columns are ignored.
- Any of these compressed with gzip (``.json.gz``, ``.csv.gz`` ...).

Rules (docs/registries.md, "Procedures"):

- fee: true when any PHILEPHI has SOTIEN > 0; false when the item lists PHILEPHI and none
  has an amount; unknown when no PHILEPHI list is there at all. A column: Có/Không, x,
  1/0, true/false (an empty cell: unknown).
- paper result: DVCQG JSON has no "paper" flag; a non-empty KETQUATHUCHIEN (the procedure
  issues a result document: giấy tờ kết quả, what Decision 766 counts for electronic
  results) is true, anything else unknown (never false: the file cannot say). A column
  gives true or false.
- legal time limit: the THOIGIAN rows are per channel (KENH) and per case (MOTA:
  "trường hợp ..."). Without knowing a dossier's case, the one limit no dossier of the
  procedure may exceed is the longest, so that is the catalogue's limit (compared by
  length: a working day as 7/5 of a day, an hour as 1/24). DONVITINH "Ngày làm việc" ->
  WORKING_DAYS, "Ngày" -> DAYS, "Giờ" (also "Giờ làm việc") -> HOURS, "Tuần" -> 7 DAYS;
  a fractional day count is rounded up (0,5 ngày làm việc -> 1), fractional hours too;
  a unit the contract cannot say exactly ("Tháng", "Năm", ...) leaves its row out, with
  a warning.
- channels: KENH 1 direct, 2 online, 3 postal (or the words in a column).
- kept: code, name, field code and name, the three flags, channels. Nothing else (no
  MOTA or other free text); a code or name that looks like personal data is refused.

A bad item or row is refused with its position and a Vietnamese reason; the others load.
A file that cannot be read at all raises :class:`CatalogueFileError`.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..domain.events import MAX_ID_LEN, MAX_STR_LEN, MAX_TIME_LIMIT, looks_personal
from .catalogue import CHANNEL_CODES, CatalogueEntry


class CatalogueFileError(Exception):
    """The file cannot be read as a catalogue at all (one Vietnamese line)."""


@dataclass
class LoadResult:
    entries: list[tuple[str, CatalogueEntry]] = field(default_factory=list)  # (position, entry)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (position, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    repeated: int = 0  # items repeated with the same content (kept once)
    kind: str = ""  # "json", "jsonl", "csv", "xlsx"


class BadItem(ValueError):
    """One item or row cannot be loaded; the message is the Vietnamese reason."""


# -- text helpers ----------------------------------------------------------------------


def fold_text(s: str) -> str:
    """Lower case, no diacritics, đ -> d: how headings and unit words are compared."""
    s = unicodedata.normalize("NFD", s.strip().lower()).replace("đ", "d")
    return "".join(c for c in s if not unicodedata.combining(c))


def _key(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold_text(s))


_CODE = re.compile(rf"[A-Za-z0-9._:/\-]{{1,{MAX_ID_LEN}}}")


def _code(value: Any, what: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise BadItem(f"thiếu {what}")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadItem(f"{what} không phải một chuỗi")
    if isinstance(value, float):
        # A MaTTHC typed into Excel as a number ("1.004227" -> 1.004227): only the x.xxxxxx
        # form is kept; others may have lost trailing zeros.
        text = repr(value)
        if not re.fullmatch(r"[0-9]+\.[0-9]{6}", text):
            raise BadItem(
                f"{what} là một số trong Excel ({text}), có thể đã mất số 0 ở cuối; "
                "hãy định dạng cột là văn bản (Text)"
            )
        value = text
    text = str(value).strip()
    if not _CODE.fullmatch(text):
        raise BadItem(
            f"{what} không hợp lệ: chỉ gồm chữ không dấu, số và . _ : / - (tối đa {MAX_ID_LEN} ký tự)"
        )
    if looks_personal(text):
        raise BadItem(f"{what} trông như dữ liệu cá nhân (số điện thoại/CCCD), không lưu")
    return text


def _name(value: Any, what: str, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadItem(f"thiếu {what}")
        return ""
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        else:
            raise BadItem(f"{what} không phải một chuỗi")
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if len(text) > MAX_STR_LEN:
        raise BadItem(f"{what} dài quá {MAX_STR_LEN} ký tự")
    if looks_personal(text):
        raise BadItem(
            f"{what} chứa nội dung giống dữ liệu cá nhân (số điện thoại/CCCD/thư điện tử), không lưu"
        )
    return text


_TRUE = {"co", "x", "1", "true", "yes", "y", "dung", "c"}
_FALSE = {"khong", "0", "false", "no", "n", "k", "sai"}


def parse_bool(value: Any, what: str) -> bool | None:
    """Có/Không, x, 1/0, true/false (any case, with or without diacritics); empty: None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if value in (0, 1):
            return bool(value)
        raise BadItem(f"{what} phải là Có/Không (hoặc x, 1/0), không phải {value}")
    text = fold_text(str(value)).strip(" .")
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadItem(f"{what} phải là Có/Không (hoặc x, 1/0, true/false)")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or value is None:
        raise BadItem(f"{what} không phải một số")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise BadItem(f"{what} không phải một số")
        return float(value)
    text = str(value).strip().replace(" ", "")
    if re.fullmatch(r"[0-9]{1,3}(\.[0-9]{3})+", text):  # 50.000 (Vietnamese thousands)
        text = text.replace(".", "")
    text = text.replace(",", ".")
    try:
        out = float(text)
    except ValueError:
        raise BadItem(f"{what} không phải một số") from None
    if not math.isfinite(out):
        raise BadItem(f"{what} không phải một số")
    return out


# Unit words, folded: -> (unit, multiplier). None: a unit the contract cannot state exactly.
_UNITS = (
    ("ngay lam viec", ("WORKING_DAYS", 1)),
    ("ngay lv", ("WORKING_DAYS", 1)),
    ("working_days", ("WORKING_DAYS", 1)),
    ("working days", ("WORKING_DAYS", 1)),
    ("gio lam viec", ("HOURS", 1)),
    ("gio", ("HOURS", 1)),
    ("hours", ("HOURS", 1)),
    ("tuan", ("DAYS", 7)),
    ("ngay", ("DAYS", 1)),
    ("days", ("DAYS", 1)),
    ("thang", None),
    ("nam", None),
    ("phut", None),
)


def parse_unit(text: str) -> tuple[str, int] | None:
    """DONVITINH words -> (unit, multiplier); None for a unit without an exact equivalent.
    Raises BadItem for words that are no unit at all."""
    t = fold_text(text)
    for word, unit in _UNITS:
        if t == word or t.startswith((word + " ", word + "(")):
            return unit
    raise BadItem("đơn vị tính thời hạn không nhận ra (dùng Ngày làm việc, Ngày hoặc Giờ)")


def make_limit(value: float, unit: tuple[str, int], what: str = "thời hạn giải quyết") -> dict:
    if value < 0:
        raise BadItem(f"{what} là số âm")
    name, mult = unit
    n = math.ceil(round(value * mult, 6))  # 0,5 ngày -> 1; float noise kept out of ceil
    if n > (MAX_TIME_LIMIT * 24 if name == "HOURS" else MAX_TIME_LIMIT):
        raise BadItem(f"{what} dài quá {MAX_TIME_LIMIT} ngày, không phải một thời hạn thật")
    return {"value": n, "unit": name}


def limit_hours(limit: dict) -> float:
    """A limit's length for comparing limits of different units (not for due dates)."""
    v = limit["value"]
    return {"WORKING_DAYS": v * 24 * 7 / 5, "DAYS": v * 24, "HOURS": v}[limit["unit"]]


def longest(limits: Iterable[dict]) -> dict | None:
    best = None
    for lim in limits:
        if best is None or limit_hours(lim) > limit_hours(best):
            best = lim
    return best


_CHANNEL_WORDS = (
    ("truc tiep", "DIRECT"),
    ("truc tuyen", "ONLINE"),
    ("buu chinh", "POSTAL"),
    ("bcci", "POSTAL"),
    ("direct", "DIRECT"),
    ("online", "ONLINE"),
    ("postal", "POSTAL"),
)


def parse_channels(value: Any) -> tuple[str, ...]:
    """ "1,2,3" or "Trực tiếp; Trực tuyến; Bưu chính công ích" -> ("DIRECT", "ONLINE", "POSTAL")."""
    if value is None:
        return ()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(int(value)) if float(value).is_integer() else str(value)
    out: set[str] = set()
    for part in re.split(r"[,;/|\n+]", fold_text(str(value))):
        part = part.strip(" .-")
        if not part:
            continue
        if part in CHANNEL_CODES:
            out.add(CHANNEL_CODES[part])
            continue
        for word, ch in _CHANNEL_WORDS:
            if word in part:
                out.add(ch)
                break
        else:
            raise BadItem("kênh thực hiện không nhận ra (dùng 1/2/3 hoặc Trực tiếp/Trực tuyến/Bưu chính)")
    return tuple(sorted(out))


# -- DVCQG JSON ---------------------------------------------------------------------------


def _get(d: dict, key: str) -> Any:
    """d[key] with the key's case ignored (DVCQG writes MATTHC, other systems MaTTHC)."""
    if key in d:
        return d[key]
    want = key.lower()
    for k, v in d.items():
        if isinstance(k, str) and k.lower() == want:
            return v
    return None


def _list(value: Any, what: str) -> list:
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        raise BadItem(f"{what} không phải một mảng")
    return value


def _dvcqg_field(item: dict) -> tuple[str, str]:
    """(field code, field name): from the first LINHVUCTHUCHIEN, else from the item's own keys."""
    field_code = ""
    fields = _list(_get(item, "LINHVUCTHUCHIEN"), "LINHVUCTHUCHIEN")
    if fields:
        first = fields[0]
        if not isinstance(first, dict):
            raise BadItem("LINHVUCTHUCHIEN[1] không phải một đối tượng")
        source = first
    else:
        source = item
    if _get(source, "MALINHVUC") is not None:
        field_code = _code(_get(source, "MALINHVUC"), "mã lĩnh vực (MALINHVUC)")
    field_name = _name(_get(source, "TENLINHVUC"), "tên lĩnh vực (TENLINHVUC)", required=False)
    return field_code, field_name


def _way_channel(way: dict, where: str) -> str | None:
    """The channel a CACHTHUCTHUCHIEN says in KENH (1, 2, 3, also as "2.0"), None when absent."""
    kenh = _get(way, "KENH")
    if kenh is None:
        return None
    key = str(kenh).strip() if not isinstance(kenh, bool) else ""
    if key.endswith(".0"):
        key = key[:-2]
    if key not in CHANNEL_CODES:
        raise BadItem(f"{where}.KENH phải là 1 (trực tiếp), 2 (trực tuyến) hoặc 3 (bưu chính)")
    return CHANNEL_CODES[key]


def _row_limit(row: dict, rwhere: str, warnings: list[str]) -> dict | None:
    """A THOIGIAN row's time limit; None when it has none or its unit cannot be converted (warned)."""
    amount = _get(row, "THOIGIANGIAIQUYET")
    unit_text = _get(row, "DONVITINH")
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        return None
    value = _number(amount, f"{rwhere}.THOIGIANGIAIQUYET")
    if not isinstance(unit_text, str) or not unit_text.strip():
        raise BadItem(f"{rwhere} có THOIGIANGIAIQUYET nhưng thiếu DONVITINH")
    try:
        unit = parse_unit(unit_text)
    except BadItem as err:
        raise BadItem(f"{rwhere}.DONVITINH: {err}") from None
    if unit is None:
        warnings.append(
            f"{rwhere}: đơn vị tính không quy đổi chính xác được sang ngày/giờ, dòng thời hạn này không dùng"
        )
        return None
    return make_limit(value, unit, f"{rwhere}.THOIGIANGIAIQUYET")


def _row_fees(row: dict, rwhere: str) -> tuple[bool, bool]:
    """(PHILEPHI listed, some SOTIEN > 0) for a THOIGIAN row; every line is checked, not just the first."""
    fees = _get(row, "PHILEPHI")
    has_fee = False
    for k, fee in enumerate(_list(fees, f"{rwhere}.PHILEPHI"), 1):
        if not isinstance(fee, dict):
            raise BadItem(f"{rwhere}.PHILEPHI[{k}] không phải một đối tượng")
        amount = _get(fee, "SOTIEN")
        if amount is None or (isinstance(amount, str) and not amount.strip()):
            continue
        if _number(amount, f"{rwhere}.PHILEPHI[{k}].SOTIEN") > 0:
            has_fee = True
    return fees is not None, has_fee


def _paper_result(item: dict) -> bool | None:
    """True when KETQUATHUCHIEN names a result document, else unknown (the file cannot say false)."""
    results = _get(item, "KETQUATHUCHIEN")
    return (
        True
        if isinstance(results, list)
        and any(isinstance(r, dict) and (_get(r, "TENKETQUA") or _get(r, "MAKETQUA")) for r in results)
        else None
    )


def dvcqg_item(item: Any) -> tuple[CatalogueEntry, list[str]]:
    """One LayThuTuc item -> (entry, warnings). Raises BadItem."""
    if not isinstance(item, dict):
        raise BadItem("không phải một đối tượng thủ tục (cần MATTHC, TENTTHC, ...)")
    code = _code(_get(item, "MATTHC"), "mã thủ tục (MATTHC)")
    name = _name(_get(item, "TENTTHC"), "tên thủ tục (TENTTHC)")
    warnings: list[str] = []
    field_code, field_name = _dvcqg_field(item)
    channels: set[str] = set()
    limits: list[dict] = []
    fee_listed = False
    has_fee = False
    for i, way in enumerate(_list(_get(item, "CACHTHUCTHUCHIEN"), "CACHTHUCTHUCHIEN"), 1):
        where = f"CACHTHUCTHUCHIEN[{i}]"
        if not isinstance(way, dict):
            raise BadItem(f"{where} không phải một đối tượng")
        channel = _way_channel(way, where)
        if channel is not None:
            channels.add(channel)
        for j, row in enumerate(_list(_get(way, "THOIGIAN"), f"{where}.THOIGIAN"), 1):
            rwhere = f"{where}.THOIGIAN[{j}]"
            if not isinstance(row, dict):
                raise BadItem(f"{rwhere} không phải một đối tượng")
            limit = _row_limit(row, rwhere, warnings)
            if limit is not None:
                limits.append(limit)
            listed, positive = _row_fees(row, rwhere)
            fee_listed = fee_listed or listed
            has_fee = has_fee or positive
    entry = CatalogueEntry(
        code=code,
        name=name,
        field_code=field_code,
        field_name=field_name,
        has_fee=True if has_fee else (False if fee_listed else None),
        requires_paper_result=_paper_result(item),
        time_limit=longest(limits),
        channels=tuple(sorted(channels)),
    )
    return entry, warnings


def _unwrap(doc: Any) -> list:
    """The items of a DVCQG answer, a bare array or one item."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        code = _get(doc, "error_code")
        if code not in (None, 0, "0", "") and _get(doc, "MATTHC") is None:
            raise CatalogueFileError(
                f"câu trả lời của dịch vụ báo lỗi (error_code={str(code)[:20]}), không có danh mục"
            )
        for key in ("result", "data", "items"):
            inner = _get(doc, key)
            if isinstance(inner, (list, dict)):
                return (
                    _unwrap(inner)
                    if isinstance(inner, dict) and _get(inner, "MATTHC") is None
                    else _list(inner, key)
                )
        return [doc]
    raise CatalogueFileError(
        "tệp JSON không chứa danh sách thủ tục (cần một mảng, một đối tượng "
        'hoặc câu trả lời {"result": [...]})'
    )


def _json_items(body: bytes) -> tuple[str, Iterator[tuple[str, Any]]]:
    body = body[3:] if body[:3] == b"\xef\xbb\xbf" else body
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
        lines = body.splitlines()
        if len([ln for ln in lines if ln.strip()]) < 2:
            raise CatalogueFileError("tệp không phải JSON hợp lệ") from None
    if doc is not None:
        items = _unwrap(doc)
        return "json", ((f"mục {i}", it) for i, it in enumerate(items, 1))

    def per_line():
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                yield f"dòng {n}", _Broken("dòng không phải JSON hợp lệ")
                continue
            try:
                inner = _unwrap(value)
            except CatalogueFileError as err:
                yield f"dòng {n}", _Broken(str(err))
                continue
            if len(inner) == 1:
                yield f"dòng {n}", inner[0]
            else:
                for i, it in enumerate(inner, 1):
                    yield f"dòng {n}, mục {i}", it

    return "jsonl", per_line()


@dataclass
class _Broken:
    reason: str


# -- CSV / XLSX ---------------------------------------------------------------------------

# Folded, alphanumeric-only headings -> the column they name.
HEADINGS = {
    "code": ("mathutuc", "matthc", "mathutuchanhchinh", "mathutuctthc", "code", "procedurecode", "ma"),
    "name": (
        "tenthutuc",
        "tentthc",
        "tenthutuchanhchinh",
        "name",
        "procedurename",
        "thutuc",
        "thutuchanhchinh",
    ),
    "field_code": ("malinhvuc", "fieldcode"),
    "field_name": ("tenlinhvuc", "linhvuc", "fieldname", "linhvucthuchien"),
    "has_fee": (
        "cophilephi",
        "cophi",
        "colephi",
        "philephi",
        "phi",
        "lephi",
        "hasfee",
        "thuphi",
        "cothuphilephi",
    ),
    "requires_paper_result": (
        "ketquabangiay",
        "coketquabangiay",
        "ketquagiay",
        "requirespaperresult",
        "trakqbangiay",
        "traketquabangiay",
    ),
    "time_limit": (
        "thoihangiaiquyet",
        "thoigiangiaiquyet",
        "thoihan",
        "timelimit",
        "timelimitvalue",
        "thoihangiaiquyetngay",
    ),
    "time_unit": ("donvitinh", "donvitinhthoihan", "donvithoigian", "timelimitunit", "donvi"),
    "channels": ("kenhthuchien", "kenh", "cachthucthuchien", "channels", "kenhnop", "hinhthucnop"),
}
_HEADING_OF = {alias: col for col, aliases in HEADINGS.items() for alias in aliases}


def _header_map(row: list) -> dict[str, int] | None:
    """Column -> index when ``row`` is a heading row naming at least the code and name."""
    found: dict[str, int] = {}
    for i, cell in enumerate(row):
        if cell is None:
            continue
        col = _HEADING_OF.get(_key(str(cell)))
        if col is not None and col not in found:
            found[col] = i
    return found if "code" in found and "name" in found else None


def _limit_from_cells(value: Any, unit_cell: Any) -> dict | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    unit_text = unit_cell.strip() if isinstance(unit_cell, str) and unit_cell.strip() else None
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]+(?:[.,][0-9]+)?)\s*(.*?)\s*", value)
        if m is None:
            raise BadItem("thời hạn giải quyết phải là một số (có thể kèm đơn vị: 15 ngày làm việc)")
        number, rest = m.group(1), m.group(2)
        if rest:
            unit_text = rest
        value = number
    amount = _number(value, "thời hạn giải quyết")
    if unit_text is None:
        raise BadItem("thời hạn giải quyết thiếu đơn vị tính (Ngày làm việc, Ngày hoặc Giờ)")
    unit = parse_unit(unit_text)
    if unit is None:
        raise BadItem(
            "đơn vị tính của thời hạn không quy đổi chính xác được sang ngày/giờ "
            "(dùng Ngày làm việc, Ngày hoặc Giờ)"
        )
    return make_limit(amount, unit)


def table_row(cols: dict[str, int], row: list) -> CatalogueEntry:
    def cell(name):
        i = cols.get(name)
        if i is None or i >= len(row):
            return None
        v = row[i]
        return v.strip() if isinstance(v, str) else v

    field_code = cell("field_code")
    return CatalogueEntry(
        code=_code(cell("code"), "mã thủ tục"),
        name=_name(cell("name"), "tên thủ tục"),
        field_code=_code(field_code, "mã lĩnh vực") if field_code not in (None, "") else "",
        field_name=_name(cell("field_name"), "tên lĩnh vực", required=False),
        has_fee=parse_bool(cell("has_fee"), "cột có phí/lệ phí"),
        requires_paper_result=parse_bool(cell("requires_paper_result"), "cột kết quả bản giấy"),
        time_limit=_limit_from_cells(cell("time_limit"), cell("time_unit")),
        channels=parse_channels(cell("channels")),
    )


def _rows_with_header(
    rows: Iterable[tuple[int, list]], where: str
) -> tuple[dict[str, int], Iterator[tuple[int, list]]]:
    it = iter(rows)
    seen = 0
    for _n, row in it:
        seen += 1
        cols = _header_map(row)
        if cols is not None:
            return cols, it
        if seen >= 10:
            break
    raise CatalogueFileError(
        f"{where} không có dòng tiêu đề với cột mã thủ tục và tên thủ tục "
        "(ví dụ 'Mã thủ tục', 'Tên thủ tục') trong 10 dòng đầu"
    )


def _csv_rows(body: bytes) -> Iterator[tuple[int, list]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CatalogueFileError("tệp CSV không mã hóa UTF-8 (hãy lưu lại dưới dạng CSV UTF-8)") from None
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delim = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    for row in reader:
        yield reader.line_num, row


def _xlsx_sheets(path) -> Iterator[tuple[str, Iterator[tuple[int, list]]]]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, data_only=True)  # not read_only: that keeps the file open
    except Exception as err:  # noqa: BLE001 - zipfile / openpyxl errors: the file is unreadable
        raise CatalogueFileError(f"không đọc được tệp Excel ({type(err).__name__})") from None
    for ws in wb.worksheets:
        yield ws.title, ((n, list(r)) for n, r in enumerate(ws.iter_rows(values_only=True), 1))


def _table_items(sheets: Iterable[tuple[str | None, Iterator[tuple[int, list]]]]):
    problems = []
    for title, rows in sheets:
        where = f"trang tính '{title}'" if title is not None else "tệp"
        try:
            cols, rest = _rows_with_header(rows, where)
        except CatalogueFileError as err:
            problems.append(str(err))
            continue

        def items(cols=cols, rest=rest, title=title):
            for n, row in rest:
                if all(c is None or (isinstance(c, str) and not c.strip()) for c in row):
                    continue
                pos = f"trang tính '{title}', dòng {n}" if title is not None else f"dòng {n}"
                yield pos, (cols, row)

        return items()
    raise CatalogueFileError(
        problems[0]
        if len(problems) == 1
        else "không trang tính nào có dòng tiêu đề với cột mã thủ tục và tên thủ tục"
    )


# -- the file ----------------------------------------------------------------------------


def file_kind(path: Path, head: bytes) -> str:
    ext = path.suffix.lower()
    if ext in (".xlsx", ".xlsm") or head[:2] == b"PK":
        return "xlsx"
    if ext in (".json", ".jsonl", ".ndjson"):
        return "json"
    if ext in (".csv", ".tsv", ".txt"):
        return "csv"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return "json" if stripped[:1] in (b"{", b"[") else "csv"


def read_catalogue(path: str | Path) -> LoadResult:
    """Every item of the file, parsed (see module doc). Raises CatalogueFileError."""
    path = Path(path)
    try:
        body = path.read_bytes()
    except OSError as err:
        raise CatalogueFileError(f"không đọc được tệp {path}: {err.strerror or type(err).__name__}") from None
    named = path
    if body[:2] == b"\x1f\x8b":  # gzip (.json.gz, .csv.gz, ...): the name without .gz says the kind
        import gzip

        try:
            body = gzip.decompress(body)
        except (OSError, EOFError):
            raise CatalogueFileError("tệp nén gzip bị hỏng, không giải nén được") from None
        named = path.with_suffix("") if path.suffix.lower() == ".gz" else path
    kind = file_kind(named, body[:8])
    out = LoadResult()
    if kind == "xlsx":
        out.kind = "xlsx"
        items = _table_items(_xlsx_sheets(io.BytesIO(body)))
    elif kind == "csv":
        out.kind = "csv"
        items = _table_items([(None, _csv_rows(body))])
    else:
        out.kind, items = _json_items(body)
    first_at: dict[str, tuple[str, CatalogueEntry]] = {}
    for pos, item in items:
        warns: list[str]
        try:
            if isinstance(item, _Broken):
                raise BadItem(item.reason)
            if isinstance(item, tuple):
                entry, warns = table_row(*item), []
            else:
                entry, warns = dvcqg_item(item)
        except BadItem as err:
            out.refused.append((pos, str(err)))
            continue
        out.warnings.extend((pos, w) for w in warns)
        earlier = first_at.get(entry.code)
        if earlier is not None:
            if earlier[1] == entry:
                out.repeated += 1
            else:
                out.refused.append((pos, f"mã thủ tục '{entry.code}' đã có ở {earlier[0]} với nội dung khác"))
            continue
        first_at[entry.code] = (pos, entry)
        out.entries.append((pos, entry))
    return out
