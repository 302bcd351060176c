"""The worklist SQL (adapters/clickhouse_worklist.py) on chDB gives exactly the rows of the
pure reference (domain/worklist.py), for random histories delivered in any order with
duplicates, random instants, N, filters and limits."""

from __future__ import annotations

from datetime import date

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motcua.adapters.clickhouse_reports import province_scope
from motcua.adapters.clickhouse_worklist import cum_window, read_worklist
from motcua.domain.calendar import local_day_number
from motcua.domain.lifecycle import derive_facts, fold
from motcua.domain.worklist import official_month_of, worklist_rows
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from tests.builders import local_ms, make_event, received
from tests.strategies import UNITS, delivered, histories

cal = default_calendar()


def facts_of(events):
    by_id: dict = {}
    for e in events:
        by_id.setdefault(e["dossier_id"], []).append(e)
    return [derive_facts(fold(k, v), cal) for k, v in by_id.items()]


def ingest(store, stream, batch=5):
    EmbeddedPipeline(store, cal, batch_size=batch).ingest(
        [(f"w:{i}", orjson.dumps(e)) for i, e in enumerate(stream)]
    )


def instants(events):
    """Random instants, and the ones where a rule flips: an event's instant and the
    millisecond after it; around the 15th (a new official month) and local midnights."""
    months = [local_ms(2025, m, 15, h) + d for m in (3, 4) for h in (0, 16) for d in (-1, 0)]
    edges = [e["occurred_at"] + d for e in events for d in (0, 1)] or months
    return st.one_of(
        st.integers(local_ms(2025, 2, 18), local_ms(2025, 6, 30)),
        st.sampled_from(edges),
        st.sampled_from(months),
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_sql_worklist_equals_the_pure_rows(new_store, data):
    store = new_store()
    events = data.draw(histories())
    ingest(store, data.draw(delivered(events)), batch=data.draw(st.integers(1, 8)))
    facts = facts_of(events)
    for _ in range(4):
        t = data.draw(instants(events))
        within = data.draw(st.integers(0, 5))
        unit, level = data.draw(st.sampled_from([(None, None), *UNITS, (None, "COMMUNE")]))
        if unit is not None and data.draw(st.booleans()):
            level = None
        limit = data.draw(st.one_of(st.none(), st.integers(0, 4)))
        kw = dict(unit=unit, level=level, limit=limit)
        assert read_worklist(store, t, within, cal, **kw) == worklist_rows(facts, t, within, cal, **kw)


def test_province_scope_and_every_column_on_a_hand_built_store(store):
    """One dossier of each kind through the embedded pipeline, read back in one province."""
    t = local_ms(2025, 3, 6, 10)
    other = dict(received("X", local_ms(2025, 3, 3), days=1), province_code="01", unit_code="H01.01")
    evs = [
        received("TODAY", local_ms(2025, 3, 3), days=3),
        received("LATE", local_ms(2025, 2, 24), days=4),
        received("W", local_ms(2025, 3, 3), days=10),
        make_event("W", 2, "SUPPLEMENT_REQUESTED", local_ms(2025, 3, 4)),
        make_event("W", 3, "SUPPLEMENT_REQUESTED", local_ms(2025, 3, 5)),
        received("DONE", local_ms(2025, 2, 17), days=1),
        make_event("DONE", 2, "RESOLVED", local_ms(2025, 3, 3)),
        other,
    ]
    ingest(store, evs)
    rows = read_worklist(province_scope(store, ["75"]), t, 2, cal)
    assert rows == worklist_rows([f for f in facts_of(evs) if f["province_code"] == "75"], t, 2, cal)
    assert [(r.dossier_id, r.working_days_left, r.waiting) for r in rows] == [
        ("LATE", -4, False),
        ("W", -1, True),
        ("TODAY", 0, False),
    ]
    assert {(r.unit_ended, r.unit_ended_ok) for r in rows} == {(1, 0)}
    assert [r.dossier_id for r in read_worklist(store, t, 2, cal, limit=1)] == ["LATE"]


def test_the_calendar_window_reaches_the_last_day_a_listed_dossier_can_be_due():
    t = local_ms(2025, 3, 6, 10)
    today = local_day_number(t)
    cum = cum_window(cal, today, 2)
    assert len(cum) == cal.add_working_days(today, 3) - cal.first + 1
    assert cum[today - cal.first] == cal.count_upto(today)
    assert official_month_of(date.fromordinal(today)).code == "2025-03"
    with pytest.raises(ValueError):
        cum_window(cal, today, 20_000)
