"""The at-risk worklist (docs/metrics.md#worklist): hand-computed cases, and properties
tying it to ``status_at`` and ``kpi_rows`` on random histories and instants."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.domain.calendar import end_of_local_day_ms, local_day_number
from motcua.domain.lifecycle import derive_facts, fold, status_at
from motcua.domain.metrics import kpi_rows
from motcua.domain.periods import Period
from motcua.domain.worklist import (
    official_month_of,
    rate_impact_points,
    summary,
    worklist_rows,
)
from motcua.reference.official_calendar import default_calendar
from tests.builders import local_ms, make_event, received
from tests.strategies import histories

cal = default_calendar()


def facts_of(events):
    by_id: dict = {}
    for e in events:
        by_id.setdefault(e["dossier_id"], []).append(e)
    return [derive_facts(fold(k, v), cal) for k, v in by_id.items()]


def by_id(rows):
    return {r.dossier_id: r for r in rows}


def test_due_today_next_working_day_and_overdue_days():
    t = local_ms(2025, 3, 6, 10)  # Thursday
    evs = [
        received("TODAY", local_ms(2025, 3, 3), days=3),  # due Thu 06/03
        received("NEXT", local_ms(2025, 3, 3), days=4),  # due Fri 07/03
        received("MON", local_ms(2025, 3, 3), days=5),  # due Mon 10/03: 2 working days left
        received("FAR", local_ms(2025, 3, 3), days=6),  # due Tue 11/03: 3 left, not listed
        received("LATE", local_ms(2025, 2, 24), days=4),  # due Fri 28/02: overdue 4 working days
    ]
    rows = by_id(worklist_rows(facts_of(evs), t, 2, cal))
    assert set(rows) == {"TODAY", "NEXT", "MON", "LATE"}
    assert [rows[k].working_days_left for k in ("LATE", "TODAY", "NEXT", "MON")] == [-4, 0, 1, 2]
    assert rows["LATE"].overdue and not rows["TODAY"].overdue
    assert date.fromordinal(rows["MON"].due_date) == date(2025, 3, 10)
    ordered = [r.dossier_id for r in worklist_rows(facts_of(evs), t, 2, cal)]
    assert ordered == ["LATE", "TODAY", "NEXT", "MON"]
    assert [r.dossier_id for r in worklist_rows(facts_of(evs), t, 0, cal)] == ["LATE", "TODAY"]
    assert summary(rows.values()) == (1, 3)


def test_overdue_as_of_a_day_off_right_after_the_due_date_counts_minus_one():
    evs = [received("F", local_ms(2025, 3, 3), days=4)]  # due Fri 07/03
    (row,) = worklist_rows(facts_of(evs), local_ms(2025, 3, 8, 10), 2, cal)  # Saturday
    assert row.overdue and row.working_days_left == -1
    (row,) = worklist_rows(facts_of(evs), local_ms(2025, 3, 10, 10), 2, cal)  # Monday
    assert row.working_days_left == -1
    (row,) = worklist_rows(facts_of(evs), local_ms(2025, 3, 11, 10), 2, cal)
    assert row.working_days_left == -2


def test_waiting_dossiers_only_when_overdue_by_two_requests():
    one = [
        received("W1", local_ms(2025, 3, 3), days=3),
        make_event("W1", 2, "SUPPLEMENT_REQUESTED", local_ms(2025, 3, 4)),
    ]
    two = [
        received("W2", local_ms(2025, 3, 3), days=10),
        make_event("W2", 2, "SUPPLEMENT_REQUESTED", local_ms(2025, 3, 4)),
        make_event("W2", 3, "SUPPLEMENT_RECEIVED", local_ms(2025, 3, 5)),
        make_event("W2", 4, "SUPPLEMENT_REQUESTED", local_ms(2025, 3, 6)),
    ]
    rows = worklist_rows(facts_of(one + two), local_ms(2025, 3, 10, 10), 2, cal)
    assert [r.dossier_id for r in rows] == ["W2"]
    (w2,) = rows
    assert w2.overdue and w2.waiting and w2.supplement_requests == 2
    assert w2.working_days_left == -1  # late whatever its (later) due date
    # the due date shown is the one after the pause closed by then: 1 working day later
    base = facts_of(two)[0]["due_date"]
    assert w2.due_date == cal.add_working_days(base, 1)


def test_ended_and_not_yet_received_dossiers_are_not_listed():
    evs = [
        received("E", local_ms(2025, 3, 3), days=1),
        make_event("E", 2, "RESOLVED", local_ms(2025, 3, 5)),
        received("FUT", local_ms(2025, 3, 12), days=1),
    ]
    t = local_ms(2025, 3, 7)
    assert worklist_rows(facts_of(evs), t, 2, cal) == []
    (row,) = worklist_rows(facts_of(evs), local_ms(2025, 3, 4, 10), 2, cal)  # E before its end
    assert row.dossier_id == "E" and row.working_days_left == 0 and not row.overdue


def test_rate_impact_counts_the_units_ends_of_the_running_official_month():
    # official month 2025-03 = [15/02, 15/03): E1 (ended 14/02) is in February's
    evs = [
        received("E1", local_ms(2025, 2, 10), days=3),
        make_event("E1", 2, "RESOLVED", local_ms(2025, 2, 14)),
        received("E2", local_ms(2025, 2, 17), days=3),
        make_event("E2", 2, "RESOLVED", local_ms(2025, 2, 18)),
        received("E3", local_ms(2025, 2, 17), days=1),
        make_event("E3", 2, "RESOLVED", local_ms(2025, 3, 3)),  # late
        received("E4", local_ms(2025, 3, 3), days=1),
        make_event("E4", 2, "RESOLVED", local_ms(2025, 3, 6, 15)),  # after T
        received("OPEN", local_ms(2025, 3, 3), days=3),
    ]
    rows = by_id(worklist_rows(facts_of(evs), local_ms(2025, 3, 6, 10), 2, cal))
    assert set(rows) == {"E4", "OPEN"}  # E4 ends after T: still in progress (and overdue)
    assert {(r.unit_ended, r.unit_ended_ok) for r in rows.values()} == {(2, 1)}
    assert rows["OPEN"].rate_impact == pytest.approx(-100 / 3)
    # from 15/03 the April period starts: nothing ended in it yet
    (row,) = worklist_rows(facts_of(evs), local_ms(2025, 3, 15, 10), 2, cal)
    assert (row.dossier_id, row.unit_ended, row.rate_impact) == ("OPEN", 0, -100.0)


def test_official_month_of():
    assert official_month_of(date(2025, 3, 14)).code == "2025-03"
    assert official_month_of(date(2025, 3, 15)).code == "2025-04"
    assert official_month_of(date(2025, 12, 20)).code == "2026-01"
    assert official_month_of(date(2025, 1, 1)).start == date(2024, 12, 15)
    assert rate_impact_points(124) == -0.8


def test_filters_limit_and_negative_within():
    a = dict(received("A", local_ms(2025, 3, 3), days=1), unit_code="U1")
    b = dict(received("B", local_ms(2025, 3, 3), days=1), unit_code="U2", unit_level="PROVINCE")
    facts = facts_of([a, b])
    t = local_ms(2025, 3, 10)
    assert [r.dossier_id for r in worklist_rows(facts, t, 2, cal, unit="U2")] == ["B"]
    assert [r.dossier_id for r in worklist_rows(facts, t, 2, cal, level="COMMUNE")] == ["A"]
    assert len(worklist_rows(facts, t, 2, cal, limit=1)) == 1
    with pytest.raises(ValueError):
        worklist_rows(facts, t, -1, cal)


INSTANTS = st.integers(local_ms(2025, 2, 18), local_ms(2025, 5, 30))


@settings(max_examples=200, deadline=None)
@given(histories(), INSTANTS, st.integers(0, 6))
def test_rows_follow_status_at_and_working_days(events, t, within):
    facts = facts_of(events)
    rows = by_id(worklist_rows(facts, t, within, cal))
    today = local_day_number(t)
    for f in facts:
        s = status_at(f, t, cal)
        r = rows.get(f["dossier_id"])
        if r is None:
            assert not s.overdue and not (s.due_soon and within >= 1)
            continue
        assert s.in_progress and r.overdue == s.overdue and r.waiting == s.waiting
        assert (r.working_days_left < 0) == r.overdue
        assert r.working_days_left <= within
        if not r.overdue:
            assert r.due_date is not None and r.due_date >= today
            assert r.working_days_left == cal.working_days_between(today, r.due_date)
            if cal.is_working_day(r.due_date) or r.due_date == today:
                assert (r.working_days_left <= 1) == s.due_soon
    ordered = worklist_rows(facts, t, within, cal)
    assert ordered == sorted(ordered, key=lambda r: r.sort_key)
    wider = by_id(worklist_rows(facts, t, within + 1, cal))
    assert set(rows) <= set(wider)


@settings(max_examples=100, deadline=None)
@given(histories(), INSTANTS)
def test_unit_counts_are_the_kpi_ended_of_the_official_month_so_far(events, t):
    """At the end of a local day, a unit's ended / ok are kpi_rows' over [period start, that day]."""
    day = date.fromordinal(local_day_number(t))
    t = end_of_local_day_ms(day)
    facts = facts_of(events)
    period = official_month_of(day)
    kpi = {
        (r["unit_code"], r["unit_level"]): r
        for r in kpi_rows(facts, Period(period.start, date.fromordinal(day.toordinal() + 1)), t, "unit", cal)
    }
    for r in worklist_rows(facts, t, 3, cal):
        k = kpi.get((r.unit_code, r.unit_level), {"ended": 0, "on_time_rate_num": 0})
        assert (r.unit_ended, r.unit_ended_ok) == (k["ended"], k["on_time_rate_num"])
