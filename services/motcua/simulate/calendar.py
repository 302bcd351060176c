"""A precomputed working-day calendar for the simulator (Asia/Ho_Chi_Minh, UTC+7, no DST).

Working days are the product's calendar (``motcua.reference.official_calendar.default_calendar``:
the ``holidays`` package under the shipped official schedule), so simulated due dates
match the pipeline's. The package still names the days (Tết, for the volume dip).
All look-ups are list indexing on day offsets, so the per-event cost is nil.
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays

from motcua.domain.calendar import WorkingCalendar, local_midnight_ms
from motcua.domain.calendar import local_day_number as local_ordinal
from motcua.reference.official_calendar import default_calendar

__all__ = ["WorkCalendar", "is_working_day", "local_midnight_ms", "local_ordinal"]


def vn_holidays(first_year: int, last_year: int):
    return holidays.country_holidays("VN", years=range(first_year, last_year + 1))


_PACKAGE_YEARS: dict[int, holidays.HolidayBase] = {}  # year -> the package's holidays of that year


def is_working_day(d: date) -> bool:
    """A working day of the product's calendar (official schedule over the package);
    outside its years, the package's answer."""
    cal = default_calendar()
    if cal.first <= d.toordinal() <= cal.last:
        return cal.is_working_day(d)
    h = _PACKAGE_YEARS.get(d.year)
    if h is None:
        h = _PACKAGE_YEARS[d.year] = vn_holidays(d.year, d.year)
    return h.is_working_day(d)


class WorkCalendar:
    """Working days between ``first`` and ``last`` (inclusive), indexed by day offset."""

    def __init__(self, first: date, last: date, calendar: WorkingCalendar | None = None):
        self.first = first
        self.base = first.toordinal()
        n = last.toordinal() - self.base + 1
        h = vn_holidays(first.year, last.year)
        cal = calendar or default_calendar()
        self.days = [first + timedelta(i) for i in range(n)]
        self.is_wd = [
            cal.is_working_day(d) if cal.first <= d.toordinal() <= cal.last else h.is_working_day(d)
            for d in self.days
        ]
        self.holiday = [d in h for d in self.days]
        names = [h.get(d) or "" for d in self.days]
        self.tet = [("Lunar New Year" in nm or "Tết" in nm) for nm in names]
        # ordinals of working days; wd_next[i] = index (in wd) of the first working day
        # on or after day offset i; wd_prev[i] = index of the last working day on or before.
        self.wd: list[int] = [self.base + i for i in range(n) if self.is_wd[i]]
        self.wd_next = [0] * (n + 1)
        nxt = len(self.wd)
        for i in range(n - 1, -1, -1):
            if self.is_wd[i]:
                nxt -= 1
            self.wd_next[i] = nxt
        self.wd_next[n] = len(self.wd)
        self.wd_prev = [0] * n
        prv = -1
        k = 0
        for i in range(n):
            if self.is_wd[i]:
                prv = k
                k += 1
            self.wd_prev[i] = prv
        self.midnight = [local_midnight_ms(d) for d in self.days]
        self.size = n

    def offset(self, d: date) -> int:
        return d.toordinal() - self.base

    def wd_midnight(self, k: int) -> int:
        """Local midnight (epoch ms) of the k-th working day."""
        return self.midnight[self.wd[k] - self.base]

    def due_working_days(self, receipt_offset: int, n: int) -> int:
        """Index (in ``wd``) of the due date: the n-th working day after the receipt day
        (counting starts on the first working day after it). n = 0 -> the receipt day's
        own working-day index (or the next working day)."""
        if n <= 0:
            return self.wd_next[receipt_offset]
        return self.wd_next[receipt_offset + 1] + n - 1
