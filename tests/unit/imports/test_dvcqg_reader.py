"""Reading DVCQG sync payloads (imports/dvcqg.py): every envelope shape, both payload
generations (an O and a T request, docs/importing.md#senders, with fake personal values), each
field rule, the progress-row classification, every Problem code, and that no personal
value or free text reaches a record or a reason."""

from __future__ import annotations

import calendar
import copy
import dataclasses
import gzip
import unicodedata

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.imports.dvcqg import (
    DONG_BO,
    TIEN_DO,
    BadValue,
    Request,
    classify_row,
    parse_request,
    parse_time,
    read_file,
)
from motcua.imports.model import Digitisation, Problem, ProgressRow, Snapshot


def utc_ms(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    """Epoch ms of a UTC wall time (the test converts local UTC+7 times by hand)."""
    return calendar.timegm((y, mo, d, h, mi, s)) * 1000


# Fake personal values and free texts put where the examples have ⟨PII⟩ or prose.
NAME, ID_NO, PHONE, EMAIL = "Nguyễn Văn An", "079203001234", "0912345678", "an@example.vn"
STAFF, FAX = "Trần Thị Bình", "02373123456"
SECRET = "tok-3f9a1c77e2"
FREE_TEXTS = (
    "Cấp bản sao trích lục hộ tịch",
    "Hộ tịch",
    "Đề nghị cấp bản sao trích lục khai sinh",
    "UBND phường Điện Biên",
    "to-khai.pdf",
    "https://files.example",
    "trich-luc.pdf",
    "Cấp giấy phép xây dựng nhà ở riêng lẻ",
    "Hoạt động xây dựng",
    "Hồ sơ cấp phép xây dựng",
    "UBND huyện Đông Sơn",
    "Đơn đề nghị",
    "motcua.example",
    "Thiếu bản vẽ mặt bằng",
    "Nộp hồ sơ trực tuyến",
    "Kết thúc xử lý",
    "Trả kết quả",
    "Giấy phép xây dựng",
)
PERSONAL = (NAME, ID_NO, PHONE, EMAIL, STAFF, FAX, SECRET)

# Example 1 (T, new generation): a bare array of one snapshot.
T_SNAPSHOT = {
    "MaHoSo": "000.00.12.H56-240311-48213",
    "MaTTHC": "1.001612",
    "TenTTHC": "Cấp bản sao trích lục hộ tịch",
    "MaLinhVuc": "G09-TP03",
    "TenLinhVuc": "Hộ tịch",
    "KenhThucHien": "2",
    "SoGiayToChuHoSo": ID_NO,
    "ChuHoSo": NAME,
    "LoaiDoiTuong": "1",
    "MaDoiTuong": ID_NO,
    "ThongTinKhac": "",
    "Email": "",
    "Fax": "",
    "SoDienThoai": PHONE,
    "TrichYeuHoSo": "Đề nghị cấp bản sao trích lục khai sinh",
    "NgayTiepNhan": "20240311083015",
    "NgayHenTra": "20240313170000",
    "TrangThaiHoSo": "10",
    "NgayTra": "20240312160000",
    "ThongTinTra": "",
    "HinhThuc": "0",
    "NgayKetThucXuLy": "20240312143000",
    "DonViXuLy": "UBND phường Điện Biên",
    "GhiChu": "",
    "TaiLieuNop": [
        {
            "TepDinhKemId": "",
            "TenTepDinhKem": "to-khai.pdf",
            "IsDeleted": "False",
            "MaThanhPhanHoSo": "",
            "DuongDanTaiTepTin": "https://files.example/2024/03/to-khai.pdf",
            "DuocSoHoa": "1",
            "DuocTaiSuDung": "0",
            "DuocLayTuKhoDMQG": "0",
            "MaKetQuaThayThe": None,
        }
    ],
    "DanhSachLePhi": [],
    "DanhSachTepDinhKemKhac": [],
    "DanhSachHoSoBoSung": [],
    "DanhSachGiayToKetQua": [
        {
            "TenGiayTo": "trich-luc.pdf",
            "MaThanhPhanHoSo": "",
            "GiayToId": "",
            "DuongDanTepTinKetQua": "https://files.example/2024/03/trich-luc.pdf",
            "MaGiayToKetQua": "KQ.G09.000123",
        }
    ],
    "NoiNopHoSo": "2",
    "HoSoCoThanhPhanSoHoa": "1",
    "TaiKhoanDuocXacThucVoiVNeID": "0",
    "DuocThanhToanTrucTuyen": "0",
    "NgayTuChoi": None,
    "DinhDanhCHS": [{"LoaiDinhDanh": "1", "SoDinhDanh": ID_NO}],
    "NgayNopHoSo": "20240311083015",
    "DSKetNoiCSDL": [{"MaCSDL": "7"}],
}


def t_row(actor: str, at: str, text: str, status: str, deadline: str = "") -> dict:
    return {
        "MaHoSo": "000.00.12.H56-240311-48213",
        "NguoiXuLy": actor,
        "ChucDanh": "",
        "ThoiDiemXuLy": at,
        "PhongBanXuLy": "",
        "NoiDungXuLy": text,
        "TrangThai": status,
        "NgayBatDau": "",
        "NgayKetThucTheoQuyDinh": deadline,
    }


T_ROWS = [
    t_row("Cán bộ một cửa", "20240311083015", "Tiếp nhận hồ sơ", "2"),
    t_row(NAME, "20240311070210", "Nộp hồ sơ trực tuyến", "1"),
    t_row(STAFF, "20240311083015", "Tiếp nhận hồ sơ", "2", "20240312083015"),
    t_row(STAFF, "20240312143000", "Kết thúc xử lý", "9", "20240313170000"),
    t_row(STAFF, "20240312160000", "Trả kết quả", "10"),
    t_row("Cán bộ một cửa", "20240312143000", "Kết thúc xử lý hồ sơ", "9"),
]

# Example 2 (O, old generation): envelopes, one sync pair per action.
O_ITEM = {
    "MaHoSo": "H56.22-240301-0012",
    "MaTTHC": "1.004227",
    "TenTTHC": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
    "MaLinhVuc": "G16-XD04",
    "TenLinhVuc": "Hoạt động xây dựng",
    "ChuHoSo": NAME,
    "LoaiDoiTuong": "1",
    "MaDoiTuong": "",
    "ThongTinKhac": "",
    "Email": EMAIL,
    "Fax": FAX,
    "SoDienThoai": PHONE,
    "TrichYeuHoSo": "Hồ sơ cấp phép xây dựng",
    "NgayTiepNhan": "20240301091000",
    "NgayHenTra": "20240315170000",
    "TrangThaiHoSo": "2",
    "NgayTra": "",
    "ThongTinTra": "",
    "HinhThuc": "0",
    "NgayKetThucXuLy": "",
    "DonViXuLy": "UBND huyện Đông Sơn",
    "DanhSachLePhi": [],
    "DanhSachTepDinhKemKhac": [],
    "DanhSachHoSoBoSung": [],
    "DanhSachGiayToKetQua": [],
    "TaiLieuNop": [
        {
            "TenTepDinhKem": "Đơn đề nghị",
            "MaThanhPhanHoSo": "",
            "TepDinhKemId": "40211",
            "DuongDanTaiTepTin": "https://motcua.example/documents/20121/0/don.pdf/uuid?t=1&download=true",
            "IsDeleted": "False",
        }
    ],
}


def o_snapshot(updating: str = "False", **changes) -> dict:
    item = copy.deepcopy(O_ITEM)
    item.update(changes)
    return {
        "session": SECRET,
        "madonvi": "000.00.12.H56",
        "service": DONG_BO,
        "isUpdating": updating,
        "data": [item],
    }


def o_progress(at: str, role: str, text: str, status: str, deadline: str = "") -> dict:
    return {
        "session": SECRET,
        "madonvi": "000.00.12.H56",
        "service": TIEN_DO,
        "data": [
            {
                "MaHoSo": "H56.22-240301-0012",
                "NguoiXuLy": STAFF,
                "ChucDanh": "",
                "ThoiDiemXuLy": at,
                "PhongBanXuLy": role,
                "NoiDungXuLy": text,
                "TrangThai": status,
                "NgayBatDau": "",
                "NgayKetThucTheoQuyDinh": deadline,
            }
        ],
    }


O_RESULT = [
    {
        "TenGiayTo": "Giấy phép xây dựng",
        "MaThanhPhanHoSo": "",
        "GiayToId": "40388",
        "DuongDanTepTinKetQua": "https://motcua.example/kq/40388",
    }
]
O_CALLS = [
    o_snapshot(),
    o_progress("20240301091000", "MOTCUA", "Tiếp nhận hồ sơ", "2", "20240301170000"),
    o_snapshot("True", TrangThaiHoSo="5"),
    o_progress("20240305103000", "CHUYENVIEN", "Yêu cầu bổ sung-Thiếu bản vẽ mặt bằng", "5"),
    o_snapshot("True", TrangThaiHoSo="4"),
    o_progress("20240308090000", "MOTCUA", "Tiếp nhận bổ sung", "4"),
    o_snapshot(
        "True",
        TrangThaiHoSo="10",
        NgayKetThucXuLy="20240314150000",
        NgayTra="20240315080000",
        DanhSachGiayToKetQua=O_RESULT,
    ),
    o_progress("20240315080000", "MOTCUA", "Trả kết quả", "10"),
]


def one(body, where: str = "req", **kw):
    """The only record of a one-item request."""
    request = parse_request(body, where, **kw)
    assert isinstance(request, Request), request
    assert len(request.records) == 1
    return request.records[0]


def snap(**fields) -> Snapshot | Problem:
    return one([{"MaHoSo": "X-1", **fields}])


# --------------------------------------------------------------------------- parse_time


def test_a_dvcqg_time_is_local_utc_plus_7():
    assert parse_time("20240311083015", "NgayTiepNhan") == 1710120615000  # 2024-03-11 01:30:15 UTC
    assert parse_time("20240311083015", "x") == utc_ms(2024, 3, 11, 1, 30, 15)
    assert parse_time(20240311083015, "x") == 1710120615000  # a number sent as a number


@pytest.mark.parametrize(
    "text, expected",
    [
        ("20240301", utc_ms(2024, 2, 29, 17)),  # local midnight, the day before in UTC
        ("  20240311083015 ", utc_ms(2024, 3, 11, 1, 30, 15)),
        ("2024-03-11T08:30:15", utc_ms(2024, 3, 11, 1, 30, 15)),  # naive ISO: +07:00
        ("2024-03-11 08:30:15.250", utc_ms(2024, 3, 11, 1, 30, 15) + 250),
        ("2024-03-11T08:30:15+07:00", utc_ms(2024, 3, 11, 1, 30, 15)),
        ("2024-03-11T01:30:15Z", utc_ms(2024, 3, 11, 1, 30, 15)),
        ("2024-03-11T03:30:15+02:00", utc_ms(2024, 3, 11, 1, 30, 15)),
        ("2024-03-11", utc_ms(2024, 3, 10, 17)),
        ("11/03/2024", utc_ms(2024, 3, 10, 17)),
        ("11/03/2024 08:30", utc_ms(2024, 3, 11, 1, 30)),
        ("11/03/2024 08:30:15", utc_ms(2024, 3, 11, 1, 30, 15)),
        ("1/3/2024 7:05", utc_ms(2024, 3, 1, 0, 5)),
    ],
)
def test_other_date_forms(text, expected):
    assert parse_time(text, "NgayHenTra") == expected


@pytest.mark.parametrize("blank", [None, "", "   ", "\t"])
def test_blank_dates_are_none(blank):
    assert parse_time(blank, "NgayTra") is None


@pytest.mark.parametrize(
    "bad",
    ["20241345000000", "abc", "20240230", "2024031108301", "31/02/2024", "20241231240000", True, 1.5, [], {}],
)
def test_impossible_dates_raise_bad_date_naming_the_field(bad):
    with pytest.raises(BadValue) as info:
        parse_time(bad, "NgayHenTra")
    assert info.value.code == "BAD_DATE"
    assert "NgayHenTra" in info.value.reason


def test_a_bad_date_reason_shows_a_code_but_never_a_personal_value():
    with pytest.raises(BadValue) as info:
        parse_time("20241345000000", "NgayTra")
    assert "'20241345000000'" in info.value.reason
    for value in (ID_NO, PHONE, EMAIL, NAME):
        with pytest.raises(BadValue) as info:
            parse_time(value, "NgayTra")
        assert value not in info.value.reason


# --------------------------------------------------------------------------- classify_row


@pytest.mark.parametrize(
    "status, text, kind",
    [
        (1, "Nộp hồ sơ trực tuyến", "SUBMITTED"),
        (2, "Tiếp nhận hồ sơ", "RECEIVED"),
        (3, "Từ chối tiếp nhận", "REJECTED"),
        (3, None, "REJECTED"),
        (3, "Công dân thu hồi hồ sơ", "WITHDRAWN"),  # T writes a withdrawal as 3
        (3, "CONG DAN THU HOI HO SO", "WITHDRAWN"),
        (3, "Rút hồ sơ theo đề nghị", "WITHDRAWN"),
        (3, "Công dân rút yêu cầu", "WITHDRAWN"),
        (3, "Không đủ điều kiện, thu hồi", "WITHDRAWN"),
        (3, "Trút bỏ hồ sơ", "REJECTED"),  # "rút" only as a whole word
        (3, unicodedata.normalize("NFD", "Công dân rút hồ sơ"), "WITHDRAWN"),  # decomposed diacritics
        (5, unicodedata.normalize("NFD", "Hoàn thành bổ sung"), "SUPPLEMENT_RECEIVED"),
        (4, "Chuyển xử lý", "PROCESSING"),
        (4, "Tiếp nhận bổ sung", "PROCESSING"),  # O's 2c row: the status decides
        (5, "Yêu cầu bổ sung-Thiếu bản vẽ", "SUPPLEMENT_REQUESTED"),
        (5, None, "SUPPLEMENT_REQUESTED"),
        (5, "Hoàn thành bổ sung hồ sơ", "SUPPLEMENT_RECEIVED"),  # T writes completion as 5 too
        (5, "hoan thanh bo sung", "SUPPLEMENT_RECEIVED"),
        (5, "Công dân gửi bổ sung", "SUPPLEMENT_RECEIVED"),
        (5, "Tiếp nhận bổ sung", "SUPPLEMENT_RECEIVED"),
        (5, "Công dân đã bổ sung giấy tờ", "SUPPLEMENT_RECEIVED"),
        (5, "Nhận bổ sung", "SUPPLEMENT_RECEIVED"),
        (5, "Yêu cầu công dân gửi bổ sung bản vẽ", "SUPPLEMENT_REQUESTED"),  # the request comes first
        (5, "Tiếp nhận bổ sung theo yêu cầu", "SUPPLEMENT_RECEIVED"),
        (6, "Yêu cầu thanh toán phí", "PAYMENT_REQUESTED"),
        (7, "Công dân yêu cầu rút hồ sơ", "WITHDRAWN"),
        (8, "Dừng xử lý", "STOPPED"),
        (9, "Kết thúc xử lý", "RESOLVED"),
        (10, "Trả kết quả", "RESULT_RETURNED"),
    ],
)
def test_row_kinds(status, text, kind):
    assert classify_row(status, text, STAFF) == (kind, False)


@pytest.mark.parametrize(
    "status, text, kind",
    [
        (2, "Tiếp nhận hồ sơ", "RECEIVED"),
        (9, "Kết thúc xử lý hồ sơ", "RESOLVED"),
        (9, "Hồ sơ không có ngày hẹn trả", "RESOLVED"),
        (9, "  ho so KHONG co ngay hen  tra ", "RESOLVED"),  # case, diacritics and spaces aside
    ],
)
def test_thanh_hoa_synthetic_rows(status, text, kind):
    assert classify_row(status, text, "Cán bộ một cửa") == (kind, True)
    assert classify_row(status, text, "CAN BO MOT CUA") == (kind, True)
    # a real official's row with the same text is an action
    assert classify_row(status, text, STAFF) == (kind, False)
    assert classify_row(status, text, None) == (kind, False)


def test_synthetic_needs_the_status_and_the_exact_text():
    assert classify_row(9, "Tiếp nhận hồ sơ", "Cán bộ một cửa") == ("RESOLVED", False)
    assert classify_row(2, "Kết thúc xử lý hồ sơ", "Cán bộ một cửa") == ("RECEIVED", False)
    assert classify_row(2, "Tiếp nhận hồ sơ trực tuyến", "Cán bộ một cửa") == ("RECEIVED", False)
    assert classify_row(2, None, "Cán bộ một cửa") == ("RECEIVED", False)


@pytest.mark.parametrize("status", [0, 11, -1])
def test_classify_row_rejects_unknown_status(status):
    with pytest.raises(BadValue) as info:
        classify_row(status, None, None)
    assert info.value.code == "BAD_STATUS"


# --------------------------------------------------------------------------- example 1 (T)


def test_t_example_snapshot_new_generation():
    request = parse_request(orjson.dumps([T_SNAPSHOT]), "t.json")
    assert (request.service, request.madonvi, request.session, request.updating) == (
        DONG_BO,
        None,
        None,
        None,
    )
    assert request.records == [
        Snapshot(
            dossier_id="000.00.12.H56-240311-48213",
            where="t.json mục 1",
            unit_code=None,
            unit_from="",
            procedure_code="1.001612",
            field_code="G09-TP03",
            status=10,
            received_at=utc_ms(2024, 3, 11, 1, 30, 15),
            due_at=utc_ms(2024, 3, 13, 10),
            channel="ONLINE",
            resolved_at=utc_ms(2024, 3, 12, 7, 30),
            electronic_result=True,
            returned_at=utc_ms(2024, 3, 12, 9),
            return_postal=False,
            rejected_at=None,
            has_fee=None,
            payment="NONE",
            digitisation=Digitisation(1, 1, 0, False, False),
            updating=None,
        )
    ]


def test_t_example_progress_rows_told_apart_by_shape():
    request = parse_request(orjson.dumps(T_ROWS), "rows.json")
    assert request.service == TIEN_DO
    got = [(r.where, r.at, r.status, r.kind, r.synthetic) for r in request.records]
    assert got == [
        ("rows.json mục 1", utc_ms(2024, 3, 11, 1, 30, 15), 2, "RECEIVED", True),
        ("rows.json mục 2", utc_ms(2024, 3, 11, 0, 2, 10), 1, "SUBMITTED", False),
        ("rows.json mục 3", utc_ms(2024, 3, 11, 1, 30, 15), 2, "RECEIVED", False),
        ("rows.json mục 4", utc_ms(2024, 3, 12, 7, 30), 9, "RESOLVED", False),
        ("rows.json mục 5", utc_ms(2024, 3, 12, 9), 10, "RESULT_RETURNED", False),
        ("rows.json mục 6", utc_ms(2024, 3, 12, 7, 30), 9, "RESOLVED", True),
    ]
    assert all(
        isinstance(r, ProgressRow)
        and r.dossier_id == "000.00.12.H56-240311-48213"
        and r.unit_code is None
        and r.unit_from == ""
        for r in request.records
    )


# --------------------------------------------------------------------------- example 2 (O)


def test_o_example_snapshots_old_generation():
    requests = [parse_request(orjson.dumps(call), f"o:{n}") for n, call in enumerate(O_CALLS, 1)]
    first = requests[0]
    assert (first.service, first.madonvi, first.session, first.updating) == (
        DONG_BO,
        "000.00.12.H56",
        SECRET,
        False,
    )
    assert first.records == [
        Snapshot(
            dossier_id="H56.22-240301-0012",
            where="o:1 mục 1",
            unit_code="000.00.12.H56",
            unit_from="envelope",
            procedure_code="1.004227",
            field_code="G16-XD04",
            status=2,
            received_at=1709259000000,
            due_at=utc_ms(2024, 3, 15, 10),  # 2024-03-01 02:10 UTC
            channel=None,
            resolved_at=None,
            electronic_result=False,
            returned_at=None,
            return_postal=False,
            rejected_at=None,
            has_fee=None,
            payment=None,
            # no DuocSoHoa key (old generation): a stored file counts as digitised
            digitisation=Digitisation(1, 1, 0, False, False),
            updating=False,
        )
    ]
    assert [(r.updating, r.records[0].status) for r in requests[2::2]] == [(True, 5), (True, 4), (True, 10)]
    last = requests[6].records[0]
    assert (last.resolved_at, last.returned_at, last.electronic_result) == (
        utc_ms(2024, 3, 14, 8),
        utc_ms(2024, 3, 15, 1),
        True,
    )


def test_o_example_progress_rows():
    rows = [parse_request(orjson.dumps(call), "o") for call in O_CALLS[1::2]]
    assert {r.service for r in rows} == {TIEN_DO}
    assert all(r.updating is None and r.madonvi == "000.00.12.H56" for r in rows)
    assert [
        (r.records[0].at, r.records[0].status, r.records[0].kind, r.records[0].synthetic) for r in rows
    ] == [
        (utc_ms(2024, 3, 1, 2, 10), 2, "RECEIVED", False),
        (utc_ms(2024, 3, 5, 3, 30), 5, "SUPPLEMENT_REQUESTED", False),
        (utc_ms(2024, 3, 8, 2), 4, "PROCESSING", False),
        (utc_ms(2024, 3, 15, 1), 10, "RESULT_RETURNED", False),
    ]
    assert rows[0].records[0] == ProgressRow(
        dossier_id="H56.22-240301-0012",
        where="o mục 1",
        at=1709259000000,
        status=2,
        kind="RECEIVED",
        synthetic=False,
        unit_code="000.00.12.H56",
        unit_from="envelope",
    )


# --------------------------------------------------------------------------- envelope shapes


def test_parsed_value_and_bytes_give_the_same_request():
    assert parse_request(O_CALLS[0], "x") == parse_request(orjson.dumps(O_CALLS[0]), "x")


def test_envelope_keys_in_any_case_and_data_as_one_object():
    body = {
        "Session": SECRET,
        "MaDonVi": " 000.00.12.H56 ",
        "Service": "dongbohosomc",
        "IsUpdating": "true",
        "DATA": {"MaHoSo": " X-1 ", "TrangThaiHoSo": 4},
    }
    request = parse_request(body, "r")
    assert (request.service, request.madonvi, request.session, request.updating) == (
        DONG_BO,
        "000.00.12.H56",
        SECRET,
        True,
    )
    rec = request.records[0]
    assert (rec.dossier_id, rec.unit_code, rec.unit_from, rec.status, rec.updating) == (
        "X-1",
        "000.00.12.H56",
        "envelope",
        4,
        True,
    )


def test_envelope_may_name_the_unit_maDinhDanhDV_and_data_as_json_text():
    body = {
        "MaDinhDanhDV": "000.00.01.H22",
        "service": TIEN_DO,
        "data": orjson.dumps([{"MaHoSo": "A-1", "ThoiDiemXuLy": "20240101070000"}]).decode(),
    }
    rec = one(body)
    assert (rec.unit_code, rec.unit_from, rec.at, rec.kind) == (
        "000.00.01.H22",
        "envelope",
        utc_ms(2024, 1, 1),
        "PROCESSING",
    )


def test_h_query_string_form():
    body = orjson.dumps([{"MaHoSo": "H22-1", "NgayTiepNhan": "20240601080000", "TrangThaiHoSo": "1"}])
    request = parse_request(body, "h", madonvi="000.00.01.H22", updating=True)
    assert (request.service, request.madonvi, request.updating) == (DONG_BO, "000.00.01.H22", True)
    rec = request.records[0]
    assert (rec.unit_code, rec.unit_from, rec.updating, rec.received_at) == (
        "000.00.01.H22",
        "query",
        True,
        utc_ms(2024, 6, 1, 1),
    )


def test_the_body_wins_over_the_query():
    body = {"madonvi": "000.00.12.H56", "isUpdating": "False", "data": [{"MaHoSo": "X-1"}]}
    request = parse_request(body, "r", madonvi="000.00.01.H22", updating=True)
    assert (request.madonvi, request.updating, request.records[0].unit_from) == (
        "000.00.12.H56",
        False,
        "envelope",
    )
    # a blank madonvi does not say: the query's applies
    body = {"madonvi": " ", "data": [{"MaHoSo": "X-1"}]}
    request = parse_request(body, "r", madonvi="000.00.01.H22")
    assert (request.madonvi, request.records[0].unit_from) == ("000.00.01.H22", "query")


def test_no_unit_anywhere():
    rec = snap()
    assert (rec.unit_code, rec.unit_from) == (None, "")
    # MaHoSo's prefix is the converter's business, not the reader's
    assert one([{"MaHoSo": "000.00.12.H56-240311-48213"}]).unit_code is None


def test_one_bare_item():
    request = parse_request(orjson.dumps(T_ROWS[2]), "one")
    assert request.service == TIEN_DO
    assert [(r.where, r.kind, r.synthetic) for r in request.records] == [("one mục 1", "RECEIVED", False)]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("True", True),
        ("False", False),
        ("true", True),
        (" FALSE ", False),
        (True, True),
        (False, False),
        ("1", True),
        ("0", False),
        (1, True),
        (0, False),
        (None, None),
        ("", None),
        ("maybe", None),
    ],
)
def test_is_updating(value, expected):
    request = parse_request({"isUpdating": value, "data": []}, "r")
    assert request.updating is expected
    assert request.records == []


