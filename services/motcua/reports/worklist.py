"""The at-risk worklist as officials read it (docs/metrics.md#worklist): rows with stable
English keys for CSV / JSON, the Vietnamese cells of the table, and the XLSX sheet.

Dossier ids and codes only; unit, procedure and field names come from the registries
(a code no registry knows is shown as the code)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..domain.calendar import local_date, to_local_datetime
from ..domain.formatting import fmt_decimal, fmt_int
from ..domain.periods import ReportPeriod
from ..domain.vocabulary import level_short_label
from ..domain.worklist import WorklistRow, summary

# (key of export_rows, Vietnamese header) of the table and the sheet, in order.
HEADERS = (
    ("dossier_id", "Mã hồ sơ"),
    ("unit_name", "Đơn vị"),
    ("procedure_name", "Thủ tục"),
    ("field_name", "Lĩnh vực"),
    ("received_date", "Ngày tiếp nhận"),
    ("due_date", "Hạn xử lý"),
    ("working_days_left", "Số ngày làm việc còn lại"),
    ("waiting_for_supplement", "Chờ bổ sung"),
    ("rate_impact_points", "Ảnh hưởng tỷ lệ đúng hạn"),
)
EXPORT_KEYS = (
    "dossier_id",
    "unit_code",
    "unit_name",
    "unit_level",
    "procedure_code",
    "procedure_name",
    "field_code",
    "field_name",
    "received_at",
    "received_date",
    "due_date",
    "working_days_left",
    "overdue",
    "waiting_for_supplement",
    "supplement_requests",
    "period",
    "unit_period_ended",
    "unit_period_ended_ok",
    "rate_impact_points",
)


@dataclass(frozen=True)
class WorklistNames:
    unit: Callable[[str], str]
    procedure: Callable[[str], str]
    field: Callable[[str], str]

    @classmethod
    def from_registry(cls, registry=None) -> WorklistNames:
        from ..reference.registry import default_registry

        reg = registry or default_registry()
        return cls(unit=reg.unit_name, procedure=reg.procedure_name, field=reg.field_name)

    @classmethod
    def codes(cls) -> WorklistNames:
        return cls(unit=str, procedure=str, field=str)


def export_rows(rows: Sequence[WorklistRow], names: WorklistNames, period: ReportPeriod) -> list[dict]:
    """One dict a row, keys ``EXPORT_KEYS``: instants as ISO 8601 local time, dates as ISO
    dates (None when unknown), the impact in points (negative), rounded to 4 decimals."""
    out = []
    for r in rows:
        out.append(
            {
                "dossier_id": r.dossier_id,
                "unit_code": r.unit_code,
                "unit_name": names.unit(r.unit_code),
                "unit_level": r.unit_level,
                "procedure_code": r.procedure_code,
                "procedure_name": names.procedure(r.procedure_code),
                "field_code": r.field_code,
                "field_name": names.field(r.field_code),
                "received_at": to_local_datetime(r.received_at).isoformat(timespec="milliseconds"),
                "received_date": local_date(r.received_at).isoformat(),
                "due_date": None if r.due_date is None else date.fromordinal(r.due_date).isoformat(),
                "working_days_left": r.working_days_left,
                "overdue": r.overdue,
                "waiting_for_supplement": r.waiting,
                "supplement_requests": r.supplement_requests,
                "period": period.code,
                "unit_period_ended": r.unit_ended,
                "unit_period_ended_ok": r.unit_ended_ok,
                "rate_impact_points": round(r.rate_impact, 4),
            }
        )
    return out


def csv_text_of(records: list[dict]) -> str:
    """The rows as CSV (header ``EXPORT_KEYS`` even when empty; booleans as true/false,
    unknown dates empty)."""
    from .tables import csv_text

    if not records:
        return ",".join(EXPORT_KEYS) + "\r\n"
    return csv_text(
        [{k: ("true" if v else "false") if isinstance(v, bool) else v for k, v in r.items()} for r in records]
    )


def fmt_points(points: float) -> str:
    """-0.8333 -> '-0,8 điểm'."""
    return f"{fmt_decimal(points, 1)} điểm"


def fmt_day(iso: str | None) -> str:
    return "–" if iso is None else date.fromisoformat(iso).strftime("%d/%m/%Y")


def table_cells(row: dict) -> list[str]:
    """The Vietnamese cells of one ``export_rows`` row, in ``HEADERS`` order."""
    return [
        row["dossier_id"],
        row["unit_name"],
        row["procedure_name"],
        row["field_name"],
        fmt_day(row["received_date"]),
        fmt_day(row["due_date"]),
        fmt_int(row["working_days_left"]),
        "Có" if row["waiting_for_supplement"] else "",
        fmt_points(row["rate_impact_points"]),
    ]


def summary_sentence(rows: Sequence[WorklistRow], within: int, as_of_text: str) -> str:
    """'3 hồ sơ quá hạn, 5 hồ sơ đến hạn trong 2 ngày làm việc tới (tính tại 06/03/2025 10:00).'"""
    overdue, due = summary(rows)
    window = "hôm nay" if within == 0 else f"trong {fmt_int(within)} ngày làm việc tới"
    if not rows:
        return f"Không có hồ sơ nào đang giải quyết quá hạn hoặc đến hạn {window} (tính tại {as_of_text})."
    return (
        f"{fmt_int(overdue)} hồ sơ quá hạn, {fmt_int(due)} hồ sơ đến hạn {window} "
        f"(tính tại {as_of_text}); tổng {fmt_int(len(rows))} hồ sơ cần xử lý gấp."
    )


def impact_note(period: ReportPeriod) -> str:
    return (
        "Ảnh hưởng tỷ lệ đúng hạn: số điểm phần trăm tỷ lệ giải quyết đúng hạn của đơn vị trong "
        f"kỳ {period.label_vi} ({period.range_vi}) giảm đi nếu hồ sơ kết thúc trễ hạn thay vì đúng hạn. "
        "Số ngày làm việc còn lại: 0 = đến hạn hôm nay, số âm = đã quá hạn."
    )


def write_worklist_xlsx(
    rows: list[dict], out: Path, title_lines: Sequence[str], note: str, level_names: bool = True
) -> None:
    """The sheet: title lines, one header row, a row per dossier (dates as dates, numbers
    as numbers), filters on the header, the note under the table; A4 landscape."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from .xlsx import BOLD, BORDER, CENTER, HEAD_FILL, print_setup

    wb = Workbook()
    ws = wb.active
    ws.title = "Hồ sơ cần xử lý gấp"
    headers = [h for _k, h in HEADERS] + (["Cấp"] if level_names else [])
    for i, line in enumerate(title_lines, start=1):
        ws.cell(row=i, column=1, value=line).font = Font(bold=i == 1, size=13 if i == 1 else 11)
    head = len(title_lines) + 2
    for c, h in enumerate(headers, start=1):
        cell = ws.cell(row=head, column=c, value=h)
        cell.font, cell.fill, cell.alignment, cell.border = BOLD, HEAD_FILL, CENTER, BORDER
    for n, r in enumerate(rows, start=head + 1):
        values = _sheet_values(r) + ([level_short_label(r["unit_level"])] if level_names else [])
        for c, v in enumerate(values, start=1):
            cell = ws.cell(row=n, column=c, value=v)
            cell.border = BORDER
            if isinstance(v, date):
                cell.number_format = "dd/mm/yyyy"
            elif c == len(HEADERS):
                cell.number_format = '0.0 "điểm"'
    last_row = head + len(rows)
    ws.auto_filter.ref = f"A{head}:{get_column_letter(len(headers))}{max(last_row, head)}"
    ws.freeze_panes = ws.cell(row=head + 1, column=2)
    ws.cell(row=last_row + 2, column=1, value=note).alignment = Alignment(wrap_text=False)
    for c, width in enumerate((26, 34, 44, 28, 14, 14, 12, 11, 14, 14), start=1):
        if c <= len(headers):
            ws.column_dimensions[get_column_letter(c)].width = width
    print_setup(ws, f"{head}:{head}")
    wb.save(out)


def _sheet_values(r: dict) -> list:
    return [
        r["dossier_id"],
        r["unit_name"],
        r["procedure_name"],
        r["field_name"],
        date.fromisoformat(r["received_date"]),
        None if r["due_date"] is None else date.fromisoformat(r["due_date"]),
        r["working_days_left"],
        "Có" if r["waiting_for_supplement"] else "",
        r["rate_impact_points"],
    ]
