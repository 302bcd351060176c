"""The records a reader makes of a province's exports, before they become events.

Readers (``imports.dvcqg`` for DVCQG sync payloads, ``imports.sheet`` for dossier-list
spreadsheets) keep only what the figures need: codes, instants, flags. Personal data and
free text never reach these records: a reader picks the fields it needs and reads free
text (``NoiDungXuLy``) only to classify a row, never keeping it. ``imports.convert``
turns the records into contract events (a ``SNAPSHOT`` per snapshot, one event per
progress row).

Instants are ``int`` epoch milliseconds (UTC). ``where`` is a human position such as
``feed.jsonl:12 mục 3`` (file, line, item), used in dead letters and summaries; it never
holds a value from the input other than the file name.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Digitisation:
    """What a snapshot says about the dossier's components (TaiLieuNop, "Số hóa")."""

    components_total: int
    components_digitised: int
    components_reused: int = 0
    from_personal_store: bool = False  # a component from the citizen's store (Kho DMQG)
    population_data_used: bool = False  # VNeID / population database used


@dataclass(slots=True)
class Snapshot:
    """A dossier as the source states it now (DongBoHoSoMC item, a spreadsheet row).

    ``None`` means "the input does not say": the converter then falls back (channel
    DIRECT as 766 counts a null KenhThucHien, fee from the procedure catalogue, ...) or
    leaves the fact to the dossier's other events."""

    dossier_id: str  # MaHoSo
    where: str
    unit_code: str | None = None  # the handling unit as the input names it
    unit_from: str = ""  # where unit_code came from: "envelope", "query", "column", ""
    unit_level: str | None = None  # PROVINCE / ... when the input states it (sheet "Cấp")
    procedure_code: str | None = None  # MaTTHC
    field_code: str | None = None  # MaLinhVuc
    status: int | None = None  # TrangThaiHoSo 1..10 as sent (kept; never trusted alone)
    received_at: int | None = None  # NgayTiepNhan (else NgayNopHoSo)
    due_at: int | None = None  # NgayHenTra (its local date is the due date)
    channel: str | None = None  # ONLINE / DIRECT / POSTAL (KenhThucHien 2 / 1 / 3)
    resolved_at: int | None = None  # NgayKetThucXuLy
    electronic_result: bool | None = None  # a DanhSachGiayToKetQua item with a result link
    returned_at: int | None = None  # NgayTra
    return_postal: bool | None = None  # HinhThuc "1"
    rejected_at: int | None = None  # NgayTuChoi
    has_fee: bool | None = None  # a DanhSachLePhi line with Gia > 0; False: lines all 0
    payment: str | None = None  # ONLINE_DVCQG / ONLINE_LOCAL / NONE (DuocThanhToanTrucTuyen 1/2/0)
    digitisation: Digitisation | None = None
    updating: bool | None = None  # isUpdating as sent (informational only)


# Row kinds: the contract event type a progress row stands for.
ROW_KINDS = (
    "SUBMITTED",
    "RECEIVED",
    "REJECTED",
    "PROCESSING",
    "SUPPLEMENT_REQUESTED",
    "SUPPLEMENT_RECEIVED",
    "PAYMENT_REQUESTED",
    "WITHDRAWN",
    "STOPPED",
    "RESOLVED",
    "RESULT_RETURNED",
)


@dataclass(slots=True)
class ProgressRow:
    """One CapNhatTienDoHoSoMC row (QuaTrinhXuLy): an action on a dossier."""

    dossier_id: str
    where: str
    at: int  # ThoiDiemXuLy
    status: int  # TrangThai 1..10 as sent ("" is sent as 4, as T does)
    kind: str  # one of ROW_KINDS, from the status and the classified NoiDungXuLy
    synthetic: bool = False  # a row the sender makes up ("Cán bộ một cửa"); not an action
    unit_code: str | None = None
    unit_from: str = ""


@dataclass(slots=True)
class Problem:
    """Something that could not be read: becomes a dead letter (the payload is redacted
    before it is stored) and a line of the import summary."""

    where: str
    code: str  # stable, e.g. BAD_JSON, NOT_A_REQUEST, NO_DOSSIER_CODE, BAD_DATE
    reason: str  # Vietnamese, quotes no value that may be personal
    raw: bytes = field(default=b"", repr=False)  # what arrived, for the (redacted) dead letter; never logged
