"""Dossier-list spreadsheets (XLSX / CSV) exported by one-stop systems, one row a dossier.

Officials export "Danh sách hồ sơ" from their one-stop system to Excel or CSV; this
module reads such a file into :class:`~motcua.imports.model.Snapshot` records (one per
row) and :class:`~motcua.imports.model.Problem` records (a row that cannot be read).

The file:

- ``.xlsx`` / ``.xlsm`` (openpyxl, read-only, cached values; macros are never run) or
  ``.csv`` / ``.tsv`` (UTF-8 with or without BOM, UTF-16 with a BOM or guessed from its
  NUL bytes, else Windows-1258; delimiter ``,`` ``;`` or tab, the one that gives a
  heading row);
- the heading row is the first row (within the first 30) where the dossier-code column and
  at least one date column are found; the title rows above it ("UBND TỈNH …", "DANH SÁCH
  HỒ SƠ", dates, merged cells) are skipped. A heading in two rows ("Ngày" merged over
  "Tiếp nhận | Hẹn trả") is read as "Ngày Tiếp nhận", "Ngày Hẹn trả";
- headings match case-insensitively, with or without diacritics, whatever the spacing,
  and a trailing ``(*)``, ``*``, ``:`` or bracketed note (``(dd/mm/yyyy)``) is ignored.
  A mapping file (:class:`SheetMapping`) adds headings and cell values of its own; its
  headings win over the defaults.

Personal data: only the mapped columns are read at all; every other column (Người nộp,
Số CCCD, Địa chỉ, Điện thoại, Trích yếu, Ghi chú …) is skipped cell by cell, and only its
heading text is listed (``SheetRead.ignored``). A mapping that points one of our fields at
a heading that names personal data is refused. A code cell (dossier, unit, procedure,
field) that looks like a citizen-ID / phone number or an e-mail is a Problem and is not
kept; reasons quote cell values only through :func:`~motcua.domain.events.shown`.

Decisions (not stated by any source):

- All instants are local time of Việt Nam (UTC+7, no daylight saving since 1975). A date
  without a time means 00:00 local of that day, for every date column; for "Ngày hẹn
  trả" only the local date counts anyway (``Snapshot.due_at``). Dates outside
  1990–2099 are refused (a typing error, or an Excel serial read from a wrong column).
- A status 3 row (Không được tiếp nhận) without a rejection date ("Ngày từ chối"): its
  "Ngày có kết quả" is the rejection time, so it becomes ``rejected_at`` and
  ``resolved_at`` is left empty (a rejected dossier has no result; keeping both would
  count it as resolved).
- "Thanh toán trực tuyến" Có → ``ONLINE_LOCAL``: a sheet cannot tell payment on DVCQG
  from the provincial portal (a mapping value may say ``ONLINE_DVCQG``); Không → ``NONE``.
- "Số hóa" Có / Không → ``Digitisation(1, 1)`` / ``Digitisation(1, 0)``: the dossier as
  one component, the sheet gives no count.
- A row whose mapped cells are all empty is skipped silently (a blank row, a footer that
  only has a signature or a count in an unmapped column); a footer whose code cell reads
  "Tổng cộng" / "Tổng số" / "Cộng" is skipped too. Any other row without a dossier code
  is a NO_DOSSIER_CODE Problem.
- One record per row: a row with several faults is one Problem whose code is that of the
  first fault (the missing code first, then in column order) and whose reason lists them all.
- When two columns mean the same field (e.g. "Ngày có kết quả" and "Ngày hoàn thành"),
  the heading earlier in the list wins (mapping headings first, then the defaults in the
  order below); the other column is ignored.
- An Excel procedure code typed as a number (1.00161 for ``1.001610``) is written back
  with six decimals, as MaTTHC codes have.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from motcua.domain.events import kind_of, looks_personal, shown
from motcua.domain.vocabulary import CHANNEL_LABELS, CHANNEL_ORDER
from motcua.imports.model import Digitisation, Problem, Snapshot
from motcua.reference.catalogue import CHANNEL_CODES
from motcua.reference.units_loader import _fold, parse_level

__all__ = [
    "DEFAULT_HEADINGS",
    "FIELDS",
    "SheetError",
    "SheetMapping",
    "SheetRead",
    "read_sheet",
]


class SheetError(Exception):
    """A file that cannot be read at all; the message is Vietnamese."""


# -- headings ----------------------------------------------------------------------------

# Our field -> the headings that mean it, in order of preference.
DEFAULT_HEADINGS: dict[str, tuple[str, ...]] = {
    "dossier_id": ("Mã hồ sơ", "Mã số hồ sơ", "MaHoSo"),
    "unit_code": ("Mã đơn vị", "Mã đơn vị xử lý", "Mã cơ quan", "MaDonVi"),
    "unit_level": ("Cấp", "Cấp đơn vị", "Cấp thực hiện"),
    "procedure_code": ("Mã TTHC", "Mã thủ tục", "Mã thủ tục hành chính", "MaTTHC"),
    "field_code": ("Mã lĩnh vực", "MaLinhVuc"),
    "channel": ("Hình thức nộp", "Hình thức nộp hồ sơ", "Kênh nộp", "Kênh thực hiện", "KenhThucHien"),
    "received_at": ("Ngày tiếp nhận", "NgayTiepNhan"),
    "due_at": ("Ngày hẹn trả", "Ngày hẹn trả kết quả", "NgayHenTra"),
    "resolved_at": ("Ngày có kết quả", "Ngày kết thúc xử lý", "Ngày hoàn thành", "NgayKetThucXuLy"),
    "returned_at": ("Ngày trả kết quả", "NgayTra"),
    "rejected_at": ("Ngày từ chối", "Ngày từ chối tiếp nhận", "NgayTuChoi"),
    "status": ("Trạng thái", "Trạng thái hồ sơ", "TrangThaiHoSo"),
    "payment": ("Thanh toán trực tuyến",),
    "electronic_result": ("Kết quả điện tử",),
    "digitisation": ("Số hóa",),
}
FIELDS = tuple(DEFAULT_HEADINGS)
DATE_FIELDS = ("received_at", "due_at", "resolved_at", "returned_at", "rejected_at")
CODE_FIELDS = ("dossier_id", "unit_code", "procedure_code", "field_code")
VALUE_FIELDS = ("unit_level", "channel", "status", "payment", "electronic_result", "digitisation")

# Folded fragments of headings that name personal data or free text: a mapping may not
# point one of our fields at such a column.
_PERSONAL_HEADING_PARTS = (
    "hoten",
    "nguoinop",
    "cccd",
    "cmnd",
    "diachi",
    "dienthoai",
    "email",
    "mail",
    "chuhoso",
    "sogiayto",
    "cancuoc",
    "hochieu",
    "trichyeu",
    "ghichu",
    "noidung",
    "nguoidaidien",
    "nguoixuly",
    "masothue",
    "sodinhdanh",
    "sdt",
)

_HEADING_SCAN = 30  # title rows an exported list may have above its heading row
_TRAILER = re.compile(r"(?:\s*(?:\([^()]*\)|\*|:))+\s*$")


def _heading_key(text: Any) -> str:
    """The folded form a heading is matched by: "Mã hồ sơ (*):" -> "mahoso"."""
    s = re.sub(r"\s+", " ", str(text)).strip()
    stripped = _TRAILER.sub("", s)
    return _fold(stripped or s)


def _looks_personal_heading(text: str) -> bool:
    key = _fold(text)
    return any(part in key for part in _PERSONAL_HEADING_PARTS)


def _display(text: Any) -> str:
    """A heading as found, for summaries and reasons (spaces collapsed, NFC)."""
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", str(text))).strip()


# -- mapping file ------------------------------------------------------------------------


@dataclass
class SheetMapping:
    """What a province's export calls things, when it differs from the defaults.

    ``headings``: our field -> extra headings that mean it (tried before the defaults).
    ``values``: per field, cell text -> our value, e.g. ``channel: {"Qua mạng": ONLINE}``,
    ``status: {"Hoàn thành": 9}``, ``electronic_result: {"Đã ký số": true}``.
    ``sheet``: the worksheet to read (default: the first with a heading row).
    Checked on construction (:class:`SheetError`); values are kept normalised."""

    headings: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    sheet: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.headings, dict) or not isinstance(self.values, dict):
            raise SheetError('tệp ánh xạ: "headings" và "values" phải là các bảng (khóa: giá trị)')
        headings: dict[str, list[str]] = {}
        claimed: dict[str, str] = {}
        for fld, names in self.headings.items():
            if fld not in FIELDS:
                raise SheetError(
                    f"tệp ánh xạ: trường {shown(str(fld))} không có; dùng một trong: {', '.join(FIELDS)}"
                )
            if isinstance(names, str):
                names = [names]
            if not isinstance(names, list) or not all(isinstance(n, str) and _heading_key(n) for n in names):
                raise SheetError(f"tệp ánh xạ: headings.{fld} phải là một tên cột hoặc danh sách tên cột")
            for n in names:
                if _looks_personal_heading(n):
                    raise SheetError(
                        f"tệp ánh xạ: headings.{fld} trỏ vào cột “{_display(n)}”, cột dữ liệu cá nhân "
                        "hoặc văn bản tự do; các cột đó không bao giờ được đọc"
                    )
                other = claimed.setdefault(_heading_key(n), fld)
                if other != fld:
                    raise SheetError(f"tệp ánh xạ: cột “{_display(n)}” được gán cho cả {other} và {fld}")
            headings[fld] = [_display(n) for n in names]
        values: dict[str, dict[str, Any]] = {}
        for fld, table in self.values.items():
            if fld not in VALUE_FIELDS:
                raise SheetError(
                    f"tệp ánh xạ: values.{shown(str(fld))} không dùng được; chỉ cho: {', '.join(VALUE_FIELDS)}"
                )
            if not isinstance(table, dict):
                raise SheetError(
                    f"tệp ánh xạ: values.{fld} phải là một bảng (giá trị trong ô: giá trị của chúng tôi)"
                )
            out: dict[str, Any] = {}
            for cell, ours in table.items():
                key = _fold(_cell_text(cell))
                if not key:
                    raise SheetError(f"tệp ánh xạ: values.{fld} có một khóa rỗng")
                out[key] = _mapping_value(fld, ours)
            values[fld] = out
        if self.sheet is not None and not isinstance(self.sheet, str):
            raise SheetError('tệp ánh xạ: "sheet" phải là tên một trang tính')
        self.headings = headings
        self.values = values

    @classmethod
    def load(cls, path: str | Path) -> SheetMapping:
        """A mapping from a YAML file: ``headings``, ``values``, ``sheet`` (all optional)."""
        import yaml

        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except OSError as err:
            raise SheetError(f"không đọc được tệp ánh xạ {Path(path).name}: {err.strerror or err}") from None
        except UnicodeDecodeError:
            raise SheetError(f"tệp ánh xạ {Path(path).name} không mã hóa UTF-8") from None
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            at = f" (dòng {mark.line + 1})" if mark is not None else ""
            raise SheetError(f"tệp ánh xạ {Path(path).name} không phải YAML hợp lệ{at}") from None
        if doc is None:
            return cls()
        if not isinstance(doc, dict):
            raise SheetError(
                f"tệp ánh xạ {Path(path).name}: cần một bảng với các khóa headings, values, sheet"
            )
        unknown = [str(k) for k in doc if k not in ("headings", "values", "sheet")]
        if unknown:
            raise SheetError(
                f"tệp ánh xạ {Path(path).name}: khóa {', '.join(shown(k) for k in unknown)} không có "
                "(chỉ dùng headings, values, sheet)"
            )
        return cls(headings=doc.get("headings") or {}, values=doc.get("values") or {}, sheet=doc.get("sheet"))


def _mapping_value(fld: str, ours: Any) -> Any:
    """A mapping file's value for ``fld``, normalised; SheetError when it is not one of ours."""
    bad = SheetError(
        f"tệp ánh xạ: values.{fld}: {shown(ours) if isinstance(ours, str) else kind_of(ours)} "
        f"không phải giá trị hợp lệ cho {fld}"
    )
    if fld == "status":
        text = _cell_text(ours)
        if not isinstance(ours, bool) and text.isdigit() and 1 <= int(text) <= 10:
            return int(text)
        raise bad
    if fld == "channel":
        text = _cell_text(ours).upper()
        value = CHANNEL_CODES.get(text, text)
        if value in CHANNEL_ORDER:
            return value
        raise bad
    if fld == "payment":
        text = _cell_text(ours).upper()
        if text in ("ONLINE_DVCQG", "ONLINE_LOCAL", "NONE"):
            return text
        raise bad
    if fld == "unit_level":
        try:
            level = parse_level(ours)
        except ValueError:
            level = None
        if level is None:
            raise bad
        return level
    # electronic_result, digitisation: a yes / no
    flag = ours if isinstance(ours, bool) else _FLAGS.get(_fold(_cell_text(ours)))
    if flag is None:
        raise bad
    return flag


