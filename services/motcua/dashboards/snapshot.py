"""The control-room overview (Phòng điều hành) without Grafana: the rows of the
overview's panel queries (``dashboards.runner.collect_overview``) drawn to a PNG
(:func:`render_png`) and a static HTML page (:func:`render_html`). ``motcua snapshot``
calls them."""

from __future__ import annotations

import html
from datetime import date
from pathlib import Path

from ..domain.formatting import fmt_int, fmt_percent
from ..domain.vocabulary import LEVEL_SHORT_LABELS, level_short_label
from . import panels as P

# Trend line colours, per level (the series are named by the short level label).
LEVEL_COLORS = {
    "PROVINCE": "#1565c0",
    "DISTRICT": "#6a1b9a",
    "COMMUNE": "#2e7d32",
    "CENTRAL_BRANCH": "#ef6c00",
}
TREND_PANELS = ("on_time_rate", "online_filing_rate", "dossier_digitisation_rate", "online_payment_rate")
NO_DATA = "Không có dữ liệu"


def _pct(x) -> str:
    return fmt_percent(x)


def _pct_short(x) -> str:
    """96% rather than 96,0% (targets are whole numbers mostly)."""
    return _pct(x).replace(",0%", "%")


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
    seen = {
        (r["target"], r["comparator"])
        for r in data.get("rates_month", [])
        if r["metric_id"] == "on_time_rate" and r["target"] is not None
    }
    return next(iter(seen)) if len(seen) == 1 else None


# -- PNG ---------------------------------------------------------------------------------


def render_png(data: dict, first: date, last: date, path: Path, place: str = "") -> None:
    """The overview on one page: headline tiles, this month's rates per level against the
    targets, four trends with their target lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = "DejaVu Sans"
    fig = plt.figure(figsize=(16, 17), dpi=100)
    gs = fig.add_gridspec(
        4,
        5,
        height_ratios=[0.9, 2.2, 2.4, 2.4],
        hspace=0.55,
        wspace=0.35,
        left=0.04,
        right=0.98,
        top=0.93,
        bottom=0.06,
    )
    fig.suptitle("Phòng điều hành — Kết quả giải quyết thủ tục hành chính", fontsize=20, fontweight="bold")
    where = f"{place} · " if place else ""
    fig.text(
        0.5,
        0.952,
        f"{where}Từ {first:%d/%m/%Y} đến {last:%d/%m/%Y} · hồ sơ tồn tính đến cuối ngày {last:%d/%m/%Y}",
        ha="center",
        fontsize=12,
        color="#444",
    )
    for i, (label, value, color) in enumerate(_tiles(data, first, last)):
        _draw_tile(fig.add_subplot(gs[0, i]), label, value, color)
    _draw_rates_table(fig.add_subplot(gs[1, :]), data["rates_month"])
    for i, metric in enumerate(TREND_PANELS):
        ax = fig.add_subplot(gs[2 + i // 2, (i % 2) * 3 : (i % 2) * 3 + (3 if i % 2 == 0 else 2)])
        _draw_trend(ax, metric, data[f"trend_{metric}"], data[f"trend_targets_{metric}"])
    fig.savefig(path)
    plt.close(fig)


def _tiles(data: dict, first: date, last: date) -> list[tuple[str, str, str]]:
    """(label, value, colour) of the headline tiles; the on-time tiles are green or red
    against the on-time target when every level has the same one, grey otherwise."""
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

        met = Target(
            province="",
            province_code="",
            metric="on_time_rate",
            level=None,
            unit_code=None,
            valid_from=first,
            valid_to=last,
            comparator=comparator,
            value=value,
        ).met(ratio)
        color = "#455a64" if met is None else ("#2e7d32" if met else "#c62828")
        return (f"{label}\nchỉ tiêu {_cmp(comparator)} {_pct_short(value)}", _pct(ratio), color)

    return [
        on_time_tile("Tỷ lệ đúng hạn tháng này", month),
        on_time_tile("Tỷ lệ đúng hạn năm nay", year),
        ("Đang giải quyết", fmt_int(backlog.get("in_progress")), "#1565c0"),
        ("Đang quá hạn", fmt_int(backlog.get("overdue")), "#c62828"),
        ("Sắp đến hạn", fmt_int(backlog.get("due_soon")), "#ef6c00"),
    ]


def _draw_tile(ax, label: str, value: str, color: str) -> None:
    ax.set_facecolor(color)
    ax.set_xticks([]), ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    ax.text(
        0.5,
        0.62,
        value,
        ha="center",
        va="center",
        fontsize=26,
        color="white",
        fontweight="bold",
        transform=ax.transAxes,
    )
    ax.text(0.5, 0.2, label, ha="center", va="center", fontsize=11, color="white", transform=ax.transAxes)


def _rate_cells(rows: list[dict], levels: list[str]) -> tuple[list[list[str]], list[list[str]]]:
    """Texts and colours of the rates table: a metric per line, "result / target" per
    level, green when met and red when not."""
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
            target = "" if r["target"] is None else f" / {_cmp(r['comparator'])} {_pct_short(r['target'])}"
            line.append(_pct(r["ratio"]) + target)
            line_colors.append("white" if r["met"] is None else ("#c8e6c9" if r["met"] else "#ffcdd2"))
        cell_text.append(line)
        colors.append(line_colors)
    return cell_text, colors


def _draw_rates_table(ax, rows: list[dict]) -> None:
    ax.axis("off")
    ax.set_title(
        "Các chỉ số tháng này theo cấp so với chỉ tiêu kế hoạch CCHC (kết quả / chỉ tiêu)",
        fontsize=14,
        loc="left",
    )
    levels = [lv for lv in P.LEVEL_CODES if any(r["unit_level"] == lv for r in rows)]
    cell_text, colors = _rate_cells(rows, levels)
    if not cell_text:
        ax.text(0.5, 0.5, NO_DATA, ha="center")
        return
    header = ["Chỉ số"] + [level_short_label(lv) for lv in levels]
    table = ax.table(
        cellText=cell_text,
        cellColours=colors,
        colLabels=header,
        loc="upper center",
        colWidths=[0.44] + [0.56 / max(len(levels), 1)] * len(levels),
        cellLoc="center",
    )
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


def _pct_tick(v, _pos) -> str:
    pct = round(v * 100, 1)
    return (f"{pct:.0f}%" if pct == int(pct) else f"{pct:.1f}%").replace(".", ",")


def _level_position(name: str) -> int:
    """Series are named by level label: draw them in the level order."""
    return P.LEVEL_NAMES.index(name) if name in P.LEVEL_NAMES else 99


def _series(rows: list[dict], prefix: str = "") -> dict[str, list]:
    """{series name without ``prefix``: [(time, value)]} of a timeseries panel's rows."""
    out: dict[str, list] = {}
    for r in rows:
        name = _text(r["series"], "?")
        out.setdefault(name.replace(prefix, "") if prefix else name, []).append((r["time"], r["value"]))
    return out


