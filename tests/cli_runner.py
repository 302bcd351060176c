"""Runs the ``motcua`` command as a user would: a separate process (own chDB path)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def motcua(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **(env or {}))
    full_env.setdefault("COLUMNS", "200")
    proc = subprocess.run(
        [sys.executable, "-m", "motcua.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=900,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"motcua {' '.join(map(str, args))} failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc


def motcua_json(*args: str, **kw):
    return json.loads(motcua(*args, **kw).stdout)
