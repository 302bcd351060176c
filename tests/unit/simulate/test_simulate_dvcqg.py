"""The DVCQG payload generator: request shapes of the O and T senders, their quirks, and
the equivalent v1 events, checked on hand-built dossiers (hand-computed expectations)
and over a small simulated window."""

from __future__ import annotations

import gzip
import json
import random
import re
from datetime import date, datetime

import orjson
import pytest

from motcua.domain.calendar import VN_TZ
from motcua.domain.events import looks_personal, validate
from motcua.reference.official_calendar import default_calendar
from motcua.simulate import Simulator
from motcua.simulate.dvcqg import (
    PII_SAMPLES,
    body,
    data_of,
    dossiers,
    equivalent_events,
    fmt_local,
    service_of,
    to_requests,
    unit_of,
    write_requests,
)

CAL = default_calendar()
DATE_RE = re.compile(r"^20\d{12}$")
SNAPSHOT_DATES = ("NgayTiepNhan", "NgayHenTra", "NgayTra", "NgayKetThucXuLy", "NgayTuChoi", "NgayNopHoSo")
OLD_GEN_ONLY_ABSENT = (
    "KenhThucHien",
    "NgayTuChoi",
    "DuocThanhToanTrucTuyen",
    "HoSoCoThanhPhanSoHoa",
    "TaiKhoanDuocXacThucVoiVNeID",
    "NoiNopHoSo",
    "DinhDanhCHS",
    "SoGiayToChuHoSo",
)


def ms(y, mo, d, h=0, mi=0, s=0, milli=0) -> int:
    """A local (UTC+7) wall-clock time as epoch millis."""
    return int(datetime(y, mo, d, h, mi, s, tzinfo=VN_TZ).timestamp()) * 1000 + milli


def dossier(did: str, *items) -> list[dict]:
    """Simulator-shaped events of one dossier: (event_type, occurred_at, extras)."""
    env = {
        "source_system": "motcua-dongnai",
        "dossier_id": did,
        "province_code": "75",
        "unit_code": "H75.SO.STP",
        "unit_level": "PROVINCE",
        "procedure_code": "1.001193",
        "field_code": "HOTICH",
    }
    out = []
    for n, (etype, at, extra) in enumerate(items, 1):
        ev = {"event_id": f"{did}-{n}", "event_type": etype, "occurred_at": at, "sequence": n, **env}
        ev.update(extra or {})
        out.append(ev)
    return out


def online_paid_postal() -> list[dict]:
    """Online, fee paid on DVCQG, partly digitised, e-result, returned by post, rated."""
    return dossier(
        "H75.S9.2025-03-000001",
        ("SUBMITTED", ms(2025, 3, 3, 7, 2, 10, 500), {"channel": "ONLINE", "online_service": "FULL"}),
        (
            "RECEIVED",
            ms(2025, 3, 3, 8, 30, 15, 250),
            {
                "channel": "ONLINE",
                "online_service": "FULL",
                "has_fee": True,
                "requires_paper_result": True,
                "time_limit": {"value": 3, "unit": "WORKING_DAYS"},
            },
        ),
        (
            "DIGITISED",
            ms(2025, 3, 3, 8, 45),
            {
                "components_total": 3,
                "components_digitised": 2,
                "components_reused": 1,
                "from_personal_store": True,
                "population_data_used": True,
            },
        ),
        ("PROCESSING", ms(2025, 3, 3, 9, 0), None),
        ("PAYMENT_REQUESTED", ms(2025, 3, 3, 9, 10), {"amount_vnd": 8000}),
        ("PAYMENT_COMPLETED", ms(2025, 3, 3, 9, 30), {"amount_vnd": 8000, "method": "ONLINE_DVCQG"}),
        ("RESOLVED", ms(2025, 3, 5, 14, 30), {"electronic_result": True}),
        ("RESULT_RETURNED", ms(2025, 3, 6, 10, 0), {"return_channel": "POSTAL"}),
        ("RATED", ms(2025, 3, 6, 11, 0), {"rating": "SATISFIED"}),
    )


