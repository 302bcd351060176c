"""Reading DVCQG sync payloads: DongBoHoSoMC (dossier snapshots) and CapNhatTienDoHoSoMC
(progress rows), as the one-stop systems of docs/importing.md#senders send them, into the records
of :mod:`motcua.imports.model`. Pure parsing: no store, no events, no I/O but ``read_file``.

Shapes accepted (docs/importing.md#senders):

* O's envelope ``{"session", "madonvi", "service", "isUpdating", "data": [...]}`` (``data``
  may be one object; key names in any case, ``MaDinhDanhDV`` also names the unit);
* T's bare array of items, H's bare array with ``?MaDinhDanhDV=&isUpdating=`` in the query
  string (pass them as keywords: they apply when the body does not say);
* one bare item; in a file also an array of envelopes (several requests) and JSON Lines.

When no ``service`` is named each item is told apart by its shape (progress rows have
``ThoiDiemXuLy`` / ``NguoiXuLy`` / ``TrangThai`` and none of ``TrangThaiHoSo`` /
``NgayTiepNhan`` / ``MaTTHC``).

Only codes, instants and flags are kept. Personal data and free text (ChuHoSo, SoGiayToChuHoSo,
MaDoiTuong, Email, Fax, SoDienThoai, DinhDanhCHS, ThongTinKhac, TrichYeuHoSo, GhiChu, TenTTHC,
DonViXuLy, file names, URLs ...) are never copied; ``NoiDungXuLy`` and ``NguoiXuLy`` are read
only by :func:`classify_row`. ``DanhSachHoSoBoSung`` is ignored: neither O nor T ever fills it
(docs/importing.md#the-senders-quirks), supplement rounds arrive as progress rows. The
envelope's ``session`` is kept on :class:`Request` for the gateway to check, out of its
``repr``, and never in a record, a reason or a Problem's raw bytes. A
:class:`~motcua.imports.model.Problem` keeps the original item (or request) in ``raw`` for
the dead letter, which redacts it; its ``reason`` quotes input values only through
``events.shown``.

Problem codes: of a request ``BAD_JSON``, ``NOT_A_REQUEST``, ``UNKNOWN_SERVICE``,
``PERSONAL_DATA`` / ``BAD_FIELD`` (a ``madonvi`` that is no code); of an item
``NOT_AN_OBJECT``, ``NO_DOSSIER_CODE``, ``NO_TIME``, ``BAD_DATE``, ``BAD_STATUS``,
``BAD_CHANNEL``, ``PERSONAL_DATA`` / ``BAD_FIELD`` (MaHoSo, MaTTHC or MaLinhVuc with a
space, an '@' or the shape of a phone / ID number: the contract's code check); of a file
``DAMAGED_FILE``.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, overload

import orjson

from motcua.domain.events import _SAFE_CODES, MAX_EVENT_BYTES, InvalidEvent, _check_code, kind_of, shown
from motcua.imports.model import Digitisation, Problem, ProgressRow, Snapshot
from motcua.imports.textfiles import (
    Unreadable,
    _Damage,
    _json_reason,
    _lines,
    _raw_chunks,
    _read_all,
    _utf8_chunks,
    encoding_problem,
)
from motcua.reference.catalogue import CHANNEL_CODES
from motcua.reference.units_loader import _fold

__all__ = [
    "DONG_BO",
    "TIEN_DO",
    "BadValue",
    "Request",
    "classify_row",
    "parse_request",
    "parse_time",
    "read_file",
]

DONG_BO = "DongBoHoSoMC"
TIEN_DO = "CapNhatTienDoHoSoMC"
_SERVICES = {DONG_BO.lower(): DONG_BO, TIEN_DO.lower(): TIEN_DO}


@dataclass
class Request:
    """One sync request: its envelope facts and one record per item, in item order."""

    where: str
    service: str  # DONG_BO or TIEN_DO
    madonvi: str | None
    session: str | None = field(default=None, repr=False)  # for the gateway only; never logged
    updating: bool | None = None
    records: list = field(default_factory=list)  # Snapshot | ProgressRow | Problem


class BadValue(ValueError):
    """A field value that cannot be read. ``code`` is stable; ``reason`` is Vietnamese
    and quotes the value only as ``shown()`` allows."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


# --------------------------------------------------------------------------- dates

_LOCAL = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh: UTC+7, no DST since 1975
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2}))?", re.ASCII)
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?", re.ASCII)


def parse_time(value: Any, field: str) -> int | None:
    """A DVCQG date as epoch ms UTC: ``yyyyMMddHHmmss`` or ``yyyyMMdd`` local time
    (UTC+7), ISO-8601 (naive means +07:00), ``dd/MM/yyyy[ HH:mm[:ss]]``; a number is read
    as its digits. None for ``None`` / blank. Raises :class:`BadValue` ``BAD_DATE``."""
    if value is None:
        return None
    if type(value) is int:
        value = str(value)
    if type(value) is not str:
        raise _bad_date(value, field)
    text = value.strip()
    if not text:
        return None
    if len(text) == 14 and text.isdigit() and text.isascii():  # the DVCQG form: the fast path
        hh, mi, ss = int(text[8:10]), int(text[10:12]), int(text[12:14])
        day = _local_midnight_ms(text[:8])
        if day is not None and hh < 24 and mi < 60 and ss < 60:
            return day + (hh * 3600 + mi * 60 + ss) * 1000
        raise _bad_date(value, field)
    try:
        dt = _to_datetime(text)
        if dt is None:
            raise ValueError(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=_LOCAL)
        return (dt - _EPOCH) // _MS
    except (ValueError, OverflowError):
        raise _bad_date(value, field) from None


@lru_cache(maxsize=8192)
def _local_midnight_ms(yyyymmdd: str) -> int | None:
    """Epoch ms of 00:00 local (UTC+7) of a ``yyyyMMdd`` day; None for an impossible day."""
    try:
        day = datetime(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]), tzinfo=_LOCAL)
    except ValueError:
        return None
    return (day - _EPOCH) // _MS


