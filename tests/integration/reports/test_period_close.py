"""Period close on chDB: the closed figures stand still while late events, corrections and
a recompute after a calendar change move the live ones; the restatement lists exactly
the moved cells (computed by the pure reference from the facts before and after) with
exactly the dossiers that moved them; closing again makes version 2 with today's figures."""

from __future__ import annotations

from datetime import date

import pytest

from motcua.adapters.clickhouse_closes import FINGERPRINT_COLUMNS, ClosesRepository
from motcua.domain.closing import CloseError, DossierChange, restatements
from motcua.domain.lifecycle import derive_facts, fold
from motcua.domain.metrics import kpi_rows
from motcua.domain.periods import parse_period
from motcua.reference.official_calendar import default_calendar, package_calendar
from motcua.replay import EmbeddedPipeline, recompute
from motcua.reports.closing import cells_of, close_period, find_close, restatements_for
from motcua.simulate import simulate
from tests.builders import ENVELOPE, local_ms, make_event

# The package lacks the 2026-01-02 (off) / 2026-01-10 (working) swap: the official
# calendar moves due dates of dossiers received around New Year 2026, inside the
# official period 2026-01 (15/12/2025 .. 14/01/2026).
OLD, NEW = package_calendar(), default_calendar()
RP = parse_period("2026-01", "month", official=True, today=date(2026, 12, 1))
NOW_MS = local_ms(2026, 2, 25)
LATER_MS = local_ms(2026, 3, 2)
PROVINCE = "75"
TABLES = ("ii06a", "kpi_all", "kpi_level", "kpi_unit")


def snapshot(n: int, dossier: str, **fields) -> dict:
    e = dict(ENVELOPE, event_id=f"snap-{dossier}-{n}", dossier_id=dossier, event_type="SNAPSHOT")
    e["occurred_at"] = fields.get("resolved_at", fields["received_at"])
    e.update(fields)
    return e


@pytest.fixture(scope="module")
def history():
    """(events before the close, events after it)."""
    before = []
    for e in simulate(75, date(2025, 11, 20), date(2026, 1, 14), seed=5, scale=0.03):
        if isinstance(e, dict):
            if e["event_type"] == "RECEIVED":
                e = {k: v for k, v in e.items() if k != "due_at"}  # due date from the calendar
            before.append(e)
    # a dossier sent as DVCQG snapshots: resolved on time, then corrected (late)
    received = dict(received_at=local_ms(2026, 1, 5), due_at=local_ms(2026, 1, 8, 17), source_status=10)
    before.append(snapshot(1, "SNAP-1", **received, resolved_at=local_ms(2026, 1, 7)))
    after = [snapshot(2, "SNAP-1", **received, resolved_at=local_ms(2026, 1, 12))]
    # late events: dossiers in progress at the period end resolved inside the period, and a
    # dossier received inside the period that arrives only now
    facts = pure_facts(before, OLD)
    open_ids = sorted(d for d, f in facts.items() if f["received"] and not f["ended"])[:4]
    assert len(open_ids) == 4
    for i, d in enumerate(open_ids):
        unit = next(e for e in before if e["dossier_id"] == d)
        env = {k: unit[k] for k in ENVELOPE}
        after.append({**make_event(d, 900 + i, "RESOLVED", local_ms(2026, 1, 13, 10)), **env})
    after.append(make_event("LATE-NEW", 1, "RECEIVED", local_ms(2026, 1, 9), channel="DIRECT"))
    return before, after


def pure_facts(events, cal) -> dict[str, dict]:
    by: dict[str, list] = {}
    for e in events:
        by.setdefault(e["dossier_id"], []).append(dict(e))
    return {d: derive_facts(fold(d, evs), cal) for d, evs in by.items()}


def pure_rows(facts: dict[str, dict]):
    return lambda by: kpi_rows(facts.values(), RP.period, RP.period.end_ms, by, NEW)


def counts(f: dict) -> bool:
    p = RP.period
    return (
        bool(f["received"]) and f["received_at"] < p.end_ms and not (f["ended"] and f["end_at"] < p.start_ms)
    )


