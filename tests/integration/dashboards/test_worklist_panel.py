"""The drill-down's "Hồ sơ cần xử lý gấp" panel, macros expanded, on the simulated March:
the rows of ``motcua worklist`` (the store SQL) and of the pure reference, for a unit,
at several range ends, with the calendar read from ``work_calendar``."""

from __future__ import annotations

import pytest

from motcua.adapters.clickhouse_worklist import read_worklist
from motcua.dashboards import panels as P
from motcua.dashboards.macros import PanelContext
from motcua.dashboards.runner import PanelRunner
from motcua.domain.worklist import worklist_rows
from tests.builders import local_ms

from .conftest import CAL


@pytest.fixture(scope="module")
def facts(loaded_store):
    ids = [
        r[0]
        for r in loaded_store.client.query(
            f"SELECT dossier_id FROM {loaded_store.db}.dossier_state FINAL"
        ).result_rows
    ]
    return list(loaded_store.facts_of(ids).values())


@pytest.mark.parametrize(
    "t",
    [
        local_ms(2025, 3, 14, 23, 59) + 59_999,
        local_ms(2025, 3, 19, 10),
        local_ms(2025, 3, 31, 23, 59) + 59_999,
    ],
    ids=["14/03 end of day", "19/03 10:00", "31/03 end of day"],
)
def test_worklist_panel_equals_the_cli_rows_and_the_pure_ones(loaded_store, facts, t):
    pure = worklist_rows(facts, t, P.WORKLIST_WITHIN, CAL)
    assert read_worklist(loaded_store, t, P.WORKLIST_WITHIN, CAL) == pure
    unit = max({r.unit_code for r in pure}, key=lambda u: sum(r.unit_code == u for r in pure))
    ctx = PanelContext(local_ms(2025, 3, 1, 0), t, {"unit": [unit]})
    rows = PanelRunner(loaded_store).dicts(P.worklist_panel(), ctx)
    expected = [r for r in pure if r.unit_code == unit][: P.WORKLIST_LIMIT]
    assert len(rows) == len(expected) > 0
    for got, want in zip(rows, expected):
        assert got["dossier_id"] == want.dossier_id
        assert (got["due_date"] and got["due_date"].toordinal()) == want.due_date
        assert got["working_days_left"] == want.working_days_left
        assert got["waiting_for_supplement"] == ("Có" if want.waiting else "")
        assert got["rate_impact_points"] == pytest.approx(want.rate_impact)
        assert int(got["received_at_local"].timestamp()) == want.received_at // 1000
    assert all(r["unit_name"] and r["procedure_name"] and r["field_name"] for r in rows)


def test_worklist_panel_limits_its_rows(loaded_store, facts):
    t = local_ms(2025, 3, 31, 23, 59)
    ctx = PanelContext(local_ms(2025, 3, 1, 0), t, {})
    rows = PanelRunner(loaded_store).dicts(P.worklist_panel(limit=5), ctx)
    assert [r["dossier_id"] for r in rows] == [r.dossier_id for r in worklist_rows(facts, t, 2, CAL, limit=5)]
