"""The ``motcua`` command: live metrics of one-stop-shop administrative dossiers."""

from __future__ import annotations

from datetime import date, timedelta
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from .common import (
    StoreOption,
    console,
    emit_rows,
    load_calendar,
    open_store,
    out_console,
    parse_date,
    parse_instant_option,
    progress_bar,
)

app = typer.Typer(
    help="motcua: live metrics of one-stop-shop dossiers (hồ sơ TTHC) — on-time, online "
    "filing, digitisation and payment rates per level, unit, procedure and period.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


class By(str, Enum):
    all = "all"
    level = "level"
    unit = "unit"
    procedure = "procedure"
    field = "field"


class Fmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


class FileFmt(str, Enum):
    jsonl = "jsonl"
    avro = "avro"


@app.command()
def replay(
    files: List[Path] = typer.Argument(..., help="JSON Lines (.jsonl, .jsonl.gz) or Avro (.avro) event files.", exists=True, dir_okay=False),
    store: Optional[str] = StoreOption,
    batch_size: int = typer.Option(100_000, help="Events per batch written to the store."),
    bulk: bool = typer.Option(True, "--bulk/--no-bulk",
                              help="JSON Lines into the embedded store: validate and fold inside ClickHouse "
                                   "every line and dossier where that is provably the same as the per-event "
                                   "Python path (the rest takes that path). --no-bulk: every event through "
                                   "the Python path, as the live processor does."),
) -> None:
    """Ingest event files through the same processing rules as the live processor.

    Bad records go to the dead-letter table and are counted in the summary; duplicates
    and reordering change nothing; replaying the same files twice changes nothing.
    """
    from ..pipeline.ingest import EmbeddedPipeline

    st = open_store(store)
    pipeline = EmbeddedPipeline(st, load_calendar(), batch_size=batch_size)
    with progress_bar() as bar:
        task = bar.add_task(", ".join(p.name for p in files)[:40], total=None, rate="")
        total = pipeline.replay_files(files, progress=lambda n: bar.advance(task, n), bulk=bulk)
        bar.update(task, total=total.read, completed=total.read,
                   rate=f"{total.read / max(total.seconds, 1e-9):,.0f} ev/s")
    _print_summary(total, held=st.held_dossiers())
    if total.read and total.accepted == 0:
        raise typer.Exit(code=1)


def _print_summary(s, held: int | None = None) -> None:
    from ..domain.formatting import fmt_int

    t = Table(title="Kết quả nạp sự kiện (replay)")
    t.add_column("")
    t.add_column("số lượng", justify="right")
    t.add_row("Đọc (read)", fmt_int(s.read))
    t.add_row("Nhận (accepted)", fmt_int(s.accepted))
    t.add_row("  trong đó trùng lặp (duplicates)", fmt_int(s.duplicates))
    t.add_row("Từ chối → dead letters (rejected)", fmt_int(s.rejected))
    for code, n in sorted(s.rejected_by_code.items()):
        t.add_row(f"  {code}", fmt_int(n))
    t.add_row("Hồ sơ thay đổi (dossiers changed)", fmt_int(s.dossiers_changed))
    if held is not None:
        t.add_row("Hồ sơ chờ sự kiện tiếp nhận (held: no RECEIVED yet)", fmt_int(held))
    t.add_row("Thời gian (s)", f"{s.seconds:.1f}")
    if s.seconds:
        t.add_row("Tốc độ (events/s)", fmt_int(s.read / s.seconds))
    console.print(t)


@app.command("dead-letters")
def dead_letters(
    store: Optional[str] = StoreOption,
    last: int = typer.Option(10, help="Also list the newest N records with their reasons."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", help="table or json."),
) -> None:
    """Rejected input kept in the dead-letter table: counts by reason code, newest records."""
    st = open_store(store)
    summary = st.dead_letter_summary()
    newest = st.newest_dead_letters(last)
    if fmt != Fmt.table:
        emit_rows([{"code": c, "count": n} for c, n in summary], "json" if fmt == Fmt.json else "csv")
        return
    from ..domain.formatting import fmt_int

    t = Table(title="Dead letters (bản ghi bị từ chối)")
    t.add_column("code")
    t.add_column("số lượng", justify="right")
    for code, n in summary:
        t.add_row(code, fmt_int(n))
    t.add_row("Tổng", fmt_int(sum(n for _c, n in summary)))
    out_console.print(t)
    for r in newest:
        out_console.print(f"{r['received_at']} {r['source']} {r['code']}: {r['reason']}")


@app.command()
def simulate(
    province: str = typer.Option("75", "--province", help="Province: GSO code (75 = Đồng Nai, 1 = Hà Nội) or name."),
    from_: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD), local time."),
    to: str = typer.Option(..., "--to", help="Day after the last (YYYY-MM-DD): half-open [from, to)."),
    seed: int = typer.Option(0, help="Random seed: the same seed gives the same events."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output file (.jsonl, .jsonl.gz or .avro). Default: stdout (JSON Lines)."),
    scale: float = typer.Option(1.0, help="Volume factor; 1.0 ≈ 600,000 dossiers a year."),
    duplicates: float = typer.Option(0.0, help="Fraction of events re-sent as duplicates."),
    reorder: float = typer.Option(0.0, help="Fraction of events shuffled out of order."),
    late: float = typer.Option(0.0, help="Fraction of events arriving days late."),
    malformed: float = typer.Option(0.0, help="Fraction of malformed records (bad JSON, unknown type, personal data, oversize)."),
) -> None:
    """Generate a realistic dossier event stream for a province (calibrated by default to a
    large province: ~600,000 dossiers/year, ~88% on time, ~98% online)."""
    from ..simulate import simulate as run_sim
    from ..simulate import write_events

    start, end = parse_date(from_, "--from"), parse_date(to, "--to")
    if end <= start:
        raise typer.BadParameter("--to must be after --from", param_hint="--to")
    try:
        # the simulator's window is inclusive of its last day
        events = run_sim(province, start, end - timedelta(days=1), seed=seed, scale=scale, duplicates=duplicates,
                         reorder=reorder, late=late, malformed=malformed)
    except (KeyError, ValueError) as err:
        raise typer.BadParameter(str(err), param_hint="--province") from None
    if out is not None and out.suffix == ".avro":
        from ..adapters.codec import write_avro_file

        # Malformed records are raw JSON bytes: they have no place in an Avro container.
        n = write_avro_file(out, (e for e in events if isinstance(e, dict)))
    else:
        n = write_events(events, out if out is not None else "-", progress=out is not None)
    console.print(f"{n:,} records written".replace(",", ".") + (f" to {out}" if out else ""))


@app.command()
def kpi(
    from_: str = typer.Option(..., "--from", help="First day of the period (YYYY-MM-DD), Asia/Ho_Chi_Minh."),
    to: str = typer.Option(..., "--to", help="Day after the period: the period is [from, to)."),
    by: By = typer.Option(By.level, "--by", help="One row per level, unit, procedure, field, or all."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Instant for in_progress / overdue / due_soon (ISO date or datetime; default now)."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", help="table (Vietnamese), json or csv."),
    store: Optional[str] = StoreOption,
) -> None:
    """Live KPIs for a period: every metric of metrics.md as numerator, denominator and
    ratio per group, plus in progress / overdue / due soon as of an instant."""
    from ..domain.metrics import Period

    start, end = parse_date(from_, "--from"), parse_date(to, "--to")
    if end <= start:
        raise typer.BadParameter("--to must be after --from", param_hint="--to")
    as_of_ms = parse_instant_option(as_of, "--as-of")
    cal = load_calendar()
    rows = open_store(store).kpi(Period(start, end), as_of_ms, by.value, cal)
    if fmt == Fmt.table:
        print_kpi_table(rows, by.value, title=f"Chỉ số giải quyết TTHC {start:%d/%m/%Y} – {date.fromordinal(end.toordinal() - 1):%d/%m/%Y}")
    else:
        emit_rows(rows, fmt.value)


def print_kpi_table(rows: list[dict], by: str, title: str, targets: dict | None = None) -> None:
    """Rows as a Vietnamese table: metrics down, groups across."""
    from ..domain.formatting import fmt_decimal, fmt_int, fmt_percent
    from ..domain.metrics import COUNT_LABELS, METRICS

    from .labels import group_label, level_sort_key

    if by == "level":
        rows = sorted(rows, key=level_sort_key)
    table = Table(title=title, show_lines=False)
    table.add_column("Chỉ số")
    for r in rows:
        table.add_column(group_label(by, r), justify="right")
        if targets is not None:
            table.add_column("Chỉ tiêu", justify="right", style="dim")
    for m in METRICS:
        cells = []
        for r in rows:
            value = r[m.id]
            cells.append(fmt_percent(value) if m.percent else fmt_decimal(value))
            if targets is not None:
                cells.append(targets.get((m.id, r.get("unit_level")), ""))
        table.add_row(m.label_vi, *cells)
    for key, label in COUNT_LABELS.items():
        cells = []
        for r in rows:
            cells.append(fmt_int(r[key]))
            if targets is not None:
                cells.append("")
        table.add_row(label, *cells)
    table.add_row("Số hồ sơ tiếp nhận", *[c for r in rows for c in ([fmt_int(r["online_filing_rate_den"])] + ([""] if targets is not None else []))])
    out_console.print(table)


@app.command()
def demo(
    province: str = typer.Option("75", help="Province GSO code (75 = Đồng Nai)."),
    month: str = typer.Option("2025-03", help="Month to simulate (YYYY-MM)."),
    scale: float = typer.Option(1.0, help="Volume factor (1.0 ≈ 50,000 dossiers a month)."),
    targets_file: Optional[Path] = typer.Option(None, "--targets", help="Plan targets YAML (default: deploy/targets/plan-targets.yaml)."),
    store: Optional[str] = StoreOption,
) -> None:
    """Simulate one month for one province into the embedded store, load the working-day
    calendar, the plan targets and the names of units, fields and procedures into it (so
    targets check, snapshot and the reports show targets and names), and print the KPI
    table per level beside the plan targets, in Vietnamese."""
    from ..adapters.clickhouse_reports import province_scope
    from ..domain.calendar import local_midnight_ms
    from ..domain.metrics import Period
    from ..domain.targets import TargetError, load_targets, target_cells
    from ..pipeline.ingest import EmbeddedPipeline
    from ..reference import resolve_province
    from ..simulate import simulate as run_sim

    try:
        year, mon = (int(x) for x in month.split("-"))
        start = date(year, mon, 1)
    except ValueError:
        raise typer.BadParameter(f"{month!r} is not YYYY-MM", param_hint="--month") from None
    try:
        info = resolve_province(province)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--province") from None
    try:
        all_targets = load_targets(targets_file)
    except (OSError, TargetError) as err:
        raise typer.BadParameter(str(err), param_hint="--targets") from None
    end = date(year + (mon == 12), mon % 12 + 1, 1)
    cal = load_calendar()
    st = open_store(store)
    pipeline = EmbeddedPipeline(st, cal)
    records = ((f"sim:{i}", e) for i, e in enumerate(
        run_sim(info.code, start, end - timedelta(days=1), seed=1, scale=scale)))
    with progress_bar() as bar:
        task = bar.add_task(f"Mô phỏng {month}", total=None, rate="")
        summary = pipeline.ingest(records, progress=lambda n: bar.advance(task, n))
        bar.update(task, rate=f"{summary.read / max(summary.seconds, 1e-9):,.0f} ev/s")
    _print_summary(summary)
    _demo_reference_data(st, cal, all_targets, info.code)
    # the KPI table of the simulated province only (the store may hold others)
    rows = province_scope(st, [info.code]).kpi(Period(start, end), local_midnight_ms(end), "level", cal)
    targets = target_cells(all_targets, info.code, year)
    print_kpi_table(rows, "level", title=f"Kết quả giải quyết TTHC tháng {mon:02d}/{year} so với chỉ tiêu kế hoạch CCHC", targets=targets)
    console.print("Tiếp theo (README.md):", highlight=False)
    for cmd in (f"motcua targets check --from {start} --to {end}",
                f"motcua snapshot --from {start} --to {end} --out out/",
                f"motcua report ii06a --period {month} --format xlsx",
                f"motcua report monthly --month {month} --format docx"):
        console.print(f"  {cmd}", markup=False, highlight=False, soft_wrap=True)


def _demo_reference_data(st, cal, targets, province_code: str) -> None:
    """What the control room and the reports read besides the dossiers: the working-day
    calendar (the panels' "next working day"), the plan targets and the Vietnamese names
    of every unit in the store (as ``motcua targets load`` does)."""
    from ..adapters.clickhouse_targets import TargetsRepository
    from ..domain.formatting import fmt_int

    st.load_calendar(cal)
    repo = TargetsRepository(st)
    n = repo.replace(targets)
    provinces = sorted({t.province_code for t in targets if t.province_code}
                       | set(repo.stored_provinces()) | {province_code})
    names = repo.load_reference_names(provinces, repo.stored_unit_codes())
    console.print(f"Đã nạp lịch ngày làm việc, {fmt_int(n)} chỉ tiêu kế hoạch CCHC của "
                  f"{len({t.province for t in targets})} tỉnh và {fmt_int(names)} tên đơn vị, lĩnh vực, "
                  "thủ tục vào kho dữ liệu.")


def _register_extensions() -> None:
    """Command groups of other parts of the product register here when present."""
    import importlib

    for module in ("report", "index766", "targets", "run", "snapshot"):
        try:
            mod = importlib.import_module(f"motcua.cli.{module}")
        except ModuleNotFoundError as err:
            if err.name == f"motcua.cli.{module}":
                continue
            raise
        mod.register(app)


_register_extensions()


if __name__ == "__main__":
    app()