def _to_datetime(text: str) -> datetime | None:
    m = _COMPACT.fullmatch(text)
    if m is not None:
        year, month, day, hh, mm, ss = m.groups()
        return datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0))
    m = _DMY.fullmatch(text)
    if m is not None:
        day, month, year, hh, mm, ss = m.groups()
        return datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0))
    if "-" in text:  # ISO-8601 extended form (fromisoformat also reads "Z" and fractions)
        return datetime.fromisoformat(text)
    return None


def _bad_date(value: Any, field: str) -> BadValue:
    return BadValue(
        "BAD_DATE",
        f"trường {field}: {shown(value)} không phải ngày giờ hợp lệ "
        f"(cần yyyyMMddHHmmss, yyyyMMdd, ISO-8601 hoặc dd/MM/yyyy)",
    )


# --------------------------------------------------------------------------- progress rows

_KINDS = {
    1: "SUBMITTED",
    2: "RECEIVED",
    3: "REJECTED",
    4: "PROCESSING",
    5: "SUPPLEMENT_REQUESTED",
    6: "PAYMENT_REQUESTED",
    7: "WITHDRAWN",
    8: "STOPPED",
    9: "RESOLVED",
    10: "RESULT_RETURNED",
}
# Phrases, folded word by word (see _words). T writes a citizen's withdrawal as 3 and a
# completed supplement as 5, so the text tells them apart.
_WITHDRAWAL = (" thu hoi ", " rut ho so ", " cong dan rut ")
_SUPPLEMENT_IN = (
    " hoan thanh bo sung ",
    " gui bo sung ",
    " nop bo sung ",
    " tiep nhan bo sung ",
    " nhan bo sung ",
    " da bo sung ",
)
# "Yêu cầu công dân gửi bổ sung" is a request: whichever phrase comes first decides.
_SUPPLEMENT_ASKED = (" yeu cau ", " de nghi ")
_SYNTHETIC_ACTOR = _fold("Cán bộ một cửa")
_SYNTHETIC = {
    (2, _fold("Tiếp nhận hồ sơ")),
    (9, _fold("Kết thúc xử lý hồ sơ")),
    (9, _fold("Hồ sơ không có ngày hẹn trả")),
}


def _words(text: str) -> str:
    """Folded words between single spaces, padded: "Công dân RÚT hồ sơ" -> " cong dan rut ho so ".
    Diacritics go before the split, so decomposed (NFD) text keeps its words whole."""
    s = unicodedata.normalize("NFD", text.lower()).replace("đ", "d")
    s = "".join(c for c in s if not unicodedata.combining(c))
    return " " + " ".join(w for w in re.split(r"[^a-z0-9]+", s) if w) + " "


def _first(text: str, phrases: tuple[str, ...]) -> int:
    found = [i for i in (text.find(p) for p in phrases) if i >= 0]
    return min(found) if found else -1


def classify_row(status: int, text: str | None, actor: str | None) -> tuple[str, bool]:
    """``(kind, synthetic)`` of a progress row from its TrangThai, NoiDungXuLy and
    NguoiXuLy (read here, never kept). ``synthetic``: one of the rows Thanh Hoá's system
    makes up (actor "Cán bộ một cửa" with its fixed texts: docs/importing.md#the-senders-quirks),
    not an action.
    Raises :class:`BadValue` ``BAD_STATUS`` for a status outside 1..10."""
    if type(status) is not int or status not in _KINDS:
        raise BadValue("BAD_STATUS", f"trạng thái {shown(str(status))} không thuộc 1–10")
    kind, synthetic_text = _classify_text(status, text if isinstance(text, str) else "")
    return kind, synthetic_text and isinstance(actor, str) and _fold(actor) == _SYNTHETIC_ACTOR


@lru_cache(maxsize=16384)
def _classify_text(status: int, text: str) -> tuple[str, bool]:
    """(kind, text is one of the synthetic rows' texts). Cached: senders write the same
    step names again and again (the cache holds texts of the workflow, which are codes of
    a kind; a free-text note is one entry among many and never leaves the process)."""
    kind = _KINDS[status]
    if status in (3, 5) and text:
        words = _words(text)
        if status == 3 and _first(words, _WITHDRAWAL) >= 0:
            kind = "WITHDRAWN"
        elif status == 5:
            done = _first(words, _SUPPLEMENT_IN)
            asked = _first(words, _SUPPLEMENT_ASKED)
            if done >= 0 and (asked < 0 or done < asked):
                kind = "SUPPLEMENT_RECEIVED"
    return kind, status in (2, 9) and (status, _fold(text)) in _SYNTHETIC


# --------------------------------------------------------------------------- field values


# The field names of the DVCQG payloads (items and their lists), as the senders spell them.
_KNOWN_KEYS = frozenset(
    """
MaHoSo MaTTHC TenTTHC MaLinhVuc TenLinhVuc KenhThucHien SoBienNhan SoGiayToChuHoSo ChuHoSo LoaiDoiTuong
MaDoiTuong ThongTinKhac Email Fax SoDienThoai TrichYeuHoSo NgayTiepNhan NgayHenTra TrangThaiHoSo NgayTra
ThongTinTra HinhThuc NgayKetThucXuLy DonViXuLy GhiChu TaiLieuNop DanhSachLePhi DanhSachTepDinhKemKhac
DanhSachHoSoBoSung DanhSachGiayToKetQua NoiNopHoSo HoSoCoThanhPhanSoHoa TaiKhoanDuocXacThucVoiVNeID
DuocThanhToanTrucTuyen NgayTuChoi DinhDanhCHS NgayNopHoSo DSKetNoiCSDL MaHoSoKhac
TepDinhKemId TenTepDinhKem IsDeleted MaThanhPhanHoSo DuongDanTaiTepTin DuocSoHoa DuocTaiSuDung
DuocLayTuKhoDMQG MaKetQuaThayThe TenGiayTo GiayToId DuongDanTepTinKetQua MaGiayToKetQua TenPhiLePhi
MaPhiLePhi HinhThucThu Gia LoaiPhiLePhi SoLuong LoaiGiayTo LoaiDinhDanh SoDinhDanh MaCSDL
NguoiXuLy ChucDanh ThoiDiemXuLy PhongBanXuLy NoiDungXuLy TrangThai NgayBatDau NgayKetThucTheoQuyDinh
""".split()
)


