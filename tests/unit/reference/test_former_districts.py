"""The real former districts (reference/data/districts-2024.csv, former_districts): every
former province's districts land in the province it merged into, with a successor
commune of that province by the documented name rule, and unit_by_code knows them."""

from __future__ import annotations

from datetime import date

from motcua.reference import (
    DISTRICT_ABOLISHED,
    _district_rows,
    _stem,
    former_districts,
    provinces,
    successor_of,
    unit_by_code,
    units_for_province,
)
from motcua.reference.reform import former_provinces


def test_every_former_district_is_in_the_province_its_province_merged_into():
    rows = _district_rows()
    new_of = {p.code: p.new_gso for p in former_provinces()}
    assert {r["former_province_code"] for r in rows} == set(new_of)  # all 63 former provinces
    by_province = {p.gso: former_districts(p.gso) for p in provinces()}
    codes = [u.code for us in by_province.values() for u in us]
    assert len(codes) == len(set(codes)) == len(rows)
    for r in rows:
        new = new_of[r["former_province_code"]]
        assert f"H{new:02d}.HD.{r['district_code']}" in {u.code for u in by_province[new]}


def test_former_districts_are_valid_to_the_abolition_with_a_same_name_successor():
    for p in provinces():
        communes = {u.code: u for u in units_for_province(p.gso) if u.level == "COMMUNE"}
        for u in former_districts(p.gso):
            assert u.level == "DISTRICT" and u.valid_to == date(2025, 6, 30) and u.province_code == p.code
            assert u.name.startswith("UBND ") and unit_by_code(u.code) == u
            if u.successor is not None:
                s = communes[u.successor]
                assert s.valid_from == DISTRICT_ABOLISHED
                assert _stem(s.name.removeprefix("UBND ").capitalize()) == _stem(
                    u.name.removeprefix("UBND ").capitalize()
                )
                assert successor_of(u.code) == u.successor


def test_a_merged_province_has_the_districts_of_both_predecessors():
    names = {u.name for u in former_districts(75)}
    assert {"UBND thành phố Biên Hòa", "UBND thành phố Đồng Xoài"} <= names  # Đồng Nai + Bình Phước
    assert unit_by_code("H75.HD.731").successor == next(
        u.code for u in units_for_province(75) if u.name == "UBND phường Biên Hòa"
    )


def test_registries_name_former_districts_and_loaded_units_win():
    from motcua.reference import Unit
    from motcua.reference.registry import Registry

    assert Registry().unit_name("H75.HD.731") == "UBND thành phố Biên Hòa"
    own = Unit(
        "H75.HD.731", "UBND TP Biên Hòa (danh mục tỉnh)", "DISTRICT", None, None, date(2025, 6, 30), "75"
    )
    assert Registry(extra_units=[own]).unit_name("H75.HD.731") == own.name
