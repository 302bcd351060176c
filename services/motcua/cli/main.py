"""The ``motcua`` command: live metrics of one-stop-shop administrative dossiers."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from enum import Enum
from pathlib import Path

import typer
from rich.table import Table

from ..reports.tables import emit_rows
from .common import (
    BomOption,
    CliError,
    MotcuaGroup,
    StoreOption,
    check_in_calendar,
    check_output_file,
    console,
    fmt_instant,
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
    cls=MotcuaGroup,  # known user errors -> one Vietnamese line, exit 2
    pretty_exceptions_show_locals=False,  # a bug's traceback must not show DSN passwords
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
    files: list[Path] = typer.Argument(
        ..., help="JSON Lines (.jsonl, .jsonl.gz) or Avro (.avro) event files.", exists=True, dir_okay=False
    ),
    store: str | None = StoreOption,
    batch_size: int = typer.Option(100_000, help="Events per batch written to the store."),
    bulk: bool = typer.Option(
        True,
        "--bulk/--no-bulk",
        help="JSON Lines into the embedded store: validate and fold inside ClickHouse "
        "every line and dossier where that is provably the same as the per-event "
        "Python path (the rest takes that path). --no-bulk: every event through "
        "the Python path, as the live processor does.",
    ),
) -> None:
    """Ingest event files through the same processing rules as the live processor.

    Bad records go to the dead-letter table and are counted in the summary; duplicates
    and reordering change nothing; replaying the same files twice changes nothing.
    """
    from .. import bootstrap

    check_event_files(files)
    st = open_store(store)
    cal = load_calendar()
    pipeline = bootstrap.replay_pipeline(st, cal, batch_size=batch_size)
    with progress_bar() as bar:
        task = bar.add_task(", ".join(p.name for p in files)[:40], total=None, rate="")
        total = pipeline.replay_files(files, progress=lambda n: bar.advance(task, n), bulk=bulk)
        bar.update(
            task,
            total=total.read,
            completed=total.read,
            rate=f"{total.read / max(total.seconds, 1e-9):,.0f} ev/s",
        )
    st.load_calendar(cal)  # the panels' "due soon" reads the next working day from the store
    _print_summary(total, held=st.held_dossiers())
    if total.read and total.accepted == 0:
        raise typer.Exit(code=1)


def check_event_files(files: list[Path]) -> None:
    """Refuse, before the store is touched, a file replay cannot read by its name (the
    codec's suffixes, optionally .gz; its reading raises the same for other callers)."""
    from ..adapters import codec

    known = set(getattr(codec, "JSON_SUFFIXES", ())) | set(getattr(codec, "AVRO_SUFFIXES", ()))
    for path in files:
        suffixes = [s.lower() for s in path.suffixes]
        if suffixes and suffixes[-1] == ".gz":
            suffixes = suffixes[:-1]
        if not known or (suffixes and suffixes[-1] in known):
            continue
        unsupported = getattr(codec, "UnsupportedFile", None)
        message = getattr(unsupported(path), "message", None) if unsupported is not None else None
        raise CliError(
            message
            or f"không đọc được tệp {path.name}: loại tệp không được hỗ trợ; dùng "
            ".jsonl, .ndjson, .json hoặc .avro (có thể nén .gz)"
        )


def _print_summary(s, held: int | None = None) -> None:
    from ..domain.formatting import fmt_int

    t = Table(title="Kết quả nạp sự kiện (replay)")
    t.add_column("")
    t.add_column("số lượng", justify="right")
    t.add_row("Đọc (read)", fmt_int(s.read))
    t.add_row("Nhận (accepted)", fmt_int(s.accepted))
    t.add_row("  trong đó trùng lặp (duplicates)", fmt_int(s.duplicates))
    t.add_row("Từ chối → dead letters (rejected)", fmt_int(s.rejected))
    from .labels import DEAD_LETTER_CODE_LABELS

    for code, n in sorted(s.rejected_by_code.items()):
        label = DEAD_LETTER_CODE_LABELS.get(code)
        t.add_row(f"  {code}" + (f": {label}" if label else ""), fmt_int(n))
    t.add_row("Hồ sơ thay đổi (dossiers changed)", fmt_int(s.dossiers_changed))
    if held is not None:
        t.add_row("Hồ sơ chờ sự kiện tiếp nhận (held: no RECEIVED yet)", fmt_int(held))
    t.add_row("Thời gian (s)", f"{s.seconds:.1f}")
    if s.seconds:
        t.add_row("Tốc độ (events/s)", fmt_int(s.read / s.seconds))
    console.print(t)


@app.command("dead-letters")
def dead_letters(
    store: str | None = StoreOption,
    last: int | None = typer.Option(
        None,
        "--last",
        "--limit",
        min=0,
        help="Newest N records (default 10 in the table, 1000 in json/csv; 0 = all).",
    ),
    code: list[str] | None = typer.Option(
        None, "--code", help="Only this reason code (repeatable), e.g. BAD_JSON."
    ),
    source: str | None = typer.Option(
        None,
        "--source",
        help="Only records whose source starts with this (a file path, publish, gateway...).",
    ),
    fmt: Fmt = typer.Option(
        Fmt.table,
        "--format",
        help="table (counts by reason, newest records), json (counts and records) or csv (records).",
    ),
    bom: bool = BomOption,
) -> None:
    """Rejected input kept in the dead-letter table: counts by reason code and the records
    themselves (newest first: when, source, stage, code, reason, ids, payload preview)."""
    codes = list(code or [])
    st = open_store(store, must_exist=True)
    summary = st.dead_letter_summary(codes, source)
    total = sum(n for _c, n in summary)
    limit = last if last is not None else (10 if fmt == Fmt.table else 1000)
    records = st.list_dead_letters(limit or None, codes, source)
    if fmt != Fmt.table:
        _export_dead_letters(summary, total, records, fmt, bom)
    else:
        _print_dead_letters(summary, total, records)


def _export_dead_letters(
    summary: list[tuple[str, int]], total: int, records: list[dict], fmt: Fmt, bom: bool
) -> None:
    """The records as JSON (with the counts by code) or CSV on stdout, and a note on
    stderr when the export stops at ``--last``."""
    from ..domain.formatting import fmt_int
    from .common import iso_instant, payload_preview

    rows = [
        {
            "dead_letter_id": r["dead_letter_id"],
            "received_at": iso_instant(r["received_at"]),
            "source": r["source"],
            "stage": r["stage"],
            "code": r["code"],
            "reason": r["reason"],
            "event_id": r["event_id"],
            "dossier_id": r["dossier_id"],
            "payload_bytes": r["payload_bytes"],
            "payload": payload_preview(r["payload_head"], r["payload_bytes"]),
        }
        for r in records
    ]
    if fmt == Fmt.json:
        import orjson

        doc = {
            "total": total,
            "by_code": [{"code": c, "count": n} for c, n in summary],
            "records_shown": len(rows),
            "records": rows,
        }
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        emit_rows(rows, "csv", bom=bom)
    if len(rows) < total:
        console.print(
            f"Đã xuất {fmt_int(len(rows))} bản ghi mới nhất trên tổng số {fmt_int(total)} "
            "(dùng --last 0 để xuất tất cả)."
        )


def _print_dead_letters(summary: list[tuple[str, int]], total: int, records: list[dict]) -> None:
    """The counts by reason code (with their Vietnamese meaning), then the newest records,
    as tables an official reads."""
    from ..domain.formatting import fmt_int
    from .common import payload_preview
    from .labels import dead_letter_code_label

    t = Table(title="Bản ghi bị từ chối (dead letters) theo mã lỗi")
    t.add_column("Mã lỗi")
    t.add_column("Ý nghĩa")
    t.add_column("Số lượng", justify="right")
    for c, n in summary:
        t.add_row(c, dead_letter_code_label(c), fmt_int(n))
    t.add_row("Tổng", "", fmt_int(total), style="bold")
    out_console.print(t)
    if not records:
        return
    r_table = Table(title=f"{fmt_int(len(records))} bản ghi mới nhất (trên tổng số {fmt_int(total)})")
    for col in ("Thời điểm nhận", "Nguồn", "Công đoạn", "Mã lỗi", "Lý do", "Mã hồ sơ", "Nội dung (trích)"):
        r_table.add_column(col, overflow="fold")
    for r in records:
        r_table.add_row(
            fmt_instant(r["received_at"], seconds=True),
            r["source"],
            r["stage"],
            r["code"],
            r["reason"],
            r["dossier_id"] or "",
            payload_preview(r["payload_head"], r["payload_bytes"], 60),
            end_section=False,
        )
    out_console.print(r_table)


@app.command()
def simulate(
    province: str = typer.Option(
        "75", "--province", help="Province: GSO code (75 = Đồng Nai, 1 = Hà Nội) or name."
    ),
    from_: str = typer.Option(..., "--from", help="First day (YYYY-MM-DD), local time."),
    to: str = typer.Option(..., "--to", help="Day after the last (YYYY-MM-DD): half-open [from, to)."),
    seed: int = typer.Option(0, help="Random seed: the same seed gives the same events."),
    out: Path | None = typer.Option(
        None, "--out", help="Output file (.jsonl, .jsonl.gz or .avro). Default: stdout (JSON Lines)."
    ),
    scale: float = typer.Option(1.0, help="Volume factor; 1.0 ≈ 600,000 dossiers a year."),
    duplicates: float = typer.Option(0.0, help="Fraction of events re-sent as duplicates."),
    reorder: float = typer.Option(0.0, help="Fraction of events shuffled out of order."),
    late: float = typer.Option(0.0, help="Fraction of events arriving days late."),
    malformed: float = typer.Option(
        0.0, help="Fraction of malformed records (bad JSON, unknown type, personal data, oversize)."
    ),
) -> None:
    """Generate a realistic dossier event stream for a province (calibrated by default to a
    large province: ~600,000 dossiers/year, ~88% on time, ~98% online)."""
    from ..simulate import simulate as run_sim
    from ..simulate import write_events

    start, end = parse_date(from_, "--from"), parse_date(to, "--to")
    if end <= start:
        raise typer.BadParameter("--to must be after --from", param_hint="--to")
    if out is not None:
        check_output_file(out)
    try:
        # the simulator's window is inclusive of its last day
        events = run_sim(
            province,
            start,
            end - timedelta(days=1),
            seed=seed,
            scale=scale,
            duplicates=duplicates,
            reorder=reorder,
            late=late,
            malformed=malformed,
        )
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
    from_: str | None = typer.Option(
        None, "--from", help="First day of the period (YYYY-MM-DD), Asia/Ho_Chi_Minh."
    ),
    to: str | None = typer.Option(None, "--to", help="Day after the period: the period is [from, to)."),
    period: str | None = typer.Option(
        None,
        "--period",
        help="Instead of --from/--to: an official reporting period (15th -> 14th: 2025-03, 2025-Q1, "
        "2025-H1, 2025-9M, 2025), its backlog as of the period end; a closed period prints its "
        "closed figures and what moved since (--live: today's).",
    ),
    live: bool = typer.Option(False, "--live", help="With --period: today's figures, not the closed ones."),
    by: By = typer.Option(By.level, "--by", help="One row per level, unit, procedure, field, or all."),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Instant for in_progress / overdue / due_soon (ISO date or datetime; default now).",
    ),
    fmt: Fmt = typer.Option(
        Fmt.table,
        "--format",
        help="table (Vietnamese: the main figures, one row per group), "
        "json or csv (every metric as numerator, denominator and ratio).",
    ),
    province: str | None = typer.Option(
        None,
        "--province",
        help="Only one province: GSO code (75, 01), H75 or name; a former province "
        "(70, 'Bình Phước') means the province it merged into on 2025-07-01, whose figures include "
        "its predecessors' dossiers. Default: every dossier in the store.",
    ),
    store: str | None = StoreOption,
    bom: bool = BomOption,
) -> None:
    """Live KPIs for a period: every metric of docs/metrics.md#rates as numerator, denominator and
    ratio per group, plus in progress / overdue / due soon as of an instant."""
    from ..domain.calendar import local_day_number
    from ..domain.periods import Period

    if period is not None:
        if from_ is not None or to is not None or as_of is not None:
            raise typer.BadParameter("--period replaces --from, --to and --as-of", param_hint="--period")
        _kpi_of_period(period, by.value, fmt.value, province, live, store, bom)
        return
    if from_ is None or to is None:
        raise typer.BadParameter("give --from and --to, or --period", param_hint="--from")
    start, end = parse_date(from_, "--from"), parse_date(to, "--to")
    if end <= start:
        raise typer.BadParameter("--to must be after --from", param_hint="--to")
    as_of_ms = parse_instant_option(as_of, "--as-of")
    cal = load_calendar()
    check_in_calendar(
        cal,
        (start, "--from"),
        (end - timedelta(days=1), "--to"),
        (date.fromordinal(local_day_number(as_of_ms)), "--as-of"),
    )
    st = open_store(store, must_exist=True)
    if province is not None:
        from .report import report_province

        _prov, st = report_province(st, province)
    rows = st.kpi(Period(start, end), as_of_ms, by.value, cal)
    if fmt == Fmt.table:
        print_kpi_table(
            rows,
            by.value,
            as_of_ms=as_of_ms,
            title=f"Chỉ số giải quyết TTHC {start:%d/%m/%Y} – {date.fromordinal(end.toordinal() - 1):%d/%m/%Y}",
        )
        if not rows:
            console.print("Không có hồ sơ nào trong kỳ này.")
    else:
        emit_rows(rows, fmt.value, bom=bom)


