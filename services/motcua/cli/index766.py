"""``motcua index766``: the dossier-based parts of the 766 index.

    motcua index766 --period 2025-Q1 [--by unit] --format json|xlsx [--out F]
    motcua index766 score FILE --format json

The group's callback computes from the store when no subcommand is given; ``score``
scores counts supplied from elsewhere (docs/metrics.md#index766 gives the input and output formats).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Any

import typer

from .closed import LiveOption
from .common import StoreOption, console, load_calendar, open_store

index_app = typer.Typer(
    help="Chỉ số 766 (phần dựa trên hồ sơ): tính từ kho dữ liệu, hoặc `score FILE` để chấm điểm "
    "từ số liệu có sẵn.",
    add_completion=False,
    rich_markup_mode=None,
)


class By(str, Enum):
    province = "province"
    unit = "unit"


class Fmt(str, Enum):
    json = "json"
    xlsx = "xlsx"


class ScoreFmt(str, Enum):
    json = "json"


def _config(online_split: str | None, bands: str | None):
    from ..domain.index766 import (
        DEFAULT_BANDS,
        Index766Error,
        ScoringConfig,
        parse_middle_bands,
        parse_split,
    )

    try:
        kwargs: dict[str, Any] = {}
        if online_split:
            kwargs["online_split"] = parse_split(online_split)
        kwargs["bands"] = parse_middle_bands(bands) if bands else DEFAULT_BANDS
        return ScoringConfig(**kwargs)
    except Index766Error as err:
        raise typer.BadParameter(str(err), param_hint="--online-split/--bands") from None


SplitOption = typer.Option(
    None, "--online-split", help="Điểm 3 thành phần Dịch vụ công trực tuyến (tổng 12), mặc định 2,4,6."
)
BandsOption = typer.Option(
    None, "--bands", help="Các mức xếp loại ở giữa, ví dụ '80:Tốt,65:Khá,50:Trung bình'."
)


@index_app.callback(invoke_without_command=True)
def index766(
    ctx: typer.Context,
    period: str | None = typer.Option(
        None, "--period", help="Kỳ theo lịch: 2025-03 (tháng), 2025-Q1 (quý), 2025 (năm)."
    ),
    official: bool = typer.Option(
        False,
        "--official",
        help="Kỳ chốt số liệu (15 tháng trước → 14 tháng này) thay vì kỳ theo lịch; kỳ đã chốt "
        "(motcua period close) in số liệu đã chốt.",
    ),
    live: bool = LiveOption,
    by: By = typer.Option(
        By.province, "--by", help="province (toàn tỉnh) | unit (từng đơn vị và toàn tỉnh)."
    ),
    fmt: Fmt = typer.Option(Fmt.json, "--format", help="json | xlsx."),
    out: Path | None = typer.Option(None, "--out", help="Tệp kết quả (json: mặc định stdout)."),
    online_split: str | None = SplitOption,
    bands: str | None = BandsOption,
    province: str | None = typer.Option(
        None,
        "--province",
        help="Tỉnh, thành phố: mã GSO (75, 01), H75 hoặc tên; "
        "mặc định: tỉnh có nhiều hồ sơ nhất trong kho dữ liệu.",
    ),
    store: str | None = StoreOption,
) -> None:
    """Tính các nhóm chỉ số 766 dựa trên hồ sơ (tiến độ, trực tuyến, thanh toán, số hóa,
    hài lòng) cho toàn tỉnh và từng đơn vị, kèm điểm và xếp loại."""
    if ctx.invoked_subcommand is not None:
        return
    if period is None:
        raise typer.BadParameter(
            "cần --period (ví dụ 2025-Q1), hoặc dùng `index766 score FILE`", param_hint="--period"
        )
    from ..reports.names import Names
    from .closed import closed_json, print_restatements, restatement_rows, say_closed
    from .report import parse_period_option, report_province

    rp = parse_period_option(period, None, "--period", official=official)
    if rp.kind not in ("month", "quarter", "year"):
        raise typer.BadParameter("chỉ số 766 tính theo tháng, quý hoặc năm", param_hint="--period")
    config = _config(online_split, bands)
    st = open_store(store, must_exist=True)
    prov, st = report_province(st, province)
    cal = load_calendar()
    custom = online_split is not None or bands is not None
    items, closed, rs = _figures(st, rp, cal, prov, by == By.unit, config, live, custom)
    period_text = f"Kỳ: {rp.label_vi} (từ ngày {rp.start:%d/%m/%Y} đến ngày {rp.last_day:%d/%m/%Y})"
    if fmt == Fmt.json:
        import orjson

        doc = {
            "period": {"from": rp.start.isoformat(), "to": rp.end.isoformat()},
            "province": {"code": prov.code, "name": prov.full_name, "notes": prov.notes_for(rp.start)},
            "units": items,
            "closed": closed_json(closed),
            "restatements": restatement_rows(rs),
        }
        data = orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
        if out is None:
            sys.stdout.buffer.write(data)
        else:
            out.write_bytes(data)
    else:
        from ..reports.xlsx import write_index766_xlsx

        out = out or Path(f"chi-so-766-{rp.code}.xlsx")
        write_index766_xlsx(
            items, out, Names.from_registry(), period_text, config, province=prov, period_start=rp.start
        )
        if closed is not None:
            from ..reports.restated import add_xlsx_sheet

            add_xlsx_sheet(out, rs, Names.from_registry(), closed.banner)
    if out is not None:
        console.print(f"Đã ghi {out}.")
    say_closed(closed, live, rp, st, prov.code)
    if closed is not None:
        print_restatements(rs, Names.from_registry())
    _say_total(items[0]["total"], prov)


def _say_total(tot: dict, prov) -> None:
    from ..domain.formatting import fmt_decimal

    console.print(
        f"{prov.whole.capitalize()} ({prov.full_name}): {fmt_decimal(tot['score'], 2)}/"
        f"{fmt_decimal(tot['max'], 0)} điểm phần dựa trên hồ sơ ({fmt_decimal(tot['percent'], 2)}%), "
        f"xếp loại {tot['grade']}."
    )


@index_app.command("score")
def score(
    file: Path = typer.Argument(
        ...,
        help='JSON: [{"unit_code": ..., "counts": {CODE: {"numerator": n, "denominator": d}}}]; \'-\' = stdin.',
        allow_dash=True,
    ),
    fmt: ScoreFmt = typer.Option(ScoreFmt.json, "--format", help="json."),
    online_split: str | None = SplitOption,
    bands: str | None = BandsOption,
) -> None:
    """Chấm điểm từ số liệu có sẵn (ví dụ xuất từ hệ thống khác), đúng công thức (docs/metrics.md)."""
    import orjson

    from ..domain.index766 import Index766Error, score_file

    config = _config(online_split, bands)
    try:
        raw = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    except OSError as err:
        raise typer.BadParameter(f"không đọc được {file}: {err.strerror}", param_hint="FILE") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise typer.BadParameter(f"{file} không phải JSON hợp lệ: {err}", param_hint="FILE") from None
    try:
        result = score_file(data, config)
    except Index766Error as err:
        raise typer.BadParameter(str(err), param_hint="FILE") from None
    sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")


def _figures(st, rp, cal, prov, by_unit: bool, config, live: bool, custom: bool):
    """(766 items, the close they come from or None, restatements)."""
    from ..reports.closing import restatements_for
    from ..reports.data import index766_from_store
    from .report import now_ms

    with console.status(f"Chỉ số 766 {rp.label_vi} — {prov.full_name}") as status:
        closed = _closed(st, prov.code, rp, live, custom)
        if closed is not None:
            rs = restatements_for(st, closed, rp, cal, now_ms(), tables=("index766",))
            return closed.index766(by_unit=by_unit), closed, rs
        items = index766_from_store(
            st,
            rp,
            cal,
            now_ms(),
            by_unit=by_unit,
            config=config,
            progress=lambda m: status.update(f"Chỉ số 766 {rp.label_vi}: {m}"),
        )
        return items, None, []


def _closed(st, province_code: str, rp, live: bool, custom: bool):
    """The close whose 766 items the command prints: None for live figures (asked for, a
    calendar period, or scoring options other than the default the close was made with:
    said on stderr)."""
    from ..reports.closing import find_close
    from .report import parse_period_option

    if not rp.official:
        try:
            official = parse_period_option(rp.code, rp.kind, "--period", official=True)
        except typer.BadParameter:
            return None
        if not live and find_close(st, province_code, official) is not None:
            console.print(
                f"Kỳ {official.label_vi} đã chốt số liệu (kỳ chốt 15 → 14); đây là số liệu theo lịch "
                "hiện tại. Dùng --official để xem số liệu đã chốt."
            )
        return None
    if live:
        return None
    closed = find_close(st, province_code, rp)
    if closed is not None and custom:
        console.print(
            "Số liệu đã chốt tính điểm theo cách mặc định; với --online-split/--bands in số liệu hiện tại."
        )
        return None
    return closed


def register(app: typer.Typer) -> None:
    app.add_typer(index_app, name="index766")
