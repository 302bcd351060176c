"""`motcua registry load procedures` and `motcua registry disagreements` against real
chDB: every accepted file shape, bad items by position, loading twice changes nothing,
loaded names reach reference_names and the KPI labels, and the catalogue's flags fill
what RECEIVED events leave out, identically on the Python and the bulk replay path."""

from __future__ import annotations

import orjson
import pytest
from typer.testing import CliRunner

from motcua.adapters.clickhouse_procedures import ProceduresRepository
from motcua.cli.labels import group_label
from motcua.cli.main import app
from motcua.reference.catalogue import CatalogueEntry
from motcua.reference.official_calendar import default_calendar
from motcua.reference.procedures_loader import CatalogueFileError, read_catalogue
from motcua.reference.registry import use_catalogue
from motcua.replay import EmbeddedPipeline
from tests.builders import local_ms, make_event
from tests.integration.test_bulk_replay import NOW_MS, tables

runner = CliRunner()
CAL = default_calendar()

ITEM = {
    "MATTHC": "1.004227",
    "TENTTHC": "Cấp giấy phép xây dựng nhà ở riêng lẻ (danh mục tỉnh)",
    "LINHVUCTHUCHIEN": [{"MALINHVUC": "G09-XD01", "TENLINHVUC": "Hoạt động xây dựng (danh mục tỉnh)"}],
    "CACHTHUCTHUCHIEN": [
        {
            "KENH": 1,
            "THOIGIAN": [
                {
                    "THOIGIANGIAIQUYET": 15,
                    "DONVITINH": "Ngày làm việc",
                    "MOTA": "",
                    "PHILEPHI": [{"MAPHILEPHI": "1", "SOTIEN": 75000, "DONVI": "Đồng", "MOTA": "Lệ phí"}],
                }
            ],
        },
        {"KENH": 2, "THOIGIAN": [{"THOIGIANGIAIQUYET": 15, "DONVITINH": "Ngày làm việc", "PHILEPHI": []}]},
    ],
    "KETQUATHUCHIEN": [{"MAKETQUA": "KQ01", "TENKETQUA": "Giấy phép xây dựng"}],
    "COQUANTHUCHIEN": [{"MADONVI": "000.00.12.H56", "TENDONVI": "UBND cấp xã"}],
}
SECOND = {
    "MATTHC": "1.001193",
    "TENTTHC": "Đăng ký khai sinh",
    "CACHTHUCTHUCHIEN": [
        {
            "KENH": "2",
            "THOIGIAN": [
                {"THOIGIANGIAIQUYET": "1", "DONVITINH": "Ngày làm việc", "PHILEPHI": [{"SOTIEN": 0}]}
            ],
        }
    ],
}
BAD = {"MATTHC": "2.000001", "TENTTHC": ""}


@pytest.fixture(autouse=True)
def shipped_names():
    yield
    use_catalogue(None)  # the process-wide names go back to the shipped ones


def _dsn(store) -> str:
    return f"{store.location.dsn}?database={store.db}"


def _said(res) -> str:
    return " ".join(res.output.split())


# -- file shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"error_code": 0, "message": "", "result": [ITEM, SECOND]},
        {"data": [ITEM, SECOND]},
        [ITEM, SECOND],
    ],
)
def test_dvcqg_json_wrapped_as_the_service_answers_or_bare(tmp_path, body):
    path = tmp_path / "tthc.json"
    path.write_bytes(orjson.dumps(body))
    loaded = read_catalogue(path)
    assert loaded.kind == "json" and not loaded.refused
    entries = {e.code: e for _p, e in loaded.entries}
    assert entries["1.004227"] == CatalogueEntry(
        "1.004227",
        ITEM["TENTTHC"],
        "G09-XD01",
        "Hoạt động xây dựng (danh mục tỉnh)",
        True,
        True,
        {"value": 15, "unit": "WORKING_DAYS"},
        ("DIRECT", "ONLINE"),
    )
    assert entries["1.001193"].has_fee is False and entries["1.001193"].requires_paper_result is None


def test_one_item_and_json_lines_and_bad_items_by_position(tmp_path):
    one = tmp_path / "one.json"
    one.write_bytes(orjson.dumps(ITEM))
    assert [e.code for _p, e in read_catalogue(one).entries] == ["1.004227"]
    lines = tmp_path / "tthc.jsonl"
    lines.write_bytes(
        b"\n".join(
            [orjson.dumps(ITEM), b"", orjson.dumps(BAD), b"{not json", orjson.dumps({"result": [SECOND]})]
        )
        + b"\n"
    )
    loaded = read_catalogue(lines)
    assert loaded.kind == "jsonl"
    assert [(p, e.code) for p, e in loaded.entries] == [("dòng 1", "1.004227"), ("dòng 5", "1.001193")]
    assert loaded.refused == [
        ("dòng 3", "thiếu tên thủ tục (TENTTHC)"),
        ("dòng 4", "dòng không phải JSON hợp lệ"),
    ]
    arr = tmp_path / "arr.json"
    arr.write_bytes(orjson.dumps([ITEM, BAD, dict(ITEM, TENTTHC="Tên khác")]))
    loaded = read_catalogue(arr)
    assert loaded.refused == [
        ("mục 2", "thiếu tên thủ tục (TENTTHC)"),
        ("mục 3", "mã thủ tục '1.004227' đã có ở mục 1 với nội dung khác"),
    ]


