from datetime import date

from motcua.domain.calendar import WorkingCalendar, local_date, local_midnight_ms
from motcua.reference.official_calendar import default_calendar

cal = default_calendar()


def test_tet_2025_is_not_working():
    for d in range(27, 32):
        assert not cal.is_working_day(date(2025, 1, d))
    assert not cal.is_working_day(date(2025, 2, 1))
    assert cal.is_working_day(date(2025, 2, 3))


def test_make_up_saturday_2025_04_26_is_working_and_may_2_is_off():
    assert cal.is_working_day(date(2025, 4, 26))
    assert not cal.is_working_day(date(2025, 5, 2))
    assert not cal.is_working_day(date(2025, 4, 19))  # an ordinary Saturday


def test_add_working_days_counts_from_the_day_after():
    # Friday 24/01/2025, 3 working days across Tết -> 03, 04, 05/02
    assert date.fromordinal(cal.add_working_days(date(2025, 1, 24), 3)) == date(2025, 2, 5)
    # Thursday 24/04/2025, 2 working days -> Fri 25, make-up Sat 26
    assert date.fromordinal(cal.add_working_days(date(2025, 4, 24), 2)) == date(2025, 4, 26)
    # Tuesday 29/04/2025, 1 working day -> 30/4, 1/5, 2/5 off, weekend -> Mon 05/05
    assert date.fromordinal(cal.add_working_days(date(2025, 4, 29), 1)) == date(2025, 5, 5)
    assert cal.add_working_days(date(2025, 3, 3), 0) == date(2025, 3, 3).toordinal()


def test_working_days_between_is_half_open():
    assert cal.working_days_between(date(2025, 3, 5), date(2025, 3, 10)) == 3  # 6, 7, 10
    assert cal.working_days_between(date(2025, 3, 10), date(2025, 3, 5)) == 0


def test_overrides_add_days_off_and_working_days():
    c = WorkingCalendar(
        extra_days_off=[date(2025, 3, 4)],
        extra_working_days=[date(2025, 3, 8)],
        first_year=2024,
        last_year=2026,
    )
    assert not c.is_working_day(date(2025, 3, 4))
    assert c.is_working_day(date(2025, 3, 8))
    # from Mon 03/03: 5 (4 is off), 6, 7, Sat 8 -> 4th working day is the 8th
    assert date.fromordinal(c.add_working_days(date(2025, 3, 3), 4)) == date(2025, 3, 8)


def test_local_dates_are_utc_plus_7():
    assert local_date(local_midnight_ms(date(2025, 4, 1))) == date(2025, 4, 1)
    assert local_date(local_midnight_ms(date(2025, 4, 1)) - 1) == date(2025, 3, 31)


def test_default_calendar_has_the_official_2026_schedule_over_the_package():
    from motcua.reference.official_calendar import package_calendar

    pkg = package_calendar()
    for day, official in ((date(2026, 1, 2), False), (date(2026, 1, 10), True), (date(2026, 11, 24), True)):
        assert cal.is_working_day(day) is official and pkg.is_working_day(day) is not official


def test_overrides_beat_the_official_schedule_both_ways():
    from motcua.reference.official_calendar import calendar_from_overrides

    c = calendar_from_overrides({"days_off": ["2026-01-05"], "working_days": ["2026-01-03"]})
    assert not c.is_working_day(date(2026, 1, 5))  # a Monday the official file leaves working
    assert c.is_working_day(date(2026, 1, 3))  # a Saturday the official file leaves off
    assert not c.is_working_day(date(2026, 1, 2)) and c.is_working_day(date(2026, 1, 10))  # the rest stays
    assert c.version != cal.version