# -- cell values -------------------------------------------------------------------------

# The labels we print (domain.vocabulary), then the other wordings exports use.
_CHANNELS = {
    **{_fold(label): code for code, label in CHANNEL_LABELS.items()},
    "online": "ONLINE",
    "direct": "DIRECT",
    "buuchinh": "POSTAL",
    "bcci": "POSTAL",
    "quabuuchinh": "POSTAL",
    "quabuuchinhcongich": "POSTAL",
    "nopquabuuchinhcongich": "POSTAL",
    "postal": "POSTAL",
    **CHANNEL_CODES,
}
_STATUSES = {
    "moidangky": 1,
    "duoctiepnhan": 2,
    "khongduoctiepnhan": 3,
    "dangxuly": 4,
    "yeucaubosunggiayto": 5,
    "yeucaubosung": 5,
    "yeucauthuchiennghiavutaichinh": 6,
    "congdanyeucauruthoso": 7,
    "ruthoso": 7,
    "dungxuly": 8,
    "daxulyxong": 9,
    "datraketqua": 10,
    # short forms one-stop exports use ("Hoàn thành" stays unknown: 9 or 10?)
    "moi": 1,
    "datiepnhan": 2,
    "tuchoitiepnhan": 3,
    "chobosung": 5,
    "tamdungxuly": 8,
    **{str(i): i for i in range(1, 11)},
}
_FLAGS = {
    "co": True,
    "x": True,
    "1": True,
    "true": True,
    "yes": True,
    "khong": False,
    "0": False,
    "false": False,
    "no": False,
}
_PAYMENTS = {"onlinedvcqg": "ONLINE_DVCQG", "onlinelocal": "ONLINE_LOCAL", "none": "NONE"}

