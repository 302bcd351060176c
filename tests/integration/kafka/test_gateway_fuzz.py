"""A property-based fuzz run of the running gateway: schemathesis (the version pinned in the
dev extras) reads ``/openapi.json`` from a real ``motcua run gateway`` on a free port with
the session's real Kafka broker, and sends every operation generated requests, valid and
invalid (its examples, coverage and fuzzing phases, ``FUZZ_EXAMPLES`` a phase and
operation), with a valid API key. Every answer must have a documented status, content type,
headers and body schema, and none may be a 5xx but the documented 503. Afterwards the
gateway still serves and its log holds no traceback and not the key. About a minute on the
2-core machine."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from devtools.kafka_broker import free_port

from motcua.live.openapi import describe

from .conftest import REPO, _tail
from .test_gateway_faults import gateway_env, get, wait_health
from .tools import API_KEY

pytestmark = pytest.mark.kafka

FUZZ_EXAMPLES = int(os.environ.get("MOTCUA_FUZZ_EXAMPLES", "200"))
FUZZ_SEED = os.environ.get("MOTCUA_FUZZ_SEED")  # a failed run prints its seed: replay it with this
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)
CONFIG = """
[checks.not_a_server_error]
# a 5xx is a failure, except the documented 503 (Kafka unavailable); status_code_conformance
# checks that a 503 comes only where it is documented
expected-statuses = ["2xx", "3xx", "4xx", "503"]
"""


def test_schemathesis_finds_no_undocumented_answer_and_no_5xx(pipeline, tmp_path):
    port = free_port()
    env = gateway_env(
        MOTCUA_MAX_BODY_BYTES=str(256 * 1024),
        MOTCUA_GATEWAY_BODY_TIMEOUT_S="10",
        MOTCUA_GATEWAY_RATE_LIMIT_PER_S="1000",
        MOTCUA_GATEWAY_RATE_LIMIT_BURST="1000",
    )
    gw = pipeline.service("gateway", "--port", str(port), env=env).start()
    wait_health(port, 200, timeout=60, svc=gw)
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color",
        "run", f"http://127.0.0.1:{port}/openapi.json",
        "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(FUZZ_EXAMPLES),
        "--workers", "1",
        "--header", f"X-API-Key: {API_KEY}",
        "--request-timeout", "30",
        "--generation-database", "none",
        "--suppress-health-check", "all",
        *(["--seed", FUZZ_SEED] if FUZZ_SEED else []),
    ]  # fmt: skip
    started = time.monotonic()
    run = subprocess.run(
        cmd,
        cwd=tmp_path,  # its reports and caches stay out of the checkout
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO / "services"), str(REPO)]),
            "SCHEMATHESIS_HOOKS": "tests.integration.kafka.fuzz_hooks",
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.monotonic() - started
    out = run.stdout + run.stderr
    (tmp_path / "schemathesis.out").write_text(out)
    summary = [line for line in out.splitlines() if "passed" in line or "failed" in line or "cases" in line]
    print(f"schemathesis: {elapsed:.0f} s; " + " | ".join(summary[-4:]))
    assert run.returncode == 0, f"schemathesis failed ({run.returncode}):\n{out[-12000:]}"
    # every operation but GET /openapi.json, which schemathesis leaves out: it loads its schema there
    operations = sum(len(ops) for ops in describe(pipeline.settings)["paths"].values()) - 1
    assert f"Selected: {operations}/{operations}" in out and f"Tested: {operations}" in out, out[-3000:]
    assert gw.alive() and get(port, "/health")[0] == 200
    log = gw.log.read_text(errors="replace")
    assert "Traceback" not in log and '"level": "error"' not in log and '"level":"error"' not in log, _tail(
        gw.log
    )
    assert API_KEY not in log and "X-Schemathesis" not in log  # no request content either
    assert "API keys given in plain" in log  # the tests' keys are plain: the start warning