def test_service_keyword_applies_when_the_body_does_not_say():
    row_like = [{"MaHoSo": "A-1", "ThoiDiemXuLy": "20240101070000", "TrangThai": "2"}]
    assert isinstance(one(row_like, service=TIEN_DO), ProgressRow)
    assert isinstance(one(row_like, service=DONG_BO), Snapshot)  # the service is trusted
    request = parse_request({"service": TIEN_DO, "data": row_like}, "r", service=DONG_BO)
    assert request.service == TIEN_DO


def test_service_by_shape_majority_and_tie():
    row = {"MaHoSo": "A-1", "ThoiDiemXuLy": "20240101070000"}
    snapshot = {"MaHoSo": "A-1", "NgayTiepNhan": "20240101070000"}
    # a row that also has a snapshot field is a snapshot
    mixed = {"MaHoSo": "A-1", "ThoiDiemXuLy": "20240101070000", "MaTTHC": "1.0001"}
    request = parse_request([row, snapshot, row], "r")
    assert request.service == TIEN_DO
    assert [type(r).__name__ for r in request.records] == ["ProgressRow", "Snapshot", "ProgressRow"]
    assert parse_request([snapshot, row], "r").service == DONG_BO
    assert parse_request([row, snapshot], "r").service == TIEN_DO
    assert parse_request([mixed], "r").service == DONG_BO
    assert (
        parse_request([{"MaHoSo": "A-1", "NguoiXuLy": STAFF, "ThoiDiemXuLy": "20240101"}], "r").service
        == TIEN_DO
    )
    assert parse_request([], "r").service == DONG_BO


