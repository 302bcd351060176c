"""Dossier-list spreadsheets (imports/sheet.py): heading row found under titles, headings
in any spelling, personal columns never read, dates to exact epoch ms, labels and flags,
mapping files, one Problem per bad row with its position, SheetError for unreadable files.

Expected instants are computed by hand from 2024-01-01T00:00Z = 1_704_067_200 s (Jan 31 +
Feb 29 days later 2024-03-11T00:00Z = 1_710_115_200 s) minus 7 h for Việt Nam time."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from motcua.imports.model import Digitisation, Problem, Snapshot
from motcua.imports.sheet import SheetError, SheetMapping, SheetRead, read_sheet

DAY = 86_400_000
H = 3_600_000
MAR11 = 1_710_115_200_000  # 2024-03-11T00:00Z
MAR11_LOCAL = MAR11 - 7 * H  # 2024-03-11 00:00 in Việt Nam

PERSONAL = ("Nguyễn Văn An", "079203001234", "0912345678", "12 Lý Thường Kiệt")


def xlsx(
    tmp_path: Path,
    rows: list[list],
    name: str = "ds.xlsx",
    title: str = "Hồ sơ",
    merge: list[str] = (),
    before: list[tuple[str, list[list]]] = (),
) -> Path:
    """A workbook whose sheets are ``before`` (title, rows) then (title, rows)."""
    wb = Workbook()
    wb.remove(wb.active)
    for sheet_title, sheet_rows in [*before, (title, rows)]:
        ws = wb.create_sheet(sheet_title)
        for r in sheet_rows:
            ws.append(r)
        if sheet_title == title:
            for ref in merge:
                ws.merge_cells(ref)
    path = tmp_path / name
    wb.save(path)
    return path


def csv_file(tmp_path: Path, text: str, name: str = "ds.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def only(read: SheetRead):
    assert len(read.records) == 1, read.records
    return read.records[0]


def col(tmp_path: Path, heading: str, cells: list, **kw) -> list:
    """Records of a CSV with a code, a receipt date and one column ``heading``."""
    lines = [f"Mã hồ sơ;Ngày tiếp nhận;{heading}"]
    lines += [f"HS-{i};11/03/2024;{c}" for i, c in enumerate(cells, start=1)]
    return read_sheet(csv_file(tmp_path, "\n".join(lines) + "\n", **kw)).records


# -- a typical export --------------------------------------------------------------------


def test_xlsx_under_titles_with_personal_columns(tmp_path):
    headings = [
        "STT",
        "MA HO SO (*)",
        "Người nộp",
        "Số CCCD",
        "Điện thoại",
        "Địa chỉ",
        "Mã TTHC",
        "Ngay tiep nhan:",
        "  Ngày   hẹn trả ",
        "NGÀY CÓ KẾT QUẢ",
        "Ngày trả kết quả",
        "Hình thức nộp",
        "Trạng thái",
        "Ghi chú",
    ]
    row = [
        1,
        "000.00.12.H56-240311-48213",
        "Nguyễn Văn An",
        "079203001234",
        "0912345678",
        "12 Lý Thường Kiệt",
        "1.001612",
        datetime(2024, 3, 11, 8, 30, 15),
        "15/03/2024",
        "14/03/2024 09:30",
        datetime(2024, 3, 12, 16, 0),
        "Trực tuyến",
        "Đã trả kết quả",
        "Nguyễn Văn An hẹn lấy tại nhà",
    ]
    path = xlsx(
        tmp_path,
        [
            ["UBND TỈNH KHÁNH HÒA"],
            ["DANH SÁCH HỒ SƠ"],
            ["Từ ngày 01/03/2024 đến ngày 31/03/2024"],
            [],
            headings,
            row,
            [],
            [None, None, "Nguyễn Văn An"],
        ],
        merge=["A1:N1", "A2:N2"],
    )
    read = read_sheet(path)
    assert (read.where, read.sheet, read.heading_row, read.rows) == ("ds.xlsx", "Hồ sơ", 5, 1)
    assert read.columns == {
        "dossier_id": "MA HO SO (*)",
        "procedure_code": "Mã TTHC",
        "received_at": "Ngay tiep nhan:",
        "due_at": "Ngày hẹn trả",
        "resolved_at": "NGÀY CÓ KẾT QUẢ",
        "returned_at": "Ngày trả kết quả",
        "channel": "Hình thức nộp",
        "status": "Trạng thái",
    }
    assert read.ignored == ["STT", "Người nộp", "Số CCCD", "Điện thoại", "Địa chỉ", "Ghi chú"]
    assert only(read) == Snapshot(
        dossier_id="000.00.12.H56-240311-48213",
        where="ds.xlsx [Hồ sơ] dòng 6",
        procedure_code="1.001612",
        received_at=1_710_120_615_000,  # 2024-03-11 08:30:15 +07 = 01:30:15Z
        due_at=1_710_435_600_000,  # 2024-03-15 00:00 +07 (a date alone)
        resolved_at=1_710_383_400_000,  # 2024-03-14 09:30 +07
        returned_at=1_710_234_000_000,  # 2024-03-12 16:00 +07
        channel="ONLINE",
        status=10,
    )
    text = repr(read)
    for value in PERSONAL:
        assert value not in text


def test_unit_columns_and_levels(tmp_path):
    path = csv_file(
        tmp_path,
        "Mã hồ sơ,Mã đơn vị,Cấp thực hiện,Mã lĩnh vực,Ngày hẹn trả\n"
        "A1,000.21.30.H56,Cấp xã,G09-TP03,15/03/2024\n"
        "A2,000.00.12.H56,2,,15/03/2024\n"
        "A3,,,,15/03/2024\n"
        "A4,000.00.12.H56,Phòng,,15/03/2024\n",
    )
    a1, a2, a3, a4 = read_sheet(path).records
    assert (a1.unit_code, a1.unit_from, a1.unit_level, a1.field_code) == (
        "000.21.30.H56",
        "column",
        "COMMUNE",
        "G09-TP03",
    )
    assert (a2.unit_code, a2.unit_from, a2.unit_level, a2.field_code) == (
        "000.00.12.H56",
        "column",
        "PROVINCE",
        None,
    )
    assert (a3.unit_code, a3.unit_from, a3.unit_level) == (None, "", None)
    assert isinstance(a4, Problem)
    assert (a4.code, a4.where) == ("BAD_LEVEL", "ds.csv dòng 5")
    assert "“Cấp thực hiện”" in a4.reason


# -- labels and flags --------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell, channel",
    [
        ("Trực tuyến", "ONLINE"),
        ("Trực tiếp", "DIRECT"),
        ("Bưu chính", "POSTAL"),
        ("Bưu chính công ích", "POSTAL"),
        ("BCCI", "POSTAL"),
        ("truc tuyen", "ONLINE"),
        ("TRỰC TIẾP", "DIRECT"),
        ("1", "DIRECT"),
        ("2", "ONLINE"),
        ("3", "POSTAL"),
        ("", None),
    ],
)
def test_channel_labels(tmp_path, cell, channel):
    assert only_record(col(tmp_path, "Hình thức nộp", [cell])).channel == channel


def only_record(records):
    assert len(records) == 1, records
    assert isinstance(records[0], Snapshot), records[0]
    return records[0]


def test_unknown_channel_is_a_problem(tmp_path):
    problem = col(tmp_path, "Hình thức nộp", ["Qua mạng"])[0]
    assert (problem.code, problem.where) == ("BAD_CHANNEL", "ds.csv dòng 2")
    assert "Qua mạng" not in problem.reason and "“Hình thức nộp”" in problem.reason


@pytest.mark.parametrize(
    "cell, status",
    [
        ("Mới đăng ký", 1),
        ("Được tiếp nhận", 2),
        ("Không được tiếp nhận", 3),
        ("Đang xử lý", 4),
        ("Yêu cầu bổ sung giấy tờ", 5),
        ("Yêu cầu bổ sung", 5),
        ("Yêu cầu thực hiện nghĩa vụ tài chính", 6),
        ("Công dân yêu cầu rút hồ sơ", 7),
        ("Rút hồ sơ", 7),
        ("Dừng xử lý", 8),
        ("Đã xử lý xong", 9),
        ("Đã trả kết quả", 10),
        ("da tra ket qua", 10),
        ("4", 4),
        ("10", 10),
        ("", None),
        ("Mới", 1),
        ("Đã tiếp nhận", 2),
        ("Từ chối tiếp nhận", 3),
        ("Chờ bổ sung", 5),
        ("Tạm dừng xử lý", 8),
    ],
)
def test_status_labels(tmp_path, cell, status):
    assert only_record(col(tmp_path, "Trạng thái", [cell])).status == status


@pytest.mark.parametrize("cell", ["Hoàn thành", "11", "0"])
def test_unknown_status_is_a_problem(tmp_path, cell):
    problem = col(tmp_path, "Trạng thái", [cell])[0]
    assert (problem.code, problem.where) == ("BAD_STATUS", "ds.csv dòng 2")


@pytest.mark.parametrize(
    "cell, payment, flag, digitisation",
    [
        ("Có", "ONLINE_LOCAL", True, Digitisation(1, 1)),
        ("x", "ONLINE_LOCAL", True, Digitisation(1, 1)),
        ("1", "ONLINE_LOCAL", True, Digitisation(1, 1)),
        ("TRUE", "ONLINE_LOCAL", True, Digitisation(1, 1)),
        ("Không", "NONE", False, Digitisation(1, 0)),
        ("khong", "NONE", False, Digitisation(1, 0)),
        ("0", "NONE", False, Digitisation(1, 0)),
        ("False", "NONE", False, Digitisation(1, 0)),
        ("", None, None, None),
    ],
)
def test_yes_no_flags(tmp_path, cell, payment, flag, digitisation):
    path = csv_file(
        tmp_path,
        "Mã hồ sơ,Ngày tiếp nhận,Thanh toán trực tuyến,Kết quả điện tử,Số hoá\n"
        f"A1,11/03/2024,{cell},{cell},{cell}\n",
    )
    snap = only(read_sheet(path))
    assert (snap.payment, snap.electronic_result, snap.digitisation) == (payment, flag, digitisation)


def test_bad_flag_is_a_problem(tmp_path):
    problem = col(tmp_path, "Kết quả điện tử", ["Đã ký"])[0]
    assert (problem.code, problem.where) == ("BAD_FLAG", "ds.csv dòng 2")


def test_excel_boolean_cells(tmp_path):
    path = xlsx(
        tmp_path,
        [["Mã hồ sơ", "Ngày tiếp nhận", "Kết quả điện tử", "Số hóa"], ["A1", "11/03/2024", True, False]],
    )
    snap = only(read_sheet(path))
    assert (snap.electronic_result, snap.digitisation) == (True, Digitisation(1, 0))


def test_status_3_takes_the_result_date_as_rejection(tmp_path):
    path = csv_file(
        tmp_path,
        "Mã hồ sơ;Ngày tiếp nhận;Ngày có kết quả;Trạng thái\n"
        "A1;11/03/2024;12/03/2024 10:00;Không được tiếp nhận\n"
        "A2;11/03/2024;12/03/2024 10:00;Đã xử lý xong\n",
    )
    a1, a2 = read_sheet(path).records
    assert (a1.status, a1.rejected_at, a1.resolved_at) == (3, MAR11 + DAY + 3 * H, None)  # 10:00 +07 = 03:00Z
    assert (a2.status, a2.rejected_at, a2.resolved_at) == (9, None, MAR11 + DAY + 3 * H)


def test_status_3_with_its_own_rejection_date_keeps_both(tmp_path):
    path = csv_file(
        tmp_path, "Mã hồ sơ;Ngày từ chối;Ngày có kết quả;Trạng thái\nA1;11/03/2024 08:00;12/03/2024 10:00;3\n"
    )
    snap = only(read_sheet(path))
    assert (snap.rejected_at, snap.resolved_at) == (MAR11 + H, MAR11 + DAY + 3 * H)


# -- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("11/03/2024", MAR11_LOCAL),
        ("11/03/2024 08:30", MAR11 + H + 30 * 60_000),
        ("11/03/2024 08:30:15", MAR11 + H + 30 * 60_000 + 15_000),
        ("1/3/2024", MAR11_LOCAL - 10 * DAY),
        ("11-03-2024 08:30", MAR11 + H + 30 * 60_000),
        ("11.03.2024", MAR11_LOCAL),
        ("2024-03-11", MAR11_LOCAL),
        ("2024-03-11 08:30:15", MAR11 + H + 30 * 60_000 + 15_000),
        ("2024-03-11T08:30:15", MAR11 + H + 30 * 60_000 + 15_000),
        ("2024-03-11T01:30:15Z", MAR11 + H + 30 * 60_000 + 15_000),
        ("08:30 11/03/2024", MAR11 + H + 30 * 60_000),
        ("20240311083015", MAR11 + H + 30 * 60_000 + 15_000),
        ("11/03/2024 00:00", MAR11_LOCAL),
        ("12/03/2024 06:59:59", MAR11 - 1000 + DAY),  # 2024-03-11T23:59:59Z
    ],
)
def test_text_dates(tmp_path, cell, expected):
    assert only_record(col(tmp_path, "Ngày hẹn trả", [cell])).due_at == expected


def test_excel_date_cells_and_serials(tmp_path):
    path = xlsx(
        tmp_path,
        [
            ["Mã hồ sơ", "Ngày tiếp nhận", "Ngày hẹn trả"],
            ["A1", datetime(2024, 3, 11, 8, 30, 15), datetime(2024, 3, 15)],
            ["A2", 45362.5, 45366],
        ],
    )  # numbers without a date format: Excel serials
    a1, a2 = read_sheet(path).records
    assert (a1.received_at, a1.due_at) == (MAR11 + H + 30 * 60_000 + 15_000, MAR11_LOCAL + 4 * DAY)
    assert (a2.received_at, a2.due_at) == (MAR11 + 5 * H, MAR11_LOCAL + 4 * DAY)  # 12:00 +07 = 05:00Z


@pytest.mark.parametrize(
    "cell", ["31/02/2025", "2025-13-01", "không rõ", "11/03/2024 25:00", "01/01/1899", "45"]
)
def test_impossible_dates_are_problems(tmp_path, cell):
    path = xlsx(tmp_path, [["DANH SÁCH"], ["Mã hồ sơ", "Ngày hẹn trả"], ["A1", cell]])
    problem = only(read_sheet(path))
    assert isinstance(problem, Problem)
    assert (problem.code, problem.where) == ("BAD_DATE", "ds.xlsx [Hồ sơ] dòng 3")
    assert "“Ngày hẹn trả”" in problem.reason
    if cell == "không rõ":
        assert cell not in problem.reason  # free text is described, never shown
    assert orjson.loads(problem.raw) == {"dòng": 3, "Mã hồ sơ": "A1", "Ngày hẹn trả": cell}


# -- rows without a code, footers, codes that are not codes -------------------------------


def test_rows_without_a_code(tmp_path):
    path = xlsx(
        tmp_path,
        [
            ["Mã hồ sơ", "Người nộp", "Ngày tiếp nhận"],
            ["A1", "Nguyễn Văn An", "11/03/2024"],
            [None, None, None],
            [None, "Nguyễn Văn An", None],  # only an unmapped cell: skipped
            ["   ", "Nguyễn Văn An", "12/03/2024"],  # a date but no code
            ["Tổng cộng: 2", None, None],  # footers
            ["Tổng số hồ sơ", None, 2],
            ["Người lập biểu"],  # a code-like text with a space: not a footer, a bad code
        ],
    )
    read = read_sheet(path)
    assert read.rows == 3
    a1, no_code, signature = read.records
    assert a1.dossier_id == "A1"
    assert (no_code.code, no_code.where) == ("NO_DOSSIER_CODE", "ds.xlsx [Hồ sơ] dòng 5")
    assert orjson.loads(no_code.raw) == {"dòng": 5, "Mã hồ sơ": "", "Ngày tiếp nhận": "12/03/2024"}
    assert (signature.code, signature.where) == ("BAD_CODE", "ds.xlsx [Hồ sơ] dòng 8")
    assert "Nguyễn Văn An" not in repr(read)


def test_personal_value_in_a_code_column(tmp_path):
    path = csv_file(tmp_path, "Mã hồ sơ;Ngày tiếp nhận;Mã đơn vị\n0912345678;11/03/2024;079203001234\n")
    problem = only(read_sheet(path))
    assert (problem.code, problem.where) == ("PERSONAL_DATA", "ds.csv dòng 2")
    assert "0912345678" not in repr(problem) and "079203001234" not in repr(problem)
    assert orjson.loads(problem.raw) == {
        "dòng": 2,
        "Mã hồ sơ": "(không hiển thị)",
        "Ngày tiếp nhận": "11/03/2024",
        "Mã đơn vị": "(không hiển thị)",
    }


def test_several_faults_make_one_problem(tmp_path):
    path = csv_file(tmp_path, "Mã hồ sơ;Ngày tiếp nhận;Hình thức nộp\n;31/02/2025;Qua mạng\n")
    problem = only(read_sheet(path))
    assert problem.code == "NO_DOSSIER_CODE"
    parts = problem.reason.split("; ")
    assert [p[:24] for p in parts] == [
        "thiếu mã hồ sơ (cột “Mã ",
        "cột “Ngày tiếp nhận”: (m",
        "cột “Hình thức nộp”: hìn",
    ]
    assert "Qua mạng" not in problem.reason


def test_procedure_code_typed_as_a_number(tmp_path):
    path = xlsx(
        tmp_path,
        [
            ["Mã hồ sơ", "Mã thủ tục", "Ngày tiếp nhận"],
            ["A1", 1.00161, "11/03/2024"],
            [20240311001, "2.002492", "11/03/2024"],
        ],
    )
    a1, a2 = read_sheet(path).records
    assert a1.procedure_code == "1.001610"
    assert (a2.dossier_id, a2.procedure_code) == ("20240311001", "2.002492")


# -- headings ----------------------------------------------------------------------------


def test_heading_in_two_rows(tmp_path):
    path = xlsx(
        tmp_path,
        [
            ["DANH SÁCH HỒ SƠ"],
            ["STT", "Mã hồ sơ", "Ngày", None, None, "Trạng thái"],
            [None, None, "Tiếp nhận", "Hẹn trả", "Có kết quả", None],
            [1, "A1", "11/03/2024", "15/03/2024", None, "Đang xử lý"],
        ],
        merge=["A1:F1", "C2:E2"],
    )
    read = read_sheet(path)
    assert read.heading_row == 3
    assert read.columns == {
        "dossier_id": "Mã hồ sơ",
        "received_at": "Ngày Tiếp nhận",
        "due_at": "Ngày Hẹn trả",
        "resolved_at": "Ngày Có kết quả",
        "status": "Trạng thái",
    }
    snap = only(read)
    assert (snap.where, snap.received_at, snap.due_at, snap.status) == (
        "ds.xlsx [Hồ sơ] dòng 4",
        MAR11_LOCAL,
        MAR11_LOCAL + 4 * DAY,
        4,
    )


def test_an_ignored_heading_that_looks_personal_is_not_listed(tmp_path):
    path = csv_file(tmp_path, "Mã hồ sơ,Ngày tiếp nhận,0912345678,Ghi chú\nA1,11/03/2024,x,y\n")
    assert read_sheet(path).ignored == ["(cột 3)", "Ghi chú"]


def test_earlier_listed_heading_wins(tmp_path):
    path = csv_file(tmp_path, "Mã hồ sơ,Ngày hoàn thành,Ngày có kết quả\nA1,11/03/2024,12/03/2024\n")
    read = read_sheet(path)
    assert read.columns["resolved_at"] == "Ngày có kết quả"
    assert read.ignored == ["Ngày hoàn thành"]
    assert only(read).resolved_at == MAR11_LOCAL + DAY


def test_csv_semicolon_with_bom_and_a_title_with_commas(tmp_path):
    text = (
        "SỞ TƯ PHÁP, TỈNH KHÁNH HÒA\r\n\r\n"
        "STT;Mã hồ sơ;Họ tên;Ngày tiếp nhận;Ghi chú\r\n"
        '1;A1;Nguyễn Văn An;11/03/2024 08:30;"gọi 0912345678; hẹn mai"\r\n'
    )
    read = read_sheet(csv_file(tmp_path, text, encoding="utf-8-sig"))
    assert (read.sheet, read.heading_row, read.rows) == (None, 3, 1)
    assert only(read) == Snapshot(dossier_id="A1", where="ds.csv dòng 4", received_at=MAR11 + H + 30 * 60_000)
    for value in PERSONAL:
        assert value not in repr(read)


def test_csv_utf16_and_tab(tmp_path):
    text = "Mã hồ sơ\tNgày tiếp nhận\nA1\t11/03/2024\n"
    for encoding in ("utf-16", "utf-16-le"):
        assert only(read_sheet(csv_file(tmp_path, text, encoding=encoding))).received_at == MAR11_LOCAL


def cp1258(text: str) -> bytes:
    """Windows-1258 bytes: tone marks as combining characters, the rest precomposed."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = b""
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            nfd = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in tones))
            out += (base + "".join(c for c in nfd if c in tones)).encode("cp1258")
    return out