class _Fields:
    """An item's fields by name: the exact key, else the same name in any case."""

    __slots__ = ("_exact", "_lower", "obj")

    def __init__(self, obj: dict):
        self.obj = obj
        self._lower: dict[str, Any] | None = None
        # every key spelt as the senders spell it (the usual case): a missing name is absent
        self._exact = obj.keys() <= _KNOWN_KEYS

    def has(self, name: str) -> bool:
        if name in self.obj:
            return True
        return not self._exact and name.lower() in self._folded()

    def get(self, name: str) -> Any:
        """The value, None when absent, null or a blank string ("" and null alike)."""
        if name in self.obj:
            value = self.obj[name]
        elif self._exact:
            return None
        else:
            value = self._folded().get(name.lower())
        if isinstance(value, str) and not value.strip():
            return None
        return value

    def _folded(self) -> dict[str, Any]:
        if self._lower is None:
            self._lower = {}
            for k, v in self.obj.items():
                self._lower.setdefault(str(k).strip().lower(), v)
        return self._lower


def _code(value: Any) -> str | None:
    """A code as sent (string, or a number): stripped, None when blank or not a scalar."""
    if isinstance(value, str):
        return value.strip() or None
    if type(value) is int:
        try:
            return str(value)
        except ValueError:  # an int too long to print
            return None
    return None


def _checked(name: str, value: str | None) -> str | None:
    """``value`` when it is a code as the contract takes it (no space, no '@', nothing
    shaped like a personal number); else BadValue PERSONAL_DATA / BAD_FIELD."""
    if value is not None and value not in _SAFE_CODES:  # ids and codes repeat: checked once
        try:
            _check_code(name, value)
        except InvalidEvent as exc:
            raise BadValue(exc.code, exc.reason) from None
    return value


def _flag(value: Any) -> str | None:
    """A 0/1/2 flag as its digit string: "1", 1, " 1 " -> "1"; True/"True" -> "1"."""
    if value is True or (isinstance(value, str) and value.strip().lower() == "true"):
        return "1"
    if value is False or (isinstance(value, str) and value.strip().lower() == "false"):
        return "0"
    if type(value) is float and value.is_integer():
        value = int(value)
    return _code(value)


def _bool(value: Any) -> bool | None:
    """isUpdating / IsDeleted: "True"/"False", true/false, "1"/"0"; None otherwise."""
    flag = _flag(value)
    return {"1": True, "0": False}.get(flag) if flag is not None else None


@overload
def _status(value: Any, name: str, blank: int) -> int: ...
@overload
def _status(value: Any, name: str, blank: None) -> int | None: ...
def _status(value: Any, name: str, blank: int | None) -> int | None:
    if value is None:
        return blank
    if type(value) is float and value.is_integer():
        value = int(value)
    number = None
    if type(value) is int:
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]{1,3}", value.strip()):
        number = int(value)
    if number is None or number not in _KINDS:
        shown_value = shown(str(value)) if type(value) is int else shown(value)
        raise BadValue("BAD_STATUS", f"trường {name}: {shown_value} không phải trạng thái 1–10")
    return number


def _amount(value: Any) -> float | None:
    """A fee amount (Gia) as a number, None when it cannot be read."""
    if type(value) in (int, float):
        amount = float(value)
    elif isinstance(value, str):
        try:
            amount = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return amount if math.isfinite(amount) else None


def _objects(value: Any) -> list[dict] | None:
    """A nested list's object items; one object counts as a list of one; None if absent."""
    if value is None:
        return None
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return None


_PAYMENT = {"1": "ONLINE_DVCQG", "2": "ONLINE_LOCAL", "0": "NONE"}


def _digitisation(f: _Fields) -> Digitisation | None:
    vneid = _flag(f.get("TaiKhoanDuocXacThucVoiVNeID")) == "1"
    items = [_Fields(i) for i in _objects(f.get("TaiLieuNop")) or ()]
    kept = [i for i in items if _bool(i.get("IsDeleted")) is not True]
    if kept:
        digitised = 0
        for i in kept:
            flag = _flag(i.get("DuocSoHoa"))
            if flag is None:  # old generation (O): a stored file is a digitised component
                link = i.get("DuongDanTaiTepTin")
                digitised += isinstance(link, str)
            else:
                digitised += flag == "1"
        return Digitisation(
            components_total=len(kept),
            components_digitised=digitised,
            components_reused=sum(_flag(i.get("DuocTaiSuDung")) in ("1", "2") for i in kept),
            from_personal_store=any(_flag(i.get("DuocLayTuKhoDMQG")) == "1" for i in kept),
            population_data_used=vneid,
        )
    return _without_components(_flag(f.get("HoSoCoThanhPhanSoHoa")), vneid)


def _without_components(whole: str | None, vneid: bool) -> Digitisation | None:
    """No component list: 766 reads HoSoCoThanhPhanSoHoa "1" as re-use of digitised
    parts; the VNeID fact is kept even without component facts."""
    if whole == "1":
        return Digitisation(1, 1, 1, population_data_used=vneid)
    if whole == "0":
        return Digitisation(1, 0, population_data_used=vneid)
    if vneid:
        return Digitisation(0, 0, population_data_used=True)
    return None


