"""Form II.06a on a hand-built scenario of 31 dossiers around the official period of
February 2025 ([15/01/2025, 15/02/2025)), which contains Tết (27–31/01 are days off).

Every expected figure in EXPECTED was computed by hand from docs/metrics.md's rules; the
comment on each dossier gives its due date and what it contributes. The same scenario
goes through chDB in tests/integration/reports/test_ii06a_store.py.
"""

from __future__ import annotations

from datetime import date

from motcua.domain.ii06a import FIGURES, build_report, identity_sentence, level_field_rows
from motcua.domain.lifecycle import derive_facts, fold
from motcua.domain.metrics import kpi_rows
from motcua.domain.periods import parse_period
from motcua.reference.official_calendar import default_calendar
from tests.builders import local_ms, make_event

cal = default_calendar()
PERIOD = parse_period("2025-02")  # official: 15/01/2025 .. 14/02/2025
AS_OF = PERIOD.period.end_ms  # the period end

UNITS = {
    "A": dict(unit_code="H75.X.TEST_A", unit_level="COMMUNE"),
    "B": dict(unit_code="H75.X.TEST_B", unit_level="COMMUNE"),
    "C": dict(unit_code="H75.SO.TEST_C", unit_level="PROVINCE"),
}


class Dossier:
    def __init__(self, did: str, unit: str, field: str):
        self.did, self.env, self.events = did, dict(UNITS[unit], field_code=field), []

    def ev(self, etype: str, at: int, **extra) -> Dossier:
        self.events.append(make_event(self.did, len(self.events) + 1, etype, at, **self.env, **extra))
        return self

    def rec(self, at: int, n: int, unit: str = "WORKING_DAYS", channel: str = "ONLINE") -> Dossier:
        return self.ev("RECEIVED", at, channel=channel, time_limit={"value": n, "unit": unit})

    def resolved(self, at: int) -> Dossier:
        return self.ev("RESOLVED", at, electronic_result=False)


def D(did, unit, field):
    return Dossier(did, unit, field)


def t(m, d, hh=9, mm=0, y=2025):
    return local_ms(y, m, d, hh, mm)