def test_csv_windows_1258(tmp_path):
    path = tmp_path / "ds.csv"
    path.write_bytes(cp1258("Mã hồ sơ,Ngày hẹn trả,Hình thức nộp\nA1,15/03/2024,Bưu chính công ích\n"))
    read = read_sheet(path)
    assert read.columns == {"dossier_id": "Mã hồ sơ", "due_at": "Ngày hẹn trả", "channel": "Hình thức nộp"}
    assert (only(read).due_at, only(read).channel) == (MAR11_LOCAL + 4 * DAY, "POSTAL")


# -- mapping files -----------------------------------------------------------------------


MAPPING_YAML = """\
sheet: Dữ liệu
headings:
  dossier_id: [Số hồ sơ]
  received_at: [Ngày nhận]
  channel: Kênh
values:
  channel: {"Qua mạng": ONLINE, "Tại quầy": 1}
  status: {"Hoàn thành": 9}
  electronic_result: {"Đã ký số": true}
"""


def test_mapping_file(tmp_path):
    (tmp_path / "map.yaml").write_text(MAPPING_YAML, encoding="utf-8")
    mapping = SheetMapping.load(tmp_path / "map.yaml")
    assert mapping.sheet == "Dữ liệu"
    assert mapping.values["channel"] == {"quamang": "ONLINE", "taiquay": "DIRECT"}
    path = xlsx(
        tmp_path,
        [
            ["Mã hồ sơ", "Số hồ sơ", "Ngày nhận", "Kênh", "Trạng thái", "Kết quả điện tử"],
            ["X-1", "A1", "11/03/2024", "Qua mạng", "Hoàn thành", "Đã ký số"],
            ["X-2", "A2", "11/03/2024", "Tại quầy", "Đã trả kết quả", "Không"],
        ],
        title="Dữ liệu",
        before=[("Bìa", [["BÁO CÁO"]]), ("Khác", [["Mã hồ sơ", "Ngày tiếp nhận"], ["Z", ""]])],
    )
    read = read_sheet(path, mapping)
    assert read.sheet == "Dữ liệu"
    assert read.columns["dossier_id"] == "Số hồ sơ" and read.ignored == ["Mã hồ sơ"]
    a1, a2 = read.records
    assert (a1.dossier_id, a1.received_at, a1.channel, a1.status, a1.electronic_result) == (
        "A1",
        MAR11_LOCAL,
        "ONLINE",
        9,
        True,
    )
    assert (a2.dossier_id, a2.channel, a2.status, a2.electronic_result) == ("A2", "DIRECT", 10, False)
    # without the mapping the first sheet with headings is read
    assert read_sheet(path).sheet == "Khác"


