"""DVCQG sync payloads (DongBoHoSoMC / CapNhatTienDoHoSoMC) for simulated dossiers.

The simulator speaks v1 events; real provinces send the national-portal sync payloads of
``docs/importing.md#senders``. This module turns a simulated dossier into the requests a real
sender would have posted for it, and into the *equivalent* v1 events: what those payloads
can express (DVCQG has no transfers, ratings, deadline extensions, ...). Importing the
payloads must give the same figures as replaying the equivalent events; that is what the
DVCQG import is tested and benchmarked against.

    from motcua.simulate.dvcqg import dossiers, to_requests, equivalent_events, write_requests
    cal = default_calendar()
    for evs in dossiers(Simulator("Đồng Nai", start, end, seed=1, scale=0.02).events()):
        reqs = to_requests(evs, "T", rng, cal)
        truth = equivalent_events(evs, "T", cal)

Two senders (styles):

- ``"O"`` (OpenCPS, 2019–2021): after every action that changes the DVCQG status, one
  ``DongBoHoSoMC`` envelope with the snapshot as of that action, then one
  ``CapNhatTienDoHoSoMC`` envelope with that action's progress row. Old-generation fields
  only: no channel, payment, digitisation flags or rejection date, so its dossiers count
  as filed directly.
- ``"T"`` (Thanh Hoá, 2023+): the final snapshot as a bare array, then its progress rows
  as bare arrays of up to 10 rows, with T's synthetic rows and status quirks.

Bare-array requests are returned as ``{"_bare": [...], "_service": ..., "_madonvi": ...}``
wrappers (T has no envelope: the unit travels outside the body, like Hà Giang's
``?MaDinhDanhDV=``); :func:`body` gives what is posted, :func:`unit_of` the unit.

Decisions the mapping of docs/importing.md leaves open (kept in one place, here):

- Instants in the payload have whole seconds, so equivalent events' ``occurred_at`` are
  truncated to the second; ``sequence`` is dropped (DVCQG has no per-dossier version).
- A dossier rejected before receipt (the simulator's REJECTED without RECEIVED) has no
  NgayTiepNhan (``""`` / null), no NgayHenTra and no fee lines; T's synthetic rows are
  timed at NgayTiepNhan, so T sends none for it.
- T's closing synthetic row follows the *rewritten* status: a dossier stopped (8) or
  waiting for a supplement (5) is sent as "9" and gets "Kết thúc xử lý hồ sơ" at
  NgayKetThucXuLy, or at NgayTiepNhan when that is empty (as T does).
- O's TaiLieuNop lists the submitted files without any flag (as O does). The reader counts
  an old-generation item with a file link as a digitised component, so O's equivalent
  events (given the requests) have one DIGITISED with every linked file digitised instead
  of the simulator's.
- Fee lines are written for both styles from receipt on (``Gia`` the amount, or one line
  with ``Gia`` "0" for a procedure without fee), since the equivalent RECEIVED states
  has_fee either way.
"""

from __future__ import annotations

import gzip
import random
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from motcua.domain.calendar import MS_PER_DAY, MS_PER_HOUR, VN_OFFSET_MS, WorkingCalendar, local_day_number
from motcua.reference import fields, procedures, unit_by_code

STYLES = ("O", "T")
SNAPSHOT_SERVICE = "DongBoHoSoMC"
PROGRESS_SERVICE = "CapNhatTienDoHoSoMC"
T_CHUNK = 10  # T posts at most 10 progress rows per call
DUE_TIME_MS = 17 * MS_PER_HOUR  # NgayHenTra is the due date at 17:00 local
_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()
_NAIVE_EPOCH = datetime(1970, 1, 1)

# DVCQG status (TrangThaiHoSo 1..10) a dossier has after each expressible event.
STATUS_AFTER = {
    "SUBMITTED": 1,
    "RECEIVED": 2,
    "REJECTED": 3,
    "SUPPLEMENT_REQUESTED": 5,
    "SUPPLEMENT_RECEIVED": 4,
    "WITHDRAWN": 7,
    "STOPPED": 8,
    "RESOLVED": 9,
    "RESULT_RETURNED": 10,
}
# The progress-row TrangThai each sender writes for those events (T's quirks).
ROW_STATUS = {
    "O": dict(STATUS_AFTER),
    "T": {**STATUS_AFTER, "SUPPLEMENT_RECEIVED": 5, "WITHDRAWN": 3},
}
# T rewrites the snapshot's status: 5/6/8 -> 9, and a withdrawal is 3.
T_SNAPSHOT_STATUS = {5: 9, 6: 9, 8: 9, 7: 3}

