"""The pure part of a period close: the note guard, the content hash, the cells of a
report, and restatements (exactly the cells that differ, each with the dossiers of its
row)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from motcua.domain.closing import (
    Cell,
    CloseError,
    DossierChange,
    check_note,
    content_hash,
    dossier_changes,
    ii06a_cells,
    kpi_cells,
    restatements,
    within,
)
from motcua.domain.ii06a import FIGURES
from motcua.domain.metrics import finish_row


def test_a_note_is_short_free_text_without_personal_data():
    assert check_note("  gửi Bộ Nội vụ\nngày 15/3 ") == "gửi Bộ Nội vụ ngày 15/3"
    assert check_note(None) == ""
    for bad in ("liên hệ a.b@sonv.gov.vn", "gọi 0912 345 678", "CCCD 075123456789", "x" * 201):
        with pytest.raises(CloseError):
            check_note(bad)


def test_the_content_hash_depends_on_figures_not_on_order():
    a = [{"unit_level": "COMMUNE", "received": 3}, {"unit_level": "DISTRICT", "received": 1}]
    assert content_hash({"level": a}) == content_hash({"level": a[::-1]})
    assert content_hash({"level": a}) != content_hash({"level": [a[0], {**a[1], "received": 2}]})


def _row(unit: str, level: str, field: str, received: int, ended: int) -> dict:
    return finish_row(
        {"unit_code": unit, "unit_level": level, "field_code": field},
        {"received": received, "ended": ended, "ended_ok": ended, "ended_on_time": ended},
    )


def test_ii06a_cells_carry_the_form_totals():
    rows = [
        _row("U1", "COMMUNE", "F1", 3, 1),
        _row("U1", "COMMUNE", "F2", 2, 2),
        _row("U2", "DISTRICT", "F1", 5, 0),
    ]
    cells = ii06a_cells(rows)
    assert cells[Cell("ii06a", "COMMUNE", "U1", "", "received_total")] == 5  # the unit
    assert cells[Cell("ii06a", "COMMUNE", "", "", "resolved_total")] == 3  # the level
    assert cells[Cell("ii06a", "", "", "", "received_total")] == 10  # the province
    assert {c.column for c in cells} == set(FIGURES)


def test_kpi_cells_refuse_a_grouping_without_cell_keys():
    with pytest.raises(ValueError):
        kpi_cells([], "procedure")


KEYS = st.tuples(
    st.sampled_from(["", "COMMUNE", "DISTRICT"]),
    st.sampled_from(["", "U1", "U2"]),
    st.sampled_from(["", "F1"]),
)
CELLS = st.dictionaries(
    st.builds(
        lambda k, col: Cell("ii06a", *k, col), KEYS, st.sampled_from(["received_total", "resolved_late"])
    ),
    st.integers(0, 5),
)
AT = st.tuples(
    st.sampled_from(["COMMUNE", "DISTRICT"]), st.sampled_from(["U1", "U2"]), st.sampled_from(["F1", "F2"])
)
CHANGES = st.lists(
    st.builds(DossierChange, st.text("abc", min_size=1, max_size=3), st.none() | AT, st.none() | AT),
    max_size=6,
)


def _of_row(c: Cell, ch: DossierChange) -> bool:
    """The dossier counted, before or after its change, in the row of cell ``c``."""
    return any(
        at is not None
        and c.unit_level in ("", at[0])
        and c.unit_code in ("", at[1])
        and c.field_code in ("", at[2])
        for at in (ch.before, ch.after)
    )


@given(CELLS, CELLS, CHANGES)
def test_restatements_are_exactly_the_cells_that_differ(closed, live, changes):
    rs = restatements(closed, live, changes)
    moved = {c for c in set(closed) | set(live) if closed.get(c, 0) != live.get(c, 0)}
    assert {r.cell for r in rs} == moved
    for r in rs:
        assert (r.closed, r.live, r.delta) == (closed.get(r.cell, 0), live.get(r.cell, 0), r.live - r.closed)
        assert r.dossier_ids == sorted({ch.dossier_id for ch in changes if _of_row(r.cell, ch)})
    assert restatements(closed, dict(closed), changes) == []


def test_a_ratio_that_appears_is_a_restatement_and_rounding_is_not():
    a = {Cell("kpi_level", "COMMUNE", "", "", "on_time_rate"): None}
    b = {Cell("kpi_level", "COMMUNE", "", "", "on_time_rate"): 0.5}
    (r,) = restatements(a, b, [])
    assert r.delta is None and r.live == 0.5
    assert restatements({**b}, dict.fromkeys(b, 0.5 + 1e-12), []) == []


def test_dossier_changes_list_the_changed_the_new_and_the_gone():
    then = {
        "a": (("COMMUNE", "U1", "F1"), 1),
        "b": (("COMMUNE", "U1", "F1"), 2),
        "c": (("DISTRICT", "U2", "F1"), 3),
    }
    now = {
        "a": (("COMMUNE", "U1", "F1"), 1),
        "b": (("COMMUNE", "U2", "F1"), 9),
        "d": (("COMMUNE", "U1", "F2"), 4),
    }
    assert dossier_changes(then, now) == [
        DossierChange("b", ("COMMUNE", "U1", "F1"), ("COMMUNE", "U2", "F1")),
        DossierChange("c", ("DISTRICT", "U2", "F1"), None),
        DossierChange("d", None, ("COMMUNE", "U1", "F2")),
    ]


def test_within_keeps_a_level_or_a_unit():
    cells = {
        Cell("ii06a", "COMMUNE", "U1", "", "received_total"): 1,
        Cell("ii06a", "", "", "", "received_total"): 1,
    }
    rs = restatements(cells, {}, [])
    assert [r.cell.unit_code for r in within(rs, level="COMMUNE")] == ["U1"]
    assert [r.cell.unit_code for r in within(rs, unit="U1")] == ["U1"]
    assert len(within(rs)) == 2