def _draw_trend(ax, metric: str, rows: list[dict], target_rows: list[dict]) -> None:
    import matplotlib.dates as mdates
    from matplotlib.ticker import FuncFormatter

    from ..domain.calendar import VN_TZ
    from ..domain.metrics import METRICS_BY_ID

    palette = {LEVEL_SHORT_LABELS[lv]: color for lv, color in LEVEL_COLORS.items()}
    ax.set_title(METRICS_BY_ID[metric].label_vi, fontsize=12, loc="left")
    series = _series(rows)
    for name in sorted(series, key=_level_position):
        pts = series[name]
        ax.plot([t for t, _ in pts], [v for _, v in pts], label=name, color=palette.get(name), linewidth=1.8)
    targets = _series(target_rows, prefix="Chỉ tiêu ")
    _draw_target_lines(ax, targets, shown=sorted(series, key=_level_position), palette=palette)
    ax.yaxis.set_major_formatter(FuncFormatter(_pct_tick))
    values = [v for pts in list(series.values()) + list(targets.values()) for _, v in pts if v is not None]
    low = min(values, default=0.0)
    ax.set_ylim(0 if low < 0.5 else max(0.0, low - 0.05), 1.01)
    ax.grid(alpha=0.3)
    ax.tick_params(axis="x", labelsize=8)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m", tz=VN_TZ))
    if not series:
        ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", transform=ax.transAxes, color="#666")
    else:
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=4, frameon=False)


def _draw_target_lines(ax, targets: dict[str, list], shown: list[str], palette: dict[str, str]) -> None:
    """Dashed target lines; levels with the same line are drawn once ("Chỉ tiêu mọi cấp
    96%" when it is every level shown)."""
    same: dict[tuple, list[str]] = {}
    for lvl in sorted(targets, key=_level_position):
        same.setdefault(tuple(targets[lvl]), []).append(lvl)
    for pts, lvls in same.items():
        alike = len(lvls) > 1 and set(shown) <= set(lvls)
        who = "mọi cấp" if alike else ", ".join(lvls)
        values = {v for _, v in pts if v is not None}
        level_text = f" {_pct_short(next(iter(values)))}" if len(values) == 1 else ""
        ax.plot(
            [t for t, _ in pts],
            [v for _, v in pts],
            linestyle="--",
            color="#424242" if (alike or len(lvls) > 1) else palette.get(lvls[0]),
            linewidth=1.2,
            alpha=0.9,
            label=f"Chỉ tiêu {who}{level_text}",
        )


# -- HTML --------------------------------------------------------------------------------

