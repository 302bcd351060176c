"""``motcua registry load units FILE`` and ``motcua registry unknown``: a province's own
unit catalogue, and the codes in the store's dossiers that no registry knows
(docs/registries.md). ``registry load procedures`` comes from ``cli/registry_procedures.py``
when present."""

from __future__ import annotations

import importlib
from enum import Enum
from pathlib import Path

import typer
from rich.table import Table

from ..reports.tables import emit_rows
from .common import CliError, StoreOption, console, open_store, out_console

registry_app = typer.Typer(
    help="Registries (danh mục): load a province's own units and procedures; list the codes in the "
    "store that no registry knows.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
load_app = typer.Typer(
    help="Load a catalogue file into the store; the loaded names win over the shipped ones in "
    "reports, KPI tables and dashboards.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
registry_app.add_typer(load_app, name="load")

MAX_PROBLEMS_SHOWN = 50


class Fmt(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


@load_app.command("units")
def load_units(
    file: Path = typer.Argument(
        ...,
        help='Unit catalogue: DVCQG LayDanhMucCoQuan JSON ({"error_code":0,'
        '"result":[…]}, {"data":[…]}, an array or JSON Lines), CSV or XLSX with '
        "Vietnamese headings (Mã đơn vị, Tên đơn vị, Cấp, Đơn vị cha, Hiệu lực từ, "
        "Hiệu lực đến, Đơn vị kế thừa, Mã tỉnh); .gz accepted.",
        dir_okay=False,
    ),
    store: str | None = StoreOption,
    province: str | None = typer.Option(
        None,
        "--province",
        help="Province of the rows that do not say (GSO code, H75, codename or name). "
        "Needed for DVCQG codes like 000.00.12.H56, whose Hnn is not the GSO code.",
    ),
    names: bool = typer.Option(True, help="Also refresh the names dashboards show (reference_names)."),
) -> None:
    """Load a province's unit catalogue into the store, replacing units by code.

    Bad rows are listed by position and reason; the good rows are still loaded. Exit code
    0 when every row loaded, 1 when some rows were refused, 2 when the file cannot be read.
    Loading the same file twice changes nothing."""
    from ..adapters.clickhouse_targets import TargetsRepository
    from ..adapters.clickhouse_units import UnitsRepository, use_store_registry
    from ..domain.formatting import fmt_int
    from ..reference.units_loader import UnitsFileError, read_units

    if not file.is_file():
        raise CliError(f"không có tệp {file}" if not file.exists() else f"{file} không phải một tệp")
    try:
        parsed = read_units(file, province)
    except UnitsFileError as err:
        raise CliError(f"tệp danh mục đơn vị {file}: {err}") from None
    if parsed.rows == 0:
        raise CliError(f"tệp danh mục đơn vị {file} không có dòng đơn vị nào")
    for p in parsed.problems[:MAX_PROBLEMS_SHOWN]:
        console.print(f"  • {p}", markup=False, highlight=False)
    if len(parsed.problems) > MAX_PROBLEMS_SHOWN:
        console.print(f"  … và {fmt_int(len(parsed.problems) - MAX_PROBLEMS_SHOWN)} dòng lỗi khác.")
    st = open_store(store)
    result = UnitsRepository(st).upsert(parsed.units, source=file.name)
    use_store_registry(st)
    refused = len(parsed.problems)
    summary = (
        f"Đã nạp {fmt_int(len(parsed.units))} đơn vị từ {file.name}: {fmt_int(result.new)} mới, "
        f"{fmt_int(result.changed)} thay đổi, {fmt_int(result.unchanged)} không đổi"
    )
    summary += f"; {fmt_int(refused)} dòng bị từ chối." if refused else "."
    console.print(summary, markup=False, highlight=False)
    if parsed.without_province:
        console.print(
            f"Lưu ý: {fmt_int(len(parsed.without_province))} đơn vị chưa xác định được tỉnh "
            f"(ví dụ {parsed.without_province[0]}); thêm cột Mã tỉnh hoặc --province để bảng điều "
            "khiển lọc được theo tỉnh.",
            markup=False,
            highlight=False,
        )
    if names:
        repo = TargetsRepository(st)
        provinces = sorted(
            {t.province_code for t in repo.all() if t.province_code}
            | set(repo.stored_provinces())
            | {u.province_code for u in parsed.units if u.province_code}
        )
        count = repo.load_reference_names(provinces, repo.stored_unit_codes())
        console.print(f"Đã cập nhật {fmt_int(count)} tên đơn vị, lĩnh vực, thủ tục cho bảng điều khiển.")
    if refused:
        raise typer.Exit(code=1)


KIND_VI = {"unit": "Đơn vị", "procedure": "Thủ tục hành chính", "field": "Lĩnh vực", "province": "Tỉnh"}
_COLUMNS = {
    "unit": "unit_code",
    "procedure": "procedure_code",
    "field": "field_code",
    "province": "province_code",
}


def unknown_codes(store, registry=None) -> list[dict]:
    """Every unit, procedure, field and province code of the store's dossiers (latest
    state of each dossier) that no registry knows, with its dossier count, most dossiers
    first."""
    from ..adapters.clickhouse_units import registry_from_store
    from ..reference import resolve_province

    reg = registry or registry_from_store(store)
    rows = []
    for kind, column in _COLUMNS.items():
        result = store.client.query(
            f"SELECT {column}, count() FROM {store.db}.dossier_state FINAL GROUP BY {column}"
        )
        for code, n in result.result_rows:
            if kind == "unit":
                known = bool(code) and reg.unit(code) is not None
            elif kind == "procedure":
                known = bool(code) and not isinstance(reg.procedure(code), str)
            elif kind == "field":
                reg.field_name(code)
                known = bool(code) and code not in reg.unknown["field"]
            else:
                try:
                    resolve_province(code)
                    known = bool(code)
                except ValueError:
                    known = False
            if not known:
                rows.append({"kind": kind, "code": code, "dossiers": int(n)})
    rows.sort(key=lambda r: (-r["dossiers"], r["kind"], r["code"]))
    return rows


@registry_app.command("unknown")
def unknown(
    store: str | None = StoreOption,
    fmt: Fmt = typer.Option(Fmt.table, "--format", help="table (default), csv or json."),
) -> None:
    """Codes in the store's dossiers that no registry knows (shipped or loaded): units,
    procedures, fields and provinces, with their dossier counts, most dossiers first.
    Such dossiers are still counted everywhere and shown by their code."""
    from ..domain.formatting import fmt_int

    st = open_store(store, must_exist=True)
    rows = unknown_codes(st)
    if fmt == Fmt.json:
        emit_rows([{**r, "kind_vi": KIND_VI[r["kind"]]} for r in rows], "json")
        return
    if fmt == Fmt.csv:
        emit_rows(
            [{"Loại mã": KIND_VI[r["kind"]], "Mã": r["code"], "Số hồ sơ": r["dossiers"]} for r in rows], "csv"
        )
        return
    if not rows:
        console.print("Mọi mã đơn vị, thủ tục, lĩnh vực và tỉnh trong dữ liệu đều có trong danh mục.")
        return
    t = Table(title="Mã chưa có trong danh mục (hồ sơ vẫn được tính, hiển thị bằng mã)")
    t.add_column("Loại mã")
    t.add_column("Mã")
    t.add_column("Số hồ sơ", justify="right")
    for r in rows:
        t.add_row(KIND_VI[r["kind"]], r["code"] or "(trống)", fmt_int(r["dossiers"]))
    out_console.print(t)
    counts = {k: sum(1 for r in rows if r["kind"] == k) for k in KIND_VI}
    parts = [f"{fmt_int(n)} mã {KIND_VI[k].lower()}" for k, n in counts.items() if n]
    console.print(f"{', '.join(parts)} chưa có trong danh mục; nạp danh mục: motcua registry load units TỆP.")


def _register_procedures() -> None:
    """``registry load procedures`` lives in its own module (another part of the product)."""
    try:
        mod = importlib.import_module("motcua.cli.registry_procedures")
    except ModuleNotFoundError as err:
        if err.name == "motcua.cli.registry_procedures":
            return
        raise
    mod.register(load_app)
    if hasattr(mod, "register_registry"):  # registry disagreements
        mod.register_registry(registry_app)


_register_procedures()


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")
