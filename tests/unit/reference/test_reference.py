import re
from datetime import date

import pytest

from motcua.reference import (
    DISTRICT_ABOLISHED,
    fields,
    procedures,
    provinces,
    resolve_province,
    successor_of,
    unit_by_code,
    units_for_province,
)
from motcua.reference.registry import Registry

VIET = re.compile(r"[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.I)


@pytest.mark.parametrize(
    "alias", [75, "75", "H75", "h75", "dong_nai", "Đồng Nai", "Tỉnh Đồng Nai", "dongnai"]
)
def test_province_aliases(alias):
    info = resolve_province(alias)
    assert info.gso == 75 and info.code == "75" and info.prefix == "H75" and info.name == "Đồng Nai"


def test_province_aliases_leading_zero_and_cities():
    assert resolve_province("01").code == resolve_province(1).code == resolve_province("H01").code == "01"
    assert resolve_province("Hà Nội").gso == 1
    assert resolve_province("Thành phố Hồ Chí Minh").gso == 79
    with pytest.raises(ValueError):
        resolve_province("99")
    assert len(provinces()) == 34


def test_units_for_province_has_so_branches_districts_and_communes():
    units = units_for_province(75)
    by_code = {u.code: u for u in units}
    assert len(by_code) == len(units)
    names = {u.name for u in units}
    assert {
        "Sở Tư pháp",
        "Sở Tài nguyên và Môi trường",
        "Trung tâm Phục vụ hành chính công tỉnh",
        "Cục Thuế tỉnh",
        "Công an tỉnh",
        "Bảo hiểm xã hội tỉnh",
    } <= names
    levels = {u.level for u in units}
    assert levels == {"CENTRAL_BRANCH", "PROVINCE", "DISTRICT", "COMMUNE"}
    new_communes = [u for u in units if u.level == "COMMUNE" and u.valid_from == DISTRICT_ABOLISHED]
    assert len(new_communes) == 95  # Đồng Nai after 2025-07-01 (vietnam-provinces)
    assert "UBND phường Biên Hòa" in names
    assert all(u.code.startswith("H75.") and u.province_code == "75" for u in units)
    for u in units:
        if u.level == "DISTRICT":
            assert u.valid_to == date(2025, 6, 30)
            assert u.successor in by_code and by_code[u.successor].valid_on(date(2025, 7, 1))
    # Province-level units with diacritics
    assert all(VIET.search(u.name) for u in units if u.level in ("PROVINCE", "CENTRAL_BRANCH"))


def test_all_provinces_cover_all_communes():
    total = 0
    for p in provinces():
        units = units_for_province(p.gso)
        total += sum(1 for u in units if u.level == "COMMUNE" and u.valid_from == DISTRICT_ABOLISHED)
    assert total == 3321


def test_successor_of():
    assert successor_of("H75.SO.STNMT") == "H75.SO.SNNMT"
    assert successor_of("H75.SO.SNNMT") is None
    assert successor_of("H75.XC.26068") == "H75.X.26068"
    d = successor_of("H75.H.01")
    assert d == "H75.X.26068" and unit_by_code(d).name == "UBND phường Biên Hòa"
    assert successor_of("NOPE") is None


def test_procedures_and_fields():
    procs = procedures()
    flds = fields()
    assert 60 <= len(procs) <= 120
    for code, p in procs.items():
        assert re.fullmatch(r"[123]\.\d{6}", code)
        assert p.field_code in flds
        assert p.online_service in ("FULL", "PARTIAL", "NONE")
        assert p.time_limit["unit"] in ("WORKING_DAYS", "DAYS", "HOURS") and p.time_limit["value"] > 0
        assert set(p.levels) <= {"CENTRAL_BRANCH", "PROVINCE", "DISTRICT", "COMMUNE"}
        assert VIET.search(p.name)
    assert procs["1.001193"].name == "Thủ tục đăng ký khai sinh"
    assert flds["DATDAI"].name == "Đất đai" and flds["HOTICH"].name == "Hộ tịch"
    assert {
        "Hộ tịch",
        "Đất đai",
        "Chứng thực",
        "Đăng ký kinh doanh",
        "Xây dựng",
        "Giáo dục và Đào tạo",
        "Giao thông vận tải",
        "Bảo hiểm xã hội",
    } <= {f.name for f in flds.values()}


def test_registry_names_and_fallback():
    reg = Registry(provinces=["75"])
    assert reg.unit_name("H75.SO.STP") == "Sở Tư pháp"
    assert reg.unit_name("H75.X.26068") == "UBND phường Biên Hòa"
    assert reg.unit_name("H01.SO.SYT") == "Sở Y tế"  # lazily loaded province
    assert reg.unit_name("H01.TW.THUE") == "Cục Thuế thành phố"
    assert reg.field_name("DATDAI") == "Đất đai"
    p = reg.procedure("1.004227")
    assert p.name.startswith("Đăng ký biến động quyền sử dụng đất")
    assert p.field_name == "Đất đai"
    assert reg.procedure_name("1.001193") == "Thủ tục đăng ký khai sinh"
    assert reg.unknown == {"unit": set(), "procedure": set(), "field": set()}
    # unknown codes come back as themselves, and are remembered
    assert reg.unit_name("H75.SO.XYZ") == "H75.SO.XYZ"
    assert reg.unit_name("000.00.00.H19") == "000.00.00.H19"
    assert reg.procedure("9.999999") == "9.999999"
    assert reg.procedure_name("9.999998") == "9.999998"
    assert reg.field_name("LV-X") == "LV-X"
    assert reg.unknown == {
        "unit": {"H75.SO.XYZ", "000.00.00.H19"},
        "procedure": {"9.999999", "9.999998"},
        "field": {"LV-X"},
    }
