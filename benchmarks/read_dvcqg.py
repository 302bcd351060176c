"""DVCQG reader + converter speed, no store (not a test: prints figures, asserts nothing).

    python benchmarks/read_dvcqg.py /tmp/bench-imp/dvcqg-T-000.jsonl
    python benchmarks/read_dvcqg.py --profile /tmp/bench-imp/dvcqg-T-000.jsonl
    python benchmarks/read_dvcqg.py --digest FILE...   # also a digest of all events and problems

Runs ``imports.dvcqg.read_file`` and ``imports.convert.Converter`` over the files (what
``Importer.import_dvcqg`` does before the pipeline) and prints items/s and the cost per
snapshot item and per progress row (wall and CPU time: the machine may be shared). A request's time (reading its line, parsing it,
converting its records) goes to snapshots or rows by its service: in T's style each
request holds one kind only. ``--digest`` prints a digest of every event and Problem,
to tell that a change of the code leaves the output as it was.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import time
from pathlib import Path

import orjson

from motcua.imports.convert import Converter
from motcua.imports.dvcqg import DONG_BO, read_file
from motcua.imports.model import Problem, ProgressRow, Snapshot


def run(paths: list[str], digest: hashlib._Hash | None) -> dict:
    convert = Converter()
    figures = {
        "requests": 0,
        "snapshots": 0,
        "rows": 0,
        "problems": 0,
        "events": 0,
        "snapshot_s": 0.0,
        "row_s": 0.0,
        "snapshot_cpu": 0.0,
        "row_cpu": 0.0,
    }
    clock, cpu_clock = time.perf_counter, time.process_time
    for path in paths:
        reader = read_file(path)
        while True:
            started, cpu_started = clock(), cpu_clock()
            request = next(reader, None)
            if request is None:
                break
            if isinstance(request, Problem):
                figures["problems"] += 1
                if digest is not None:
                    digest.update(orjson.dumps([request.where, request.code, request.reason]) + request.raw)
                continue
            figures["requests"] += 1
            for record in request.records:
                if isinstance(record, Snapshot):
                    figures["snapshots"] += 1
                    event = convert.snapshot_event(record)
                elif isinstance(record, ProgressRow):
                    figures["rows"] += 1
                    event = convert.row_event(record)
                else:
                    figures["problems"] += 1
                    if digest is not None:
                        digest.update(orjson.dumps([record.where, record.code, record.reason]) + record.raw)
                    continue
                if event is not None:
                    figures["events"] += 1
                    if digest is not None:
                        digest.update(orjson.dumps(event, option=orjson.OPT_SORT_KEYS))
            kind = "snapshot" if request.service == DONG_BO else "row"
            figures[f"{kind}_s"] += clock() - started
            figures[f"{kind}_cpu"] += cpu_clock() - cpu_started
    if digest is not None:
        notes = convert.notes
        digest.update(
            orjson.dumps(
                [
                    sorted(notes.inferred.items()),
                    sorted(notes.unknown_units.items()),
                    sorted(notes.unknown_procedures.items()),
                    notes.synthetic_rows,
                ]
            )
        )
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument(
        "--profile", action="store_true", help="print a cProfile top-20 (cumulative and own time)"
    )
    ap.add_argument("--digest", action="store_true", help="print a digest of all events and problems")
    args = ap.parse_args()
    size = sum(Path(p).stat().st_size for p in args.files)
    digest = hashlib.blake2b(digest_size=16) if args.digest else None

    profiler = cProfile.Profile() if args.profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    f = run(args.files, digest)
    if profiler is not None:
        profiler.disable()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu

    items = f["snapshots"] + f["rows"]
    print(
        f"files {len(args.files)} ({size / 1e6:.1f} MB), requests {f['requests']:,}, "
        f"snapshots {f['snapshots']:,}, rows {f['rows']:,}, problems {f['problems']:,}, events {f['events']:,}"
    )
    print(f"wall {wall:.2f} s, cpu {cpu:.2f} s{' (profiled)' if profiler else ''}")
    print(
        f"items/s {items / wall:,.0f}  dossiers/s {f['snapshots'] / wall:,.0f}  MB/s {size / 1e6 / wall:.1f}"
        f"  (per CPU second: items {items / cpu:,.0f}, dossiers {f['snapshots'] / cpu:,.0f})"
    )
    if f["snapshots"]:
        print(
            f"µs per snapshot item {f['snapshot_s'] / f['snapshots'] * 1e6:.1f} wall, "
            f"{f['snapshot_cpu'] / f['snapshots'] * 1e6:.1f} CPU"
        )
    if f["rows"]:
        print(
            f"µs per progress row  {f['row_s'] / f['rows'] * 1e6:.1f} wall, "
            f"{f['row_cpu'] / f['rows'] * 1e6:.1f} CPU"
        )
    if digest is not None:
        print(f"digest {digest.hexdigest()}")
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(20)
        stats.sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