@pytest.mark.parametrize(
    "text, words",
    [
        ("headings: {dossier_id: [Họ tên người nộp]}", "dữ liệu cá nhân"),
        ("headings: {unit_code: [Địa chỉ]}", "dữ liệu cá nhân"),
        ("headings: {received_at: [Email liên hệ]}", "dữ liệu cá nhân"),
        ("headings: {owner: [Chủ hồ sơ]}", "không có"),
        ("headings: {dossier_id: [Số hồ sơ], due_at: [Số hồ sơ]}", "cả dossier_id và due_at"),
        ("values: {status: {Xong: 11}}", "không phải giá trị hợp lệ"),
        ("values: {channel: {Mạng: INTERNET}}", "không phải giá trị hợp lệ"),
        ("values: {received_at: {Hôm nay: 1}}", "không dùng được"),
        ("colums: {}", "khóa"),
        ("- a\n- b", "cần một bảng"),
        ("headings: [", "không phải YAML"),
    ],
)
def test_bad_mapping_files(tmp_path, text, words):
    (tmp_path / "map.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SheetError, match=words):
        SheetMapping.load(tmp_path / "map.yaml")


def test_mapping_sheet_not_in_workbook(tmp_path):
    path = xlsx(tmp_path, [["Mã hồ sơ", "Ngày tiếp nhận"]])
    with pytest.raises(SheetError, match="không có trang tính “Dữ liệu”"):
        read_sheet(path, SheetMapping(sheet="Dữ liệu"))


# -- files that cannot be read -----------------------------------------------------------


def test_no_heading_row_names_the_headings(tmp_path):
    path = xlsx(tmp_path, [["DANH SÁCH"], ["Mã hồ sơ", "Người nộp"], ["A1", "Nguyễn Văn An"]])
    with pytest.raises(SheetError) as err:
        read_sheet(path)
    message = str(err.value)
    assert "“Mã hồ sơ”" in message and "“Ngày tiếp nhận”" in message and "“Ngày hẹn trả”" in message
    assert "Nguyễn Văn An" not in message


def test_heading_below_row_30_is_not_found(tmp_path):
    rows = [[f"dòng {i}"] for i in range(1, 31)] + [["Mã hồ sơ", "Ngày tiếp nhận"], ["A1", "11/03/2024"]]
    with pytest.raises(SheetError, match="30 dòng đầu"):
        read_sheet(xlsx(tmp_path, rows))
    assert read_sheet(xlsx(tmp_path, rows[1:])).heading_row == 30


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("ds.xls", b"\xd0\xcf\x11\xe0", ".xls"),
        ("ds.pdf", b"%PDF-1.4", "chỉ đọc được"),
        ("ds.xlsx", b"not a zip", "không đọc được tệp Excel"),
        ("ds.csv", b"", "tệp rỗng"),
        ("ds.csv", b"\x81\x8d\x8f\x90", "bảng mã"),
    ],
)
def test_unreadable_files(tmp_path, name, data, words):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(SheetError, match=words):
        read_sheet(tmp_path / name)