_CHANNEL_HINT = ", ".join(CHANNEL_LABELS[c] for c in CHANNEL_ORDER)

_LOCAL = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh: UTC+7 all year since 1975
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_YEARS = (1990, 2099)
_SERIALS = (32874, 73051)  # Excel serials of 1990-01-01 and 2100-01-01

_TIME = r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?"
_DMY = r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})"
_DMY_TIME = re.compile(rf"^{_DMY}(?:(?:\s+|\s*[T,]\s*){_TIME})?$")
_TIME_DMY = re.compile(rf"^{_TIME}\s*,?\s+(?:ngày\s+)?{_DMY}$", re.IGNORECASE)
_ISO = re.compile(
    rf"^(\d{{4}})-(\d{{2}})-(\d{{2}})(?:[T ]{_TIME})?\s*(Z|[+-]\d{{2}}:?\d{{2}})?$", re.IGNORECASE
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2}))?$")  # DVCQG yyyyMMdd[HHmmss]
_FOOTER = re.compile(r"^(?:tong|cong)")  # "Tổng cộng", "Tổng số hồ sơ: 25", "Cộng"


def _cell_text(value: Any) -> str:
    """A cell as text: whitespace collapsed, NFC, integral floats without ".0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", str(value))).strip()


@lru_cache(maxsize=4096)
def _label_key(text: str) -> str:
    return _fold(_cell_text(text))


def _key(value: Any) -> str:
    """The folded text of a label cell ("Đang xử lý" -> "dangxuly"); labels repeat from
    row to row, so folded texts are cached."""
    return _label_key(value) if isinstance(value, str) else _fold(_cell_text(value))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _raw_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return _cell_text(value)


def _ms(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_LOCAL)
    if not _YEARS[0] <= dt.astimezone(_LOCAL).year <= _YEARS[1]:
        raise ValueError("year")
    micros = (dt - _EPOCH) // timedelta(microseconds=1)
    return (micros + 500) // 1000


def _frac(digits: str | None) -> int:
    return int((digits or "0").ljust(6, "0")[:6])


def _instant(value: Any) -> int | None:
    """Epoch ms (UTC) of a date cell; None when blank; ValueError when not a date."""
    if _blank(value):
        return None
    if isinstance(value, bool) or isinstance(value, (time, timedelta)):
        raise ValueError("not a date")
    if isinstance(value, datetime):
        return _ms(value)
    if isinstance(value, date):
        return _ms(datetime(value.year, value.month, value.day))
    if isinstance(value, (int, float)):
        if isinstance(value, int) or value.is_integer():
            m = _COMPACT.match(str(int(value)))
            if m:
                return _ms(_compact(m))
        if _SERIALS[0] <= value < _SERIALS[1]:  # an unformatted Excel date (NaN fails here)
            from openpyxl.utils.datetime import from_excel

            return _ms(from_excel(value))
        raise ValueError("not a serial date")
    text = _cell_text(value)
    m = _DMY_TIME.match(text)
    if m:
        d, mo, y, hh, mi, ss, fr = m.groups()
        return _ms(datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0), _frac(fr)))
    m = _TIME_DMY.match(text)
    if m:
        hh, mi, ss, fr, d, mo, y = m.groups()
        return _ms(datetime(int(y), int(mo), int(d), int(hh), int(mi), int(ss or 0), _frac(fr)))
    m = _ISO.match(text)
    if m:
        y, mo, d, hh, mi, ss, fr, zone = m.groups()
        tz = None
        if zone and zone.upper() == "Z":
            tz = UTC
        elif zone:
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        return _ms(
            datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0), _frac(fr), tzinfo=tz)
        )
    m = _COMPACT.match(text)
    if m:
        return _ms(_compact(m))
    raise ValueError("not a date")


def _compact(m: re.Match) -> datetime:
    y, mo, d, hh, mi, ss = m.groups()
    return datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0))


class _Bad(Exception):
    """One cell that cannot be read: a Problem code and a Vietnamese reason."""

    def __init__(self, code: str, reason: str):
        super().__init__(code)
        self.code = code
        self.reason = reason


def _quoted(value: Any) -> str:
    """A cell value as a reason may show it (``shown``: codes only)."""
    return shown(_cell_text(value)) if isinstance(value, str) else f"({kind_of(value)})"


def _code(value: Any, fld: str, heading: str) -> str | None:
    """A code cell (dossier, unit, procedure, field): no whitespace, '@', control character
    or anything shaped like a citizen-ID / phone number / e-mail; at most 64 characters."""
    if _blank(value):
        return None
    if fld == "procedure_code" and isinstance(value, float) and not value.is_integer() and 0 < value < 10:
        text = f"{value:.6f}"  # 1.00161 typed in Excel is the code 1.001610
    else:
        text = _cell_text(value)
    if looks_personal(text):
        raise _Bad(
            "PERSONAL_DATA",
            f"cột “{heading}”: giá trị trông giống số CCCD/CMND, số điện thoại hoặc "
            "địa chỉ e-mail, không đọc",
        )
    if len(text) > 64 or not text.isprintable() or " " in text or "@" in text:
        raise _Bad(
            "BAD_CODE",
            f"cột “{heading}”: {_quoted(value)} không phải một mã (không có khoảng trắng, "
            "ký tự điều khiển hay '@', tối đa 64 ký tự)",
        )
    return text


def _lookup(value: Any, fld: str, extra: dict[str, dict[str, Any]], table: dict[str, Any]) -> Any:
    """Our value of a cell by its folded text: the mapping file's values first, then ours;
    KeyError when neither knows it."""
    key = _key(value)
    mapped = extra.get(fld, {})
    if key in mapped:
        return mapped[key]
    return table[key]


# -- rows --------------------------------------------------------------------------------


@dataclass
class _Columns:
    """The heading row as understood: field -> (column index, heading as found)."""

    row: int
    fields: dict[str, tuple[int, str]]
    ignored: list[str]


def _read_row(
    cells: tuple | list, n: int, where: str, cols: _Columns, extra: dict[str, dict[str, Any]]
) -> Snapshot | Problem | None:
    values = {f: (cells[j] if j < len(cells) else None) for f, (j, _h) in cols.fields.items()}
    if all(_blank(v) for v in values.values()):
        return None  # a blank row, or one with only unmapped cells (a signature, a footer)
    heading = {f: h for f, (_j, h) in cols.fields.items()}
    code_cell = values.get("dossier_id")
    if isinstance(code_cell, str):
        text = _cell_text(code_cell)
        # not a code (a code has no space, colon or diacritic): "Tổng cộng: 25" in the code column
        if (
            text[:1] in "TtCc"
            and (not text.isascii() or " " in text or ":" in text)
            and _FOOTER.match(_fold(text))
        ):
            return None
    faults: list[tuple[str, _Bad]] = []
    out: dict[str, Any] = {}
    # the dossier code first, then the other cells in column order
    for fld in sorted(values, key=lambda f: (f != "dossier_id", cols.fields[f][0])):
        try:
            out[fld] = _value(fld, values[fld], heading[fld], extra)
        except _Bad as bad:
            faults.append((fld, bad))
    if out.get("dossier_id") is None and not any(fld == "dossier_id" for fld, _b in faults):
        faults.insert(
            0,
            ("dossier_id", _Bad("NO_DOSSIER_CODE", f"thiếu mã hồ sơ (cột “{heading['dossier_id']}” trống)")),
        )
    if faults:
        hidden = {fld for fld, bad in faults if bad.code == "PERSONAL_DATA"}
        raw = {
            "dòng": n,
            **{heading[f]: ("(không hiển thị)" if f in hidden else _raw_text(v)) for f, v in values.items()},
        }
        return Problem(
            where=where,
            code=faults[0][1].code,
            reason="; ".join(b.reason for _f, b in faults),
            raw=orjson.dumps(raw),
        )
    snap = Snapshot(dossier_id=out["dossier_id"], where=where)
    for fld, v in out.items():
        if fld != "dossier_id":
            setattr(snap, fld, v)
    snap.unit_from = "column" if snap.unit_code else ""
    if snap.status == 3 and snap.rejected_at is None and snap.resolved_at is not None:
        snap.rejected_at, snap.resolved_at = snap.resolved_at, None
    return snap


def _value(fld: str, v: Any, h: str, extra: dict[str, dict[str, Any]]) -> Any:
    """Our value of one mapped cell; raises _Bad."""
    if fld in CODE_FIELDS:
        return _code(v, fld, h)
    if fld in DATE_FIELDS:
        try:
            return _instant(v)
        except (ValueError, OverflowError):
            raise _Bad(
                "BAD_DATE",
                f"cột “{h}”: {_quoted(v)} không phải ngày, giờ hợp lệ (dùng dd/mm/yyyy, "
                f"dd/mm/yyyy HH:mm[:ss] hoặc yyyy-mm-dd, năm {_YEARS[0]}–{_YEARS[1]})",
            ) from None
    if _blank(v):
        return None
    if fld == "unit_level":
        mapped = extra.get(fld, {}).get(_key(v))
        if mapped is not None:
            return mapped
        try:
            return parse_level(v)
        except ValueError:
            raise _Bad(
                "BAD_LEVEL",
                f"cột “{h}”: cấp {_quoted(v)} không nhận ra (dùng Cấp tỉnh, Cấp huyện, Cấp xã, "
                "Ngành dọc hoặc CAPDONVI 1–4, hoặc thêm nhãn khác trong tệp ánh xạ)",
            ) from None
    try:
        if fld == "channel":
            return _lookup(v, fld, extra, _CHANNELS)
        if fld == "status":
            return _lookup(v, fld, extra, _STATUSES)
        if fld == "payment":
            key = _key(v)
            if key in extra.get(fld, {}):
                return extra[fld][key]
            if key in _PAYMENTS:
                return _PAYMENTS[key]
            return "ONLINE_LOCAL" if _FLAGS[key] else "NONE"
        flag = v if isinstance(v, bool) else _lookup(v, fld, extra, _FLAGS)
        if fld == "digitisation":
            return Digitisation(1, 1 if flag else 0)
        return flag
    except KeyError:
        pass
    if fld == "channel":
        raise _Bad(
            "BAD_CHANNEL",
            f"cột “{h}”: hình thức nộp {_quoted(v)} không nhận ra (dùng {_CHANNEL_HINT} "
            "hoặc mã 1, 2, 3, hoặc thêm nhãn khác trong tệp ánh xạ)",
        )
    if fld == "status":
        raise _Bad(
            "BAD_STATUS",
            f"cột “{h}”: trạng thái {_quoted(v)} không nhận ra (dùng nhãn TrangThaiHoSo của "
            "DVCQG như Đang xử lý, Đã trả kết quả, hoặc mã 1–10, hoặc thêm nhãn khác trong tệp ánh xạ)",
        )
    raise _Bad("BAD_FLAG", f"cột “{h}”: {_quoted(v)} không phải Có hoặc Không (cũng nhận x, 1/0, True/False)")


# -- heading row -------------------------------------------------------------------------


class _Index:
    """Folded heading -> (field, preference): mapping headings first, then the defaults."""

    def __init__(self, mapping: SheetMapping):
        self.keys: dict[str, tuple[str, int]] = {}
        for fld, names in mapping.headings.items():
            for i, name in enumerate(names):
                self.keys.setdefault(_heading_key(name), (fld, i))
        for fld, defaults in DEFAULT_HEADINGS.items():
            base = len(mapping.headings.get(fld, ()))
            for i, name in enumerate(defaults):
                self.keys.setdefault(_heading_key(name), (fld, base + i))
        self.wanted = {
            "dossier_id": [*mapping.headings.get("dossier_id", ()), DEFAULT_HEADINGS["dossier_id"][0]],
            "dates": [h for f in DATE_FIELDS for h in (*mapping.headings.get(f, ()), DEFAULT_HEADINGS[f][0])],
        }

    def match(self, texts: list[str | None]) -> dict[str, tuple[int, str, int]] | None:
        """field -> (column, heading, preference) of a candidate heading row, when it has
        the dossier-code column and a date column; else None."""
        found: dict[str, tuple[int, str, int]] = {}
        for j, text in enumerate(texts):
            if text is None:
                continue
            hit = self.keys.get(_heading_key(text))
            if hit is None:
                continue
            fld, pref = hit
            if fld not in found or pref < found[fld][2]:
                found[fld] = (j, _display(text), pref)
        if "dossier_id" in found and any(f in found for f in DATE_FIELDS):
            return found
        return None

    def missing(self) -> str:
        ids = ", ".join(f"“{h}”" for h in self.wanted["dossier_id"])
        dates = ", ".join(f"“{h}”" for h in self.wanted["dates"])
        return (
            f"không tìm thấy dòng tiêu đề trong {_HEADING_SCAN} dòng đầu: cần cột mã hồ sơ ({ids}) và ít nhất "
            f"một cột ngày ({dates}); tên cột khác có thể khai báo trong tệp ánh xạ (--mapping)"
        )


def _texts(cells: Iterable[Any]) -> list[str | None]:
    return [None if _blank(c) else _display(c) for c in cells]


def _columns_of(texts: list[str | None], found: dict[str, tuple[int, str, int]], row: int) -> _Columns:
    used = {j for j, _h, _p in found.values()}
    ignored = []
    for j, text in enumerate(texts):
        if text is None or j in used:
            continue
        # a heading is not personal data, but a misplaced value could be: never list one
        ignored.append(
            f"(cột {j + 1})" if looks_personal(text) else (text if len(text) <= 80 else text[:79] + "…")
        )
    return _Columns(row=row, fields={f: (j, h) for f, (j, h, _p) in found.items()}, ignored=ignored)


def _find_heading(rows: Iterator[tuple[int, Any]], index: _Index) -> _Columns | None:
    """Consume rows up to the heading row (within the first 30) and return it; None when
    there is none. A heading in two rows is read as "upper lower" per column, the upper
    text carried over the empty cells a merged cell leaves."""
    upper: list[str | None] | None = None
    for n, cells in rows:
        texts = _texts(cells)
        found = index.match(texts)
        if found is not None:
            return _columns_of(texts, found, n)
        if upper is not None and any(texts):
            combined: list[str | None] = []
            carried = None
            for j in range(max(len(upper), len(texts))):
                top = upper[j] if j < len(upper) else None
                low = texts[j] if j < len(texts) else None
                carried = top if top is not None else (carried if low is not None else None)
                if low is not None and index.keys.get(_heading_key(low)):
                    combined.append(low)
                elif low is not None and carried is not None:
                    combined.append(f"{carried} {low}")
                else:
                    combined.append(low if low is not None else top)
            found = index.match(combined)
            if found is not None:
                return _columns_of(combined, found, n)
        if n >= _HEADING_SCAN:
            return None
        upper = texts if any(texts) else None
    return None


# -- files -------------------------------------------------------------------------------


@dataclass
class SheetRead:
    """What a dossier-list file held: where the headings were, which columns were used,
    and one record per data row (Snapshot, or Problem for a row that cannot be read)."""

    where: str  # file name
    sheet: str | None  # worksheet name (None for CSV)
    heading_row: int  # 1-based
    columns: dict[str, str]  # our field -> heading as found
    ignored: list[str]  # headings not used (their text only)
    rows: int  # data rows read (blank rows and footers not counted)
    records: list[Snapshot | Problem] = field(default_factory=list)


def _read_rows(
    rows: Iterator[tuple[int, Any]],
    cols: _Columns,
    label: Callable[[int], str],
    extra: dict[str, dict[str, Any]],
) -> tuple[int, list[Snapshot | Problem]]:
    count = 0
    records: list[Snapshot | Problem] = []
    for n, cells in rows:
        rec = _read_row(cells, n, label(n), cols, extra)
        if rec is not None:
            count += 1
            records.append(rec)
    return count, records


def _decode(data: bytes, name: str) -> str:
    """Text of a CSV file: UTF-8 (BOM or not), UTF-16 (BOM, or NUL bytes every other
    byte), else Windows-1258 (the Vietnamese ANSI code page)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        head = data[:4096]
        nul_odd, nul_even = head[1::2].count(0), head[0::2].count(0)
        if len(head) >= 4 and nul_odd > len(head) // 4 and nul_even == 0:
            encoding = "utf-16-le"
        elif len(head) >= 4 and nul_even > len(head) // 4 and nul_odd == 0:
            encoding = "utf-16-be"
        else:
            try:
                return unicodedata.normalize("NFC", data.decode("utf-8"))
            except UnicodeDecodeError:
                encoding = "cp1258"
    try:
        return unicodedata.normalize("NFC", data.decode(encoding))
    except UnicodeDecodeError:
        raise SheetError(f"{name}: không nhận ra bảng mã của tệp CSV (dùng UTF-8)") from None


