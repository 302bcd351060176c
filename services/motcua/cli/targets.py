"""``motcua targets load|list|check`` and ``motcua dashboards`` (``motcua exporter``, an
alias kept for old deployments, is ``motcua run exporter``)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import JustifyMethod
from rich.table import Table

from ..domain.vocabulary import ALL_LEVELS_LABEL, LEVEL_SHORT_LABELS
from .common import (
    StoreOption,
    console,
    load_calendar,
    open_store,
    out_console,
    parse_date,
    parse_instant_option,
)

if TYPE_CHECKING:
    from ..domain.targets import CheckRow

targets_app = typer.Typer(
    help="Plan targets (chỉ tiêu kế hoạch CCHC): load, list, check against KPIs.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

LEVEL_VI: dict[str | None, str] = {None: ALL_LEVELS_LABEL}
LEVEL_VI.update(LEVEL_SHORT_LABELS.items())


def load_targets_file(path: Path | None):
    """The targets of ``path`` (default: the setting ``plan_targets``); an invalid file
    lists its problems and exits with code 2."""
    from .. import bootstrap
    from ..domain.targets import TargetError
    from ..settings import get_settings

    try:
        return bootstrap.plan_targets(get_settings(), path)
    except TargetError as err:
        console.print(f"[red]Tệp chỉ tiêu không hợp lệ ({len(err.problems)} lỗi):[/red]")
        for p in err.problems:
            console.print(f"  • {p}", markup=False)
        raise typer.Exit(code=2) from None
    except FileNotFoundError as err:
        raise typer.BadParameter(str(err), param_hint="FILE") from None


@targets_app.command("load")
def load(
    file: Path | None = typer.Argument(
        None, help="Targets YAML (default: $MOTCUA_PLAN_TARGETS, else the plans shipped with the package)."
    ),
    store: str | None = StoreOption,
    names: bool = typer.Option(
        True, help="Also (re)load the Vietnamese names of units, fields and procedures for dashboards."
    ),
) -> None:
    """Validate a targets file and load it into ClickHouse, replacing the stored targets
    of the provinces it names. Exit code 2 when the file is invalid."""
    from ..adapters.clickhouse_targets import TargetsRepository

    targets = load_targets_file(file)
    st = open_store(store)
    repo = TargetsRepository(st)
    n = repo.replace(targets)
    console.print(f"Đã nạp {n} chỉ tiêu của {len({t.province for t in targets})} tỉnh.")
    missing = sorted({t.province for t in targets if not t.province_code})
    if missing:
        console.print(
            f"Lưu ý: không xác định được mã tỉnh hiện hành của: {', '.join(missing)} "
            "(tỉnh đã sáp nhập?) — chỉ tiêu vẫn được lưu theo tên; thêm province_code để dùng trên bảng điều khiển."
        )
    if names:
        provinces = sorted(
            {t.province_code for t in targets if t.province_code} | set(repo.stored_provinces())
        )
        count = repo.load_reference_names(provinces, repo.stored_unit_codes())
        console.print(f"Đã nạp {count} tên đơn vị, lĩnh vực, thủ tục.")


@targets_app.command("list")
def list_(
    file: Path | None = typer.Option(None, "--file", help="Read a YAML file instead of the store."),
    province: str | None = typer.Option(None, help="Only this province (code or name)."),
    store: str | None = StoreOption,
) -> None:
    """The targets (from the store, or a file), in Vietnamese."""
    from ..adapters.clickhouse_targets import TargetsRepository
    from ..domain.metrics import METRICS_BY_ID
    from ..domain.targets import targets_for

    targets = (
        load_targets_file(file)
        if file
        else TargetsRepository(open_store(store, must_exist=True, require_data=False)).all()
    )
    if province:
        targets = targets_for(targets, province)
    t = Table(title="Chỉ tiêu kế hoạch cải cách hành chính")
    for col in ("Tỉnh", "Hiệu lực", "Chỉ số", "Cấp / đơn vị", "Chỉ tiêu", "Nguồn"):
        t.add_column(col)
    for x in targets:
        last = x.valid_to - timedelta(days=1)
        period = (
            str(x.valid_from.year)
            if (x.valid_from.month, x.valid_from.day, last.year) == (1, 1, x.valid_from.year)
            and (last.month, last.day) == (12, 31)
            else f"{x.valid_from:%d/%m/%Y} – {last:%d/%m/%Y}"
        )
        scope = x.unit_code or LEVEL_VI.get(x.level, x.level)
        t.add_row(
            x.province,
            period,
            METRICS_BY_ID[x.metric].label_vi,
            scope,
            x.text_vi() + (" (suy luận)" if x.inferred else ""),
            x.quote[:60],
        )
    out_console.print(t)
    if not targets:
        console.print("Chưa có chỉ tiêu nào (dùng: motcua targets load).")


@targets_app.command("check")
def check(
    from_: str = typer.Option(..., "--from", help="First day of the period (YYYY-MM-DD)."),
    to: str = typer.Option(..., "--to", help="Day after the period: [from, to)."),
    province: str | None = typer.Option(
        None,
        help="Province (GSO code, H75 or name): its dossiers and its targets. "
        "Default: the province with most dossiers in the store.",
    ),
    by: str = typer.Option("level", help="level or unit."),
    as_of: str | None = typer.Option(None, "--as-of", help="Instant for the live counts (default now)."),
    file: Path | None = typer.Option(None, "--file", help="Targets YAML instead of the stored targets."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
    store: str | None = StoreOption,
) -> None:
    """Compare the KPIs of a period with the targets in force at its last day.
    Exit code 1 when a target is missed, 0 when all are met (or have no data)."""
    from ..adapters.clickhouse_targets import TargetsRepository
    from ..domain.periods import Period
    from ..domain.targets import check_rows

    start, end = _check_period(from_, to, by)
    from .report import report_province

    st = open_store(store, must_exist=True)
    targets = load_targets_file(file) if file else TargetsRepository(st).all()
    if not targets:
        console.print("Chưa có chỉ tiêu nào (dùng: motcua targets load).")
        raise typer.Exit(code=2)
    prov, scoped = report_province(st, province)
    as_of_ms = parse_instant_option(as_of, "--as-of")
    rows = scoped.kpi(Period(start, end), as_of_ms, by, load_calendar())
    last = end - timedelta(days=1)
    results = check_rows(rows, targets, prov.code, last, by=by)
    if not results and fmt != "json":
        console.print(
            f"Không có chỉ tiêu nào của {prov.in_text} áp dụng cho kỳ này (xem: motcua targets list)."
        )
    if fmt == "json":
        _print_check_json(results)
    else:
        _print_check_table(
            results,
            f"Kết quả so với chỉ tiêu kế hoạch CCHC, {prov.full_name}, {start:%d/%m/%Y} – {last:%d/%m/%Y}",
        )
    if any(r.met is False for r in results):
        raise typer.Exit(code=1)


def _check_period(from_: str, to: str, by: str) -> tuple[date, date]:
    """The options of ``targets check`` refused before the store is opened: ``--by`` and
    the period [from, to)."""
    if by not in ("level", "unit"):
        raise typer.BadParameter("use level or unit", param_hint="--by")
    start, end = parse_date(from_, "--from"), parse_date(to, "--to")
    if end <= start:
        raise typer.BadParameter("--to must be after --from", param_hint="--to")
    return start, end


def _print_check_json(results: list[CheckRow]) -> None:
    """The results as JSON on stdout, for scripts (no Vietnamese text)."""
    import orjson

    out_console.print_json(
        orjson.dumps(
            [
                {
                    "metric": r.metric,
                    "unit_level": r.level,
                    "unit_code": r.unit_code,
                    "numerator": r.numerator,
                    "denominator": r.denominator,
                    "ratio": r.ratio,
                    "comparator": r.target.comparator,
                    "target": r.target.value,
                    "met": r.met,
                    "gap": r.gap,
                }
                for r in results
            ]
        ).decode()
    )


_CHECK_COLUMNS: tuple[tuple[str, JustifyMethod], ...] = (
    ("Chỉ số", "left"),
    ("Cấp / đơn vị", "left"),
    ("Kết quả", "right"),
    ("Chỉ tiêu", "right"),
    ("Chênh lệch", "right"),
    ("Số hồ sơ (tử số/mẫu số)", "right"),
    ("Đánh giá", "left"),
)

_VERDICT_VI = {True: "[green]Đạt[/green]", False: "[red]Chưa đạt[/red]", None: "Chưa có số liệu"}


def _print_check_table(results: list[CheckRow], title: str) -> None:
    """The results as a Vietnamese table on stdout, then how many targets are missed."""
    from ..domain.formatting import fmt_int
    from ..domain.metrics import METRICS_BY_ID
    from ..reference.registry import default_registry

    reg = default_registry()
    t = Table(title=title)
    for col, j in _CHECK_COLUMNS:
        t.add_column(col, justify=j)
    for r in results:
        scope = (
            f"{reg.unit_name(r.unit_code) or r.unit_code} ({LEVEL_VI.get(r.level, r.level)})"
            if r.unit_code
            else LEVEL_VI.get(r.level, r.level)
        )
        value, gap = _result_texts(r, METRICS_BY_ID[r.metric].percent)
        t.add_row(
            METRICS_BY_ID[r.metric].label_vi,
            scope,
            value,
            r.target.text_vi(),
            gap,
            f"{fmt_int(r.numerator)}/{fmt_int(r.denominator)}",
            _VERDICT_VI[r.met],
        )
    out_console.print(t)
    missed = [r for r in results if r.met is False]
    if missed:
        console.print(
            f"[red]{len(missed)} chỉ tiêu chưa đạt[/red] trên {len(results)} chỉ tiêu được đánh giá."
        )
    else:
        console.print(f"[green]Đạt tất cả {len(results)} chỉ tiêu được đánh giá.[/green]")


def _result_texts(r: CheckRow, pct: bool) -> tuple[str, str]:
    """The result and its gap to the target as an official reads them: a rate in percent
    and its gap in percentage points ("điểm %"), any other metric with one decimal."""
    from ..domain.formatting import fmt_percent

    value = fmt_percent(r.ratio) if pct else ("–" if r.ratio is None else f"{r.ratio:.1f}".replace(".", ","))
    gap = (
        "–"
        if r.gap is None
        else (
            (("+" if r.gap >= 0 else "−") + fmt_percent(abs(r.gap)).replace("%", " điểm %"))
            if pct
            else f"{r.gap:+.1f}".replace(".", ",")
        )
    )
    return value, gap


def dashboards(
    out: Path = typer.Option(
        None,
        "--out",
        help="Directory for the provisioning JSON (default: $MOTCUA_DASHBOARDS_DIR, else dashboards/).",
    ),
) -> None:
    """Regenerate the Grafana dashboards (provisioning JSON) from code."""
    from ..dashboards.build import generate
    from ..settings import get_settings

    for p in generate(out or get_settings().dashboards_dir):
        console.print(str(p))


def register(app: typer.Typer) -> None:
    app.add_typer(targets_app, name="targets")
    from .run import exporter

    app.command("exporter", hidden=True)(exporter)  # the old name of `motcua run exporter`
    app.command("dashboards")(dashboards)
