"""End to end: simulated data in an embedded store -> `motcua run exporter` -> a real
Prometheus (scrapes it, evaluates the committed recording and alert rules) -> a real
Alertmanager (committed routing) -> a webhook receiver in this test gets the on-time
alert, in Vietnamese, on the route of its level.

Only the timings differ from the committed configuration: scrape/evaluation every second
and `for:` durations of a few seconds, so the test takes well under two minutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(PROMETHEUS) and os.path.exists(ALERTMANAGER)) and not os.environ.get("CI"),
    reason="needs Debian's prometheus and prometheus-alertmanager (.ci/install-observability)",
)

LOADER = """
import sys
from datetime import date
from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.adapters.clickhouse_targets import TargetsRepository
from motcua.bootstrap import plan_targets
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.settings import get_settings
from motcua.simulate import simulate
store = ClickHouseStore(sys.argv[1])
cal = default_calendar()
store.load_calendar(cal)
events = simulate("75", date(2025, 3, 1), date(2025, 3, 31), seed=3, scale=0.1)
EmbeddedPipeline(store, cal).ingest((f"s:{i}", e) for i, e in enumerate(events))
repo = TargetsRepository(store)
repo.replace(plan_targets(get_settings()))
repo.load_reference_names(["75"], repo.stored_unit_codes())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """A tiny webhook receiver: remembers (path, payload) of every POST."""

    def __init__(self):
        self.received: list[tuple[str, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def wait_http(url: str, timeout: float) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.time() > deadline:
            raise AssertionError(f"{url} did not come up")
        time.sleep(0.3)


@pytest.fixture
def processes():
    procs: list[subprocess.Popen] = []
    yield procs
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def test_on_time_alert_reaches_the_webhook_of_its_level(tmp_path, processes):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "services"))
    dsn = f"chdb://{tmp_path / 'store'}"
    subprocess.run([sys.executable, "-c", LOADER, dsn], check=True, env=env, timeout=300)

    receiver = Receiver()
    exporter_port, prom_port, am_port = free_port(), free_port(), free_port()
    log = open(tmp_path / "processes.log", "w")
    processes.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "motcua.cli.main",
                "run",
                "exporter",
                "--store",
                dsn,
                "--addr",
                "127.0.0.1",
                "--port",
                str(exporter_port),
                "--interval",
                "2",
                "--as-of",
                "2025-03-31T23:00:00",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )

    # the committed Alertmanager routing, pointed at our receiver, with short waits
    am_cfg = (ROOT / "deploy/alertmanager/alertmanager.yml").read_text(encoding="utf-8")
    am_cfg = am_cfg.replace("http://motcua-alert-webhook:9095", f"http://127.0.0.1:{receiver.port}")
    am_cfg = re.sub(r"group_wait: \S+", "group_wait: 1s", am_cfg)
    (tmp_path / "alertmanager.yml").write_text(am_cfg, encoding="utf-8")
    processes.append(
        subprocess.Popen(
            [
                ALERTMANAGER,
                f"--config.file={tmp_path / 'alertmanager.yml'}",
                f"--storage.path={tmp_path / 'am'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )

    # the committed rules with `for:` shortened
    rules = tmp_path / "rules"
    rules.mkdir()
    for f in (ROOT / "deploy/prometheus/rules").glob("*.yml"):
        (rules / f.name).write_text(
            re.sub(r"for: \S+", "for: 2s", f.read_text(encoding="utf-8")), encoding="utf-8"
        )
    (tmp_path / "prometheus.yml").write_text(
        f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{rules}/*.yml"]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ["127.0.0.1:{am_port}"]}}]}}]
scrape_configs:
  - job_name: motcua-exporter
    static_configs: [{{targets: ["127.0.0.1:{exporter_port}"]}}]
""",
        encoding="utf-8",
    )
    processes.append(
        subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )

    wait_http(f"http://127.0.0.1:{exporter_port}/metrics", 60)
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{exporter_port}/metrics").read().decode()
    assert (
        'motcua_kpi_denominator{level="COMMUNE",metric="on_time_rate",province="75",window="30d"}' in metrics
    )
    assert "motcua_unit_target_ratio{" in metrics and "procedure" not in metrics

    deadline = time.time() + 90
    alert = None
    while time.time() < deadline and alert is None:
        for path, payload in receiver.received:
            for a in payload.get("alerts", []):
                if (
                    a["labels"].get("alertname") == "MotcuaTyLeDungHanDuoiChiTieuCap"
                    and a["status"] == "firing"
                ):
                    alert = (path, a)
        time.sleep(0.5)
    assert alert is not None, (tmp_path / "processes.log").read_text()[-3000:]
    path, a = alert
    routes = {
        "PROVINCE": "/alerts/cap-tinh",
        "DISTRICT": "/alerts/cap-huyen",
        "COMMUNE": "/alerts/cap-xa",
        "CENTRAL_BRANCH": "/alerts/nganh-doc",
    }
    assert path == routes[a["labels"]["level"]]
    text = a["annotations"]["description"]
    level_names = {
        "PROVINCE": "Cấp tỉnh",
        "DISTRICT": "Cấp huyện",
        "COMMUNE": "Cấp xã",
        "CENTRAL_BRANCH": "Ngành dọc TW",
    }
    assert text.startswith(
        f"Tỷ lệ hồ sơ giải quyết đúng hạn 30 ngày qua của {level_names[a['labels']['level']]} "
    )
    assert "tỉnh Đồng Nai" in text and "thấp hơn chỉ tiêu ≥ 96%" in text
    assert re.search(r"là \d{2},\d+%", text), text

    # the same ratio Prometheus computed from the exported counts
    q = urllib.parse.quote(
        f'motcua:kpi_ratio:level{{metric="on_time_rate",window="30d",level="{a["labels"]["level"]}"}}'
    )
    res = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/query?query={q}").read())
    ratio = float(res["data"]["result"][0]["value"][1])
    assert ratio < 0.96
    assert f"{ratio * 100:.4g}".replace(".", ",") in text