def supplements_then_stopped() -> list[dict]:
    """Direct, no fee, due date given, two supplement requests, stopped (no DIGITISED)."""
    return dossier(
        "H75.S9.2025-03-000002",
        ("SUBMITTED", ms(2025, 3, 4, 9, 50), {"channel": "DIRECT", "online_service": "NONE"}),
        (
            "RECEIVED",
            ms(2025, 3, 4, 10, 0, 5),
            {
                "channel": "DIRECT",
                "online_service": "NONE",
                "has_fee": False,
                "requires_paper_result": True,
                "time_limit": {"value": 8, "unit": "WORKING_DAYS"},
                "due_at": ms(2025, 3, 14, 23, 59, 59),
            },
        ),
        ("SUPPLEMENT_REQUESTED", ms(2025, 3, 5, 15, 0), None),
        ("SUPPLEMENT_RECEIVED", ms(2025, 3, 7, 9, 0), None),
        (
            "DEADLINE_EXTENDED",
            ms(2025, 3, 10, 9, 0),
            {"new_due_at": ms(2025, 3, 20, 23, 59), "apology_issued": True},
        ),
        ("SUPPLEMENT_REQUESTED", ms(2025, 3, 10, 10, 0), None),
        ("STOPPED", ms(2025, 4, 8, 10, 0), {"reason": "Quá thời hạn bổ sung hồ sơ theo yêu cầu"}),
    )


def withdrawn() -> list[dict]:
    return dossier(
        "H75.S9.2025-03-000003",
        ("SUBMITTED", ms(2025, 3, 7, 13, 0), {"channel": "POSTAL", "online_service": "NONE"}),
        (
            "RECEIVED",
            ms(2025, 3, 7, 14, 0),
            {
                "channel": "POSTAL",
                "online_service": "NONE",
                "has_fee": False,
                "requires_paper_result": False,
                "time_limit": {"value": 10, "unit": "DAYS"},
            },
        ),
        ("WITHDRAWN", ms(2025, 3, 11, 8, 0), None),
    )


def rejected() -> list[dict]:
    return dossier(
        "H75.S9.2025-03-000004",
        ("SUBMITTED", ms(2025, 3, 3, 6, 0), {"channel": "ONLINE", "online_service": "PARTIAL"}),
        ("REJECTED", ms(2025, 3, 3, 9, 0), {"reason": "Hồ sơ không thuộc thẩm quyền giải quyết"}),
    )


def requests_for(evs, style, pii=True, seed=7):
    return to_requests(evs, style, random.Random(seed), CAL, pii=pii)


def parts(reqs):
    """(snapshots, progress rows) of a dossier's requests."""
    snaps = [s for r in reqs if service_of(r) == "DongBoHoSoMC" for s in data_of(r)]
    rows = [row for r in reqs if service_of(r) == "CapNhatTienDoHoSoMC" for row in data_of(r)]
    return snaps, rows


# ---------------------------------------------------------------------- dates
def test_dates_are_local_seconds():
    assert fmt_local(ms(2025, 3, 1, 8, 30, 15, 999)) == "20250301083015"
    assert fmt_local(ms(2025, 3, 1, 0, 0, 0)) == "20250301000000"  # 2025-02-28T17:00Z
    assert fmt_local(ms(2024, 12, 31, 23, 59, 59)) == "20241231235959"


