"""KPI rows on hand-computed scenarios (period boundaries, carried over, TD1)."""

from datetime import date

from motcua.domain.formatting import fmt_int, fmt_percent
from motcua.domain.lifecycle import derive_facts, fold
from motcua.domain.metrics import METRIC_IDS, kpi_rows
from motcua.domain.periods import Period
from motcua.reference.official_calendar import default_calendar
from tests.builders import local_ms, make_event, received

cal = default_calendar()
MARCH = Period(date(2025, 3, 1), date(2025, 4, 1))


def facts(*histories):
    return [derive_facts(fold(h[0]["dossier_id"], h), cal) for h in histories]


def test_march_scenario():
    rows = kpi_rows(
        facts(
            # carried over from February, resolved late in March
            [
                received("C1", local_ms(2025, 2, 25), days=2, channel="DIRECT"),
                make_event("C1", 2, "RESOLVED", local_ms(2025, 3, 3)),
            ],
            # carried over, ended in February: not counted at all in March
            [
                received("C2", local_ms(2025, 2, 3), days=2),
                make_event("C2", 2, "RESOLVED", local_ms(2025, 2, 4)),
            ],
            # received in March, early, online with fee paid online
            [
                received("M1", local_ms(2025, 3, 3), days=3, has_fee=True),
                make_event(
                    "M1", 2, "PAYMENT_COMPLETED", local_ms(2025, 3, 3), method="ONLINE_LOCAL", amount_vnd=1
                ),
                make_event("M1", 3, "RESOLVED", local_ms(2025, 3, 4)),
            ],
            # received 31/03 23:59 local, in progress at the period end (due in April)
            [received("M2", local_ms(2025, 3, 31, 23, 59), days=3)],
            # received 01/04 00:00 local: April, not counted
            [received("A1", local_ms(2025, 4, 1, 0, 0), days=3)],
            # received in March, overdue at the period end
            [received("M3", local_ms(2025, 3, 10), days=2, channel="POSTAL")],
        ),
        MARCH,
        local_ms(2025, 4, 1, 0, 0),
        "all",
        cal,
    )
    assert len(rows) == 1
    r = rows[0]
    assert (r["online_filing_rate_num"], r["online_filing_rate_den"]) == (2, 3)  # M1, M2 of M1, M2, M3
    assert (r["postal_rate_num"], r["postal_rate_den"]) == (1, 3)
    assert (r["on_time_rate_num"], r["on_time_rate_den"]) == (1, 2)  # M1 early; C1 late
    # TD1: (ended on time 1 + within deadline at period end: M2) / (received 3 + carried over C1)
    assert (r["progress_766_num"], r["progress_766_den"]) == (2, 4)
    assert (r["online_payment_rate_num"], r["online_payment_rate_den"]) == (1, 1)
    # as of 01/04 00:00: M2, M3 in progress (A1 received exactly then: in progress too)
    assert r["in_progress"] == 3 and r["in_progress_overdue"] == 1
    assert set(METRIC_IDS) <= set(r)
    assert r["result_digitisation_rate"] is None  # no denominator -> null


def test_identity_received_plus_carried_equals_ended_plus_in_progress():
    hist = []
    for i in range(20):
        rec = received(f"X{i}", local_ms(2025, 2, 20 + i % 8) + i * 3_600_000 * 11, days=i % 5)
        h = [rec]
        if i % 3:
            h.append(make_event(f"X{i}", 2, "RESOLVED", rec["occurred_at"] + (i % 7) * 86_400_000 * 3))
        hist.append(h)
    f = facts(*hist)
    r = kpi_rows(f, MARCH, local_ms(2025, 6, 1), "all", cal)[0]
    in_progress_at_end = sum(
        1 for x in f if x["received_at"] < MARCH.end_ms and not (x["ended"] and x["end_at"] < MARCH.end_ms)
    )
    assert r["progress_766_den"] == r["on_time_rate_den"] + in_progress_at_end


def test_vietnamese_number_formats():
    assert fmt_percent(0.965) == "96,5%"
    assert fmt_percent(None) == "–"
    assert fmt_int(1234567) == "1.234.567"
