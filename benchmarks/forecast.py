"""``motcua forecast --by unit`` on the embedded store of a 600,000-dossier-a-year province
(not a test: prints figures, docs/forecast.md).

    python benchmarks/forecast.py --scale 1.0 [--store /tmp/motcua-forecast-bench]

Simulates Đồng Nai from 2024-03-01 to 2025-03-20 (scale 1.0 ≈ 600,000 dossiers a year),
replays it into an embedded store in files of about 1.5 million lines (not timed; kept
at ``--store`` for the next run), then times the forecast by unit of the official and
the calendar March 2025 as of 10/03/2025 12:00: the query and the model in-process
(best of ``--runs``), and the whole command in a new process (start, store open, targets,
table).
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.domain.periods import make_period
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.reports.forecast import forecast_from_store
from motcua.simulate import simulate, write_events
from tests.builders import local_ms

CHUNK = 1_500_000


def build(root: Path, scale: float) -> None:
    stream = (e for e in simulate("75", date(2024, 3, 1), date(2025, 3, 20), seed=7, scale=scale))
    store = ClickHouseStore(f"chdb://{root / 'store'}")
    for i in itertools.count():
        path = root / f"events-{i:02d}.jsonl"
        n = write_events(itertools.islice(stream, CHUNK), path)
        if n == 0:
            path.unlink()
            break
        EmbeddedPipeline(store, default_calendar()).replay_files([path])
        path.unlink()
        print(f"  replayed chunk {i}: {n:,} events", flush=True)
    (root / "built").write_text(str(scale))


def cli_times(dsn: str) -> None:
    env = dict(os.environ, COLUMNS="200")
    for extra in ([], ["--calendar-month"]):
        cmd = [sys.executable, "-m", "motcua.cli.main", "forecast", "--period", "2025-03", *extra]
        cmd += ["--as-of", "2025-03-10T12:00", "--by", "unit", "--store", dsn]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        wall = time.perf_counter() - t0
        print(
            f"motcua forecast --by unit {' '.join(extra) or '(official)'}: {wall:.2f} s wall, "
            f"{len(proc.stdout.splitlines())} lines of table"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--store", type=Path, default=Path("/tmp/motcua-forecast-bench"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    root = args.store
    root.mkdir(parents=True, exist_ok=True)
    if args.build_only:
        build(root, args.scale)
        return
    if not (root / "built").exists():  # in a child: chDB holds its path until the process exits
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--build-only", "--scale", str(args.scale), "--store", str(root)],
            check=True,
        )
        print(f"store built in {time.perf_counter() - t0:.0f} s")
    dsn = f"chdb://{root / 'store'}"
    cli_times(dsn)
    store = ClickHouseStore(dsn)
    cal = default_calendar()
    print(f"dossiers in the store      {store.count('dossier_state'):>12,}")
    as_of = local_ms(2025, 3, 10, 12)
    for official in (True, False):
        rp = make_period("month", 2025, 3, official)
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            fc = forecast_from_store(store, rp, as_of, cal, "unit")
            times.append(time.perf_counter() - t0)
        kind = "official" if official else "calendar"
        print(f"{kind} March by unit: {len(fc.rows):,} units, best {min(times):.2f} s, runs {times}")


if __name__ == "__main__":
    main()