# ---------------------------------------------------------------------- T
def test_t_online_dossier_snapshot_and_rows():
    reqs = requests_for(online_paid_postal(), "T")
    assert [r["_service"] for r in reqs] == ["DongBoHoSoMC", "CapNhatTienDoHoSoMC"]
    assert all(set(r) == {"_bare", "_service", "_madonvi"} and unit_of(r) == "H75.SO.STP" for r in reqs)
    (snap,) = reqs[0]["_bare"]
    assert snap["MaHoSo"] == "H75.S9.2025-03-000001"
    assert (snap["MaTTHC"], snap["MaLinhVuc"]) == ("1.001193", "HOTICH")
    assert snap["KenhThucHien"] == "2"
    assert snap["NgayTiepNhan"] == snap["NgayNopHoSo"] == "20250303083015"
    # Mon 3 March + 3 working days = Thu 6 March, 17:00
    assert snap["NgayHenTra"] == "20250306170000"
    assert snap["TrangThaiHoSo"] == "10"
    assert snap["NgayKetThucXuLy"] == "20250305143000"
    assert snap["NgayTra"] == "20250306100000"
    assert snap["HinhThuc"] == "1"  # returned by post
    assert snap["NgayTuChoi"] is None
    assert snap["DuocThanhToanTrucTuyen"] == "1"
    assert snap["DanhSachLePhi"] == [
        {
            "TenPhiLePhi": snap["DanhSachLePhi"][0]["TenPhiLePhi"],
            "MaPhiLePhi": "1",
            "HinhThucThu": "1",
            "Gia": "8000",
            "LoaiPhiLePhi": "1",
        }
    ]
    (result,) = snap["DanhSachGiayToKetQua"]
    assert result["DuongDanTepTinKetQua"].startswith("https://files.example/") and result["TenGiayTo"]
    files = snap["TaiLieuNop"]
    assert [f["DuocSoHoa"] for f in files] == ["1", "1", "0"]
    assert [f["DuocTaiSuDung"] for f in files] == ["1", "0", "0"]
    assert [f["DuocLayTuKhoDMQG"] for f in files] == ["1", "0", "0"]
    assert all(f["DuongDanTaiTepTin"].startswith("https://files.example/") for f in files)
    assert snap["HoSoCoThanhPhanSoHoa"] == "1"
    assert snap["TaiKhoanDuocXacThucVoiVNeID"] == "1"
    assert snap["NoiNopHoSo"] == "2" and snap["DSKetNoiCSDL"] == [{"MaCSDL": "7"}]
    assert snap["DinhDanhCHS"][0]["LoaiDinhDanh"] == "1" and len(snap["DinhDanhCHS"][0]["SoDinhDanh"]) == 12
    assert snap["MaDoiTuong"]  # the DVCQG account: online dossiers only

    rows = reqs[1]["_bare"]
    assert [(r["TrangThai"], r["ThoiDiemXuLy"]) for r in rows] == [
        ("2", "20250303083015"),  # synthetic first row
        ("1", "20250303070210"),
        ("2", "20250303083015"),
        ("9", "20250305143000"),
        ("10", "20250306100000"),
        ("9", "20250305143000"),  # synthetic closing row at NgayKetThucXuLy
    ]
    assert rows[0]["NguoiXuLy"] == rows[-1]["NguoiXuLy"] == "Cán bộ một cửa"
    assert rows[0]["NoiDungXuLy"] == "Tiếp nhận hồ sơ"
    assert rows[-1]["NoiDungXuLy"] == "Kết thúc xử lý hồ sơ"
    assert rows[1]["NoiDungXuLy"] == "Nộp hồ sơ trực tuyến"
    assert all(r["MaHoSo"] == snap["MaHoSo"] for r in rows)


def test_t_quirks_supplement_as_5_and_stopped_as_9():
    reqs = requests_for(supplements_then_stopped(), "T")
    (snap,), rows = parts(reqs)
    assert snap["KenhThucHien"] == "1"
    assert snap["NgayHenTra"] == "20250314170000"  # the local date of the given due_at, 17:00
    assert snap["TrangThaiHoSo"] == "9"  # 8 is sent as 9
    assert snap["NgayKetThucXuLy"] is None and snap["NgayTra"] is None
    assert snap["MaDoiTuong"] is None  # not an online dossier
    assert snap["DanhSachLePhi"][0]["Gia"] == "0"  # "no fee" said, not an empty list
    assert snap["TaiLieuNop"] == [] and "HoSoCoThanhPhanSoHoa" not in snap  # no DIGITISED
    assert snap["DuocThanhToanTrucTuyen"] == "0"
    assert [r["TrangThai"] for r in rows] == ["2", "1", "2", "5", "5", "5", "8", "9"]
    assert rows[3]["NoiDungXuLy"].startswith("Yêu cầu bổ sung-")
    assert rows[4]["NoiDungXuLy"] == "Hoàn thành bổ sung hồ sơ"
    assert rows[4]["ThoiDiemXuLy"] == "20250307090000"
    # closing row of a status-9 dossier without NgayKetThucXuLy: at NgayTiepNhan
    assert (rows[-1]["NoiDungXuLy"], rows[-1]["ThoiDiemXuLy"]) == ("Kết thúc xử lý hồ sơ", "20250304100005")


