"""The Vietnamese working-day calendar, in Asia/Ho_Chi_Minh local dates.

Working days are Monday–Friday minus public holidays (Tết included) plus the official
make-up working Saturdays; the ``holidays`` package knows both. Provinces sometimes get
per-year decisions the package does not know yet, so a calendar takes overrides: extra
days off and extra working days.

Counting is O(1): a table of cumulative working-day counts by date ordinal is built once
for the years in range.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Iterable

import holidays

# Vietnam has had no DST since 1975: local time is UTC+7, a fixed offset. Using it directly
# avoids zoneinfo lookups on the hot path and is exact for every date we handle.
VN_OFFSET_MS = 7 * 3600 * 1000
VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
MS_PER_DAY = 86_400_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

FIRST_YEAR = 2010
# Far enough that every due date of an accepted event is inside (domain.events: instants
# before 2036, time limits <= 1000 days, pause shifts of at most 26 years of working days).
LAST_YEAR = 2070


def local_day_number(ms: int) -> int:
    """Epoch millis -> local (UTC+7) date ordinal."""
    return (ms + VN_OFFSET_MS) // MS_PER_DAY + _EPOCH_ORDINAL


def local_date(ms: int) -> date:
    return date.fromordinal(local_day_number(ms))


def local_midnight_ms(d: date) -> int:
    """The instant local day ``d`` starts, in epoch millis."""
    return (d.toordinal() - _EPOCH_ORDINAL) * MS_PER_DAY - VN_OFFSET_MS


def end_of_local_day_ms(d: date) -> int:
    """23:59:59.999 local on ``d``."""
    return local_midnight_ms(d) + MS_PER_DAY - 1


def to_local_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=VN_TZ)


class WorkingCalendar:
    """Working days of Vietnam with overrides. Dates are ``datetime.date`` or ordinals."""

    def __init__(
        self,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        first_year: int = FIRST_YEAR,
        last_year: int = LAST_YEAR,
    ):
        vn = holidays.country_holidays("VN", years=range(first_year, last_year + 1))
        days_off = {d.toordinal() for d in extra_days_off}
        working_extra = {d.toordinal() for d in extra_working_days}
        self.first = date(first_year, 1, 1).toordinal()
        self.last = date(last_year, 12, 31).toordinal()
        self.extra_days_off = frozenset(days_off)
        self.extra_working_days = frozenset(working_extra)
        working: list[int] = []
        cumulative: list[int] = []
        count = 0
        for o in range(self.first, self.last + 1):
            if o in working_extra:
                is_working = True
            elif o in days_off:
                is_working = False
            else:
                is_working = vn.is_working_day(date.fromordinal(o))
            if is_working:
                count += 1
                working.append(o)
            cumulative.append(count)
        self._working = working  # ordinals of working days, ascending
        self._cumulative = cumulative  # working days <= ordinal, indexed from self.first
        self._version: str | None = None

    @property
    def version(self) -> str:
        """A short content digest of the working-day table (16 hex digits): two calendars
        with the same working days have the same version, any changed day changes it. The
        store records it per dossier, so stored due dates computed under another calendar
        can be found (``motcua calendar check``) and refolded (``motcua recompute``)."""
        if self._version is None:
            h = hashlib.sha256(f"{self.first}:{self.last}:".encode())
            h.update(b",".join(str(o).encode() for o in self._working))
            self._version = h.hexdigest()[:16]
        return self._version

    def _check(self, o: int) -> int:
        if not self.first <= o <= self.last:
            raise ValueError(f"date {date.fromordinal(o)} outside the calendar's years")
        return o - self.first

    @property
    def working_ordinals(self) -> tuple[int, ...]:
        """Ordinals of the working days from ``first`` to ``last``, ascending (for SQL that
        needs the whole table, e.g. the bulk replay)."""
        return tuple(self._working)

    @property
    def cumulative_counts(self) -> tuple[int, ...]:
        """Working days on or before each ordinal from ``first`` to ``last``."""
        return tuple(self._cumulative)

    def count_upto(self, o: int) -> int:
        """Number of working days on or before ordinal ``o`` (within the table)."""
        return self._cumulative[self._check(o)]

    def is_working_day(self, d: date | int) -> bool:
        o = d if isinstance(d, int) else d.toordinal()
        i = self._check(o)
        prev = self._cumulative[i - 1] if i else 0
        return self._cumulative[i] > prev

    def working_days_between(self, a: date | int, b: date | int) -> int:
        """Working days d with a < d <= b (0 when b <= a)."""
        ao = a if isinstance(a, int) else a.toordinal()
        bo = b if isinstance(b, int) else b.toordinal()
        if bo <= ao:
            return 0
        return self.count_upto(bo) - self.count_upto(ao)

    def add_working_days(self, start: date | int, n: int) -> int:
        """The ordinal of the n-th working day after ``start`` (counting starts on the first
        working day after the start day). n = 0 gives ``start`` itself."""
        so = start if isinstance(start, int) else start.toordinal()
        if n <= 0:
            return so
        idx = self.count_upto(so) + n - 1
        if idx >= len(self._working):
            raise ValueError("due date beyond the calendar's years")
        return self._working[idx]

    def next_working_day(self, d: date | int) -> int:
        """The first working day strictly after ``d``."""
        return self.add_working_days(d, 1)


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """The calendar of the ``holidays`` package with no overrides (shared, built once)."""
    return WorkingCalendar()


def calendar_from_overrides(overrides: dict | None) -> WorkingCalendar:
    """Build a calendar from ``{"days_off": [...], "working_days": [...]}`` (ISO dates)."""
    if not overrides:
        return default_calendar()
    off = [date.fromisoformat(str(d)) for d in overrides.get("days_off", [])]
    work = [date.fromisoformat(str(d)) for d in overrides.get("working_days", [])]
    return WorkingCalendar(off, work)