def _electronic_result(f: _Fields) -> bool | None:
    results = _objects(f.get("DanhSachGiayToKetQua"))
    if results is None:
        return None
    return any(isinstance(_Fields(r).get("DuongDanTepTinKetQua"), str) for r in results)


def _has_fee(f: _Fields) -> bool | None:
    read = [_amount(_Fields(line).get("Gia")) for line in _objects(f.get("DanhSachLePhi")) or ()]
    amounts = [a for a in read if a is not None]
    if not amounts:
        return None
    return any(a > 0 for a in amounts)


def _channel(value: Any) -> str | None:
    if value is None:
        return None
    code = None if isinstance(value, bool) else _flag(value)
    if code not in CHANNEL_CODES:
        shown_value = shown(str(value)) if type(value) is int else shown(value)
        raise BadValue(
            "BAD_CHANNEL",
            f"trường KenhThucHien: {shown_value} không phải kênh "
            f"1 (trực tiếp), 2 (trực tuyến) hay 3 (bưu chính)",
        )
    return CHANNEL_CODES[code]


# --------------------------------------------------------------------------- items


@dataclass(slots=True)
class _Context:
    where: str
    madonvi: str | None
    unit_from: str
    updating: bool | None


def _snapshot(f: _Fields, dossier_id: str, where: str, ctx: _Context) -> Snapshot:
    received = parse_time(f.get("NgayTiepNhan"), "NgayTiepNhan")
    submitted = parse_time(f.get("NgayNopHoSo"), "NgayNopHoSo")
    postal = _flag(f.get("HinhThuc"))
    return Snapshot(
        dossier_id=dossier_id,
        where=where,
        unit_code=ctx.madonvi,
        unit_from=ctx.unit_from,
        procedure_code=_checked("MaTTHC", _code(f.get("MaTTHC"))),
        field_code=_checked("MaLinhVuc", _code(f.get("MaLinhVuc"))),
        status=_status(f.get("TrangThaiHoSo"), "TrangThaiHoSo", None),
        received_at=received if received is not None else submitted,  # 766 falls back to it
        due_at=parse_time(f.get("NgayHenTra"), "NgayHenTra"),
        channel=_channel(f.get("KenhThucHien")),
        resolved_at=parse_time(f.get("NgayKetThucXuLy"), "NgayKetThucXuLy"),
        electronic_result=_electronic_result(f),
        returned_at=parse_time(f.get("NgayTra"), "NgayTra"),
        return_postal=None if postal is None else postal == "1",
        rejected_at=parse_time(f.get("NgayTuChoi"), "NgayTuChoi"),
        has_fee=_has_fee(f),
        payment=_PAYMENT.get(_flag(f.get("DuocThanhToanTrucTuyen")) or ""),  # T's "3": None
        digitisation=_digitisation(f),
        updating=ctx.updating,
    )


def _progress_row(f: _Fields, dossier_id: str, where: str, ctx: _Context) -> ProgressRow | Problem:
    at_value = f.get("ThoiDiemXuLy")
    if at_value is None:
        return _item_problem(
            where,
            "NO_TIME",
            f"hồ sơ {shown(dossier_id)}: dòng tiến độ thiếu thời điểm xử lý (ThoiDiemXuLy)",
            f.obj,
        )
    at = parse_time(at_value, "ThoiDiemXuLy")
    assert at is not None  # f.get reads a blank value as None, handled above
    status = _status(f.get("TrangThai"), "TrangThai", 4)  # T sends an empty TrangThai as 4
    text, actor = f.get("NoiDungXuLy"), f.get("NguoiXuLy")
    kind, synthetic = classify_row(
        status, text if isinstance(text, str) else None, actor if isinstance(actor, str) else None
    )
    return ProgressRow(
        dossier_id=dossier_id,
        where=where,
        at=at,
        status=status,
        kind=kind,
        synthetic=synthetic,
        unit_code=ctx.madonvi,
        unit_from=ctx.unit_from,
    )


_ROW_KEYS = ("ThoiDiemXuLy", "NguoiXuLy", "TrangThai")
_SNAPSHOT_KEYS = ("TrangThaiHoSo", "NgayTiepNhan", "MaTTHC")


def _kind_of_item(f: _Fields) -> str:
    if any(f.has(k) for k in _ROW_KEYS) and not any(f.has(k) for k in _SNAPSHOT_KEYS):
        return TIEN_DO
    return DONG_BO


def _kind_of(item: dict, exact: bool) -> str:
    """``_kind_of_item(_Fields(item))``; ``exact``: every key is spelt as the senders
    spell it (``_Fields._exact``), so plain key tests do."""
    if exact:
        if ("ThoiDiemXuLy" in item or "NguoiXuLy" in item or "TrangThai" in item) and not (
            "TrangThaiHoSo" in item or "NgayTiepNhan" in item or "MaTTHC" in item
        ):
            return TIEN_DO
        return DONG_BO
    return _kind_of_item(_Fields(item))


def _not_an_object(item: Any, where: str) -> Problem:
    return _item_problem(
        where, "NOT_AN_OBJECT", f"mục là {kind_of(item)}, không phải một đối tượng JSON {{...}}", item
    )


def _item(item: dict, service: str, exact: bool, where: str, ctx: _Context):
    """The record of an object item of ``service`` (``exact`` as for ``_kind_of``)."""
    f = None if exact else _Fields(item)
    dossier_id = _code(item.get("MaHoSo") if f is None else f.get("MaHoSo"))
    if dossier_id is None:
        return _item_problem(where, "NO_DOSSIER_CODE", "thiếu mã hồ sơ (MaHoSo)", item)
    try:
        _checked("MaHoSo", dossier_id)
    except BadValue as exc:  # a dossier code shaped like a phone or ID number is not kept
        return _item_problem(where, exc.code, exc.reason, item)
    try:
        if f is None:  # exact, the usual case: plain reads (same values, same order of checks)
            if service == TIEN_DO:
                return _progress_row_exact(item, dossier_id, where, ctx)
            return _snapshot_exact(item, dossier_id, where, ctx)
        if service == TIEN_DO:
            return _progress_row(f, dossier_id, where, ctx)
        return _snapshot(f, dossier_id, where, ctx)
    except BadValue as exc:
        return _item_problem(where, exc.code, f"hồ sơ {shown(dossier_id)}: {exc.reason}", item)


