"""``motcua registry load procedures FILE`` and ``motcua registry disagreements``: a
province's own procedure catalogue (danh mục TTHC), whose names win over the shipped
ones and whose flags fill what RECEIVED events leave out (docs/registries.md,
"Procedures")."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

import typer
from rich.console import JustifyMethod
from rich.table import Table

from ..reports.tables import emit_rows
from .common import CliError, StoreOption, console, open_store, out_console

MAX_PROBLEMS_SHOWN = 50
FLAG_LABELS = {
    "has_fee": "Có phí/lệ phí",
    "requires_paper_result": "Kết quả bản giấy",
    "time_limit": "Thời hạn giải quyết",
}
UNIT_WORDS = {"WORKING_DAYS": "ngày làm việc", "DAYS": "ngày", "HOURS": "giờ"}


class Fmt(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def flag_value_vi(value) -> str:
    """A flag value as officials read it: Có / Không, "15 ngày làm việc"."""
    from ..domain.formatting import fmt_int

    if isinstance(value, dict):
        return f"{fmt_int(value['value'])} {UNIT_WORDS.get(value['unit'], value['unit'])}"
    return "Có" if value else "Không"


def load_procedures(
    file: Path = typer.Argument(
        ...,
        dir_okay=False,
        help='Procedure catalogue: DVCQG LayThuTuc / LayDanhSachTTHC JSON ({"error_code":0,"result":[…]}, '
        '{"data":[…]}, an array, one item or JSON Lines: MATTHC, TENTTHC, LINHVUCTHUCHIEN, '
        "CACHTHUCTHUCHIEN/THOIGIAN/PHILEPHI, KETQUATHUCHIEN), or CSV / XLSX with Vietnamese headings "
        "(Mã thủ tục, Tên thủ tục, Mã lĩnh vực, Tên lĩnh vực, Có phí/lệ phí, Kết quả bản giấy, "
        "Thời hạn giải quyết, Đơn vị tính, Kênh thực hiện; with or without diacritics); .gz accepted.",
    ),
    store: str | None = StoreOption,
    names: bool = typer.Option(True, help="Also refresh the names dashboards show (reference_names)."),
) -> None:
    """Load a province's procedure catalogue into the store, replacing procedures by code.

    Loaded names (procedures and their fields) win over the shipped ones in KPI tables,
    reports and dashboards. Where a RECEIVED event leaves out has_fee,
    requires_paper_result or time_limit, the catalogue's value for its procedure is used
    by every later fold (replay, live processor, recompute); where the event states a
    value, the event wins and the disagreement is listed (motcua registry disagreements).

    Bad items are listed by position and reason; the good ones are still loaded. Exit
    code 0 when every item loaded, 1 when some were refused, 2 when the file cannot be
    read. Loading the same file twice changes nothing."""
    from ..adapters.clickhouse_procedures import ProceduresRepository, use_store_catalogue
    from ..adapters.clickhouse_targets import TargetsRepository
    from ..domain.formatting import fmt_int
    from ..reference.procedures_loader import CatalogueFileError, read_catalogue

    if not file.is_file():
        raise CliError(f"không có tệp {file}" if not file.exists() else f"{file} không phải một tệp")
    try:
        parsed = read_catalogue(file)
    except CatalogueFileError as err:
        raise CliError(f"tệp danh mục thủ tục {file}: {err}") from None
    total = len(parsed.entries) + len(parsed.refused) + parsed.repeated
    if total == 0:
        raise CliError(f"tệp danh mục thủ tục {file} không có thủ tục nào")
    st = open_store(store)
    problems = [f"{pos}: {reason}" for pos, reason in parsed.refused]
    for p in problems[:MAX_PROBLEMS_SHOWN]:
        console.print(f"  • {p}", markup=False, highlight=False)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        console.print(f"  … và {fmt_int(len(problems) - MAX_PROBLEMS_SHOWN)} mục lỗi khác.")
    for pos, text in parsed.warnings[:MAX_PROBLEMS_SHOWN]:
        console.print(f"  • Lưu ý, {pos}: {text}", markup=False, highlight=False)
    entries = [e for _pos, e in parsed.entries]
    repo = ProceduresRepository(st)
    result = repo.save(entries)
    use_store_catalogue(st)
    refused = len(parsed.refused)
    summary = (
        f"Đã nạp {fmt_int(len(entries))} thủ tục từ {file.name}: {fmt_int(result.new)} mới, "
        f"{fmt_int(result.changed)} thay đổi, {fmt_int(result.unchanged)} không đổi"
    )
    if parsed.repeated:
        summary += f", {fmt_int(parsed.repeated)} mục lặp lại"
    summary += f"; {fmt_int(refused)} mục bị từ chối." if refused else "."
    console.print(summary, markup=False, highlight=False)
    known = {flag: sum(1 for e in entries if flag in e.flags()) for flag in FLAG_LABELS}
    words = {
        "has_fee": "phí/lệ phí",
        "requires_paper_result": "kết quả bản giấy",
        "time_limit": "thời hạn giải quyết",
    }
    console.print(
        "Danh mục có thông tin "
        + ", ".join(f"{words[f]} của {fmt_int(n)} thủ tục" for f, n in known.items())
        + "; "
        "sự kiện tiếp nhận không ghi các thông tin này sẽ lấy theo danh mục.",
        markup=False,
        highlight=False,
    )
    if names:
        targets = TargetsRepository(st)
        provinces = sorted(
            {t.province_code for t in targets.all() if t.province_code} | set(targets.stored_provinces())
        )
        count = targets.load_reference_names(provinces, targets.stored_unit_codes())
        console.print(f"Đã cập nhật {fmt_int(count)} tên đơn vị, lĩnh vực, thủ tục cho bảng điều khiển.")
    if (result.new or result.changed) and st.holds_data():
        console.print(
            "Hồ sơ đã có trong kho được tính theo danh mục mới khi có sự kiện mới hoặc khi chạy "
            "motcua recompute.",
            markup=False,
            highlight=False,
        )
    n = repo.disagreeing_dossiers() if st.holds_data() else 0
    if n:
        console.print(
            f"{fmt_int(n)} hồ sơ có sự kiện tiếp nhận ghi khác danh mục (theo sự kiện); "
            "xem: motcua registry disagreements.",
            markup=False,
            highlight=False,
        )
    if refused:
        raise typer.Exit(code=1)


def disagreements(
    store: str | None = StoreOption,
    fmt: Fmt = typer.Option(Fmt.table, "--format", help="table (default), csv or json."),
) -> None:
    """Where a dossier's RECEIVED event and the loaded procedure catalogue both state
    has_fee, requires_paper_result or time_limit and differ: by procedure and flag, the
    event's value, the catalogue's value and the number of dossiers. The figures use the
    event's value (the catalogue only fills what events leave out)."""
    from ..adapters.clickhouse_procedures import ProceduresRepository
    from ..domain.formatting import fmt_int
    from ..reference.registry import default_registry

    st = open_store(store, must_exist=True, require_data=False)
    repo = ProceduresRepository(st)
    rows = repo.disagreements()
    reg = default_registry()
    out: list[dict[str, Any]] = [
        {
            "procedure_code": d.procedure_code,
            "procedure_name": reg.procedure_name(d.procedure_code),
            "flag": d.flag,
            "event_value": d.event_value,
            "catalogue_value": d.catalogue_value,
            "dossiers": d.dossiers,
        }
        for d in rows
    ]
    if fmt == Fmt.json:
        emit_rows(out, "json")
        return
    if fmt == Fmt.csv:
        emit_rows(
            [
                {
                    "Mã thủ tục": r["procedure_code"],
                    "Tên thủ tục": r["procedure_name"],
                    "Thông tin": FLAG_LABELS[r["flag"]],
                    "Theo sự kiện": flag_value_vi(r["event_value"]),
                    "Theo danh mục": flag_value_vi(r["catalogue_value"]),
                    "Số hồ sơ": r["dossiers"],
                }
                for r in out
            ],
            "csv",
        )
        return
    if not repo.count():
        console.print("Kho chưa có danh mục thủ tục; nạp: motcua registry load procedures TỆP.")
        return
    if not out:
        console.print("Không có hồ sơ nào có sự kiện tiếp nhận ghi khác danh mục thủ tục.")
        return
    t = Table(title="Sự kiện tiếp nhận ghi khác danh mục thủ tục (số liệu dùng giá trị của sự kiện)")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("Mã thủ tục", "left"),
        ("Tên thủ tục", "left"),
        ("Thông tin", "left"),
        ("Theo sự kiện", "left"),
        ("Theo danh mục", "left"),
        ("Số hồ sơ", "right"),
    )
    for col, justify in columns:
        t.add_column(col, justify=justify)
    for r in out:
        t.add_row(
            r["procedure_code"],
            r["procedure_name"],
            FLAG_LABELS[r["flag"]],
            flag_value_vi(r["event_value"]),
            flag_value_vi(r["catalogue_value"]),
            fmt_int(r["dossiers"]),
        )
    out_console.print(t)
    console.print(
        f"{fmt_int(repo.disagreeing_dossiers())} hồ sơ của {fmt_int(len({r['procedure_code'] for r in out}))} "
        "thủ tục có sự kiện tiếp nhận ghi khác danh mục.",
        markup=False,
        highlight=False,
    )


def register(load_app: typer.Typer) -> None:
    """``motcua registry load procedures``."""
    load_app.command("procedures")(load_procedures)


def register_registry(registry_app: typer.Typer) -> None:
    """``motcua registry disagreements``."""
    registry_app.command("disagreements")(disagreements)