def test_unreadable_files(tmp_path):
    err = tmp_path / "err.json"
    err.write_bytes(orjson.dumps({"error_code": -1, "message": "token hết hạn"}))
    with pytest.raises(CatalogueFileError, match="error_code=-1"):
        read_catalogue(err)
    garbage = tmp_path / "x.json"
    garbage.write_bytes(b"{oops")
    with pytest.raises(CatalogueFileError, match="không phải JSON"):
        read_catalogue(garbage)
    no_heading = tmp_path / "x.csv"
    no_heading.write_text("STT,Ghi chú\n1,abc\n", encoding="utf-8")
    with pytest.raises(CatalogueFileError, match="không có dòng tiêu đề"):
        read_catalogue(no_heading)
    latin = tmp_path / "y.csv"
    latin.write_bytes("Mã thủ tục,Tên thủ tục\n1.0,Tên\n".encode("utf-16"))
    with pytest.raises(CatalogueFileError, match="UTF-8"):
        read_catalogue(latin)


def test_csv_with_and_without_diacritics(tmp_path):
    with_marks = tmp_path / "a.csv"
    with_marks.write_text(
        "\ufeffMã thủ tục,Tên thủ tục,Mã lĩnh vực,Tên lĩnh vực,Có phí/lệ phí,Kết quả bản giấy,"
        "Thời hạn giải quyết,Đơn vị tính,Kênh thực hiện\n"
        '1.004227,Cấp giấy phép xây dựng,G09-XD01,Hoạt động xây dựng,Có,x,15,Ngày làm việc,"1,2,3"\n'
        "1.001193,Đăng ký khai sinh,HOTICH,Hộ tịch,Không,,1,Ngày làm việc,2\n"
        "1.000001,Thủ tục lỗi,,,có thể,,,,\n",
        encoding="utf-8",
    )
    loaded = read_catalogue(with_marks)
    assert [e.code for _p, e in loaded.entries] == ["1.004227", "1.001193"]
    first = loaded.entries[0][1]
    assert (first.has_fee, first.requires_paper_result, first.time_limit, first.channels) == (
        True,
        True,
        {"value": 15, "unit": "WORKING_DAYS"},
        ("DIRECT", "ONLINE", "POSTAL"),
    )
    assert loaded.entries[1][1].requires_paper_result is None  # an empty cell: unknown
    assert loaded.refused == [("dòng 4", "cột có phí/lệ phí phải là Có/Không (hoặc x, 1/0, true/false)")]
    # no diacritics, upper case, semicolons, a title row above the headings
    bare = tmp_path / "b.csv"
    bare.write_text(
        "DANH MUC THU TUC HANH CHINH;;\n"
        "MA TTHC;TEN THU TUC;CO PHI LE PHI;THOI HAN GIAI QUYET\n"
        "1.004227;Cấp giấy phép xây dựng;1;20 ngày\n",
        encoding="utf-8",
    )
    loaded = read_catalogue(bare)
    assert not loaded.refused
    entry = loaded.entries[0][1]
    assert (entry.code, entry.has_fee, entry.time_limit) == ("1.004227", True, {"value": 20, "unit": "DAYS"})


