"""The 2025 province merger through real chDB: Bình Phước (70) merged into Đồng Nai (75)
on 2025-07-01. Dossiers received before that date carry "70" (all their events, also
those after July); Đồng Nai's carry "75"; a little of Hà Nội makes every read filtered by
province. Đồng Nai's reports must include Bình Phước's dossiers for 2025 periods (a June
dossier resolved in August is in Đồng Nai's August figures) and its 2026 monthly report
must compare with year-earlier figures that include them."""

from __future__ import annotations

from datetime import date

import docx
import orjson
import pytest
from typer.testing import CliRunner

from motcua.cli.main import app
from motcua.domain.calendar import local_midnight_ms
from motcua.domain.ii06a import build_report
from motcua.domain.metrics import kpi_rows
from motcua.domain.periods import parse_period
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.simulate import simulate
from tests.integration.reports.conftest import facts_of_events, store_dsn

cal = default_calendar()
runner = CliRunner()
JUNE_25, AUG_25 = parse_period("2025-06"), parse_period("2025-08")
MERGED_NOTE = "Số liệu trước 01/07/2025 gồm: tỉnh Đồng Nai, tỉnh Bình Phước"


def _sim(code, start, end, seed, scale):
    return [e for e in simulate(code, start, end, seed=seed, scale=scale) if isinstance(e, dict)]


def _as_binh_phuoc(events):
    """Simulated dossiers as Bình Phước's source sent them: province "70", units H70.*."""
    out = []
    for e in events:
        e = {
            k: (
                v.replace("H75.", "H70.")
                if isinstance(v, str) and k in ("unit_code", "transferred_to_unit", "dossier_id", "event_id")
                else v
            )
            for k, v in e.items()
        }
        out.append(
            dict(
                e,
                province_code="70",
                source_system="motcua-binhphuoc",
                dossier_id="bp-" + e["dossier_id"],
                event_id="bp-" + e["event_id"],
            )
        )
    return out


@pytest.fixture(scope="module")
def reform_events():
    dong_nai_2025 = _sim("75", date(2025, 5, 1), date(2025, 8, 31), 21, 0.006)
    # Bình Phước's dossiers: those received before 2025-07-01, with all their events
    # (the simulator stops at its end date, so it runs to August and later receptions go)
    bp = _sim("75", date(2025, 5, 1), date(2025, 8, 31), 22, 0.004)
    july = local_midnight_ms(date(2025, 7, 1))
    first = {}
    for e in bp:
        first[e["dossier_id"]] = min(first.get(e["dossier_id"], e["occurred_at"]), e["occurred_at"])
    binh_phuoc = _as_binh_phuoc([e for e in bp if first[e["dossier_id"]] < july])
    dong_nai_2026 = _sim("75", date(2026, 5, 1), date(2026, 6, 30), 23, 0.006)
    ha_noi = _sim("01", date(2025, 6, 2), date(2025, 6, 10), 24, 0.002)
    return {"dn": dong_nai_2025 + dong_nai_2026, "bp": binh_phuoc, "hn": ha_noi}


@pytest.fixture(scope="module")
def reform_store(chdb_path, reform_events):
    from motcua.adapters.clickhouse_store import ClickHouseStore

    store = ClickHouseStore(f"chdb://{chdb_path}?database=reports_reform")
    events = [e for evs in reform_events.values() for e in evs]
    EmbeddedPipeline(store, cal).ingest((f"r:{i}", e) for i, e in enumerate(events))
    return store


def _facts(events):
    return facts_of_events(events)


def _pure(events, rp, by):
    return kpi_rows(_facts(events), rp.period, rp.period.end_ms, by, cal)


def _ii06a(store, period, *args):
    res = runner.invoke(
        app, ["report", "ii06a", "--period", period, "--format", "json", "--store", store_dsn(store), *args]
    )
    assert res.exit_code == 0, res.output
    return orjson.loads(res.stdout), " ".join(res.output.split())


def test_a_2025_report_of_dong_nai_includes_binh_phuoc(reform_store, reform_events):
    both = reform_events["dn"] + reform_events["bp"]
    for rp in (JUNE_25, AUG_25):
        expected = build_report(_pure(both, rp, "unit_field"), rp.start, rp.end)
        alone = build_report(_pure(reform_events["dn"], rp, "unit_field"), rp.start, rp.end)
        for alias in ("75", "Đồng Nai", "70", "Bình Phước", "H70"):
            doc, said = _ii06a(reform_store, rp.code, "--province", alias)
            assert doc["total"] == expected.total, (rp.code, alias)
            if alias in ("70", "Bình Phước", "H70"):
                assert "Bình Phước (nay thuộc tỉnh Đồng Nai): báo cáo cho tỉnh Đồng Nai" in said
        # Bình Phước's dossiers are in: June's receptions, and in August those received
        # in June and resolved in August
        key = "received_total" if rp is JUNE_25 else "resolved_total"
        assert doc["total"][key] > alone.total[key], rp.code


def test_the_2025_document_names_the_former_provinces(reform_store, tmp_path):
    dsn = store_dsn(reform_store)
    for period, noted in (("2025-06", True), ("2025-08", False)):
        out = tmp_path / f"{period}.docx"
        res = runner.invoke(
            app,
            [
                "report",
                "ii06a",
                "--period",
                period,
                "--province",
                "75",
                "--format",
                "docx",
                "--out",
                str(out),
                "--store",
                dsn,
            ],
        )
        assert res.exit_code == 0, res.output
        texts = [p.text for p in docx.Document(out).paragraphs]
        assert (MERGED_NOTE in texts) is noted, period


