"""Time of ``motcua worklist`` on a year of a large province (not a test: prints figures).

    python benchmarks/worklist.py --days 365 --scale 1.0 [--workdir DIR] [--runs 3]

Simulates Đồng Nai at scale 1.0 (≈ 600,000 dossiers a year) from 2025-01-01 as one stream
(split a month per file), replays the files into a new embedded store with the calendar loaded (not timed;
with ``--workdir`` the store is kept and a second run reuses it), then times at 10:00 on
the last simulated day:

* the query alone (``adapters.clickhouse_worklist.read_worklist``, in-process, warm);
* the command as a user runs it (``motcua worklist --format json``, ``--format table``,
  and ``--unit`` the unit with the longest list), each a new process: Python start,
  opening the store, the query and the output;
* the dashboard panel's SQL for that unit (``panels.worklist_panel``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import orjson

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.adapters.clickhouse_worklist import read_worklist
from motcua.dashboards import panels as P
from motcua.dashboards.macros import PanelContext
from motcua.dashboards.runner import PanelRunner
from motcua.domain.calendar import local_date, local_midnight_ms
from motcua.domain.worklist import summary
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.simulate import simulate

START = date(2025, 1, 1)


def build_store(work: Path, days: int, scale: float) -> tuple[int, float]:
    """Simulate ``days`` days as one stream (a dossier's later events stay with it), a
    month per file, and replay the files; (events, seconds)."""
    t0 = time.perf_counter()
    end = START + timedelta(days=days)
    files: dict[str, object] = {}
    total = 0
    for e in simulate("75", START, end - timedelta(days=1), seed=1, scale=scale):
        month = local_date(e["occurred_at"]).strftime("%Y-%m")
        fh = files.get(month)
        if fh is None:
            fh = files[month] = open(work / f"events-{month}.jsonl", "wb")
        fh.write(orjson.dumps(e) + b"\n")
        total += 1
    for fh in files.values():
        fh.close()
    paths = sorted(work.glob("events-*.jsonl"))
    cal = default_calendar()
    store = ClickHouseStore(f"chdb://{work / 'store'}")
    EmbeddedPipeline(store, cal).replay_files(paths)
    store.load_calendar(cal)
    for path in paths:
        path.unlink()
    return total, time.perf_counter() - t0


def timed(fn, runs: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def cli(store_dsn: str, *args: str) -> float:
    env = dict(os.environ, COLUMNS="200")
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "motcua.cli.main", "worklist", "--store", store_dsn, *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    return time.perf_counter() - t0


def measure_in_process(work: Path, days: int, runs: int) -> None:
    """The query and the panel, warm, in this process (which then holds the store)."""
    store = ClickHouseStore(f"chdb://{work / 'store'}")
    cal = default_calendar()
    last = START + timedelta(days=days - 1)
    t = local_midnight_ms(last) + 10 * 3_600_000
    query_s, rows = timed(lambda: read_worklist(store, t, 2, cal), runs)
    overdue, due = summary(rows)
    unit = max({r.unit_code for r in rows}, key=lambda u: sum(r.unit_code == u for r in rows))
    ctx = PanelContext(local_midnight_ms(last.replace(day=1)), t, {"unit": [unit]})
    runner = PanelRunner(store)
    panel_s, panel_rows = timed(lambda: runner.dicts(P.worklist_panel(), ctx), runs)
    print(f"dossiers in the store        {store.count('dossier_state'):>12,}")
    print(f"as of                        {last.isoformat()}T10:00")
    print(f"listed (overdue / due <= 2)  {len(rows):>12,}  ({overdue:,} / {due:,})")
    print(f"query alone, s (best)        {query_s:>12.3f}")
    print(f"panel SQL, s (best)          {panel_s:>12.3f}  ({len(panel_rows)} rows of {unit})")
    print(f"UNIT={unit}")


def phase(work: Path, args, name: str) -> str:
    """Run a phase in a new process (chDB holds a store's path for the life of a process)."""
    cmd = [sys.executable, __file__, "--phase", name, "--workdir", str(work)]
    cmd += ["--days", str(args.days), "--scale", str(args.scale), "--runs", str(args.runs)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    print("\n".join(line for line in out.splitlines() if not line.startswith("UNIT=")))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365, help="days simulated from 2025-01-01")
    ap.add_argument("--scale", type=float, default=1.0, help="volume factor (1.0 ≈ 600,000 dossiers a year)")
    ap.add_argument("--workdir", type=Path, default=None, help="keep (and reuse) the store here")
    ap.add_argument("--runs", type=int, default=3, help="runs of each timing (the best is printed)")
    ap.add_argument("--phase", choices=("build", "query"), default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="motcua-worklist-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.phase == "build":
        events, secs = build_store(work, args.days, args.scale)
        print(f"events replayed              {events:>12,}  ({secs:.0f} s, not timed below)")
        return
    if args.phase == "query":
        measure_in_process(work, args.days, args.runs)
        return
    try:
        if not (work / "store").exists():
            phase(work, args, "build")
        out = phase(work, args, "query")
        unit = next(line[5:] for line in out.splitlines() if line.startswith("UNIT="))
        dsn = f"chdb://{work / 'store'}"
        as_of = f"{(START + timedelta(days=args.days - 1)).isoformat()}T10:00"
        for label, extra in (
            ("--format json", ("--format", "json")),
            ("--format table", ("--format", "table")),
            ("--format xlsx", ("--format", "xlsx", "--out", str(work / "ds.xlsx"))),
            ("--unit (table)", ("--unit", unit, "--format", "table")),
        ):
            best = min(cli(dsn, "--as-of", as_of, *extra) for _ in range(args.runs))
            print(f"motcua worklist {label:<15} {best:>7.2f} s (a new process, best of {args.runs})")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