def test_xlsx_with_vietnamese_headings(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Danh mục"
    ws.append(["DANH MỤC THỦ TỤC HÀNH CHÍNH CẤP XÃ"])
    ws.append(
        [
            "STT",
            "Mã thủ tục",
            "Tên thủ tục",
            "Lĩnh vực",
            "Có phí/lệ phí",
            "Kết quả bản giấy",
            "Thời hạn giải quyết",
            "Đơn vị tính",
            "Kênh thực hiện",
        ]
    )
    ws.append(
        [
            1,
            "1.004227",
            "Cấp giấy phép xây dựng",
            "Hoạt động xây dựng",
            "Có",
            "Có",
            15,
            "Ngày làm việc",
            "Trực tiếp, Trực tuyến",
        ]
    )
    ws.append([2, 1.001193, "Đăng ký khai sinh", "Hộ tịch", 0, "Không", 0.5, "ngày làm việc", 2])
    ws.append([3, "1.000001", "Thủ tục lỗi", None, None, None, 3, "lần", None])
    path = tmp_path / "tthc.xlsx"
    wb.save(path)
    loaded = read_catalogue(path)
    assert loaded.kind == "xlsx"
    got = {e.code: e for _p, e in loaded.entries}
    assert got["1.004227"] == CatalogueEntry(
        "1.004227",
        "Cấp giấy phép xây dựng",
        "",
        "Hoạt động xây dựng",
        True,
        True,
        {"value": 15, "unit": "WORKING_DAYS"},
        ("DIRECT", "ONLINE"),
    )
    assert got["1.001193"].has_fee is False and got["1.001193"].time_limit == {
        "value": 1,
        "unit": "WORKING_DAYS",
    }
    assert loaded.refused == [
        (
            "trang tính 'Danh mục', dòng 5",
            "đơn vị tính thời hạn không nhận ra (dùng Ngày làm việc, Ngày hoặc Giờ)",
        )
    ]


# -- the command and the store -------------------------------------------------------------


def _events(dossier_id: str, day: int, **received_extra) -> list[dict]:
    """A dossier received on 2025-03-<day> (a Monday when day = 3) and resolved 11 days later."""
    env = dict(procedure_code="1.004227", field_code="G09-XD01")
    return [
        make_event(
            dossier_id, 1, "RECEIVED", local_ms(2025, 3, day), channel="DIRECT", **env, **received_extra
        ),
        make_event(dossier_id, 2, "RESOLVED", local_ms(2025, 3, day + 11), **env),
    ]


def _state(store) -> dict:
    rows = store.client.query(
        f"SELECT dossier_id, has_fee, requires_paper_result, due_known, outcome FROM {store.db}.dossier_state FINAL"
    ).result_rows
    return {r[0]: r[1:] for r in rows}


def test_load_twice_names_win_and_flags_fill_events(store, tmp_path):
    path = tmp_path / "tthc.json"
    path.write_bytes(orjson.dumps({"error_code": 0, "result": [ITEM, SECOND, BAD]}))
    res = runner.invoke(app, ["registry", "load", "procedures", str(path), "--store", _dsn(store)])
    assert res.exit_code == 1, res.output  # one item refused
    assert "mục 3: thiếu tên thủ tục (TENTTHC)" in _said(res)
    assert "Đã nạp 2 thủ tục từ tthc.json: 2 mới, 0 thay đổi, 0 không đổi; 1 mục bị từ chối." in _said(res)
    rows_before = store.client.command(f"SELECT count() FROM {store.db}.registry_procedures")
    again = runner.invoke(app, ["registry", "load", "procedures", str(path), "--store", _dsn(store)])
    assert "2 thủ tục từ tthc.json: 0 mới, 0 thay đổi, 2 không đổi" in _said(again)
    assert store.client.command(f"SELECT count() FROM {store.db}.registry_procedures") == rows_before
    good = tmp_path / "good.json"
    good.write_bytes(orjson.dumps([ITEM]))
    assert (
        runner.invoke(app, ["registry", "load", "procedures", str(good), "--store", _dsn(store)]).exit_code
        == 0
    )
    # names: dashboards (reference_names), KPI labels
    names = {
        (k, c): n
        for k, c, n in store.client.query(
            f"SELECT kind, code, name FROM {store.db}.reference_names FINAL"
        ).result_rows
    }
    assert names[("procedure", "1.004227")] == ITEM["TENTTHC"]
    assert names[("field", "G09-XD01")] == "Hoạt động xây dựng (danh mục tỉnh)"
    assert ("procedure", "1.000656") in names  # shipped names stay for the codes the catalogue lacks
    assert group_label("procedure", {"procedure_code": "1.004227"}) == ITEM["TENTTHC"]
    assert group_label("field", {"field_code": "G09-XD01"}) == "Hoạt động xây dựng (danh mục tỉnh)"
    # flags: D1 says nothing (the catalogue's: fee, paper result, 15 working days), D2
    # says no fee and 5 working days (the event wins: late; listed as disagreements)
    lines = [
        orjson.dumps(e)
        for e in _events("D1", 3)
        + _events("D2", 3, has_fee=False, time_limit={"value": 5, "unit": "WORKING_DAYS"})
    ]
    EmbeddedPipeline(store, CAL, now_ms=lambda: NOW_MS).ingest([(f"t:{i}", b) for i, b in enumerate(lines)])
    assert _state(store) == {"D1": (1, 1, 1, "EARLY"), "D2": (0, 1, 1, "LATE")}
    res = runner.invoke(app, ["registry", "disagreements", "--store", _dsn(store), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert orjson.loads(res.stdout) == [
        {
            "procedure_code": "1.004227",
            "procedure_name": ITEM["TENTTHC"],
            "flag": "has_fee",
            "event_value": False,
            "catalogue_value": True,
            "dossiers": 1,
        },
        {
            "procedure_code": "1.004227",
            "procedure_name": ITEM["TENTTHC"],
            "flag": "time_limit",
            "event_value": {"value": 5, "unit": "WORKING_DAYS"},
            "catalogue_value": {"value": 15, "unit": "WORKING_DAYS"},
            "dossiers": 1,
        },
    ]
    table = runner.invoke(app, ["registry", "disagreements", "--store", _dsn(store)])
    assert "Có phí/lệ phí" in _said(table) and "15 ngày làm việc" in _said(table)


def test_unreadable_file_exits_2(store, tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(b"{oops")
    res = runner.invoke(app, ["registry", "load", "procedures", str(path), "--store", _dsn(store)])
    assert res.exit_code == 2 and "không phải JSON hợp lệ" in _said(res)


def test_bulk_and_python_replays_supply_the_same_flags(new_store, tmp_path):
    """A catalogue-filled dossier gives the same tables on both replay paths (the bulk
    path supplies the flags in its SQL fold: no line goes to Python)."""
    events = (
        _events("D1", 3)
        + _events(
            "D2",
            3,
            has_fee=False,
            requires_paper_result=False,
            time_limit={"value": 5, "unit": "WORKING_DAYS"},
        )
        + [dict(e, procedure_code="1.000656") for e in _events("D3", 4)]
    )  # not in the catalogue
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    catalogue = {
        "1.004227": CatalogueEntry(
            "1.004227",
            "A",
            has_fee=True,
            requires_paper_result=True,
            time_limit={"value": 15, "unit": "WORKING_DAYS"},
        )
    }
    got = {}
    for bulk in (True, False):
        st = new_store()
        ProceduresRepository(st).save(catalogue.values())
        pipeline = EmbeddedPipeline(st, CAL, now_ms=lambda: NOW_MS)
        pipeline.replay_files([path], bulk=bulk)
        if bulk:
            assert "Python path (0 records)" in [lap[0] for lap in pipeline.last_timings]
        got[bulk] = (tables(st), _state(st))
    assert got[True] == got[False]
    assert got[True][1] == {"D1": (1, 1, 1, "EARLY"), "D2": (0, 0, 1, "LATE"), "D3": (0, 0, 0, "ON_TIME")}


def test_a_stored_dossier_folded_before_the_catalogue_keeps_rollups_equal_to_its_state(store):
    """Old facts of a reloaded dossier are the stored ones: the rollups stay the sum of
    the dossiers' stored facts when the catalogue arrives between two of its events."""
    first, end = _events("D1", 3)
    pipeline = EmbeddedPipeline(store, CAL, now_ms=lambda: NOW_MS)
    pipeline.ingest([("a:1", orjson.dumps(first))])
    ProceduresRepository(store).save(
        [CatalogueEntry("1.004227", "A", has_fee=True, time_limit={"value": 5, "unit": "WORKING_DAYS"})]
    )
    EmbeddedPipeline(store, CAL, now_ms=lambda: NOW_MS).ingest([("b:1", orjson.dumps(end))])
    assert _state(store) == {"D1": (1, 0, 1, "LATE")}
    sums = store.client.query(
        f"SELECT sum(received), sum(has_fee), sum(ended_late) FROM {store.db}.kpi_daily"
    )
    assert sums.result_rows == [(1, 1, 1)]


def test_the_live_processor_reads_its_catalogue_from_a_file_or_the_store(store, tmp_path):
    from motcua.bootstrap import procedure_catalogue as load_live_catalogue
    from motcua.live.config import LiveSettings

    path = tmp_path / "tthc.json"
    path.write_bytes(orjson.dumps([ITEM, BAD]))
    from_file = load_live_catalogue(LiveSettings(procedure_catalogue=str(path)))
    assert list(from_file) == ["1.004227"] and from_file["1.004227"].has_fee is True
    assert load_live_catalogue(LiveSettings(procedure_catalogue=None)) == {}
    ProceduresRepository(store).save(from_file.values())
    from_store = load_live_catalogue(LiveSettings(procedure_catalogue="store", store=_dsn(store)))
    assert from_store == from_file
    with pytest.raises(CatalogueFileError):
        load_live_catalogue(LiveSettings(procedure_catalogue=str(tmp_path / "missing.json")))


def test_a_gzipped_file_reads_like_the_plain_one(tmp_path):
    import gzip

    path = tmp_path / "tthc.json.gz"
    path.write_bytes(gzip.compress(orjson.dumps({"result": [ITEM]})))
    assert [e.code for _p, e in read_catalogue(path).entries] == ["1.004227"]
    broken = tmp_path / "x.csv.gz"
    broken.write_bytes(gzip.compress(b"Ma TTHC,Ten thu tuc\n1.0,A\n")[:-6])
    with pytest.raises(CatalogueFileError, match="gzip"):
        read_catalogue(broken)