def test_t_withdrawal_is_3():
    (snap,), rows = parts(requests_for(withdrawn(), "T"))
    assert snap["KenhThucHien"] == "3"
    assert snap["NgayHenTra"] == "20250317170000"  # 7 March + 10 calendar days
    assert snap["TrangThaiHoSo"] == "3"
    assert [r["TrangThai"] for r in rows] == ["2", "1", "2", "3"]  # no closing row: has a due date
    assert rows[-1]["NoiDungXuLy"] == "Công dân thu hồi hồ sơ"
    assert snap["NgayTuChoi"] is None


def test_t_rejected_before_receipt():
    (snap,), rows = parts(requests_for(rejected(), "T"))
    assert snap["NgayTiepNhan"] is None and snap["NgayHenTra"] is None
    assert snap["NgayTuChoi"] == "20250303090000"
    assert snap["TrangThaiHoSo"] == "3"
    assert snap["DanhSachLePhi"] == []  # never received: the fee is not said
    assert [(r["TrangThai"], r["NoiDungXuLy"]) for r in rows] == [
        ("1", "Nộp hồ sơ trực tuyến"),
        ("3", "Từ chối tiếp nhận"),
    ]


def test_t_rows_in_chunks_of_ten():
    items = [
        ("SUBMITTED", ms(2025, 3, 3, 8, 0), {"channel": "DIRECT"}),
        (
            "RECEIVED",
            ms(2025, 3, 3, 8, 10),
            {"channel": "DIRECT", "has_fee": False, "time_limit": {"value": 30, "unit": "WORKING_DAYS"}},
        ),
    ]
    for k in range(5):
        items.append(("SUPPLEMENT_REQUESTED", ms(2025, 3, 4 + 2 * k, 9, 0), None))
        items.append(("SUPPLEMENT_RECEIVED", ms(2025, 3, 5 + 2 * k, 9, 0), None))
    items.append(("RESOLVED", ms(2025, 3, 20, 9, 0), {"electronic_result": False}))
    reqs = requests_for(dossier("H75.S9.2025-03-000005", *items), "T")
    assert [len(r["_bare"]) for r in reqs] == [1, 10, 5]  # 1 + 2 + 10 + 1 real rows + 2 synthetic
    (snap,), rows = parts(reqs)
    assert snap["DanhSachGiayToKetQua"] == []  # no electronic result
    assert [r["ThoiDiemXuLy"] for r in rows[1:-1]] == sorted(r["ThoiDiemXuLy"] for r in rows[1:-1])


def test_due_date_from_hours():
    evs = dossier(
        "H75.S9.2025-03-000006",
        ("SUBMITTED", ms(2025, 3, 3, 14, 50), {"channel": "DIRECT"}),
        (
            "RECEIVED",
            ms(2025, 3, 3, 15, 0),
            {"channel": "DIRECT", "has_fee": False, "time_limit": {"value": 8, "unit": "HOURS"}},
        ),
    )
    (snap,), _ = parts(requests_for(evs, "T"))
    assert snap["NgayHenTra"] == "20250303170000"  # 23:00 the same day -> that day's 17:00
    rec = equivalent_events(evs, "T", CAL)[1]
    assert rec["due_at"] == ms(2025, 3, 3, 17, 0) and "time_limit" not in rec


