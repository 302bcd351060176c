"""Pure helpers of the command line: messages, redaction, previews, output checks."""

from __future__ import annotations

import errno
import fcntl
import socket
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from motcua.adapters.clickhouse_store import embedded_path, embedded_problem
from motcua.cli import common
from motcua.cli.common import (
    CliError,
    MotcuaGroup,
    check_output_dir,
    check_output_file,
    connection_reason,
    fmt_instant,
    iso_instant,
    os_reason,
    payload_preview,
    redact_dsn,
    redact_text,
    user_error,
)
from motcua.cli.labels import dead_letter_code_label, group_code, group_label
from motcua.cli.main import kpi_total_row


def test_redact_dsn_hides_the_password_everywhere_afterwards():
    assert redact_dsn("http://ops:Pa55word@ch.local:8123/motcua") == "http://ops:***@ch.local:8123/motcua"
    assert redact_dsn("chdb:///var/lib/motcua") == "chdb:///var/lib/motcua"
    assert redact_text("login Pa55word refused") == "login *** refused"
    assert "Pa55word" not in CliError("x Pa55word y").message


def test_connection_reason_finds_the_os_error_under_urllib3():
    from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    # what clickhouse-connect raises: OperationalError <- MaxRetryError.reason <- NewConnectionError
    # whose context is the refused socket connection
    new_connection = NewConnectionError(None, "Failed to establish a new connection")
    new_connection.__context__ = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    wrapped = OperationalError("Error executing HTTP request attempt 1 (http://h:1)")
    wrapped.__cause__ = MaxRetryError(None, "/", new_connection)
    assert connection_reason(wrapped) == "máy chủ từ chối kết nối (connection refused)"
    assert "unknown host" in connection_reason(socket.gaierror(-2, "Name or service not known"))
    assert "AUTHENTICATION_FAILED" in connection_reason(DatabaseError("Code: 516 ...", code=516))
    long = OperationalError("x" * 500 + "\nsecond line")
    assert len(connection_reason(long)) <= 160 and "second" not in connection_reason(long)


def test_os_reason_in_vietnamese():
    assert os_reason(PermissionError(errno.EACCES, "Permission denied")).startswith("không có quyền")
    assert "không phải thư mục" in os_reason(NotADirectoryError(errno.ENOTDIR, "Not a directory"))
    assert os_reason(OSError(errno.EIO, "Input/output error")) == "Input/output error"


def test_user_error_converts_what_a_user_causes_only():
    err = PermissionError(errno.EACCES, "Permission denied", "/srv/out.xlsx")
    converted = user_error(err)
    assert converted is not None and "/srv/out.xlsx" in converted.message
    assert user_error(RuntimeError("a bug")) is None
    assert user_error(OSError(errno.EPIPE, "Broken pipe")) is None  # no file name: not ours to explain
    from motcua.adapters import codec

    with pytest.raises(ValueError) as info:
        codec.file_kind(Path("events.txt"))
    converted = user_error(info.value)
    assert converted is not None and converted.message.startswith("không đọc được tệp")
    from clickhouse_connect.driver.exceptions import DatabaseError, ProgrammingError

    assert user_error(ProgrammingError("Code: 62. Syntax error")) is None  # our SQL: a bug
    assert user_error(DatabaseError("Code: 516.", code=516)) is not None


def _app(exc: Exception) -> typer.Typer:
    app = typer.Typer(cls=MotcuaGroup, add_completion=False, rich_markup_mode=None)

    @app.command()
    def boom() -> None:
        raise exc

    @app.command()
    def other() -> None:
        pass

    return app


def test_the_group_prints_one_line_and_exits_2_for_user_errors_only():
    runner = CliRunner()
    res = runner.invoke(_app(CliError("kho dữ liệu /x không tồn tại")), ["boom"])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == ["Lỗi: kho dữ liệu /x không tồn tại"]
    res = runner.invoke(_app(IsADirectoryError(errno.EISDIR, "Is a directory", "out")), ["boom"])
    assert res.exit_code == 2 and res.output.startswith("Lỗi: không truy cập được out: đây là một thư mục")
    res = runner.invoke(_app(KeyError("bug")), ["boom"])
    assert res.exit_code == 1 and isinstance(res.exception, KeyError)


def test_payload_preview():
    assert payload_preview(b'{"a": 1}', 8) == '{"a": 1}'
    assert payload_preview(b"\xc3\x01" + b"\x00" * 10, 1234) == "(Avro, 1.234 byte)"
    assert payload_preview(b"line1\nline2\x00", 12) == "line1 line2 "
    assert payload_preview(b"x" * 200, 5000, limit=50) == "x" * 49 + "…"
    assert payload_preview(b"abc", 10) == "abc…"
    # a multi-byte character cut by the byte limit is dropped, not shown as U+FFFD
    assert payload_preview("Đồng".encode()[:3], 10) == "Đ…"
    assert payload_preview(b"", 0) == ""