# --------------------------------------------------------------------------- the fast path
# Items whose keys are all spelt as the senders spell them (``_Fields._exact``) are read
# with plain ``dict.get``. Each helper gives what its counterpart above gives for
# ``_Fields.get(name)`` (a blank string read as None where that changes the outcome), and
# the fields are read in the same order, so the first bad field raises the same BadValue.
# Anything unusual goes to the general functions.

_STATUS_TEXT = {str(k): k for k in _KINDS}  # "1".."10" -> 1..10, as _status reads them
_FLAG_TEXT = {
    "0": "0",
    "1": "1",
    "2": "2",
    "3": "3",
    "True": "1",
    "False": "0",
    "true": "1",
    "false": "0",
}  # what _flag gives for the usual strings
_TIMES: dict[str, int] = {}  # parse_time of date strings seen (instants repeat in a feed); bounded
_SYNTHETIC_ACTOR_TEXT = "Cán bộ một cửa"  # as T writes it (NFC): folds to _SYNTHETIC_ACTOR


# Bytes that _fold drops from NFD text already ASCII: all but a-z and 0-9.
_NOT_FOLDED = bytes(b for b in range(128) if not (97 <= b <= 122 or 48 <= b <= 57))


def _is_synthetic_actor(actor: str) -> bool:
    """``_fold(actor) == _SYNTHETIC_ACTOR`` in C calls: _fold keeps only the a-z0-9 of the
    lower-case NFD text (combining marks and other non-ASCII characters go)."""
    if actor == _SYNTHETIC_ACTOR_TEXT:
        return True
    text = unicodedata.normalize("NFD", actor.lower()).replace("đ", "d")
    return text.encode("ascii", "ignore").translate(None, _NOT_FOLDED) == _SYNTHETIC_ACTOR.encode()


def _blank(value: Any) -> Any:
    """``value`` as ``_Fields.get`` gives it: None for a blank string."""
    return None if isinstance(value, str) and not value.strip() else value


_CLOCK_MS: dict[str, int] = {}  # "HHmmss" -> ms into the day (86,400 at most)


def _compact_ms(text: str) -> int | None:
    """``parse_time`` of 14 ASCII digits (yyyyMMddHHmmss), None when it is no instant."""
    clock = _CLOCK_MS.get(text[8:])
    if clock is None:
        hh, mi, ss = int(text[8:10]), int(text[10:12]), int(text[12:14])
        if not (hh < 24 and mi < 60 and ss < 60):
            return None
        clock = _CLOCK_MS[text[8:]] = (hh * 3600 + mi * 60 + ss) * 1000
    day = _local_midnight_ms(text[:8])
    return None if day is None else day + clock


def _time(value: Any, name: str) -> int | None:
    """``parse_time(_blank(value), name)``, remembered for strings."""
    if value is None:  # a null date (NgayTuChoi of most dossiers)
        return None
    if type(value) is str:
        at = _TIMES.get(value)
        if at is None:
            if len(value) == 14 and value.isascii() and value.isdigit():
                at = _compact_ms(value)
            if at is None:
                at = parse_time(value, name)  # None for a blank string; raises BAD_DATE
            if at is not None:
                if len(_TIMES) >= 100_000:
                    _TIMES.clear()
                _TIMES[value] = at
        return at
    return parse_time(_blank(value), name)


def _flag_of(value: Any) -> str | None:
    """``_flag(value)`` (blank or not: it reads a blank string as None itself)."""
    if type(value) is str:
        flag = _FLAG_TEXT.get(value)
        if flag is not None:
            return flag
    return _flag(value)


def _code_checked(name: str, value: Any) -> str | None:
    """``_checked(name, _code(value))``."""
    return _checked(name, (value.strip() or None) if type(value) is str else _code(value))


@overload
def _status_of(value: Any, name: str, blank: int) -> int: ...
@overload
def _status_of(value: Any, name: str, blank: None) -> int | None: ...
def _status_of(value: Any, name: str, blank: int | None) -> int | None:
    """``_status(_blank(value), name, blank)``."""
    if type(value) is str:
        number = _STATUS_TEXT.get(value)
        if number is not None:
            return number
    elif type(value) is int and value in _KINDS:
        return value
    return _status(_blank(value), name, blank)


def _getter(obj: dict):
    """A nested list item's field reader: plain ``dict.get`` when its keys are all known,
    else ``_Fields.get``. Only a blank string tells them apart (read as None by the latter)."""
    return obj.get if _KNOWN_KEYS.issuperset(obj) else _Fields(obj).get


