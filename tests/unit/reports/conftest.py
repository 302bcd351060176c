"""The hand-built II.06a scenario as report inputs (pure: kpi_rows over facts)."""

from __future__ import annotations

import pytest

from motcua.domain.ii06a import build_report
from motcua.domain.metrics import kpi_rows
from motcua.reference.official_calendar import default_calendar
from motcua.reference.targets_loader import parse_targets
from motcua.reports.data import monthly_data
from motcua.reports.names import Names
from tests.unit.domain import test_ii06a as hand

cal = default_calendar()

TARGETS = parse_targets(
    [
        {"province": "Đồng Nai", "year": 2025, "metric": "on_time_rate", "level": "all", "value": 0.96},
        {
            "province": "Đồng Nai",
            "year": 2025,
            "metric": "online_filing_rate",
            "level": "commune",
            "value": 0.70,
        },
        {
            "province": "Đồng Nai",
            "year": 2025,
            "metric": "online_filing_rate",
            "level": "province",
            "value": 0.50,
        },
    ]
)

NAMES = Names(
    unit={
        "H75.X.TEST_A": "UBND xã Thử A",
        "H75.X.TEST_B": "UBND xã Thử B",
        "H75.SO.TEST_C": "Sở Tư pháp (thử)",
    }.get,
    field={"HT": "Hộ tịch", "DD": "Đất đai", "TP": "Tư pháp"}.get,
)


@pytest.fixture(scope="session")
def hand_facts():
    return hand.facts()


@pytest.fixture
def hand_report(hand_facts):
    rows = kpi_rows(hand_facts, hand.PERIOD.period, hand.AS_OF, "unit_field", cal)
    return build_report(rows, hand.PERIOD.start, hand.PERIOD.end)


@pytest.fixture
def monthly(hand_facts):
    def kpi(period, as_of, by):
        return kpi_rows(hand_facts, period, as_of, by, cal)

    return monthly_data(kpi, hand.PERIOD, hand.AS_OF + 10**9, TARGETS, "75", "Đồng Nai", months=3)