_esc = html.escape


def _rates_table(rows: list[dict], title: str) -> str:
    out = [
        (
            f"<h2>{_esc(title)}</h2><table><tr><th>Cấp</th><th>Chỉ số</th><th>Tử số</th><th>Mẫu số</th>"
            "<th>Kết quả</th><th>Chỉ tiêu</th><th>Đánh giá</th></tr>"
        )
    ]
    for r in rows:
        verdict = {1: "Đạt", 0: "Chưa đạt", None: ""}[r["met"]]
        cls = {1: "ok", 0: "ko", None: ""}[r["met"]]
        target = "" if r["target"] is None else f"{_cmp(r['comparator'])} {_pct(r['target'])}"
        out.append(
            f"<tr><td>{_esc(_text(r['level_name'], r['unit_level']))}</td>"
            f"<td>{_esc(_text(r['metric_name'], r['metric_id']))}</td>"
            f"<td class=n>{fmt_int(r['numerator'])}</td><td class=n>{fmt_int(r['denominator'])}</td>"
            f"<td class=n>{_pct(r['ratio'])}</td><td class=n>{_esc(target)}</td><td class={cls}>{verdict}</td></tr>"
        )
    if not rows:
        out.append("<tr><td colspan=7>Không có số liệu</td></tr>")
    out.append("</table>")
    return "".join(out)


def _ranking_table(rows: list[dict]) -> str:
    out = [
        (
            "<h2>10 đơn vị có tỷ lệ đúng hạn thấp nhất</h2><table><tr><th>Mã đơn vị</th><th>Đơn vị</th><th>Cấp</th>"
            "<th>Đã giải quyết</th><th>Tỷ lệ đúng hạn</th><th>Chỉ tiêu</th><th>Đang quá hạn</th></tr>"
        )
    ]
    for r in rows:
        out.append(
            f"<tr><td>{_esc(_text(r['unit_code']))}</td><td>{_esc(_text(r['unit_name'], r['unit_code']))}</td>"
            f"<td>{_esc(_text(r['level_name'], r['unit_level']))}</td>"
            f"<td class=n>{fmt_int(r['ended'])}</td><td class=n>{_pct(r['ratio'])}</td>"
            f"<td class=n>{_pct(r['target'])}</td><td class=n>{fmt_int(r['overdue_now'])}</td></tr>"
        )
    if not rows:
        out.append("<tr><td colspan=7>Không có đơn vị đủ số hồ sơ đã giải quyết để xếp hạng</td></tr>")
    out.append("</table>")
    return "".join(out)


def _backlog_table(rows: list[dict]) -> str:
    out = [
        "<h2>Hồ sơ tồn theo cấp</h2><table><tr><th>Cấp</th><th>Đang giải quyết</th><th>Quá hạn</th><th>Sắp đến hạn</th></tr>"
    ]
    for r in rows:
        out.append(
            f"<tr><td>{_esc(_text(r['level_name'], r['unit_level']))}</td><td class=n>{fmt_int(r['in_progress'])}</td>"
            f"<td class=n>{fmt_int(r['overdue'])}</td><td class=n>{fmt_int(r['due_soon'])}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def render_html(data: dict, first: date, last: date, png_name: str, path: Path, place: str = "") -> None:
    """A static page: the PNG, then the backlog, the rates of the last day, the month and
    the year per level, and the ten units with the lowest on-time rate."""
    where = f"{_esc(place)}. " if place else ""
    page = f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Phòng điều hành — {first:%d/%m/%Y}–{last:%d/%m/%Y}</title>
<style>body{{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px;color:#222}}table{{border-collapse:collapse;margin-bottom:24px}}
td,th{{border:1px solid #ccc;padding:4px 8px}}th{{background:#eceff1}}td.n{{text-align:right}}td.ok{{background:#c8e6c9}}
td.ko{{background:#ffcdd2}}img{{max-width:100%}}</style></head><body>
<h1>Phòng điều hành — Kết quả giải quyết thủ tục hành chính</h1>
<p>{where}Từ {first:%d/%m/%Y} đến {last:%d/%m/%Y}. Tỷ lệ = tổng tử số / tổng mẫu số; chỉ tiêu theo kế hoạch CCHC đang áp dụng.</p>
<img src="{_esc(png_name)}" alt="Tổng quan phòng điều hành">
{_backlog_table(data["backlog_by_level"])}
{_rates_table(data["rates_day"], f"Ngày {last:%d/%m/%Y} (ngày cuối khoảng)")}
{_rates_table(data["rates_month"], "Tháng này")}
{_rates_table(data["rates_year"], "Năm nay")}
{_ranking_table(data["ranking_rate"])}
<p><small>Tạo bởi motcua snapshot từ cùng câu lệnh SQL với bảng điều khiển Grafana.</small></p>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
