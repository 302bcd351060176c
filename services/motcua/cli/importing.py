"""``motcua import dvcqg FILE...`` and ``motcua import sheet FILE``: feed the store from
what a province already has (docs/importing.md)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import orjson
import typer
from rich.table import Table

from ..domain.vocabulary import LEVEL_SHORT_LABELS, level_short_label
from .common import CliError, StoreOption, console, load_calendar, open_store, out_console, progress_bar
from .labels import DEAD_LETTER_CODE_LABELS

import_app = typer.Typer(
    help="Import what a province already has: the DVCQG sync payloads its one-stop system sends "
    "(DongBoHoSoMC snapshots, CapNhatTienDoHoSoMC progress rows) and the dossier lists it exports "
    "to Excel. Re-importing the same or a corrected file is safe: a re-sent snapshot or row is a "
    "duplicate, a corrected snapshot replaces the earlier one.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


class Fmt(str, Enum):
    table = "table"
    json = "json"


class Level(str, Enum):
    PROVINCE = "PROVINCE"
    COMMUNE = "COMMUNE"
    DISTRICT = "DISTRICT"
    CENTRAL_BRANCH = "CENTRAL_BRANCH"


SourceHelp = (
    "Source system name stamped on the events (part of their ids: import one feed under one "
    "name, the same as the drop-in endpoint's user)."
)
UnitOption = typer.Option(
    None,
    "--unit",
    help="Handling unit of dossiers whose input names none (no madonvi, "
    "no agency code before the first '-' of MaHoSo, no 'Mã đơn vị' column).",
)
LevelOption = typer.Option(
    None,
    "--default-level",
    help="Level of units that neither the unit registry nor "
    "the identifier's structure (QCVN 102:2016) place; default COMMUNE.",
)
ProvinceOption = typer.Option(
    None,
    "--province",
    help="Province code of units that neither the registry nor the identifier (its Hnn part) place.",
)
FormatOption = typer.Option(Fmt.table, "--format", help="table (Vietnamese summary) or json.")

# What the converter inferred, in words (imports.convert notes).
NOTE_LABELS = {
    "unit_from_dossier_code": "Đơn vị lấy từ mã định danh đầu mã hồ sơ",
    "unit_from_option": "Đơn vị theo tùy chọn --unit",
    "unit_unknown": "Không rõ đơn vị xử lý (ghi mã CHUA_RO)",
    "level_registry": "Cấp lấy từ danh mục đơn vị",
    "level_from_identifier": "Cấp suy ra từ cấu trúc mã định danh (QCVN 102:2016)",
    "level_from_option": "Cấp theo tùy chọn --default-level",
    "level_default": f"Cấp mặc định ({LEVEL_SHORT_LABELS['COMMUNE']}): đơn vị chưa có trong danh mục",
    "province_from_identifier": "Tỉnh suy ra từ mã định danh (phần Hnn)",
    "province_from_option": "Tỉnh theo tùy chọn --province",
    "province_unknown": "Không rõ tỉnh (ghi mã CHUA_RO)",
    "procedure_unknown": "Không có mã TTHC (ghi mã CHUA_RO)",
    "field_from_catalogue": "Lĩnh vực lấy từ danh mục TTHC đã nạp",
    "field_from_registry": "Lĩnh vực lấy từ danh mục TTHC có sẵn",
    "field_unknown": "Không rõ lĩnh vực (ghi mã CHUA_RO)",
    "channel_direct_by_default": "Không có kênh nộp (KenhThucHien): tính là trực tiếp như Chỉ số 766",
    "fee_from_catalogue": "Có thu phí hay không: lấy từ danh mục TTHC",
    "no_due_date": "Không có ngày hẹn trả: không tính trễ hạn",
    "not_received": "Chưa có ngày tiếp nhận: chưa tính là đã tiếp nhận",
    "snapshot_without_date": "Hồ sơ chưa có ngày nào (mới đăng ký): chỉ ghi nhận thủ tục, đơn vị",
}
MAX_CODES_SHOWN = 20


def _options(source: str, unit, level, province):
    from ..pipeline.importing import ImportOptions

    return ImportOptions(
        source_system=source, unit=unit, default_level=level.value if level else None, province=province
    )


def _check_files(files: list[Path]) -> None:
    for f in files:
        if not f.exists():
            raise CliError(f"không có tệp {f}")
        if not f.is_file():
            raise CliError(f"{f} không phải một tệp")


@import_app.command("dvcqg")
def import_dvcqg(
    files: list[Path] = typer.Argument(
        ...,
        help="Files of DVCQG sync requests: JSON documents (an envelope "
        "{session, madonvi, service, isUpdating, data}, a bare array of items, "
        "one item) or JSON Lines with one request per line; .gz accepted.",
        dir_okay=False,
    ),
    store: str | None = StoreOption,
    source: str = typer.Option("dvcqg", "--source", help=SourceHelp),
    unit: str | None = UnitOption,
    default_level: Level | None = LevelOption,
    province: str | None = ProvinceOption,
    fmt: Fmt = FormatOption,
) -> None:
    """Import DongBoHoSoMC snapshots and CapNhatTienDoHoSoMC progress rows.

    Files are read in the order given, each from top to bottom: that is the order in which
    a dossier's snapshots replace each other. Personal data (owner, ID numbers, phones,
    e-mails, staff names, free text, file names and links) is never read into the store.
    Exit code 0 when everything was read, 1 when some requests or items went to the
    dead letters, 2 when the files cannot be used."""
    from ..replay import importer as Importer

    _check_files(files)
    st = open_store(store)
    importer = Importer(st, load_calendar(), _options(source, unit, default_level, province))
    with progress_bar(transient=fmt is Fmt.json) as bar:
        task = bar.add_task(", ".join(p.name for p in files)[:40], total=None, rate="")
        summary = importer.import_dvcqg(files, progress=lambda n: bar.advance(task, n))
        bar.update(
            task,
            total=summary.events,
            completed=summary.events,
            rate=f"{summary.events / max(summary.seconds, 1e-9):,.0f} sự kiện/s".replace(",", "."),
        )
    st.load_calendar(importer.pipeline.cal)
    _report(summary, fmt)


@import_app.command("sheet")
def import_sheet(
    file: Path = typer.Argument(
        ...,
        help="A dossier list exported to Excel (.xlsx) or CSV, one row per dossier, "
        "with a heading row (titles above it are skipped).",
        dir_okay=False,
    ),
    mapping: Path | None = typer.Option(
        None,
        "--mapping",
        help="YAML file naming other headings and values (docs/importing.md).",
        dir_okay=False,
    ),
    store: str | None = StoreOption,
    source: str = typer.Option("sheet", "--source", help=SourceHelp),
    unit: str | None = UnitOption,
    default_level: Level | None = LevelOption,
    province: str | None = ProvinceOption,
    fmt: Fmt = FormatOption,
) -> None:
    """Import a dossier-list sheet: each row is the dossier as of the export (a snapshot).

    Default headings (any case, with or without diacritics): Mã hồ sơ, Mã đơn vị, Cấp,
    Mã TTHC, Mã lĩnh vực, Hình thức nộp, Ngày tiếp nhận, Ngày hẹn trả, Ngày có kết quả,
    Ngày trả kết quả, Trạng thái, Thanh toán trực tuyến, Kết quả điện tử, Số hóa. Other
    columns are never read, personal ones included. Re-importing an updated export
    replaces the earlier rows of the same dossiers."""
    from ..imports.sheet import SheetError, SheetMapping
    from ..replay import importer as Importer

    _check_files([file] + ([mapping] if mapping else []))
    try:
        rules = SheetMapping.load(mapping) if mapping else None
    except SheetError as err:
        raise CliError(f"tệp ánh xạ {mapping}: {err}") from None
    st = open_store(store)
    importer = Importer(st, load_calendar(), _options(source, unit, default_level, province))
    try:
        with progress_bar(transient=fmt is Fmt.json) as bar:
            task = bar.add_task(file.name[:40], total=None, rate="")
            summary = importer.import_sheet(file, rules, progress=lambda n: bar.advance(task, n))
            bar.update(task, total=summary.events, completed=summary.events, rate="")
    except SheetError as err:
        raise CliError(f"không đọc được {file.name}: {err}") from None
    st.load_calendar(importer.pipeline.cal)
    _report(summary, fmt)


def _report(summary, fmt: Fmt) -> None:
    if fmt is Fmt.json:
        out_console.print_json(orjson.dumps(summary.as_dict()).decode())
    else:
        _print_summary(summary)
    if summary.dead_letters:
        raise typer.Exit(code=1)


def _print_summary(s) -> None:
    from ..domain.formatting import fmt_int

    t = Table(
        title=("Kết quả nhập dữ liệu đồng bộ DVCQG" if s.kind == "dvcqg" else "Kết quả nhập danh sách hồ sơ")
        + f" ({', '.join(s.files)})"
    )
    t.add_column("")
    t.add_column("số lượng", justify="right")
    if s.kind == "dvcqg":
        t.add_row("Yêu cầu đồng bộ đã đọc", fmt_int(s.requests))
        t.add_row("  Hồ sơ (DongBoHoSoMC)", fmt_int(s.snapshots))
        t.add_row("  Dòng tiến độ (CapNhatTienDoHoSoMC)", fmt_int(s.rows))
        t.add_row("    trong đó dòng do hệ thống gửi tự sinh (bỏ qua)", fmt_int(s.synthetic_rows))
    else:
        for sheet in s.sheets:
            where = sheet["file"] + (f" [{sheet['sheet']}]" if sheet.get("sheet") else "")
            t.add_row(f"Bảng {where}: dòng tiêu đề số", fmt_int(sheet["heading_row"]))
        t.add_row("Dòng hồ sơ đã đọc", fmt_int(s.sheet_rows))
    t.add_row("Hồ sơ khác nhau", fmt_int(s.dossiers))
    t.add_row("Sự kiện tạo ra", fmt_int(s.events))
    t.add_row("  mới", fmt_int(s.new_events))
    t.add_row("  trùng lặp (đã có, không tính lại)", fmt_int(s.duplicates))
    t.add_row("Hồ sơ thay đổi số liệu", fmt_int(s.dossiers_changed))
    dead = sum(s.dead_letters.values())
    t.add_row("Không đọc được → dead letters", fmt_int(dead))
    for code, n in s.dead_letters.most_common():
        label = DEAD_LETTER_CODE_LABELS.get(code)
        t.add_row(f"  {code}" + (f": {label}" if label else ""), fmt_int(n))
    console.print(t)
    if s.kind == "sheet":
        for sheet in s.sheets:
            used = ", ".join(f"{v}" for v in sheet["columns"].values())
            console.print(f"Cột đã đọc: {used}.", markup=False, highlight=False)
            if sheet["ignored"]:
                console.print(
                    f"Cột bỏ qua (không đọc): {', '.join(sheet['ignored'])}.", markup=False, highlight=False
                )
    shown = {k: v for k, v in s.inferred.items() if k != "level_registry"}
    if shown:
        n = Table(title="Suy luận khi chuyển đổi (số bản ghi)")
        n.add_column("")
        n.add_column("số bản ghi", justify="right")
        for note, count in sorted(shown.items(), key=lambda kv: -kv[1]):
            label = NOTE_LABELS.get(note, note)
            if note == "level_default":
                label = label.replace(LEVEL_SHORT_LABELS["COMMUNE"], level_short_label(s_default_level()))
            n.add_row(label, fmt_int(count))
        console.print(n)
    for title, codes, kind in (
        ("Mã đơn vị chưa có trong danh mục", s.unknown_units, "units"),
        ("Mã TTHC chưa có trong danh mục", s.unknown_procedures, "procedures"),
    ):
        if not codes:
            continue
        listed = ", ".join(f"{code} ({fmt_int(k)})" for code, k in codes.most_common(MAX_CODES_SHOWN))
        more = len(codes) - MAX_CODES_SHOWN
        console.print(
            f"{title} ({fmt_int(len(codes))} mã): {listed}"
            + (f", … và {fmt_int(more)} mã khác" if more > 0 else "")
            + f". Nạp danh mục: motcua registry load {kind} TỆP.",
            markup=False,
            highlight=False,
        )


def s_default_level() -> str:
    from ..imports.convert import DEFAULT_LEVEL

    return DEFAULT_LEVEL


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