# --------------------------------------------------------------------------- snapshot rules


def test_codes_are_stripped_and_blank_means_none():
    rec = snap(MaTTHC=" 1.001612 ", MaLinhVuc="")
    assert (rec.procedure_code, rec.field_code) == ("1.001612", None)
    assert snap(MaLinhVuc=None).field_code is None


def test_status_as_string_or_number():
    assert [snap(TrangThaiHoSo=v).status for v in ("10", " 3 ", 7, 9.0, "", None)] == [
        10,
        3,
        7,
        9,
        None,
        None,
    ]
    assert snap().status is None


@pytest.mark.parametrize("bad", ["0", "11", 11, "abc", "4a", True, 4.5, [4]])
def test_bad_status(bad):
    problem = snap(TrangThaiHoSo=bad)
    assert isinstance(problem, Problem)
    assert (problem.code, problem.where) == ("BAD_STATUS", "req mục 1")
    assert "TrangThaiHoSo" in problem.reason


def test_received_falls_back_to_ngay_nop_ho_so():
    assert snap(NgayNopHoSo="20240311083015").received_at == utc_ms(2024, 3, 11, 1, 30, 15)
    assert snap(NgayTiepNhan="", NgayNopHoSo="20240311083015").received_at == utc_ms(2024, 3, 11, 1, 30, 15)
    assert snap(NgayTiepNhan="20240312080000", NgayNopHoSo="20240311083015").received_at == utc_ms(
        2024, 3, 12, 1
    )