# ---------------------------------------------------------------------- O
def test_o_one_pair_per_action():
    reqs = requests_for(online_paid_postal(), "O")
    assert [r["service"] for r in reqs] == ["DongBoHoSoMC", "CapNhatTienDoHoSoMC"] * 4
    assert [r.get("isUpdating") for r in reqs[::2]] == ["False", "True", "True", "True"]
    assert all(r["madonvi"] == "H75.SO.STP" and r["session"] for r in reqs)
    assert all("isUpdating" not in r for r in reqs[1::2])
    snaps = [r["data"][0] for r in reqs[::2]]
    rows = [r["data"] for r in reqs[1::2]]
    assert all(len(r) == 1 for r in rows)
    assert [s["TrangThaiHoSo"] for s in snaps] == ["1", "2", "9", "10"]
    assert [r[0]["TrangThai"] for r in rows] == ["1", "2", "9", "10"]
    assert [r[0]["ThoiDiemXuLy"] for r in rows] == [
        "20250303070210",
        "20250303083015",
        "20250305143000",
        "20250306100000",
    ]
    first, received, resolved, returned = snaps
    assert first["NgayTiepNhan"] == "" and first["NgayHenTra"] == "" and first["DanhSachLePhi"] == []
    assert received["NgayTiepNhan"] == "20250303083015" and received["NgayHenTra"] == "20250306170000"
    assert received["NgayKetThucXuLy"] == "" and received["DanhSachGiayToKetQua"] == []
    assert received["DanhSachLePhi"][0]["Gia"] == "8000"
    assert resolved["NgayKetThucXuLy"] == "20250305143000" and resolved["NgayTra"] == ""
    assert len(resolved["DanhSachGiayToKetQua"]) == 1 and resolved["HinhThuc"] == "0"
    assert returned["NgayTra"] == "20250306100000" and returned["HinhThuc"] == "1"
    for s in snaps:
        assert not any(k in s for k in OLD_GEN_ONLY_ABSENT)
        assert all("DuocSoHoa" not in f and "DuocTaiSuDung" not in f for f in s["TaiLieuNop"])
        assert s["Fax"] == s["SoDienThoai"]  # O's quirk
        assert "MaGiayToKetQua" not in str(s["DanhSachGiayToKetQua"])


def test_o_supplement_withdrawal_rejection_statuses():
    reqs = requests_for(supplements_then_stopped(), "O")
    assert [r["data"][0]["TrangThai"] for r in reqs[1::2]] == ["1", "2", "5", "4", "5", "8"]
    assert reqs[7]["data"][0]["NoiDungXuLy"] == "Tiếp nhận bổ sung"
    assert [r["data"][0]["TrangThaiHoSo"] for r in reqs[::2]] == ["1", "2", "5", "4", "5", "8"]
    reqs = requests_for(withdrawn(), "O")
    assert reqs[-1]["data"][0]["TrangThai"] == "7" and reqs[-2]["data"][0]["TrangThaiHoSo"] == "7"
    reqs = requests_for(rejected(), "O")
    assert [r["data"][0]["TrangThai"] for r in reqs[1::2]] == ["1", "3"]
    assert reqs[-2]["data"][0]["TrangThaiHoSo"] == "3" and "NgayTuChoi" not in reqs[-2]["data"][0]


# ---------------------------------------------------------------------- equivalent events
def test_equivalent_events_t():
    evs = equivalent_events(online_paid_postal(), "T", CAL)
    assert [e["event_type"] for e in evs] == [
        "SUBMITTED",
        "RECEIVED",
        "DIGITISED",
        "PAYMENT_COMPLETED",
        "RESOLVED",
        "RESULT_RETURNED",
    ]
    sub, rec, dig, paid, res, ret = evs
    assert sub["occurred_at"] == ms(2025, 3, 3, 7, 2, 10)  # whole seconds, as the payload says
    assert sub["channel"] == "ONLINE" and "online_service" not in sub
    assert rec == {
        "event_id": "H75.S9.2025-03-000001-2",
        "event_type": "RECEIVED",
        "occurred_at": ms(2025, 3, 3, 8, 30, 15),
        "source_system": "motcua-dongnai",
        "dossier_id": "H75.S9.2025-03-000001",
        "province_code": "75",
        "unit_code": "H75.SO.STP",
        "unit_level": "PROVINCE",
        "procedure_code": "1.001193",
        "field_code": "HOTICH",
        "channel": "ONLINE",
        "due_at": ms(2025, 3, 6, 17, 0),
        "has_fee": True,
    }
    assert dig["components_digitised"] == 2 and dig["from_personal_store"] is True
    assert paid["method"] == "ONLINE_DVCQG"
    assert res["electronic_result"] is True
    assert ret["return_channel"] == "POSTAL"
    for e in evs:
        validate(e)


