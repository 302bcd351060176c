"""Replay throughput and memory of the embedded pipeline (not a test: prints figures).

    python benchmarks/replay_throughput.py --events 1000000

Generates a simulated JSON Lines file (not timed), then replays it end to end into a new
embedded ClickHouse store (decode, validate, fold, rollup deltas, inserts) and prints
events/s, the split of time between stages, and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from tqdm import tqdm

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.simulate import simulate, write_events

console = Console()


def make_file(path: Path, events: int) -> int:
    """Simulate enough days of Đồng Nai (scale 1.0) to reach ``events`` records."""
    start = date(2025, 3, 1)
    stream = simulate("75", start, start + timedelta(days=120), seed=11)
    taken = (e for _, e in zip(range(events), stream))
    return write_events(tqdm(taken, total=events, desc="simulate", unit="ev"), path)


def cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads, chDB's included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="events to replay")
    ap.add_argument("--batch-size", type=int, default=100_000)
    ap.add_argument("--workdir", type=Path, default=None, help="keep files here (default: temp)")
    ap.add_argument("--profile", action="store_true", help="print the top functions by own time")
    ap.add_argument(
        "--no-bulk",
        action="store_true",
        help="every event through the per-event Python path (the live processor's)",
    )
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="motcua-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    events_file = work / f"events-{args.events}.jsonl"
    if not events_file.exists():
        make_file(events_file, args.events)
    store_dir = work / "store"
    shutil.rmtree(store_dir, ignore_errors=True)
    store = ClickHouseStore(f"chdb://{store_dir}")
    pipeline = EmbeddedPipeline(store, default_calendar(), batch_size=args.batch_size)
    rss_before = peak_rss_mib()

    bar = tqdm(total=args.events, desc="replay", unit="ev")
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    cpu0 = cpu_seconds()
    summary = pipeline.replay_files([events_file], progress=bar.update, bulk=not args.no_bulk)
    cpu = cpu_seconds() - cpu0
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    bar.close()

    console.print(
        f"[bold]events replayed[/]   {summary.read:,} ({summary.accepted:,} accepted, "
        f"{summary.rejected:,} rejected, {summary.dossiers_changed:,} dossier changes)"
    )
    console.print(f"[bold]elapsed[/]           {elapsed:.1f} s")
    console.print(
        f"[bold]path[/]              {'per-event Python' if args.no_bulk else 'bulk (ClickHouse + Python for the rest)'}"
    )
    console.print(f"[bold]throughput[/]        {summary.read / elapsed:,.0f} events/s (one process)")
    console.print(
        f"[bold]CPU time[/]          {cpu:.1f} s = {cpu / elapsed:.2f} cores on average "
        f"({summary.read / cpu:,.0f} events per CPU-second)"
    )
    for what, seconds, cpu_s in pipeline.last_timings:
        console.print(
            f"  {what:42s} {seconds:6.2f} s wall, {cpu_s:6.2f} s CPU "
            f"({cpu_s / max(summary.read, 1) * 1e6:5.1f} µs CPU/event)"
        )
    console.print(
        f"[bold]peak RSS[/]          {peak_rss_mib():,.0f} MiB (before replay {rss_before:,.0f} MiB)"
    )
    console.print(
        f"[bold]rows stored[/]       events {store.count('events'):,}, "
        f"dossiers {store.count('dossier_state'):,}"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
