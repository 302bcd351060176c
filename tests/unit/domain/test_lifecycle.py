"""Hand-computed cases for every lifecycle rule of docs/metrics.md (#facts to #status)."""

from datetime import date

from motcua.domain.calendar import local_midnight_ms
from motcua.domain.lifecycle import EARLY, LATE, ON_TIME, DossierState, derive_facts, fold, status_at
from motcua.reference.official_calendar import default_calendar
from tests.builders import local_ms, make_event, received

cal = default_calendar()


def facts_of(events):
    return derive_facts(fold(events[0]["dossier_id"], events), cal)


def d(o):
    return date.fromordinal(o)


def resolved(dossier_id, at, n=9, **extra):
    return make_event(dossier_id, n, "RESOLVED", at, **extra)


def test_tet_due_date_and_outcomes():
    # Received Fri 24/01/2025; 3 working days across Tết -> due Wed 05/02/2025
    rec = received("T", local_ms(2025, 1, 24))
    assert d(facts_of([rec])["due_date"]) == date(2025, 2, 5)
    assert facts_of([rec, resolved("T", local_ms(2025, 2, 4))])["outcome"] == EARLY
    assert facts_of([rec, resolved("T", local_ms(2025, 2, 5, 23, 59))])["outcome"] == ON_TIME
    assert facts_of([rec, resolved("T", local_ms(2025, 2, 6, 0, 1))])["outcome"] == LATE


def test_make_up_saturday_counts_as_a_working_day():
    rec = received("S", local_ms(2025, 4, 24), days=2)
    f = facts_of([rec, resolved("S", local_ms(2025, 4, 26, 10))])
    assert d(f["due_date"]) == date(2025, 4, 26)
    assert f["outcome"] == ON_TIME
    assert facts_of([rec, resolved("S", local_ms(2025, 4, 28))])["outcome"] == LATE


def test_supplement_pause_moves_the_due_date():
    # Mon 03/03, 5 working days -> due Mon 10/03. Paused from Wed 05/03 to Mon 10/03:
    # working days d with 05 < d <= 10 are 6, 7, 10 -> effective due Thu 13/03.
    evs = [
        received("P", local_ms(2025, 3, 3), days=5),
        make_event("P", 2, "SUPPLEMENT_REQUESTED", local_ms(2025, 3, 5, 10)),
        make_event("P", 3, "SUPPLEMENT_RECEIVED", local_ms(2025, 3, 10, 15)),
    ]
    f = facts_of(evs)
    assert d(f["due_date"]) == date(2025, 3, 10)
    assert d(f["effective_due_date"]) == date(2025, 3, 13)
    assert facts_of(evs + [resolved("P", local_ms(2025, 3, 13, 16))])["outcome"] == ON_TIME
    assert facts_of(evs + [resolved("P", local_ms(2025, 3, 14, 8))])["outcome"] == LATE


def test_second_supplement_request_makes_the_dossier_late():
    evs = [
        received("Q", local_ms(2025, 3, 3), days=10),
        make_event("Q", 2, "SUPPLEMENT_REQUESTED", local_ms(2025, 3, 4)),
        make_event("Q", 3, "SUPPLEMENT_RECEIVED", local_ms(2025, 3, 5)),
        make_event("Q", 4, "SUPPLEMENT_REQUESTED", local_ms(2025, 3, 6)),
        make_event("Q", 5, "SUPPLEMENT_RECEIVED", local_ms(2025, 3, 7)),
        resolved("Q", local_ms(2025, 3, 10)),
    ]
    f = facts_of(evs)
    assert f["supplement_requests"] == 2
    assert f["outcome"] == LATE
    # and while in progress it is overdue as soon as the second request exists
    st = status_at(facts_of(evs[:4]), local_ms(2025, 3, 6, 12), cal)
    assert st.in_progress and st.overdue


def test_withdrawn_stopped_rejected_count_as_on_time_even_after_the_due_date():
    for etype in ("WITHDRAWN", "STOPPED", "REJECTED"):
        evs = [
            received("W", local_ms(2025, 3, 3), days=1),
            make_event(
                "W",
                2,
                etype,
                local_ms(2025, 3, 20),
                **({"reason": "Không đủ điều kiện"} if etype != "WITHDRAWN" else {}),
            ),
        ]
        f = facts_of(evs)
        assert f["end_type"] == etype and f["outcome"] == ON_TIME


