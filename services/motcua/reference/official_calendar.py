"""The official working-day schedule shipped with the package, and the operator's overrides.

``reference/data/official-calendar.yaml`` lists, per year, every weekday off (holiday,
compensatory day, swapped day) and every make-up working day with its source, and whether
the year is confirmed (see the file's header). :func:`official_schedule` parses and checks
it into :class:`motcua.domain.calendar.YearSchedule` data, which the domain calendar
layers between the ``holidays`` package and the overrides.

The overrides file (``MOTCUA_CALENDAR_OVERRIDES``) keeps its format and may vouch for a
year the release does not know yet::

    days_off: [2026-11-24]            # weekdays off (a province's own notice)
    working_days: [2027-02-06]        # weekend days that work (make-up days)
    confirmed_years: [2027]           # years whose schedule the operator has entered
    sources:                          # optional: where a year or a day comes from
      2027: "Thông báo 1234/TB-BNV ngày 15/10/2026"
      2026-11-24: "Công văn 567/UBND-KGVX ngày 10/11/2026"

Errors are :class:`CalendarDataError` with a Vietnamese message that names the entry.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any

from ..domain.calendar import (
    KIND_COMPENSATORY,
    KIND_HOLIDAY,
    KIND_MAKEUP,
    KIND_SWAP,
    KIND_WORKING,
    ScheduledDay,
    WorkingCalendar,
    YearSchedule,
)

DATA_FILE = "official-calendar.yaml"
OFFICIAL_KINDS = (KIND_HOLIDAY, KIND_COMPENSATORY, KIND_SWAP, KIND_MAKEUP)
OVERRIDE_KEYS = ("days_off", "working_days", "confirmed_years", "sources")
WEEKDAY_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")

__all__ = [
    "DATA_FILE",
    "CalendarDataError",
    "Overrides",
    "calendar_with_overrides",
    "official_schedule",
    "parse_official",
    "parse_overrides",
]


class CalendarDataError(ValueError):
    """A calendar file entry that cannot be used; ``message`` is one Vietnamese line."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _as_date(value: Any, where: str) -> date:
    if isinstance(value, date):  # YAML reads unquoted ISO dates as dates
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise CalendarDataError(f"{where}: {value!r} không phải ngày (YYYY-MM-DD)") from None


