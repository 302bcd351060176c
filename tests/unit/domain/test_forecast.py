"""The forecast's bounds hold: for random histories and random as-of instants inside a
period, the final figure of the dossiers received by then lies in [worst, best], and so
does the expected value (domain/forecast.py, docs/forecast.md)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.domain.forecast import (
    AT_RISK,
    CANNOT,
    ON_TRACK,
    OVERDUE,
    REACHABLE,
    Figures,
    classify,
    forecast_rows,
    instants,
    progress_bounds,
    rate_bounds,
    tally,
    verdict,
)
from motcua.domain.lifecycle import NEUTRAL_ENDS, clock_at, derive_facts, fold
from motcua.domain.metrics import kpi_rows
from motcua.domain.periods import make_period
from motcua.domain.targets import Target
from motcua.reference.official_calendar import default_calendar
from tests.builders import local_ms, make_event, received
from tests.strategies import histories

cal = default_calendar()
EPS = 1e-6


def facts_of(events):
    by_id: dict = {}
    for e in events:
        by_id.setdefault(e["dossier_id"], []).append(e)
    return [derive_facts(fold(k, v), cal) for k, v in by_id.items()]


def exception(f: dict, t: int, period) -> bool:
    """What the premise 'overdue stays overdue' does not cover: a neutral end in the
    period, or a supplement requested after the as-of instant."""
    neutral = f["ended"] and f["end_at"] < period.end_ms and f["end_type"] in NEUTRAL_ENDS
    return neutral or any(r > t for r in f["request_times"])


def final_rows(facts, t, rp):
    """The period's figures over the dossiers received by t (the bounds' population)."""
    population = [f for f in facts if f["received"] and f["received_at"] <= t]
    return {r["unit_level"]: r for r in kpi_rows(population, rp.period, rp.period.end_ms, "level", cal)}


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_final_figure_lies_between_worst_and_best(data):
    facts = facts_of(data.draw(histories()))
    rp = make_period("month", 2025, 3, official=data.draw(st.booleans()))
    t = data.draw(st.integers(rp.period.start_ms, rp.period.end_ms - 1))
    insts = instants(rp, t, cal, history=data.draw(st.integers(0, 2)))
    edges = insts[0].edges(cal)
    broken: set[str] = set()
    for f in facts:
        if classify(f, insts[0], edges, cal) != OVERDUE:
            continue
        if exception(f, t, rp.period):
            broken.add(f["unit_level"])
            continue
        # an overdue dossier neither ends on time in the period nor is within the deadline at its end
        ended_in = f["ended"] and f["end_at"] < rp.period.end_ms
        assert not (ended_in and f["outcome"] in ("EARLY", "ON_TIME"))
        assert ended_in or clock_at(f, rp.period.end_ms - 1, cal).overdue
    final = final_rows(facts, t, rp)
    for row in forecast_rows(tally(facts, insts, cal), insts, "level"):
        level = row["unit_level"]
        for metric in ("on_time_rate", "progress_766"):
            b = row[metric]
            if b["expected"] is not None and b["best"] is not None:  # none: nothing decided yet
                assert b["worst"] - EPS <= b["expected"] <= b["best"] + EPS
            actual = final.get(level, {}).get(metric)
            if actual is None or level in broken:
                continue
            assert b["decided_worst"] - EPS <= actual <= b["decided_best"] + EPS, (metric, b, actual)


@settings(max_examples=200, deadline=None)
@given(
    st.builds(
        Figures,
        ended=st.integers(0, 50),
        open=st.integers(0, 50),
        overdue=st.integers(0, 50),
        received=st.integers(0, 50),
        carried=st.integers(0, 50),
    ),
    st.floats(0, 1),
    st.floats(0, 1),
    st.floats(0, 1),
    st.floats(0, 40),
)
def test_expected_lies_between_worst_and_best_whatever_the_shares(f, s_end, s_ok, s_within, arrivals):
    """The bounds' algebra: whatever the model says, expected stays inside the band."""
    f.ended_ok = f.ended // 2
    f.received = max(f.received, f.ended + f.open + f.overdue)
    f.exp_ended = f.ended + (f.open + f.overdue) * s_end + arrivals
    f.exp_ok = f.ended_ok + f.open * s_end * s_ok + arrivals * s_ok
    f.exp_within = f.open * (1 - s_end) * s_within
    f.arr_received = f.arr_ended = arrivals
    for exp, best, worst in (rate_bounds(f), progress_bounds(f)):
        if exp is not None:
            assert worst is not None and best is not None
            assert worst - EPS <= exp <= best + EPS