def test_dates_of_a_snapshot():
    rec = snap(
        NgayHenTra="20240313170000",
        NgayKetThucXuLy="20240312143000",
        NgayTra="20240312160000",
        NgayTuChoi="20240311090000",
    )
    assert (rec.due_at, rec.resolved_at, rec.returned_at, rec.rejected_at) == (
        utc_ms(2024, 3, 13, 10),
        utc_ms(2024, 3, 12, 7, 30),
        utc_ms(2024, 3, 12, 9),
        utc_ms(2024, 3, 11, 2),
    )
    assert snap(NgayTuChoi=None, NgayTra="").rejected_at is None


@pytest.mark.parametrize(
    "field", ["NgayTiepNhan", "NgayNopHoSo", "NgayHenTra", "NgayKetThucXuLy", "NgayTra", "NgayTuChoi"]
)
def test_one_bad_date_makes_the_item_a_problem(field):
    problem = snap(**{"NgayHenTra": "20240313170000", field: "20241345000000"})
    assert isinstance(problem, Problem)
    assert (problem.code, problem.where) == ("BAD_DATE", "req mục 1")
    assert field in problem.reason
    assert orjson.loads(problem.raw) == {
        "MaHoSo": "X-1",
        "NgayHenTra": "20240313170000",
        field: "20241345000000",
    }