def test_equivalent_events_o_and_dropped_kinds():
    evs = equivalent_events(online_paid_postal(), "O", CAL)
    assert [e["event_type"] for e in evs] == ["SUBMITTED", "RECEIVED", "RESOLVED", "RESULT_RETURNED"]
    assert evs[0]["channel"] == evs[1]["channel"] == "DIRECT"  # O cannot say online
    evs = equivalent_events(supplements_then_stopped(), "T", CAL)
    assert [e["event_type"] for e in evs] == [
        "SUBMITTED",
        "RECEIVED",
        "SUPPLEMENT_REQUESTED",
        "SUPPLEMENT_RECEIVED",
        "SUPPLEMENT_REQUESTED",
        "STOPPED",
    ]
    assert evs[1]["due_at"] == ms(2025, 3, 14, 17, 0) and evs[1]["has_fee"] is False
    assert "reason" not in evs[-1]
    cash = online_paid_postal()
    cash[5]["method"] = "CASH"
    assert "PAYMENT_COMPLETED" not in [e["event_type"] for e in equivalent_events(cash, "T", CAL)]
    (snap,), _ = parts(requests_for(cash, "T"))
    assert snap["DuocThanhToanTrucTuyen"] == "0"
    online_return = online_paid_postal()
    online_return[7]["return_channel"] = "ONLINE"
    assert equivalent_events(online_return, "T", CAL)[-1]["return_channel"] == "DIRECT"


# ---------------------------------------------------------------------- a simulated window
@pytest.fixture(scope="module")
def simulated():
    return list(
        dossiers(Simulator("Đồng Nai", date(2025, 3, 1), date(2025, 3, 10), seed=1, scale=0.02).events())
    )


def _walk_strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _walk_strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk_strings(v)


def test_simulated_window_shapes_and_validity(simulated):
    assert len(simulated) > 100
    rng = random.Random(5)
    seen_t_status = set()
    for evs in simulated:
        assert [e["occurred_at"] for e in evs] == sorted(e["occurred_at"] for e in evs)
        assert len({e["dossier_id"] for e in evs}) == 1
        for style in ("O", "T"):
            reqs = to_requests(evs, style, rng, CAL)
            eq = equivalent_events(evs, style, CAL)
            for e in eq:
                validate(e)
                assert not any(looks_personal(s) for s in _walk_strings(e))
            snaps, rows = parts(reqs)
            assert all(s["MaHoSo"] == evs[0]["dossier_id"] for s in snaps + rows)
            assert all(unit_of(r) == evs[0]["unit_code"] for r in reqs)
            empty = "" if style == "O" else None  # how each sender writes "no date"
            for s in snaps:
                for k in SNAPSHOT_DATES:
                    if style == "O" and k in ("NgayTuChoi", "NgayNopHoSo"):
                        assert k not in s  # new-generation fields
                        continue
                    assert s[k] == empty or DATE_RE.match(s[k]), (k, s[k])
            for r in rows:
                assert DATE_RE.match(r["ThoiDiemXuLy"]) and r["TrangThai"] in {str(i) for i in range(1, 11)}
            if style == "O":
                expressible = [
                    e
                    for e in evs
                    if e["event_type"]
                    in (
                        "SUBMITTED",
                        "RECEIVED",
                        "REJECTED",
                        "SUPPLEMENT_REQUESTED",
                        "SUPPLEMENT_RECEIVED",
                        "WITHDRAWN",
                        "STOPPED",
                        "RESOLVED",
                        "RESULT_RETURNED",
                    )
                ]
                assert len(reqs) == 2 * len(expressible)
                assert all(e["channel"] == "DIRECT" for e in eq if "channel" in e)
            else:
                assert len(snaps) == 1 and len(reqs) >= 2 and all(len(data_of(r)) <= 10 for r in reqs)
                seen_t_status.add(snaps[0]["TrangThaiHoSo"])
                if any(e["event_type"] == "RECEIVED" for e in evs):
                    assert rows[0]["NguoiXuLy"] == "Cán bộ một cửa" and rows[0]["TrangThai"] == "2"
    assert seen_t_status.isdisjoint({"5", "6", "7", "8"})


