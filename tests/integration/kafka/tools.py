"""Helpers of the Kafka tests: simulated event files, HTTP posting, kcat."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import orjson

from motcua.adapters.codec import encode_json
from motcua.simulate import simulate

API_KEY = "k3y-for-tests"


def simulated(path: Path, start: date, end: date, seed: int, scale: float, **faults) -> list[bytes]:
    """Simulated valid events as JSON lines (written to ``path`` too)."""
    lines = [
        encode_json(e)
        for e in simulate("75", start, end, seed=seed, scale=scale, **faults)
        if isinstance(e, dict)
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return lines


def post(port: int, body: bytes, ctype: str = "application/x-ndjson", key: str | None = API_KEY):
    """POST /v1/events -> (status, json)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/events",
        data=body,
        method="POST",
        headers={"Content-Type": ctype, **({"X-API-Key": key} if key else {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, orjson.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, orjson.loads(e.read() or b"{}")


def wait_http(port: int, path: str = "/health", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"gateway on {port} did not answer {path}")
        time.sleep(0.3)


def curl(port: int, body_file: Path, ctype: str, key: str = API_KEY) -> tuple[int, dict]:
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-X",
            "POST",
            "-H",
            f"Content-Type: {ctype}",
            "-H",
            f"X-API-Key: {key}",
            "--data-binary",
            f"@{body_file}",
            f"http://127.0.0.1:{port}/v1/events",
        ],
        capture_output=True,
        check=True,
    )
    body, _, code = out.stdout.rpartition(b"\n")
    return int(code), orjson.loads(body or b"{}")


def kcat_binary() -> str:
    exe = shutil.which("kcat") or shutil.which("kafkacat")
    if exe is None:
        raise AssertionError("kcat not installed: run .ci/install-kafka (Debian package kafkacat)")
    return exe


def kcat_produce(bootstrap: str, topic: str, keyed_lines: list[tuple[bytes, bytes]]) -> None:
    """kcat -P: each (key, value) as one message (tab-separated key, newline-delimited)."""
    data = b"".join(k + b"\t" + v + b"\n" for k, v in keyed_lines)
    subprocess.run(
        [kcat_binary(), "-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-X", "acks=all", "-z", "none"],
        input=data,
        check=True,
        capture_output=True,
    )


def dossier_of(line: bytes) -> bytes:
    return orjson.loads(line)["dossier_id"].encode()
