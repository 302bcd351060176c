"""`motcua registry load units` and `motcua registry unknown` against real chDB: loaded
names reach reference_names, the KPI table and the reports; loading twice changes
nothing; codes no registry knows are counted, listed and shown by their code (also in
the dashboards' name joins)."""

from __future__ import annotations

from datetime import date

import orjson
import pytest
from typer.testing import CliRunner

from motcua.adapters.clickhouse_units import UnitsRepository, registry_from_store
from motcua.cli.main import app
from motcua.dashboards import panels as P
from motcua.dashboards.macros import PanelContext
from motcua.dashboards.runner import PanelRunner
from motcua.reference import units_for_province
from motcua.reference.official_calendar import default_calendar
from motcua.reference.registry import default_registry, set_default_registry
from motcua.replay import EmbeddedPipeline
from motcua.reports.names import Names
from tests.builders import local_ms, make_event, received

runner = CliRunner()
CAL = default_calendar()
SHIPPED = next(u for u in units_for_province("75") if u.code == "H75.SO.STP")

CATALOGUE = f"""Mã đơn vị;Tên đơn vị;Cấp;Mã tỉnh
000.00.00.H19;UBND tỉnh Đồng Nai (danh mục tỉnh);Cấp tỉnh;75
000.00.12.H19;Sở Tư pháp (danh mục tỉnh);Sở;75
{SHIPPED.code};Sở Tư pháp tỉnh Đồng Nai (tên nạp);Sở;75
000.00.13.H19;;Sở;75
"""


def _dsn(store) -> str:
    return f"{store.location.dsn}?database={store.db}"


def _dossier(store_events: list, dossier_id: str, day: int, **envelope) -> None:
    envelope.setdefault("field_code", "HOTICH")  # a shipped field (the builders' "HT" is not one)
    store_events.append(received(dossier_id, local_ms(2025, 3, day), **envelope))
    store_events.append(make_event(dossier_id, 2, "RESOLVED", local_ms(2025, 3, day + 1), **envelope))


@pytest.fixture
def dossier_store(store):
    store.load_calendar(CAL)
    events: list = []
    _dossier(events, "D1", 3, unit_code="000.00.12.H19", unit_level="PROVINCE")
    _dossier(events, "D2", 4, unit_code=SHIPPED.code, unit_level="PROVINCE")
    for i in range(3):  # a unit, procedure and field no registry knows
        _dossier(
            events,
            f"U{i}",
            5 + i,
            unit_code="000.00.99.H19",
            unit_level="PROVINCE",
            procedure_code="9.999999",
            field_code="ZZ",
        )
    _dossier(events, "P1", 10, province_code="99", unit_code="H99.SO.X", unit_level="PROVINCE")
    EmbeddedPipeline(store, CAL).ingest([(f"t:{i}", orjson.dumps(e)) for i, e in enumerate(events)])
    return store


@pytest.fixture
def catalogue(tmp_path):
    path = tmp_path / "donvi.csv"
    path.write_text(CATALOGUE, encoding="utf-8")
    return path


def _names(store) -> dict[str, str]:
    return dict(
        store.client.query(
            f"SELECT code, name FROM {store.db}.reference_names FINAL WHERE kind = 'unit'"
        ).result_rows
    )


def test_load_units_twice_names_win_everywhere(dossier_store, catalogue):
    st = dossier_store
    res = runner.invoke(app, ["registry", "load", "units", str(catalogue), "--store", _dsn(st)])
    assert res.exit_code == 1, res.output  # one row refused
    said = " ".join(res.output.split())
    assert "dòng 5: thiếu tên đơn vị" in said
    assert "Đã nạp 3 đơn vị từ donvi.csv: 3 mới, 0 thay đổi, 0 không đổi; 1 dòng bị từ chối." in said
    stored = {u.code: u for u in UnitsRepository(st).all()}
    assert set(stored) == {"000.00.00.H19", "000.00.12.H19", SHIPPED.code}
    assert stored["000.00.12.H19"].province_code == "75" and stored["000.00.12.H19"].level == "PROVINCE"

    names = _names(st)
    assert names["000.00.12.H19"] == "Sở Tư pháp (danh mục tỉnh)"
    assert names[SHIPPED.code] == "Sở Tư pháp tỉnh Đồng Nai (tên nạp)" != SHIPPED.name
    assert names["000.00.99.H19"] == "000.00.99.H19"  # unknown: by its code

    # the same file again: nothing written, nothing changed
    before = st.client.query(f"SELECT count(), max(loaded_at) FROM {st.db}.registry_units").result_rows
    res = runner.invoke(app, ["registry", "load", "units", str(catalogue), "--store", _dsn(st)])
    assert res.exit_code == 1 and "0 mới, 0 thay đổi, 3 không đổi" in " ".join(res.output.split())
    assert (
        st.client.query(f"SELECT count(), max(loaded_at) FROM {st.db}.registry_units").result_rows == before
    )
    assert _names(st) == names

    # a fresh process state: the KPI table of a command that opens the store names by the loaded units
    set_default_registry(None)
    res = runner.invoke(
        app,
        [
            "kpi",
            "--from",
            "2025-03-01",
            "--to",
            "2025-04-01",
            "--by",
            "unit",
            "--as-of",
            "2025-04-01",
            "--store",
            _dsn(st),
        ],
        env={"COLUMNS": "250"},
    )
    assert res.exit_code == 0, res.output
    assert "Sở Tư pháp (danh mục tỉnh)" in res.output and "tên nạp" in res.output
    assert "000.00.99.H19" in res.output  # unknown unit: counted, shown by its code

    # the reports' names
    names_for_reports = Names.from_registry(registry_from_store(st))
    assert names_for_reports.unit("000.00.12.H19") == "Sở Tư pháp (danh mục tỉnh)"
    assert names_for_reports.unit("000.00.99.H19") == "000.00.99.H19"
    assert default_registry().unit_level("000.00.12.H19") == "PROVINCE"
    set_default_registry(None)