@pytest.mark.parametrize(
    "value, channel",
    [("1", "DIRECT"), ("2", "ONLINE"), ("3", "POSTAL"), (2, "ONLINE"), (None, None), ("", None)],
)
def test_channel(value, channel):
    assert snap(KenhThucHien=value).channel == channel
    assert snap().channel is None


@pytest.mark.parametrize("bad", ["4", "0", "Trực tuyến", True, 5])
def test_bad_channel(bad):
    problem = snap(KenhThucHien=bad)
    assert (problem.code, problem.where) == ("BAD_CHANNEL", "req mục 1")


@pytest.mark.parametrize(
    "value, postal", [("1", True), (1, True), ("0", False), ("2", False), ("", None), (None, None)]
)
def test_return_postal(value, postal):
    assert snap(HinhThuc=value).return_postal is postal
    assert snap().return_postal is None


def test_electronic_result():
    assert snap().electronic_result is None
    assert snap(DanhSachGiayToKetQua=None).electronic_result is None
    assert snap(DanhSachGiayToKetQua=[]).electronic_result is False
    assert (
        snap(DanhSachGiayToKetQua=[{"TenGiayTo": "kq.pdf", "DuongDanTepTinKetQua": ""}]).electronic_result
        is False
    )
    assert (
        snap(
            DanhSachGiayToKetQua=[
                {"DuongDanTepTinKetQua": None},
                {"DuongDanTepTinKetQua": "https://x.example/kq"},
            ]
        ).electronic_result
        is True
    )


