"""``motcua forecast``: the month-end forecast of the on-time rate and the 766 progress
score (docs/forecast.md).

    motcua forecast --period 2025-03 [--calendar-month] [--as-of T] [--by level|unit|province]
                    [--level L] [--unit U] --format table|json
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from .common import (
    StoreOption,
    check_in_calendar,
    console,
    fmt_instant,
    iso_instant,
    load_calendar,
    open_store,
    out_console,
)


class By(str, Enum):
    province = "province"
    level = "level"
    unit = "unit"


class Fmt(str, Enum):
    table = "table"
    json = "json"


METRIC_LABELS = {"on_time_rate": "Tỷ lệ đúng hạn", "progress_766": "Tiến độ (766)"}


def _period(text: str, calendar_month: bool):
    """The running month: official (15th → 14th) unless ``--calendar-month``."""
    from ..domain.periods import _MONTH
    from .report import parse_period_option

    if not _MONTH.match(text.strip()):
        raise typer.BadParameter(
            f"kỳ không hợp lệ {text!r}: dự báo theo tháng, dùng dạng 2025-03 (a month only)",
            param_hint="--period",
        )
    return parse_period_option(text, "month", "--period", official=not calendar_month)


def _as_of(rp, value: str | None) -> int:
    """The as-of instant, inside the period: a period already ended has final figures
    (``motcua kpi`` / ``report``), not a forecast."""
    from .common import parse_instant_option

    t = parse_instant_option(value, "--as-of")
    if t < rp.period.start_ms:
        raise typer.BadParameter(
            f"thời điểm {fmt_instant(t)} trước khi kỳ {rp.label_vi} ({rp.range_vi}) bắt đầu "
            "(the as-of instant is before the period)",
            param_hint="--as-of",
        )
    if t >= rp.period.end_ms:
        raise typer.BadParameter(
            f"kỳ {rp.label_vi} ({rp.range_vi}) đã kết thúc lúc {fmt_instant(t)}: số liệu cuối kỳ "
            "xem bằng `motcua kpi` hoặc `motcua report`; muốn xem dự báo tại một thời điểm trong kỳ, "
            "dùng --as-of (the period has ended: no forecast)",
            param_hint="--as-of" if value else "--period",
        )
    return t


def forecast(
    period: str = typer.Option(
        ..., "--period", help="Tháng dự báo, dạng 2025-03: kỳ chốt số liệu 15/02 → 14/03 (mặc định)."
    ),
    calendar_month: bool = typer.Option(
        False, "--calendar-month", help="Dự báo cho tháng theo lịch (01/03 → 31/03) thay cho kỳ chốt số liệu."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Thời điểm dự báo (ngày YYYY-MM-DD: đầu ngày, hoặc ngày giờ ISO), trong kỳ; mặc định: bây giờ.",
    ),
    by: By = typer.Option(
        By.level, "--by", help="province (toàn tỉnh) | level (theo cấp) | unit (từng đơn vị)."
    ),
    level: str | None = typer.Option(
        None, "--level", help="Chỉ một cấp: PROVINCE, DISTRICT, COMMUNE, CENTRAL_BRANCH."
    ),
    unit: str | None = typer.Option(None, "--unit", help="Chỉ một đơn vị (mã đơn vị, ví dụ H75.SO.STP)."),
    history: int = typer.Option(
        6, "--history", min=1, max=24, help="Số kỳ trước dùng để học tỷ lệ (mô hình dự báo)."
    ),
    fmt: Fmt = typer.Option(Fmt.table, "--format", help="table (bảng tiếng Việt) | json."),
    province: str | None = typer.Option(
        None,
        "--province",
        help="Tỉnh, thành phố: mã GSO (75, 01), H75 hoặc tên; mặc định: tỉnh có nhiều hồ sơ nhất.",
    ),
    targets_file: Path | None = typer.Option(
        None, "--targets", help="Tệp chỉ tiêu (YAML); mặc định $MOTCUA_PLAN_TARGETS hoặc tệp kèm theo gói."
    ),
    store: str | None = StoreOption,
) -> None:
    """Dự báo cuối kỳ tỷ lệ giải quyết đúng hạn và tiến độ giải quyết (Chỉ số 766) theo cấp,
    đơn vị: giá trị dự kiến, tốt nhất, xấu nhất còn có thể đạt, so với chỉ tiêu ("không thể
    đạt chỉ tiêu" khi cả trường hợp tốt nhất vẫn thấp hơn chỉ tiêu)."""
    from datetime import date

    from ..domain.calendar import local_day_number
    from ..domain.targets import targets_for
    from ..reports.forecast import forecast_from_store
    from .report import _plan_targets, check_unit, parse_level, report_province, steps

    if level is not None and by == By.province:
        raise typer.BadParameter("--level cần --by level hoặc --by unit", param_hint="--level")
    rp = _period(period, calendar_month)
    as_of_ms = _as_of(rp, as_of)
    lv = parse_level(level)
    all_targets = _plan_targets(targets_file)
    cal = load_calendar()
    check_in_calendar(cal, (date.fromordinal(local_day_number(as_of_ms)), "--as-of"), (rp.start, "--period"))
    st = open_store(store, must_exist=True)
    prov, st = report_province(st, province)
    check_unit(st, unit, lv)
    targets = targets_for(all_targets, prov.code, rp.year) if prov.known else []
    grouping = "unit" if unit is not None else by.value
    with steps(f"Dự báo {rp.label_vi} — {prov.full_name}") as say:
        say("đọc số liệu và học từ các kỳ trước")
        result = forecast_from_store(st, rp, as_of_ms, cal, grouping, targets, prov.code, history)
    rows = [
        r
        for r in result.rows
        if (lv is None or r.get("unit_level") in (None, lv)) and (unit is None or r.get("unit_code") == unit)
    ]
    if fmt == Fmt.json:
        _print_json(result, rows, prov)
    else:
        _print_table(result, rows, grouping)


def _period_json(rp) -> dict:
    return {
        "code": rp.code,
        "kind": "official" if rp.official else "calendar",
        "start": rp.start.isoformat(),
        "end": rp.end.isoformat(),
        "label_vi": rp.label_vi,
    }


def _print_json(result, rows: list[dict], prov) -> None:
    import sys

    import orjson

    doc = {
        "period": _period_json(result.period),
        "as_of": iso_instant(result.as_of_ms),
        "province": prov.code,
        "by": result.by,
        "history_periods": result.history,
        "history_periods_with_data": result.history_used,
        "population": "dossiers received by as_of (best/worst); expected adds those still to come",
        "rows": rows,
    }
    sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")


def _print_table(result, rows: list[dict], by: str) -> None:
    from rich.table import Table

    from ..domain.forecast import METRICS, VERDICT_LABELS
    from ..domain.formatting import fmt_percent
    from .labels import group_label, level_sort_key

    rp = result.period
    kind = "kỳ chốt số liệu" if rp.official else "tháng theo lịch"
    table = Table(
        title=f"Dự báo cuối kỳ — {kind} {rp.label_vi} ({rp.range_vi})\nTính tại {fmt_instant(result.as_of_ms)}",
        caption="Tốt nhất / xấu nhất: hồ sơ đã tiếp nhận đến thời điểm tính (đã giải quyết; đang giải "
        "quyết quá hạn: sẽ trễ hạn; còn lại: có thể đúng hạn) và số hồ sơ dự kiến tiếp nhận thêm, tất cả "
        f"đúng hạn / tất cả trễ hạn. Dự báo: học từ {result.history_used} kỳ trước. –: không đủ số liệu.",
    )
    header = {"province": "Phạm vi", "level": "Cấp", "unit": "Đơn vị"}[by]
    table.add_column(header, overflow="fold", min_width=16, max_width=50)
    if by == "unit":
        table.add_column("Mã", no_wrap=True)
    for name in ("Chỉ số", "Dự báo", "Tốt nhất", "Xấu nhất", "Chỉ tiêu", "Đánh giá"):
        table.add_column(name, justify="left" if name in ("Chỉ số", "Đánh giá") else "right")
    label_by = {"province": "all"}.get(by, by)
    for r in sorted(rows, key=lambda r: (level_sort_key(r), str(r.get("unit_code", "")))):
        for i, metric in enumerate(METRICS):
            f = r[metric]
            cells = [group_label(label_by, r) if i == 0 else ""]
            if by == "unit":
                cells.append(r["unit_code"] if i == 0 else "")
            cells += [
                METRIC_LABELS[metric],
                fmt_percent(f["expected"]),
                fmt_percent(f["best"]),
                fmt_percent(f["worst"]),
                f["target_vi"] or "–",
                VERDICT_LABELS.get(f["verdict"], "") if f["verdict"] else "",
            ]
            table.add_row(*cells)
    out_console.print(table)
    if not rows:
        console.print("Không có hồ sơ nào trong kỳ này.")


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast)