def _kpi_of_period(
    period: str, by: str, fmt: str, province: str | None, live: bool, store: str | None, bom: bool
) -> None:
    """``kpi --period``: the official period's rows at its end (a closed one's as closed,
    with the restatement section: on stderr for a table, in the document for json)."""
    from ..reports.closing import restatements_for
    from ..reports.names import Names
    from .closed import closed_json, find_closed, print_restatements, restatement_rows, say_closed
    from .report import now_ms, parse_period_option, report_province

    rp = parse_period_option(period, None, "--period")
    st = open_store(store, must_exist=True)
    prov, st = report_province(st, province)
    cal = load_calendar()
    closed = find_closed(st, prov.code, rp, live)
    if closed is not None and not closed.holds(by):
        console.print(f"Số liệu đã chốt không có theo {by}; đây là số liệu hiện tại.")
        closed = None
    as_of = min(rp.period.end_ms, now_ms())
    rows = closed.kpi(by) if closed is not None else st.kpi(rp.period, as_of, by, cal)
    rs = []
    if closed is not None:
        rs = restatements_for(st, closed, rp, cal, now_ms(), tables=(f"kpi_{by}",))
    if fmt == "json":
        import orjson

        doc = {
            "period": {"code": rp.code, "from": rp.start.isoformat(), "to": rp.end.isoformat()},
            "closed": closed_json(closed),
            "rows": rows,
            "restatements": restatement_rows(rs),
        }
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    elif fmt == "table":
        title = f"Chỉ số giải quyết TTHC {rp.label_vi} ({rp.start:%d/%m/%Y} – {rp.last_day:%d/%m/%Y})"
        print_kpi_table(rows, by, as_of_ms=as_of, title=title)
    else:
        emit_rows(rows, fmt, bom=bom)
    say_closed(closed, live, rp, st, prov.code)
    if closed is not None:
        print_restatements(rs, Names.from_registry())


