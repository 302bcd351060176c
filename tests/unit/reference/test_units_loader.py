"""Reading a province's unit catalogue (reference/units_loader.py): DVCQG JSON in its
wrappers, JSON Lines, CSV with and without diacritics, XLSX, bad rows by position."""

from __future__ import annotations

import gzip
from datetime import date, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from motcua.reference.units_loader import (
    CAPDONVI_LEVELS,
    UnitsFileError,
    parse_day,
    parse_level,
    parse_units,
    qcvn_parent,
    qcvn_parts,
)

DVCQG_ITEMS = [
    {"MADONVI": "000.00.00.H56", "TENDONVI": "UBND tỉnh Khánh Hòa", "CAPDONVI": "2"},
    {"MADONVI": "000.00.12.H56", "TENDONVI": "Sở Tư pháp", "CAPDONVI": 2},
    {"MADONVI": "000.00.30.H56", "TENDONVI": "UBND huyện Cam Lâm", "CAPDONVI": "3"},
    {
        "MADONVI": "000.21.30.H56",
        "TENDONVI": "UBND xã Cam Hải Đông",
        "CAPDONVI": "4",
        "MADONVICHA": "000.00.30.H56",
        "SODIENTHOAI": "0258 000 000",
        "EMAIL": "x@example.org",
    },
]


def by_code(result):
    return {u.code: u for u in result.units}


@pytest.mark.parametrize(
    "wrap",
    [
        lambda items: {"error_code": 0, "message": "", "result": items},
        lambda items: {"data": items},
        lambda items: items,
    ],
    ids=["result", "data", "array"],
)
def test_dvcqg_json_in_every_wrapper(wrap):
    data = orjson.dumps(wrap(DVCQG_ITEMS))
    out = parse_units(data, "coquan.json", province="56")
    assert out.problems == [] and out.rows == 4
    units = by_code(out)
    assert set(units) == {i["MADONVI"] for i in DVCQG_ITEMS}
    assert [units[i["MADONVI"]].level for i in DVCQG_ITEMS] == [
        CAPDONVI_LEVELS[str(i["CAPDONVI"])] for i in DVCQG_ITEMS
    ]
    assert units["000.00.12.H56"].name == "Sở Tư pháp"
    # parent given, else the one the QCVN code implies
    assert units["000.21.30.H56"].parent == "000.00.30.H56"
    assert units["000.00.12.H56"].parent == "000.00.00.H56"
    assert units["000.00.00.H56"].parent is None
    assert {u.province_code for u in out.units} == {"56"}


def test_other_columns_are_not_kept():
    out = parse_units(orjson.dumps({"result": DVCQG_ITEMS}), "coquan.json", province="56")
    kept = {str(v) for u in out.units for v in vars(u).values()}
    assert not any("example.org" in v or "0258" in v for v in kept)


def test_json_lines_with_a_bad_line_and_gzip():
    lines = [orjson.dumps(i).decode() for i in DVCQG_ITEMS[:2]] + [
        "{not json",
        "",
        orjson.dumps(DVCQG_ITEMS[2]).decode(),
    ]
    data = gzip.compress("\n".join(lines).encode())
    out = parse_units(data, "coquan.jsonl.gz", province="56")
    assert set(by_code(out)) == {"000.00.00.H56", "000.00.12.H56", "000.00.30.H56"}
    assert [(p.where, p.reason) for p in out.problems] == [("dòng 3", "không phải JSON hợp lệ")]


def test_service_error_answer_is_unreadable():
    with pytest.raises(UnitsFileError, match="error_code 5"):
        parse_units(orjson.dumps({"error_code": 5, "message": "Sai session"}), "coquan.json")


CSV_DIACRITICS = """DANH MỤC CƠ QUAN, ĐƠN VỊ
Mã đơn vị;Tên đơn vị;Cấp;Đơn vị cha;Hiệu lực từ;Hiệu lực đến;Đơn vị kế thừa;Mã tỉnh;Ghi chú
000.00.00.H19;UBND tỉnh Đồng Nai;Cấp tỉnh;;;;;75;
000.00.12.H19;Sở Tư pháp tỉnh Đồng Nai;Sở;;01/03/2025;;;75;mới
000.00.40.H19;UBND huyện Trảng Bom;Cấp huyện;;;30/06/2025;000.31.40.H19;75;
000.31.40.H19;UBND xã Trảng Bom;Cấp xã;;2025-07-01;;;75;
H75.TW.THUE;Thuế tỉnh Đồng Nai;Ngành dọc;;;;;75;
"""