def test_end_is_the_first_end_event_and_result_returned_alone_ends():
    evs = [
        received("E", local_ms(2025, 3, 3), days=3),
        make_event("E", 3, "RESULT_RETURNED", local_ms(2025, 3, 7), return_channel="POSTAL"),
        resolved("E", local_ms(2025, 3, 5), n=2, electronic_result=True),
    ]
    f = facts_of(evs)
    assert f["end_type"] == "RESOLVED" and d(f["end_date"]) == date(2025, 3, 5)
    assert f["outcome"] == EARLY and f["postal"] and f["electronic_result"]
    assert f["working_days"] == 2


def test_days_hours_and_source_due_at():
    f = facts_of([received("D", local_ms(2025, 3, 7), days=3, unit="DAYS")])
    assert d(f["due_date"]) == date(2025, 3, 10)
    f = facts_of([received("H", local_ms(2025, 3, 7, 20), days=8, unit="HOURS")])
    assert d(f["due_date"]) == date(2025, 3, 8)
    f = facts_of(
        [
            make_event(
                "X", 1, "RECEIVED", local_ms(2025, 3, 3), channel="DIRECT", due_at=local_ms(2025, 3, 20, 17)
            )
        ]
    )
    assert d(f["due_date"]) == date(2025, 3, 20)


def test_deadline_extension_does_not_move_due_and_counts_the_apology():
    evs = [
        received("A", local_ms(2025, 3, 3), days=2),
        make_event(
            "A",
            2,
            "DEADLINE_EXTENDED",
            local_ms(2025, 3, 5, 9),
            new_due_at=local_ms(2025, 3, 12),
            apology_issued=True,
        ),
        resolved("A", local_ms(2025, 3, 11)),
    ]
    f = facts_of(evs)
    assert f["outcome"] == LATE and f["apology_ok"]
    late_apology = [evs[0], dict(evs[1], occurred_at=local_ms(2025, 3, 6, 9)), evs[2]]
    assert not facts_of(late_apology)["apology_ok"]  # apology after the due date


def test_status_at_waiting_overdue_and_due_soon():
    rec = received("S", local_ms(2025, 3, 3), days=3)  # due Thu 06/03
    f = facts_of([rec])
    assert status_at(f, local_ms(2025, 3, 5), cal).due_soon  # due is the next working day
    assert status_at(f, local_ms(2025, 3, 6), cal).due_soon  # due today
    assert not status_at(f, local_ms(2025, 3, 4), cal).due_soon
    assert status_at(f, local_ms(2025, 3, 7), cal).overdue
    assert not status_at(f, local_ms(2025, 3, 2), cal).in_progress  # before receipt
    paused = facts_of([rec, make_event("S", 2, "SUPPLEMENT_REQUESTED", local_ms(2025, 3, 4))])
    st = status_at(paused, local_ms(2025, 3, 20), cal)
    assert st.in_progress and st.waiting and not st.overdue and not st.due_soon
    # Friday before a Monday due date: due soon (next working day)
    f = facts_of([received("M", local_ms(2025, 3, 6), days=2)])  # due Mon 10/03
    assert status_at(f, local_ms(2025, 3, 7, 15), cal).due_soon


def test_event_without_received_is_held_not_counted():
    f = facts_of([resolved("R", local_ms(2025, 3, 5))])
    assert not f["received"]
    f2 = facts_of([resolved("R", local_ms(2025, 3, 5)), received("R", local_ms(2025, 3, 3))])
    assert f2["received"] and f2["ended"] and f2["outcome"] == EARLY


def test_sequence_orders_before_occurred_at():
    a = received("Z", local_ms(2025, 3, 3), channel="DIRECT", sequence=2)
    b = dict(received("Z", local_ms(2025, 3, 4), channel="ONLINE", sequence=1), event_id="Z-b")
    f = facts_of([a, b])
    assert f["channel"] == "ONLINE"


def test_state_round_trips_through_dict():
    evs = [
        received("J", local_ms(2025, 3, 3)),
        make_event("J", 2, "SUPPLEMENT_REQUESTED", local_ms(2025, 3, 4)),
        make_event("J", 3, "PAYMENT_COMPLETED", local_ms(2025, 3, 4), method="ONLINE_DVCQG", amount_vnd=5000),
    ]
    st = fold("J", evs)
    again = DossierState.from_dict(st.to_dict())
    assert derive_facts(again, cal) == derive_facts(st, cal)
    assert again.to_dict() == st.to_dict()


def test_period_boundary_in_local_time():
    just_before = local_midnight_ms(date(2025, 4, 1)) - 1
    f = facts_of([received("B", just_before)])
    assert d(f["received_date"]) == date(2025, 3, 31)
    f = facts_of([received("B", just_before + 1)])
    assert d(f["received_date"]) == date(2025, 4, 1)
