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


def render_png(data: dict, first: date, last: date, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from ..dashboards import panels as P
    from ..domain.formatting import fmt_int

    plt.rcParams["font.family"] = "DejaVu Sans"
    fig = plt.figure(figsize=(16, 17), dpi=100)
    gs = fig.add_gridspec(4, 5, height_ratios=[0.9, 2.5, 2.4, 2.4], hspace=0.45, wspace=0.35,
                          left=0.04, right=0.98, top=0.93, bottom=0.03)
    fig.suptitle("Phòng điều hành — Kết quả giải quyết thủ tục hành chính", fontsize=20, fontweight="bold")
    fig.text(0.5, 0.952, f"Từ {first:%d/%m/%Y} đến {last:%d/%m/%Y} · hồ sơ tồn tính đến cuối ngày {last:%d/%m/%Y}",
             ha="center", fontsize=12, color="#444")

    # tiles
    month = data["headline_on_time_month"][0] if data["headline_on_time_month"] else {}
    year = data["headline_on_time_year"][0] if data["headline_on_time_year"] else {}
    backlog = data["backlog_total"][0] if data["backlog_total"] else {}
    tiles = [
        ("Tỷ lệ đúng hạn\ntháng này", _pct(month.get("ratio")), "#2e7d32" if (month.get("ratio") or 0) >= 0.96 else "#c62828"),
        ("Tỷ lệ đúng hạn\nnăm nay", _pct(year.get("ratio")), "#2e7d32" if (year.get("ratio") or 0) >= 0.96 else "#c62828"),
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
            target = "" if r["target"] is None else f" / {r['comparator'].replace('>=', '≥').replace('<=', '≤')} {_pct(r['target']).replace(',0%', '%')}"
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
    else:
        ax.text(0.5, 0.5, "Không có dữ liệu", ha="center")

    # trends with target lines
    pct_fmt = FuncFormatter(lambda v, _: f"{v * 100:.0f}%".replace(".", ","))
    palette = {"Cấp tỉnh": "#1565c0", "Cấp huyện": "#6a1b9a", "Cấp xã": "#2e7d32", "Ngành dọc TW": "#ef6c00"}
    for i, metric in enumerate(("on_time_rate", "online_filing_rate", "dossier_digitisation_rate", "online_payment_rate")):
        ax = fig.add_subplot(gs[2 + i // 2, (i % 2) * 3: (i % 2) * 3 + (3 if i % 2 == 0 else 2)])
        from ..domain.metrics import METRICS_BY_ID

        ax.set_title(METRICS_BY_ID[metric].label_vi, fontsize=12, loc="left")
        series: dict[str, list] = {}
        for r in data[f"trend_{metric}"]:
            series.setdefault(r["series"], []).append((r["time"], r["value"]))
        for name, pts in series.items():
            ax.plot([t for t, _ in pts], [v for _, v in pts], label=name, color=palette.get(name), linewidth=1.8)
        targets: dict[str, list] = {}
        for r in data[f"trend_targets_{metric}"]:
            targets.setdefault(r["series"], []).append((r["time"], r["value"]))
        for name, pts in targets.items():
            lvl = name.replace("Chỉ tiêu ", "")
            ax.plot([t for t, _ in pts], [v for _, v in pts], linestyle="--", color=palette.get(lvl), linewidth=1, alpha=0.8,
                    label=name)
        ax.yaxis.set_major_formatter(pct_fmt)
        values = [v for pts in list(series.values()) + list(targets.values()) for _, v in pts if v is not None]
        low = min(values, default=0.0)
        ax.set_ylim(0 if low < 0.5 else max(0.0, low - 0.05), 1.01)
        ax.grid(alpha=0.3)
        ax.tick_params(axis="x", labelsize=8)
        import matplotlib.dates as mdates

        from ..domain.calendar import VN_TZ

        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m", tz=VN_TZ))
        ax.legend(fontsize=8, loc="lower left", ncol=2)
    fig.savefig(path)
    plt.close(fig)


def render_html(data: dict, first: date, last: date, png_name: str, path: Path) -> None:
    from ..dashboards import panels as P
    from ..domain.formatting import fmt_int

    def table_for(rows: list[dict], title: str) -> str:
        out = [f"<h2>{html.escape(title)}</h2><table><tr><th>Cấp</th><th>Chỉ số</th><th>Tử số</th><th>Mẫu số</th>"
               "<th>Kết quả</th><th>Chỉ tiêu</th><th>Đánh giá</th></tr>"]
        for r in rows:
            verdict = {1: "Đạt", 0: "Chưa đạt", None: ""}[r["met"]]
            cls = {1: "ok", 0: "ko", None: ""}[r["met"]]
            target = "" if r["target"] is None else f"{r['comparator'].replace('>=', '≥')} {_pct(r['target'])}"
            out.append(f"<tr><td>{html.escape(r['level_name'])}</td><td>{html.escape(r['metric_name'])}</td>"
                       f"<td class=n>{fmt_int(r['numerator'])}</td><td class=n>{fmt_int(r['denominator'])}</td>"
                       f"<td class=n>{_pct(r['ratio'])}</td><td class=n>{target}</td><td class={cls}>{verdict}</td></tr>")
        out.append("</table>")
        return "".join(out)

    ranking = ["<h2>10 đơn vị có tỷ lệ đúng hạn thấp nhất</h2><table><tr><th>Đơn vị</th><th>Cấp</th>"
               "<th>Đã giải quyết</th><th>Tỷ lệ đúng hạn</th><th>Chỉ tiêu</th><th>Đang quá hạn</th></tr>"]
    for r in data["ranking_rate"]:
        ranking.append(f"<tr><td>{html.escape(r['unit_name'])}</td><td>{html.escape(r['level_name'])}</td>"
                       f"<td class=n>{fmt_int(r['ended'])}</td><td class=n>{_pct(r['ratio'])}</td>"
                       f"<td class=n>{_pct(r['target'])}</td><td class=n>{fmt_int(r['overdue_now'])}</td></tr>")
    ranking.append("</table>")
    backlog = ["<h2>Hồ sơ tồn theo cấp</h2><table><tr><th>Cấp</th><th>Đang giải quyết</th><th>Quá hạn</th><th>Sắp đến hạn</th></tr>"]
    for r in data["backlog_by_level"]:
        backlog.append(f"<tr><td>{html.escape(r['level_name'])}</td><td class=n>{fmt_int(r['in_progress'])}</td>"
                       f"<td class=n>{fmt_int(r['overdue'])}</td><td class=n>{fmt_int(r['due_soon'])}</td></tr>")
    backlog.append("</table>")
    page = f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Phòng điều hành — {first:%d/%m/%Y}–{last:%d/%m/%Y}</title>
<style>body{{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px;color:#222}}table{{border-collapse:collapse;margin-bottom:24px}}
td,th{{border:1px solid #ccc;padding:4px 8px}}th{{background:#eceff1}}td.n{{text-align:right}}td.ok{{background:#c8e6c9}}
td.ko{{background:#ffcdd2}}img{{max-width:100%}}</style></head><body>
<h1>Phòng điều hành — Kết quả giải quyết thủ tục hành chính</h1>
<p>Từ {first:%d/%m/%Y} đến {last:%d/%m/%Y}. Tỷ lệ = tổng tử số / tổng mẫu số; chỉ tiêu theo kế hoạch CCHC đang áp dụng.</p>
<img src="{png_name}" alt="Tổng quan phòng điều hành">
{"".join(backlog)}
{table_for(data["rates_day"], "Hôm nay (ngày cuối khoảng)")}
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
    province: Optional[str] = typer.Option(None, help="Only this province (GSO code)."),
    store: Optional[str] = StoreOption,
) -> None:
    """Render the control-room overview (Phòng điều hành) to PNG and a static HTML page,
    from the same panel queries as the Grafana dashboard."""
    end = parse_date(to, "--to") if to else date.today() + timedelta(days=1)
    last = end - timedelta(days=1)
    first = parse_date(from_, "--from") if from_ else last.replace(day=1)
    if first > last:
        raise typer.BadParameter("--from must be before --to", param_hint="--from")
    st = open_store(store)
    variables = {"province": [province]} if province else {}
    data = collect(st, first, last, variables)
    out.mkdir(parents=True, exist_ok=True)
    render_png(data, first, last, out / "overview.png")
    render_html(data, first, last, "overview.png", out / "index.html")
    console.print(f"Đã tạo {out / 'overview.png'} và {out / 'index.html'}")


def register(app: typer.Typer) -> None:
    app.command("snapshot")(snapshot)
