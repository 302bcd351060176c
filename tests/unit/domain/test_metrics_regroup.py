"""``regroup``: KPI rows of a finer grouping summed into a coarser one are the rows the
reference computes for the coarser grouping directly."""

from __future__ import annotations

from datetime import date

import pytest

from motcua.domain.lifecycle import derive_facts, fold
from motcua.domain.metrics import kpi_rows, regroup
from motcua.domain.periods import Period
from motcua.reference.official_calendar import default_calendar
from motcua.simulate import simulate
from tests.builders import local_ms

CAL = default_calendar()


@pytest.fixture(scope="module")
def facts():
    by: dict[str, list] = {}
    for e in simulate("75", date(2025, 2, 1), date(2025, 3, 20), seed=9, scale=0.01):
        if isinstance(e, dict):
            by.setdefault(e["dossier_id"], []).append(e)
    return [derive_facts(fold(d, evs), CAL) for d, evs in by.items()]


@pytest.mark.parametrize("by", ["all", "level", "unit", "field"])
def test_regrouped_unit_field_rows_are_the_rows_of_the_coarser_grouping(facts, by):
    period, as_of = Period(date(2025, 2, 15), date(2025, 3, 15)), local_ms(2025, 3, 10)
    fine = kpi_rows(facts, period, as_of, "unit_field", CAL)
    assert regroup(fine, by) == kpi_rows(facts, period, as_of, by, CAL)
