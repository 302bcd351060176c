"""The monthly report's words, generated from the figures (pure: no I/O).

- ``level_target_rows``: per level and metric, this period vs the previous one and the
  plan target, with the gap;
- ``unit_misses``: which units missed which targets;
- ``bottom_units``: the units with the lowest on-time rate;
- ``year_on_year_rows`` / ``unit_year_ago``: per level and metric, this period vs the same
  period one year earlier (read with the same province codes, so after the 2025 merger it
  includes the former provinces' dossiers), and a unit's year-earlier figures with the
  dossiers of the units it took over;
- ``summary_paragraphs``: what rose, what fell, which levels/units missed which targets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..domain.formatting import fmt_decimal, fmt_int, fmt_percent
from ..domain.metrics import METRICS_BY_ID
from ..domain.vocabulary import LEVEL_IN_TEXT, level_rank, sorted_levels
from .data import REPORT_METRICS, MonthlyData, target_for, target_text

# Changes smaller than this (in percentage points) are "unchanged".
STEADY_PP = 0.1
MIN_ENDED_FOR_RANKING = 5  # a unit with fewer ended dossiers is not ranked


def short_label(metric: str) -> str:
    return {
        "on_time_rate": "tỷ lệ giải quyết đúng hạn",
        "online_filing_rate": "tỷ lệ tiếp nhận trực tuyến",
        "dossier_digitisation_rate": "tỷ lệ số hóa hồ sơ",
        "result_digitisation_rate": "tỷ lệ cấp kết quả điện tử",
        "online_payment_rate": "tỷ lệ thanh toán trực tuyến",
        "satisfaction_rate": "tỷ lệ hài lòng",
        "late_apology_rate": "tỷ lệ hồ sơ trễ hạn có văn bản xin lỗi",
        "full_online_share": "tỷ lệ hồ sơ trực tuyến toàn trình",
        "postal_rate": "tỷ lệ hồ sơ qua bưu chính",
        "data_reuse_rate": "tỷ lệ tái sử dụng dữ liệu số hóa",
        "progress_766": "tiến độ giải quyết (Chỉ số 766)",
    }.get(metric, METRICS_BY_ID[metric].label_vi if metric in METRICS_BY_ID else metric)


def pp(delta: float | None) -> str:
    """Percentage points, signed, Vietnamese: '+1,2 điểm %'."""
    if delta is None:
        return "–"
    shown = fmt_decimal(abs(delta) * 100, 1)
    if shown == fmt_decimal(0, 1):  # rounds to nothing: no sign ("−0,0" reads as a fall)
        return f"{shown} điểm %"
    sign = "+" if delta > 0 else "−"
    return f"{sign}{shown} điểm %"


@dataclass
class TargetRow:
    level: str
    metric: str
    value: float | None
    previous: float | None
    target: str
    gap: float | None  # value − target value (fraction), None without target or value
    met: bool | None
    denominator: int


def level_target_rows(d: MonthlyData, metrics=REPORT_METRICS) -> list[TargetRow]:
    prev_by = {r["unit_level"]: r for r in d.previous_levels}
    out = []
    levels = sorted(d.current_levels, key=lambda r: level_rank(r["unit_level"]))
    for m in metrics:
        for r in levels:
            lv = r["unit_level"]
            t = target_for(d.targets, m, lv)
            value = r[m]
            prev = prev_by.get(lv, {}).get(m)
            out.append(
                TargetRow(
                    lv,
                    m,
                    value,
                    prev,
                    target_text(t),
                    None if (t is None or value is None) else value - t.value,
                    None if t is None else t.met(value),
                    r[f"{m}_den"],
                )
            )
    return out


@dataclass
class YearOnYearRow:
    level: str
    metric: str
    value: float | None
    year_ago: float | None
    delta: float | None  # value − year_ago (fraction; pp() shows it in points)


def year_on_year_rows(d: MonthlyData, metrics=REPORT_METRICS) -> list[YearOnYearRow]:
    """Per metric, every level of this period or of the same period a year earlier (a
    level of only one of them, e.g. the districts abolished 2025-07-01, shows "–" on the
    other side)."""
    if d.year_ago is None:
        return []
    now_by = {r["unit_level"]: r for r in d.current_levels}
    ago_by = {r["unit_level"]: r for r in d.year_ago_levels}
    levels = sorted_levels(set(now_by) | set(ago_by))
    out = []
    for m in metrics:
        for lv in levels:
            value = now_by.get(lv, {}).get(m)
            before = ago_by.get(lv, {}).get(m)
            if value is None and before is None:
                continue
            out.append(
                YearOnYearRow(
                    lv, m, value, before, None if value is None or before is None else value - before
                )
            )
    return out


def unit_year_ago(d: MonthlyData, unit_code: str) -> dict | None:
    """The unit's KPI row of the same period a year earlier, including the dossiers of the
    units it took over (``data.units_under_successors``)."""
    from .data import successor_unit

    return d.year_ago_units.get(successor_unit(unit_code))


def unit_misses(d: MonthlyData) -> dict[str, list[dict]]:
    """{metric: [unit rows that missed the target]} (units with a denominator only)."""
    out: dict[str, list[dict]] = {}
    for r in d.units:
        for m in REPORT_METRICS:
            t = target_for(d.targets, m, r["unit_level"], r["unit_code"])
            if t is None or r[m] is None:
                continue
            if t.met(r[m]) is False:
                out.setdefault(m, []).append(r)
    for m in out:
        out[m].sort(key=lambda r: r[m])
    return out


def bottom_units(d: MonthlyData, n: int = 10, metric: str = "on_time_rate") -> list[dict]:
    ranked = [r for r in d.units if r[f"{metric}_den"] >= MIN_ENDED_FOR_RANKING and r[metric] is not None]
    ranked.sort(key=lambda r: (r[metric], -r[f"{metric}_den"], r["unit_code"]))
    return ranked[:n]


def _change_phrase(now: float | None, before: float | None) -> tuple[str, float | None]:
    if now is None or before is None:
        return "", None
    delta = now - before
    if abs(delta) * 100 < STEADY_PP:
        return "không đổi so với kỳ trước", delta
    word = "tăng" if delta > 0 else "giảm"
    return f"{word} {fmt_decimal(abs(delta) * 100, 1)} điểm % so với kỳ trước", delta


def _count_change(now: int, before: int | None) -> str:
    if not before:
        return ""
    rel = (now - before) / before
    if abs(rel) < 0.0005:
        return " (không đổi so với kỳ trước)"
    word = "tăng" if rel > 0 else "giảm"
    return f" ({word} {fmt_percent(abs(rel))} so với kỳ trước)"


def summary_paragraphs(d: MonthlyData, unit_name: Callable[[str], str]) -> list[str]:
    a, p = d.current_all, d.previous_all
    if not a:
        return [f"Trong {d.period.label_vi} ({d.period.range_vi}) không có hồ sơ nào được ghi nhận."]
    t = d.ii06a.total
    paras = []
    intro = (
        f"Trong kỳ báo cáo {d.period.label_vi} ({d.period.range_vi}), {d.whole} tiếp nhận mới "
        f"{fmt_int(a['received'])} hồ sơ{_count_change(a['received'], p['received'] if p else None)}, "
        f"trong đó {fmt_int(a['online_filing_rate_num'])} hồ sơ trực tuyến "
        f"({fmt_percent(a['online_filing_rate'])}); từ kỳ trước chuyển qua {fmt_int(a['carried_over'])} hồ sơ. "
        f"Đã giải quyết {fmt_int(a['ended'])} hồ sơ (trước hạn {fmt_int(a['ended_early'])}, đúng hạn "
        f"{fmt_int(a['ended_on_time'])}, quá hạn {fmt_int(a['ended_late'])}), tỷ lệ giải quyết đúng hạn "
        f"{fmt_percent(a['on_time_rate'])}; đang giải quyết {fmt_int(t['in_progress_total'])} hồ sơ, "
        f"trong đó {fmt_int(t['in_progress_overdue'])} hồ sơ quá hạn."
    )
    if d.provisional:
        intro += " Kỳ báo cáo chưa kết thúc: số liệu là tạm tính đến thời điểm lập báo cáo."
    paras.append(intro)
    if p:
        rose, fell, same = [], [], []
        for m in REPORT_METRICS:
            _phrase, delta = _change_phrase(a[m], p.get(m))
            if delta is None:
                continue
            item = f"{short_label(m)} ({fmt_percent(a[m])}, {pp(delta)})"
            if abs(delta) * 100 < STEADY_PP:
                same.append(short_label(m))
            elif delta > 0:
                rose.append(item)
            else:
                fell.append(item)
        parts = []
        if rose:
            parts.append("Tăng so với kỳ trước: " + "; ".join(rose) + ".")
        if fell:
            parts.append("Giảm so với kỳ trước: " + "; ".join(fell) + ".")
        if same:
            parts.append("Không đổi: " + ", ".join(same) + ".")
        if parts:
            paras.append(" ".join(parts))
    y = d.year_ago_all
    if d.year_ago is not None and y:
        items = []
        for m in REPORT_METRICS:
            if a.get(m) is None or y.get(m) is None:
                continue
            items.append(f"{short_label(m)} {fmt_percent(a[m])} ({pp(a[m] - y[m])})")
        head = (
            f"So với cùng kỳ năm trước ({d.year_ago.label_vi}): tiếp nhận mới "
            f"{fmt_int(a['received'])} hồ sơ so với {fmt_int(y['received'])} hồ sơ"
        )
        paras.append(head + ("; " + "; ".join(items) if items else "") + ".")
    missed_levels = [r for r in level_target_rows(d) if r.met is False]
    if missed_levels:
        items = [
            f"{LEVEL_IN_TEXT.get(r.level, r.level)} – {short_label(r.metric)} "
            f"{fmt_percent(r.value)} (chỉ tiêu {r.target})"
            for r in missed_levels
        ]
        paras.append("Chưa đạt chỉ tiêu kế hoạch CCHC: " + "; ".join(items) + ".")
    elif d.targets:
        paras.append("Các cấp đều đạt các chỉ tiêu kế hoạch CCHC có số liệu trong kỳ.")
    misses = unit_misses(d)
    if misses:
        items = []
        for m, rows in misses.items():
            names = ", ".join(unit_name(r["unit_code"]) for r in rows[:3])
            more = f" và {len(rows) - 3} đơn vị khác" if len(rows) > 3 else ""
            items.append(f"{short_label(m)}: {fmt_int(len(rows))} đơn vị ({names}{more})")
        paras.append("Đơn vị chưa đạt chỉ tiêu — " + "; ".join(items) + ".")
    return paras