T_FIRST_ROW_TEXT = "Tiếp nhận hồ sơ"
T_END_ROW_TEXT = "Kết thúc xử lý hồ sơ"
T_NO_DUE_ROW_TEXT = "Hồ sơ không có ngày hẹn trả"
T_SYNTHETIC_USER = "Cán bộ một cửa"
T_DEFAULT_USER = "Chuyên viên"
T_SUPPLEMENT_DONE_TEXT = "Hoàn thành bổ sung hồ sơ"
T_WITHDRAWN_TEXT = "Công dân thu hồi hồ sơ"
O_SUPPLEMENT_DONE_TEXT = "Tiếp nhận bổ sung"
SUPPLEMENT_REQUEST_TEXT = "Yêu cầu bổ sung"

KENH = {"DIRECT": "1", "ONLINE": "2", "POSTAL": "3"}
PAYMENT_FLAG = {"ONLINE_DVCQG": "1", "ONLINE_LOCAL": "2", "CASH": "0", "OTHER": "0"}
ONLINE_METHODS = frozenset(("ONLINE_DVCQG", "ONLINE_LOCAL"))
# Events DVCQG cannot express at all: no row, no equivalent event.
NOT_EXPRESSIBLE = frozenset(("PROCESSING", "DEADLINE_EXTENDED", "RATED", "PAYMENT_REQUESTED"))
ENVELOPE = (
    "event_id",
    "event_type",
    "occurred_at",
    "source_system",
    "dossier_id",
    "province_code",
    "unit_code",
    "unit_level",
    "procedure_code",
    "field_code",
)

# ---------------------------------------------------------------- fake personal data
# Fixed pools (a fixed seed): every value the generator can write is known in advance,
# so a test can scan tables and logs for any of them (PII_SAMPLES).
_SURNAMES = (
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
)
_MIDDLE = {
    "M": ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Thành", "Công"),
    "F": ("Thị", "Ngọc", "Thu", "Thanh", "Mỹ", "Kim"),
}
_GIVEN = {
    "M": (
        "An",
        "Bình",
        "Cường",
        "Dũng",
        "Hải",
        "Hùng",
        "Khoa",
        "Long",
        "Nam",
        "Phong",
        "Quang",
        "Sơn",
        "Tài",
        "Thắng",
        "Tuấn",
        "Việt",
    ),
    "F": (
        "Anh",
        "Chi",
        "Dung",
        "Hà",
        "Hạnh",
        "Hoa",
        "Hương",
        "Lan",
        "Linh",
        "Mai",
        "Nga",
        "Nhung",
        "Phương",
        "Thảo",
        "Trang",
        "Yến",
    ),
}
_STREETS = (
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Trãi",
    "Hai Bà Trưng",
    "Phạm Văn Thuận",
    "Võ Thị Sáu",
    "Đồng Khởi",
    "Cách Mạng Tháng Tám",
    "Nguyễn Ái Quốc",
    "Hà Huy Giáp",
)
_PLACES = (
    "phường Trấn Biên",
    "phường Tam Hiệp",
    "xã Long Thành",
    "phường Biên Hòa",
    "xã Nhơn Trạch",
    "phường Long Bình",
    "xã Trảng Bom",
    "phường Hố Nai",
)
_MAIL_HOSTS = ("gmail.com", "yahoo.com.vn", "outlook.com", "gmail.com")
_PHONE_HEADS = ("09", "03", "08", "07")
_DOCS = ("Don_de_nghi", "To_khai", "CCCD", "Giay_uy_quyen", "So_ho_khau", "Ban_ve")


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    cccd: str  # 12 digits (LoaiDinhDanh "1")
    phone: str
    email: str
    address: str
    tech_id: str  # DVCQG account id (MaDoiTuong)
    slug: str  # the name as it appears in file names: "Nguyen_Van_An"
    title: str  # "ông" / "bà"