def scenario() -> list[Dossier]:
    return [
        # --- unit A, field HT (commune) ---
        D("A-01", "A", "HT").rec(t(1, 10), 3, channel="DIRECT").resolved(t(1, 14)),  # ended before: nothing
        D("A-02", "A", "HT").rec(t(1, 13), 3).resolved(t(1, 16)),  # carried; due 16/01 -> on time
        D("A-03", "A", "HT").rec(t(1, 14, 23, 30), 2).resolved(t(1, 20)),  # carried; due 16/01 -> late
        D("A-04", "A", "HT")
        .rec(t(1, 15, 0, 0), 1)
        .resolved(t(1, 15, 15)),  # at the start; due 16/01 -> early
        D("A-05", "A", "HT")
        .rec(t(1, 22), 5, channel="DIRECT")
        .resolved(t(2, 5)),  # Tết: due 05/02 -> on time
        D("A-06", "A", "HT").rec(t(1, 24), 3, channel="POSTAL"),  # due 05/02, open -> overdue
        D("A-07", "A", "HT").rec(t(2, 10), 5),  # due 17/02, open -> within
        D("A-08", "A", "HT").rec(t(1, 20), 3).ev("WITHDRAWN", t(1, 21)),  # withdrawn -> on time
        # supplement 17/01 -> 04/02: +7 working days (20-24/01, 03-04/02): due 21/01 -> 06/02
        D("A-09", "A", "HT")
        .rec(t(1, 16), 3)
        .ev("SUPPLEMENT_REQUESTED", t(1, 17))
        .ev("SUPPLEMENT_RECEIVED", t(2, 4))
        .resolved(t(2, 6)),  # -> on time
        D("A-10", "A", "HT").rec(t(2, 3), 2).ev("SUPPLEMENT_REQUESTED", t(2, 4)),  # waiting -> within
        D("A-11", "A", "HT")
        .rec(t(2, 3), 10)
        .ev("SUPPLEMENT_REQUESTED", t(2, 4))
        .ev("SUPPLEMENT_RECEIVED", t(2, 5))
        .ev("SUPPLEMENT_REQUESTED", t(2, 6)),  # 2 requests -> overdue
        D("A-12", "A", "HT")
        .rec(t(2, 12), 1, channel="DIRECT")
        .resolved(t(2, 20)),  # due 13/02; late next period -> overdue now
        D("A-13", "A", "HT")
        .rec(t(1, 8), 3, channel="DIRECT")
        .resolved(t(2, 20)),  # carried; due 13/01 -> overdue
        D("A-14", "A", "HT").rec(t(2, 14, 23, 59), 2),  # last minute; due 18/02 -> within
        D("A-15", "A", "HT").rec(t(2, 15, 0, 0), 2),  # next period: nothing
        # --- unit A, field DD (commune) ---
        D("D-01", "A", "DD")
        .rec(t(12, 20, y=2024), 15, channel="DIRECT")
        .resolved(t(1, 20)),  # carried; due 13/01 -> late
        D("D-02", "A", "DD").rec(t(1, 15), 10).resolved(t(1, 24)),  # due 05/02 -> early
        D("D-03", "A", "DD").rec(t(1, 23), 2, channel="DIRECT").resolved(t(2, 4)),  # due 03/02 -> late
        D("D-04", "A", "DD").rec(t(1, 16), 3).ev("REJECTED", t(1, 16, 15), reason="x"),  # -> on time
        D("D-05", "A", "DD")
        .rec(t(1, 3), 3)
        .ev("STOPPED", t(1, 17), reason="x"),  # carried; stopped -> on time
        # --- unit B, field HT (commune) ---
        D("B-01", "B", "HT").rec(t(1, 15), 1, channel="DIRECT").resolved(t(1, 17)),  # due 16/01 -> late
        D("B-02", "B", "HT").rec(t(1, 29), 2).resolved(t(2, 4)),  # received during Tết; due 04/02 -> on time
        D("B-03", "B", "HT").rec(t(2, 5), 3).resolved(t(2, 7)),  # due 10/02 -> early
        D("B-04", "B", "HT").rec(t(1, 2), 3),  # carried; due 07/01, open -> overdue
        D("B-05", "B", "HT")
        .rec(t(1, 14), 1)
        .resolved(t(1, 14, 23))
        .ev("RESULT_RETURNED", t(1, 15), return_channel="DIRECT"),  # ended 14/01 23:00: nothing
        # --- unit C, field TP (province) ---
        D("C-01", "C", "TP").rec(t(1, 15), 8, unit="HOURS").resolved(t(1, 15, 17)),  # due 15/01 -> on time
        D("C-02", "C", "TP").rec(t(1, 20), 10, unit="DAYS").resolved(t(2, 3)),  # due 30/01 -> late
        D("C-03", "C", "TP").rec(t(2, 13), 5, channel="DIRECT"),  # due 20/02 -> within
        D("C-04", "C", "TP").rec(t(1, 6), 30),  # carried; due in March -> within
        D("C-05", "C", "TP")
        .rec(t(2, 10), 3)
        .ev(
            "DEADLINE_EXTENDED", t(2, 12), new_due_at=t(2, 20), apology_issued=True
        ),  # due stays 13/02 -> overdue
        D("C-06", "C", "TP")
        .rec(t(1, 21), 3)
        .ev("DEADLINE_EXTENDED", t(1, 23), new_due_at=t(2, 5), apology_issued=True)
        .resolved(t(2, 3)),  # due 24/01 -> late
    ]


def events() -> list[dict]:
    return [e for d in scenario() for e in d.events]


def facts() -> list[dict]:
    return [derive_facts(fold(d.did, d.events), cal) for d in scenario()]


def fig(*values):
    return dict(zip(FIGURES, values))


# received_total, online, direct_postal, carried_over, resolved_total, early, on_time, late,
# in_progress_total, within, overdue
EXPECTED = {
    ("H75.X.TEST_A", "DD"): fig(5, 2, 1, 2, 5, 1, 2, 2, 0, 0, 0),
    ("H75.X.TEST_A", "HT"): fig(13, 7, 3, 3, 6, 1, 4, 1, 7, 3, 4),
    ("H75.X.TEST_B", "HT"): fig(4, 2, 1, 1, 3, 1, 1, 1, 1, 0, 1),
    ("H75.SO.TEST_C", "TP"): fig(6, 4, 1, 1, 3, 0, 1, 2, 3, 2, 1),
}
EXPECTED_LEVELS = {
    "PROVINCE": fig(6, 4, 1, 1, 3, 0, 1, 2, 3, 2, 1),
    "COMMUNE": fig(22, 11, 5, 6, 14, 3, 7, 4, 8, 3, 5),
}
EXPECTED_TOTAL = fig(28, 15, 6, 7, 17, 3, 8, 6, 11, 5, 6)


