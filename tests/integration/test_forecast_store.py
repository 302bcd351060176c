"""The forecast's SQL cells (adapters/clickhouse_forecast.py) equal the pure reference
(domain.forecast.tally) on random histories, and the rows built from them are the same."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motcua.adapters.clickhouse_forecast import forecast_cells
from motcua.domain.forecast import forecast_rows, instants, tally
from motcua.domain.lifecycle import derive_facts, fold
from motcua.domain.periods import make_period
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from tests.builders import local_ms
from tests.strategies import histories

cal = default_calendar()


def facts_of(events):
    by_id: dict = {}
    for e in events:
        by_id.setdefault(e["dossier_id"], []).append(e)
    return [derive_facts(fold(k, v), cal) for k, v in by_id.items()]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_sql_cells_equal_the_pure_tally(new_store, data):
    store = new_store()
    events = data.draw(histories())
    EmbeddedPipeline(store, cal).ingest([(f"t:{i}", orjson.dumps(e)) for i, e in enumerate(events)])
    official = data.draw(st.booleans())
    month = data.draw(st.sampled_from([3, 4]))
    rp = make_period("month", 2025, month, official)
    as_of = data.draw(st.integers(rp.period.start_ms, rp.period.end_ms - 1))
    insts = instants(rp, as_of, cal, history=data.draw(st.integers(0, 3)))
    pure = tally(facts_of(events), insts, cal)
    got = forecast_cells(store, insts, cal)
    assert {k: c.as_tuple() for k, c in got.items()} == {k: c.as_tuple() for k, c in pure.items()}
    for by in ("province", "level", "unit"):
        assert forecast_rows(got, insts, by) == forecast_rows(pure, insts, by)


def test_a_hand_built_month_through_chdb(store):
    """Ended on time, ended late, open, overdue and a later arrival, at 10/03 noon."""
    from tests.builders import make_event, received

    evs = [
        received("A", local_ms(2025, 3, 3), days=3),
        make_event("A", 2, "RESOLVED", local_ms(2025, 3, 4)),
        received("B", local_ms(2025, 3, 3), days=1),
        make_event("B", 2, "RESOLVED", local_ms(2025, 3, 7)),
        received("C", local_ms(2025, 3, 7), days=10),
        received("D", local_ms(2025, 3, 3), days=2),
        received("E", local_ms(2025, 3, 20), days=2),
    ]
    EmbeddedPipeline(store, cal).ingest([(f"t:{i}", orjson.dumps(e)) for i, e in enumerate(evs)])
    rp = make_period("month", 2025, 3, official=False)
    insts = instants(rp, local_ms(2025, 3, 10, 12), cal, history=0)
    cells = forecast_cells(store, insts, cal)
    classes = {cls: c.n for (_k, _u, _l, cls), c in cells.items()}
    assert classes == {"ended": 2, "due_6_10": 1, "overdue": 1}
    (row,) = forecast_rows(cells, insts, "province")
    assert row["on_time_rate"]["best"] == round(2 / 3, 6)  # A ok, B late, C can end on time
    assert row["on_time_rate"]["worst"] == 0.25  # C and D end late too
    assert row["on_time_rate"]["expected"] is None  # no history to learn from
    assert row["progress_766"]["best"] == 0.5 and row["progress_766"]["worst"] == 0.25
