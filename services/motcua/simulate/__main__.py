"""python -m motcua.simulate PROVINCE START END [-o FILE] [--seed N] [--scale X] [faults]"""

from __future__ import annotations

import argparse
import time
from datetime import date

from . import simulate, write_events


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m motcua.simulate", description=__doc__)
    ap.add_argument("province", help="GSO code (75), H75, dong_nai or 'Đồng Nai'")
    ap.add_argument("start", type=date.fromisoformat)
    ap.add_argument("end", type=date.fromisoformat)
    ap.add_argument("-o", "--output", default="-", help="JSON Lines file (.gz ok), - for stdout")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0)
    for f in ("duplicates", "reorder", "late", "malformed"):
        ap.add_argument(f"--{f}", type=float, default=0.0)
    ap.add_argument("--progress", action="store_true")
    a = ap.parse_args(argv)
    t = time.perf_counter()
    n = write_events(
        simulate(
            a.province,
            a.start,
            a.end,
            a.seed,
            scale=a.scale,
            duplicates=a.duplicates,
            reorder=a.reorder,
            late=a.late,
            malformed=a.malformed,
        ),
        a.output,
        progress=a.progress,
    )
    if a.output != "-":
        print(f"{n} lines in {time.perf_counter() - t:.1f}s -> {a.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