def _ascii(text: str) -> str:
    text = text.replace("Đ", "D").replace("đ", "d")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _make_pools(n_citizens: int = 256, n_staff: int = 48) -> tuple[tuple[Person, ...], tuple[str, ...]]:
    rng = random.Random("motcua-dvcqg-fake-pii")
    seen: set[str] = set()

    def name(sex: str) -> str:
        while True:
            full = f"{rng.choice(_SURNAMES)} {rng.choice(_MIDDLE[sex])} {rng.choice(_GIVEN[sex])}"
            if full not in seen:
                seen.add(full)
                return full

    people = []
    numbers: set[str] = set()
    for i in range(n_citizens):
        sex = "M" if i % 2 == 0 else "F"
        full = name(sex)
        while True:
            yy = rng.randint(50, 99) if rng.random() < 0.7 else rng.randint(0, 6)
            gender = ("0" if sex == "M" else "1") if yy >= 50 else ("2" if sex == "M" else "3")
            cccd = f"0{rng.choice((75, 79, 1, 38, 48)):02d}{gender}{yy:02d}{rng.randint(0, 999_999):06d}"
            phone = f"{rng.choice(_PHONE_HEADS)}{rng.randint(0, 99_999_999):08d}"
            if cccd not in numbers and phone not in numbers:
                numbers.update((cccd, phone))
                break
        slug = _ascii(full).replace(" ", "_")
        email = f"{_ascii(full).lower().replace(' ', '')}{rng.randint(60, 99)}@{rng.choice(_MAIL_HOSTS)}"
        address = (
            f"Số {rng.randint(1, 250)} đường {rng.choice(_STREETS)}, khu phố {rng.randint(1, 12)}, "
            f"{rng.choice(_PLACES)}"
        )
        tech_id = f"{rng.getrandbits(64):016x}{rng.getrandbits(64):016x}"
        people.append(Person(full, cccd, phone, email, address, tech_id, slug, "ông" if sex == "M" else "bà"))
    staff = tuple(name("M" if i % 3 else "F") for i in range(n_staff))
    return tuple(people), staff


CITIZENS, STAFF = _make_pools()
# Every personal value the generator may write (file names carry the slug). Scan for
# these as substrings: none may reach a table, a dead letter or a log.
PII_SAMPLES: frozenset[str] = frozenset(
    [v for p in CITIZENS for v in (p.name, p.cccd, p.phone, p.email, p.address, p.tech_id, p.slug)]
    + list(STAFF)
)

_SUPPLEMENT_REASONS = (
    "Thiếu bản vẽ mặt bằng",
    "Bản sao giấy tờ chưa được chứng thực",
    "Thiếu tờ khai theo mẫu",
    "Thông tin trong đơn chưa khớp với giấy tờ tùy thân",
)
_RESULT_NAMES = ("Quyết định", "Giấy chứng nhận", "Giấy phép", "Văn bản trả lời", "Trích lục")


def _note(p: Person) -> str:
    """Free text of the kind staff type into notes: a name and a phone number."""
    return f"liên hệ {p.title} {p.name}, SĐT {p.phone}"


# ---------------------------------------------------------------- reference names
@lru_cache(maxsize=4096)
def _procedure_name(code: str) -> str:
    p = procedures().get(code)
    return p.name if p else code


@lru_cache(maxsize=512)
def _field_name(code: str) -> str:
    f = fields().get(code)
    return f.name if f else code


@lru_cache(maxsize=8192)
def _unit_name(code: str) -> str:
    u = unit_by_code(code)
    return u.name if u else code


# ---------------------------------------------------------------- dates
@lru_cache(maxsize=8192)
def _day_text(day: int) -> str:
    return (_NAIVE_EPOCH + timedelta(days=day)).strftime("%Y%m%d")