def _snapshot_exact(obj: dict, dossier_id: str, where: str, ctx: _Context) -> Snapshot:
    """``_snapshot(_Fields(obj), ...)`` of an item whose keys are all known."""
    get = obj.get
    received = _time(get("NgayTiepNhan"), "NgayTiepNhan")
    submitted = _time(get("NgayNopHoSo"), "NgayNopHoSo")
    postal = _flag_of(get("HinhThuc"))
    procedure = _code_checked("MaTTHC", get("MaTTHC"))
    field_code = _code_checked("MaLinhVuc", get("MaLinhVuc"))
    status = _status_of(get("TrangThaiHoSo"), "TrangThaiHoSo", None)
    due = _time(get("NgayHenTra"), "NgayHenTra")
    channel_value = get("KenhThucHien")
    channel = CHANNEL_CODES.get(channel_value) if type(channel_value) is str else None
    if channel is None:
        channel = _channel(_blank(channel_value))
    resolved = _time(get("NgayKetThucXuLy"), "NgayKetThucXuLy")
    results = _objects(get("DanhSachGiayToKetQua"))
    electronic = None
    if results is not None:
        electronic = False
        for r in results:
            link = _getter(r)("DuongDanTepTinKetQua")
            if isinstance(link, str) and link.strip():
                electronic = True
                break
    returned = _time(get("NgayTra"), "NgayTra")
    rejected = _time(get("NgayTuChoi"), "NgayTuChoi")
    has_fee = _has_fee_exact(get("DanhSachLePhi"))
    payment = _PAYMENT.get(_flag_of(get("DuocThanhToanTrucTuyen")) or "")  # T's "3": None
    # positional, in the order of _SNAPSHOT_FIELDS (received_at falls back as 766 does)
    return Snapshot(
        dossier_id,
        where,
        ctx.madonvi,
        ctx.unit_from,
        None,
        procedure,
        field_code,
        status,
        received if received is not None else submitted,
        due,
        channel,
        resolved,
        electronic,
        returned,
        None if postal is None else postal == "1",
        rejected,
        has_fee,
        payment,
        _digitisation_exact(obj),
        ctx.updating,
    )


# The records' fields in their order, for the positional calls above.
_SNAPSHOT_FIELDS = (
    "dossier_id",
    "where",
    "unit_code",
    "unit_from",
    "unit_level",
    "procedure_code",
    "field_code",
    "status",
    "received_at",
    "due_at",
    "channel",
    "resolved_at",
    "electronic_result",
    "returned_at",
    "return_postal",
    "rejected_at",
    "has_fee",
    "payment",
    "digitisation",
    "updating",
)
_ROW_FIELDS = ("dossier_id", "where", "at", "status", "kind", "synthetic", "unit_code", "unit_from")
if (
    tuple(f.name for f in fields(Snapshot)) != _SNAPSHOT_FIELDS
    or tuple(f.name for f in fields(ProgressRow)) != _ROW_FIELDS
):
    raise ImportError("imports.model changed its records: update the fast path of imports.dvcqg")


def _has_fee_exact(lines: Any) -> bool | None:
    """``_has_fee`` of the DanhSachLePhi value (every line read, as there)."""
    found = fee = False
    for line in _objects(lines) or ():
        amount = _amount(_getter(line)("Gia"))  # a blank Gia is None either way
        if amount is not None:
            found = True
            fee = fee or amount > 0
    return fee if found else None


# A TaiLieuNop item's facts by its raw flag values (a few combinations recur); bounded.
_COMPONENTS: dict[tuple, tuple[bool, str | None, bool, bool]] = {}


def _component(get) -> tuple[bool, str | None, bool, bool]:
    """(deleted, the DuocSoHoa flag, re-used, from the citizen's store) of a TaiLieuNop
    item read by ``get``. A blank flag is None either way: _flag reads it so itself."""
    values = (get("IsDeleted"), get("DuocSoHoa"), get("DuocTaiSuDung"), get("DuocLayTuKhoDMQG"))
    try:
        facts = _COMPONENTS.get(values)
        hashable = True
    except TypeError:  # a list or an object where a flag belongs
        facts, hashable = None, False
    if facts is None:
        facts = (
            _flag_of(values[0]) == "1",
            _flag_of(values[1]),
            _flag_of(values[2]) in ("1", "2"),
            _flag_of(values[3]) == "1",
        )
        if hashable:
            if len(_COMPONENTS) >= 10_000:
                _COMPONENTS.clear()
            _COMPONENTS[values] = facts
    return facts


def _digitisation_exact(obj: dict) -> Digitisation | None:
    """``_digitisation(_Fields(obj))`` of an item whose keys are all known: one walk."""
    vneid = _flag_of(obj.get("TaiKhoanDuocXacThucVoiVNeID")) == "1"
    total = digitised = reused = 0
    personal_store = False
    for i in _objects(obj.get("TaiLieuNop")) or ():
        get = _getter(i)
        deleted, flag, reused_one, from_store = _component(get)
        if deleted:
            continue
        total += 1
        if flag is None:  # old generation (O): a stored file is a digitised component
            link = get("DuongDanTaiTepTin")
            digitised += isinstance(link, str) and bool(link.strip())
        else:
            digitised += flag == "1"
        reused += reused_one
        personal_store = personal_store or from_store
    if total:
        return Digitisation(
            components_total=total,
            components_digitised=digitised,
            components_reused=reused,
            from_personal_store=personal_store,
            population_data_used=vneid,
        )
    return _without_components(_flag_of(obj.get("HoSoCoThanhPhanSoHoa")), vneid)


def _progress_row_exact(obj: dict, dossier_id: str, where: str, ctx: _Context) -> ProgressRow | Problem:
    """``_progress_row(_Fields(obj), ...)`` of an item whose keys are all known."""
    get = obj.get
    at_value = get("ThoiDiemXuLy")
    at = _TIMES.get(at_value) if type(at_value) is str else None  # rows repeat the snapshot's instants
    if at is None:
        if _blank(at_value) is None:
            return _progress_row(_Fields(obj), dossier_id, where, ctx)  # its NO_TIME Problem
        at = _time(at_value, "ThoiDiemXuLy")
        assert at is not None  # a blank value is handled above
    status = _status_of(get("TrangThai"), "TrangThai", 4)  # T sends an empty TrangThai as 4
    text = get("NoiDungXuLy")
    kind, synthetic = _classify_text(status, text if isinstance(text, str) and text.strip() else "")
    if synthetic:
        actor = get("NguoiXuLy")
        synthetic = isinstance(actor, str) and _is_synthetic_actor(actor)
    # positional (see _ROW_FIELDS): a keyword call costs twice as much
    return ProgressRow(dossier_id, where, at, status, kind, synthetic, ctx.madonvi, ctx.unit_from)


