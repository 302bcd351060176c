"""``motcua snapshot --out DIR``: the control-room overview rendered without Grafana, from
the same panel SQL (motcua.dashboards.panels), to a PNG and a static HTML page."""

from __future__ import annotations

import html
from datetime import date, timedelta
from pathlib import Path
from typing import Optional

import typer

from .common import StoreOption, console, open_store, parse_date


def _pct(x) -> str:
    from ..domain.formatting import fmt_percent

    return fmt_percent(x)


def _text(value, fallback="") -> str:
    """A label from a panel row: NULL (an unnamed unit, an unknown level) shows the fallback."""
    if value is None or value == "":
        return "" if fallback is None else str(fallback)
    return str(value)


def _cmp(comparator) -> str:
    return _text(comparator, ">=").replace(">=", "≥").replace("<=", "≤")


def on_time_target(data: dict) -> tuple[float, str] | None:
    """(value, comparator) of the on-time target when every level has the same one (the
    plan's all-levels target), for the colour of the headline tiles."""
    seen = {(r["target"], r["comparator"]) for r in data.get("rates_month", [])
            if r["metric_id"] == "on_time_rate" and r["target"] is not None}
    return next(iter(seen)) if len(seen) == 1 else None


def collect(store, first: date, last: date, variables: dict | None = None) -> dict:
    """Run the overview's panel queries for local days [first, last]."""
    from ..adapters.clickhouse_panels import PanelRunner
    from ..dashboards import panels as P
    from ..dashboards.macros import PanelContext

    ctx = PanelContext.for_days(first, last, **(variables or {}))
    run = PanelRunner(store)
    data = {q.key: run.dicts(q.sql, ctx) for q in P.overview_queries()}
    data["ranking_rate"] = run.dicts(P.ranking("rate"), PanelContext(ctx.from_ms, ctx.to_ms, {**ctx.variables, "bottom_n": "10", "min_volume": "10"}))
    return data


