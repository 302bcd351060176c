"""DVCQG import throughput and memory (not a test: prints figures, asserts nothing).

    python benchmarks/import_throughput.py --dossiers 1000000 --style T
    python benchmarks/import_throughput.py --dossiers 20000 --style mixed --generate-only

Generates DVCQG sync payload files (JSON Lines; T style by default: per dossier its final
snapshot, then its progress rows in arrays of up to 10), timed on its own, then imports
them into a new embedded ClickHouse store and prints snapshots/s, rows/s, events/s, wall
and CPU seconds and the peak RSS of the process.

Generation takes a fast path: the full simulator is too slow for a million dossiers, so
each dossier's v1 events come from a cheap template (random unit, procedure, dates and
outcome), and ``motcua.simulate.dvcqg.to_requests`` turns them into exactly what the
sender would post. One file per unit: T's bare arrays have no envelope, so the unit is
passed to the importer beside the file (like Hà Giang's ``?MaDinhDanhDV=``) when the
importer takes it.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from motcua.domain.calendar import MS_PER_DAY, VN_OFFSET_MS
from motcua.reference import procedures, units_for_province
from motcua.reference.official_calendar import default_calendar
from motcua.simulate.dvcqg import to_requests, write_requests

START, END = date(2025, 7, 1), date(2025, 12, 31)  # after the 2025 reforms: one unit set
MIN_MS = 60_000
HOUR_MS = 3_600_000
EPOCH_ORDINAL = 719_163
PAYMENT_METHODS = ("ONLINE_DVCQG", "ONLINE_DVCQG", "ONLINE_LOCAL", "CASH", "OTHER")


def cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads, chDB's included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Template:
    """Cheap per-dossier v1 events shaped like the simulator's (same fields, plausible
    order and mix of outcomes), for generating a million dossiers in minutes."""

    def __init__(self, cal, seed: int):
        self.cal = cal
        self.rng = random.Random(seed)
        self.procs = list(procedures().values())
        self.days = [o for o in range(START.toordinal(), END.toordinal() + 1) if cal.is_working_day(o)]

    def _at(self, day: int, lo_h: float = 7.5, hi_h: float = 17.0) -> int:
        midnight = (day - EPOCH_ORDINAL) * MS_PER_DAY - VN_OFFSET_MS
        return midnight + int((lo_h + self.rng.random() * (hi_h - lo_h)) * HOUR_MS)

    def dossier(self, i: int, unit: str, level: str) -> list[dict]:
        r = self.rng.random
        cal = self.cal
        p = self.procs[int(r() * len(self.procs))]
        day = self.days[int(r() * len(self.days))]
        env = {
            "source_system": "motcua-bench",
            "dossier_id": f"{unit}-D{i}",
            "province_code": "75",
            "unit_code": unit,
            "unit_level": level,
            "procedure_code": p.code,
            "field_code": p.field_code,
        }
        recv = self._at(day)
        u = r()
        channel = "ONLINE" if u < 0.8 else ("DIRECT" if u < 0.95 else "POSTAL")
        out = [
            (
                "SUBMITTED",
                recv - (int(r() * 48 * HOUR_MS) if channel == "ONLINE" else 10 * MIN_MS),
                {"channel": channel, "online_service": p.online_service},
            )
        ]
        if r() < 0.01:
            out.append(("REJECTED", recv, {"reason": "Hồ sơ không đúng thành phần theo quy định"}))
        else:
            out.append(
                (
                    "RECEIVED",
                    recv,
                    {
                        "channel": channel,
                        "online_service": p.online_service,
                        "time_limit": dict(p.time_limit),
                        "has_fee": p.has_fee,
                        "requires_paper_result": p.requires_paper_result,
                    },
                )
            )
            t = recv + 5 * MIN_MS
            out.append(("PROCESSING", t, None))
            if r() < 0.8:
                total = 1 + int(r() * 5)
                dig = total if r() < 0.3 else int(r() * total)
                out.append(
                    (
                        "DIGITISED",
                        t + MIN_MS,
                        {
                            "components_total": total,
                            "components_digitised": dig,
                            "components_reused": (1 + int(r() * dig)) if dig and r() < 0.35 else 0,
                            "from_personal_store": r() < 0.15,
                            "population_data_used": r() < 0.45,
                        },
                    )
                )
            if p.has_fee:
                out.append(("PAYMENT_REQUESTED", t + 10 * MIN_MS, {"amount_vnd": 50_000}))
                out.append(
                    (
                        "PAYMENT_COMPLETED",
                        t + 40 * MIN_MS,
                        {"amount_vnd": 50_000, "method": PAYMENT_METHODS[int(r() * 5)]},
                    )
                )
            limit = max(1, p.time_limit["value"] if p.time_limit["unit"] != "HOURS" else 1)
            k = 0
            u = r()
            if u < 0.006:
                out.append(("WITHDRAWN", self._at(cal.add_working_days(day, 1)), None))
            elif u < 0.01:
                out.append(
                    (
                        "STOPPED",
                        self._at(cal.add_working_days(day, 2)),
                        {"reason": "Hồ sơ không đủ điều kiện"},
                    )
                )
            elif u < 0.10:
                pass  # still in progress
            else:
                if r() < 0.07:
                    k += 1
                    out.append(("SUPPLEMENT_REQUESTED", self._at(cal.add_working_days(day, k)), None))
                    k += 1 + int(r() * 4)
                    out.append(("SUPPLEMENT_RECEIVED", self._at(cal.add_working_days(day, k)), None))
                k += int(r() * (limit + (3 if r() < 0.1 else 0)))
                end_day = cal.add_working_days(day, k)
                end = max(self._at(end_day), out[-1][1] + 10 * MIN_MS)
                out.append(("RESOLVED", end, {"electronic_result": r() < 0.8}))
                ret = "POSTAL" if channel == "POSTAL" else ("ONLINE" if channel == "ONLINE" else "DIRECT")
                out.append(
                    ("RESULT_RETURNED", end + int(r() * 24 * HOUR_MS) + MIN_MS, {"return_channel": ret})
                )
                if r() < 0.3:
                    out.append(("RATED", end + 30 * HOUR_MS, {"rating": "SATISFIED"}))
        out.sort(key=lambda x: x[1])
        evs = []
        for n, (etype, at, extra) in enumerate(out, 1):
            ev = {
                "event_id": f"{env['dossier_id']}-{n}",
                "event_type": etype,
                "occurred_at": at,
                "sequence": n,
            }
            ev.update(env)
            if extra:
                ev.update(extra)
            evs.append(ev)
        return evs


def generate(
    work: Path, n: int, style: str, n_units: int, pii: bool, seed: int
) -> tuple[list[tuple[Path, str]], int]:
    """Write the payload files (one per unit); returns [(path, unit)], requests written."""
    cal = default_calendar()
    units = [
        (u.code, u.level)
        for u in units_for_province(75)
        if u.valid_on(START) and u.level in ("COMMUNE", "PROVINCE")
    ]
    random.Random(seed).shuffle(units)
    units = units[:n_units]
    tpl = Template(cal, seed)
    rng = random.Random(seed + 1)
    files = []
    total = 0
    per_unit = [n // len(units) + (1 if k < n % len(units) else 0) for k in range(len(units))]

    try:
        from tqdm import tqdm

        bar = tqdm(total=n, desc="generate", unit=" dossiers", unit_scale=True)
    except ImportError:  # pragma: no cover
        bar = None

    for k, ((unit, level), count) in enumerate(zip(units, per_unit)):
        path = work / f"dvcqg-{style}-{k:03d}.jsonl"

        def requests(unit=unit, level=level, count=count, k=k):
            for i in range(count):
                s = style if style != "mixed" else ("T" if rng.random() < 0.5 else "O")
                yield from to_requests(tpl.dossier(i, unit, level), s, rng, cal, pii=pii)
                if bar is not None and i % 1000 == 999:
                    bar.update(1000)

        total += write_requests(path, requests())
        if bar is not None:
            bar.update(count % 1000)
        files.append((path, unit))
    if bar is not None:
        bar.close()
    return files, total


def open_fresh_store(store_dir: Path):
    """A new embedded store, as benchmarks/replay_throughput.py opens one."""
    from motcua.adapters.clickhouse_store import ClickHouseStore

    shutil.rmtree(store_dir, ignore_errors=True)
    return ClickHouseStore(f"chdb://{store_dir}")


def run_import(files: list[tuple[Path, str]], store) -> tuple[list, str]:
    """Import the files; returns (summaries, how the unit was passed). T's bare arrays
    carry no unit: each file is one unit's feed, imported with ``--unit`` (ImportOptions.unit)."""
    from motcua.pipeline.importing import ImportOptions
    from motcua.replay import importer as Importer

    cal = default_calendar()
    out = []
    for p, u in files:
        importer = Importer(store, cal, ImportOptions(source_system="dvcqg-bench", unit=u))
        out.append(importer.import_dvcqg([p], progress=None))
    return out, "--unit per file"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dossiers", type=int, default=1_000_000)
    ap.add_argument("--style", choices=("T", "O", "mixed"), default="T")
    ap.add_argument("--units", type=int, default=8, help="units (one payload file each)")
    ap.add_argument(
        "--no-pii",
        action="store_true",
        help="leave personal fields empty (default: fake names, IDs, phones, as real feeds carry)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=None, help="keep files here (default: temp, removed)")
    ap.add_argument("--generate-only", action="store_true", help="write the payload files, do not import")
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="motcua-dvcqg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob(f"dvcqg-{args.style}-*.jsonl"):
        old.unlink()

    t0, c0 = time.perf_counter(), cpu_seconds()
    files, n_requests = generate(work, args.dossiers, args.style, args.units, not args.no_pii, args.seed)
    gen_wall, gen_cpu = time.perf_counter() - t0, cpu_seconds() - c0
    size = sum(p.stat().st_size for p, _ in files)
    print(
        f"generated          {args.dossiers:,} dossiers, style {args.style}, {len(files)} files, "
        f"{n_requests:,} requests, {size / 2**20:,.1f} MiB"
    )
    print(
        f"generation         {gen_wall:.1f} s wall, {gen_cpu:.1f} s CPU "
        f"({args.dossiers / max(gen_wall, 1e-9):,.0f} dossiers/s)"
    )
    print(f"files              {work}")

    if not args.generate_only:
        try:
            import motcua.pipeline.importing  # noqa: F401
        except ImportError:
            print("import             skipped: motcua.pipeline.importing is not available here")
            args.generate_only = True
    if not args.generate_only:
        t0 = time.perf_counter()
        store = open_fresh_store(work / "store")
        print(
            f"store              new embedded store in {time.perf_counter() - t0:.1f} s (not in the figures below)"
        )
        rss_before = peak_rss_mib()
        t0, c0 = time.perf_counter(), cpu_seconds()
        summaries, note = run_import(files, store)
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        tot = {
            k: sum(getattr(s, k) for s in summaries)
            for k in ("requests", "snapshots", "rows", "dossiers", "events", "duplicates")
        }
        dead = {}
        for s in summaries:
            for reason, count in s.dead_letters.items():
                if count:
                    dead[reason] = dead.get(reason, 0) + count
        print(
            f"imported           {tot['requests']:,} requests: {tot['snapshots']:,} snapshots, "
            f"{tot['rows']:,} rows, {tot['dossiers']:,} dossiers, {tot['events']:,} events, "
            f"{tot['duplicates']:,} duplicates ({note})"
        )
        print(f"dead letters       {sum(dead.values()):,} {dict(sorted(dead.items())) if dead else ''}")
        print(
            f"import             {wall:.1f} s wall, {cpu:.1f} s CPU = {cpu / max(wall, 1e-9):.2f} cores "
            f"(importer's own clock {sum(s.seconds for s in summaries):.1f} s)"
        )
        print(
            f"throughput         {tot['snapshots'] / wall:,.0f} snapshots/s, {tot['rows'] / wall:,.0f} rows/s, "
            f"{tot['events'] / wall:,.0f} events/s, {tot['dossiers'] / wall:,.0f} dossiers/s"
        )
        print(f"peak RSS           {peak_rss_mib():,.0f} MiB (before the import {rss_before:,.0f} MiB)")
    else:
        print(f"peak RSS           {peak_rss_mib():,.0f} MiB")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