def check_report(report) -> None:
    """Cell by cell against the hand computation."""
    got = {(r["unit_code"], r["field_code"]): {k: r[k] for k in FIGURES} for r in report.rows}
    assert set(got) == set(EXPECTED)
    for key, want in EXPECTED.items():
        for col in FIGURES:
            assert got[key][col] == want[col], (key, col, got[key][col], want[col])
    assert [lv.level for lv in report.levels] == ["PROVINCE", "COMMUNE"]
    for lv in report.levels:
        assert lv.total == EXPECTED_LEVELS[lv.level], lv.level
    assert report.total == EXPECTED_TOTAL
    assert report.identity_ok and report.problems == []


def test_hand_computed_ii06a_from_facts():
    rows = kpi_rows(facts(), PERIOD.period, AS_OF, "unit_field", cal)
    report = build_report(rows, PERIOD.start, PERIOD.end)
    check_report(report)
    unit_a = report.levels[1].units[0]
    assert unit_a.unit_code == "H75.X.TEST_A"
    assert unit_a.total == {
        k: EXPECTED[("H75.X.TEST_A", "DD")][k] + EXPECTED[("H75.X.TEST_A", "HT")][k] for k in FIGURES
    }
    assert "28 = 17 + 11" in identity_sentence(report)


def test_level_field_rows_sum_units_per_field():
    rows = kpi_rows(facts(), PERIOD.period, AS_OF, "unit_field", cal)
    report = build_report(rows, PERIOD.start, PERIOD.end)
    commune = dict(level_field_rows(report.levels[1]))
    assert commune["HT"]["received_total"] == 13 + 4
    assert commune["HT"]["in_progress_overdue"] == 4 + 1
    assert commune["DD"] == EXPECTED[("H75.X.TEST_A", "DD")]


def test_filters_by_level_and_unit():
    rows = kpi_rows(facts(), PERIOD.period, AS_OF, "unit_field", cal)
    only_c = build_report(rows, PERIOD.start, PERIOD.end, level="PROVINCE")
    assert only_c.total == EXPECTED_LEVELS["PROVINCE"]
    only_b = build_report(rows, PERIOD.start, PERIOD.end, unit="H75.X.TEST_B")
    assert only_b.total == EXPECTED[("H75.X.TEST_B", "HT")]


def test_json_form():
    rows = kpi_rows(facts(), PERIOD.period, AS_OF, "unit_field", cal)
    doc = build_report(rows, PERIOD.start, PERIOD.end).to_json()
    assert doc["period"] == {"from": "2025-01-15", "to": "2025-02-15"}
    row = next(r for r in doc["rows"] if r["unit_code"] == "H75.X.TEST_B")
    assert row == {
        "unit_code": "H75.X.TEST_B",
        "unit_level": "COMMUNE",
        "field_code": "HT",
        **EXPECTED[("H75.X.TEST_B", "HT")],
    }
    assert doc["identity_ok"] is True


def test_the_next_period_carries_over_what_this_one_left_in_progress():
    nxt = parse_period("2025-03")  # 15/02 .. 14/03
    rows = kpi_rows(facts(), nxt.period, nxt.period.end_ms, "unit_field", cal)
    report = build_report(rows, nxt.start, nxt.end)
    # in progress at the end of February = carried over into March, per row
    for key, want in EXPECTED.items():
        r = next((r for r in report.rows if (r["unit_code"], r["field_code"]) == key), None)
        carried = r["received_carried_over"] if r else 0
        assert carried == want["in_progress_total"], key
    # resolved on 20/02 (late), A-15 received 15/02 00:00 belongs to March
    a_ht = next(r for r in report.rows if (r["unit_code"], r["field_code"]) == ("H75.X.TEST_A", "HT"))
    assert a_ht["resolved_late"] == 2 and a_ht["received_online"] == 1


def test_a_dossier_ended_before_it_was_received_breaks_the_identity_and_is_reported():
    bad = Dossier("X-01", "B", "HT").resolved(t(1, 10)).rec(t(1, 20), 3)
    f = facts() + [derive_facts(fold(bad.did, bad.events), cal)]
    report = build_report(kpi_rows(f, PERIOD.period, AS_OF, "unit_field", cal), PERIOD.start, PERIOD.end)
    assert not report.identity_ok
    (problem,) = report.problems
    assert (problem["unit_code"], problem["field_code"], problem["gap"]) == ("H75.X.TEST_B", "HT", 1)
    assert "Cảnh báo" in identity_sentence(report)
    assert report.to_json()["identity_ok"] is False


def test_period_boundaries_are_the_official_cut_off():
    assert (PERIOD.start, PERIOD.end) == (date(2025, 1, 15), date(2025, 2, 15))
