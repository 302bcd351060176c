"""``motcua calendar show`` / ``check`` through typer's CliRunner (no store needed)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from typer.testing import CliRunner

from motcua.cli.calendar import calendar_findings
from motcua.cli.main import app
from motcua.domain.calendar import local_midnight_ms
from motcua.exporter.calendar_metrics import CalendarCollector
from motcua.reference.official_calendar import calendar_with_overrides, default_calendar

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch):
    monkeypatch.delenv("MOTCUA_CALENDAR_OVERRIDES", raising=False)


def run(*args, env=None):
    return runner.invoke(app, list(args), env={"COLUMNS": "250", **(env or {})})


def test_show_2026_json_lists_the_swap_the_make_up_day_and_the_24_11_decision():
    res = run("calendar", "show", "2026", "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["confirmed"] is True and doc["working_days"] == default_calendar().working_days_in_year(2026)
    by_date = {d["date"]: d for d in doc["days"]}
    assert (
        by_date["2026-01-02"]["kind_vi"] == "Nghỉ hoán đổi" and by_date["2026-01-02"]["weekday"] == "Thứ Sáu"
    )
    assert "12729/VPCP-KGVX" in by_date["2026-01-02"]["source"]
    assert by_date["2026-01-10"]["kind_vi"] == "Làm bù" and by_date["2026-01-10"]["working"] is True
    assert by_date["2026-11-24"]["working"] is True and by_date["2026-11-24"]["layer_vi"] == "lịch chính thức"
    assert by_date["2026-04-27"]["kind_vi"] == "Nghỉ bù" and by_date["2026-02-17"]["kind_vi"] == "Nghỉ lễ"
    assert {d["layer"] for d in doc["days"]} == {"official"}


def test_show_table_and_csv_are_vietnamese():
    res = run("calendar", "show", "2026")
    assert res.exit_code == 0, res.output
    assert "02/01/2026" in res.stdout and "Thứ Sáu" in res.stdout and "Nghỉ hoán đổi" in res.stdout
    assert "đã xác nhận (lịch chính thức)" in res.stdout
    assert f"Số ngày làm việc: {default_calendar().working_days_in_year(2026)}" in res.stdout
    res = run("calendar", "show", "2027", "--format", "csv")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("\ufeff")  # Excel reads the diacritics
    rows = list(csv.DictReader(io.StringIO(res.stdout.lstrip("\ufeff"))))
    assert rows and {r["quyet_dinh_boi"] for r in rows} == {"gói holidays"}
    assert "chưa xác nhận" in res.stderr


def test_show_with_overrides_names_the_province_layer(tmp_path):
    f = tmp_path / "cal.yaml"
    f.write_text(
        "days_off: [2026-11-24]\nsources:\n  2026-11-24: Công văn 5/UBND ngày 01/11/2026\n", encoding="utf-8"
    )
    res = run("calendar", "show", "2026", "--format", "json", env={"MOTCUA_CALENDAR_OVERRIDES": str(f)})
    assert res.exit_code == 0, res.output
    day = {d["date"]: d for d in json.loads(res.stdout)["days"]}["2026-11-24"]
    assert day["working"] is False and day["layer_vi"] == "cấu hình của tỉnh"
    assert day["source"] == "Công văn 5/UBND ngày 01/11/2026"


def test_bad_overrides_file_is_one_line_exit_2(tmp_path):
    f = tmp_path / "cal.yaml"
    f.write_text("days_off: [2026-13-01]\n", encoding="utf-8")
    res = run("calendar", "check", "--as-of", "2026-05-01", env={"MOTCUA_CALENDAR_OVERRIDES": str(f)})
    assert res.exit_code == 2
    assert "month must be in 1..12" in res.stderr and str(f) in res.stderr
    f.write_text('days_off: ["2026-13-01"]\n', encoding="utf-8")  # quoted: our own check
    res = run("calendar", "check", "--as-of", "2026-05-01", env={"MOTCUA_CALENDAR_OVERRIDES": str(f)})
    assert res.exit_code == 2 and "days_off[0]" in res.stderr and str(f) in res.stderr


def test_show_outside_the_calendar_years_is_a_user_error():
    res = run("calendar", "show", "2099")
    assert res.exit_code == 2 and "2099" in res.stderr


def test_check_exit_codes():
    res = run("calendar", "check", "--as-of", "2026-09-30")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("Lịch làm việc ổn") and res.stdout.count("\n") == 1
    res = run("calendar", "check", "--as-of", "2026-10-01")  # 2027 is now due and unknown
    assert res.exit_code == 1
    assert "2027" in res.stdout and "confirmed_years" in res.stdout and "Bộ Nội vụ" in res.stdout
    res = run("calendar", "check", "--as-of", "2027-03-01")  # the current year unknown
    assert res.exit_code == 1 and "năm hiện tại" in res.stdout


def test_check_passes_once_the_operator_confirms_the_year(tmp_path):
    f = tmp_path / "cal.yaml"
    f.write_text("days_off: [2027-02-05]\nconfirmed_years: [2027]\n", encoding="utf-8")
    res = run("calendar", "check", "--as-of", "2026-12-01", env={"MOTCUA_CALENDAR_OVERRIDES": str(f)})
    assert res.exit_code == 0, res.output
    assert "cấu hình của tỉnh" in res.stdout


def test_findings_are_a_list_with_one_entry_per_required_year():
    found = calendar_findings(default_calendar(), date(2026, 12, 1))
    assert [(f.code, f.ok) for f in found] == [("year_confirmed", True), ("year_unconfirmed", False)]


def _exposition(cal, day: date) -> str:
    reg = CollectorRegistry()
    reg.register(CalendarCollector(cal, lambda: local_midnight_ms(day) + 3_600_000))
    return generate_latest(reg).decode()


def test_exporter_gauges():
    text = _exposition(default_calendar(), date(2026, 12, 1))
    assert 'motcua_calendar_year_confirmed{relative="current",year="2026"} 1.0' in text
    assert 'motcua_calendar_year_confirmed{relative="next",year="2027"} 0.0' in text
    assert "motcua_calendar_next_year_due 1.0" in text
    assert "motcua_calendar_next_year_due 0.0" in _exposition(default_calendar(), date(2026, 9, 30))
    confirmed = calendar_with_overrides({"confirmed_years": [2027]})
    assert 'motcua_calendar_year_confirmed{relative="next",year="2027"} 1.0' in _exposition(
        confirmed, date(2026, 12, 1)
    )