CSV_PLAIN = """MA DON VI,TEN DON VI,CAP,MA DON VI CHA,HIEU LUC TU,HIEU LUC DEN,DON VI KE THUA
000.00.00.H19,UBND tỉnh Đồng Nai,PROVINCE,,,,
000.00.12.H19,Sở Tư pháp tỉnh Đồng Nai,province,,1/3/2025,,
000.00.40.H19,UBND huyện Trảng Bom,DISTRICT,,,2025-06-30,000.31.40.H19
000.31.40.H19,UBND xã Trảng Bom,commune,000.00.40.H19,01/07/2025,,
H75.TW.THUE,Thuế tỉnh Đồng Nai,CENTRAL_BRANCH,,,,
"""


@pytest.mark.parametrize(
    "text, province", [(CSV_DIACRITICS, None), (CSV_PLAIN, "Đồng Nai")], ids=["diacritics", "plain"]
)
def test_csv_with_and_without_diacritics_give_the_same_units(text, province):
    out = parse_units(text.encode("utf-8-sig"), "donvi.csv", province=province)
    assert out.problems == []
    units = by_code(out)
    assert units["000.00.00.H19"].level == "PROVINCE"
    assert units["000.00.12.H19"].valid_from == date(2025, 3, 1)
    assert units["000.00.40.H19"].level == "DISTRICT"
    assert units["000.00.40.H19"].valid_to == date(2025, 6, 30)
    assert units["000.00.40.H19"].successor == "000.31.40.H19"
    assert units["000.31.40.H19"].level == "COMMUNE" and units["000.31.40.H19"].parent == "000.00.40.H19"
    assert units["000.31.40.H19"].valid_from == date(2025, 7, 1)
    assert units["H75.TW.THUE"].level == "CENTRAL_BRANCH"
    assert {u.province_code for u in out.units} == {"75"}


def test_bad_rows_are_reported_by_line_and_reason_and_good_rows_kept():
    text = (
        "Mã đơn vị,Tên đơn vị,Cấp,Hiệu lực từ,Hiệu lực đến\n"
        "000.00.12.H19,Sở Tư pháp,Sở,,\n"
        ",Không có mã,Sở,,\n"
        "000.00.13.H19,,Sở,,\n"
        "000.00.14.H19,Sở Xây dựng,Cấp gì đó,31/02/2025,\n"
        "000.00.15.H19,Sở Y tế,Sở,01/07/2025,30/06/2025\n"
        "000.00.12.H19,Sở Tư pháp (lần hai),Sở,,\n"
        "mã có dấu cách,Đơn vị lạ,Sở,,\n"
        "\n"
        "000.00.16.H19,Sở Nội vụ,Sở,,\n"
    )
    out = parse_units(text.encode(), "donvi.csv", province="75")
    assert set(by_code(out)) == {"000.00.12.H19", "000.00.16.H19"}
    reasons = {p.where: p.reason for p in out.problems}
    assert set(reasons) == {"dòng 3", "dòng 4", "dòng 5", "dòng 6", "dòng 7", "dòng 8"}
    assert reasons["dòng 3"] == "thiếu mã đơn vị"
    assert reasons["dòng 4"] == "thiếu tên đơn vị"
    assert (
        "cấp 'Cấp gì đó' không nhận ra" in reasons["dòng 5"]
        and "'31/02/2025' không phải ngày" in reasons["dòng 5"]
    )
    assert "trước hiệu lực từ" in reasons["dòng 6"]
    assert reasons["dòng 7"] == "mã đơn vị 000.00.12.H19 trùng với dòng 2"
    assert "không hợp lệ" in reasons["dòng 8"]
    assert out.rows == 8  # the empty line is not a row


def test_a_level_that_cannot_be_inferred_is_refused():
    # a level-3 code without Cấp whose parent is not in the file
    out = parse_units("Mã đơn vị,Tên đơn vị\n000.21.30.H56,Phòng Tư pháp\n".encode(), "x.csv", province="56")
    assert out.units == [] and "không xác định được cấp" in out.problems[0].reason


def test_level_inferred_from_name_code_and_parent():
    text = (
        "Mã đơn vị,Tên đơn vị\n"
        "000.00.00.H56,UBND tỉnh Khánh Hòa\n"
        "000.00.12.H56,Sở Tư pháp\n"
        "000.00.30.H56,UBND huyện Cam Lâm\n"
        "000.21.30.H56,UBND xã Cam Hải Đông\n"
        "000.22.30.H56,Phòng Tư pháp huyện Cam Lâm\n"
        "000.00.04.G12,Cục Thuế\n"
    )
    units = by_code(parse_units(text.encode(), "x.csv", province="56"))
    assert {c: u.level for c, u in units.items()} == {
        "000.00.00.H56": "PROVINCE",
        "000.00.12.H56": "PROVINCE",
        "000.00.30.H56": "DISTRICT",
        "000.21.30.H56": "COMMUNE",
        "000.22.30.H56": "DISTRICT",
        "000.00.04.G12": "CENTRAL_BRANCH",
    }


