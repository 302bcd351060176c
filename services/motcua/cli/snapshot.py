"""``motcua snapshot --out DIR``: the control-room overview rendered without Grafana, from
the same panel SQL (motcua.dashboards.panels), to a PNG and a static HTML page (the
rendering is motcua.dashboards.snapshot's)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import typer

from .common import StoreOption, console, open_store, parse_date


def snapshot(
    out: Path = typer.Option(..., "--out", help="Output directory (overview.png, index.html)."),
    from_: str | None = typer.Option(
        None, "--from", help="First day (YYYY-MM-DD); default: first day of the month of --to."
    ),
    to: str | None = typer.Option(
        None, "--to", help="Day after the last day shown (half-open); default: tomorrow."
    ),
    province: str | None = typer.Option(
        None,
        help="Only this province (GSO code, H75 or name); default: the "
        "province with most dossiers in the store.",
    ),
    store: str | None = StoreOption,
) -> None:
    """Render the control-room overview (Phòng điều hành) to PNG and a static HTML page,
    from the same panel queries as the Grafana dashboard."""
    from ..dashboards.runner import collect_overview
    from ..dashboards.snapshot import render_html, render_png
    from .report import report_province

    end = parse_date(to, "--to") if to else date.today() + timedelta(days=1)
    last = end - timedelta(days=1)
    first = parse_date(from_, "--from") if from_ else last.replace(day=1)
    if first > last:
        raise typer.BadParameter("--from must be before --to", param_hint="--from")
    st = open_store(store, must_exist=True)
    prov, _scoped = report_province(st, province)
    _ensure_calendar(st)
    # the panels filter dossiers and targets by province code: the codes the events carry
    # and the GSO code the targets are stored under
    variables = {"province": sorted(set(prov.store_codes) | {prov.code})}
    data = collect_overview(st, first, last, variables)
    if not any(r["target"] is not None for r in data["rates_month"]):
        console.print(
            f"Lưu ý: chưa có chỉ tiêu nào của {prov.in_text} trong kho dữ liệu "
            "(nạp bằng: motcua targets load)."
        )
    out.mkdir(parents=True, exist_ok=True)
    render_png(data, first, last, out / "overview.png", place=prov.full_name)
    render_html(data, first, last, "overview.png", out / "index.html", place=prov.full_name)
    console.print(f"Đã tạo {out / 'overview.png'} và {out / 'index.html'}")


def _ensure_calendar(st) -> None:
    """The panels' "next working day" (due soon) reads the work_calendar table: fill it
    from the configured calendar when a store has none yet."""
    if st.client.query(f"SELECT count() FROM {st.db}.work_calendar").result_rows[0][0] == 0:
        from .common import load_calendar

        st.load_calendar(load_calendar())


def register(app: typer.Typer) -> None:
    app.command("snapshot")(snapshot)