def test_an_overdue_dossier_withdrawn_is_the_documented_exception():
    """Withdrawn after its due date, it counts on time: above the best case."""
    t = local_ms(2025, 3, 12, 12)
    evs = [
        received("A", local_ms(2025, 3, 3), days=1),
        make_event("A", 2, "RESOLVED", local_ms(2025, 3, 10)),  # late
        received("B", local_ms(2025, 3, 3), days=2),  # overdue at t
        make_event("B", 2, "WITHDRAWN", local_ms(2025, 3, 20)),
    ]
    facts = facts_of(evs)
    rp = make_period("month", 2025, 3, official=False)
    insts = instants(rp, t, cal, history=0)
    (row,) = forecast_rows(tally(facts, insts, cal), insts, "level")
    assert row["on_time_rate"]["best"] == row["on_time_rate"]["decided_best"] == 0.0
    assert final_rows(facts, t, rp)["COMMUNE"]["on_time_rate"] == 0.5
    assert exception(facts[1], t, rp.period)


def test_shares_come_from_the_same_instant_of_the_previous_periods():
    """At 25/03 noon (6.5 days before the end) March has one dossier due within 2 working
    days, and one overdue from February; at 22/02 noon, February had two dossiers due
    within 2 days: one ended on time, one never ended. So the March one ends on time with
    probability 1/2, and the overdue one (no history of its own: the pooled share) ends
    late with probability 1/2."""
    evs = [
        received("F1", local_ms(2025, 2, 20), days=3),
        make_event("F1", 2, "RESOLVED", local_ms(2025, 2, 24)),
        received("F2", local_ms(2025, 2, 20), days=2),
        received("M0", local_ms(2025, 3, 3), days=1),
        make_event("M0", 2, "RESOLVED", local_ms(2025, 3, 4)),
        received("M1", local_ms(2025, 3, 21), days=3),
    ]
    facts = facts_of(evs)
    rp = make_period("month", 2025, 3, official=False)
    t = local_ms(2025, 3, 25, 12)
    insts = instants(rp, t, cal, history=1)
    assert insts[1].at_ms == local_ms(2025, 2, 22, 12)  # the same time before the period end
    cells = tally(facts, insts, cal)
    assert {(k, cls): c.as_tuple() for (k, _u, _l, cls), c in cells.items()} == {
        (0, "ended"): (1, 0, 1, 1, 0),
        (0, "due_0_2"): (1, 0, 0, 0, 0),
        (0, "overdue"): (1, 1, 0, 0, 0),
        (1, "due_0_2"): (2, 0, 1, 1, 0),
    }
    (row,) = forecast_rows(cells, insts, "level")
    third = round(1 / 3, 6)
    assert row["on_time_rate"] == {
        "expected": 0.75,
        "best": 1.0,
        "worst": third,
        "decided_best": 1.0,
        "decided_worst": third,
    }
    assert row["progress_766"] == {
        "expected": 0.5,
        "best": round(2 / 3, 6),
        "worst": third,
        "decided_best": round(2 / 3, 6),
        "decided_worst": third,
    }


def test_verdicts():
    target = Target("Đồng Nai", "on_time_rate", None, None, None, None, ">=", 0.95)  # type: ignore[arg-type]
    assert verdict(target, 0.90, 0.94) == CANNOT
    assert verdict(target, 0.93, 0.97) == AT_RISK
    assert verdict(target, 0.96, 0.97) == ON_TRACK
    assert verdict(target, None, 0.97) == REACHABLE  # no history: no promise either way
    assert verdict(target, None, 0.94) == CANNOT
    assert verdict(None, 0.96, 0.97) is None and verdict(target, None, None) is None
