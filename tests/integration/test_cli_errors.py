"""What the CLI says when the store, a file or a path is wrong, and the tables an official
reads: one Vietnamese line and exit code 2, never a traceback or a password; read
commands never create a store; the KPI table has one row per group; dead letters are
listed; CSV opens in Excel."""

from __future__ import annotations

import csv
import io

import pytest
from devtools.kafka_broker import free_port
from typer.testing import CliRunner

from motcua.cli.main import app
from tests.cli_runner import motcua, motcua_json

runner = CliRunner()
PERIOD = ("--from", "2025-03-01", "--to", "2025-03-08")

READ_COMMANDS = {
    "kpi": ["kpi", *PERIOD],
    "dead-letters": ["dead-letters"],
    "report ii06a": ["report", "ii06a", "--period", "2025-03", "--format", "json"],
    "report monthly": ["report", "monthly", "--month", "2025-03"],
    "index766": ["index766", "--period", "2025-Q1"],
    "targets check": ["targets", "check", *PERIOD],
    "targets list": ["targets", "list"],
    "snapshot": ["snapshot", *PERIOD, "--out", "SNAP"],
    "worklist": ["worklist", "--format", "json"],
}


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("Lỗi: ") and "Traceback" not in output
    return lines[0]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A store with one simulated week, a few malformed records among them."""
    tmp = tmp_path_factory.mktemp("cli-errors")
    events = tmp / "week.jsonl"
    motcua("simulate", *PERIOD, "--seed", "5", "--scale", "0.01", "--malformed", "0.02", "--out", events)
    store = f"chdb://{tmp / 'store'}"
    motcua("replay", events, "--store", store)
    return tmp, store


@pytest.mark.parametrize("name", list(READ_COMMANDS))
def test_read_commands_refuse_a_missing_store_and_create_nothing(tmp_path, name):
    missing = tmp_path / "typo" / "store"
    args = [a.replace("SNAP", str(tmp_path / "snap")) for a in READ_COMMANDS[name]]
    res = runner.invoke(app, [*args, "--store", f"chdb://{missing}"])
    assert res.exit_code == 2, res.output
    line = _one_error_line(res.output)
    assert f"không có kho dữ liệu tại {missing}" in line and "motcua demo" in line and "motcua replay" in line
    assert not (tmp_path / "typo").exists() and not (tmp_path / "snap").exists()


def test_the_default_store_names_the_working_directory(tmp_path):
    proc = motcua(
        "kpi", *PERIOD, check=False, env={"MOTCUA_DATA_DIR": str(tmp_path / ".motcua"), "MOTCUA_STORE": ""}
    )
    assert proc.returncode == 2
    line = _one_error_line(proc.stderr)
    assert str(tmp_path / ".motcua" / "store") in line
    assert not (tmp_path / ".motcua").exists()


def test_a_store_without_data_is_refused_but_targets_can_be_listed(tmp_path):
    store = f"chdb://{tmp_path / 'targets-only'}"
    motcua("targets", "load", "--no-names", "--store", store)  # a writer: creates the store
    for args in (
        ["kpi", *PERIOD],
        ["index766", "--period", "2025-Q1"],
        ["report", "monthly", "--month", "2025-03"],
    ):
        proc = motcua(*args, "--store", store, check=False)
        assert proc.returncode == 2, proc.stderr
        assert "chưa có dữ liệu" in _one_error_line(proc.stderr)
    assert "Chỉ tiêu kế hoạch cải cách hành chính" in motcua("targets", "list", "--store", store).stdout


def test_a_store_path_that_is_a_file(tmp_path):
    a_file = tmp_path / "store.txt"
    a_file.write_text("not a store")
    for args in (["kpi", *PERIOD], ["targets", "load"], ["run", "writer"]):
        res = runner.invoke(app, [*args, "--store", f"chdb://{a_file}"])
        assert res.exit_code == 2
        assert f"kho dữ liệu {a_file} là một tệp" in _one_error_line(res.output)
    assert a_file.read_text() == "not a store"


def test_a_server_that_refuses_connections_is_one_line_without_the_password():
    dsn = f"http://ops:S3cr3t-pw@127.0.0.1:{free_port()}/motcua"
    for args in (["kpi", *PERIOD], ["dead-letters"], ["targets", "load"]):
        proc = motcua(*args, "--store", dsn, check=False)
        assert proc.returncode == 2
        line = _one_error_line(proc.stderr)
        assert line.startswith("Lỗi: không kết nối được kho dữ liệu http://ops:***@127.0.0.1:")
        assert line.endswith("máy chủ từ chối kết nối (connection refused)")
        assert "S3cr3t-pw" not in proc.stderr + proc.stdout


def test_unwritable_outputs(tmp_path, loaded):
    _tmp, store = loaded
    a_file = tmp_path / "plain.txt"
    a_file.write_text("")
    res = runner.invoke(app, ["simulate", *PERIOD, "--scale", "0.01", "--out", str(a_file / "ev.jsonl")])
    assert res.exit_code == 2 and "không phải thư mục" in _one_error_line(res.output)
    res = runner.invoke(app, ["simulate", *PERIOD, "--scale", "0.01", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "là một thư mục" in _one_error_line(res.output)
    for args in (
        ["index766", "--period", "2025-Q1", "--out", str(a_file / "i.json")],
        ["report", "ii06a", "--period", "2025-03", "--out", str(tmp_path / "no" / "b.xlsx")],
        ["snapshot", *PERIOD, "--out", str(a_file)],
    ):
        proc = motcua(*args, "--store", store, check=False)
        assert proc.returncode == 2, proc.stderr
        line = [x for x in proc.stderr.splitlines() if x.startswith("Lỗi:")]
        assert len(line) == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_replay_refuses_an_unsupported_file_before_creating_the_store(tmp_path):
    events = tmp_path / "events.txt"
    events.write_text('{"event_id": "e1"}\n')
    store = tmp_path / "store"
    res = runner.invoke(app, ["replay", str(events), "--store", f"chdb://{store}"])
    assert res.exit_code == 2
    assert "events.txt" in _one_error_line(res.output)
    assert not store.exists()


def test_kpi_table_has_one_row_per_group_with_names_and_the_backlog_instant(loaded):
    _tmp, store = loaded
    rows = motcua_json(
        "kpi", *PERIOD, "--by", "unit", "--format", "json", "--as-of", "2025-03-08T10:30", "--store", store
    )
    out = motcua("kpi", *PERIOD, "--by", "unit", "--as-of", "2025-03-08T10:30", "--store", store).stdout
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 170
    assert "Tồn đọng tính tại 08/03/2025 10:30" in out
    from motcua.reference.registry import default_registry

    for r in rows:
        row_lines = [line for line in lines if f" {r['unit_code']} " in line]
        assert len(row_lines) == 1, r["unit_code"]
        assert default_registry().unit_name(r["unit_code"])[:15] in row_lines[0]
    total = [line for line in lines if "Tổng cộng" in line]
    assert len(total) == 1
    received = sum(r["received"] for r in rows)
    assert f" {received:,} ".replace(",", ".") in total[0]
    # by level: levels are rows too
    out = motcua("kpi", *PERIOD, "--by", "level", "--store", store).stdout
    level_rows = [
        line for line in out.splitlines() if any(x in line for x in ("Cấp tỉnh", "Cấp huyện", "Cấp xã"))
    ]
    assert len(level_rows) == 3 and all("%" in line for line in level_rows)


def test_dead_letters_lists_records_in_json_and_csv(loaded):
    _tmp, store = loaded
    doc = motcua_json("dead-letters", "--format", "json", "--last", "0", "--store", store)
    assert doc["total"] > 0 and doc["records_shown"] == len(doc["records"]) == doc["total"]
    assert doc["total"] == sum(c["count"] for c in doc["by_code"])
    first = doc["records"][0]
    assert set(first) == {
        "dead_letter_id",
        "received_at",
        "source",
        "stage",
        "code",
        "reason",
        "event_id",
        "dossier_id",
        "payload_bytes",
        "payload",
    }
    assert first["received_at"].endswith("+07:00") and "week.jsonl:" in first["source"]
    assert [r["received_at"] for r in doc["records"]] == sorted(
        (r["received_at"] for r in doc["records"]), reverse=True
    )
    code = doc["by_code"][0]["code"]
    only = motcua_json("dead-letters", "--format", "json", "--code", code, "--last", "2", "--store", store)
    assert {r["code"] for r in only["records"]} == {code} and len(only["records"]) <= 2
    assert only["total"] == doc["by_code"][0]["count"]

    raw = motcua("dead-letters", "--format", "csv", "--last", "0", "--store", store).stdout
    assert raw.startswith("\ufeff")  # UTF-8 BOM: Excel shows the diacritics of the reasons
    records = list(csv.DictReader(io.StringIO(raw.lstrip("\ufeff"))))
    assert len(records) == doc["total"] and records[0]["code"] == first["code"]
    plain = motcua("dead-letters", "--format", "csv", "--no-bom", "--last", "1", "--store", store).stdout
    assert plain.startswith("dead_letter_id,received_at")

    table = motcua("dead-letters", "--last", "3", "--store", store).stdout
    assert "Tổng" in table and "3 bản ghi mới nhất" in table


def test_kpi_csv_in_excel(loaded):
    _tmp, store = loaded
    raw = motcua("kpi", *PERIOD, "--by", "unit", "--format", "csv", "--store", store).stdout
    assert raw.startswith("\ufeffunit_code,unit_level,")
    rows = motcua_json("kpi", *PERIOD, "--by", "unit", "--format", "json", "--store", store)
    assert len(list(csv.DictReader(io.StringIO(raw.lstrip("\ufeff"))))) == len(rows)


def test_periods_outside_the_working_day_calendar_on_a_real_store(loaded):
    _tmp, store = loaded
    for args in (
        ["kpi", "--from", "1900-01-01", "--to", "1900-02-01"],
        ["report", "ii06a", "--period", "1990-03"],
        ["kpi", *PERIOD, "--as-of", "2099-01-01"],
    ):
        proc = motcua(*args, "--store", store, check=False)
        assert proc.returncode == 2, proc.stderr
        assert "nằm ngoài" in _one_error_line(proc.stderr)