# The figures of the one-row-per-group table (json/csv carry every metric): (row key, header, percent).
KPI_TABLE_COLUMNS = (
    ("received", "Tiếp\nnhận", False),
    ("ended", "Đã giải\nquyết", False),
    ("on_time_rate", "Đúng\nhạn", True),
    ("online_filing_rate", "Trực\ntuyến", True),
    ("dossier_digitisation_rate", "Số hóa\nhồ sơ", True),
    ("result_digitisation_rate", "Kết quả\nđiện tử", True),
    ("online_payment_rate", "Thanh toán\ntrực tuyến", True),
    ("satisfaction_rate", "Hài\nlòng", True),
    ("in_progress", "Đang giải\nquyết", False),
    ("in_progress_overdue", "Quá\nhạn", False),
)


def print_kpi_table(
    rows: list[dict], by: str, title: str, targets: dict | None = None, as_of_ms: int | None = None
) -> None:
    """Rows as a Vietnamese table. With ``targets`` (by level, as ``demo`` shows them):
    metrics down, levels across, each beside its target. Otherwise one row per group
    (name and code), the main figures across, and a total row. ``as_of_ms``: the instant
    the backlog (in progress, overdue) is taken at, stated under the title."""
    from .labels import level_sort_key

    if by == "level":
        rows = sorted(rows, key=level_sort_key)
    elif by == "unit":
        rows = sorted(rows, key=lambda r: (level_sort_key(r), str(r.get("unit_code"))))
    if as_of_ms is not None:
        title = f"{title}\nTồn đọng tính tại {fmt_instant(as_of_ms)}"
    if targets is not None:
        _print_kpi_by_metric(rows, by, title, targets)
    else:
        _print_kpi_by_group(rows, by, title)