# --------------------------------------------------------------------------- requests

_ENVELOPE_KEYS = frozenset({"session", "madonvi", "madinhdanhdv", "service", "isupdating", "data"})
# The envelope's names as senders spell them, and their folded form.
_ENVELOPE_SPELLINGS = {
    "session": "session",
    "madonvi": "madonvi",
    "MaDinhDanhDV": "madinhdanhdv",
    "service": "service",
    "isUpdating": "isupdating",
    "data": "data",
}
# Names only items carry: a bare object with none of them is no request.
_ITEM_KEYS = frozenset(
    k.lower()
    for k in (
        "MaHoSo",
        "MaTTHC",
        "MaLinhVuc",
        "TrangThaiHoSo",
        "NgayTiepNhan",
        "NgayNopHoSo",
        "NgayHenTra",
        "KenhThucHien",
        "NgayKetThucXuLy",
        "NgayTra",
        "NgayTuChoi",
        "TaiLieuNop",
        "DanhSachLePhi",
        "DanhSachGiayToKetQua",
        "HoSoCoThanhPhanSoHoa",
        "DuocThanhToanTrucTuyen",
        "ThoiDiemXuLy",
        "NguoiXuLy",
        "NoiDungXuLy",
        "TrangThai",
    )
)


def _envelope(obj: Any) -> dict[str, Any] | None:
    """The envelope's fields by lower-case name, or None when ``obj`` is no envelope."""
    if not isinstance(obj, dict):
        return None
    if _ENVELOPE_SPELLINGS.keys() >= obj.keys():  # O's spelling: no name to fold
        folded = {_ENVELOPE_SPELLINGS[k]: v for k, v in obj.items()}
    else:
        folded = {}
        for k, v in obj.items():
            folded.setdefault(str(k).strip().lower(), v)
    return folded if _ENVELOPE_KEYS & folded.keys() else None


def _dump(value: Any) -> bytes:
    """The JSON bytes of a parsed value for a Problem's raw (never fails)."""
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:  # ints beyond 64 bits, lone surrogates: the standard library escapes them
        return json.dumps(value, ensure_ascii=True, default=repr).encode("ascii")
    except (ValueError, TypeError, RecursionError):
        return b""


def _item_problem(where: str, code: str, reason: str, item: Any) -> Problem:
    return Problem(where=where, code=code, reason=reason, raw=_dump(item))


def _request_problem(where: str, code: str, reason: str, body: Any) -> Problem:
    if isinstance(body, (bytes, bytearray, memoryview)):
        raw = bytes(body)
    else:
        if isinstance(body, dict):  # the token never goes into a dead letter
            body = {k: v for k, v in body.items() if str(k).strip().lower() != "session"}
        raw = _dump(body)
    return Problem(where=where, code=code, reason=reason, raw=raw[:MAX_EVENT_BYTES])


def _loads(body: bytes) -> Any:
    """Parsed JSON bytes (a UTF-8 BOM skipped). Raises BadValue BAD_JSON."""
    data = body[3:] if body[:3] == b"\xef\xbb\xbf" else body
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        problem = encoding_problem(data)
        reason = f"nội dung {problem}" if problem else _json_reason(exc)
        raise BadValue("BAD_JSON", reason) from None


def parse_request(
    body: Any,
    where: str,
    *,
    madonvi: str | None = None,
    updating: bool | None = None,
    service: str | None = None,
) -> Request | Problem:
    """One DongBoHoSoMC / CapNhatTienDoHoSoMC request: ``body`` as bytes (JSON) or an
    already-parsed JSON value. The keywords (from a query string: ``MaDinhDanhDV``,
    ``isUpdating``, or the endpoint's service) apply when the body does not say.
    Returns a :class:`Request` (one record or item Problem per item), or a
    :class:`Problem` (``BAD_JSON``, ``NOT_A_REQUEST``, ``UNKNOWN_SERVICE``) for the whole
    request. Never raises on any JSON value."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            value = _loads(bytes(body))
        except BadValue as exc:
            return _request_problem(where, exc.code, exc.reason, body)
    else:
        value = body
    try:
        items, body_unit, body_service, body_updating, session = _request_parts(value)
        named = _service_named(service if _unsaid(body_service) else body_service)
        unit: str | None
        if body_unit is not None:
            unit, unit_from = body_unit, "envelope"
        else:
            unit = _code(madonvi)
            unit_from = "query" if unit is not None else ""
        _checked("madonvi", unit)
    except BadValue as exc:
        return _request_problem(where, exc.code, exc.reason, value)
    ctx = _Context(
        where=where,
        madonvi=unit,
        unit_from=unit_from,
        updating=body_updating if body_updating is not None else updating,
    )

    records, kinds = [], []  # with no service named, each item goes by its shape
    for n, item in enumerate(items, 1):
        if isinstance(item, dict):
            exact = _KNOWN_KEYS.issuperset(item)  # = item.keys() <= _KNOWN_KEYS, faster
            kind = named or _kind_of(item, exact)
            kinds.append(kind)
            records.append(_item(item, kind, exact, f"{where} mục {n}", ctx))
        else:
            records.append(_not_an_object(item, f"{where} mục {n}"))
    if named is None:  # the request's kind: most items'
        named = _majority(kinds)
    return Request(where, named, unit, session, ctx.updating, records)  # positional: cheaper


def _request_parts(value: Any) -> tuple[list, str | None, Any, bool | None, str | None]:
    """(items, unit, service, isUpdating, session) from an envelope, a bare array of
    items or one bare item (only an envelope says the last four); BadValue NOT_A_REQUEST."""
    env = _envelope(value)
    if env is None:
        if isinstance(value, list):
            return value, None, None, None, None
        if isinstance(value, dict) and _ITEM_KEYS & {str(k).strip().lower() for k in value}:
            return [value], None, None, None, None
        raise BadValue(
            "NOT_A_REQUEST",
            f"nội dung là {kind_of(value)}, không phải yêu cầu {DONG_BO} hay "
            f'{TIEN_DO} (cần {{..., "data": [...]}}, một mảng hồ sơ hoặc một hồ sơ)',
        )
    if "data" not in env:
        raise BadValue("NOT_A_REQUEST", "yêu cầu không có trường data (danh sách hồ sơ)")
    items = env["data"]
    if isinstance(items, str):  # some gateways send data as JSON text
        try:
            items = orjson.loads(items)
        except ValueError:
            pass
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise BadValue("NOT_A_REQUEST", f"trường data là {kind_of(items)}, cần một mảng hồ sơ")
    body_unit = _code(env.get("madonvi"))
    if body_unit is None:
        body_unit = _code(env.get("madinhdanhdv"))
    session = env.get("session") if isinstance(env.get("session"), str) else None
    return items, body_unit, env.get("service"), _bool(env.get("isupdating")), session


def _unsaid(service: Any) -> bool:
    """The body names no service (absent or blank): the endpoint's applies."""
    return service is None or (isinstance(service, str) and not service.strip())


