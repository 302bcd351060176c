"""The drop-in DVCQG endpoint against the real broker, driven as an unmodified client would:
a token call, then OpenCPS-style envelopes (session inside) and Thanh Hoá / Hà Giang style
bare arrays (session in the query) of snapshots and progress rows, with a re-sent and a
corrected snapshot, a bad item, and fake personal data in the personal fields. Once the
pipeline drained, the KPI rows, the kpi_daily sums and the dossier_state facts equal an
``Importer.import_dvcqg`` of the same payloads from a file into a fresh embedded store under
the same source system; no fake personal value, session token or API key is in any table
of the live store, any topic of the pipeline or any service log."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from datetime import date

import orjson
import pytest
from devtools.kafka_broker import free_port

from motcua.adapters.clickhouse_store import STATE_COLUMNS
from tests.unit.imports.test_dvcqg_reader import (
    EMAIL,
    FAX,
    ID_NO,
    NAME,
    O_CALLS,
    PHONE,
    STAFF,
    T_ROWS,
    T_SNAPSHOT,
)

from .conftest import PY, REPO
from .tools import kcat_binary, wait_http

pytestmark = pytest.mark.kafka

SOURCE = "thanhhoa-dvc"
API_KEY = "dvcqg-k3y-for-tests"
PERSONAL = [NAME, ID_NO, PHONE, EMAIL, STAFF, FAX, "Lê Thị Hoa", "0987654321", "hoa.le@example.vn"]
FREE_TEXTS = ["Đề nghị cấp bản sao trích lục khai sinh", "Thiếu bản vẽ mặt bằng", "to-khai.pdf"]

PROBE = r"""
import sys, orjson
from datetime import date
from motcua.adapters.clickhouse_store import ClickHouseStore, STATE_COLUMNS
from motcua.domain.calendar import local_midnight_ms
from motcua.reference.official_calendar import default_calendar
from motcua.domain.periods import Period
from tests.integration.test_bad_input_corpus import scan_every_table

store = ClickHouseStore(sys.argv[1])
q = store.client.query
cal = default_calendar()
out = {"kpi": {by: store.kpi(Period(date(2024, 1, 1), date(2026, 1, 1)),
                             local_midnight_ms(date(2025, 4, 15)), by, cal)
               for by in ("all", "level", "unit")}}
cols = q("SELECT name, type FROM system.columns WHERE database = {db:String} AND table = 'kpi_daily' "
         "ORDER BY name", parameters={"db": store.db}).result_rows
nums = [n for n, t in cols if "Int" in t or "Float" in t]
keys = [n for n, t in cols if n not in nums]
out["kpi_daily"] = [list(r) for r in q(
    f"SELECT {', '.join(keys)}, {', '.join(f'sum({n})' for n in nums)} FROM {store.db}.kpi_daily "
    f"GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}").result_rows]
out["kpi_daily_columns"] = keys + nums
out["dossier_state"] = [list(r) for r in q(
    f"SELECT {', '.join(STATE_COLUMNS)} FROM {store.db}.dossier_state FINAL ORDER BY dossier_id",
    query_formats={"DateTime64": "int", "Date": "int"}).result_rows]
out["events"] = store.count("events")
out["dead_letters"] = dict(store.dead_letter_summary())
if len(sys.argv) > 2:
    out["tables"] = scan_every_table(store)
