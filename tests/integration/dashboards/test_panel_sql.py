"""Every panel's SQL, with its Grafana macros and variables expanded, runs against the
embedded ClickHouse loaded with simulated data and gives the figures of `motcua kpi`
(``ClickHouseStore.kpi``) for the same period."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from motcua.bootstrap import plan_targets
from motcua.dashboards import panels as P
from motcua.dashboards.macros import PanelContext
from motcua.dashboards.runner import PanelRunner
from motcua.domain.lifecycle import status_at
from motcua.domain.periods import Period
from motcua.domain.targets import effective_target
from motcua.domain.vocabulary import LEVEL_SHORT_LABELS
from motcua.settings import get_settings

from .conftest import CAL

MARCH = Period(date(2025, 3, 1), date(2025, 4, 1))
CTX = PanelContext.for_days(date(2025, 3, 1), date(2025, 3, 31))
AS_OF = CTX.to_ms  # 31/03/2025 23:59:59.999 local, after the last simulated event
TARGETS = plan_targets(get_settings())


@pytest.fixture(scope="module")
def run(loaded_store):
    return PanelRunner(loaded_store)


def kpi(store, period, by, as_of=AS_OF):
    return store.kpi(period, as_of, by, CAL)


@pytest.mark.parametrize("query", P.all_queries(), ids=lambda q: q.key)
def test_every_panel_query_runs_and_returns_its_columns(run, query):
    ctx = PanelContext(0, 4102444800000, {}) if query.key.startswith("dead_letters") else CTX
    cols, rows = run.query(query.sql, ctx)
    assert rows, query.key
    if query.kind == "timeseries":
        assert cols == ["time", "series", "value"]
    assert len(set(cols)) == len(cols)


@pytest.mark.parametrize(
    "period, span",
    [
        ("day", Period(date(2025, 3, 31), date(2025, 4, 1))),
        ("month", MARCH),
        ("year", Period(date(2025, 1, 1), date(2025, 4, 1))),
    ],
)
def test_rates_by_level_equal_kpi_with_targets(loaded_store, run, period, span):
    rows = run.dicts(P.rates_by_level(period), CTX)
    expected = {r["unit_level"]: r for r in kpi(loaded_store, span, "level")}
    assert {r["unit_level"] for r in rows} == set(expected)
    assert {r["metric_id"] for r in rows} == {m.id for m in P.RATE_METRICS}
    for r in rows:
        e = expected[r["unit_level"]]
        assert (r["numerator"], r["denominator"]) == (e[f"{r['metric_id']}_num"], e[f"{r['metric_id']}_den"])
        assert (
            r["ratio"] == pytest.approx(e[r["metric_id"]], abs=1e-6)
            if e[r["metric_id"]] is not None
            else r["ratio"] is None
        )
        t = effective_target(
            TARGETS, "75", r["metric_id"], span.end - timedelta(days=1), level=r["unit_level"]
        )
        assert r["target"] == (t.value if t else None)
        if t is not None and r["ratio"] is not None:
            assert bool(r["met"]) == t.met(r["ratio"])
    on_time = {r["unit_level"]: r for r in rows if r["metric_id"] == "on_time_rate"}
    assert on_time["COMMUNE"]["target"] == 0.96


def test_headline_and_backlog_equal_kpi(loaded_store, run):
    (all_row,) = kpi(loaded_store, MARCH, "all")
    (h,) = run.dicts(P.headline("on_time_rate", "month"), CTX)
    assert (h["numerator"], h["denominator"]) == (all_row["on_time_rate_num"], all_row["on_time_rate_den"])
    (b,) = run.dicts(P.backlog_counts(False), CTX)
    assert (b["in_progress"], b["overdue"], b["due_soon"]) == (
        all_row["in_progress"],
        all_row["in_progress_overdue"],
        all_row["due_soon"],
    )
    assert b["overdue"] > 0 and b["due_soon"] > 0
    by_level = {r["unit_level"]: r for r in kpi(loaded_store, MARCH, "level")}
    for r in run.dicts(P.backlog_counts(True), CTX):
        e = by_level[r["unit_level"]]
        assert (r["in_progress"], r["overdue"], r["due_soon"]) == (
            e["in_progress"],
            e["in_progress_overdue"],
            e["due_soon"],
        )


def test_backlog_seen_from_an_earlier_day_moves_only_the_clock(loaded_store, run):
    from motcua.domain.metrics import backlog_due

    ctx = PanelContext.for_days(date(2025, 3, 1), date(2025, 3, 20))
    (b,) = run.dicts(P.backlog_counts(False), ctx)
    ids = [
        r[0]
        for r in loaded_store.client.query(
            f"SELECT dossier_id FROM {loaded_store.db}.dossier_state FINAL"
        ).result_rows
    ]
    dues = [d for d in (backlog_due(f) for f in loaded_store.facts_of(ids).values()) if d is not None]
    today = date(2025, 3, 20).toordinal()
    next_wd = CAL.next_working_day(today)
    assert b["in_progress"] == len(dues)
    assert b["overdue"] == sum(d < today for d in dues)
    assert b["due_soon"] == sum(d in (today, next_wd) for d in dues)


def test_trend_points_equal_kpi_of_their_day(loaded_store, run):
    rows = run.dicts(P.trend("on_time_rate"), CTX)
    day = date(2025, 3, 14)
    points = {r["series"]: r["value"] for r in rows if r["time"].astimezone(CTX_TZ()).date() == day}
    expected = kpi(loaded_store, Period(day, day + timedelta(days=1)), "level")
    assert points
    for e in expected:
        if e["on_time_rate"] is not None:
            assert points[LEVEL_SHORT_LABELS[e["unit_level"]]] == pytest.approx(e["on_time_rate"], abs=1e-6)
    lines = run.dicts(P.trend_targets("online_filing_rate"), CTX)
    assert {(r["series"], r["value"]) for r in lines} == {
        ("Chỉ tiêu Cấp tỉnh", 0.7),
        ("Chỉ tiêu Cấp huyện", 0.3),
        ("Chỉ tiêu Cấp xã", 0.2),
    }


def CTX_TZ():
    from motcua.domain.calendar import VN_TZ

    return VN_TZ


def test_ranking_equals_kpi_by_unit_with_targets_and_bottom_n(loaded_store, run):
    by_unit = {r["unit_code"]: r for r in kpi(loaded_store, MARCH, "unit")}
    ctx = PanelContext(CTX.from_ms, CTX.to_ms, {"bottom_n": "10", "min_volume": "20"})
    rows = run.dicts(P.ranking("rate"), ctx)
    assert len(rows) == 10
    ratios = [r["ratio"] for r in rows]
    assert ratios == sorted(ratios)
    eligible = sorted(r["on_time_rate"] for r in by_unit.values() if r["on_time_rate_den"] >= 20)
    assert ratios == pytest.approx(eligible[:10])
    for r in rows:
        e = by_unit[r["unit_code"]]
        assert (r["ended"], r["ended_ok"]) == (e["on_time_rate_den"], e["on_time_rate_num"])
        assert r["overdue_now"] == e["in_progress_overdue"]
        assert r["target"] == 0.96 and r["gap"] == pytest.approx(r["ratio"] - 0.96)
        assert r["unit_name"] and not r["unit_name"].startswith("H75.")
    gaps = [r["gap"] for r in run.dicts(P.ranking("gap"), ctx)]
    assert gaps == sorted(gaps)


@pytest.mark.parametrize(
    "first, last",
    [
        (date(2025, 3, 10), date(2025, 3, 31)),  # days only
        (date(2025, 2, 15), date(2025, 3, 31)),  # days + a whole month
        (date(2025, 3, 1), date(2025, 3, 20)),
    ],
)  # days only, from the 1st
def test_ranking_over_partial_months_equals_kpi(loaded_store, run, first, last):
    ctx = PanelContext.for_days(first, last, bottom_n="100", min_volume="1")
    by_unit = {
        r["unit_code"]: r
        for r in kpi(loaded_store, Period(first, last + timedelta(days=1)), "unit", as_of=ctx.to_ms)
    }
    rows = run.dicts(P.ranking("rate"), ctx)
    assert len(rows) == min(100, sum(1 for r in by_unit.values() if r["on_time_rate_den"]))
    for r in rows:
        assert (r["ended"], r["ended_ok"]) == (
            by_unit[r["unit_code"]]["on_time_rate_den"],
            by_unit[r["unit_code"]]["on_time_rate_num"],
        )


def test_filters_level_unit_and_field_route_to_the_right_rows(loaded_store, run):
    ctx = PanelContext(CTX.from_ms, CTX.to_ms, {"level": ["COMMUNE"]})
    assert {r["unit_level"] for r in run.dicts(P.rates_by_level("month"), ctx)} == {"COMMUNE"}
    by_field = {r["field_code"]: r for r in kpi(loaded_store, MARCH, "field")}
    field = max(by_field, key=lambda f: by_field[f]["on_time_rate_den"])
    ctx = PanelContext(CTX.from_ms, CTX.to_ms, {"field": [field]})
    (h,) = run.dicts(P.headline("on_time_rate", "month"), ctx)
    assert (h["numerator"], h["denominator"]) == (
        by_field[field]["on_time_rate_num"],
        by_field[field]["on_time_rate_den"],
    )
    by_unit = {r["unit_code"]: r for r in kpi(loaded_store, MARCH, "unit")}
    unit = max(by_unit, key=lambda u: by_unit[u]["in_progress_overdue"])
    ctx = PanelContext(CTX.from_ms, CTX.to_ms, {"unit": [unit]})
    (b,) = run.dicts(P.backlog_counts(False), ctx)
    assert b["overdue"] == by_unit[unit]["in_progress_overdue"]
    (h,) = run.dicts(P.headline("on_time_rate", "month"), ctx)  # routed to the per-unit rollup
    assert (h["numerator"], h["denominator"]) == (
        by_unit[unit]["on_time_rate_num"],
        by_unit[unit]["on_time_rate_den"],
    )
    channels = run.dicts(P.unit_breakdown("channel"), ctx)
    assert sum(r["received"] for r in channels) == by_unit[unit]["received"]
    assert {r["name"] for r in channels} <= set(P.CHANNEL_NAMES)
    procs = run.dicts(P.unit_breakdown("procedure"), ctx)
    assert sum(r["ended"] for r in procs) == by_unit[unit]["ended"]


def test_overdue_list_names_exactly_the_overdue_dossiers_of_the_unit(loaded_store, run):
    by_unit = {r["unit_code"]: r for r in kpi(loaded_store, MARCH, "unit")}
    unit = max(by_unit, key=lambda u: by_unit[u]["in_progress_overdue"])
    ctx = PanelContext(CTX.from_ms, CTX.to_ms, {"unit": [unit]})
    rows = run.dicts(P.OVERDUE_LIST, ctx)
    assert len(rows) == by_unit[unit]["in_progress_overdue"] > 0
    facts = loaded_store.facts_of([r["dossier_id"] for r in rows])
    for r in rows:
        s = status_at(facts[r["dossier_id"]], AS_OF, CAL)
        assert s.in_progress and s.overdue and r["unit_code"] == unit


def test_index766_progress_equals_kpi_progress_766_per_unit(loaded_store, run):
    by_unit = {r["unit_code"]: r for r in kpi(loaded_store, MARCH, "unit")}
    rows = run.dicts(P.INDEX_766, CTX)
    assert len(rows) == len([u for u in by_unit.values() if u["progress_766_den"]])
    for r in rows:
        e = by_unit[r["unit_code"]]
        exact = e["progress_766_num"] / e["progress_766_den"]
        assert r["progress"] == pytest.approx(exact, abs=1e-12)
        assert r["received"] + r["carried_over"] == e["progress_766_den"]
        assert r["progress_score"] == pytest.approx(round(20 * exact, 2))
        if e["online_payment_rate_den"]:
            assert r["payment_dossier_online"] == pytest.approx(
                e["online_payment_rate_num"] / e["online_payment_rate_den"]
            )
        assert 0 <= r["so_hoa_score"] <= 4 and 0 <= r["reused_score"] <= 2


def test_dead_letters_panel_counts_the_store(loaded_store, run):
    ctx = PanelContext(0, 4102444800000, {})
    rows = run.dicts(P.DEAD_LETTERS_BY_CODE, ctx)
    assert sorted((r["code"], r["dead_letters"]) for r in rows) == sorted(loaded_store.dead_letter_summary())


def test_per_unit_rollups_equal_the_fine_rollups(loaded_store):
    c, db = loaded_store.client, loaded_store.db
    fine = c.query(
        f"SELECT sum(received), sum(ended), sum(ended_ok), sum(working_days) FROM {db}.kpi_daily"
    ).result_rows
    coarse = c.query(
        f"SELECT sum(received), sum(ended), sum(ended_ok), sum(working_days) FROM {db}.kpi_daily_unit"
    ).result_rows
    level = c.query(
        f"SELECT sum(received), sum(ended), sum(ended_ok), sum(working_days) FROM {db}.kpi_daily_level"
    ).result_rows
    monthly = c.query(
        f"SELECT sum(received), sum(ended), sum(ended_ok), sum(working_days) FROM {db}.kpi_monthly_unit"
    ).result_rows
    assert fine == coarse == level == monthly
    b1 = c.query(
        f"SELECT unit_code, due_date, sum(open) s FROM {db}.open_backlog GROUP BY 1, 2 HAVING s != 0 ORDER BY 1, 2"
    ).result_rows
    b2 = c.query(
        f"SELECT unit_code, due_date, sum(open) s FROM {db}.open_backlog_unit GROUP BY 1, 2 HAVING s != 0 ORDER BY 1, 2"
    ).result_rows
    b3 = c.query(
        f"SELECT unit_level, due_date, sum(open) s FROM {db}.open_backlog GROUP BY 1, 2 HAVING s != 0 ORDER BY 1, 2"
    ).result_rows
    b4 = c.query(
        f"SELECT unit_level, due_date, sum(open) s FROM {db}.open_backlog_level GROUP BY 1, 2 HAVING s != 0 ORDER BY 1, 2"
    ).result_rows
    assert b1 == b2 and b1 and b3 == b4
    b5 = c.query(
        f"SELECT unit_code, sum(open) s FROM {db}.open_backlog GROUP BY 1 HAVING s != 0 ORDER BY 1"
    ).result_rows
    b6 = c.query(
        f"SELECT unit_code, sum(open) s FROM {db}.open_backlog_total_unit GROUP BY 1 HAVING s != 0 ORDER BY 1"
    ).result_rows
    b7 = c.query(
        f"SELECT unit_code, due_date, sum(open) s FROM {db}.open_backlog_due_unit GROUP BY 1, 2 HAVING s != 0 ORDER BY 1, 2"
    ).result_rows
    assert b5 == b6 and b5 and b1 == b7
