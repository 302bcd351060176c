"""Official (15th -> 14th) and calendar reporting periods, parsing and refusals."""

from datetime import date
from itertools import pairwise

import pytest

from motcua.domain.periods import PeriodError, make_period, months_back, parse_period


@pytest.mark.parametrize(
    "text,kind,start,end",
    [
        ("2025-03", None, date(2025, 2, 15), date(2025, 3, 15)),
        ("2025-01", None, date(2024, 12, 15), date(2025, 1, 15)),  # crosses the year
        ("2025-Q1", None, date(2024, 12, 15), date(2025, 3, 15)),
        ("2025-Q3", None, date(2025, 6, 15), date(2025, 9, 15)),
        ("2025-03", "quarter", date(2024, 12, 15), date(2025, 3, 15)),
        ("2025-05", "quarter", date(2025, 3, 15), date(2025, 6, 15)),
        ("2025-H1", None, date(2024, 12, 15), date(2025, 6, 15)),
        ("2025", "6months", date(2024, 12, 15), date(2025, 6, 15)),
        ("2025-9M", None, date(2024, 12, 15), date(2025, 9, 15)),
        ("2025", None, date(2024, 12, 15), date(2025, 12, 15)),
        ("2025-03", "year", date(2024, 12, 15), date(2025, 12, 15)),
    ],
)
def test_official_periods(text, kind, start, end):
    p = parse_period(text, kind)
    assert (p.start, p.end) == (start, end)
    assert p.last_day == date.fromordinal(end.toordinal() - 1)  # the 14th


@pytest.mark.parametrize(
    "text,start,end",
    [
        ("2025-03", date(2025, 3, 1), date(2025, 4, 1)),
        ("2025-12", date(2025, 12, 1), date(2026, 1, 1)),
        ("2025-Q1", date(2025, 1, 1), date(2025, 4, 1)),
        ("2025-Q4", date(2025, 10, 1), date(2026, 1, 1)),
        ("2025", date(2025, 1, 1), date(2026, 1, 1)),
    ],
)
def test_calendar_periods(text, start, end):
    p = parse_period(text, official=False)
    assert (p.start, p.end) == (start, end)


def test_labels_codes_and_previous():
    p = parse_period("2025-03")
    assert p.label_vi == "tháng 03/2025"
    assert p.range_vi == "từ ngày 15/02/2025 đến ngày 14/03/2025"
    assert p.code == "2025-03"
    assert p.previous().code == "2025-02" and p.previous().start == date(2025, 1, 15)
    assert parse_period("2025-01").previous().code == "2024-12"
    assert parse_period("2025-Q1").label_vi == "quý I/2025"
    assert parse_period("2025-Q1").previous().code == "2024-Q4"
    assert [x.code for x in months_back(p, 3)] == ["2025-01", "2025-02", "2025-03"]
    # consecutive official months tile the time line without gaps or overlaps
    ms = months_back(make_period("month", 2025, 12), 12)
    assert all(a.end == b.start for a, b in pairwise(ms))
    assert ms[0].start == make_period("year", 2025).start and ms[-1].end == make_period("year", 2025).end


@pytest.mark.parametrize(
    "text,kind,msg",
    [
        ("2025-13", None, "tháng phải từ 01 đến 12"),
        ("2025-00", None, "tháng phải từ 01 đến 12"),
        ("03/2025", None, "không hợp lệ"),
        ("", None, "không hợp lệ"),
        ("2025-Q5", None, "không hợp lệ"),
        ("2025-Q1", "month", "không khớp"),
        ("2025", "month", "ghi rõ tháng"),
        ("2025-03", "decade", "loại kỳ không hợp lệ"),
    ],
)
def test_malformed_periods_are_refused(text, kind, msg):
    with pytest.raises(PeriodError, match=msg):
        parse_period(text, kind)


def test_future_periods_are_refused_but_a_running_one_is_not():
    today = date(2025, 3, 20)
    with pytest.raises(PeriodError, match="chưa bắt đầu"):
        parse_period("2025-05", today=today)  # starts 15/04
    assert parse_period("2025-04", today=today).start == date(2025, 3, 15)  # running
    with pytest.raises(PeriodError, match="chưa bắt đầu"):
        parse_period("2025-04", official=False, today=today)  # calendar April starts 01/04