def fmt_local(ms: int) -> str:
    """Epoch millis -> "yyyyMMddHHmmss" in local time (UTC+7), as both senders write it
    (milliseconds dropped). Cheap: the benchmark formats tens of millions."""
    day, sec = divmod((ms + VN_OFFSET_MS) // 1000, 86_400)
    return f"{_day_text(day)}{sec // 3600:02d}{sec // 60 % 60:02d}{sec % 60:02d}"


def due_instant(received: dict, cal: WorkingCalendar) -> int | None:
    """NgayHenTra of a RECEIVED event: its due date at 17:00 local. The due date is the
    local date of ``due_at`` when given, else the time limit from the receipt day."""
    due_at = received.get("due_at")
    if due_at is not None:
        day = local_day_number(due_at)
    else:
        limit = received.get("time_limit")
        if not limit:
            return None
        n, unit = limit["value"], limit["unit"]
        at = received["occurred_at"]
        if unit == "WORKING_DAYS":
            day = cal.add_working_days(local_day_number(at), n)
        elif unit == "DAYS":
            day = local_day_number(at) + n
        else:  # HOURS
            day = local_day_number(at + n * MS_PER_HOUR)
    return (day - _EPOCH_ORDINAL) * MS_PER_DAY - VN_OFFSET_MS + DUE_TIME_MS


def _second(ms: int) -> int:
    return ms - ms % 1000


# ---------------------------------------------------------------- grouping
def _order(ev: dict) -> tuple:
    return (ev["occurred_at"], ev.get("sequence") or 0, ev["event_id"])


def dossiers(events: Iterable[dict]) -> Iterator[list[dict]]:
    """The simulator's events grouped by dossier (each sorted by occurred_at), in order of
    each dossier's first event. Holds the whole stream: meant for test-sized windows."""
    groups: dict[str, list[dict]] = {}
    for ev in events:
        groups.setdefault(ev["dossier_id"], []).append(ev)
    for evs in groups.values():
        evs.sort(key=_order)
        yield evs


# ---------------------------------------------------------------- the dossier as of now
@dataclass(slots=True)
class _Facts:
    """What the payload can say about a dossier after the events so far."""

    channel: str | None = None
    received_at: int | None = None
    due_ms: int | None = None
    has_fee: bool | None = None
    status: int | None = None
    resolved_at: int | None = None
    electronic_result: bool = False
    returned_at: int | None = None
    return_postal: bool = False
    rejected_at: int | None = None
    digitised: dict | None = None
    payment: str | None = None  # the method of the last PAYMENT_COMPLETED

    def absorb(self, ev: dict, cal: WorkingCalendar) -> None:
        t = ev["event_type"]
        if t == "SUBMITTED":
            self.channel = self.channel or ev.get("channel")
        elif t == "RECEIVED":
            self.channel = ev.get("channel") or self.channel
            self.received_at = ev["occurred_at"]
            self.due_ms = due_instant(ev, cal)
            self.has_fee = bool(ev.get("has_fee"))
        elif t == "REJECTED":
            self.rejected_at = ev["occurred_at"]
        elif t == "RESOLVED":
            self.resolved_at = ev["occurred_at"]
            self.electronic_result = bool(ev.get("electronic_result"))
        elif t == "RESULT_RETURNED":
            self.returned_at = ev["occurred_at"]
            self.return_postal = ev.get("return_channel") == "POSTAL"
        elif t == "DIGITISED":
            self.digitised = ev
        elif t == "PAYMENT_COMPLETED":
            self.payment = ev.get("method")
        status = STATUS_AFTER.get(t)
        if status is not None:
            self.status = status


class _Dossier:
    """Per-dossier constants drawn once (the applicant, files, texts), so every snapshot
    of an O dossier says the same about them."""

    def __init__(self, first: dict, events: list[dict], style: str, rng: random.Random, pii: bool):
        self.style = style
        self.pii = pii
        self.rng = rng
        self.id = first["dossier_id"]
        self.unit = first["unit_code"]
        self.procedure = first["procedure_code"]
        self.field = first["field_code"]
        r = rng.random
        self.person: Person | None = rng.choice(CITIZENS) if pii else None
        self.loai = "1" if r() < 0.85 else "2"
        self.fee = next((e["amount_vnd"] for e in events if e.get("amount_vnd")), 0) or rng.choice(
            (10_000, 20_000, 50_000, 100_000)
        )
        digitised = next((e for e in events if e["event_type"] == "DIGITISED"), None)
        n_files = digitised["components_total"] if digitised else 1 + int(r() * 3)
        month = fmt_local(first["occurred_at"])[:6]
        self.files = []
        for i in range(n_files):
            doc = _DOCS[(i + int(r() * 3)) % len(_DOCS)]
            fname = f"{doc}_{self.person.slug}.pdf" if self.person else f"{doc.lower()}-{i + 1}.pdf"
            url = f"https://files.example/{month[:4]}/{month[4:]}/{rng.getrandbits(64):016x}/{fname}"
            self.files.append((fname, url, str(40_000 + int(r() * 60_000))))
        result_name = rng.choice(_RESULT_NAMES)
        rslug = f"ket-qua_{self.person.slug}.pdf" if self.person else "ket-qua.pdf"
        self.result = (
            result_name,
            f"https://files.example/kq/{rng.getrandbits(64):016x}/{rslug}",
            str(40_000 + int(r() * 60_000)),
        )
        self.result_code = f"KQ.{self.field}.{int(r() * 1_000_000):06d}"
        name = _procedure_name(self.procedure)
        if self.person:
            p = self.person
            self.summary = f"{name} - {p.title} {p.name}, SĐT {p.phone}"
            self.remark = f"Đã gọi {p.title} {p.name} ({p.phone}) để hẹn ngày trả kết quả"
        else:
            self.summary = f"Đề nghị: {name}"
            self.remark = ""
        self.session = f"{rng.getrandbits(128):032x}"

    def staff(self) -> str:
        if not self.pii:
            return T_DEFAULT_USER
        return self.rng.choice(STAFF)[:50]

    def note(self) -> str:
        """A free-text note for about a third of the rows (never for pii=False)."""
        if self.person is not None and self.rng.random() < 0.35:
            return _note(self.person)
        return ""

    # -------------------------------------------------------------- the snapshot
    def _date(self, ms: int | None) -> str | None:
        if ms is None:
            return "" if self.style == "O" else None
        return fmt_local(ms)

    def _fees(self, f: _Facts) -> list[dict]:
        if f.received_at is None or f.has_fee is None:
            return []  # not said
        gia = str(self.fee) if f.has_fee else "0"
        text = f"Lệ phí {_procedure_name(self.procedure).lower()}"[:200] if f.has_fee else "Không thu phí"
        return [{"TenPhiLePhi": text, "MaPhiLePhi": "1", "HinhThucThu": "1", "Gia": gia, "LoaiPhiLePhi": "1"}]

    def _results(self, f: _Facts) -> list[dict]:
        if f.resolved_at is None or not f.electronic_result:
            return []
        name, url, gid = self.result
        item = {
            "TenGiayTo": name,
            "MaThanhPhanHoSo": "",
            "GiayToId": gid if self.style == "O" else "",
            "DuongDanTepTinKetQua": url,
        }
        if self.style == "T":
            item["MaGiayToKetQua"] = self.result_code
        return [item]

    def snapshot(self, f: _Facts) -> dict:
        """The DongBoHoSoMC item as of ``f``; key order is the sender's (the payload is compared as text)."""
        s: dict[str, Any] = {
            "MaHoSo": self.id,
            "MaTTHC": self.procedure,
            "TenTTHC": _procedure_name(self.procedure),
            "MaLinhVuc": self.field,
            "TenLinhVuc": _field_name(self.field),
        }
        status = f.status or 1
        if self.style == "T":
            s.update(self._t_owner(f))
            status = T_SNAPSHOT_STATUS.get(status, status)
        else:
            s.update(self._o_owner())
        s.update(
            {
                "NgayTiepNhan": self._date(f.received_at),
                "NgayHenTra": self._date(f.due_ms),
                "TrangThaiHoSo": str(status),
                "NgayTra": self._date(f.returned_at),
                "ThongTinTra": "",
                "HinhThuc": "1" if f.return_postal else "0",
                "NgayKetThucXuLy": self._date(f.resolved_at),
                "DonViXuLy": _unit_name(self.unit),
                "GhiChu": self.remark,
            }
        )
        if self.style == "T":
            s["TaiLieuNop"] = self._t_files(f.digitised)
        else:
            s["TaiLieuNop"] = [
                {
                    "TenTepDinhKem": name,
                    "MaThanhPhanHoSo": "",
                    "TepDinhKemId": fid,
                    "DuongDanTaiTepTin": url,
                    "IsDeleted": "False",
                }
                for name, url, fid in self.files
            ]
        s["DanhSachLePhi"] = self._fees(f)
        s["DanhSachTepDinhKemKhac"] = []
        s["DanhSachHoSoBoSung"] = []
        s["DanhSachGiayToKetQua"] = self._results(f)
        if self.style == "T":
            self._t_trailer(s, f)
        return s

    def _t_owner(self, f: _Facts) -> dict[str, Any]:
        """T's channel and owner fields (MaDoiTuong only for online dossiers)."""
        p = self.person
        kenh = KENH.get(f.channel or "DIRECT", "1")
        return {
            "KenhThucHien": kenh,
            "SoGiayToChuHoSo": p.cccd if p else "",
            "ChuHoSo": p.name if p else "",
            "LoaiDoiTuong": self.loai,
            "MaDoiTuong": (p.tech_id if p else "") if kenh == "2" else None,
            "ThongTinKhac": "",
            "Email": p.email if p else "",
            "Fax": "",
            "SoDienThoai": p.phone if p else "",
            "TrichYeuHoSo": self.summary[:1000] or "Dinhkem",
        }

    def _o_owner(self) -> dict[str, Any]:
        """O's owner fields: old generation, no channel, Fax holding the phone number."""
        p = self.person
        return {
            "ChuHoSo": p.name if p else "",
            "LoaiDoiTuong": self.loai,
            "MaDoiTuong": p.tech_id if p else "",
            "ThongTinKhac": "",
            "Email": p.email if p else "",
            "Fax": p.phone if p else "",  # O fills Fax with the phone number
            "SoDienThoai": p.phone if p else "",
            "TrichYeuHoSo": self.summary,
        }

    def _t_trailer(self, s: dict[str, Any], f: _Facts) -> None:
        """Appends T's newer-generation fields (digitisation, payment, rejection, identity) after the lists."""
        p = self.person
        s["NoiNopHoSo"] = "2"
        d = f.digitised
        if d is not None:
            s["HoSoCoThanhPhanSoHoa"] = "1" if d.get("components_digitised", 0) >= 1 else "0"
            s["TaiKhoanDuocXacThucVoiVNeID"] = "1" if d.get("population_data_used") else "0"
        s["DuocThanhToanTrucTuyen"] = PAYMENT_FLAG.get(f.payment or "", "0")
        s["NgayTuChoi"] = self._date(f.rejected_at)
        s["DinhDanhCHS"] = [{"LoaiDinhDanh": "1", "SoDinhDanh": p.cccd if p else ""}]
        s["NgayNopHoSo"] = s["NgayTiepNhan"]  # T sends NgayTiepNhan here
        s["DSKetNoiCSDL"] = [{"MaCSDL": "7"}]

    def _t_files(self, d: dict | None) -> list[dict]:
        if d is None:
            return []
        dig = d.get("components_digitised", 0)
        reused = d.get("components_reused", 0)
        store = bool(d.get("from_personal_store"))
        out = []
        for i, (name, url, _fid) in enumerate(self.files):
            out.append(
                {
                    "TepDinhKemId": "",
                    "TenTepDinhKem": name,
                    "IsDeleted": "False",
                    "MaThanhPhanHoSo": "",
                    "DuongDanTaiTepTin": url,
                    "DuocSoHoa": "1" if i < dig else "0",
                    "DuocTaiSuDung": "1" if i < reused else "0",
                    "DuocLayTuKhoDMQG": "1" if (store and i == 0) else "0",
                    "MaKetQuaThayThe": None,
                }
            )
        return out

    # -------------------------------------------------------------- progress rows
    def row(self, ev: dict, f: _Facts) -> dict:
        t = ev["event_type"]
        o = self.style == "O"
        status = ROW_STATUS[self.style][t]
        user = self.staff()
        dept = ""
        deadline = ""
        if t == "SUBMITTED":
            if f.channel == "ONLINE":
                text = "Nộp hồ sơ trực tuyến"
            elif f.channel == "POSTAL":
                text = "Nộp hồ sơ qua dịch vụ bưu chính công ích"
            else:
                text = "Nộp hồ sơ trực tiếp"
            if self.person is not None:
                user = self.person.name  # the applicant files it
        elif t == "RECEIVED":
            text, dept = "Tiếp nhận hồ sơ", "MOTCUA"
            if o:
                day = local_day_number(ev["occurred_at"])
                deadline = fmt_local((day - _EPOCH_ORDINAL) * MS_PER_DAY - VN_OFFSET_MS + DUE_TIME_MS)
        elif t == "REJECTED":
            text, dept = "Từ chối tiếp nhận", "MOTCUA"
            if o and ev.get("reason"):
                text = f"{text}-{ev['reason']}"
        elif t == "SUPPLEMENT_REQUESTED":
            reason = self.rng.choice(_SUPPLEMENT_REASONS)
            if self.person is not None:
                reason = f"{reason}, {_note(self.person)}"
            text, dept = f"{SUPPLEMENT_REQUEST_TEXT}-{reason}", "CHUYENVIEN"
        elif t == "SUPPLEMENT_RECEIVED":
            text, dept = (O_SUPPLEMENT_DONE_TEXT, "MOTCUA") if o else (T_SUPPLEMENT_DONE_TEXT, "")
        elif t == "WITHDRAWN":
            text, dept = ("Công dân yêu cầu rút hồ sơ", "MOTCUA") if o else (T_WITHDRAWN_TEXT, "")
        elif t == "STOPPED":
            text, dept = "Dừng xử lý", "CHUYENVIEN"
            if o and ev.get("reason"):
                text = f"{text}-{ev['reason']}"
        elif t == "RESOLVED":
            text, dept = ("Hoàn thành xử lý", "LANHDAO") if o else ("Kết thúc xử lý", "")
        else:  # RESULT_RETURNED
            text, dept = "Trả kết quả", "MOTCUA"
        if o and t not in ("SUPPLEMENT_REQUESTED", "SUPPLEMENT_RECEIVED"):
            extra = self.note()
            if extra:
                text = f"{text}-{extra}"  # O: actionName-actionNote
        if not o:
            dept = ""
        return {
            "MaHoSo": self.id,
            "NguoiXuLy": user,
            "ChucDanh": "",
            "ThoiDiemXuLy": fmt_local(ev["occurred_at"]),
            "PhongBanXuLy": dept,
            "NoiDungXuLy": text,
            "TrangThai": str(status),
            "NgayBatDau": "",
            "NgayKetThucTheoQuyDinh": deadline,
        }

    def synthetic_row(self, at: int, text: str, status: str) -> dict:
        return {
            "MaHoSo": self.id,
            "NguoiXuLy": T_SYNTHETIC_USER,
            "ChucDanh": "",
            "ThoiDiemXuLy": fmt_local(at),
            "PhongBanXuLy": "",
            "NoiDungXuLy": text,
            "TrangThai": status,
            "NgayBatDau": "",
            "NgayKetThucTheoQuyDinh": "",
        }


def to_requests(
    dossier_events: list[dict], style: str, rng: random.Random, cal: WorkingCalendar, pii: bool = True
) -> list[dict]:
    """The requests sender ``style`` ("O" or "T") would have posted for one dossier, in
    the order it posts them. O requests are envelopes; T requests are ``_bare`` wrappers."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")
    if not dossier_events:
        return []
    evs = sorted(dossier_events, key=_order)
    d = _Dossier(evs[0], evs, style, rng, pii)
    facts = _Facts()
    if style == "O":
        out: list[dict] = []
        for ev in evs:
            facts.absorb(ev, cal)
            if ev["event_type"] not in STATUS_AFTER:
                continue
            out.append(
                {
                    "session": d.session,
                    "madonvi": d.unit,
                    "service": SNAPSHOT_SERVICE,
                    "isUpdating": "True" if out else "False",
                    "data": [d.snapshot(facts)],
                }
            )
            out.append(
                {
                    "session": d.session,
                    "madonvi": d.unit,
                    "service": PROGRESS_SERVICE,
                    "data": [d.row(ev, facts)],
                }
            )
        return out

    rows = []
    for ev in evs:
        facts.absorb(ev, cal)
        if ev["event_type"] in STATUS_AFTER:
            rows.append(d.row(ev, facts))
    snap = d.snapshot(facts)
    if facts.received_at is not None:
        first = d.synthetic_row(facts.received_at, T_FIRST_ROW_TEXT, "2")
        rows.insert(0, first)
        if snap["TrangThaiHoSo"] in ("9", "10"):
            at = facts.resolved_at if facts.resolved_at is not None else facts.received_at
            rows.append(d.synthetic_row(at, T_END_ROW_TEXT, "9"))
        elif facts.due_ms is None:
            rows.append(d.synthetic_row(facts.received_at, T_NO_DUE_ROW_TEXT, "9"))
    out = [{"_bare": [snap], "_service": SNAPSHOT_SERVICE, "_madonvi": d.unit}]
    for i in range(0, len(rows), T_CHUNK):
        out.append({"_bare": rows[i : i + T_CHUNK], "_service": PROGRESS_SERVICE, "_madonvi": d.unit})
    return out


def equivalent_events(
    dossier_events: list[dict], style: str, cal: WorkingCalendar, requests: list[dict] | None = None
) -> list[dict]:
    """The v1 events whose figures the payloads of :func:`to_requests` must reproduce:
    only what DVCQG can express, with the due date as the payload states it (17:00 local,
    no time limit), whole seconds, and O's dossiers filed directly. For O, ``requests``
    (what :func:`to_requests` made) gives the files its snapshots list."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")
    out = []
    for ev in sorted(dossier_events, key=_order):
        t = ev["event_type"]
        if t in NOT_EXPRESSIBLE:
            continue
        if t == "PAYMENT_COMPLETED" and (style == "O" or ev.get("method") not in ONLINE_METHODS):
            continue
        if t == "DIGITISED" and style == "O":
            continue
        e = {k: ev[k] for k in ENVELOPE}
        e["occurred_at"] = _second(ev["occurred_at"])
        if t in ("SUBMITTED", "RECEIVED"):
            e["channel"] = "DIRECT" if style == "O" else ev["channel"]
        if t == "RECEIVED":
            due = due_instant(ev, cal)
            if due is not None:
                e["due_at"] = due
            e["has_fee"] = bool(ev.get("has_fee"))
        elif t == "RESOLVED":
            e["electronic_result"] = bool(ev.get("electronic_result"))
        elif t == "RESULT_RETURNED":
            e["return_channel"] = "POSTAL" if ev.get("return_channel") == "POSTAL" else "DIRECT"
        elif t == "PAYMENT_COMPLETED":
            e["method"] = ev["method"]
            if ev.get("amount_vnd") is not None:
                e["amount_vnd"] = ev["amount_vnd"]
        elif t == "DIGITISED":
            for k in (
                "components_total",
                "components_digitised",
                "components_reused",
                "from_personal_store",
                "population_data_used",
            ):
                if ev.get(k) is not None:
                    e[k] = ev[k]
        out.append(e)
    received = next((e for e in out if e["event_type"] == "RECEIVED"), out[0] if out else None)
    if style == "O" and requests and received is not None:
        snaps = [x for r in requests if service_of(r) == "DongBoHoSoMC" for x in data_of(r)]
        linked = (
            sum(1 for f in snaps[-1].get("TaiLieuNop") or [] if f.get("DuongDanTaiTepTin")) if snaps else 0
        )
        if linked:
            out.append(
                {
                    **{k: received[k] for k in ENVELOPE if k not in ("event_id", "event_type")},
                    "event_id": f"{received['dossier_id']}-files",
                    "event_type": "DIGITISED",
                    "components_total": linked,
                    "components_digitised": linked,
                    "components_reused": 0,
                    "from_personal_store": False,
                    "population_data_used": False,
                }
            )
    return out