@pytest.mark.parametrize(
    "lines, fee",
    [
        (None, None),
        ([], None),
        ([{"Gia": "0"}, {"Gia": 0}], False),
        ([{"Gia": "0"}, {"Gia": "50000"}], True),
        ([{"Gia": 15000}], True),
        ([{"Gia": "15000.5"}], True),
        ([{"Gia": "mười nghìn"}, {"Gia": "0"}], False),  # an unreadable Gia is ignored
        ([{"Gia": "mười nghìn"}], None),
        ([{"TenPhiLePhi": "Lệ phí"}], None),
    ],
)
def test_has_fee(lines, fee):
    assert snap(DanhSachLePhi=lines).has_fee is fee


@pytest.mark.parametrize(
    "value, payment",
    [
        ("1", "ONLINE_DVCQG"),
        ("2", "ONLINE_LOCAL"),
        ("0", "NONE"),
        (1, "ONLINE_DVCQG"),
        ("3", None),
        (None, None),
        ("", None),
    ],
)
def test_payment(value, payment):
    assert snap(DuocThanhToanTrucTuyen=value).payment == payment
    assert snap().payment is None


def test_digitisation_from_components():
    components = [
        {"DuocSoHoa": "1", "DuocTaiSuDung": "1", "DuocLayTuKhoDMQG": "0", "IsDeleted": "False"},
        {"DuocSoHoa": "0", "DuocTaiSuDung": "2", "DuocLayTuKhoDMQG": "1", "IsDeleted": False},
        {"DuocSoHoa": "1", "DuocTaiSuDung": "0", "IsDeleted": "True"},  # deleted: skipped
        {"DuocSoHoa": "1", "IsDeleted": True},
        {"DuocSoHoa": "0", "DuocTaiSuDung": "0", "DuongDanTaiTepTin": "https://x.example/a.pdf"},
    ]
    rec = snap(TaiLieuNop=components, TaiKhoanDuocXacThucVoiVNeID="1", HoSoCoThanhPhanSoHoa="0")
    assert rec.digitisation == Digitisation(
        components_total=3,
        components_digitised=1,
        components_reused=2,
        from_personal_store=True,
        population_data_used=True,
    )


def test_digitisation_old_generation_counts_a_stored_file():
    rec = snap(
        TaiLieuNop=[
            {"DuongDanTaiTepTin": "https://x.example/a.pdf", "IsDeleted": "False"},
            {"DuongDanTaiTepTin": ""},
            {"TenTepDinhKem": "b.pdf"},
        ]
    )
    assert rec.digitisation == Digitisation(3, 1, 0, False, False)


def test_digitisation_from_the_dossier_flag_only():
    assert snap(HoSoCoThanhPhanSoHoa="1").digitisation == Digitisation(1, 1, 1, False, False)
    assert snap(TaiLieuNop=[], HoSoCoThanhPhanSoHoa="0").digitisation == Digitisation(1, 0, 0, False, False)
    assert snap(HoSoCoThanhPhanSoHoa="1", TaiKhoanDuocXacThucVoiVNeID="1").digitisation == Digitisation(
        1, 1, 1, False, True
    )
    # every component deleted counts as no list
    assert snap(
        TaiLieuNop=[{"DuocSoHoa": "1", "IsDeleted": "True"}], HoSoCoThanhPhanSoHoa="0"
    ).digitisation == Digitisation(1, 0)
    assert snap().digitisation is None
    assert snap(TaiLieuNop=[], HoSoCoThanhPhanSoHoa="").digitisation is None
    # only the VNeID fact: kept, with no components
    assert snap(TaiKhoanDuocXacThucVoiVNeID="1").digitisation == Digitisation(0, 0, population_data_used=True)


def test_missing_dossier_code():
    for item in ({"MaTTHC": "1.001612"}, {"MaHoSo": ""}, {"MaHoSo": "  "}, {"MaHoSo": None}, {"MaHoSo": []}):
        problem = one([item])
        assert (problem.code, problem.where, problem.raw) == (
            "NO_DOSSIER_CODE",
            "req mục 1",
            orjson.dumps(item),
        )


def test_a_number_as_dossier_code_and_item_keys_in_any_case():
    rec = one([{"mahoso": 12345, "trangthaihoso": "2", "ngaytiepnhan": "20240101070000"}])
    assert (rec.dossier_id, rec.status, rec.received_at) == ("12345", 2, utc_ms(2024, 1, 1))


@pytest.mark.parametrize(
    "field, value, code",
    [
        ("MaHoSo", ID_NO, "PERSONAL_DATA"),
        ("MaHoSo", EMAIL, "PERSONAL_DATA"),
        ("MaHoSo", "HS 001", "BAD_FIELD"),
        ("MaTTHC", PHONE, "PERSONAL_DATA"),
        ("MaLinhVuc", NAME, "BAD_FIELD"),
    ],
)
def test_codes_that_are_no_codes(field, value, code):
    problem = one([{"MaHoSo": "X-1", field: value}])
    assert (problem.code, problem.where) == (code, "req mục 1")
    assert field in problem.reason and value not in problem.reason


def test_a_unit_code_that_is_no_code():
    for kw, body in (({}, {"madonvi": PHONE, "data": []}), ({"madonvi": "UBND xã"}, [])):
        problem = parse_request(body, "r", **kw)
        assert isinstance(problem, Problem) and problem.where == "r"
        assert problem.code in ("PERSONAL_DATA", "BAD_FIELD")


def test_the_supplement_list_is_ignored():
    rec = snap(DanhSachHoSoBoSung=[{"NguoiYeuCauBoSung": STAFF, "NgayBoSung": "not a date"}])
    assert isinstance(rec, Snapshot)


# --------------------------------------------------------------------------- progress rules


def row(**fields):
    return one([{"MaHoSo": "A-1", "ThoiDiemXuLy": "20240305103000", **fields}], service=TIEN_DO)


def test_empty_status_of_a_row_is_4():
    for value in ("", None):
        rec = row(TrangThai=value)
        assert (rec.status, rec.kind) == (4, "PROCESSING")
    assert (row().status, row(TrangThai=9).status) == (4, 9)


def test_row_of_t_withdrawal_and_completion():
    assert row(TrangThai="3", NoiDungXuLy="Công dân thu hồi hồ sơ", NguoiXuLy=NAME).kind == "WITHDRAWN"
    assert (
        row(TrangThai="5", NoiDungXuLy="Hoàn thành bổ sung hồ sơ", NguoiXuLy=NAME).kind
        == "SUPPLEMENT_RECEIVED"
    )


