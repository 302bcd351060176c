"""Recompute throughput and memory (not a test: prints figures).

    python benchmarks/recompute.py --days 60 --scale 1.0

Simulates Đồng Nai from 2025-12-01 (the New Year 2026 swap falls inside), replays it into
a new embedded store under the bare ``holidays`` package calendar (not timed), then times
``Recompute`` under the product's calendar: dossiers/s, how many changed, and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.reference.official_calendar import default_calendar, package_calendar
from motcua.replay import EmbeddedPipeline, recompute
from motcua.simulate import simulate, write_events


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=60, help="days of receipts simulated from 2025-12-01")
    ap.add_argument("--scale", type=float, default=1.0, help="volume factor (1.0 ≈ 600,000 dossiers a year)")
    ap.add_argument("--batch-size", type=int, default=5000, help="dossiers per page")
    args = ap.parse_args()
    start = date(2025, 12, 1)
    end = start + timedelta(days=args.days)
    work = Path(tempfile.mkdtemp(prefix="motcua-recompute-"))
    try:
        path = work / "events.jsonl"
        events = write_events(simulate("75", start, end, seed=3, scale=args.scale), path)
        store = ClickHouseStore(f"chdb://{work / 'store'}")
        EmbeddedPipeline(store, package_calendar()).replay_files([path])
        rss_before = peak_rss_mib()
        job = recompute(store, default_calendar(), batch_size=args.batch_size)
        dossiers = job.pending(start, end)
        t0, c0 = time.perf_counter(), time.process_time()
        summary = job.run(start, end)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"events replayed          {events:>12,}")
        print(f"dossiers in the window   {dossiers:>12,}")
        print(f"changed / restamped      {summary.changed:>12,} / {summary.restamped:,}")
        print(f"recompute wall / CPU s   {wall:>12.2f} / {cpu:.2f}")
        print(f"dossiers/s               {summary.dossiers / wall:>12,.0f}")
        print(f"peak RSS MiB (replay)    {rss_before:>12.0f}")
        print(f"peak RSS MiB (overall)   {peak_rss_mib():>12.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
