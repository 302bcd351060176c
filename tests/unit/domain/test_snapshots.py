"""The correction rule of contract v2: a dossier's latest SNAPSHOT over its ordinary events.

Hand-computed cases for every rule of ``lifecycle.effective_state`` and property tests:
re-sent snapshots and rows, and any interleaving of a dossier's progress rows with its
snapshots (snapshots keeping their order), give the same facts; the latest snapshot
wins; duplicates never count."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.domain.calendar import local_day_number
from motcua.domain.events import RANK_FIELD, validate
from motcua.domain.lifecycle import DUPLICATE, NEW, DossierState, derive_facts, event_digest, fold
from motcua.reference.official_calendar import default_calendar
from tests.builders import ENVELOPE, local_ms, make_event

CAL = default_calendar()
D = "000.00.12.H56-240301-0012"


def snap(n: int, **fields) -> dict:
    """A snapshot event (as imports.convert makes them), validated."""
    e = dict(
        ENVELOPE,
        event_id=f"s{n}",
        dossier_id=D,
        event_type="SNAPSHOT",
        occurred_at=fields.get("received_at", local_ms(2024, 3, 1)),
    )
    e.update(fields)
    return validate(e)


def row(n: int, etype: str, at: int, **extra) -> dict:
    return validate(make_event(D, 100 + n, etype, at, **extra))


RECEIVED_AT = local_ms(2024, 3, 1, 9, 10)  # Friday
DUE = local_ms(2024, 3, 15, 17)  # Friday two weeks later


def facts_of(*events) -> dict:
    return derive_facts(fold(D, [dict(e) for e in events]), CAL)


def test_a_snapshot_alone_gives_the_dossier():
    f = facts_of(
        snap(
            1,
            received_at=RECEIVED_AT,
            due_at=DUE,
            channel="ONLINE",
            source_status=10,
            resolved_at=local_ms(2024, 3, 14, 15),
            electronic_result=True,
            returned_at=local_ms(2024, 3, 15, 8),
            has_fee=True,
            payment="ONLINE_DVCQG",
            components_total=2,
            components_digitised=2,
            components_reused=1,
        )
    )
    assert f["received"] and f["received_at"] == RECEIVED_AT and f["channel"] == "ONLINE"
    assert f["due_date"] == date(2024, 3, 15).toordinal()
    assert f["end_type"] == "RESOLVED" and f["end_date"] == date(2024, 3, 14).toordinal()
    assert f["outcome"] == "EARLY"
    assert f["electronic_result"] and f["has_fee"] and f["paid_online"]
    assert f["digitised_all"] and f["reused"]
    assert f["unit_code"] == ENVELOPE["unit_code"] and f["version"] == 1


def test_no_channel_is_direct_and_no_due_date_cannot_be_late():
    f = facts_of(snap(1, received_at=RECEIVED_AT, source_status=9, resolved_at=local_ms(2025, 1, 1)))
    assert f["channel"] == "DIRECT"
    assert not f["due_known"] and f["outcome"] == "ON_TIME"


def test_a_later_snapshot_corrects_the_end_date():
    first = snap(1, received_at=RECEIVED_AT, due_at=DUE, source_status=9, resolved_at=local_ms(2024, 3, 14))
    corrected = snap(
        2, received_at=RECEIVED_AT, due_at=DUE, source_status=9, resolved_at=local_ms(2024, 3, 18)
    )
    assert facts_of(first)["outcome"] == "EARLY"
    f = facts_of(first, corrected)
    assert f["outcome"] == "LATE" and f["end_date"] == date(2024, 3, 18).toordinal()


def test_a_resent_old_snapshot_changes_nothing_and_keeps_its_first_rank():
    a = snap(1, received_at=RECEIVED_AT, due_at=DUE, source_status=4)
    b = snap(2, received_at=RECEIVED_AT, due_at=DUE, source_status=9, resolved_at=local_ms(2024, 3, 14))
    state = DossierState(D)
    assert state.absorb_checked(dict(a)) is NEW and state.absorb_checked(dict(b)) is NEW
    again = dict(a)
    assert state.absorb_checked(again) is DUPLICATE
    assert again[RANK_FIELD] == 1  # what the store keeps of it is its first form
    assert state.snapshot["event_id"] == "s2"
    assert derive_facts(state, CAL)["ended"]


def test_the_rank_is_stamped_in_arrival_order_and_is_not_content():
    a, b = snap(1, received_at=RECEIVED_AT), snap(2, received_at=RECEIVED_AT, due_at=DUE)
    state = DossierState(D)
    ea, eb = dict(a), dict(b)
    state.absorb(eb)
    state.absorb(ea)
    assert (eb[RANK_FIELD], ea[RANK_FIELD]) == (1, 2)
    assert state.snapshot["event_id"] == "s1"  # arrived last: the latest word
    assert event_digest(ea) == event_digest(a)
    # A refold from the stored (stamped) events gives the same state whatever the order.
    assert fold(D, [dict(ea), dict(eb)]).snapshot == fold(D, [dict(eb), dict(ea)]).snapshot


def test_a_status_rolled_back_reopens_the_dossier_even_after_an_end_row():
    ended = snap(1, received_at=RECEIVED_AT, due_at=DUE, source_status=9, resolved_at=local_ms(2024, 3, 14))
    reopened = snap(2, received_at=RECEIVED_AT, due_at=DUE, source_status=4)
    f = facts_of(ended, row(1, "RESOLVED", local_ms(2024, 3, 14)), reopened)
    assert not f["ended"] and f["outcome"] == ""


def test_a_status_9_without_an_end_date_is_a_thanh_hoa_rewrite_not_an_end():
    """T sends a dossier waiting for a supplement as 9: the rows say what it is."""
    f = facts_of(
        snap(1, received_at=RECEIVED_AT, due_at=DUE, source_status=9),
        row(1, "SUPPLEMENT_REQUESTED", local_ms(2024, 3, 5, 10, 30)),
    )
    assert not f["ended"] and f["supplement_requests"] == 1
    assert f["pause_ends"] == [4102444800000]  # still open


def test_withdrawn_and_stopped_end_at_their_progress_row():
    at = local_ms(2024, 3, 6, 14)
    for status, etype in ((7, "WITHDRAWN"), (8, "STOPPED"), (9, "STOPPED")):
        f = facts_of(snap(1, received_at=RECEIVED_AT, due_at=DUE, source_status=status), row(1, etype, at))
        assert f["end_type"] == etype and f["end_at"] == at and f["outcome"] == "ON_TIME"
    # without its row, a 7 has no time yet: not ended
    assert not facts_of(snap(1, received_at=RECEIVED_AT, source_status=7))["ended"]


def test_the_end_of_processing_date_wins_over_an_earlier_return_date():
    """766 judges on NgayKetThucXuLy (9 over 10), even when NgayTra says earlier."""
    f = facts_of(
        snap(
            1,
            received_at=RECEIVED_AT,
            due_at=DUE,
            source_status=10,
            returned_at=local_ms(2024, 3, 12),
            resolved_at=local_ms(2024, 3, 18),
        )
    )
    assert f["end_type"] == "RESOLVED" and f["outcome"] == "LATE"


def test_a_rejection_date_ends_it_as_rejected():
    f = facts_of(snap(1, received_at=RECEIVED_AT, source_status=3, rejected_at=local_ms(2024, 3, 2)))
    assert f["end_type"] == "REJECTED" and f["outcome"] == "ON_TIME"


def test_a_returned_date_alone_ends_it_and_postal_return_counts():
    f = facts_of(
        snap(
            1,
            received_at=RECEIVED_AT,
            due_at=DUE,
            source_status=10,
            returned_at=local_ms(2024, 3, 15, 8),
            return_channel="POSTAL",
        )
    )
    assert f["end_type"] == "RESULT_RETURNED" and f["outcome"] == "ON_TIME" and f["postal"]


def test_a_resumed_processing_row_closes_the_supplement_pause():
    """Example 2 of the spec: requested Tue 05/03 10:30, processing resumed Fri 08/03:
    the working days Wed 06, Thu 07, Fri 08 are paused, so the due date moves from
    Fri 15/03 to Wed 20/03 and an end on Tue 19/03 is early."""
    f = facts_of(
        snap(1, received_at=RECEIVED_AT, due_at=DUE, source_status=10, resolved_at=local_ms(2024, 3, 19, 15)),
        row(1, "SUPPLEMENT_REQUESTED", local_ms(2024, 3, 5, 10, 30)),
        row(2, "PROCESSING", local_ms(2024, 3, 8, 9), resumes=True),
    )
    assert f["supplement_requests"] == 1
    assert f["effective_due_date"] == date(2024, 3, 20).toordinal()
    assert f["outcome"] == "EARLY"
    # a PROCESSING that does not say it resumes (a transfer) leaves the pause open
    g = facts_of(
        snap(1, received_at=RECEIVED_AT, due_at=DUE, source_status=4),
        row(1, "SUPPLEMENT_REQUESTED", local_ms(2024, 3, 5, 10, 30)),
        row(2, "PROCESSING", local_ms(2024, 3, 8, 9)),
    )
    assert g["pause_ends"] == [4102444800000]


def test_what_a_snapshot_does_not_say_falls_back_to_the_events():
    events = [
        snap(1, received_at=RECEIVED_AT, due_at=DUE, source_status=4),
        row(1, "PAYMENT_COMPLETED", local_ms(2024, 3, 2), method="ONLINE_LOCAL", amount_vnd=5),
        row(2, "DIGITISED", local_ms(2024, 3, 2), components_total=1, components_digitised=1),
    ]
    f = facts_of(*events)
    assert f["paid_online"] and f["digitised_all"]
    # ... and what it says wins
    g = facts_of(
        *events[1:],
        snap(
            1,
            received_at=RECEIVED_AT,
            source_status=4,
            payment="NONE",
            components_total=2,
            components_digitised=1,
        ),
    )
    assert not g["paid_online"] and not g["digitised_all"]


def test_the_snapshot_gives_the_envelope_and_reception_over_rows():
    r = row(1, "RECEIVED", local_ms(2024, 3, 1, 7), channel="DIRECT")
    s = snap(
        1, received_at=RECEIVED_AT, channel="ONLINE", unit_code="000.00.12.H56", procedure_code="1.001612"
    )
    f = facts_of(r, s)
    assert f["received_at"] == RECEIVED_AT and f["channel"] == "ONLINE"
    assert (f["unit_code"], f["procedure_code"]) == ("000.00.12.H56", "1.001612")
    # a snapshot without a reception date leaves it to the row, under its own envelope
    g = facts_of(r, snap(2, source_status=1, unit_code="000.00.12.H56", occurred_at=local_ms(2024, 3, 1, 6)))
    assert g["received_at"] == r["occurred_at"] and g["unit_code"] == "000.00.12.H56"


def test_state_round_trip_keeps_snapshot_and_ranks():
    state = fold(
        D, [dict(snap(1, received_at=RECEIVED_AT)), dict(snap(2, received_at=RECEIVED_AT, due_at=DUE))]
    )
    again = DossierState.from_dict(state.to_dict())
    assert again.snapshot == state.snapshot and again.snapshot_ranks == {"s1": 1, "s2": 2}
    old = state.to_dict()
    del old["snapshot"], old["snapshot_ranks"]  # a state written before contract v2
    assert DossierState.from_dict(old).snapshot is None


def test_merge_keeps_the_latest_snapshot():
    a = fold(D, [dict(snap(1, received_at=RECEIVED_AT))])
    b = DossierState(D)
    b.absorb(dict(snap(2, received_at=RECEIVED_AT, due_at=DUE), snapshot_rank=5))
    a.merge(b)
    assert a.snapshot["event_id"] == "s2" and a.snapshot_ranks == {"s1": 1, "s2": 5}


# -- properties ---------------------------------------------------------------------------

_day = st.integers(0, 40).map(lambda n: RECEIVED_AT + n * 86_400_000)
_snapshot = st.builds(
    lambda resolved, due, status, payment, channel: {
        k: v
        for k, v in dict(
            received_at=RECEIVED_AT,
            resolved_at=resolved,
            due_at=due,
            source_status=status,
            payment=payment,
            channel=channel,
        ).items()
        if v is not None
    },
    st.none() | _day,
    st.none() | _day,
    st.none() | st.integers(1, 10),
    st.none() | st.sampled_from(["ONLINE_DVCQG", "NONE"]),
    st.none() | st.sampled_from(["ONLINE", "POSTAL"]),
)
_row = st.tuples(
    st.sampled_from(
        ["SUPPLEMENT_REQUESTED", "SUPPLEMENT_RECEIVED", "PROCESSING", "WITHDRAWN", "RESOLVED", "STOPPED"]
    ),
    _day,
)


@st.composite
def histories(draw):
    """(snapshots in sending order, rows, an arrival order: the snapshots in their order
    with re-sends of earlier ones, the rows anywhere, duplicated at will)."""
    snaps = [snap(i, **fields) for i, fields in enumerate(draw(st.lists(_snapshot, min_size=1, max_size=4)))]
    rows = [
        row(i, etype, at, **({"resumes": True} if etype == "PROCESSING" else {}))
        for i, (etype, at) in enumerate(draw(st.lists(_row, max_size=5)))
    ]
    stream = []
    for i, s in enumerate(snaps):
        stream.append(s)
        for _ in range(draw(st.integers(0, 2))):  # re-sent earlier snapshots
            stream.append(snaps[draw(st.integers(0, i))])
    for r in rows + draw(st.lists(st.sampled_from(rows), max_size=3)) if rows else []:
        stream.insert(draw(st.integers(0, len(stream))), r)
    return snaps, rows, stream


@settings(max_examples=300, deadline=None)
@given(histories())
def test_property_latest_snapshot_wins_whatever_rows_and_resends(history):
    snaps, rows, stream = history
    distinct_latest = snaps[-1]
    for s in reversed(snaps):  # a re-sent old content is the old snapshot, not a new one
        if event_digest(s) == event_digest(snaps[-1]):
            distinct_latest = s
    got = facts_of(*stream)
    # the same as folding the rows once with only the latest snapshot...
    alone = facts_of(*rows, distinct_latest)
    for name in (
        "received_at",
        "channel",
        "due_date",
        "ended",
        "end_type",
        "end_at",
        "outcome",
        "paid_online",
        "supplement_requests",
        "effective_due_date",
        "electronic_result",
    ):
        assert got[name] == alone[name], name
    # ...and the same whatever the order of the rows among the snapshots
    reordered = facts_of(*snaps, *reversed(rows), *rows)
    assert {k: v for k, v in got.items() if k != "version"} == {
        k: v for k, v in reordered.items() if k != "version"
    }
    # duplicates never count: the version is the number of distinct events
    assert got["version"] == len({e["event_id"] for e in stream})


@settings(max_examples=200, deadline=None)
@given(histories(), st.randoms())
def test_property_refolding_stored_events_gives_the_same_facts(history, rnd):
    """What the store keeps (the stamped first form of every event), refolded in any
    order - a restart, an evicted dossier, motcua recompute - gives the same facts."""
    _snaps, _rows, stream = history
    state = DossierState(D)
    stored: dict[str, dict] = {}
    for e in stream:
        e = dict(e)
        if state.absorb_checked(e) is NEW:
            stored[e["event_id"]] = e
    kept = [dict(e) for e in stored.values()]
    rnd.shuffle(kept)
    assert derive_facts(fold(D, kept), CAL) == derive_facts(state, CAL)
    assert local_day_number(RECEIVED_AT) == date(2024, 3, 1).toordinal()