@pytest.mark.parametrize("bad", ["0", "11", "x", 12])
def test_row_bad_status(bad):
    problem = row(TrangThai=bad)
    assert (problem.code, problem.where) == ("BAD_STATUS", "req mục 1")
    assert "TrangThai" in problem.reason


def test_row_without_time():
    for value in (None, "", " "):
        problem = one([{"MaHoSo": "A-1", "TrangThai": "2", "ThoiDiemXuLy": value}])
        assert (problem.code, problem.where) == ("NO_TIME", "req mục 1")
    problem = one([{"MaHoSo": "A-1", "NguoiXuLy": STAFF}])
    assert problem.code == "NO_TIME"


def test_row_bad_time_and_no_dossier():
    problem = row(ThoiDiemXuLy="20241345000000")
    assert problem.code == "BAD_DATE" and "ThoiDiemXuLy" in problem.reason
    assert one([{"ThoiDiemXuLy": "20240101"}], service=TIEN_DO).code == "NO_DOSSIER_CODE"


# --------------------------------------------------------------------------- request problems


@pytest.mark.parametrize("body", [b"", b"{", b'[{"MaHoSo": 1,}]', b"not json", "[1,2]".encode("utf-16")])
def test_bad_json(body):
    problem = parse_request(body, "r")
    assert isinstance(problem, Problem)
    assert (problem.code, problem.where, problem.raw) == ("BAD_JSON", "r", body)


def test_a_bom_is_skipped():
    rec = one(b"\xef\xbb\xbf" + orjson.dumps([{"MaHoSo": "X-1"}]))
    assert rec.dossier_id == "X-1"


@pytest.mark.parametrize(
    "body",
    [
        None,
        3,
        "DongBoHoSoMC",
        True,
        {},
        {"foo": 1},
        {"service": DONG_BO},
        {"madonvi": "000.00.12.H56", "data": None},
        {"data": 5},
        orjson.dumps({"ketqua": []}),
    ],
)
def test_not_a_request(body):
    problem = parse_request(body, "r")
    assert isinstance(problem, Problem)
    assert (problem.code, problem.where) == ("NOT_A_REQUEST", "r")


def test_unknown_service():
    for body, kw in (
        ({"service": "LayThuTuc", "data": [{"maTTHC": "1.001612"}]}, {}),
        ({"service": 7, "data": []}, {}),
        ([{"MaHoSo": "X-1"}], {"service": "TraCuuHoSo"}),
    ):
        problem = parse_request(body, "r", **kw)
        assert (problem.code, problem.where) == ("UNKNOWN_SERVICE", "r")
    assert "'LayThuTuc'" in parse_request({"service": "LayThuTuc", "data": []}, "r").reason


def test_the_session_never_goes_into_a_problem_or_a_repr():
    problem = parse_request({"session": SECRET, "service": "LayThuTuc", "data": []}, "r")
    assert SECRET.encode() not in problem.raw
    assert orjson.loads(problem.raw) == {"service": "LayThuTuc", "data": []}
    request = parse_request(O_CALLS[0], "r")
    assert request.session == SECRET
    assert SECRET not in repr(request)


def test_items_that_are_not_objects():
    request = parse_request([{"MaHoSo": "X-1"}, "X-2", 3, None, ["MaHoSo"]], "feed.jsonl:12")
    assert [(type(r).__name__, r.where) for r in request.records] == [
        ("Snapshot", "feed.jsonl:12 mục 1"),
        ("Problem", "feed.jsonl:12 mục 2"),
        ("Problem", "feed.jsonl:12 mục 3"),
        ("Problem", "feed.jsonl:12 mục 4"),
        ("Problem", "feed.jsonl:12 mục 5"),
    ]
    assert {r.code for r in request.records[1:]} == {"NOT_AN_OBJECT"}
    assert [r.raw for r in request.records[1:]] == [b'"X-2"', b"3", b"null", b'["MaHoSo"]']


# --------------------------------------------------------------------------- files


def dump_lines(*requests) -> bytes:
    return b"\n".join(orjson.dumps(r) for r in requests) + b"\n"


def test_file_with_one_envelope(tmp_path):
    path = tmp_path / "o.json"
    path.write_bytes(orjson.dumps(O_CALLS[0], option=orjson.OPT_INDENT_2))
    (request,) = list(read_file(path))
    assert (request.where, request.records[0].where, request.records[0].dossier_id) == (
        "o.json",
        "o.json mục 1",
        "H56.22-240301-0012",
    )


def test_file_with_a_bare_array_is_one_request(tmp_path):
    path = tmp_path / "t.json"
    path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(T_ROWS, option=orjson.OPT_INDENT_2))
    (request,) = list(read_file(path))
    assert (request.where, request.service, len(request.records)) == ("t.json", TIEN_DO, 6)


def test_file_with_an_array_of_envelopes(tmp_path):
    path = tmp_path / "calls.json"
    path.write_bytes(orjson.dumps(O_CALLS[:3] + ["junk"]))
    requests = list(read_file(path))
    assert [r.where for r in requests] == ["calls.json#1", "calls.json#2", "calls.json#3", "calls.json#4"]
    assert [r.service for r in requests[:3]] == [DONG_BO, TIEN_DO, DONG_BO]
    assert requests[3].code == "NOT_A_REQUEST"


