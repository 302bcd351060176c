"""The Vietnamese working-day calendar, in Asia/Ho_Chi_Minh local dates.

Working days are Monday–Friday minus public holidays (Tết included) plus the official
make-up working Saturdays. Three layers decide a day, each winning over the one before in
both directions (a weekday off, a weekend day on):

1. the ``holidays`` package (pinned; its answer changes between releases);
2. the official schedule (``reference/data/official-calendar.yaml``, passed in here as
   :class:`YearSchedule` data): for a *confirmed* year it is authoritative, i.e. a
   Monday–Friday it does not list as off is a working day and a weekend day is off
   unless listed as a make-up day; the package only decides years the schedule lacks;
3. the operator's overrides (extra days off, extra working days).

This module reads no files and imports no reference data: the product's calendars
(``default_calendar``, ``calendar_from_overrides``) are built in
``motcua.reference.official_calendar``, which passes the shipped schedule in.

Counting is O(1): a table of cumulative working-day counts by date ordinal is built once
for the years in range.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import holidays

# Vietnam has had no DST since 1975: local time is UTC+7, a fixed offset. Using it directly
# avoids zoneinfo lookups on the hot path and is exact for every date we handle.
# The time constants of the package: every module takes them from here.
MS_PER_SECOND = 1000
MS_PER_MINUTE = 60 * MS_PER_SECOND
MS_PER_HOUR = 60 * MS_PER_MINUTE
MS_PER_DAY = 24 * MS_PER_HOUR
VN_OFFSET_MS = 7 * MS_PER_HOUR
VN_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
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


# Kinds of a day that differs from "Mon–Fri works, Sat/Sun rests" (or that a layer decided
# explicitly). "holiday", "compensatory", "swap" and "makeup" are the official file's kinds;
# "off" / "working" are an operator's override or an explicit "this weekday works".
KIND_HOLIDAY, KIND_COMPENSATORY, KIND_SWAP, KIND_MAKEUP = "holiday", "compensatory", "swap", "makeup"
KIND_OFF, KIND_WORKING = "off", "working"
OFF_KINDS = (KIND_HOLIDAY, KIND_COMPENSATORY, KIND_SWAP, KIND_OFF)
WORKING_KINDS = (KIND_MAKEUP, KIND_WORKING)
KINDS = OFF_KINDS + WORKING_KINDS

# Which layer decided a day (see the module docstring).
LAYER_PACKAGE, LAYER_OFFICIAL, LAYER_OVERRIDE = "package", "official", "override"

# From this month on, next year's schedule must be confirmed too (announcements usually
# come in October–December of the year before).
NEXT_YEAR_DUE_MONTH = 10


@dataclass(frozen=True)
class ScheduledDay:
    """One day of a year's official schedule: a weekday off (holiday, compensatory,
    swap) or a weekend make-up working day, or a weekday explicitly decided as working
    (``working``, e.g. a day the package wrongly treats as a holiday)."""

    day: date
    kind: str
    what: str = ""
    source: str = ""

    @property
    def working(self) -> bool:
        return self.kind in WORKING_KINDS


@dataclass(frozen=True)
class YearSchedule:
    """The official schedule of one year. ``confirmed``: the whole year is announced, so
    the schedule is authoritative for it (see the module docstring)."""

    year: int
    confirmed: bool
    days: tuple[ScheduledDay, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class DayDecision:
    """Why a day is (not) a working day: the layer that decided it and, when known, the
    kind, description and source (``calendar show``)."""

    day: date
    working: bool
    layer: str
    kind: str | None = None
    what: str = ""
    source: str = ""


def required_years(as_of: date) -> tuple[int, ...]:
    """The years whose schedule must be confirmed on ``as_of``: the current one and, from
    1 October, the next one."""
    if as_of.month >= NEXT_YEAR_DUE_MONTH:
        return (as_of.year, as_of.year + 1)
    return (as_of.year,)


def _package_kind(name: str) -> str:
    """The kind of a day off the package lists, from its (Vietnamese or English) name."""
    low = name.lower()
    if "nghỉ bù" in low or "observed" in low:
        return KIND_COMPENSATORY
    if "thay cho" in low or "day off (substituted" in low or "substitut" in low:
        return KIND_SWAP
    return KIND_HOLIDAY


class WorkingCalendar:
    """Working days of Vietnam: package < official schedule < overrides (module
    docstring). Dates are ``datetime.date`` or ordinals.

    Without ``official`` this is the bare package (plus overrides): the product builds
    its calendars in ``reference.official_calendar`` (``default_calendar``,
    ``calendar_from_overrides``, ``calendar_with_overrides``), which pass the shipped
    schedule in."""

    def __init__(
        self,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        first_year: int = FIRST_YEAR,
        last_year: int = LAST_YEAR,
        official: Iterable[YearSchedule] = (),
        confirmed_years: Iterable[int] = (),
        override_sources: Mapping[date | int, str] | None = None,
    ):
        vn = holidays.country_holidays("VN", years=range(first_year, last_year + 1))
        days_off = {d.toordinal() for d in extra_days_off}
        working_extra = {d.toordinal() for d in extra_working_days}
        both = days_off & working_extra
        if both:
            raise ValueError(f"override {date.fromordinal(min(both))} is both a day off and a working day")
        schedules: dict[int, YearSchedule] = {}
        for sched in official:
            if sched.year in schedules:
                raise ValueError(f"official schedule: year {sched.year} given twice")
            schedules[sched.year] = sched
        listed: dict[int, ScheduledDay] = {}
        for sched in schedules.values():
            for sd in sched.days:
                if sd.day.year != sched.year:
                    raise ValueError(f"official schedule {sched.year}: {sd.day} belongs to another year")
                if sd.day.toordinal() in listed:
                    raise ValueError(f"official schedule {sched.year}: {sd.day} listed twice")
                listed[sd.day.toordinal()] = sd
        authoritative = {y for y, sc in schedules.items() if sc.confirmed}
        self.first = date(first_year, 1, 1).toordinal()
        self.last = date(last_year, 12, 31).toordinal()
        self.extra_days_off = frozenset(days_off)
        self.extra_working_days = frozenset(working_extra)
        self.official = dict(sorted(schedules.items()))  # year -> YearSchedule
        self.official_days = listed  # ordinal -> ScheduledDay
        # Years vouched for: confirmed in the official file or by the operator's overrides
        # (the overrides' confirmation only vouches; it does not make them authoritative).
        self.override_confirmed_years = frozenset(int(y) for y in confirmed_years)
        self.confirmed_years = frozenset(authoritative) | self.override_confirmed_years
        self.override_sources = dict(override_sources or {})
        self._package = vn
        working: list[int] = []
        cumulative: list[int] = []
        count = 0
        for o in range(self.first, self.last + 1):
            if o in working_extra:
                is_working = True
            elif o in days_off:
                is_working = False
            elif o in listed:
                is_working = listed[o].working
            else:
                d = date.fromordinal(o)
                if d.year in authoritative:
                    is_working = d.weekday() < 5
                else:
                    is_working = vn.is_working_day(d)
            if is_working:
                count += 1
                working.append(o)
            cumulative.append(count)
        self._working = working  # ordinals of working days, ascending
        self._cumulative = cumulative  # working days <= ordinal, indexed from self.first
        self._version: str | None = None
        self._package_vi: holidays.HolidayBase | None = None

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

    # -- where a day comes from (``motcua calendar show``) -------------------------------
    def year_confirmed(self, year: int) -> bool:
        return year in self.confirmed_years

    def package_is_working_day(self, d: date) -> bool:
        """The bare ``holidays`` package's answer (layer 1 alone)."""
        return self._package.is_working_day(d)

    def _package_name(self, d: date) -> str:
        if self._package_vi is None:
            try:
                self._package_vi = holidays.country_holidays(
                    "VN",
                    years=range(date.fromordinal(self.first).year, date.fromordinal(self.last).year + 1),
                    language="vi",
                )
            except (NotImplementedError, KeyError, ValueError):  # no Vietnamese names
                self._package_vi = self._package
        return self._package_vi.get(d) or self._package.get(d) or ""

    def decision(self, d: date | int) -> DayDecision:
        """Whether ``d`` works and which layer decided it, with what the layer says."""
        o = d if isinstance(d, int) else d.toordinal()
        self._check(o)
        day = date.fromordinal(o)
        working = self.is_working_day(o)
        if o in self.extra_working_days or o in self.extra_days_off:
            kind = KIND_WORKING if working else KIND_OFF
            listed = self.official_days.get(o)
            if not working and listed is not None and not listed.working:
                kind = listed.kind  # the override repeats an official day off
            elif not working and day.weekday() < 5 and not self._package.is_working_day(day):
                kind = _package_kind(self._package_name(day))
            elif working and day.weekday() >= 5:
                kind = KIND_MAKEUP
            source = self.override_sources.get(day) or self.override_sources.get(day.year) or ""
            what = (
                listed.what
                if listed is not None and listed.working == working
                else (self._package_name(day) if not working else "")
                or (
                    "Ngày nghỉ theo cấu hình của tỉnh"
                    if not working
                    else "Ngày làm việc theo cấu hình của tỉnh"
                )
            )
            return DayDecision(day, working, LAYER_OVERRIDE, kind, what, source)
        listed = self.official_days.get(o)
        if listed is not None:
            return DayDecision(day, working, LAYER_OFFICIAL, listed.kind, listed.what, listed.source)
        sched = self.official.get(day.year)
        if sched is not None and sched.confirmed:
            return DayDecision(day, working, LAYER_OFFICIAL)
        if working == (day.weekday() < 5):
            return DayDecision(day, working, LAYER_PACKAGE)
        name = self._package_name(day)
        kind = KIND_MAKEUP if working else _package_kind(name)
        return DayDecision(
            day,
            working,
            LAYER_PACKAGE,
            kind,
            name,
            f"gói holidays {getattr(holidays, '__version__', '')}".strip(),
        )

    def year_decisions(self, year: int) -> list[DayDecision]:
        """The days of ``year`` that break "Mon–Fri works, Sat/Sun rests" (weekdays off,
        weekend working days), plus weekdays a layer decided against the package (e.g.
        2026-11-24, off in the package, working in the official schedule)."""
        out = []
        d = date(year, 1, 1)
        while d.year == year:
            dec = self.decision(d)
            if dec.working != (d.weekday() < 5):
                out.append(dec)
            elif dec.layer != LAYER_PACKAGE and dec.working != self._package.is_working_day(d):
                listed = self.official_days.get(d.toordinal())
                if listed is None and dec.layer == LAYER_OFFICIAL:
                    name = self._package_name(d)
                    dec = DayDecision(
                        d,
                        dec.working,
                        dec.layer,
                        KIND_WORKING,
                        name,
                        "lịch chính thức của năm không có ngày nghỉ này",
                    )
                out.append(dec)
            d += timedelta(days=1)
        return out

    def departures(self) -> tuple[list[int], list[int]]:
        """The ordinals where this calendar departs from "Mon–Fri works, Sat/Sun rests",
        from ``first`` to ``last``: (weekdays off, weekend working days). What the store
        records of a calendar, so a later one can be compared with it day by day."""
        off, on = [], []
        for o in range(self.first, self.last + 1):
            weekday = date.fromordinal(o).weekday() < 5
            working = self.is_working_day(o)
            if weekday and not working:
                off.append(o)
            elif working and not weekday:
                on.append(o)
        return off, on

    def working_days_in_year(self, year: int) -> int:
        end = self.count_upto(date(year, 12, 31).toordinal())
        before = date(year, 1, 1).toordinal() - 1
        return end - (self.count_upto(before) if before >= self.first else 0)
