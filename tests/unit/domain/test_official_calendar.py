"""The product calendar against the official schedule 2022–2026, date by date.

OFF and MAKEUP are written from the announcements (docs/calendar.md#official-schedule),
not read from reference/data/official-calendar.yaml, so a wrong or missing line in the
shipped file fails here.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.domain.calendar import (
    KIND_COMPENSATORY,
    KIND_HOLIDAY,
    KIND_MAKEUP,
    KIND_SWAP,
    LAYER_OFFICIAL,
    LAYER_OVERRIDE,
    LAYER_PACKAGE,
    WorkingCalendar,
    required_years,
)
from motcua.domain.lifecycle import LATE, ON_TIME, derive_facts, fold
from motcua.reference.official_calendar import (
    CalendarDataError,
    calendar_with_overrides,
    default_calendar,
    official_schedule,
    package_calendar,
    parse_official,
    parse_overrides,
)
from tests.builders import local_ms, make_event, received


def _span(a: date, b: date) -> list[date]:
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


H, C, S = KIND_HOLIDAY, KIND_COMPENSATORY, KIND_SWAP
# Weekdays off, by the reference's type (H holiday, C compensatory, S swap; "H/C" rows of
# the reference are split by its notes: the Tết days on a weekday are holidays, the days
# given back for Tết days on Saturday/Sunday are compensatory).
OFF: dict[date, str] = {}
for _d, _k in [
    # 2022
    (date(2022, 1, 3), C),
    *[(d, H) for d in _span(date(2022, 1, 31), date(2022, 2, 4))],
    (date(2022, 4, 11), C),
    (date(2022, 5, 2), C),
    (date(2022, 5, 3), C),
    (date(2022, 9, 1), H),
    (date(2022, 9, 2), H),
    # 2023
    (date(2023, 1, 2), C),
    (date(2023, 1, 20), C),
    (date(2023, 1, 23), H),
    (date(2023, 1, 24), H),
    (date(2023, 1, 25), H),
    (date(2023, 1, 26), C),
    (date(2023, 5, 1), H),
    (date(2023, 5, 2), C),
    (date(2023, 5, 3), C),
    (date(2023, 9, 1), H),
    (date(2023, 9, 4), C),
    # 2024
    (date(2024, 1, 1), H),
    (date(2024, 2, 8), C),
    (date(2024, 2, 9), H),
    (date(2024, 2, 12), H),
    (date(2024, 2, 13), H),
    (date(2024, 2, 14), C),
    (date(2024, 4, 18), H),
    (date(2024, 4, 29), S),
    (date(2024, 4, 30), H),
    (date(2024, 5, 1), H),
    (date(2024, 9, 2), H),
    (date(2024, 9, 3), H),
    # 2025
    (date(2025, 1, 1), H),
    *[(d, H) for d in _span(date(2025, 1, 27), date(2025, 1, 31))],
    (date(2025, 4, 7), H),
    (date(2025, 4, 30), H),
    (date(2025, 5, 1), H),
    (date(2025, 5, 2), S),
    (date(2025, 9, 1), H),
    (date(2025, 9, 2), H),
    # 2026
    (date(2026, 1, 1), H),
    (date(2026, 1, 2), S),
    *[(d, H) for d in _span(date(2026, 2, 16), date(2026, 2, 20))],
    (date(2026, 4, 27), C),
    (date(2026, 4, 30), H),
    (date(2026, 5, 1), H),
    (date(2026, 8, 31), S),
    (date(2026, 9, 1), H),
    (date(2026, 9, 2), H),
]:
    OFF[_d] = _k
MAKEUP = {date(2024, 5, 4), date(2025, 4, 26), date(2026, 1, 10), date(2026, 8, 22)}
FIRST, LAST = date(2022, 1, 1), date(2026, 12, 31)
ALL_DAYS = _span(FIRST, LAST)

cal = default_calendar()


def official_working(d: date) -> bool:
    """The reference's rule, independent of the code under test."""
    return d in MAKEUP or (d.weekday() < 5 and d not in OFF)


def oracle_add(start: date, n: int) -> date:
    d = start
    while n > 0:
        d += timedelta(days=1)
        n -= official_working(d)
    return d


def test_the_reference_table_is_consistent():
    assert all(d.weekday() < 5 for d in OFF) and all(d.weekday() >= 5 for d in MAKEUP)
    assert [sum(d.year == y for d in OFF) for y in range(2022, 2027)] == [11, 11, 12, 12, 13]


def test_every_day_2022_2026_matches_the_official_schedule():
    wrong = [d for d in ALL_DAYS if cal.is_working_day(d) != official_working(d)]
    assert wrong == []
    for d in OFF:
        assert not cal.is_working_day(d), d
    for d in MAKEUP:
        assert cal.is_working_day(d), d


def test_working_day_counts_per_year_match_the_reference():
    for year in range(2022, 2027):
        expected = sum(official_working(d) for d in ALL_DAYS if d.year == year)
        assert cal.working_days_in_year(year) == expected


