"""Reporting periods: the official cut-off periods (chốt số liệu) and calendar periods.

Official periods (docs/metrics.md#official-periods), as half-open local-date ranges [start, end):
- month M:     15th of month M-1 .. 14th of M          -> [15/(M-1), 15/M)
- quarter Q:   15th of the month before the quarter .. 14th of its last month
- 6 months:    15/12 of the previous year .. 14/6      -> [15/12 (Y-1), 15/6 Y)
- 9 months:    15/12 of the previous year .. 14/9      -> [15/12 (Y-1), 15/9 Y)
- year:        15/12 of the previous year .. 14/12     -> [15/12 (Y-1), 15/12 Y)

Calendar periods (the 766 index, dashboards): month, quarter, year as usual.

Text forms accepted by :func:`parse_period`: ``2025-03`` (a month), ``2025-Q1`` (a
quarter), ``2025-H1`` (the 6-month period), ``2025-9M`` (9 months) and ``2025`` (a year).
With an explicit ``kind``, the text picks the period of that kind that contains (or
ends with) it: ``--period 2025-03 --kind quarter`` is the first quarter of 2025.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .calendar import local_midnight_ms


@dataclass(frozen=True)
class Period:
    """Half-open [start, end) of local dates."""

    start: date
    end: date

    @property
    def start_ms(self) -> int:
        return local_midnight_ms(self.start)

    @property
    def end_ms(self) -> int:
        return local_midnight_ms(self.end)


KINDS = ("month", "quarter", "6months", "9months", "year")
CUT_OFF_DAY = 15  # the official period starts on the 15th and ends on the 14th

KIND_LABELS_VI = {
    "month": "tháng",
    "quarter": "quý",
    "6months": "6 tháng",
    "9months": "9 tháng",
    "year": "năm",
}
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


class PeriodError(ValueError):
    """A period text that cannot be used; the message says why, in Vietnamese and English."""


@dataclass(frozen=True)
class ReportPeriod:
    kind: str  # one of KINDS
    year: int
    number: int  # month 1..12, quarter 1..4; 1 for 6months / 9months / year
    official: bool  # official cut-off (15th -> 14th) or calendar
    start: date
    end: date  # exclusive

    @property
    def period(self) -> Period:
        return Period(self.start, self.end)

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.end.toordinal() - 1)

    @property
    def code(self) -> str:
        """The canonical text form: 2025-03, 2025-Q1, 2025-H1, 2025-9M, 2025."""
        return {
            "month": f"{self.year}-{self.number:02d}",
            "quarter": f"{self.year}-Q{self.number}",
            "6months": f"{self.year}-H1",
            "9months": f"{self.year}-9M",
            "year": f"{self.year}",
        }[self.kind]

    @property
    def label_vi(self) -> str:
        """'tháng 03/2025', 'quý I/2025', '6 tháng đầu năm 2025', '9 tháng năm 2025', 'năm 2025'."""
        if self.kind == "month":
            return f"tháng {self.number:02d}/{self.year}"
        if self.kind == "quarter":
            return f"quý {_ROMAN[self.number]}/{self.year}"
        if self.kind == "6months":
            return f"6 tháng đầu năm {self.year}"
        if self.kind == "9months":
            return f"9 tháng năm {self.year}"
        return f"năm {self.year}"

    @property
    def range_vi(self) -> str:
        """'từ ngày 15/02/2025 đến ngày 14/03/2025'."""
        return f"từ ngày {self.start:%d/%m/%Y} đến ngày {self.last_day:%d/%m/%Y}"

    def previous(self) -> ReportPeriod:
        """The period of the same kind just before (month -> previous month, ...)."""
        if self.kind == "month":
            y, m = (self.year, self.number - 1) if self.number > 1 else (self.year - 1, 12)
            return make_period("month", y, m, self.official)
        if self.kind == "quarter":
            y, q = (self.year, self.number - 1) if self.number > 1 else (self.year - 1, 4)
            return make_period("quarter", y, q, self.official)
        return make_period(self.kind, self.year - 1, 1, self.official)


def _month_start(year: int, month: int, official: bool) -> date:
    """Where month (year, month) starts: the 15th of the previous month when official."""
    if not official:
        return date(year, month, 1)
    if month == 1:
        return date(year - 1, 12, CUT_OFF_DAY)
    return date(year, month - 1, CUT_OFF_DAY)


def _month_end(year: int, month: int, official: bool) -> date:
    """The exclusive end of month (year, month)."""
    if official:
        return date(year, month, CUT_OFF_DAY)
    return date(year + (month == 12), month % 12 + 1, 1)


def make_period(kind: str, year: int, number: int = 1, official: bool = True) -> ReportPeriod:
    """The period of a kind; ``number`` is the month (1..12) or quarter (1..4)."""
    if kind not in KINDS:
        raise PeriodError(
            f"loại kỳ không hợp lệ {kind!r} (unknown period kind; use one of {', '.join(KINDS)})"
        )
    if not 1900 <= year <= 2999:
        raise PeriodError(f"năm không hợp lệ: {year} (year out of range)")
    if kind == "month":
        if not 1 <= number <= 12:
            raise PeriodError(f"tháng không hợp lệ: {number} (month must be 1..12)")
        first = last = number
    elif kind == "quarter":
        if not 1 <= number <= 4:
            raise PeriodError(f"quý không hợp lệ: {number} (quarter must be 1..4)")
        first, last = 3 * number - 2, 3 * number
    else:
        first, last = 1, {"6months": 6, "9months": 9, "year": 12}[kind]
        number = 1
    return ReportPeriod(
        kind, year, number, official, _month_start(year, first, official), _month_end(year, last, official)
    )


_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_HALF = re.compile(r"^(\d{4})-(?:[Hh]1|6[Mm])$")
_NINE = re.compile(r"^(\d{4})-9[Mm]$")
_YEAR = re.compile(r"^(\d{4})$")


def parse_period(
    text: str, kind: str | None = None, *, official: bool = True, today: date | None = None
) -> ReportPeriod:
    """Parse a period text (see module doc). Refuses malformed texts, kinds that do not fit
    the text, and periods that have not started by ``today`` (when given)."""
    t = (text or "").strip()
    if kind is not None and kind not in KINDS:
        raise PeriodError(
            f"loại kỳ không hợp lệ {kind!r} (unknown period kind; use one of {', '.join(KINDS)})"
        )
    p: ReportPeriod | None = None
    if m := _MONTH.match(t):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(f"kỳ không hợp lệ {text!r}: tháng phải từ 01 đến 12 (month must be 01..12)")
        k = kind or "month"
        if k == "month":
            p = make_period("month", year, month, official)
        elif k == "quarter":
            p = make_period("quarter", year, (month - 1) // 3 + 1, official)
        else:
            p = make_period(k, year, 1, official)
    elif m := _QUARTER.match(t):
        if kind not in (None, "quarter"):
            raise PeriodError(
                f"kỳ {text!r} là một quý, không khớp với loại kỳ {kind!r} "
                "(a quarter text does not fit that kind)"
            )
        p = make_period("quarter", int(m.group(1)), int(m.group(2)), official)
    elif m := _HALF.match(t):
        if kind not in (None, "6months"):
            raise PeriodError(f"kỳ {text!r} là 6 tháng, không khớp với loại kỳ {kind!r}")
        p = make_period("6months", int(m.group(1)), 1, official)
    elif m := _NINE.match(t):
        if kind not in (None, "9months"):
            raise PeriodError(f"kỳ {text!r} là 9 tháng, không khớp với loại kỳ {kind!r}")
        p = make_period("9months", int(m.group(1)), 1, official)
    elif m := _YEAR.match(t):
        k = kind or "year"
        if k in ("month", "quarter"):
            raise PeriodError(
                f"kỳ {text!r} là một năm: hãy ghi rõ tháng (2025-03) hoặc quý (2025-Q1) "
                "(a year text needs a month or quarter for that kind)"
            )
        p = make_period(k, int(m.group(1)), 1, official)
    else:
        raise PeriodError(
            f"kỳ báo cáo không hợp lệ {text!r}: dùng dạng 2025-03 (tháng), 2025-Q1 (quý), "
            "2025-H1 (6 tháng), 2025-9M (9 tháng) hoặc 2025 (năm) "
            "(malformed period; use YYYY-MM, YYYY-Qn, YYYY-H1, YYYY-9M or YYYY)"
        )
    if today is not None and p.start > today:
        raise PeriodError(
            f"kỳ {p.label_vi} ({p.range_vi}) chưa bắt đầu: hôm nay là {today:%d/%m/%Y} "
            "(the period is in the future)"
        )
    return p


def is_complete(p: ReportPeriod, today: date) -> bool:
    """True when the period has ended (its figures are final)."""
    return p.end <= today


def months_back(p: ReportPeriod, n: int) -> list[ReportPeriod]:
    """The ``n`` periods of p's kind ending with ``p``, oldest first."""
    out = [p]
    while len(out) < n:
        out.append(out[-1].previous())
    return out[::-1]
