"""The 2025 province merger (reference.reform): the shipped mapping's invariants and how
codes and names of former and new provinces resolve."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from motcua.reference import province_of_unit, provinces, resolve_province
from motcua.reference.reform import (
    LEGAL_SOURCE,
    MergerDataError,
    code_spellings,
    former_province,
    former_provinces,
    merged_from_text,
    parse_merger_csv,
    predecessors,
)

UNCHANGED = (
    "Hà Nội",
    "Huế",
    "Lai Châu",
    "Điện Biên",
    "Sơn La",
    "Lạng Sơn",
    "Quảng Ninh",
    "Thanh Hóa",
    "Nghệ An",
    "Hà Tĩnh",
    "Cao Bằng",
)


def test_mapping_has_63_former_and_34_new_provinces():
    rows = former_provinces()
    assert len(rows) == 63 and len({p.gso for p in rows}) == 63
    targets = {p.new_gso for p in rows}
    assert targets == {p.gso for p in provinces()}  # every new code of vietnam-provinces, no other
    assert len(targets) == 34


def test_every_new_province_kept_the_code_of_one_of_its_predecessors():
    for new in provinces():
        assert new.gso in {p.gso for p in predecessors(new.gso)}, new.name


def test_a_former_code_that_is_also_a_new_code_names_that_new_province():
    # old codes never collide with a different new province (old 44 Quảng Bình -> new 44)
    new_codes = {p.gso for p in provinces()}
    for p in former_provinces():
        if p.gso in new_codes:
            assert p.new_gso == p.gso, p


def test_the_eleven_unchanged_provinces_map_to_themselves_alone():
    sizes = Counter(p.new_gso for p in former_provinces())
    alone = {resolve_province(g).short_name for g, n in sizes.items() if n == 1}
    assert alone == set(UNCHANGED)
    for name in UNCHANGED:
        (only,) = predecessors(name)
        assert only.gso == resolve_province(name).gso and only.unchanged
        assert merged_from_text(name) is None


def test_the_data_file_names_its_legal_source():
    from motcua.reference import _data_text

    head = "\n".join(line for line in _data_text("provinces-2025.csv").splitlines() if line.startswith("#"))
    assert "202/2025/QH15" in head and "12/06/2025" in head and "01/07/2025" in head
    assert "202/2025/QH15" in LEGAL_SOURCE


@pytest.mark.parametrize(
    "code",
    [
        "70",
        70,
        "H70",
        "h70",
        "Bình Phước",
        "Tỉnh Bình Phước",
        "binh_phuoc",
        "binh phuoc",
        "75",
        "H75",
        "Đồng Nai",
        "dong_nai",
    ],
)
def test_old_and_new_codes_and_names_of_dong_nai(code):
    assert resolve_province(code).code == "75"


def test_predecessors_of_dong_nai():
    assert [str(p) for p in predecessors(75)] == ["Đồng Nai (75)", "Bình Phước (70)"]
    assert [p.gso for p in predecessors("Bình Phước")] == [75, 70]
    assert merged_from_text("75") == "Số liệu trước 01/07/2025 gồm: tỉnh Đồng Nai, tỉnh Bình Phước"


@pytest.mark.parametrize(
    "name,new_code,old_code",
    [
        ("Quảng Trị", "44", 45),
        ("Tây Ninh", "80", 72),
        ("Đồng Tháp", "82", 87),
        ("An Giang", "91", 89),
        ("Gia Lai", "52", 64),
        ("Bắc Ninh", "24", 27),
        ("Lào Cai", "15", 10),
    ],
)
def test_a_name_shared_by_old_and_new_means_the_new_province(name, new_code, old_code):
    assert resolve_province(name).code == new_code
    assert former_province(name) is None  # the name is the new province's
    old = former_province(old_code)
    assert old.short_name == name and resolve_province(old_code).code == new_code
    assert old.describe() == f"{name} (mã cũ {old.code}, nay thuộc tỉnh {name})"


def test_former_names_describe_where_they_went():
    assert former_province("Bình Phước").describe() == "Bình Phước (nay thuộc tỉnh Đồng Nai)"
    assert former_province("Bình Dương").describe() == "Bình Dương (nay thuộc thành phố Hồ Chí Minh)"
    assert former_province("Bà Rịa - Vũng Tàu").new_gso == 79
    assert former_province("Hoà Bình").new_gso == 25  # old spelling of Hòa
    assert former_province(38).describe() == "Thanh Hóa"  # unchanged: just its name


@pytest.mark.parametrize(
    "unit,province",
    [
        ("H70.SO.STP", "75"),
        ("H70.H.01", "75"),
        ("H70.X.25000", "75"),
        ("H45.SO.UBND", "44"),
        ("H02.XC.1", "08"),
        ("H75.SO.STP", "75"),
    ],
)
def test_unit_codes_with_a_former_prefix_resolve_to_the_new_province(unit, province):
    assert province_of_unit(unit).code == province


def test_unknown_codes_are_still_refused():
    for bad in ("99", "H99", "Atlantis", "0"):
        with pytest.raises(ValueError):
            resolve_province(bad)
        assert former_province(bad) is None


@given(st.sampled_from(former_provinces()), st.sampled_from(["{c}", "{g}", "H{c}", "H{g}", "h{c}"]))
def test_every_spelling_of_every_former_code_resolves_to_its_new_province(p, form):
    text = form.format(c=p.code, g=p.gso)
    assert resolve_province(text).gso == p.new_gso
    assert code_spellings()[text.upper()] == f"{p.new_gso:02d}"


@given(st.sampled_from(former_provinces()))
def test_every_former_name_resolves_to_a_new_province_consistently(p):
    new = resolve_province(p.name)
    # a name shared with a new province is that province; else the former's successor
    if p.short_name in {q.short_name for q in provinces()}:
        assert new.short_name == p.short_name
    else:
        assert new.gso == p.new_gso


@pytest.mark.parametrize(
    "text,reason",
    [
        ("former_code,former_name,new_code\n1,x,1\n", "header"),
        ("former_code,former_name,former_codename,new_code\n1,Hà Nội,ha_noi\n", "line 2: 3 columns"),
        (
            "former_code,former_name,former_codename,new_code\nx,Hà Nội,ha_noi,1\n",
            "line 2: codes must be integers",
        ),
        (
            "# c\nformer_code,former_name,former_codename,new_code\n1,A,a,1\n1,B,b,1\n",
            "line 4: former code 1 repeats line 3",
        ),
        ("former_code,former_name,former_codename,new_code\n100,A,a,1\n", "1..99"),
    ],
)
def test_bad_merger_data_names_the_line_and_reason(text, reason):
    with pytest.raises(MergerDataError, match=reason):
        parse_merger_csv(text)


def test_a_plan_target_of_a_former_province_is_not_the_new_provinces():
    from motcua.domain.targets import targets_for
    from motcua.reference.targets_loader import parse_targets

    targets = parse_targets(
        [
            {
                "province": "Quảng Nam",
                "year": 2015,
                "metric": "satisfaction_rate",
                "level": "all",
                "value": 0.6,
            },
            {"province": "Đà Nẵng", "year": 2025, "metric": "on_time_rate", "level": "all", "value": 0.95},
            {"province": "Quảng Trị", "year": 2025, "metric": "on_time_rate", "level": "all", "value": 0.9},
        ]
    )
    codes = {t.province: t.province_code for t in targets}
    assert codes == {"Quảng Nam": "", "Đà Nẵng": "48", "Quảng Trị": "44"}  # a shared name is the new one
    assert [t.province for t in targets_for(targets, "48", 2026)] == ["Đà Nẵng"]
