"""``motcua worklist``: the dossiers to act on now (docs/metrics.md#worklist).

motcua worklist [--unit U] [--level L] [--province P] [--as-of T] [--within N]
                [--format table|csv|xlsx|json] [--out F]
"""

from __future__ import annotations

import sys
from datetime import date
from enum import Enum
from pathlib import Path

import typer
from rich.table import Table

from .common import (
    BomOption,
    StoreOption,
    check_in_calendar,
    check_output_file,
    console,
    fmt_instant,
    iso_instant,
    load_calendar,
    open_store,
    out_console,
    parse_instant_option,
)
from .report import check_unit, parse_level, report_province, steps

# The terminal table shows the most urgent rows only (rich renders about 1 ms a row; the
# whole list is for xlsx / csv / json).
TABLE_MAX_ROWS = 500


class Fmt(str, Enum):
    table = "table"
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


def check_within(within: int, as_of_day: int, cal) -> None:
    """Refuse N < 0, and an N whose window runs past the working-day calendar."""
    if within < 0:
        raise typer.BadParameter(
            f"số ngày làm việc phải từ 0 trở lên, không phải {within} "
            "(0 = chỉ hồ sơ quá hạn và đến hạn hôm nay)",
            param_hint="--within",
        )
    try:
        cal.add_working_days(as_of_day, within + 1)
    except ValueError:
        last = date.fromordinal(cal.last)
        raise typer.BadParameter(
            f"{within} ngày làm việc kể từ ngày tính vượt quá lịch làm việc (đến {last:%d/%m/%Y})",
            param_hint="--within",
        ) from None