def _service_named(service: Any) -> str | None:
    """DONG_BO or TIEN_DO for a service name in any case; None for none; else BadValue."""
    if service is None:
        return None
    named = _SERVICES.get(service.strip().lower()) if isinstance(service, str) else None
    if named is None:
        raise BadValue("UNKNOWN_SERVICE", f"dịch vụ {shown(service)} không phải {DONG_BO} hay {TIEN_DO}")
    return named


def _majority(kinds: list[str]) -> str:
    """The kind most items have; a tie goes to the first item's kind; DONG_BO when none."""
    if not kinds:
        return DONG_BO
    rows = kinds.count(TIEN_DO)
    if rows * 2 == len(kinds):
        return kinds[0]
    return TIEN_DO if rows * 2 > len(kinds) else DONG_BO


# --------------------------------------------------------------------------- files

_LINE_SUFFIXES = (".jsonl", ".ndjson")


def read_file(path: str | Path) -> Iterator[Request | Problem]:
    """The requests of a file, in order: one JSON document (an envelope, a bare array of
    items, one item, or an array of envelopes = one request each) or JSON Lines (one
    request per line, blank lines skipped); plain or ``.gz``; UTF-8 with or without BOM
    (UTF-16/32 text is decoded too). ``where`` is ``"<name>:<line>"`` for JSON Lines,
    ``"<name>"`` or ``"<name>#<n>"`` for a document. A ``.jsonl``/``.ndjson`` name is
    JSON Lines; any other is JSON Lines when its first line is a whole JSON value and
    more lines follow, else a document. A damaged line is a Problem and reading goes
    on; a damaged ``.gz`` tail is one ``DAMAGED_FILE`` Problem at the end (a damaged
    document is one Problem: none of its requests is read)."""
    path = Path(path)
    name = path.name
    with open(path, "rb") as fh:
        chunks = _utf8_chunks(_raw_chunks(path, fh))
        head, damage = bytearray(), None
        lines = name.lower().removesuffix(".gz").endswith(_LINE_SUFFIXES)
        if not lines:
            lines, damage = _sniff(head, chunks)
        stream = _resume(bytes(head), chunks, damage)
        if lines:
            for where, raw in _lines(Path(name), stream):
                if isinstance(raw, Unreadable):
                    yield Problem(where=where, code=raw.code, reason=raw.reason, raw=bytes(raw))
                else:
                    yield parse_request(raw, where)
            return
        data, damage = _read_all(stream)
    yield from _document(name, data, damage)


def _sniff(head: bytearray, chunks: Iterator[bytes]) -> tuple[bool, _Damage | None]:
    """Reads into ``head`` until it can tell whether the file is JSON Lines: its first
    non-blank line is a whole JSON value and another non-blank line follows. Returns the
    verdict and the damage met on the way (the verdict is then made on what was read)."""
    while True:
        verdict = _verdict(head, final=False)
        if verdict is not None:
            return verdict, None
        try:
            chunk = next(chunks, None)
        except _Damage as dmg:
            return bool(_verdict(head, final=True)), dmg
        if chunk is None:
            return bool(_verdict(head, final=True)), None
        head += chunk


def _verdict(head: bytearray, final: bool) -> bool | None:
    start = len(head) - len(head.lstrip())
    nl = head.find(b"\n", start)
    if nl < 0:
        return False if final else None  # one line at most: a document
    try:
        orjson.loads(bytes(head[start:nl]))
    except orjson.JSONDecodeError:
        return False  # "[" or "{" of a pretty-printed document, or a broken first line
    if head[nl:].strip():
        return True
    return False if final else None


def _resume(head: bytes, chunks: Iterator[bytes], damage: _Damage | None) -> Iterator[bytes]:
    if head:
        yield head
    if damage is not None:
        raise damage
    yield from chunks


def _document(name: str, data: bytes, damage: _Damage | None) -> Iterator[Request | Problem]:
    body = data.strip()
    if damage is not None:
        yield Problem(
            where=name,
            code="DAMAGED_FILE",
            reason=f"{damage.detail} ở byte {damage.offset} của tệp: tài liệu JSON không "
            f"đọc được, không yêu cầu nào được đọc",
            raw=body[:MAX_EVENT_BYTES],
        )
        return
    if not body:
        return
    try:
        value = _loads(body)
    except BadValue as exc:
        yield Problem(where=name, code=exc.code, reason=exc.reason, raw=body[:MAX_EVENT_BYTES])
        return
    if isinstance(value, list) and any(_envelope(v) is not None for v in value):
        for n, request in enumerate(value, 1):  # an array of envelopes: several requests
            yield parse_request(request, f"{name}#{n}")
        return
    yield parse_request(value, name)