def _read_csv(path: Path, index: _Index, extra: dict[str, dict[str, Any]]) -> SheetRead:
    name = path.name
    data = _read_bytes(path)
    text = _decode(data, name)
    if not text.strip():
        raise SheetError(f"{name}: tệp rỗng")
    head = text[: 1 << 20].splitlines()[:_HEADING_SCAN]
    # Most used delimiter first; a title line may hold a comma of its own, so the
    # delimiter is the first that gives a heading row.
    delimiters = sorted((",", ";", "\t"), key=lambda d: -max((line.count(d) for line in head), default=0))
    for delimiter in delimiters:
        rows = _csv_records(text, delimiter)
        try:
            cols = _find_heading(rows, index)
            if cols is None:
                continue
            count, records = _read_rows(rows, cols, lambda n: f"{name} dòng {n}", extra)
        except csv.Error as err:
            raise SheetError(f"{name}: tệp CSV hỏng ({err})") from None
        return SheetRead(
            where=name,
            sheet=None,
            heading_row=cols.row,
            columns={f: h for f, (_j, h) in cols.fields.items()},
            ignored=cols.ignored,
            rows=count,
            records=records,
        )
    raise SheetError(f"{name}: {index.missing()}")


def _csv_records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells) of a CSV text."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    for cells in reader:
        yield start, cells
        start = reader.line_num + 1