def test_a_changed_row_is_replaced_by_code(store, tmp_path):
    path = tmp_path / "a.json"
    path.write_text(
        orjson.dumps(
            {
                "error_code": 0,
                "result": [{"MADONVI": "000.00.12.H19", "TENDONVI": "Sở Tư pháp", "CAPDONVI": "2"}],
            }
        ).decode()
    )
    dsn = _dsn(store)
    assert (
        runner.invoke(
            app, ["registry", "load", "units", str(path), "--store", dsn, "--province", "75"]
        ).exit_code
        == 0
    )
    path.write_text(
        orjson.dumps(
            {"data": [{"MADONVI": "000.00.12.H19", "TENDONVI": "Sở Tư pháp tỉnh Đồng Nai", "CAPDONVI": "2"}]}
        ).decode()
    )
    res = runner.invoke(app, ["registry", "load", "units", str(path), "--store", dsn, "--province", "75"])
    assert res.exit_code == 0 and "0 mới, 1 thay đổi" in " ".join(res.output.split())
    assert [u.name for u in UnitsRepository(store).all()] == ["Sở Tư pháp tỉnh Đồng Nai"]
    set_default_registry(None)


def test_unreadable_file_exit_2(store, tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"error_code": -1, "message": "Phiên làm việc hết hạn"}')
    res = runner.invoke(app, ["registry", "load", "units", str(path), "--store", _dsn(store)])
    assert res.exit_code == 2 and "error_code -1" in res.output
    res = runner.invoke(
        app, ["registry", "load", "units", str(tmp_path / "none.csv"), "--store", _dsn(store)]
    )
    assert res.exit_code == 2 and "không có tệp" in res.output


def test_registry_unknown_lists_codes_by_dossier_count(dossier_store, catalogue):
    st = dossier_store
    res = runner.invoke(app, ["registry", "unknown", "--store", _dsn(st), "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = orjson.loads(res.stdout)
    got = {(r["kind"], r["code"]): r["dossiers"] for r in rows}
    # before the load the province catalogue's unit is unknown too
    assert got == {
        ("unit", "000.00.99.H19"): 3,
        ("procedure", "9.999999"): 3,
        ("field", "ZZ"): 3,
        ("unit", "000.00.12.H19"): 1,
        ("unit", "H99.SO.X"): 1,
        ("province", "99"): 1,
    }
    assert [r["dossiers"] for r in rows] == sorted((r["dossiers"] for r in rows), reverse=True)

    runner.invoke(app, ["registry", "load", "units", str(catalogue), "--store", _dsn(st)])
    res = runner.invoke(app, ["registry", "unknown", "--store", _dsn(st)], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "000.12.H19" not in res.output and "000.00.99.H19" in res.output
    assert "Số hồ sơ" in res.output and "Lĩnh vực" in res.output
    res = runner.invoke(app, ["registry", "unknown", "--store", _dsn(st), "--format", "csv"])
    assert res.stdout.lstrip("\ufeff").splitlines()[0] == "Loại mã,Mã,Số hồ sơ"
    set_default_registry(None)


def test_panels_show_the_code_of_a_unit_without_a_name(dossier_store):
    from motcua.adapters.clickhouse_targets import TargetsRepository

    st = dossier_store
    repo = TargetsRepository(st)
    repo.load_reference_names(["75"], [])  # names of the shipped units only: 000.00.99.H19 has none
    ctx = PanelContext.for_days(date(2025, 3, 1), date(2025, 3, 31))
    rows = PanelRunner(st).dicts(P.ranking("rate"), ctx)
    names = {r["unit_code"]: r["unit_name"] for r in rows}
    assert names["000.00.99.H19"] == "000.00.99.H19"
    assert names[SHIPPED.code] == SHIPPED.name
