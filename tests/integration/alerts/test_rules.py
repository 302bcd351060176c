"""Prometheus rules and Alertmanager configuration checked by the real tools (Debian's
prometheus / prometheus-alertmanager packages): syntax, and every alert firing and not
firing on crafted series (deploy/prometheus/tests/)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PROM = ROOT / "deploy" / "prometheus"


def tool(name: str) -> str:
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not os.path.exists(path):
        if os.environ.get("CI"):
            pytest.fail(f"{name} missing: run .ci/install-observability")
        pytest.skip(f"{name} not installed (.ci/install-observability)")
    return path


def run(*args: str) -> str:
    p = subprocess.run(args, capture_output=True, text=True, cwd=PROM, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout + p.stderr


def test_promtool_check_rules():
    files = sorted((PROM / "rules").glob("*.yml"))
    out = run(tool("promtool"), "check", "rules", *map(str, files))
    for path in files:  # every rule of each file is found
        lines = path.read_text(encoding="utf-8").splitlines()
        rules = sum(1 for line in lines if line.strip().startswith(("- alert:", "- record:")))
        assert f"SUCCESS: {rules} rules found" in out, (path.name, out)


def test_promtool_unit_tests_fire_and_do_not_fire_each_alert():
    test_file = PROM / "tests" / "motcua-alerts.test.yml"
    text = test_file.read_text(encoding="utf-8")
    alerts = [
        line.split("alert:")[1].strip()
        for line in (PROM / "rules" / "motcua-alerts.yml").read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("- alert:")
    ]
    for name in alerts:  # every alert has a firing and a not-firing case
        assert f"alertname: {name}\n        exp_alerts: []" in text, name
        assert f"alertname: {name}\n        exp_alerts:\n" in text, name
    out = run(tool("promtool"), "test", "rules", str(test_file))
    assert "SUCCESS" in out


def test_promtool_check_config():
    out = run(tool("promtool"), "check", "config", "--syntax-only", str(PROM / "prometheus.yml"))
    assert "SUCCESS" in out


def test_alertmanager_config_routes_by_level():
    amtool = tool("amtool")
    cfg = str(ROOT / "deploy" / "alertmanager" / "alertmanager.yml")
    run(amtool, "check-config", cfg)
    for labels, receiver in (
        ("level=COMMUNE team=cchc", "cap-xa"),
        ("level=PROVINCE team=cchc", "cap-tinh"),
        ("level=DISTRICT team=cchc", "cap-huyen"),
        ("team=pipeline", "van-hanh"),
    ):
        p = subprocess.run(
            [amtool, "config", "routes", "test", f"--config.file={cfg}", *labels.split()],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert p.stdout.strip() == receiver, (labels, p.stdout, p.stderr)


def test_dashboard_prometheus_queries_parse(tmp_path):
    """Every PromQL expression of the dashboards is valid (promtool parses it as a rule)."""
    import yaml

    from motcua.dashboards.build import PROM_QUERIES

    rules = [{"record": f"motcua:dashboard_{k}", "expr": e} for k, e in PROM_QUERIES.items()]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}), encoding="utf-8")
    run(tool("promtool"), "check", "rules", str(path))