def test_the_shipped_file_lists_exactly_the_reference_days_with_their_kinds():
    listed = {sd.day: sd.kind for y in official_schedule() for sd in y.days if not sd.working}
    makeup = {sd.day for y in official_schedule() for sd in y.days if sd.kind == KIND_MAKEUP}
    assert listed == OFF
    assert makeup == MAKEUP
    for y in official_schedule():
        assert y.confirmed and 2022 <= y.year <= 2026
        assert all(sd.source and sd.what for sd in y.days)


def test_the_official_file_beats_the_package_both_ways_in_2026():
    pkg = package_calendar()
    # the package lacks the New Year swap (12729/VPCP-KGVX) and has 24/11 as a day off
    assert pkg.is_working_day(date(2026, 1, 2)) and not cal.is_working_day(date(2026, 1, 2))
    assert not pkg.is_working_day(date(2026, 1, 10)) and cal.is_working_day(date(2026, 1, 10))
    assert not pkg.is_working_day(date(2026, 11, 24)) and cal.is_working_day(date(2026, 11, 24))
    dec = cal.decision(date(2026, 11, 24))
    assert dec.working and dec.layer == LAYER_OFFICIAL and "80-NQ/TW" in dec.source
    assert cal.decision(date(2026, 1, 10)).kind == KIND_MAKEUP
    assert "12729/VPCP-KGVX" in cal.decision(date(2026, 1, 2)).source
    # only those three days differ from the package, 2022-2026
    assert [d for d in ALL_DAYS if pkg.is_working_day(d) != cal.is_working_day(d)] == [
        date(2026, 1, 2),
        date(2026, 1, 10),
        date(2026, 11, 24),
    ]
    assert pkg.version != cal.version


def test_years_without_an_official_schedule_follow_the_package():
    pkg = package_calendar()
    for d in _span(date(2027, 1, 1), date(2027, 12, 31)) + _span(date(2019, 1, 1), date(2019, 12, 31)):
        assert cal.is_working_day(d) == pkg.is_working_day(d), d
    assert cal.decision(date(2027, 11, 24)).layer == LAYER_PACKAGE
    assert not cal.year_confirmed(2027) and all(cal.year_confirmed(y) for y in range(2022, 2027))


# -- dossiers folded with the calendar --------------------------------------------------------


def _facts(events):
    return derive_facts(fold(events[0]["dossier_id"], events), cal)


def _outcome(rec_day: date, days: int, resolved_day: date, hh: int = 16) -> tuple[date, str]:
    rec = received("D", local_ms(rec_day.year, rec_day.month, rec_day.day, 9), days=days)
    res = make_event(
        "D", 9, "RESOLVED", local_ms(resolved_day.year, resolved_day.month, resolved_day.day, hh)
    )
    f = _facts([rec, res])
    return date.fromordinal(f["due_date"]), f["outcome"]


def test_the_issue_examples():
    # received Wed 31/12/2025, 2 working days: 01/01 holiday, 02/01 swap, weekend -> Mon 05, Tue 06
    due, outcome = _outcome(date(2025, 12, 31), 2, date(2026, 1, 6))
    assert due == date(2026, 1, 6) and outcome == ON_TIME
    # received Fri 09/01/2026, 1 working day: due the make-up Saturday 10/01 -> Monday is late
    due, outcome = _outcome(date(2026, 1, 9), 1, date(2026, 1, 12))
    assert due == date(2026, 1, 10) and outcome == LATE
    assert _outcome(date(2026, 1, 9), 1, date(2026, 1, 10), hh=11)[1] == ON_TIME


def _previous_working_day(d: date) -> date:
    d -= timedelta(days=1)
    while not official_working(d):
        d -= timedelta(days=1)
    return d


@pytest.mark.parametrize("listed", sorted(set(OFF) | MAKEUP), ids=lambda d: d.isoformat())
def test_dossiers_around_each_listed_day_are_on_time_on_the_official_due_date_and_late_the_next_working_day(
    listed,
):
    rec_day = _previous_working_day(listed)
    for n in (1, 2, 3):
        expected_due = oracle_add(rec_day, n)
        due, outcome = _outcome(rec_day, n, expected_due)
        assert due == expected_due and outcome == ON_TIME, (rec_day, n)
        due, outcome = _outcome(rec_day, n, oracle_add(expected_due, 1), hh=8)
        assert outcome == LATE, (rec_day, n)


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=date(2021, 12, 1), max_value=date(2026, 10, 31)), st.integers(0, 30)
)  # results stay in 2022-2026
def test_add_working_days_matches_the_official_schedule(start, n):
    assert date.fromordinal(cal.add_working_days(start, n)) == oracle_add(start, n)


# -- overrides over the official file -------------------------------------------------------


def test_overrides_win_over_the_official_file_in_both_directions():
    c = calendar_with_overrides(
        {"days_off": ["2026-11-24", date(2026, 3, 3)], "working_days": ["2026-01-03", date(2026, 2, 16)]}
    )
    assert not c.is_working_day(date(2026, 11, 24))  # the file says working -> a province's notice
    assert not c.is_working_day(date(2026, 3, 3))  # an ordinary Tuesday
    assert c.is_working_day(date(2026, 1, 3))  # a Saturday the file leaves off
    assert c.is_working_day(date(2026, 2, 16))  # a Tết day of the file
    assert c.decision(date(2026, 11, 24)).layer == LAYER_OVERRIDE
    assert c.decision(date(2026, 1, 3)).kind == KIND_MAKEUP
    # everything else stays official
    changed = {date(2026, 11, 24), date(2026, 3, 3), date(2026, 1, 3), date(2026, 2, 16)}
    assert all(c.is_working_day(d) == official_working(d) for d in ALL_DAYS if d not in changed)
    assert c.version != cal.version