def worklist(
    unit: str | None = typer.Option(None, "--unit", help="Chỉ một đơn vị (mã đơn vị, ví dụ H75.SO.STP)."),
    level: str | None = typer.Option(
        None, "--level", help="Chỉ một cấp: PROVINCE, DISTRICT, COMMUNE, CENTRAL_BRANCH."
    ),
    province: str | None = typer.Option(
        None,
        "--province",
        help='Chỉ một tỉnh, thành phố: mã GSO (75, 01), H75 hoặc tên ("Đồng Nai"); mặc định: mọi hồ sơ '
        "trong kho dữ liệu.",
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Thời điểm tính (ngày hoặc ngày giờ ISO, giờ Việt Nam, ví dụ 2025-03-06 hoặc "
        "2025-03-06T10:00); mặc định: bây giờ.",
    ),
    within: int = typer.Option(
        2,
        "--within",
        help="Đến hạn trong N ngày làm việc tới (0 = hôm nay; mặc định 2); hồ sơ quá hạn luôn có trong danh sách.",
    ),
    fmt: Fmt = typer.Option(
        Fmt.table, "--format", help="table (bảng tiếng Việt) | csv | xlsx | json (khóa tiếng Anh cố định)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Tệp kết quả (xlsx: mặc định ho-so-can-xu-ly-NGÀY.xlsx; csv/json: stdout)."
    ),
    max_rows: int = typer.Option(
        TABLE_MAX_ROWS,
        "--max-rows",
        min=0,
        help="table: hiện tối đa N hồ sơ gấp nhất (0 = tất cả); csv, xlsx, json luôn có đủ danh sách.",
    ),
    store: str | None = StoreOption,
    bom: bool = BomOption,
) -> None:
    """Danh sách hồ sơ cần xử lý gấp: hồ sơ đang giải quyết đã quá hạn hoặc đến hạn trong N
    ngày làm việc tới, hồ sơ gấp nhất trước, kèm hạn xử lý, số ngày làm việc còn lại, tình
    trạng chờ bổ sung và số điểm tỷ lệ đúng hạn của đơn vị sẽ giảm nếu hồ sơ trễ hạn."""
    from ..adapters.clickhouse_worklist import read_worklist
    from ..domain.calendar import local_date, local_day_number
    from ..domain.worklist import official_month_of

    lv = parse_level(level)
    as_of_ms = parse_instant_option(as_of, "--as-of")
    cal = load_calendar()
    day = local_date(as_of_ms)
    check_in_calendar(cal, (day, "--as-of"))
    check_within(within, local_day_number(as_of_ms), cal)
    if out is not None:
        check_output_file(out)
    st = open_store(store, must_exist=True)
    if province is not None:
        _prov, st = report_province(st, province)
    check_unit(st, unit, lv)
    period = official_month_of(day)
    with steps("Danh sách hồ sơ cần xử lý gấp") as say:
        say("đọc hồ sơ đang giải quyết")
        rows = read_worklist(st, as_of_ms, within, cal, unit=unit, level=lv)
        say("ghi kết quả")
        _emit(rows, fmt, out, bom, as_of_ms, within, period, max_rows)


def _emit(
    rows, fmt: Fmt, out: Path | None, bom: bool, as_of_ms: int, within: int, period, max_rows: int
) -> None:
    from ..domain.calendar import local_date
    from ..domain.worklist import summary
    from ..reports.worklist import (
        WorklistNames,
        export_rows,
        impact_note,
        summary_sentence,
        write_worklist_xlsx,
    )

    records = export_rows(rows, WorklistNames.from_registry(), period)
    sentence = summary_sentence(rows, within, fmt_instant(as_of_ms))
    if fmt == Fmt.table:
        _print_table(records, sentence, impact_note(period), max_rows)
        return
    if fmt == Fmt.json:
        import orjson

        overdue, due = summary(rows)
        doc = {
            "as_of": iso_instant(as_of_ms),
            "within_working_days": within,
            "period": {"code": period.code, "from": period.start.isoformat(), "to": period.end.isoformat()},
            "overdue": overdue,
            "due_within": due,
            "rows": records,
        }
        _write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n", out)
    elif fmt == Fmt.csv:
        from ..reports.tables import UTF8_BOM
        from ..reports.worklist import csv_text_of

        text = csv_text_of(records)
        to_terminal = out is None and sys.stdout.isatty()
        _write(((UTF8_BOM if bom and not to_terminal else "") + text).encode("utf-8"), out)
    else:
        out = out or Path(f"ho-so-can-xu-ly-{local_date(as_of_ms).isoformat()}.xlsx")
        title = ["DANH SÁCH HỒ SƠ CẦN XỬ LÝ GẤP", sentence]
        write_worklist_xlsx(records, out, title, impact_note(period))
    if out is not None:
        console.print(f"Đã ghi {out} ({fmt.value}).")
    console.print(sentence)


def _write(data: bytes, out: Path | None) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out.write_bytes(data)


# The terminal table's headers: the HEADERS words over two lines, so the columns stay narrow.
TABLE_HEADERS = {
    "received_date": "Ngày tiếp\nnhận",
    "working_days_left": "Số ngày làm\nviệc còn lại",
    "waiting_for_supplement": "Chờ bổ\nsung",
    "rate_impact_points": "Ảnh hưởng tỷ\nlệ đúng hạn",
}
# (min, max) widths of the columns that wrap; the others keep one line.
TABLE_WIDTHS = {"unit_name": (16, 30), "procedure_name": (24, 48), "field_name": (12, 24)}


def _print_table(records: list[dict], sentence: str, note: str, max_rows: int) -> None:
    from ..domain.formatting import fmt_int
    from ..reports.worklist import HEADERS, table_cells

    if not records:
        out_console.print(sentence)
        return
    table = Table(title="Danh sách hồ sơ cần xử lý gấp", caption=note, show_lines=False)
    table.add_column("STT", justify="right", no_wrap=True)
    for key, header in HEADERS:
        width = TABLE_WIDTHS.get(key)
        table.add_column(
            TABLE_HEADERS.get(key, header),
            justify="right" if key in ("working_days_left", "rate_impact_points") else "left",
            no_wrap=width is None,
            overflow="fold",
            min_width=width[0] if width else None,
            max_width=width[1] if width else None,
        )
    shown = records[:max_rows] if max_rows else records
    for i, r in enumerate(shown, start=1):
        table.add_row(str(i), *table_cells(r), style="red" if r["overdue"] else None)
    out_console.print(table)
    out_console.print(sentence)
    if len(shown) < len(records):
        out_console.print(
            f"Bảng chỉ hiện {fmt_int(len(shown))} hồ sơ gấp nhất trên {fmt_int(len(records))}; đủ danh "
            "sách: --format xlsx, csv hoặc json (hoặc --max-rows 0)."
        )


def register(app: typer.Typer) -> None:
    app.command("worklist")(worklist)