sys.stdout.buffer.write(orjson.dumps(out, default=str))
"""


def probe(env: dict, store: str, *, tables: bool = False) -> dict:
    out = subprocess.run(
        [PY, "-c", PROBE, store, *(["tables"] if tables else [])],
        cwd=REPO,
        env=env,
        capture_output=True,
        check=True,
    )
    return orjson.loads(out.stdout)


def http(port: int, path: str, body: bytes, ctype: str = "application/json") -> tuple[int, dict]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body,
        method="POST",
        headers={"Content-Type": ctype, "Charset": "utf-8"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, orjson.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, orjson.loads(e.read() or b"{}")


# --------------------------------------------------------------------------- payloads

UNITS = ["000.00.12.H56", "000.00.15.H56", "000.21.30.H56"]
PROCEDURES = [("1.001612", "G09-TP03"), ("1.004227", "G16-XD04"), ("2.000303", "G12-LD01")]


def ts(day: int, hour: int, minute: int = 0) -> str:
    return f"202503{day:02d}{hour:02d}{minute:02d}00"


def dossier(i: int) -> tuple[dict, list[dict]]:
    """A March 2025 dossier (T's newer payload): its snapshot and progress rows."""
    unit = UNITS[i % 3]
    code, field = PROCEDURES[i % 3]
    mahoso = f"{unit}-2503{i % 28 + 1:02d}-{i:05d}"
    day = 3 + i % 12
    late = i % 4 == 0
    open_ = i % 7 == 3
    snap = copy.deepcopy(T_SNAPSHOT)
    snap.update(
        {
            "MaHoSo": mahoso,
            "MaTTHC": code,
            "MaLinhVuc": field,
            "KenhThucHien": str(1 + i % 3),
            "ChuHoSo": PERSONAL[6] if i % 2 else NAME,
            "SoGiayToChuHoSo": ID_NO,
            "MaDoiTuong": ID_NO,
            "SoDienThoai": PERSONAL[7] if i % 2 else PHONE,
            "Email": PERSONAL[8] if i % 2 else EMAIL,
            "Fax": FAX,
            "NgayTiepNhan": ts(day, 8, i % 60),
            "NgayNopHoSo": ts(day, 8, i % 60),
            "NgayHenTra": ts(day + 3, 17),
            "TrangThaiHoSo": "4" if open_ else "10",
            "NgayKetThucXuLy": "" if open_ else ts(day + (5 if late else 2), 10),
            "NgayTra": "" if open_ else ts(day + (6 if late else 2), 15),
            "DuocThanhToanTrucTuyen": "1" if i % 5 == 0 else "0",
            "DinhDanhCHS": [{"LoaiDinhDanh": "1", "SoDinhDanh": ID_NO}],
        }
    )
    if i % 3 == 1:
        snap["DanhSachGiayToKetQua"] = []
    rows = [
        {
            "MaHoSo": mahoso,
            "NguoiXuLy": "Cán bộ một cửa",
            "ChucDanh": "",
            "ThoiDiemXuLy": ts(day, 8, i % 60),
            "PhongBanXuLy": "",
            "NoiDungXuLy": "Tiếp nhận hồ sơ",
            "TrangThai": "2",
            "NgayBatDau": "",
            "NgayKetThucTheoQuyDinh": "",
        },
        {
            "MaHoSo": mahoso,
            "NguoiXuLy": STAFF,
            "ChucDanh": "",
            "ThoiDiemXuLy": ts(day, 8, i % 60),
            "PhongBanXuLy": "",
            "NoiDungXuLy": f"Tiếp nhận hồ sơ của {NAME}, SĐT {PHONE}",
            "TrangThai": "2",
            "NgayBatDau": "",
            "NgayKetThucTheoQuyDinh": ts(day + 1, 8),
        },
    ]
    if i % 6 == 2:  # a supplement round
        rows += [
            dict(
                rows[1],
                ThoiDiemXuLy=ts(day + 1, 9),
                NoiDungXuLy="Yêu cầu bổ sung-Thiếu bản vẽ mặt bằng",
                TrangThai="5",
            ),
            dict(rows[1], ThoiDiemXuLy=ts(day + 1, 14), NoiDungXuLy="Tiếp nhận bổ sung", TrangThai="4"),
        ]
    if not open_:
        rows += [
            dict(rows[1], ThoiDiemXuLy=snap["NgayKetThucXuLy"], NoiDungXuLy="Kết thúc xử lý", TrangThai="9"),
            dict(rows[1], ThoiDiemXuLy=snap["NgayTra"], NoiDungXuLy="Trả kết quả", TrangThai="10"),
            dict(
                rows[0],
                ThoiDiemXuLy=snap["NgayKetThucXuLy"],
                NoiDungXuLy="Kết thúc xử lý hồ sơ",
                TrangThai="9",
            ),
        ]
    return snap, rows


def chunks(items: list, n: int = 10) -> list[list]:
    return [items[i : i + n] for i in range(0, len(items), n)]


def requests_to_send() -> list[tuple[str, dict, object]]:
    """(path, query without the session, body) in sending order; the session is added when sent."""
    out: list[tuple[str, dict, object]] = []
    # O (OpenCPS): envelopes, the session inside, one sync pair per action
    for call in copy.deepcopy(O_CALLS):
        out.append(("/v1/dvcqg", {}, call))
    # T (Thanh Hoá): bare arrays, chunks of 10
    made = [dossier(i) for i in range(40)]
    snaps = [copy.deepcopy(T_SNAPSHOT)] + [s for s, _r in made]
    rows = copy.deepcopy(T_ROWS) + [r for _s, rs in made for r in rs]
    for chunk in chunks(snaps):
        out.append(("/v1/dvcqg/DongBoHoSoMC", {"isUpdating": "False"}, chunk))
    for chunk in chunks(rows):
        out.append(("/v1/dvcqg/CapNhatTienDoHoSoMC", {}, chunk))
    # H (Hà Giang): the unit in the query, dossier codes without an agency prefix
    hg = []
    for i in range(3):
        s, r = dossier(100 + i)
        code = f"HG-2503-{i:04d}"
        s["MaHoSo"] = code
        hg.append((s, [dict(x, MaHoSo=code) for x in r]))
    query = {"MaDinhDanhDV": "000.00.01.H22", "isUpdating": "False"}
    out.append(("/api/SynsTTHCC/DongBoHoSoMC", query, [s for s, _r in hg]))
    out.append(
        (
            "/api/SynsTTHCC/CapNhatTienDoHoSoMC",
            {"MaDinhDanhDV": "000.00.01.H22"},
            [x for _s, r in hg for x in r],
        )
    )
    # a re-sent snapshot (unchanged) and a corrected one (later resolution, new due date)
    out.append(("/v1/dvcqg/DongBoHoSoMC", {"isUpdating": "True"}, [copy.deepcopy(made[5][0])]))
    corrected = dict(
        copy.deepcopy(made[9][0]), NgayHenTra=ts(25, 17), NgayKetThucXuLy=ts(24, 9), NgayTra=ts(24, 10)
    )
    out.append(("/v1/dvcqg/DongBoHoSoMC", {"isUpdating": "True"}, [corrected]))
    # an open dossier resolved later: snapshot + rows
    s, r = made[3]
    done = dict(copy.deepcopy(s), TrangThaiHoSo="10", NgayKetThucXuLy=ts(20, 9), NgayTra=ts(20, 11))
    out.append(("/v1/dvcqg/DongBoHoSoMC", {"isUpdating": "True"}, [done]))
    out.append(
        (
            "/v1/dvcqg/CapNhatTienDoHoSoMC",
            {},
            [dict(r[1], ThoiDiemXuLy=ts(20, 9), TrangThai="9", NoiDungXuLy="Kết thúc xử lý")],
        )
    )
    # one bad item among good ones: error_code 2, the good one kept
    bad = dict(copy.deepcopy(made[7][0]), MaHoSo="000.00.12.H56-250330-99999", NgayTiepNhan="20251345000000")
    good, _ = dossier(200)
    out.append(("/v1/dvcqg/DongBoHoSoMC", {"isUpdating": "False"}, [good, bad]))
    return out


def file_line(path: str, query: dict, body) -> bytes:
    """The request as a sync log would hold it: what the query said goes into an envelope."""
    if "MaDinhDanhDV" in query:
        service = path.rsplit("/", 1)[1]
        env = {"madonvi": query["MaDinhDanhDV"], "service": service, "data": body}
        if "isUpdating" in query:
            env["isUpdating"] = query["isUpdating"]
        return orjson.dumps(env)
    return orjson.dumps(body)


# --------------------------------------------------------------------------- the test


def test_a_dvcqg_client_through_the_live_pipeline_equals_the_file_import(pipeline, tmp_path):
    # the subprocesses run this worktree's code (the venv's editable install may point elsewhere)
    pipeline.env["PYTHONPATH"] = os.pathsep.join([str(REPO / "services"), str(REPO)])
    env = {"MOTCUA_API_KEYS": f"{SOURCE}:{API_KEY},other:another-key"}
    port = free_port()
    services = [
        pipeline.processor(),
        pipeline.writer(),
        pipeline.service("gateway", "--port", str(port), env=env),
    ]
    for s in services:
        s.start()
    wait_http(port)

    status, answer = http(port, "/v1/dvcqg/token", orjson.dumps({"username": SOURCE, "password": "wrong"}))
    assert (status, answer["error_code"]) == (200, 1)
    status, answer = http(port, "/v1/dvcqg/token", orjson.dumps({"username": SOURCE, "password": API_KEY}))
    assert status == 200 and answer["error_code"] == 0 and "thành công" in answer["message"]
    token = answer["session"]

    sent = requests_to_send()
    lines = []
    answers = []
    for path, query, body in sent:
        if isinstance(body, dict):  # O: the session in the envelope
            body = dict(body, session=token)
            url = path
        else:
            url = path + "?" + urllib.parse.urlencode({**query, "session": token})
        status, answer = http(port, url, orjson.dumps(body))
        answers.append(answer)
        assert status == 200, answer
        lines.append(file_line(path, query, body))
    # T's success check: error_code "0" and "thành công" in the message
    assert all(str(a["error_code"]) == "0" and "thành công" in a["message"] for a in answers[:-1]), answers
    last = answers[-1]
    assert last["error_code"] == 2 and [r["code"] for r in last["rejected"]] == ["BAD_DATE"]
    # a bad session is refused
    status, answer = http(
        port, "/v1/dvcqg/DongBoHoSoMC?session=" + token[:-2] + "xx", orjson.dumps(sent[9][2])
    )
    assert (status, answer["error_code"]) == (401, 1)

    pipeline.wait_drained(watch=services, timeout=300)
    pipeline.stop_all()
    live = probe(pipeline.env, pipeline.store, tables=True)

    # the same payloads imported from a file, under the same source system
    feed = tmp_path / "dvcqg-feed.jsonl"
    feed.write_bytes(b"\n".join(lines) + b"\n")
    imported = f"chdb://{tmp_path / 'import-store'}"
    importing = (
        "import sys; from motcua.adapters.clickhouse_store import ClickHouseStore;"
        "from motcua.reference.official_calendar import default_calendar;"
        "from motcua.pipeline.importing import ImportOptions;"
        "from motcua.replay import importer as Importer;"
        "s = Importer(ClickHouseStore(sys.argv[1]), default_calendar(),"
        " ImportOptions(source_system=sys.argv[3])).import_dvcqg([sys.argv[2]]);"
        "assert dict(s.dead_letters) == {'BAD_DATE': 1}, s.dead_letters"
    )
    subprocess.run(
        [PY, "-c", importing, imported, str(feed), SOURCE],
        cwd=REPO,
        env=pipeline.env,
        check=True,
        capture_output=True,
    )
    truth = probe(pipeline.env, imported)

    assert live["events"] > 150 and len(live["dossier_state"]) == 1 + 1 + 40 + 3 + 1
    assert live["kpi"]["all"][0]["online_filing_rate_den"] > 0
    assert live["kpi"] == truth["kpi"]
    assert live["kpi_daily_columns"] == truth["kpi_daily_columns"]
    assert live["kpi_daily"] == truth["kpi_daily"]
    assert live["dossier_state"] == truth["dossier_state"]
    assert live["events"] == truth["events"]
    assert live["dead_letters"] == truth["dead_letters"] == {"BAD_DATE": 1}
    states = {row[0]: dict(zip(STATE_COLUMNS, row)) for row in live["dossier_state"]}
    assert states["HG-2503-0000"]["unit_code"] == "000.00.01.H22"  # the unit from the query
    # the corrected snapshot won: its due date and resolution, not the first one's
    corrected = states[dossier(9)[0]["MaHoSo"]]
    assert corrected["due_date"] == (date(2025, 3, 25) - date(1970, 1, 1)).days and corrected["ended"]
    assert states[dossier(3)[0]["MaHoSo"]]["ended"]  # the open dossier resolved later

    # no personal value, token or key anywhere
    tag = pipeline.settings.events_topic.rsplit("-dossier-events", 1)[0]
    listed = subprocess.run(
        [kcat_binary(), "-L", "-b", pipeline.bootstrap], capture_output=True, text=True, check=True
    ).stdout
    topics = sorted(set(re.findall(rf'topic "({re.escape(tag)}[^"]*)"', listed)))
    assert {pipeline.settings.events_topic, pipeline.settings.dead_letters_topic} <= set(topics)
    dumped = b""
    for topic in topics:
        dumped += subprocess.run(
            [
                kcat_binary(),
                "-C",
                "-b",
                pipeline.bootstrap,
                "-t",
                topic,
                "-e",
                "-q",
                "-o",
                "beginning",
                "-f",
                "%k\t%s\n",
            ],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
    assert b"000.00.12.H56-250303" in dumped  # the scan sees the data
    logs = b"".join(p.read_bytes() for p in pipeline.root.glob("*.log"))
    assert b"dvcqg sync" in logs
    tables = live["tables"]
    assert "000.00.12.H56" in tables
    for where, text in (
        ("topics", dumped.decode("utf-8", "replace")),
        ("logs", logs.decode("utf-8", "replace")),
        ("tables", tables),
    ):
        for secret in (*PERSONAL, token, API_KEY):
            assert secret not in text, f"{secret!r} found in the {where}"
    for text in FREE_TEXTS:
        assert text not in tables and text not in dumped.decode("utf-8", "replace")
