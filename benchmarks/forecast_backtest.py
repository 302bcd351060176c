"""Backtest of the month-end forecast (not a test: prints figures, docs/forecast.md).

    python benchmarks/forecast_backtest.py --months 12 --scale 0.25

Simulates a province (Đồng Nai) from six months before the first month backtested to the
end of the last, replays it into a new embedded store, then for every month and both
period kinds (calendar month, official 15th -> 14th period) forecasts at the end of the
10th and of the 20th day of the period and compares the expected on-time rate (and TD1)
with the period's final figure, per level: mean absolute error in points, the largest
error, the mean width of the [worst, best] band and how often the final rate fell in it.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.domain.calendar import local_midnight_ms
from motcua.domain.periods import make_period
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.reports.forecast import forecast_from_store
from motcua.simulate import simulate, write_events


def months(first: date, n: int) -> list[tuple[int, int]]:
    out, y, m = [], first.year, first.month
    for _ in range(n):
        out.append((y, m))
        y, m = (y + (m == 12), m % 12 + 1)
    return out


def build_store(work: Path, start: date, end: date, scale: float) -> tuple[ClickHouseStore, int]:
    path = work / "events.jsonl"
    n = write_events(simulate("75", start, end, seed=11, scale=scale), path)
    store = ClickHouseStore(f"chdb://{work / 'store'}")
    EmbeddedPipeline(store, default_calendar()).replay_files([path])
    return store, n


def backtest(store, cal, periods, days, history) -> dict:
    """(kind, day, level) -> list of (expected, final, best, worst) for both metrics."""
    out: dict = defaultdict(list)
    for (y, m), official in periods:
        rp = make_period("month", y, m, official)
        finals = {r["unit_level"]: r for r in store.kpi(rp.period, rp.period.end_ms, "level", cal)}
        for day in days:
            as_of = local_midnight_ms(rp.start + timedelta(days=day)) - 1  # end of the day-th day
            fc = forecast_from_store(store, rp, as_of, cal, "level", history=history)
            for row in fc.rows:
                final = finals.get(row["unit_level"])
                if final is None:
                    continue
                for metric in ("on_time_rate", "progress_766"):
                    f = row[metric]
                    if f["expected"] is None or final[metric] is None:
                        continue
                    key = ("official" if official else "calendar", day, row["unit_level"], metric)
                    out[key].append((f["expected"], final[metric], f["best"], f["worst"]))
    return out


def report(results: dict) -> None:
    print(
        f"{'kind':9} {'day':>3} {'level':15} {'metric':13} {'n':>3} {'MAE pt':>7} {'max pt':>7} "
        f"{'bias pt':>7} {'band pt':>7} {'in band':>7}"
    )
    for key in sorted(results):
        kind, day, level, metric = key
        xs = results[key]
        errs = [100 * (e - f) for e, f, _b, _w in xs]
        mae = sum(abs(x) for x in errs) / len(errs)
        band = sum(100 * (b - w) for _e, _f, b, w in xs) / len(xs)
        inside = sum(w - 1e-9 <= f <= b + 1e-9 for _e, f, b, w in xs) / len(xs)
        print(
            f"{kind:9} {day:>3} {level:15} {metric:13} {len(xs):>3} {mae:>7.2f} "
            f"{max(abs(x) for x in errs):>7.2f} {sum(errs) / len(errs):>+7.2f} {band:>7.1f} {inside:>7.0%}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first", default="2024-07", help="first month backtested (YYYY-MM)")
    ap.add_argument("--months", type=int, default=12, help="months backtested (at least 12)")
    ap.add_argument("--scale", type=float, default=0.25, help="volume factor (1.0 ≈ 600,000 dossiers a year)")
    ap.add_argument("--history", type=int, default=6, help="previous periods the model learns from")
    args = ap.parse_args()
    y, m = map(int, args.first.split("-"))
    first = date(y, m, 1)
    ym = months(first, args.months)
    start = date(first.year - (first.month <= 6), (first.month - 7) % 12 + 1, 1)  # six months before
    last_y, last_m = ym[-1]
    end = date(last_y + (last_m == 12), last_m % 12 + 1, 1) - timedelta(days=1)
    cal = default_calendar()
    work = Path(tempfile.mkdtemp(prefix="motcua-forecast-backtest-"))
    try:
        t0 = time.perf_counter()
        store, n = build_store(work, start, end, args.scale)
        dossiers = store.count("dossier_state")
        print(
            f"simulated {start} .. {end}, scale {args.scale}: {n:,} events, {dossiers:,} dossiers "
            f"({time.perf_counter() - t0:.0f} s)"
        )
        periods = [(p, official) for p in ym for official in (False, True)]
        t0 = time.perf_counter()
        results = backtest(store, cal, periods, (10, 20), args.history)
        print(f"{len(periods) * 2} forecasts by level in {time.perf_counter() - t0:.1f} s")
        report(results)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
