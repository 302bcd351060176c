"""A calendar correction as an operator lives it, each step a separate process: figures
replayed under the old calendar (the package's, without the 2026-01-02 / 2026-01-10
swap), `motcua calendar check` saying they are stale and which recompute to run, that
recompute killed with SIGKILL midway and run again, and the store then equal, table by
table, to a fresh replay under the corrected calendar."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MOTCUA = [sys.executable, "-m", "motcua.cli.main"]
# Overrides that put back what the holidays package says about New Year 2026.
OLD_CALENDAR = "working_days: [2026-01-02]\ndays_off: [2026-01-10]\n"
DUMP = """
import json, sys
from motcua.adapters.clickhouse_store import ClickHouseStore
from tests.integration.test_recompute import tables
print(json.dumps(tables(ClickHouseStore(sys.argv[1], migrate=False)), default=str))
"""


def env(**extra: str) -> dict:
    e = {**os.environ, "COLUMNS": "200", **extra}
    for name in ("MOTCUA_STORE", "MOTCUA_DATA_DIR", "MOTCUA_CALENDAR_OVERRIDES"):
        if name not in extra:
            e.pop(name, None)
    return e


def run(cwd: Path, *args: str, ok: tuple[int, ...] = (0,), **extra: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [*MOTCUA, *args], cwd=cwd, env=env(**extra), capture_output=True, text=True, timeout=600
    )
    shown = f"motcua {' '.join(args)} -> {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stdout + proc.stderr, shown
    assert proc.returncode in ok, shown
    return proc


def dump(dsn: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", DUMP, dsn], cwd=REPO, env=env(), capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_a_corrected_calendar_reaches_stored_figures_through_a_killed_and_rerun_recompute(tmp_path):
    (tmp_path / "old.yaml").write_text(OLD_CALENDAR, encoding="utf-8")
    old, truth = f"chdb://{tmp_path / 'old'}", f"chdb://{tmp_path / 'truth'}"
    run(
        tmp_path,
        "simulate",
        "--from",
        "2025-12-15",
        "--to",
        "2026-01-20",
        "--scale",
        "0.1",
        "--seed",
        "5",
        "--out",
        "ev.jsonl",
    )
    run(tmp_path, "replay", "ev.jsonl", "--store", old, MOTCUA_CALENDAR_OVERRIDES=str(tmp_path / "old.yaml"))
    run(tmp_path, "replay", "ev.jsonl", "--store", truth)

    check = run(tmp_path, "calendar", "check", "--store", old, "--as-of", "2026-06-01", ok=(1,))
    assert "lịch làm việc cũ" in check.stdout and "02/01/2026, 10/01/2026" in check.stdout
    suggested = re.search(r"`motcua (recompute [^`]+)`", check.stdout)
    assert suggested, check.stdout
    argv = [*shlex.split(suggested.group(1)), "--store", old, "--batch-size", "40"]

    # SIGKILL midway: a few tries with later kills until one lands during the writes
    killed = False
    for delay in (2.5, 3.5, 5.0):
        proc = subprocess.Popen(
            [*MOTCUA, *argv], cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            killed = True
            break
        proc.communicate(timeout=60)
    assert killed, "the recompute always finished before the kill"
    assert dump(old) != dump(truth)

    done = run(tmp_path, *argv)
    assert "thay đổi số liệu" in done.stdout
    assert dump(old) == dump(truth)
    ok = run(tmp_path, "calendar", "check", "--store", old, "--as-of", "2026-06-01")
    assert "đều tính theo lịch hiện hành" in ok.stdout
