"""The contract's supported instants: every event validation accepts must fold."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.domain import events as ev
from motcua.domain.lifecycle import DossierState, derive_facts, status_at
from motcua.reference.official_calendar import default_calendar
from tests.builders import make_event, received

cal = default_calendar()


@pytest.mark.parametrize(
    "instant",
    [
        "1900-03-03T09:00:00+07:00",
        0,
        "1970-01-01T00:00:00Z",
        "2009-12-31T23:59:59+07:00",
        "2036-01-01T00:00:00+07:00",
        ev.MAX_INSTANT_MS,
        "2999-01-01T00:00:00+07:00",
        -1,
    ],
)
def test_instants_outside_the_supported_range_are_refused(instant):
    with pytest.raises(ev.InvalidEvent) as err:
        ev.validate(dict(received("D1", 0), occurred_at=instant))
    assert err.value.code == "INSTANT_OUT_OF_RANGE"
    with pytest.raises(ev.InvalidEvent) as err:
        ev.validate(dict(received("D1", ev.MIN_INSTANT_MS), due_at=instant))
    assert err.value.code == "INSTANT_OUT_OF_RANGE"


@pytest.mark.parametrize(
    "instant",
    ["2010-01-01T00:00:00+07:00", ev.MIN_INSTANT_MS, ev.MAX_INSTANT_MS - 1, "2035-12-31T23:59:59.999+07:00"],
)
def test_the_edges_of_the_range_are_accepted(instant):
    assert ev.validate(dict(received("D1", 0), occurred_at=instant))["occurred_at"] >= ev.MIN_INSTANT_MS


@pytest.mark.parametrize("unit,value", [("WORKING_DAYS", 1001), ("DAYS", 10**9), ("HOURS", 24001)])
def test_time_limits_beyond_the_limit_are_refused(unit, value):
    with pytest.raises(ev.InvalidEvent) as err:
        ev.validate(received("D1", ev.MIN_INSTANT_MS, days=value, unit=unit))
    assert err.value.code == "TIME_LIMIT_TOO_LONG"


def test_the_worst_accepted_history_folds():
    """Received at the first instant with the longest time limit, a supplement pause over
    the whole range, extended and ended at the last instant: the due dates stay inside
    the calendar."""
    lo, hi = ev.MIN_INSTANT_MS, ev.MAX_INSTANT_MS - 1
    history = [
        received("D1", lo, days=ev.MAX_TIME_LIMIT),
        make_event("D1", 2, "SUPPLEMENT_REQUESTED", lo + 1),
        make_event("D1", 3, "SUPPLEMENT_RECEIVED", hi - 2),
        make_event("D1", 4, "DEADLINE_EXTENDED", hi - 1, new_due_at=hi),
        make_event("D1", 5, "RESOLVED", hi),
    ]
    state = DossierState("D1")
    for e in history:
        state.absorb(ev.validate(e))
    facts = derive_facts(state, cal)
    assert facts["ended"] and facts["outcome"]
    status_at(facts, hi, cal)


_instant = st.integers(ev.MIN_INSTANT_MS, ev.MAX_INSTANT_MS - 1)


@settings(max_examples=300, deadline=None)
@given(
    received_at=_instant,
    limit=st.integers(0, ev.MAX_TIME_LIMIT),
    unit=st.sampled_from(ev.TIME_LIMIT_UNITS),
    times=st.lists(_instant, min_size=0, max_size=6),
    end=st.one_of(st.none(), _instant),
)
def test_any_accepted_history_folds(received_at, limit, unit, times, end):
    events = [received("D1", received_at, days=limit * (24 if unit == "HOURS" else 1), unit=unit)]
    for i, t in enumerate(times):
        etype = "SUPPLEMENT_REQUESTED" if i % 2 == 0 else "SUPPLEMENT_RECEIVED"
        events.append(make_event("D1", 10 + i, etype, t))
    if end is not None:
        events.append(make_event("D1", 99, "RESOLVED", end))
    state = DossierState("D1")
    for e in events:
        state.absorb(ev.validate(e))
    facts = derive_facts(state, cal)
    status_at(facts, ev.MAX_INSTANT_MS - 1, cal)
