"""The procedure catalogue: the pure flag supply, its fold property, and the DVCQG /
table item rules (no I/O; files are read in tests/integration/test_registry_procedures.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.domain.lifecycle import DossierState
from motcua.live.processor import Folder
from motcua.pipeline.dossiers import DossierBook, fold_dossier
from motcua.reference.catalogue import FLAGS, CatalogueEntry, disagreements, supply_flags
from motcua.reference.official_calendar import default_calendar
from motcua.reference.procedures_loader import (
    BadItem,
    _header_map,
    dvcqg_item,
    parse_bool,
    parse_channels,
    parse_unit,
    table_row,
)
from tests.builders import ENVELOPE, local_ms
from tests.strategies import delivered, histories

cal = default_calendar()

ENTRY = CatalogueEntry(
    code="1.1",
    name="Thủ tục A",
    has_fee=True,
    requires_paper_result=None,
    time_limit={"value": 5, "unit": "WORKING_DAYS"},
)


def received(**extra) -> dict:
    return dict(
        ENVELOPE,
        event_id="e1",
        dossier_id="D1",
        event_type="RECEIVED",
        procedure_code="1.1",
        occurred_at=local_ms(2025, 3, 3, 9),
        channel="DIRECT",
        **extra,
    )


def test_supply_fills_only_what_the_event_leaves_out_and_never_changes_the_event():
    e = received(requires_paper_result=True)
    filled = supply_flags(e, {"1.1": ENTRY})
    assert filled["has_fee"] is True and filled["time_limit"] == {"value": 5, "unit": "WORKING_DAYS"}
    assert filled["requires_paper_result"] is True  # unknown in the catalogue: the event's stays
    assert "has_fee" not in e and "time_limit" not in e
    said = received(has_fee=False, time_limit={"value": 2, "unit": "DAYS"})
    assert supply_flags(said, {"1.1": ENTRY}) is said  # the event speaks: it wins
    assert disagreements(said, {"1.1": ENTRY}) == [
        ("has_fee", False, True),
        ("time_limit", {"value": 2, "unit": "DAYS"}, {"value": 5, "unit": "WORKING_DAYS"}),
    ]


def test_supply_leaves_other_events_procedures_and_empty_catalogues_alone():
    other = dict(received(), event_type="RESOLVED")
    assert supply_flags(other, {"1.1": ENTRY}) is other
    unknown = dict(received(), procedure_code="9.9")
    assert supply_flags(unknown, {"1.1": ENTRY}) is unknown
    e = received()
    assert supply_flags(e, {}) is e and supply_flags(e, None) is e


@st.composite
def catalogues(draw) -> dict:
    out = {}
    for code in draw(st.lists(st.sampled_from(["1.1", "1.2", "2.1", "9.9"]), unique=True)):
        out[code] = CatalogueEntry(
            code=code,
            name=f"Thủ tục {code}",
            has_fee=draw(st.none() | st.booleans()),
            requires_paper_result=draw(st.none() | st.booleans()),
            time_limit=draw(
                st.none()
                | st.builds(
                    lambda v, u: {"value": v, "unit": u},
                    st.integers(0, 20),
                    st.sampled_from(["WORKING_DAYS", "DAYS", "HOURS"]),
                )
            ),
        )
    return out


@st.composite
def histories_missing_flags(draw) -> list[dict]:
    """Histories whose RECEIVED events leave out a random part of the flags."""
    events = draw(histories(max_dossiers=6))
    out = []
    for e in events:
        if e["event_type"] == "RECEIVED":
            e = {k: v for k, v in e.items() if k not in draw(st.sets(st.sampled_from(FLAGS)))}
        out.append(e)
    return draw(delivered(out))


def written_in(events: list[dict], catalogue: dict) -> list[dict]:
    """The same history with the catalogue's value written into every RECEIVED that
    lacks a flag (what a source would have sent, knowing the catalogue)."""
    out = []
    for e in events:
        e = dict(e)
        entry = catalogue.get(e["procedure_code"])
        if e["event_type"] == "RECEIVED" and entry is not None:
            if "has_fee" not in e and entry.has_fee is not None:
                e["has_fee"] = entry.has_fee
            if "requires_paper_result" not in e and entry.requires_paper_result is not None:
                e["requires_paper_result"] = entry.requires_paper_result
            if "time_limit" not in e and entry.time_limit is not None:
                e["time_limit"] = dict(entry.time_limit)
        out.append(e)
    return out


def facts(book: DossierBook, events: list[dict]) -> dict:
    book.apply(events)
    return {f["dossier_id"]: f for f in book.all_facts()}


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_folding_with_the_catalogue_equals_folding_the_flags_written_in(data):
    events = data.draw(histories_missing_flags())
    catalogue = data.draw(catalogues())
    with_catalogue = facts(DossierBook(cal, catalogue=catalogue), events)
    assert with_catalogue == facts(DossierBook(cal), written_in(events, catalogue))
    # batch by batch (a dossier's RECEIVED in an earlier batch) gives the same facts
    cut = data.draw(st.integers(0, len(events)))
    book = DossierBook(cal, catalogue=catalogue)
    book.apply(events[:cut])
    assert facts(book, events[cut:]) == with_catalogue


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_the_live_folder_supplies_flags_like_the_replay(data):
    events = data.draw(histories_missing_flags())
    catalogue = data.draw(catalogues())
    by_dossier: dict[str, list] = {}
    for e in events:
        by_dossier.setdefault(e["dossier_id"], []).append(e)
    folder = Folder(cal, "t", catalogue=catalogue)
    expected = facts(DossierBook(cal, catalogue=catalogue), events)
    for dossier_id, evs in by_dossier.items():
        _value, folded = folder.fold(dossier_id, None, evs)
        assert folded.facts == expected[dossier_id]


def test_a_catalogue_limit_gives_a_due_date_and_the_fee_counts():
    e = received()
    end = dict(received(), event_id="e2", event_type="RESOLVED", occurred_at=local_ms(2025, 3, 14, 9))
    plain = fold_dossier(DossierState("D1"), [e, end], cal, lambda: DossierState("D1")).facts
    filled = fold_dossier(DossierState("D1"), [e, end], cal, lambda: DossierState("D1"), {"1.1": ENTRY}).facts
    assert plain["due_known"] is False and plain["outcome"] == "ON_TIME" and plain["has_fee"] is False
    # received Mon 3 March + 5 working days = Mon 10 March; resolved Fri 14 March: late
    assert filled["due_known"] is True and filled["outcome"] == "LATE" and filled["has_fee"] is True


# -- the DVCQG item rules ------------------------------------------------------------------


def item(**over) -> dict:
    base = {
        "MATTHC": "1.004227",
        "TENTTHC": "Cấp giấy phép xây dựng",
        "LINHVUCTHUCHIEN": [{"MALINHVUC": "G09-XD01", "TENLINHVUC": "Hoạt động xây dựng"}],
        "CACHTHUCTHUCHIEN": [
            {
                "KENH": 1,
                "THOIGIAN": [
                    {
                        "THOIGIANGIAIQUYET": 15,
                        "DONVITINH": "Ngày làm việc",
                        "MOTA": "",
                        "PHILEPHI": [{"MAPHILEPHI": "1", "SOTIEN": 0, "DONVI": "Đồng"}],
                    }
                ],
            },
            {
                "KENH": "2",
                "THOIGIAN": [
                    {"THOIGIANGIAIQUYET": 10, "DONVITINH": "Ngày làm việc", "PHILEPHI": []},
                    {
                        "THOIGIANGIAIQUYET": "30",
                        "DONVITINH": "Ngày",
                        "MOTA": "Trường hợp phải xác minh",
                        "PHILEPHI": [{"SOTIEN": "50.000"}],
                    },
                ],
            },
        ],
        "KETQUATHUCHIEN": [{"MAKETQUA": "KQ01", "TENKETQUA": "Giấy phép xây dựng"}],
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def test_dvcqg_item_keeps_names_fee_paper_longest_limit_and_channels():
    entry, warnings = dvcqg_item(item())
    assert (entry.code, entry.name, entry.field_code, entry.field_name) == (
        "1.004227",
        "Cấp giấy phép xây dựng",
        "G09-XD01",
        "Hoạt động xây dựng",
    )
    assert entry.has_fee is True  # 50.000 đồng in one row
    assert entry.requires_paper_result is True
    # 15 working days (~21 days) vs 10 working days vs 30 days: the longest
    assert entry.time_limit == {"value": 30, "unit": "DAYS"}
    assert entry.channels == ("DIRECT", "ONLINE") and warnings == []


def test_dvcqg_item_unknown_stays_unknown():
    entry, _ = dvcqg_item({"MaTTHC": "1.000001", "TenTTHC": "Thủ tục B"})  # camel case keys too
    assert (entry.has_fee, entry.requires_paper_result, entry.time_limit) == (None, None, None)
    entry, _ = dvcqg_item(
        item(
            KETQUATHUCHIEN=[],
            CACHTHUCTHUCHIEN=[
                {
                    "KENH": 2,
                    "THOIGIAN": [{"THOIGIANGIAIQUYET": 0.5, "DONVITINH": "Ngày làm việc", "PHILEPHI": []}],
                }
            ],
        )
    )
    assert entry.has_fee is False and entry.requires_paper_result is None
    assert entry.time_limit == {"value": 1, "unit": "WORKING_DAYS"}  # half a day rounds up


def test_dvcqg_unit_without_exact_equivalent_is_left_out_with_a_warning():
    entry, warnings = dvcqg_item(
        item(CACHTHUCTHUCHIEN=[{"KENH": 1, "THOIGIAN": [{"THOIGIANGIAIQUYET": 3, "DONVITINH": "Tháng"}]}])
    )
    assert entry.time_limit is None and "THOIGIAN[1]" in warnings[0]


@pytest.mark.parametrize(
    "over, reason",
    [
        ({"MATTHC": None}, "thiếu mã thủ tục"),
        ({"TENTTHC": "  "}, "thiếu tên thủ tục"),
        ({"MATTHC": "1 004227"}, "mã thủ tục (MATTHC) không hợp lệ"),
        ({"MATTHC": "0912345678"}, "dữ liệu cá nhân"),
        ({"TENTTHC": "Liên hệ 0912 345 678"}, "dữ liệu cá nhân"),
        ({"CACHTHUCTHUCHIEN": [{"KENH": 7}]}, "CACHTHUCTHUCHIEN[1].KENH"),
        (
            {
                "CACHTHUCTHUCHIEN": [
                    {"KENH": 1, "THOIGIAN": [{"THOIGIANGIAIQUYET": "mười", "DONVITINH": "Ngày"}]}
                ]
            },
            "THOIGIANGIAIQUYET không phải một số",
        ),
        ({"CACHTHUCTHUCHIEN": [{"KENH": 1, "THOIGIAN": [{"THOIGIANGIAIQUYET": 5}]}]}, "thiếu DONVITINH"),
        (
            {"CACHTHUCTHUCHIEN": [{"KENH": 1, "THOIGIAN": [{"THOIGIANGIAIQUYET": 5, "DONVITINH": "Lần"}]}]},
            "đơn vị tính thời hạn không nhận ra",
        ),
        (
            {
                "CACHTHUCTHUCHIEN": [
                    {"KENH": 1, "THOIGIAN": [{"THOIGIANGIAIQUYET": 5000, "DONVITINH": "Ngày"}]}
                ]
            },
            "dài quá 1000 ngày",
        ),
    ],
)
def test_dvcqg_bad_items_name_the_reason(over, reason):
    with pytest.raises(BadItem) as err:
        dvcqg_item(item(**over))
    assert reason in str(err.value)


def test_table_cells_booleans_units_and_channels():
    assert [
        parse_bool(v, "x")
        for v in ("Có", "co", "X", "1", 1, "TRUE", "Không", "khong", "0", "false", "", None)
    ] == [True] * 6 + [False] * 4 + [None, None]
    with pytest.raises(BadItem):
        parse_bool("có thể", "cột có phí/lệ phí")
    assert parse_unit("Ngày làm việc") == ("WORKING_DAYS", 1) and parse_unit("ngay lam viec") == (
        "WORKING_DAYS",
        1,
    )
    assert parse_unit("Ngày") == ("DAYS", 1) and parse_unit("GIỜ") == ("HOURS", 1)
    assert parse_unit("Tuần") == ("DAYS", 7) and parse_unit("Tháng") is None
    assert parse_channels("1, 3") == ("DIRECT", "POSTAL")
    assert parse_channels("Trực tuyến; Bưu chính công ích") == ("ONLINE", "POSTAL")


def test_table_headings_with_and_without_diacritics_any_case():
    cols = _header_map(
        [
            "STT",
            "MÃ THỦ TỤC",
            "Ten thu tuc",
            "ma linh vuc",
            "Tên lĩnh vực",
            "Có phí/lệ phí",
            "Ket qua ban giay",
            "Thời hạn giải quyết",
            "Đơn vị tính",
            "Kênh thực hiện",
        ]
    )
    assert cols == {
        "code": 1,
        "name": 2,
        "field_code": 3,
        "field_name": 4,
        "has_fee": 5,
        "requires_paper_result": 6,
        "time_limit": 7,
        "time_unit": 8,
        "channels": 9,
    }
    assert _header_map(["MATTHC", "TENTTHC"]) == {"code": 0, "name": 1}
    assert _header_map(["Tên thủ tục", "Ghi chú"]) is None
    row = table_row(
        cols,
        [1, "1.001193", "Đăng ký khai sinh", "HOTICH", "Hộ tịch", "Không", "x", "3", "Ngày làm việc", "1,2"],
    )
    assert row == CatalogueEntry(
        "1.001193",
        "Đăng ký khai sinh",
        "HOTICH",
        "Hộ tịch",
        False,
        True,
        {"value": 3, "unit": "WORKING_DAYS"},
        ("DIRECT", "ONLINE"),
    )
    # the unit inside the limit cell, no unit column
    row = table_row({"code": 0, "name": 1, "time_limit": 2}, ["1.0", "B", "15 ngày làm việc"])
    assert row.time_limit == {"value": 15, "unit": "WORKING_DAYS"}
    with pytest.raises(BadItem, match="thiếu đơn vị tính"):
        table_row({"code": 0, "name": 1, "time_limit": 2}, ["1.0", "B", "15"])
    # a MaTTHC Excel stored as a number: the x.xxxxxx form only
    assert table_row({"code": 0, "name": 1}, [1.004227, "B"]).code == "1.004227"
    with pytest.raises(BadItem, match="mất số 0"):
        table_row({"code": 0, "name": 1}, [1.00422, "B"])


def test_catalogue_version_follows_the_flags_only():
    from motcua.reference.catalogue import catalogue_version

    a = {"1.1": ENTRY, "1.2": CatalogueEntry("1.2", "B", has_fee=False)}
    b = {"1.2": CatalogueEntry("1.2", "B khác", has_fee=False, channels=("ONLINE",)), "1.1": ENTRY}
    assert catalogue_version(a) == catalogue_version(b) != ""
    assert catalogue_version({"1.1": ENTRY}) != catalogue_version(a)
    assert (
        catalogue_version(None)
        == catalogue_version({})
        == catalogue_version({"9": CatalogueEntry("9", "C")})
        == ""
    )


def test_the_processor_agent_folds_with_its_catalogue(tmp_path):
    import asyncio

    import orjson

    from motcua.adapters.codec import encode_json
    from motcua.live.config import LiveSettings
    from motcua.live.processor import create_app

    s = LiveSettings(processor_app_id="unit-catalogue", processor_datadir=str(tmp_path), processor_batch=10)
    app = create_app(s, cal, catalogue={"1.1": ENTRY}, store="memory://")
    app.motcua["events_out"]._partitions = [0]  # the test context's one partition
    assert app.motcua["folder"].catalogue == {"1.1": ENTRY}
    agent = app.agents["motcua.live.processor.fold_events"]

    async def run():
        sent = []

        async def capture(messages):
            sent.extend(orjson.loads(v) for _k, v in messages)

        async def no_changelog(partition, items, on_sent=None):
            return None

        app.motcua["facts_out"].send = capture
        app.motcua["changelog_out"].send_to = no_changelog
        async with agent.test_context() as ctx:
            await ctx.put(key=b"D1", value=encode_json(received()))
            await asyncio.sleep(0.2)
        return sent

    facts = asyncio.run(run())[-1]["facts"]
    assert facts["has_fee"] is True and facts["due_known"] is True