def pure_changes(then: dict[str, dict], now: dict[str, dict]) -> list[DossierChange]:
    out = []
    for d in sorted(set(then) | set(now)):
        a = then.get(d) if d in then and counts(then[d]) else None
        b = now.get(d) if d in now and counts(now[d]) else None
        if a is not None and b is not None and all(a[c] == b[c] for c in FINGERPRINT_COLUMNS):
            continue
        if a is None and b is None:
            continue
        at = lambda f: (f["unit_level"], f["unit_code"], f["field_code"])  # noqa: E731
        out.append(DossierChange(d, at(a) if a else None, at(b) if b else None))
    return out


def replay(store, events, cal):
    EmbeddedPipeline(store, cal, batch_size=500).ingest((f"t:{i}", e) for i, e in enumerate(events))


def test_closed_figures_stand_still_and_the_restatement_names_what_moved(new_store, history):
    before, after = history
    store = new_store()
    replay(store, before, OLD)
    h1 = close_period(store, RP, OLD, NOW_MS, PROVINCE, note="gửi Bộ Nội vụ ngày 15/01")
    assert (h1.version, h1.note, h1.period_code) == (1, "gửi Bộ Nội vụ ngày 15/01", "2026-01")
    closed = find_close(store, PROVINCE, RP)
    assert closed is not None
    facts_then = pure_facts(before, OLD)
    for by in ("all", "level", "unit", "unit_field"):
        assert closed.kpi(by) == kpi_rows(facts_then.values(), RP.period, RP.period.end_ms, by, OLD)
    frozen = {g: list(rs) for g, rs in closed.rows.items()}
    assert restatements_for(store, closed, RP, OLD, NOW_MS) == []

    replay(store, after, OLD)  # late events and a correction
    recompute(store, NEW, batch_size=300).run(date(2025, 11, 1), date(2026, 1, 31))  # calendar change

    again = find_close(store, PROVINCE, RP)
    assert again is not None and again.header == h1 and again.rows == frozen  # nothing moved
    facts_now = pure_facts(before + after, NEW)
    changes = pure_changes(facts_then, facts_now)
    assert {"SNAP-1", "LATE-NEW"} <= {c.dossier_id for c in changes}
    touched = {e["dossier_id"] for e in after}
    assert {c.dossier_id for c in changes} - touched  # the calendar change moved others
    expected = restatements(
        cells_of(pure_rows(facts_then), TABLES), cells_of(pure_rows(facts_now), TABLES), changes
    )
    got = restatements_for(store, again, RP, NEW, LATER_MS, tables=TABLES)
    assert got and [r.to_json() for r in got] == [r.to_json() for r in expected]
    moved_ids = {d for r in got for d in r.dossier_ids}
    assert moved_ids <= {c.dossier_id for c in changes} and "SNAP-1" in moved_ids

    h2 = close_period(store, RP, NEW, LATER_MS, PROVINCE)
    assert h2.version == 2 and h2.content_hash != h1.content_hash
    v2 = find_close(store, PROVINCE, RP)
    assert v2 is not None and v2.header == h2
    for by in ("all", "level", "unit", "unit_field"):
        assert v2.kpi(by) == store.kpi(RP.period, RP.period.end_ms, by, NEW)
    assert restatements_for(store, v2, RP, NEW, LATER_MS) == []
    # version 1 is kept, unchanged
    v1 = find_close(store, PROVINCE, RP, version=1)
    assert v1 is not None and v1.rows == frozen
    assert [h.version for h in ClosesRepository(store).headers(PROVINCE)] == [1, 2]


def test_an_open_or_calendar_period_is_not_closed(store):
    with pytest.raises(CloseError, match="chưa kết thúc"):
        close_period(store, RP, NEW, RP.period.end_ms - 1, PROVINCE)
    cal_month = parse_period("2026-01", "month", official=False, today=date(2026, 12, 1))
    with pytest.raises(CloseError, match="chính thức"):
        close_period(store, cal_month, NEW, NOW_MS, PROVINCE)
    with pytest.raises(CloseError, match="dữ liệu cá nhân"):
        close_period(store, RP, NEW, NOW_MS, PROVINCE, note="liên hệ 0912345678")
    assert ClosesRepository(store).headers(PROVINCE) == []