def kpi_total_row(rows: list[dict]) -> dict:
    """The sum of group rows (groups partition the dossiers): counts added, each ratio
    recomputed from the summed numerators and denominators."""
    from ..domain.metrics import METRICS, ratio

    total: dict = {}
    for r in rows:
        for key, value in r.items():
            if isinstance(value, int) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
    for m in METRICS:
        rate = ratio(total.get(f"{m.id}_num", 0), total.get(f"{m.id}_den", 0))
        total[m.id] = None if rate is None else round(rate, 6)
    return total


def _print_kpi_by_group(rows: list[dict], by: str, title: str) -> None:
    """One row per group: number, name, code, the figures of KPI_TABLE_COLUMNS; units
    under a heading row per level; a total row when there are several groups. Only the
    name wraps, so the table fits a 170-column terminal."""
    from ..domain.formatting import fmt_int, fmt_percent
    from ..domain.vocabulary import level_short_label
    from .labels import GROUP_CODE_KEYS, GROUP_HEADERS, group_code, group_label

    table = Table(
        title=title,
        caption="Tỷ lệ: tử số / mẫu số của cả kỳ; –: không có hồ sơ để tính. "
        "Tất cả chỉ số, kèm tử số và mẫu số: --format json hoặc csv.",
        show_lines=False,
    )
    table.add_column("STT", justify="right", no_wrap=True)
    table.add_column(GROUP_HEADERS.get(by, "Nhóm"), overflow="fold", min_width=20, max_width=60)
    with_code = by in GROUP_CODE_KEYS
    if with_code:
        table.add_column("Mã", no_wrap=True)
    for _key, header, _pct in KPI_TABLE_COLUMNS:
        table.add_column(header, justify="right", no_wrap=True)
    blank = [""] * (len(KPI_TABLE_COLUMNS) + with_code)

    def figures(r: dict) -> list[str]:
        return [
            fmt_percent(r.get(key)) if pct else fmt_int(r.get(key, 0)) for key, _h, pct in KPI_TABLE_COLUMNS
        ]

    level = object()
    for i, r in enumerate(rows, start=1):
        if by == "unit" and r.get("unit_level") != level:
            level = r.get("unit_level")
            table.add_row("", level_short_label(level), *blank, style="bold")
        cells = [str(i), group_label(by, r)] + ([group_code(by, r)] if with_code else [])
        table.add_row(*cells, *figures(r), end_section=i == len(rows))
    if len(rows) > 1:
        cells = ["", "Tổng cộng"] + ([""] if with_code else [])
        table.add_row(*cells, *figures(kpi_total_row(rows)), style="bold")
    out_console.print(table)