def test_pii_present_only_when_asked(simulated):
    sample = simulated[:40]
    for style in ("O", "T"):
        rng = random.Random(1)
        with_pii = orjson.dumps(
            [body(r) for evs in sample for r in to_requests(evs, style, rng, CAL)]
        ).decode()
        assert sum(1 for v in PII_SAMPLES if v in with_pii) > 100
        no_pii = orjson.dumps(
            [body(r) for evs in sample for r in requests_for(evs, style, pii=False)]
        ).decode()
        assert not [v for v in PII_SAMPLES if v in no_pii]
        eq = orjson.dumps([equivalent_events(evs, style, CAL) for evs in sample]).decode()
        assert not [v for v in PII_SAMPLES if v in eq]
    # free text carries a name and a phone number
    (snap,), rows = parts(requests_for(supplements_then_stopped(), "T"))
    assert looks_personal(snap["TrichYeuHoSo"]) and any(n in snap["TrichYeuHoSo"] for n in PII_SAMPLES)
    assert looks_personal(rows[3]["NoiDungXuLy"])
    assert re.fullmatch(r"0\d{9}", snap["SoDienThoai"]) and re.fullmatch(r"0\d{11}", snap["SoGiayToChuHoSo"])
    assert "@" in snap["Email"] and rows[3]["NguoiXuLy"] in PII_SAMPLES


def test_deterministic_for_a_seed(simulated):
    evs = simulated[3]
    assert requests_for(evs, "O", seed=11) == requests_for(evs, "O", seed=11)
    assert requests_for(evs, "T", seed=11) == requests_for(evs, "T", seed=11)


def test_write_requests(tmp_path):
    reqs = requests_for(online_paid_postal(), "T") + requests_for(online_paid_postal(), "O")
    n = write_requests(tmp_path / "feed.jsonl", reqs)
    lines = (tmp_path / "feed.jsonl").read_text(encoding="utf-8").splitlines()
    assert n == len(lines) == 10
    assert isinstance(json.loads(lines[0]), list) and isinstance(json.loads(lines[1]), list)
    assert json.loads(lines[2])["service"] == "DongBoHoSoMC"
    assert "_madonvi" not in lines[0]
    assert write_requests(tmp_path / "feed.jsonl.gz", reqs) == 10
    with gzip.open(tmp_path / "feed.jsonl.gz", "rt", encoding="utf-8") as fh:
        assert fh.read().splitlines() == lines
    assert write_requests(tmp_path / "feed.json", reqs, jsonl=False) == 10
    doc = json.loads((tmp_path / "feed.json").read_text(encoding="utf-8"))
    assert [type(x).__name__ for x in doc[:3]] == ["list", "list", "dict"]


def test_rows_say_what_the_equivalent_events_say(simulated):
    """Every non-synthetic progress row is one equivalent event, at its second, and the
    final snapshot's dates are those events' times."""
    rng = random.Random(9)
    row_types = {
        "SUBMITTED",
        "RECEIVED",
        "REJECTED",
        "SUPPLEMENT_REQUESTED",
        "SUPPLEMENT_RECEIVED",
        "WITHDRAWN",
        "STOPPED",
        "RESOLVED",
        "RESULT_RETURNED",
    }
    for evs in simulated:
        for style in ("O", "T"):
            snaps, rows = parts(to_requests(evs, style, rng, CAL))
            eq = [e for e in equivalent_events(evs, style, CAL) if e["event_type"] in row_types]
            real = [r for r in rows if r["NguoiXuLy"] != "Cán bộ một cửa"]
            assert [r["ThoiDiemXuLy"] for r in real] == [fmt_local(e["occurred_at"]) for e in eq]
            last = snaps[-1]
            by_type = {e["event_type"]: e for e in eq}
            for field, etype in (
                ("NgayTiepNhan", "RECEIVED"),
                ("NgayKetThucXuLy", "RESOLVED"),
                ("NgayTra", "RESULT_RETURNED"),
            ):
                e = by_type.get(etype)
                assert last[field] == (fmt_local(e["occurred_at"]) if e else ("" if style == "O" else None))
            rec = by_type.get("RECEIVED")
            if rec is not None:
                assert last["NgayHenTra"] == fmt_local(rec["due_at"]) and last["NgayHenTra"].endswith(
                    "170000"
                )
                assert (last["DanhSachLePhi"][0]["Gia"] != "0") == rec["has_fee"]
            res = by_type.get("RESOLVED")
            assert bool(last["DanhSachGiayToKetQua"]) == bool(res and res["electronic_result"])
