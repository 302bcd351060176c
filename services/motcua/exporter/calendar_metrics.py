"""Whether the working-day calendar is confirmed for the years that matter now.

Published by the exporter beside the KPI snapshot (no store read: the calendar and the
evaluation day are enough), for the alert MotcuaLichNamChuaXacNhan
(deploy/prometheus/rules/motcua-alerts.yml):

- ``motcua_calendar_year_confirmed{year, relative}``: 1 when the year's schedule is
  confirmed (shipped official schedule, or ``confirmed_years`` in the overrides), else 0;
  ``relative`` is ``current`` (the evaluation day's year) or ``next``;
- ``motcua_calendar_next_year_due``: 1 from 1 October, when next year's schedule must be
  confirmed too, else 0.

The same rule as ``motcua calendar check`` (``domain.calendar.required_years``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ..domain.calendar import WorkingCalendar, local_day_number, required_years


def calendar_status(cal: WorkingCalendar, day: date) -> tuple[list[tuple[int, str, bool]], bool]:
    """((year, relative, confirmed) for this year and the next, next year due?)."""
    rows = [
        (day.year, "current", cal.year_confirmed(day.year)),
        (day.year + 1, "next", cal.year_confirmed(day.year + 1)),
    ]
    return rows, (day.year + 1) in required_years(day)


class CalendarCollector(Collector):
    """The calendar gauges for the day ``as_of_ms()`` falls on (local date)."""

    def __init__(self, cal: WorkingCalendar, as_of_ms: Callable[[], int]):
        self.cal = cal
        self.as_of_ms = as_of_ms

    def collect(self):
        day = date.fromordinal(local_day_number(self.as_of_ms()))
        rows, due = calendar_status(self.cal, day)
        confirmed = GaugeMetricFamily(
            "motcua_calendar_year_confirmed",
            "1 when the year's working-day schedule is confirmed (official file or overrides' confirmed_years).",
            labels=["year", "relative"],
        )
        for year, relative, ok in rows:
            confirmed.add_metric([str(year), relative], 1 if ok else 0)
        yield confirmed
        nxt = GaugeMetricFamily(
            "motcua_calendar_next_year_due",
            "1 from 1 October: next year's working-day schedule must be confirmed too.",
        )
        nxt.add_metric([], 1 if due else 0)
        yield nxt


__all__ = ["CalendarCollector", "calendar_status"]