def test_json_lines_blank_lines_and_a_damaged_line(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_bytes(orjson.dumps(O_CALLS[0]) + b"\n\n" + b'{"data": [\n' + orjson.dumps(T_ROWS) + b"\r\n")
    got = list(read_file(path))
    assert [r.where for r in got] == ["feed.jsonl:1", "feed.jsonl:3", "feed.jsonl:4"]
    assert isinstance(got[0], Request) and got[1].code == "BAD_JSON" and isinstance(got[2], Request)
    assert got[2].records[0].where == "feed.jsonl:4 mục 1"


def test_json_lines_in_a_json_file(tmp_path):
    path = tmp_path / "feed.json"
    path.write_bytes(dump_lines(T_ROWS, [T_SNAPSHOT]))
    got = list(read_file(path))
    assert [(r.where, r.service) for r in got] == [("feed.json:1", TIEN_DO), ("feed.json:2", DONG_BO)]


def test_a_broken_json_document_is_one_problem(tmp_path):
    path = tmp_path / "doc.json"
    path.write_bytes(orjson.dumps(T_ROWS, option=orjson.OPT_INDENT_2)[:-5])
    (problem,) = list(read_file(path))
    assert (problem.where, problem.code) == ("doc.json", "BAD_JSON")


def test_gzip_json_lines(tmp_path):
    path = tmp_path / "feed.jsonl.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + dump_lines(*O_CALLS)))
    got = list(read_file(path))
    assert [r.where for r in got] == [f"feed.jsonl.gz:{n}" for n in range(1, 9)]
    assert [r.service for r in got] == [DONG_BO, TIEN_DO] * 4


def test_gzip_damaged_tail_is_one_problem_at_the_end(tmp_path):
    path = tmp_path / "feed.jsonl.gz"
    whole = gzip.compress(dump_lines(*O_CALLS * 20))
    path.write_bytes(whole[: len(whole) * 2 // 3])
    got = list(read_file(path))
    assert all(isinstance(r, Request) for r in got[:-1]) and len(got) > 2
    assert got[-1].code == "DAMAGED_FILE"
    assert got[-1].where == f"feed.jsonl.gz:{len(got)}"


def test_gzip_document(tmp_path):
    path = tmp_path / "calls.json.gz"
    path.write_bytes(gzip.compress(orjson.dumps(O_CALLS)))
    assert [r.where for r in read_file(path)] == [f"calls.json.gz#{n}" for n in range(1, 9)]
    path.write_bytes(gzip.compress(orjson.dumps(O_CALLS))[:-12])
    (problem,) = list(read_file(path))
    assert (problem.where, problem.code) == ("calls.json.gz", "DAMAGED_FILE")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.json"
    path.write_bytes(b"  \n")
    assert list(read_file(path)) == []


# --------------------------------------------------------------------------- privacy


def all_outputs() -> list:
    bodies = [[T_SNAPSHOT], T_ROWS, *O_CALLS]
    # the same items with a personal value where a code or a date belongs
    for field, value in (
        ("NgayHenTra", ID_NO),
        ("TrangThaiHoSo", PHONE),
        ("KenhThucHien", EMAIL),
        ("NgayTiepNhan", NAME),
        ("MaHoSo", EMAIL),
        ("MaHoSo", ""),
        ("MaHoSo", PHONE),
        ("MaTTHC", ID_NO),
        ("MaLinhVuc", NAME),
    ):
        bodies.append([{**T_SNAPSHOT, field: value}])
    for field, value in (("ThoiDiemXuLy", PHONE), ("TrangThai", ID_NO), ("ThoiDiemXuLy", "")):
        bodies.append([{**T_ROWS[1], field: value}])
    bodies.append({"session": SECRET, "service": NAME, "data": []})
    bodies.append({"session": SECRET, "ChuHoSo": NAME})
    bodies.append({"session": SECRET, "madonvi": PHONE, "data": [T_SNAPSHOT]})
    out = []
    for body in bodies:
        result = parse_request(body, "r")
        out.append(result)
        if isinstance(result, Request):
            out.extend(result.records)
    return out


def test_no_personal_value_or_free_text_in_a_record_or_a_reason():
    outputs = all_outputs()
    codes = {o.code for o in outputs if isinstance(o, Problem)}
    assert codes == {
        "BAD_DATE",
        "BAD_STATUS",
        "BAD_CHANNEL",
        "NO_DOSSIER_CODE",
        "NO_TIME",
        "UNKNOWN_SERVICE",
        "NOT_A_REQUEST",
        "PERSONAL_DATA",
        "BAD_FIELD",
    }
    for out in outputs:
        if isinstance(out, Problem):
            texts = [out.reason, out.where]
        elif isinstance(out, Request):  # its records are checked one by one (a Problem's raw is
            # the original item, for the dead letter that redacts it)
            texts = [repr(dataclasses.replace(out, records=[]))]
        else:
            texts = [repr(out), repr(dataclasses.asdict(out))]
        for text in texts:
            for value in PERSONAL + FREE_TEXTS:
                assert value not in text, (value, text)


# --------------------------------------------------------------------------- properties

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=16),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)
FIELD_NAMES = [
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
    "HinhThuc",
    "NgayTuChoi",
    "DanhSachGiayToKetQua",
    "DanhSachLePhi",
    "DuocThanhToanTrucTuyen",
    "TaiLieuNop",
    "HoSoCoThanhPhanSoHoa",
    "TaiKhoanDuocXacThucVoiVNeID",
    "ThoiDiemXuLy",
    "TrangThai",
    "NoiDungXuLy",
    "NguoiXuLy",
    "Gia",
    "DuongDanTepTinKetQua",
    "DuocSoHoa",
    "IsDeleted",
    "DuocTaiSuDung",
    "DuongDanTaiTepTin",
]
field_values = json_values | st.sampled_from(
    [
        "",
        "1",
        "2",
        "5",
        "10",
        "True",
        "20240311083015",
        "11/03/2024",
        "2024-03-11T08:30:15Z",
        "20241345000000",
    ]
)
items = st.recursive(
    st.dictionaries(st.sampled_from(FIELD_NAMES), field_values, max_size=8),
    lambda inner: st.dictionaries(
        st.sampled_from(FIELD_NAMES), inner | st.lists(inner, max_size=3), max_size=6
    ),
    max_leaves=6,
)
envelopes = st.fixed_dictionaries(
    {"data": st.lists(items | json_values, max_size=4) | items | json_values},
    optional={
        "service": st.sampled_from([DONG_BO, TIEN_DO, "LayThuTuc", ""]) | json_values,
        "madonvi": st.sampled_from(["000.00.12.H56", " "]) | json_values,
        "isUpdating": json_values,
        "session": json_values,
    },
)
bodies = json_values | items | st.lists(items | json_values, max_size=5) | envelopes


@settings(max_examples=400, deadline=None)
@given(bodies)
def test_parse_request_never_raises_on_json_values(body):
    result = parse_request(body, "r")
    assert isinstance(result, (Request, Problem))
    if isinstance(result, Request):
        assert result.service in (DONG_BO, TIEN_DO)
        assert all(isinstance(r, (Snapshot, ProgressRow, Problem)) for r in result.records)
        assert [r.where for r in result.records] == [f"r mục {n}" for n in range(1, len(result.records) + 1)]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64) | bodies.filter(lambda b: _dumpable(b)).map(orjson.dumps))
def test_parse_request_never_raises_on_bytes(body):
    assert isinstance(parse_request(body, "r"), (Request, Problem))


def _dumpable(value) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True
