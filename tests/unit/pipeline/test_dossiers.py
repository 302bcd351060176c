"""The shared fold step: conflicting duplicates and events the fold cannot take are
refused (dead letters), never counted, and never stop the rest of the batch."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.domain.calendar import WorkingCalendar
from motcua.domain.events import validate
from motcua.domain.lifecycle import DossierState, derive_facts, event_digest
from motcua.pipeline.dossiers import DossierBook, fold_dossier
from motcua.reference.official_calendar import default_calendar
from tests.builders import local_ms, make_event, received
from tests.strategies import delivered, histories

cal = default_calendar()


def test_same_id_same_content_is_a_duplicate_other_content_a_conflict():
    book = DossierBook(cal)
    r = received("D1", local_ms(2025, 3, 3))
    _t, fresh, refused = book.apply_checked([dict(r)])
    assert len(fresh) == 1 and refused == []
    _t, fresh, refused = book.apply_checked([dict(r)])
    assert fresh == [] and refused == []  # a plain duplicate: nothing to say
    other = dict(r, channel="DIRECT")
    transitions, fresh, refused = book.apply_checked([other])
    assert transitions == [] and fresh == []
    [(event, err)] = refused
    assert event is other and err.code == "CONFLICTING_DUPLICATE"
    # both versions' digests are named, the stored one first
    assert event_digest(r) in err.reason and event_digest(other) in err.reason
    assert book.state("D1").received["channel"] == "ONLINE"  # the first version stays


def test_digest_is_the_same_for_every_encoding_of_one_event():
    from motcua.adapters.codec import decode_avro, encode_avro, encode_json, sniff_and_decode

    e = validate(received("D1", local_ms(2025, 3, 3), has_fee=True))
    via_avro = validate(decode_avro(encode_avro(e)))
    via_json = validate(sniff_and_decode(encode_json(e)))
    assert event_digest(e) == event_digest(via_avro) == event_digest(via_json)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_conflicting_versions_change_no_figure(data):
    """Any stream with re-sent ids carrying other content folds to the same facts as the
    stream without them: the first arrival of an id is the one that counts."""
    events = data.draw(histories())
    stream = data.draw(delivered(events))
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    mixed, first_seen = [], {}
    for e in stream:
        first_seen.setdefault(e["event_id"], e)
        mixed.append(e)
        if rng.random() < 0.3:  # re-sent later with another unit: a conflict
            mixed.append(dict(e, unit_code="H75.OTHER", source_system="other"))
    book = DossierBook(cal)
    _t, _f, refused = book.apply_checked(mixed)
    clean = DossierBook(cal)
    clean.apply(list(first_seen.values()))
    assert {f["dossier_id"]: f for f in book.all_facts()} == {f["dossier_id"]: f for f in clean.all_facts()}
    assert all(err.code == "CONFLICTING_DUPLICATE" for _e, err in refused)
    assert len(refused) == sum(1 for e in mixed if e["source_system"] == "other")


def test_an_event_the_fold_cannot_take_is_refused_and_the_rest_goes_on():
    """A calendar narrower than the contract's instants (what a bug would look like): the
    event whose due date falls outside it is refused; the dossier's other events fold."""
    narrow = WorkingCalendar(first_year=2025, last_year=2025)
    good = received("D1", local_ms(2025, 3, 3))
    late_ext = make_event("D1", 2, "SUPPLEMENT_REQUESTED", local_ms(2025, 3, 4))
    poison = make_event("D1", 3, "SUPPLEMENT_RECEIVED", local_ms(2030, 3, 4))  # shift beyond 2025
    scanned = make_event(
        "D1", 4, "DIGITISED", local_ms(2025, 3, 5), components_total=2, components_digitised=2
    )
    book = DossierBook(narrow)
    transitions, fresh, refused = book.apply_checked([good, late_ext, poison, scanned])
    assert [e["event_id"] for e, _err in refused] == ["D1-3"]
    assert refused[0][1].code == "FOLD_FAILED"
    assert [e["event_id"] for e in fresh] == ["D1-1", "D1-2", "D1-4"]
    [t] = transitions
    assert t.new["digitised_all"] and t.new["version"] == 3
    # the refused event left no trace in the book's state
    assert "D1-3" not in book.state("D1").event_ids


def test_fold_dossier_refolds_from_the_state_before_the_batch():
    narrow = WorkingCalendar(first_year=2025, last_year=2025)
    before = DossierState("D1")
    before.absorb(received("D1", local_ms(2025, 3, 3)))
    working = DossierState.from_dict(before.to_dict())
    # an earlier second RECEIVED (it becomes the least one) whose due date is beyond 2025
    poison = dict(received("D1", local_ms(2025, 3, 2), days=400), event_id="D1-9")
    folded = fold_dossier(working, [poison], narrow, lambda: DossierState.from_dict(before.to_dict()))
    assert [err.code for _e, err in folded.rejected] == ["FOLD_FAILED"]
    assert folded.fresh == [] and folded.facts == derive_facts(before, narrow)
