"""Targets file format: validation with clear errors, and which target applies when."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from motcua.bootstrap import plan_targets
from motcua.domain.targets import TargetError, check_rows, effective_target, target_cells
from motcua.reference.targets_loader import load_targets, parse_targets
from motcua.settings import PACKAGE_TARGETS, Settings

REPO = Path(__file__).resolve().parents[3]

BASE = {
    "province": "Đồng Nai",
    "year": 2023,
    "metric": "on_time_rate",
    "level": "all",
    "comparator": ">=",
    "value": 0.96,
}


def entry(**kw):
    e = dict(BASE)
    e.update(kw)
    return {k: v for k, v in e.items() if v is not None}


def problems(entries) -> list[str]:
    with pytest.raises(TargetError) as err:
        parse_targets(entries, "plan.yaml")
    return err.value.problems


def test_the_shipped_example_is_valid_and_matches_the_shared_file():
    shared = REPO.parent / "shared" / "data" / "plan-targets.yaml"
    assert Settings().plan_targets == PACKAGE_TARGETS
    targets = plan_targets(Settings())
    assert len(targets) == 19
    if shared.exists():
        assert PACKAGE_TARGETS.read_text(encoding="utf-8") == shared.read_text(encoding="utf-8")
    dn = [t for t in targets if t.province_code == "75"]
    assert {t.metric for t in dn} >= {"on_time_rate", "online_filing_rate", "online_payment_rate"}


@pytest.mark.parametrize(
    "bad, needle",
    [
        (entry(metric="on_tme_rate"), "unknown metric 'on_tme_rate'"),
        (entry(comparator="=>"), "bad comparator '=>'"),
        (entry(level="xa"), "bad level 'xa'"),
        (entry(level=None, unit="SoTuPhap"), "bad unit code 'SoTuPhap'"),
        (entry(level="commune", unit="H75.SO.STP"), "either 'level' or 'unit'"),
        (entry(value=96), "write 0.96 for 96%"),
        (entry(value=-0.1), "out of range"),
        (entry(value="96%"), "must be a number"),
        (entry(metric="avg_processing_working_days", value=0), "working days"),
        (entry(year=None, **{"from": "2024-06-01", "to": "2024-01-01"}), "must be after 'from'"),
        (entry(year=None), "give 'year', or 'from' and 'to'"),
        (entry(year="năm nay"), "bad year"),
        (entry(provnce="x"), "unknown field(s) provnce"),
        (entry(province=None), "missing 'province'"),
    ],
)
def test_each_kind_of_bad_entry_gets_a_message_naming_entry_and_field(bad, needle):
    msgs = problems([BASE | {"metric": "satisfaction_rate"}, bad])
    assert any(needle in m for m in msgs), msgs
    assert all(m.startswith("plan.yaml: entry 2") for m in msgs)


def test_every_problem_is_reported_at_once():
    msgs = problems([entry(metric="nope"), entry(comparator="~"), entry(level="tinh")])
    assert [m.split(":")[1].strip() for m in msgs] == [
        "entry 1 (nope)",
        "entry 2 (on_time_rate)",
        "entry 3 (on_time_rate)",
    ]


def test_duplicates_and_overlapping_periods_of_the_same_scope_are_rejected():
    msgs = problems([entry(), entry()])
    assert "duplicates entry 1" in msgs[0]
    msgs = problems([entry(), entry(year=None, value=0.9, **{"from": "2023-07-01", "to": "2024-07-01"})])
    assert "overlaps entry 1" in msgs[0] and "[2023-01-01, 2024-01-01)" in msgs[0]
    # a level target beside an 'all' target, or the next year: fine
    assert len(parse_targets([entry(), entry(level="commune", value=0.9), entry(year=2024)])) == 3


def test_not_a_list_and_not_yaml(tmp_path):
    with pytest.raises(TargetError, match="expected a YAML list"):
        parse_targets({"a": 1}, "x.yaml")
    p = tmp_path / "t.yaml"
    p.write_text("- {province: [unclosed", encoding="utf-8")
    with pytest.raises(TargetError, match="not valid YAML"):
        load_targets(p)


def test_effective_target_prefers_valid_then_latest_then_most_specific():
    ts = parse_targets(
        [
            entry(),  # 2023 all levels 96%
            entry(level="commune", value=0.90),  # 2023 communes 90%
            entry(year=2024, value=0.97),  # 2024 all levels 97%
            entry(level=None, unit="H75.XC.26278", year=2024, value=0.80),
        ]
    )
    d23, d24, d26 = date(2023, 6, 1), date(2024, 6, 1), date(2026, 6, 1)
    assert effective_target(ts, "75", "on_time_rate", d23, level="COMMUNE").value == 0.90
    assert effective_target(ts, "75", "on_time_rate", d23, level="PROVINCE").value == 0.96
    assert (
        effective_target(ts, "75", "on_time_rate", d24, level="COMMUNE").value == 0.97
    )  # valid beats expired
    assert (
        effective_target(ts, "Đồng Nai", "on_time_rate", d24, level="COMMUNE", unit_code="H75.XC.26278").value
        == 0.80
    )
    assert effective_target(ts, "75", "on_time_rate", d26, level="COMMUNE").value == 0.97  # carried forward
    assert effective_target(ts, "75", "on_time_rate", date(2022, 1, 1), level="COMMUNE") is None
    assert effective_target(ts, "42", "on_time_rate", d24, level="COMMUNE") is None


def test_target_cells_and_vietnamese_text_for_the_demo():
    cells = target_cells(plan_targets(Settings()), "75", 2025)
    assert cells[("on_time_rate", "COMMUNE")] == "≥ 96%"
    assert cells[("online_filing_rate", "DISTRICT")] == "≥ 30%"
    assert cells[("late_apology_rate", "PROVINCE")] == "= 100%"
    assert ("online_payment_rate", "COMMUNE") not in cells


def test_check_rows_compare_ratio_with_comparator():
    ts = parse_targets([entry(), entry(metric="satisfaction_rate", comparator=">", value=0.9)])
    row = {
        "unit_level": "COMMUNE",
        "on_time_rate_num": 95,
        "on_time_rate_den": 100,
        "on_time_rate": 0.95,
        "satisfaction_rate_num": 9,
        "satisfaction_rate_den": 10,
        "satisfaction_rate": 0.9,
    }
    for m in (
        "progress_766",
        "online_filing_rate",
        "full_online_share",
        "postal_rate",
        "dossier_digitisation_rate",
        "result_digitisation_rate",
        "data_reuse_rate",
        "online_payment_rate",
        "late_apology_rate",
        "avg_processing_working_days",
    ):
        row.update({f"{m}_num": 0, f"{m}_den": 0, m: None})
    out = {r.metric: r for r in check_rows([row], ts, "75", date(2025, 3, 31))}
    assert out["on_time_rate"].met is False and round(out["on_time_rate"].gap, 6) == -0.01
    assert out["satisfaction_rate"].met is False  # 90% is not > 90%
