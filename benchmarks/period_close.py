"""Period close on the embedded store of a large province (default: a simulated year of
about 600,000 dossiers, Đồng Nai's profile at scale 1.0).

Prints, for one official month in the middle of the year: the time of `period close`
(every KPI grouping at the period end, the 766 items per unit, the dossier fingerprints,
the writes), of a report of the closed period with its restatement (the live figures
again, cell by cell, after late events), and the rows and dossiers a close holds.

    python benchmarks/period_close.py [--scale 1.0] [--workdir DIR]   (DIR keeps the store)
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))

from motcua.adapters.clickhouse_store import ClickHouseStore  # noqa: E402
from motcua.domain.periods import parse_period  # noqa: E402
from motcua.reference.official_calendar import default_calendar  # noqa: E402
from motcua.replay import EmbeddedPipeline  # noqa: E402
from motcua.reports.closing import close_period, find_close, restatements_for  # noqa: E402
from motcua.simulate import simulate, write_events  # noqa: E402


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def build_store(work: Path, scale: float) -> ClickHouseStore:
    marker = work / f"loaded-{scale}"
    store = ClickHouseStore(f"chdb://{work / 'store'}")
    if marker.exists():
        return store
    events = work / "year.jsonl"
    t0 = time.perf_counter()
    n = write_events(
        simulate("75", date(2025, 1, 1), date(2026, 1, 1), seed=14, scale=scale), events, progress=True
    )
    print(f"simulated {n:,} events in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    EmbeddedPipeline(store, default_calendar()).replay_files([events])
    print(f"replayed in {time.perf_counter() - t0:.0f} s", flush=True)
    marker.touch()
    return store


def timed(what: str, fn):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    print(
        f"{what:46s} {(time.perf_counter() - t0) * 1000:8,.0f} ms wall "
        f"({(time.process_time() - c0) * 1000:,.0f} ms CPU; load {load_average()})",
        flush=True,
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0, help="volume (1.0 ≈ 50,000 dossiers a month)")
    ap.add_argument("--period", default="2025-06", help="the official month to close")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the store here (reused when present)")
    a = ap.parse_args()
    work = a.workdir or Path(tempfile.mkdtemp(prefix="motcua-close-"))
    work.mkdir(parents=True, exist_ok=True)
    store = build_store(work, a.scale)
    cal = default_calendar()
    dossiers = store.count("dossier_state")
    print(f"store: {dossiers:,} dossiers, {store.count('events'):,} events", flush=True)
    rp = parse_period(a.period, "month", official=True, today=date(2026, 12, 1))
    now = rp.period.end_ms + 86_400_000
    h = timed(f"period close {rp.code}", lambda: close_period(store, rp, cal, now, "75"))
    print(f"  version {h.version}: {h.rows:,} rows, {h.dossiers:,} dossier fingerprints", flush=True)
    closed = timed("read the close back", lambda: find_close(store, "75", rp))
    assert closed is not None
    rs = timed("restatement (all report tables)", lambda: restatements_for(store, closed, rp, cal, now))
    print(f"  {len(rs):,} moved cells (nothing changed since the close)", flush=True)
    print(f"peak RSS {peak_rss_mib():,.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