def test_instants_in_local_time():
    ms = 1_764_559_800_000  # 2025-12-01 03:30 UTC
    assert fmt_instant(ms) == "01/12/2025 10:30"
    assert fmt_instant(ms, seconds=True) == "01/12/2025 10:30:00"
    assert iso_instant(ms) == "2025-12-01T10:30:00.000+07:00"


def test_check_output_file_and_dir(tmp_path):
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    assert check_output_file(tmp_path / "new.jsonl") == tmp_path / "new.jsonl"
    assert not (tmp_path / "new.jsonl").exists()  # the check leaves nothing behind
    assert check_output_file(a_file) == a_file and a_file.read_text() == "x"
    for bad, words in (
        (tmp_path, "là một thư mục"),
        (tmp_path / "missing" / "x.jsonl", "không tồn tại"),
        (a_file / "x.jsonl", "không phải thư mục"),
    ):
        with pytest.raises(CliError) as info:
            check_output_file(bad)
        assert words in info.value.message
    assert check_output_dir(tmp_path / "out" / "deep").is_dir()
    with pytest.raises(CliError) as info:
        check_output_dir(a_file)
    assert "là một tệp" in info.value.message


def test_embedded_store_problems_are_seen_without_opening_it(tmp_path):
    assert embedded_path("chdb:///var/lib/x?database=a") == Path("/var/lib/x")
    assert embedded_path("http://h:8123/db") is None
    assert embedded_problem(tmp_path / "nope") == "missing"
    (tmp_path / "file").write_text("")
    assert embedded_problem(tmp_path / "file") == "not_a_directory"
    (tmp_path / "plain").mkdir()
    assert embedded_problem(tmp_path / "plain") == "not_a_store"
    store = tmp_path / "store"
    (store / "metadata").mkdir(parents=True)
    (store / "status").write_text("")
    assert embedded_problem(store) is None
    with open(store / "status", "rb") as held:  # what a running chDB holds
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert embedded_problem(store) == "in_use"
    assert embedded_problem(store) is None
    assert not (tmp_path / "nope").exists()


def test_open_store_refuses_without_creating(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MOTCUA_STORE", raising=False)
    monkeypatch.delenv("MOTCUA_DATA_DIR", raising=False)
    with pytest.raises(CliError) as info:
        common.open_store(None, must_exist=True)
    assert "không có kho dữ liệu tại" in info.value.message and "thư mục đang làm việc" in info.value.message
    assert "motcua demo" in info.value.message
    assert not (tmp_path / ".motcua").exists()
    with pytest.raises(CliError) as info:
        common.open_store("mysql://u:topsecret@h/db")
    assert "topsecret" not in info.value.message and "unsupported store DSN" in info.value.message


def test_group_labels_name_units_procedures_fields():
    assert group_label("level", {"unit_level": "COMMUNE"}) == "Cấp xã"
    assert group_label("all", {}) == "Toàn tỉnh"
    assert group_label("unit", {"unit_code": "H75.SO.STP"}) == "Sở Tư pháp"
    assert group_label("unit", {"unit_code": "H99.NOPE"}) == "H99.NOPE"
    assert group_code("unit", {"unit_code": "H75.SO.STP"}) == "H75.SO.STP"
    assert group_code("level", {"unit_level": "COMMUNE"}) == ""
    assert group_label("field", {"field_code": "CHUNGTHUC"}) == "Chứng thực"
    assert dead_letter_code_label("BAD_JSON") == "Không phải JSON hợp lệ"
    assert dead_letter_code_label("SOMETHING_NEW") == "SOMETHING_NEW"


def test_kpi_total_row_sums_counts_and_recomputes_ratios():
    a = {
        "unit_code": "A",
        "on_time_rate_num": 9,
        "on_time_rate_den": 10,
        "on_time_rate": 0.9,
        "received": 10,
        "in_progress": 1,
        "satisfaction_rate_num": 0,
        "satisfaction_rate_den": 0,
        "satisfaction_rate": None,
    }
    b = {
        "unit_code": "B",
        "on_time_rate_num": 1,
        "on_time_rate_den": 10,
        "on_time_rate": 0.1,
        "received": 30,
        "in_progress": 2,
        "satisfaction_rate_num": 0,
        "satisfaction_rate_den": 0,
        "satisfaction_rate": None,
    }
    total = kpi_total_row([a, b])
    assert total["on_time_rate"] == 0.5 and total["received"] == 40 and total["in_progress"] == 3
    assert total["satisfaction_rate"] is None


def test_check_in_calendar():
    from datetime import date

    from motcua.cli.common import check_in_calendar
    from motcua.reference.official_calendar import default_calendar

    cal = default_calendar()
    check_in_calendar(cal, (date(2025, 3, 1), "--from"))
    with pytest.raises(CliError) as info:
        check_in_calendar(cal, (date(2025, 3, 1), "--from"), (date(1900, 1, 31), "--to"))
    assert info.value.message.startswith("--to: ngày 31/01/1900 nằm ngoài lịch làm việc")
