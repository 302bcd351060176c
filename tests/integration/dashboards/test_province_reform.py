"""The dashboards across the 2025 province merger, on chDB: a store with Đồng Nai ("75"),
Bình Phước's dossiers under its former code ("70", units H70.*) and Hà Nội under "1".
The province variable lists new provinces only; choosing Đồng Nai counts Bình Phước's
dossiers, as ``--province 75`` of the reports does."""

from __future__ import annotations

from datetime import date

import pytest

from motcua.adapters.clickhouse_reports import province_scope
from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.adapters.clickhouse_targets import TargetsRepository
from motcua.dashboards import panels as P
from motcua.dashboards.macros import PanelContext
from motcua.dashboards.runner import PanelRunner
from motcua.domain.periods import Period
from motcua.replay import EmbeddedPipeline
from motcua.simulate import simulate

from .conftest import CAL

JUNE = Period(date(2025, 6, 1), date(2025, 7, 1))
CTX_DAYS = (date(2025, 6, 1), date(2025, 6, 30))


def _sim(code, seed, scale):
    return [
        e
        for e in simulate(code, date(2025, 6, 2), date(2025, 6, 27), seed=seed, scale=scale)
        if isinstance(e, dict)
    ]


@pytest.fixture(scope="module")
def store(chdb_path):
    st = ClickHouseStore(f"chdb://{chdb_path}?database=panels_reform")
    st.load_calendar(CAL)
    bp = [
        {
            k: (
                v.replace("H75.", "H70.")
                if isinstance(v, str) and k in ("unit_code", "transferred_to_unit", "dossier_id", "event_id")
                else v
            )
            for k, v in e.items()
        }
        for e in _sim("75", 32, 0.01)
    ]
    bp = [
        dict(e, province_code="70", dossier_id="bp-" + e["dossier_id"], event_id="bp-" + e["event_id"])
        for e in bp
    ]
    hn = [dict(e, province_code="1") for e in _sim("01", 33, 0.005)]
    events = _sim("75", 31, 0.02) + bp + hn
    EmbeddedPipeline(st, CAL).ingest((f"r:{i}", e) for i, e in enumerate(events))
    repo = TargetsRepository(st)
    repo.load_reference_names(repo.stored_provinces(), repo.stored_unit_codes())
    return st


def test_the_province_variable_lists_new_provinces_only(store):
    run = PanelRunner(store)
    _cols, rows = run.query(P.VAR_PROVINCE, PanelContext(0, 0, {}))
    assert [r[0] for r in rows] == ["01", "75"]  # no "70", and Hà Nội's "1" is "01"
    assert dict(rows) == {"01": "Thành phố Hà Nội", "75": "Đồng Nai"}


def test_choosing_dong_nai_counts_binh_phuoc(store):
    run = PanelRunner(store)
    for province, codes in ((["75"], ["70", "75"]), (["01"], ["1"])):
        ctx = PanelContext.for_days(*CTX_DAYS, province=province)
        rows = run.dicts(P.rates_by_level("month"), ctx)
        expected = {
            r["unit_level"]: r for r in province_scope(store, codes).kpi(JUNE, ctx.to_ms, "level", CAL)
        }
        assert rows and {r["unit_level"] for r in rows} == set(expected)
        for r in rows:
            e = expected[r["unit_level"]]
            assert (r["numerator"], r["denominator"]) == (
                e[f"{r['metric_id']}_num"],
                e[f"{r['metric_id']}_den"],
            )
    # Bình Phước is a real part of it: Đồng Nai alone has fewer dossiers
    ctx = PanelContext.for_days(*CTX_DAYS, province=["75"])
    on_time = {
        r["unit_level"]: r
        for r in run.dicts(P.rates_by_level("month"), ctx)
        if r["metric_id"] == "online_filing_rate"
    }
    alone = {r["unit_level"]: r for r in province_scope(store, ["75"]).kpi(JUNE, ctx.to_ms, "level", CAL)}
    assert sum(r["denominator"] for r in on_time.values()) > sum(
        r["online_filing_rate_den"] for r in alone.values()
    )


def test_the_unit_variable_of_dong_nai_lists_binh_phuoc_units(store):
    run = PanelRunner(store)
    _cols, rows = run.query(P.VAR_UNIT, PanelContext(0, 0, {"province": ["75"]}))
    codes = {r[0] for r in rows}
    assert any(c.startswith("H70.") for c in codes) and any(c.startswith("H75.") for c in codes)
    assert not any(c.startswith("H01.") for c in codes)


def test_reference_names_list_each_unit_once(store):
    rows = store.client.query(
        f"SELECT code, count() FROM {store.db}.reference_names WHERE kind = 'unit' "
        "GROUP BY code HAVING count() > 1"
    ).result_rows
    assert rows == []