def _print_kpi_by_metric(rows: list[dict], by: str, title: str, targets: dict) -> None:
    """Metrics down, groups across, each group followed by its target column."""
    from ..domain.formatting import fmt_decimal, fmt_int, fmt_percent
    from ..domain.metrics import COUNT_LABELS, METRICS
    from .labels import group_label

    table = Table(title=title, show_lines=False)
    table.add_column("Chỉ số")
    for r in rows:
        table.add_column(group_label(by, r), justify="right")
        table.add_column("Chỉ tiêu", justify="right", style="dim")
    for m in METRICS:
        cells = []
        for r in rows:
            value = r[m.id]
            cells.append(fmt_percent(value) if m.percent else fmt_decimal(value))
            cells.append(targets.get((m.id, r.get("unit_level")), ""))
        table.add_row(m.label_vi, *cells)
    for key, label in COUNT_LABELS.items():
        table.add_row(label, *[c for r in rows for c in (fmt_int(r[key]), "")])
    table.add_row(
        "Số hồ sơ tiếp nhận", *[c for r in rows for c in (fmt_int(r["online_filing_rate_den"]), "")]
    )
    out_console.print(table)


@app.command()
def demo(
    province: str = typer.Option("75", help="Province GSO code (75 = Đồng Nai)."),
    month: str = typer.Option("2025-03", help="Month to simulate (YYYY-MM)."),
    scale: float = typer.Option(1.0, help="Volume factor (1.0 ≈ 50,000 dossiers a month)."),
    targets_file: Path | None = typer.Option(
        None,
        "--targets",
        help="Plan targets YAML (default: $MOTCUA_PLAN_TARGETS, else the plans shipped with the package).",
    ),
    store: str | None = StoreOption,
) -> None:
    """Simulate one month for one province into the embedded store, load the working-day
    calendar, the plan targets and the names of units, fields and procedures into it (so
    targets check, snapshot and the reports show targets and names), and print the KPI
    table per level beside the plan targets, in Vietnamese."""
    from .. import bootstrap
    from ..adapters.clickhouse_reports import province_scope
    from ..domain.calendar import local_midnight_ms
    from ..domain.periods import Period
    from ..domain.targets import TargetError, target_cells
    from ..reference import resolve_province
    from ..settings import get_settings
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
        all_targets = bootstrap.plan_targets(get_settings(), targets_file)
    except (OSError, TargetError) as err:
        raise typer.BadParameter(str(err), param_hint="--targets") from None
    end = date(year + (mon == 12), mon % 12 + 1, 1)
    cal = load_calendar()
    st = open_store(store)
    pipeline = bootstrap.replay_pipeline(st, cal)
    records = (
        (f"sim:{i}", e)
        for i, e in enumerate(run_sim(info.code, start, end - timedelta(days=1), seed=1, scale=scale))
    )
    with progress_bar() as bar:
        task = bar.add_task(f"Mô phỏng {month}", total=None, rate="")
        summary = pipeline.ingest(records, progress=lambda n: bar.advance(task, n))
        bar.update(task, rate=f"{summary.read / max(summary.seconds, 1e-9):,.0f} ev/s")
    _print_summary(summary)
    _demo_reference_data(st, cal, all_targets, info.code)
    # the KPI table of the simulated province only (the store may hold others)
    rows = province_scope(st, [info.code]).kpi(Period(start, end), local_midnight_ms(end), "level", cal)
    targets = target_cells(all_targets, info.code, year)
    print_kpi_table(
        rows,
        "level",
        title=f"Kết quả giải quyết TTHC tháng {mon:02d}/{year} so với chỉ tiêu kế hoạch CCHC",
        targets=targets,
    )
    console.print("Tiếp theo (README.md):", highlight=False)
    for cmd in (
        f"motcua targets check --from {start} --to {end}",
        f"motcua snapshot --from {start} --to {end} --out out/",
        f"motcua report ii06a --period {month} --format xlsx",
        f"motcua report monthly --month {month} --format docx",
    ):
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
    provinces = sorted(
        {t.province_code for t in targets if t.province_code} | set(repo.stored_provinces()) | {province_code}
    )
    names = repo.load_reference_names(provinces, repo.stored_unit_codes())
    console.print(
        f"Đã nạp lịch ngày làm việc, {fmt_int(n)} chỉ tiêu kế hoạch CCHC của "
        f"{len({t.province for t in targets})} tỉnh và {fmt_int(names)} tên đơn vị, lĩnh vực, "
        "thủ tục vào kho dữ liệu."
    )


def _register_extensions() -> None:
    """Command groups of other parts of the product register here when present."""
    import importlib

    for module in (
        "report",
        "index766",
        "targets",
        "run",
        "snapshot",
        "calendar",
        "registry",
        "recompute",
        "importing",
        "forecast",
        "period",
        "worklist",
    ):
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