def test_override_confirmed_years_vouch_without_dropping_the_package():
    c = calendar_with_overrides(
        {
            "working_days": ["2027-02-06"],
            "days_off": ["2027-02-11"],
            "confirmed_years": [2027],
            "sources": {2027: "Thông báo 1/TB-BNV ngày 15/10/2026"},
        }
    )
    assert c.year_confirmed(2027) and not cal.year_confirmed(2027)
    assert c.is_working_day(date(2027, 2, 6)) and not c.is_working_day(date(2027, 2, 11))
    assert not c.is_working_day(date(2027, 4, 30))  # the package's 30/4 stays
    assert c.decision(date(2027, 2, 6)).source == "Thông báo 1/TB-BNV ngày 15/10/2026"


def test_no_overrides_is_the_default_calendar():
    assert calendar_with_overrides({}).version == cal.version
    assert WorkingCalendar(official=official_schedule()).version == cal.version


@pytest.mark.parametrize(
    "data, needle",
    [
        ({"days_off": ["2026-02-30"]}, "days_off[0]"),
        ({"days_off": ["2026-03-03"], "working_days": ["2026-03-03"]}, "vừa ở days_off vừa ở working_days"),
        ({"day_off": ["2026-03-03"]}, "mục lạ day_off"),
        ({"confirmed_years": ["hai"]}, "confirmed_years[0]"),
        ({"days_off": "2026-03-03"}, "phải là một danh sách"),
        ({"sources": {2027: ""}}, "sources[2027]"),
    ],
)
def test_bad_overrides_name_the_entry(data, needle):
    with pytest.raises(CalendarDataError) as err:
        parse_overrides(data, "cal.yaml")
    assert needle in err.value.message and err.value.message.startswith("cal.yaml")


def _official(days, confirmed=True, year=2030):
    return {"years": {year: {"confirmed": confirmed, "days": days}}}


@pytest.mark.parametrize(
    "data, needle",
    [
        (
            _official(
                [
                    {"date": "2030-01-05", "kind": "makeup", "what": "x", "source": "y"},
                    {"date": "2030-01-07", "kind": "makeup", "what": "x", "source": "y"},
                ]
            ),
            "days[1] (2030-01-07): ngày làm bù phải là thứ Bảy",
        ),
        (
            _official([{"date": "2030-01-05", "kind": "holiday", "what": "x", "source": "y"}]),
            "ngày nghỉ hằng tuần",
        ),
        (
            _official([{"date": "2031-01-01", "kind": "holiday", "what": "x", "source": "y"}]),
            "không thuộc năm 2030",
        ),
        (_official([{"date": "2030-01-01", "kind": "nghi", "what": "x", "source": "y"}]), "kind 'nghi'"),
        (_official([{"date": "2030-01-01", "kind": "holiday", "what": "x"}]), "source"),
        (_official([], confirmed="yes"), "confirmed phải là true hoặc false"),
    ],
)
def test_bad_official_entries_name_the_entry(data, needle):
    with pytest.raises(CalendarDataError) as err:
        parse_official(data, "official.yaml")
    assert needle in err.value.message


def test_the_shipped_file_parses_and_2027_is_not_there_yet():
    from importlib import resources

    text = (
        resources.files("motcua.reference")
        .joinpath("data", "official-calendar.yaml")
        .read_text(encoding="utf-8")
    )
    years = {y.year for y in parse_official(yaml.safe_load(text))}
    assert years == {2022, 2023, 2024, 2025, 2026}


def test_required_years_include_the_next_from_october():
    assert required_years(date(2026, 9, 30)) == (2026,)
    assert required_years(date(2026, 10, 1)) == (2026, 2027)
    assert required_years(date(2026, 12, 1)) == (2026, 2027)
    assert required_years(date(2027, 1, 1)) == (2027,)


_days_2026 = st.dates(min_value=date(2025, 12, 1), max_value=date(2027, 1, 31))


@settings(max_examples=30, deadline=None)
@given(st.sets(_days_2026, max_size=8), st.sets(_days_2026, max_size=8))
def test_each_override_wins_and_nothing_else_moves(off, on):
    on = on - off
    c = calendar_with_overrides({"days_off": sorted(off), "working_days": sorted(on)})
    for d in _span(date(2025, 12, 1), date(2027, 1, 31)):
        expected = True if d in on else False if d in off else cal.is_working_day(d)
        assert c.is_working_day(d) is expected, d
        assert c.decision(d).layer == (LAYER_OVERRIDE if d in on | off else cal.decision(d).layer)
    assert (c.version == cal.version) == all(cal.is_working_day(d) == (d in on) for d in on | off)
