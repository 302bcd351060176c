"""Form II.06a (Biểu II.06a/VPCP/KSTT): dossiers received, resolved and in progress per
unit and lĩnh vực for a reporting period, with totals per unit, per level and for the
province.

Every figure is a sum of KPI rows (``kpi_rows`` / ``ClickHouseStore.kpi`` with
``by="unit_field"``, the period, and as_of = the period end): the form and the dashboards
read the same counters, so they reconcile by construction.

    received_total   = received_online + received_direct_postal + received_carried_over
    resolved_total   = resolved_early + resolved_on_time + resolved_late
    in_progress_total = in_progress_within + in_progress_overdue   (at the period end)
    identity: received_total = resolved_total + in_progress_total

The identity holds whenever the data are sane; a dossier that ended before it was
received (or a similar inconsistency) breaks it, and the report lists where.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from .formatting import fmt_int
from .vocabulary import level_rank

FORM_CODE = "Biểu II.06a/VPCP/KSTT"
FORM_TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"

# (key, heading group, column heading). The JSON keys are those of docs/metrics.md#ii06a; the
# headings are the form's column structure (received: total / online / direct & postal /
# carried over; resolved: total / early / on time / late; in progress: total / within /
# overdue).
GROUP_RECEIVED = "Số hồ sơ tiếp nhận"
GROUP_RESOLVED = "Số hồ sơ đã giải quyết"
GROUP_IN_PROGRESS = "Số hồ sơ đang giải quyết"
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("received_total", GROUP_RECEIVED, "Tổng số hồ sơ tiếp nhận"),
    ("received_online", GROUP_RECEIVED, "Trong kỳ: Trực tuyến"),
    ("received_direct_postal", GROUP_RECEIVED, "Trong kỳ: Trực tiếp, dịch vụ bưu chính"),
    ("received_carried_over", GROUP_RECEIVED, "Từ kỳ trước chuyển qua"),
    ("resolved_total", GROUP_RESOLVED, "Tổng số"),
    ("resolved_early", GROUP_RESOLVED, "Trước hạn"),
    ("resolved_on_time", GROUP_RESOLVED, "Đúng hạn"),
    ("resolved_late", GROUP_RESOLVED, "Quá hạn"),
    ("in_progress_total", GROUP_IN_PROGRESS, "Tổng số"),
    ("in_progress_within", GROUP_IN_PROGRESS, "Trong hạn"),
    ("in_progress_overdue", GROUP_IN_PROGRESS, "Quá hạn"),
)
FIGURES = tuple(c[0] for c in COLUMNS)
# Column numbers as printed under the headings: (1) STT, (2) name, (3).. figures.
FIRST_FIGURE_COLUMN = 3
COLUMN_FORMULAS = {
    "received_total": "(3)=(4)+(5)+(6)",
    "resolved_total": "(7)=(8)+(9)+(10)",
    "in_progress_total": "(11)=(12)+(13)",
}
KEYS = ("unit_code", "unit_level", "field_code")


def figures_from_kpi(k: dict) -> dict[str, int]:
    """The II.06a figures of one KPI row (any grouping)."""
    received = int(k["received"])
    online = int(k["online_filing_rate_num"])
    carried = int(k["carried_over"])
    early, on_time, late = int(k["ended_early"]), int(k["ended_on_time"]), int(k["ended_late"])
    within, overdue = int(k["in_progress_within"]), int(k["in_progress_overdue_end"])
    return {
        "received_total": received + carried,
        "received_online": online,
        "received_direct_postal": received - online,
        "received_carried_over": carried,
        "resolved_total": int(k["ended"]),
        "resolved_early": early,
        "resolved_on_time": on_time,
        "resolved_late": late,
        "in_progress_total": within + overdue,
        "in_progress_within": within,
        "in_progress_overdue": overdue,
    }


def zero_figures() -> dict[str, int]:
    return dict.fromkeys(FIGURES, 0)


def add_figures(into: dict, row: dict) -> dict:
    for k in FIGURES:
        into[k] += row[k]
    return into


def identity_gap(row: dict) -> int:
    """received_total − (resolved_total + in_progress_total): 0 when the identity holds."""
    return row["received_total"] - row["resolved_total"] - row["in_progress_total"]


def consistency_problems(row: dict) -> list[str]:
    """What is wrong with a row (Vietnamese, for the report); empty when all is well."""
    out = []
    gap = identity_gap(row)
    if gap:
        out.append(
            f"tổng tiếp nhận ({row['received_total']}) khác tổng đã giải quyết + đang giải quyết "
            f"({row['resolved_total'] + row['in_progress_total']}), chênh lệch {gap:+d}"
        )
    if row["resolved_total"] != row["resolved_early"] + row["resolved_on_time"] + row["resolved_late"]:
        out.append("tổng đã giải quyết khác trước hạn + đúng hạn + quá hạn")
    if row["received_direct_postal"] < 0:
        out.append("số hồ sơ trực tuyến lớn hơn số hồ sơ tiếp nhận trong kỳ")
    return out


@dataclass
class UnitBlock:
    unit_code: str
    unit_level: str
    rows: list[dict]  # one per field, sorted by field_code
    total: dict


@dataclass
class LevelBlock:
    level: str
    units: list[UnitBlock]
    total: dict


@dataclass
class II06aReport:
    start: date
    end: date  # exclusive
    levels: list[LevelBlock]
    total: dict
    provisional: bool = False  # the period had not ended when the figures were read
    problems: list[dict] = field(default_factory=list)  # rows breaking the identity

    @property
    def rows(self) -> list[dict]:
        return [r for lv in self.levels for u in lv.units for r in u.rows]

    @property
    def identity_ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        """The JSON form of docs/metrics.md#ii06a: ``period`` {from, to (exclusive)} and
        ``rows``; plus the totals per level and for the province, and the identity check."""
        return {
            "period": {"from": self.start.isoformat(), "to": self.end.isoformat()},
            "rows": [{k: r[k] for k in KEYS + FIGURES} for r in self.rows],
            "level_totals": [{"unit_level": lv.level, **lv.total} for lv in self.levels],
            "total": dict(self.total),
            "identity_ok": self.identity_ok,
            "identity_problems": self.problems,
            "provisional": self.provisional,
        }


def _level_key(level: str) -> tuple:
    return (level_rank(level), level)


def build_report(
    kpi_rows: Iterable[dict],
    start: date,
    end: date,
    *,
    level: str | None = None,
    unit: str | None = None,
    provisional: bool = False,
) -> II06aReport:
    """The form from KPI rows grouped by unit_field (unit_code, unit_level, field_code),
    optionally restricted to one level and/or one unit."""
    by_unit: dict[tuple[str, str], list[dict]] = {}
    for k in kpi_rows:
        if level is not None and k["unit_level"] != level:
            continue
        if unit is not None and k["unit_code"] != unit:
            continue
        row = {
            "unit_code": k["unit_code"],
            "unit_level": k["unit_level"],
            "field_code": k["field_code"],
            **figures_from_kpi(k),
        }
        if not any(row[f] for f in FIGURES):
            continue
        by_unit.setdefault((k["unit_level"], k["unit_code"]), []).append(row)
    levels: dict[str, LevelBlock] = {}
    problems: list[dict] = []
    for lv, code in sorted(by_unit, key=lambda x: (_level_key(x[0]), x[1])):
        rows = sorted(by_unit[(lv, code)], key=lambda r: r["field_code"])
        total = zero_figures()
        for r in rows:
            add_figures(total, r)
            for msg in consistency_problems(r):
                problems.append(
                    {
                        "unit_code": code,
                        "unit_level": lv,
                        "field_code": r["field_code"],
                        "problem": msg,
                        "gap": identity_gap(r),
                    }
                )
        block = levels.setdefault(lv, LevelBlock(lv, [], zero_figures()))
        block.units.append(UnitBlock(code, lv, rows, total))
        add_figures(block.total, total)
    grand = zero_figures()
    for block in levels.values():
        add_figures(grand, block.total)
    return II06aReport(start, end, list(levels.values()), grand, provisional, problems)


def identity_sentence(report: II06aReport) -> str:
    """One Vietnamese sentence on the identity, for every document."""
    t = report.total
    if report.identity_ok:
        return (
            "Kiểm tra số liệu: tổng số hồ sơ tiếp nhận bằng tổng số hồ sơ đã giải quyết cộng "
            f"số hồ sơ đang giải quyết ở mọi dòng ({fmt_int(t['received_total'])} = "
            f"{fmt_int(t['resolved_total'])} + {fmt_int(t['in_progress_total'])})."
        )
    n = len(report.problems)
    return (
        f"Cảnh báo: {n} dòng số liệu không cân đối (tổng tiếp nhận khác đã giải quyết + đang "
        "giải quyết), thường do dữ liệu nguồn sai (ví dụ hồ sơ kết thúc trước ngày tiếp nhận); "
        "xem danh sách kèm theo."
    )


def level_field_rows(level_block: LevelBlock) -> list[tuple[str, dict]]:
    """The lĩnh vực rows of a level (the form's "lĩnh vực, công việc giải quyết theo
    cấp"): every unit's figures summed per field, sorted by field code."""
    acc: dict[str, dict] = {}
    for u in level_block.units:
        for row in u.rows:
            add_figures(acc.setdefault(row["field_code"], zero_figures()), row)
    return sorted(acc.items())