def render_png(data: dict, first: date, last: date, path: Path, place: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from ..dashboards import panels as P
    from ..domain.formatting import fmt_int

    plt.rcParams["font.family"] = "DejaVu Sans"
    fig = plt.figure(figsize=(16, 17), dpi=100)
    gs = fig.add_gridspec(4, 5, height_ratios=[0.9, 2.2, 2.4, 2.4], hspace=0.55, wspace=0.35,
                          left=0.04, right=0.98, top=0.93, bottom=0.06)
    fig.suptitle("Phòng điều hành — Kết quả giải quyết thủ tục hành chính", fontsize=20, fontweight="bold")
    where = f"{place} · " if place else ""
    fig.text(0.5, 0.952, f"{where}Từ {first:%d/%m/%Y} đến {last:%d/%m/%Y} · hồ sơ tồn tính đến cuối ngày {last:%d/%m/%Y}",
             ha="center", fontsize=12, color="#444")

    # tiles
    month = data["headline_on_time_month"][0] if data["headline_on_time_month"] else {}
    year = data["headline_on_time_year"][0] if data["headline_on_time_year"] else {}
    backlog = data["backlog_total"][0] if data["backlog_total"] else {}
    target = on_time_target(data)

    def on_time_tile(label: str, row: dict):
        ratio = row.get("ratio")
        if target is None:
            return (label, _pct(ratio), "#455a64")
        value, comparator = target
        from ..domain.targets import Target

        met = Target(province="", province_code="", metric="on_time_rate", level=None, unit_code=None,
                     valid_from=first, valid_to=last, comparator=comparator, value=value).met(ratio)
        color = "#455a64" if met is None else ("#2e7d32" if met else "#c62828")
        return (f"{label}\nchỉ tiêu {_cmp(comparator)} {_pct(value).replace(',0%', '%')}", _pct(ratio), color)

    tiles = [
        on_time_tile("Tỷ lệ đúng hạn tháng này", month),
        on_time_tile("Tỷ lệ đúng hạn năm nay", year),
        ("Đang giải quyết", fmt_int(backlog.get("in_progress")), "#1565c0"),
        ("Đang quá hạn", fmt_int(backlog.get("overdue")), "#c62828"),
        ("Sắp đến hạn", fmt_int(backlog.get("due_soon")), "#ef6c00"),
    ]
    for i, (label, value, color) in enumerate(tiles):
        ax = fig.add_subplot(gs[0, i])
        ax.set_facecolor(color)
        ax.set_xticks([]), ax.set_yticks([])
        for s in ax.spines.values():
            s.set_visible(False)
        ax.text(0.5, 0.62, value, ha="center", va="center", fontsize=26, color="white", fontweight="bold", transform=ax.transAxes)
        ax.text(0.5, 0.2, label, ha="center", va="center", fontsize=11, color="white", transform=ax.transAxes)

    # rates of this month per level vs target
    ax = fig.add_subplot(gs[1, :])
    ax.axis("off")
    ax.set_title("Các chỉ số tháng này theo cấp so với chỉ tiêu kế hoạch CCHC (kết quả / chỉ tiêu)", fontsize=14, loc="left")
    rows = data["rates_month"]
    levels = [lv for lv in P.LEVEL_CODES if any(r["unit_level"] == lv for r in rows)]
    metrics = [m for m in P.RATE_METRICS if any(r["metric_id"] == m.id for r in rows)]
    by = {(r["metric_id"], r["unit_level"]): r for r in rows}
    cell_text, colors = [], []
    for m in metrics:
        line, line_colors = [m.label_vi], ["white"]
        for lv in levels:
            r = by.get((m.id, lv))
            if r is None or r["ratio"] is None:
                line.append("–")
                line_colors.append("white")
                continue
            target = "" if r["target"] is None else f" / {_cmp(r['comparator'])} {_pct(r['target']).replace(',0%', '%')}"
            line.append(_pct(r["ratio"]) + target)
            line_colors.append("white" if r["met"] is None else ("#c8e6c9" if r["met"] else "#ffcdd2"))
        cell_text.append(line)
        colors.append(line_colors)
    header = ["Chỉ số"] + [P.LEVEL_NAMES[P.LEVEL_ORDER[lv]] for lv in levels]
    if cell_text:
        table = ax.table(cellText=cell_text, cellColours=colors, colLabels=header, loc="upper center",
                         colWidths=[0.44] + [0.56 / max(len(levels), 1)] * len(levels), cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(10.5)
        table.scale(1, 1.75)
        for (row, col), cell in table.get_celld().items():
            if row == 0:
                cell.set_text_props(fontweight="bold")
                cell.set_facecolor("#eceff1")
            if col == 0 and row > 0:
                cell._loc = "left"
                cell.PAD = 0.02
                cell.get_text().set_horizontalalignment("left")
    else:
        ax.text(0.5, 0.5, "Không có dữ liệu", ha="center")

    # trends with target lines
    import matplotlib.dates as mdates

    from ..domain.calendar import VN_TZ
    from ..domain.metrics import METRICS_BY_ID

    def pct_tick(v, _pos) -> str:
        pct = round(v * 100, 1)
        return (f"{pct:.0f}%" if pct == int(pct) else f"{pct:.1f}%").replace(".", ",")

    pct_fmt = FuncFormatter(pct_tick)
    palette = {"Cấp tỉnh": "#1565c0", "Cấp huyện": "#6a1b9a", "Cấp xã": "#2e7d32", "Ngành dọc TW": "#ef6c00"}
    order = {name: i for i, name in enumerate(P.LEVEL_NAMES)}
    for i, metric in enumerate(("on_time_rate", "online_filing_rate", "dossier_digitisation_rate", "online_payment_rate")):
        ax = fig.add_subplot(gs[2 + i // 2, (i % 2) * 3: (i % 2) * 3 + (3 if i % 2 == 0 else 2)])
        ax.set_title(METRICS_BY_ID[metric].label_vi, fontsize=12, loc="left")
        series: dict[str, list] = {}
        for r in data[f"trend_{metric}"]:
            series.setdefault(_text(r["series"], "?"), []).append((r["time"], r["value"]))
        for name in sorted(series, key=lambda n: order.get(n, 99)):
            pts = series[name]
            ax.plot([t for t, _ in pts], [v for _, v in pts], label=name, color=palette.get(name), linewidth=1.8)
        # target lines: levels with the same line are drawn once ("Chỉ tiêu mọi cấp 96%")
        targets: dict[str, list] = {}
        for r in data[f"trend_targets_{metric}"]:
            targets.setdefault(_text(r["series"], "?").replace("Chỉ tiêu ", ""), []).append((r["time"], r["value"]))
        same: dict[tuple, list[str]] = {}
        for lvl in sorted(targets, key=lambda n: order.get(n, 99)):
            same.setdefault(tuple(targets[lvl]), []).append(lvl)
        for pts, lvls in same.items():
            shown = sorted(series, key=lambda n: order.get(n, 99))
            alike = len(lvls) > 1 and set(shown) <= set(lvls)
            who = "mọi cấp" if alike else ", ".join(lvls)
            values = {v for _, v in pts if v is not None}
            level_text = f" {_pct(next(iter(values))).replace(',0%', '%')}" if len(values) == 1 else ""
            ax.plot([t for t, _ in pts], [v for _, v in pts], linestyle="--",
                    color="#424242" if (alike or len(lvls) > 1) else palette.get(lvls[0]),
                    linewidth=1.2, alpha=0.9, label=f"Chỉ tiêu {who}{level_text}")
        ax.yaxis.set_major_formatter(pct_fmt)
        values = [v for pts in list(series.values()) + list(targets.values()) for _, v in pts if v is not None]
        low = min(values, default=0.0)
        ax.set_ylim(0 if low < 0.5 else max(0.0, low - 0.05), 1.01)
        ax.grid(alpha=0.3)
        ax.tick_params(axis="x", labelsize=8)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m", tz=VN_TZ))
        if not series:
            ax.text(0.5, 0.5, "Không có dữ liệu", ha="center", va="center", transform=ax.transAxes, color="#666")
        else:
            ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=4, frameon=False)
    fig.savefig(path)
    plt.close(fig)


def render_html(data: dict, first: date, last: date, png_name: str, path: Path, place: str = "") -> None:
    from ..domain.formatting import fmt_int

    esc = html.escape

    def table_for(rows: list[dict], title: str) -> str:
        out = [f"<h2>{esc(title)}</h2><table><tr><th>Cấp</th><th>Chỉ số</th><th>Tử số</th><th>Mẫu số</th>"
               "<th>Kết quả</th><th>Chỉ tiêu</th><th>Đánh giá</th></tr>"]
        for r in rows:
            verdict = {1: "Đạt", 0: "Chưa đạt", None: ""}[r["met"]]
            cls = {1: "ok", 0: "ko", None: ""}[r["met"]]
            target = "" if r["target"] is None else f"{_cmp(r['comparator'])} {_pct(r['target'])}"
            out.append(f"<tr><td>{esc(_text(r['level_name'], r['unit_level']))}</td>"
                       f"<td>{esc(_text(r['metric_name'], r['metric_id']))}</td>"
                       f"<td class=n>{fmt_int(r['numerator'])}</td><td class=n>{fmt_int(r['denominator'])}</td>"
                       f"<td class=n>{_pct(r['ratio'])}</td><td class=n>{esc(target)}</td><td class={cls}>{verdict}</td></tr>")
        if not rows:
            out.append("<tr><td colspan=7>Không có số liệu</td></tr>")
        out.append("</table>")
        return "".join(out)

    ranking = ["<h2>10 đơn vị có tỷ lệ đúng hạn thấp nhất</h2><table><tr><th>Mã đơn vị</th><th>Đơn vị</th><th>Cấp</th>"
               "<th>Đã giải quyết</th><th>Tỷ lệ đúng hạn</th><th>Chỉ tiêu</th><th>Đang quá hạn</th></tr>"]
    for r in data["ranking_rate"]:
        ranking.append(f"<tr><td>{esc(_text(r['unit_code']))}</td><td>{esc(_text(r['unit_name'], r['unit_code']))}</td>"
                       f"<td>{esc(_text(r['level_name'], r['unit_level']))}</td>"
                       f"<td class=n>{fmt_int(r['ended'])}</td><td class=n>{_pct(r['ratio'])}</td>"
                       f"<td class=n>{_pct(r['target'])}</td><td class=n>{fmt_int(r['overdue_now'])}</td></tr>")
    if not data["ranking_rate"]:
        ranking.append("<tr><td colspan=7>Không có đơn vị đủ số hồ sơ đã giải quyết để xếp hạng</td></tr>")
    ranking.append("</table>")
    backlog = ["<h2>Hồ sơ tồn theo cấp</h2><table><tr><th>Cấp</th><th>Đang giải quyết</th><th>Quá hạn</th><th>Sắp đến hạn</th></tr>"]
    for r in data["backlog_by_level"]:
        backlog.append(f"<tr><td>{esc(_text(r['level_name'], r['unit_level']))}</td><td class=n>{fmt_int(r['in_progress'])}</td>"
                       f"<td class=n>{fmt_int(r['overdue'])}</td><td class=n>{fmt_int(r['due_soon'])}</td></tr>")
    backlog.append("</table>")
    where = f"{esc(place)}. " if place else ""
    page = f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Phòng điều hành — {first:%d/%m/%Y}–{last:%d/%m/%Y}</title>
<style>body{{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px;color:#222}}table{{border-collapse:collapse;margin-bottom:24px}}
td,th{{border:1px solid #ccc;padding:4px 8px}}th{{background:#eceff1}}td.n{{text-align:right}}td.ok{{background:#c8e6c9}}
td.ko{{background:#ffcdd2}}img{{max-width:100%}}</style></head><body>
<h1>Phòng điều hành — Kết quả giải quyết thủ tục hành chính</h1>
<p>{where}Từ {first:%d/%m/%Y} đến {last:%d/%m/%Y}. Tỷ lệ = tổng tử số / tổng mẫu số; chỉ tiêu theo kế hoạch CCHC đang áp dụng.</p>
<img src="{esc(png_name)}" alt="Tổng quan phòng điều hành">
{"".join(backlog)}
{table_for(data["rates_day"], f"Ngày {last:%d/%m/%Y} (ngày cuối khoảng)")}
{table_for(data["rates_month"], "Tháng này")}
{table_for(data["rates_year"], "Năm nay")}
{"".join(ranking)}
<p><small>Tạo bởi motcua snapshot từ cùng câu lệnh SQL với bảng điều khiển Grafana.</small></p>
</body></html>
"""
    path.write_text(page, encoding="utf-8")


def snapshot(
    out: Path = typer.Option(..., "--out", help="Output directory (overview.png, index.html)."),
    from_: Optional[str] = typer.Option(None, "--from", help="First day (YYYY-MM-DD); default: first day of the month of --to."),
    to: Optional[str] = typer.Option(None, "--to", help="Day after the last day shown (half-open); default: tomorrow."),
    province: Optional[str] = typer.Option(None, help="Only this province (GSO code, H75 or name); default: the "
                                           "province with most dossiers in the store."),
    store: Optional[str] = StoreOption,
) -> None:
    """Render the control-room overview (Phòng điều hành) to PNG and a static HTML page,
    from the same panel queries as the Grafana dashboard."""
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
    data = collect(st, first, last, variables)
    if not any(r["target"] is not None for r in data["rates_month"]):
        console.print(f"Lưu ý: chưa có chỉ tiêu nào của {prov.in_text} trong kho dữ liệu "
                      "(nạp bằng: motcua targets load).")
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
