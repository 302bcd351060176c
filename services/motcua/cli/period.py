"""``motcua period``: close an official period (chốt số liệu), list and show closes."""

from __future__ import annotations

import sys

import typer

from .common import StoreOption, console, load_calendar, open_store
from .report import PROVINCE_HELP, Kind, now_ms, parse_period_option, report_province, steps

period_app = typer.Typer(
    help="Chốt số liệu kỳ báo cáo: lưu số liệu đã gửi (Biểu II.06a, chỉ số theo cấp và đơn vị, "
    "Chỉ số 766), có phiên bản, không bao giờ sửa; xem lại và so với số liệu hiện tại.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

PeriodArgument = typer.Argument(
    ..., help="Kỳ báo cáo (chốt 15 tháng trước → 14 tháng này): 2025-03, 2025-Q1, 2025-H1, 2025-9M, 2025."
)
KindOption = typer.Option(
    None, "--kind", help="month | quarter | 6months | 9months | year (mặc định: theo kỳ)."
)


@period_app.command("close")
def close(
    period: str = PeriodArgument,
    kind: Kind | None = KindOption,
    note: str | None = typer.Option(
        None,
        "--note",
        help="Ghi chú ngắn về lần chốt (ví dụ: gửi Bộ Nội vụ ngày 15/3); không ghi tên, số điện thoại, "
        "số giấy tờ.",
    ),
    province: str | None = typer.Option(None, "--province", help=PROVINCE_HELP),
    store: str | None = StoreOption,
) -> None:
    """Chốt số liệu một kỳ báo cáo đã kết thúc. Chốt lại một kỳ đã chốt tạo phiên bản mới;
    các phiên bản cũ được giữ nguyên."""
    from ..domain.closing import CloseError
    from ..reports.closing import close_period

    rp = parse_period_option(period, kind.value if kind else None, "PERIOD")
    st = open_store(store, must_exist=True)
    prov, st = report_province(st, province)
    cal = load_calendar()
    try:
        with steps(f"Chốt số liệu {rp.label_vi} — {prov.full_name}") as say:
            h = close_period(st, rp, cal, now_ms(), prov.code, note=note, progress=say)
    except CloseError as err:
        raise typer.BadParameter(str(err), param_hint="PERIOD") from None
    from ..domain.formatting import fmt_int

    console.print(
        f"Đã chốt số liệu {rp.label_vi} ({rp.start:%d/%m/%Y} – {rp.last_day:%d/%m/%Y}) của "
        f"{prov.full_name}: phiên bản {h.version}, {fmt_int(h.dossiers)} hồ sơ, {fmt_int(h.rows)} dòng số liệu, "
        f"mã kiểm tra {h.content_hash[:12]}."
    )


@period_app.command("list")
def list_closes(
    province: str | None = typer.Option(None, "--province", help=PROVINCE_HELP),
    json_out: bool = typer.Option(False, "--json", help="In dạng JSON."),
    store: str | None = StoreOption,
) -> None:
    """Các kỳ đã chốt và mọi phiên bản của chúng."""
    from rich.table import Table

    from ..adapters.clickhouse_closes import ClosesRepository
    from ..domain.formatting import fmt_int
    from .common import fmt_instant

    st = open_store(store, must_exist=True)
    prov, st = report_province(st, province)
    headers = ClosesRepository(st).headers(prov.code)
    if json_out:
        _print_json([_header_json(h) for h in headers])
        return
    if not headers:
        console.print(f"Chưa chốt kỳ nào cho {prov.full_name}.")
        return
    t = Table(title=f"Các kỳ đã chốt — {prov.full_name}", title_justify="left")
    for heading in ("Kỳ", "Từ ngày", "Đến ngày", "Phiên bản", "Chốt lúc", "Hồ sơ", "Mã kiểm tra", "Ghi chú"):
        t.add_column(heading)
    for h in headers:
        t.add_row(
            h.period_code,
            f"{h.start:%d/%m/%Y}",
            f"{_last_day(h):%d/%m/%Y}",
            str(h.version),
            fmt_instant(h.closed_at_ms),
            fmt_int(h.dossiers),
            h.content_hash[:12],
            h.note,
        )
    console.print(t)


@period_app.command("show")
def show(
    period: str = PeriodArgument,
    kind: Kind | None = KindOption,
    version: int | None = typer.Option(None, "--version", min=1, help="Phiên bản (mặc định: mới nhất)."),
    province: str | None = typer.Option(None, "--province", help=PROVINCE_HELP),
    json_out: bool = typer.Option(
        False, "--json", help="In dạng JSON: closed, rows (mọi dòng số liệu đã chốt), restatements."
    ),
    store: str | None = StoreOption,
) -> None:
    """Số liệu đã chốt của một kỳ (tổng toàn tỉnh và theo cấp) và các ô số liệu đã thay đổi
    so với hiện tại (điều chỉnh sau khi chốt)."""
    from ..reports.closing import find_close, restatements_for
    from ..reports.names import Names
    from .closed import closed_json, print_restatements, restatement_rows

    rp = parse_period_option(period, kind.value if kind else None, "PERIOD")
    st = open_store(store, must_exist=True)
    prov, st = report_province(st, province)
    closed = find_close(st, prov.code, rp, version)
    if closed is None:
        what = f"phiên bản {version} của " if version else ""
        raise typer.BadParameter(
            f"chưa có {what}số liệu chốt kỳ {rp.label_vi} của {prov.full_name}", param_hint="PERIOD"
        )
    cal = load_calendar()
    with steps(f"So sánh với số liệu hiện tại {rp.label_vi}") as say:
        say("đọc số liệu hiện tại")
        rs = restatements_for(st, closed, rp, cal, now_ms())
    if json_out:
        _print_json(
            {
                "period": {"code": rp.code, "from": rp.start.isoformat(), "to": rp.end.isoformat()},
                "closed": {**(closed_json(closed) or {}), "note": closed.header.note},
                "rows": closed.rows,
                "restatements": restatement_rows(rs),
            }
        )
        return
    console.print(
        f"{closed.banner} — {rp.label_vi} ({rp.start:%d/%m/%Y} – {rp.last_day:%d/%m/%Y}), {prov.full_name}."
    )
    if closed.header.note:
        console.print(f"Ghi chú: {closed.header.note}")
    _print_summary(closed)
    print_restatements(rs, Names.from_registry())


def _print_summary(closed) -> None:
    from rich.table import Table

    from ..domain.formatting import fmt_int, fmt_percent
    from ..domain.vocabulary import level_short_label
    from .labels import level_sort_key

    t = Table(title="Số liệu đã chốt", title_justify="left")
    for h in (
        "Cấp",
        "Tiếp nhận",
        "Từ kỳ trước",
        "Đã giải quyết",
        "Đúng hạn",
        "Trực tuyến",
        "Đang giải quyết",
    ):
        t.add_column(h, justify="left" if h == "Cấp" else "right")
    rows = sorted(closed.kpi("level"), key=level_sort_key) + [
        {**r, "unit_level": ""} for r in closed.kpi("all")
    ]
    for r in rows:
        t.add_row(
            level_short_label(r["unit_level"]) if r["unit_level"] else "Toàn tỉnh",
            fmt_int(r["received"]),
            fmt_int(r["carried_over"]),
            fmt_int(r["ended"]),
            fmt_percent(r["on_time_rate"]),
            fmt_percent(r["online_filing_rate"]),
            fmt_int(r["in_progress_within"] + r["in_progress_overdue_end"]),
        )
    console.print(t)


def _last_day(h):
    from datetime import timedelta

    return h.end - timedelta(days=1)


def _header_json(h) -> dict:
    from .common import iso_instant

    return {
        "period": h.period_code,
        "kind": h.kind,
        "from": h.start.isoformat(),
        "to": h.end.isoformat(),
        "version": h.version,
        "closed_at": iso_instant(h.closed_at_ms),
        "content_hash": h.content_hash,
        "note": h.note,
        "dossiers": h.dossiers,
        "rows": h.rows,
    }


def _print_json(doc) -> None:
    import orjson

    sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.add_typer(period_app, name="period")