# ---------------------------------------------------------------- writing
def body(request: dict) -> dict | list:
    """What the sender posts: the envelope itself (O) or the bare array (T)."""
    return request["_bare"] if "_bare" in request else request


def unit_of(request: dict) -> str | None:
    """The unit a request is for: O's envelope ``madonvi``, or T's out-of-band one."""
    return request.get("_madonvi") or request.get("madonvi")


def service_of(request: dict) -> str:
    return request.get("_service") or request["service"]


def data_of(request: dict) -> list[dict]:
    """The snapshots or progress rows a request carries, whatever its form."""
    return request["_bare"] if "_bare" in request else request["data"]


def write_requests(path: str | Path, requests: Iterable[dict], jsonl: bool = True, gz: bool = False) -> int:
    """Write the requests' bodies (bare arrays as arrays): one per line (JSON Lines), or
    one JSON array of bodies when ``jsonl`` is False. Gzipped when ``gz`` or the name ends
    in ``.gz``. Returns the number of requests written."""
    p = str(path)
    fh = (
        gzip.open(p, "wb", compresslevel=3) if (gz or p.endswith(".gz")) else open(p, "wb", buffering=1 << 20)
    )
    dumps = orjson.dumps
    n = 0
    try:
        if jsonl:
            buf = []
            for req in requests:
                buf.append(dumps(body(req), option=orjson.OPT_APPEND_NEWLINE))
                n += 1
                if len(buf) >= 4096:
                    fh.write(b"".join(buf))
                    buf.clear()
            fh.write(b"".join(buf))
        else:
            bodies = [body(req) for req in requests]
            n = len(bodies)
            fh.write(dumps(bodies))
    finally:
        fh.close()
    return n


__all__ = [
    "CITIZENS",
    "PII_SAMPLES",
    "STAFF",
    "STYLES",
    "Person",
    "body",
    "data_of",
    "dossiers",
    "due_instant",
    "equivalent_events",
    "fmt_local",
    "service_of",
    "to_requests",
    "unit_of",
    "write_requests",
]
