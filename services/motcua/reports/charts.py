"""Charts of the monthly report (matplotlib, PNG, Agg backend, DejaVu Sans for diacritics)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from ..domain.formatting import fmt_percent
from ..domain.vocabulary import LEVEL_ORDER, level_short_label, sorted_levels
from .data import MonthlyData, target_for
from .summary import short_label

plt.rcParams["font.family"] = "DejaVu Sans"
COLORS = {
    "ALL": "#222222",
    "PROVINCE": "#1f77b4",
    "DISTRICT": "#ff7f0e",
    "COMMUNE": "#2ca02c",
    "CENTRAL_BRANCH": "#9467bd",
}
_pct = FuncFormatter(lambda y, _pos: fmt_percent(y, 0))


def _levels(d: MonthlyData) -> list[str]:
    seen = {r["unit_level"] for _p, _a, rows in d.trend for r in rows}
    return sorted_levels(seen)


def trend_chart(d: MonthlyData, path: Path) -> Path:
    """On-time and online filing rates over the last periods, province-wide and per level,
    with the plan targets as dashed lines."""
    labels = [f"T{p.number:02d}/{p.year % 100:02d}" if p.kind == "month" else p.code for p, _a, _l in d.trend]
    x = list(range(len(labels)))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=130)
    for ax, metric in zip(axes, ("on_time_rate", "online_filing_rate")):
        ys = [a[metric] if a else None for _p, a, _l in d.trend]
        ax.plot(
            x,
            [y if y is not None else float("nan") for y in ys],
            marker="o",
            lw=2.4,
            color=COLORS["ALL"],
            label=d.whole.capitalize(),
        )
        drawn_targets = set()
        for lv in _levels(d):
            vals = []
            for _p, _a, rows in d.trend:
                r = next((r for r in rows if r["unit_level"] == lv), None)
                vals.append(r[metric] if r and r[metric] is not None else float("nan"))
            ax.plot(x, vals, marker=".", lw=1.4, color=COLORS.get(lv, "#888"), label=level_short_label(lv))
            t = target_for(d.targets, metric, lv)
            if t is not None and (t.level, t.value) not in drawn_targets:
                drawn_targets.add((t.level, t.value))
                color = COLORS["ALL"] if t.level is None else COLORS.get(lv, "#888")
                who = "mọi cấp" if t.level is None else level_short_label(lv)
                ax.axhline(t.value, ls="--", lw=1, color=color, alpha=0.8)
                ax.annotate(
                    f"Chỉ tiêu {who} {fmt_percent(t.value, 0)}",
                    xy=(x[0], t.value),
                    xytext=(2, 3),
                    textcoords="offset points",
                    fontsize=7,
                    color=color,
                )
        ax.set_title(short_label(metric).capitalize(), fontsize=11)
        ax.set_xticks(x, labels, fontsize=8)
        ax.yaxis.set_major_formatter(_pct)
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower left")
    fig.suptitle("Xu hướng theo kỳ báo cáo (đường nét đứt: chỉ tiêu kế hoạch CCHC)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


BAR_METRICS = (
    "on_time_rate",
    "online_filing_rate",
    "dossier_digitisation_rate",
    "result_digitisation_rate",
    "online_payment_rate",
)


def level_chart(d: MonthlyData, path: Path) -> Path:
    """This period's rates per level (bars) with each level's target (black ticks)."""
    levels = [r for lv in LEVEL_ORDER for r in d.current_levels if r["unit_level"] == lv]
    fig, ax = plt.subplots(figsize=(11, 4.2), dpi=130)
    width = 0.8 / max(len(levels), 1)
    for i, r in enumerate(levels):
        lv = r["unit_level"]
        xs = [k + (i - (len(levels) - 1) / 2) * width for k in range(len(BAR_METRICS))]
        vals = [r[m] if r[m] is not None else 0 for m in BAR_METRICS]
        bars = ax.bar(xs, vals, width * 0.95, color=COLORS.get(lv, "#888"), label=level_short_label(lv))
        for b, m, v in zip(bars, BAR_METRICS, vals):
            ax.annotate(
                fmt_percent(r[m], 0) if r[m] is not None else "–",
                (b.get_x() + b.get_width() / 2, v),
                ha="center",
                va="bottom",
                fontsize=6.5,
                xytext=(0, 1),
                textcoords="offset points",
            )
            t = target_for(d.targets, m, lv)
            if t is not None:
                ax.plot([b.get_x(), b.get_x() + b.get_width()], [t.value, t.value], color="black", lw=2)
    ax.set_xticks(
        range(len(BAR_METRICS)),
        [short_label(m).replace("tỷ lệ ", "").capitalize() for m in BAR_METRICS],
        fontsize=8,
    )
    ax.yaxis.set_major_formatter(_pct)
    ax.set_ylim(0, 1.12)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=len(levels), loc="upper right")
    ax.set_title(f"Kết quả theo cấp, {d.period.label_vi} (vạch đen: chỉ tiêu)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


__all__ = ["level_chart", "trend_chart"]