def _read_xlsx(
    path: Path, index: _Index, mapping: SheetMapping, extra: dict[str, dict[str, Any]]
) -> SheetRead:
    from openpyxl import load_workbook

    name = path.name
    try:
        wb = load_workbook(io.BytesIO(_read_bytes(path)), read_only=True, data_only=True)
    except Exception as err:  # zipfile / XML / openpyxl errors of a damaged or foreign file
        raise SheetError(f"{name}: không đọc được tệp Excel (.xlsx): {type(err).__name__}") from None
    try:
        sheets = list(wb.worksheets)
        if mapping.sheet is not None:
            chosen = [ws for ws in sheets if ws.title == mapping.sheet] or [
                ws for ws in sheets if _fold(ws.title) == _fold(mapping.sheet)
            ]
            if not chosen:
                raise SheetError(
                    f"{name}: không có trang tính “{_display(mapping.sheet)}” (có: "
                    f"{', '.join(f'“{ws.title}”' for ws in sheets)})"
                )
            sheets = chosen[:1]
        for ws in sheets:
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()  # some exporters declare a wrong sheet size
            rows = enumerate(ws.iter_rows(values_only=True), start=1)
            cols = _find_heading(rows, index)
            if cols is None:
                continue
            title = ws.title
            # B023: the lambda is used before the loop moves on (this iteration returns)
            count, records = _read_rows(rows, cols, lambda n: f"{name} [{title}] dòng {n}", extra)  # noqa: B023
            return SheetRead(
                where=name,
                sheet=title,
                heading_row=cols.row,
                columns={f: h for f, (_j, h) in cols.fields.items()},
                ignored=cols.ignored,
                rows=count,
                records=records,
            )
    finally:
        wb.close()
    if not sheets:
        raise SheetError(f"{name}: tệp Excel không có trang tính nào")
    which = f"trang tính “{sheets[0].title}”" if len(sheets) == 1 else f"{len(sheets)} trang tính"
    raise SheetError(f"{name} ({which}): {index.missing()}")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise SheetError(f"không đọc được tệp {path.name}: {err.strerror or err}") from None


def read_sheet(path: str | Path, mapping: SheetMapping | None = None) -> SheetRead:
    """Read a dossier-list file (.xlsx / .xlsm / .csv / .tsv) into one record per data row.

    Raises :class:`SheetError` for a file that cannot be read at all (another format, no
    heading row, a damaged file); a row that cannot be read is a ``Problem`` record."""
    mapping = mapping if mapping is not None else SheetMapping()
    path = Path(path)
    index = _Index(mapping)
    ext = path.suffix.lower()
    if ext in (".xlsx", ".xlsm"):
        return _read_xlsx(path, index, mapping, mapping.values)
    if ext in (".csv", ".tsv"):
        return _read_csv(path, index, mapping.values)
    if ext == ".xls":
        raise SheetError(
            f"{path.name}: định dạng Excel cũ (.xls) không đọc được; hãy lưu lại thành .xlsx hoặc CSV"
        )
    raise SheetError(f"{path.name}: chỉ đọc được tệp .xlsx hoặc .csv")