def test_the_2026_monthly_report_compares_with_the_merged_year_before(reform_store, reform_events, tmp_path):
    from motcua.adapters.clickhouse_reports import province_counts, province_scope
    from motcua.reports.data import monthly_from_store
    from motcua.reports.province import choose_province

    choice = choose_province(province_counts(reform_store), "75")
    assert choice.province.store_codes == ("70", "75") and choice.needs_filter
    scoped = province_scope(reform_store, choice.province.store_codes)
    rp = parse_period("2026-06")
    d = monthly_from_store(
        scoped, rp, cal, rp.period.end_ms + 1, [], "75", "Đồng Nai", months=2, scope=choice.province
    )
    assert d.year_ago == JUNE_25
    both = _pure(reform_events["dn"] + reform_events["bp"], JUNE_25, "all")[0]
    alone = _pure(reform_events["dn"], JUNE_25, "all")[0]
    assert d.year_ago_all["received"] == both["received"] > alone["received"]
    assert d.year_ago_all["on_time_rate"] == both["on_time_rate"]
    now = _pure(reform_events["dn"], rp, "all")[0]
    assert d.current_all["received"] == now["received"]
    assert MERGED_NOTE in d.notes  # the year-earlier figures are from before the merger
    # the year-earlier unit rows: Bình Phước's sở counted under Đồng Nai's, Đồng Nai's
    # districts under their successor communes (Bình Phước's districts and communes have
    # none in the shipped reference data: a deployment's unit registry supplies them)
    assert not any(c.startswith(("H70.SO.", "H70.TW.")) for c in d.year_ago_units)
    assert not any(c.startswith("H75.H.") for c in d.year_ago_units)
    stp = d.year_ago_units["H75.SO.STP"]
    dn_stp = [r for r in _pure(reform_events["dn"], JUNE_25, "unit") if r["unit_code"] == "H75.SO.STP"]
    assert stp["received"] > (dn_stp[0]["received"] if dn_stp else 0)
    out = tmp_path / "2026-06.docx"
    res = runner.invoke(
        app,
        [
            "report",
            "monthly",
            "--month",
            "2026-06",
            "--province",
            "Đồng Nai",
            "--out",
            str(out),
            "--store",
            store_dsn(reform_store),
        ],
    )
    assert res.exit_code == 0, res.output
    doc = docx.Document(out)
    texts = [p.text for p in doc.paragraphs]
    assert MERGED_NOTE in texts
    assert any(t.startswith("So với cùng kỳ năm trước (tháng 06/2025): tiếp nhận mới") for t in texts)
    yoy = next(t for t in doc.tables if [c.text for c in t.rows[0].cells][3:4] == ["Cùng kỳ năm trước"])
    assert yoy.rows[0].cells[4].text == "Chênh lệch" and len(yoy.rows) > 1
    assert any("điểm %" in r.cells[4].text for r in yoy.rows[1:])


def test_a_former_unit_follows_its_successor_in_the_comparison():
    from motcua.reference import successor_of
    from motcua.reports.data import successor_unit, units_under_successors

    assert successor_unit("H70.SO.STP") == "H75.SO.STP"
    assert successor_unit("H75.H.01") == successor_of("H75.H.01")
    assert successor_unit("H75.X.26068") == "H75.X.26068"
    rows = [
        {
            "unit_code": "H70.SO.STP",
            "unit_level": "PROVINCE",
            "on_time_rate_num": 1,
            "on_time_rate_den": 4,
            "on_time_rate": 0.25,
            "received": 4,
        },
        {
            "unit_code": "H75.SO.STP",
            "unit_level": "PROVINCE",
            "on_time_rate_num": 6,
            "on_time_rate_den": 6,
            "on_time_rate": 1.0,
            "received": 6,
        },
    ]
    (merged,) = units_under_successors(rows)
    assert merged["unit_code"] == "H75.SO.STP" and merged["received"] == 10
    assert merged["on_time_rate"] == 0.7  # (1 + 6) / (4 + 6): rule zero, not a mean of rates


def test_kpi_of_a_province_includes_its_predecessors(reform_store, reform_events):
    from motcua.domain.periods import Period

    june = Period(date(2025, 6, 1), date(2025, 7, 1))
    as_of = june.end_ms
    for alias, events in (
        ("75", reform_events["dn"] + reform_events["bp"]),
        ("Bình Phước", reform_events["dn"] + reform_events["bp"]),
        ("01", reform_events["hn"]),
    ):
        res = runner.invoke(
            app,
            [
                "kpi",
                "--from",
                "2025-06-01",
                "--to",
                "2025-07-01",
                "--by",
                "all",
                "--as-of",
                "2025-07-01",
                "--format",
                "json",
                "--province",
                alias,
                "--store",
                store_dsn(reform_store),
            ],
        )
        assert res.exit_code == 0, res.output
        (row,) = orjson.loads(res.stdout)
        (pure,) = kpi_rows(_facts(events), june, as_of, "all", cal)
        assert (row["received"], row["ended"], row["on_time_rate"]) == (
            pure["received"],
            pure["ended"],
            pure["on_time_rate"],
        ), alias


def test_index766_json_names_the_former_provinces_of_a_2025_period(reform_store):
    for period, notes in (("2025-Q2", [MERGED_NOTE]), ("2025-08", [])):
        res = runner.invoke(
            app,
            [
                "index766",
                "--period",
                period,
                "--province",
                "70",
                "--format",
                "json",
                "--store",
                store_dsn(reform_store),
            ],
        )
        assert res.exit_code == 0, res.output
        doc = orjson.loads(res.stdout)
        assert doc["province"]["code"] == "75" and doc["province"]["notes"] == notes