def test_missing_file(tmp_path):
    with pytest.raises(SheetError, match="không đọc được tệp"):
        read_sheet(tmp_path / "none.csv")


# -- any cell text -----------------------------------------------------------------------

HEADINGS = [
    "Mã hồ sơ",
    "Người nộp",
    "Mã đơn vị",
    "Cấp",
    "Mã TTHC",
    "Mã lĩnh vực",
    "Hình thức nộp",
    "Ngày tiếp nhận",
    "Ngày hẹn trả",
    "Ngày có kết quả",
    "Ngày trả kết quả",
    "Ngày từ chối",
    "Trạng thái",
    "Thanh toán trực tuyến",
    "Kết quả điện tử",
    "Số hóa",
]
MARK = "Nguyễn Văn An 0912345678"

xlsx_text = st.text(max_size=40).filter(lambda s: not ILLEGAL_CHARACTERS_RE.search(s))
xlsx_cell = st.one_of(
    st.none(),
    xlsx_text,
    st.integers(-(10**15), 10**15),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 1, 1)),
    st.sampled_from(["Trực tuyến", "Có", "11/03/2024", "31/02/2025", "3", "Cấp xã", "A-1"]),
)


def check_any(read: SheetRead) -> None:
    assert read.rows == len(read.records) <= 1
    for rec in read.records:
        assert isinstance(rec, (Snapshot, Problem))
        if isinstance(rec, Problem):
            assert rec.code in {
                "NO_DOSSIER_CODE",
                "BAD_DATE",
                "BAD_LEVEL",
                "BAD_CHANNEL",
                "BAD_STATUS",
                "BAD_FLAG",
                "BAD_CODE",
                "PERSONAL_DATA",
            }
            assert rec.where.endswith("dòng 2")
    assert MARK not in repr(read)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(xlsx_cell, min_size=len(HEADINGS) - 1, max_size=len(HEADINGS) - 1))
def test_any_xlsx_cell_gives_a_record(tmp_path, cells):
    path = xlsx(tmp_path, [HEADINGS, [cells[0], MARK, *cells[1:]]])
    check_any(read_sheet(path))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=40), min_size=len(HEADINGS) - 1, max_size=len(HEADINGS) - 1))
def test_any_csv_text_gives_a_record(tmp_path, cells):
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";")
    writer.writerow(HEADINGS)
    writer.writerow([cells[0], MARK, *cells[1:]])
    check_any(read_sheet(csv_file(tmp_path, buf.getvalue())))