def _as_year(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise CalendarDataError(f"{where}: {value!r} không phải năm (ví dụ 2027)")
    try:
        year = int(value)
    except ValueError:
        raise CalendarDataError(f"{where}: {value!r} không phải năm (ví dụ 2027)") from None
    if not 1900 <= year <= 2200:
        raise CalendarDataError(f"{where}: năm {year} không hợp lệ")
    return year


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CalendarDataError(f"{where}: thiếu nội dung (chuỗi văn bản)")
    return " ".join(value.split())


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CalendarDataError(f"{where}: phải là một danh sách")
    return value


def _dmy(d: date) -> str:
    return f"{d:%d/%m/%Y} ({WEEKDAY_VI[d.weekday()]})"


# -- the official file ---------------------------------------------------------------------


def parse_official(data: Any, name: str = DATA_FILE) -> tuple[YearSchedule, ...]:
    """Check and convert the parsed official file (see its header)."""
    if not isinstance(data, dict) or not isinstance(data.get("years"), dict):
        raise CalendarDataError(f"{name}: thiếu mục years")
    out = []
    seen: set[date] = set()
    for key, entry in data["years"].items():
        year = _as_year(key, f"{name}: years")
        where = f"{name}: năm {year}"
        if not isinstance(entry, dict):
            raise CalendarDataError(f"{where}: phải là một bảng (confirmed, sources, days)")
        unknown = set(entry) - {"confirmed", "sources", "days", "not_days_off"}
        if unknown:
            raise CalendarDataError(f"{where}: mục lạ {', '.join(sorted(map(str, unknown)))}")
        confirmed = entry.get("confirmed")
        if not isinstance(confirmed, bool):
            raise CalendarDataError(f"{where}: confirmed phải là true hoặc false")
        sources = tuple(
            _text(s, f"{where}, sources[{i}]")
            for i, s in enumerate(_list(entry.get("sources"), f"{where}, sources"))
        )
        days = []
        for section in ("days", "not_days_off"):
            for i, item in enumerate(_list(entry.get(section), f"{where}, {section}")):
                at = f"{where}, {section}[{i}]"
                if not isinstance(item, dict):
                    raise CalendarDataError(f"{at}: phải là một bảng (date, kind, what, source)")
                d = _as_date(item.get("date"), f"{at}, date")
                at = f"{where}, {section}[{i}] ({d.isoformat()})"
                if d.year != year:
                    raise CalendarDataError(f"{at}: ngày không thuộc năm {year}")
                if d in seen:
                    raise CalendarDataError(f"{at}: ngày đã có ở trên")
                seen.add(d)
                what = _text(item.get("what"), f"{at}, what")
                if section == "days":
                    kind = item.get("kind")
                    if kind not in OFFICIAL_KINDS:
                        raise CalendarDataError(
                            f"{at}: kind {kind!r} không hợp lệ (một trong {', '.join(OFFICIAL_KINDS)})"
                        )
                    source = _text(item.get("source"), f"{at}, source")
                    if kind == KIND_MAKEUP and d.weekday() < 5:
                        raise CalendarDataError(
                            f"{at}: ngày làm bù phải là thứ Bảy hoặc Chủ nhật, {_dmy(d)} không phải"
                        )
                    if kind != KIND_MAKEUP and d.weekday() >= 5:
                        raise CalendarDataError(
                            f"{at}: chỉ ghi ngày nghỉ rơi vào thứ Hai–thứ Sáu, {_dmy(d)} là ngày nghỉ hằng tuần"
                        )
                else:
                    kind = KIND_WORKING
                    source = _text(item.get("reason"), f"{at}, reason")
                    if d.weekday() >= 5:
                        raise CalendarDataError(
                            f"{at}: not_days_off chỉ ghi ngày thứ Hai–thứ Sáu, {_dmy(d)} không phải"
                        )
                days.append(ScheduledDay(d, kind, what, source))
        out.append(YearSchedule(year, confirmed, tuple(sorted(days, key=lambda s: s.day)), sources))
    return tuple(sorted(out, key=lambda s: s.year))


@lru_cache(maxsize=1)
def official_schedule() -> tuple[YearSchedule, ...]:
    """The official schedule shipped in ``reference/data/official-calendar.yaml``."""
    import yaml

    text = resources.files(__package__).joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return parse_official(yaml.safe_load(text))


# -- the operator's overrides --------------------------------------------------------------


class Overrides:
    """The parsed overrides file: days off, working days, confirmed years, sources (keyed
    by a year or a date)."""

    def __init__(self, days_off=(), working_days=(), confirmed_years=(), sources=None):
        self.days_off = tuple(days_off)
        self.working_days = tuple(working_days)
        self.confirmed_years = tuple(confirmed_years)
        self.sources = dict(sources or {})


def parse_overrides(data: Any, name: str = "tệp cấu hình lịch") -> Overrides:
    """Check the parsed overrides YAML (module docstring); ``name`` prefixes errors."""
    if data is None:
        return Overrides()
    if not isinstance(data, dict):
        raise CalendarDataError(f"{name}: phải là một bảng với các mục {', '.join(OVERRIDE_KEYS)}")
    unknown = set(data) - set(OVERRIDE_KEYS)
    if unknown:
        raise CalendarDataError(
            f"{name}: mục lạ {', '.join(sorted(map(str, unknown)))} (chỉ dùng {', '.join(OVERRIDE_KEYS)})"
        )
    lists = {}
    for key in ("days_off", "working_days"):
        days = []
        for i, v in enumerate(_list(data.get(key), f"{name}: {key}")):
            d = _as_date(v, f"{name}: {key}[{i}]")
            if d in days:
                raise CalendarDataError(f"{name}: {key}[{i}]: ngày {_dmy(d)} ghi hai lần")
            days.append(d)
        lists[key] = days
    both = sorted(set(lists["days_off"]) & set(lists["working_days"]))
    if both:
        raise CalendarDataError(f"{name}: ngày {_dmy(both[0])} vừa ở days_off vừa ở working_days")
    years = [
        _as_year(v, f"{name}: confirmed_years[{i}]")
        for i, v in enumerate(_list(data.get("confirmed_years"), f"{name}: confirmed_years"))
    ]
    sources: dict = {}
    raw = data.get("sources") or {}
    if not isinstance(raw, dict):
        raise CalendarDataError(f"{name}: sources phải là một bảng (năm hoặc ngày: văn bản)")
    for k, v in raw.items():
        when: date | int = (
            k
            if isinstance(k, date)
            else (
                _as_year(k, f"{name}: sources")
                if isinstance(k, int) or (isinstance(k, str) and k.strip().isdigit())
                else _as_date(k, f"{name}: sources")
            )
        )
        sources[when] = _text(v, f"{name}: sources[{k}]")
    return Overrides(lists["days_off"], lists["working_days"], years, sources)


def calendar_with_overrides(
    data: Any, name: str = "tệp cấu hình lịch", official: tuple[YearSchedule, ...] | None = None
) -> WorkingCalendar:
    """The product's calendar: package < official schedule < these overrides."""
    ov = data if isinstance(data, Overrides) else parse_overrides(data, name)
    return WorkingCalendar(
        ov.days_off,
        ov.working_days,
        official=official_schedule() if official is None else official,
        confirmed_years=ov.confirmed_years,
        override_sources=ov.sources,
    )


# -- the product's calendars (built from the data above) ------------------------------


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """The product's calendar with no operator overrides: the ``holidays`` package under
    the shipped official schedule (shared, built once)."""
    return WorkingCalendar(official=official_schedule())


@lru_cache(maxsize=1)
def package_calendar() -> WorkingCalendar:
    """The bare ``holidays`` package, without the official schedule: only for tests and
    comparisons that explicitly want the package's answer."""
    return WorkingCalendar()


def calendar_from_overrides(overrides: dict | None) -> WorkingCalendar:
    """The product's calendar under an operator's overrides, given as the parsed YAML
    ``{"days_off": [...], "working_days": [...], "confirmed_years": [...], "sources": {...}}``
    (ISO dates; see ``parse_overrides``)."""
    if not overrides:
        return default_calendar()
    return calendar_with_overrides(overrides)