def test_province_comes_from_the_parent_else_is_listed_as_unknown():
    text = (
        "Mã đơn vị,Tên đơn vị,Cấp,Mã tỉnh\n"
        "000.00.00.H56,UBND tỉnh Khánh Hòa,Cấp tỉnh,56\n"
        "000.00.12.H56,Sở Tư pháp,Sở,\n"
        "000.00.00.H99,UBND tỉnh nào đó,Cấp tỉnh,\n"
    )
    out = parse_units(text.encode(), "x.csv")
    units = by_code(out)
    assert units["000.00.12.H56"].province_code == "56"
    assert units["000.00.00.H99"].province_code == "" and out.without_province == ["000.00.00.H99"]


def test_unknown_province_code_in_a_row_is_refused():
    out = parse_units("Mã đơn vị,Tên đơn vị,Cấp,Mã tỉnh\nX1,Sở A,Sở,99\n".encode(), "x.csv")
    assert out.units == [] and "mã tỉnh '99'" in out.problems[0].reason


def test_xlsx_with_vietnamese_headings_and_a_title_row(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Đơn vị"
    ws.append(["DANH MỤC CƠ QUAN, ĐƠN VỊ TỈNH KHÁNH HÒA"])
    ws.append([])
    ws.append(["STT", "Mã định danh", "Tên cơ quan", "Cấp", "Hiệu lực từ", "Hiệu lực đến", "Đơn vị kế thừa"])
    ws.append([1, "000.00.00.H56", "UBND tỉnh Khánh Hòa", "Cấp tỉnh", None, None, None])
    ws.append(
        [2, "000.00.30.H56", "UBND huyện Cam Lâm", "Cấp huyện", None, datetime(2025, 6, 30), "000.21.30.H56"]
    )
    ws.append([3, "000.21.30.H56", "UBND xã Cam Hải Đông", "Cấp xã", "01/07/2025", None, None])
    ws.append([4, "000.22.30.H56", None, "Cấp xã", None, None, None])
    path = tmp_path / "donvi.xlsx"
    wb.save(path)
    out = parse_units(path.read_bytes(), path.name, province="Khánh Hòa")
    units = by_code(out)
    assert set(units) == {"000.00.00.H56", "000.00.30.H56", "000.21.30.H56"}
    assert (
        units["000.00.30.H56"].valid_to == date(2025, 6, 30)
        and units["000.00.30.H56"].successor == "000.21.30.H56"
    )
    assert units["000.21.30.H56"].valid_from == date(2025, 7, 1)
    assert [(p.where, p.reason) for p in out.problems] == [
        ("trang tính 'Đơn vị', dòng 7", "thiếu tên đơn vị")
    ]


@pytest.mark.parametrize(
    "data, name, message",
    [
        (b"Ten,Ghi chu\nA,B\n", "x.csv", "không tìm thấy dòng tiêu đề"),
        ("Mã đơn vị,Tên đơn vị\nX,Tên\n".encode("utf-16"), "x.csv", "không mã hóa UTF-8"),
        (b"PK\x03\x04broken", "x.xlsx", "không đọc được tệp Excel"),
        (b'{"foo": 1}', "x.json", "không có danh sách đơn vị"),
        (b"\x1f\x8b\x08broken", "x.json.gz", "gzip bị hỏng"),
    ],
)
def test_unreadable_files(data, name, message):
    with pytest.raises(UnitsFileError, match=message):
        parse_units(data, name)


def test_unknown_province_option_is_unreadable():
    with pytest.raises(UnitsFileError, match="không có trong danh mục"):
        parse_units(b"Ma don vi,Ten don vi\nX,Y\n", "x.csv", province="Atlantis")


LEVEL_SPELLINGS = {
    "PROVINCE": ["Cấp tỉnh", "cap tinh", "Sở", "SO", "Tỉnh", "PROVINCE", "2"],
    "DISTRICT": ["Cấp huyện", "CAP HUYEN", "Huyện", "district", "3"],
    "COMMUNE": ["Cấp xã", "cap xa", "Phường", "Xã", "commune", "4"],
    "CENTRAL_BRANCH": ["Ngành dọc", "Ngành dọc TW", "nganh doc", "Trung ương", "CENTRAL_BRANCH", "1"],
}


@given(
    st.sampled_from([(lvl, s) for lvl, ss in LEVEL_SPELLINGS.items() for s in ss]),
    st.sampled_from([str.lower, str.upper, str.title, lambda s: s]),
    st.sampled_from(["", " ", "  "]),
)
def test_level_spellings_in_any_case_and_padding(case, transform, pad):
    level, spelling = case
    assert parse_level(pad + transform(spelling) + pad) == level


@given(st.dates(date(1990, 1, 1), date(2100, 12, 31)))
def test_day_formats_agree(day):
    assert parse_day(f"{day:%d/%m/%Y}") == parse_day(day.isoformat()) == parse_day(f"{day:%Y%m%d}") == day
    assert parse_day(f"{day.day}/{day.month}/{day.year}") == day
    assert parse_day(datetime(day.year, day.month, day.day, 8)) == day


@given(st.integers(1, 999), st.integers(1, 99), st.integers(1, 99), st.sampled_from("HG"), st.integers(1, 99))
def test_qcvn_parent_chain_ends_at_level_one(l4, l3, l2, letter, l1):
    code = f"{l4:03d}.{l3:02d}.{l2:02d}.{letter}{l1:02d}"
    chain = [code]
    while (p := qcvn_parent(chain[-1])) is not None:
        chain.append(p)
    assert chain == [
        code,
        f"000.{l3:02d}.{l2:02d}.{letter}{l1:02d}",
        f"000.00.{l2:02d}.{letter}{l1:02d}",
        f"000.00.00.{letter}{l1:02d}",
    ]
    assert all(qcvn_parts(c)[3] == f"{letter}{l1:02d}" for c in chain)


def test_parent_and_successor_given_by_name_are_the_codes_of_those_units():
    text = (
        "Mã đơn vị,Tên đơn vị,Cấp,Đơn vị cha,Đơn vị kế thừa\n"
        "000.00.40.H19,UBND huyện Trảng Bom,Cấp huyện,,UBND xã Trảng Bom\n"
        "000.31.40.H19,UBND xã Trảng Bom,Cấp xã,UBND HUYỆN TRẢNG BOM,\n"
        "000.32.40.H19,UBND xã Bàu Hàm,Cấp xã,UBND huyện Không Có,\n"
    )
    out = parse_units(text.encode(), "x.csv", province="75")
    units = by_code(out)
    assert units["000.00.40.H19"].successor == "000.31.40.H19"
    assert units["000.31.40.H19"].parent == "000.00.40.H19"
    assert [(p.where, p.reason) for p in out.problems] == [
        (
            "dòng 4",
            "đơn vị cha 'UBND huyện Không Có' không phải một mã đơn vị và không có đơn vị nào tên như vậy trong tệp",
        )
    ]


def test_problems_are_listed_in_file_order():
    text = "Mã đơn vị,Tên đơn vị,Cấp,Đơn vị cha\nA1,Đơn vị A,Sở,Không có đơn vị này\nA2,,Sở,\n"
    out = parse_units(text.encode(), "x.csv", province="75")
    assert [p.where for p in out.problems] == ["dòng 2", "dòng 3"]


HEADING_VARIANTS = {
    "code": ["Mã đơn vị", "Ma don vi", "MADONVI", "ma_don_vi", "Mã định danh"],
    "name": ["Tên đơn vị", "Ten don vi", "TENDONVI", "Tên cơ quan"],
    "level": ["Cấp", "Cap", "CAPDONVI", "Cấp đơn vị"],
    "valid_to": ["Hiệu lực đến", "Hieu luc den", "HIEU LUC DEN", "Đến ngày"],
}
ROWS = [
    ("000.00.00.H56", "UBND tỉnh Khánh Hòa", "Cấp tỉnh", ""),
    ("000.00.30.H56", "UBND huyện Cam Lâm", "Cấp huyện", "30/06/2025"),
    ("000.21.30.H56", "UBND xã Cam Hải Đông", "Cấp xã", ""),
]


@given(
    st.fixed_dictionaries({k: st.sampled_from(v) for k, v in HEADING_VARIANTS.items()}),
    st.sampled_from([str.lower, str.upper, lambda s: s]),
    st.permutations(list(HEADING_VARIANTS) + ["extra"]),
    st.sampled_from([",", ";", "\t"]),
    st.booleans(),
)
def test_any_heading_spelling_order_and_delimiter_gives_the_same_units(headings, case, order, sep, bom):
    headings = {**{k: case(v) for k, v in headings.items()}, "extra": "Ghi chú"}
    column = {"code": 0, "name": 1, "level": 2, "valid_to": 3}
    lines = [sep.join(headings[k] for k in order)]
    for row in ROWS:
        lines.append(sep.join(row[column[k]] if k in column else "ghi chú" for k in order))
    data = "\n".join(lines).encode("utf-8-sig" if bom else "utf-8")
    expected = parse_units(
        "\n".join(
            [",".join(["Mã đơn vị", "Tên đơn vị", "Cấp", "Hiệu lực đến"])] + [",".join(r) for r in ROWS]
        ).encode(),
        "a.csv",
        province="56",
    )
    assert parse_units(data, "b.csv", province="56") == expected and expected.problems == []
