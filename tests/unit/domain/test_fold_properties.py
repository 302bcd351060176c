"""Property tests: order and duplicates never change a dossier's state or the KPIs."""

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from motcua.domain.lifecycle import DossierState, derive_facts
from motcua.domain.metrics import kpi_rows
from motcua.domain.periods import Period
from motcua.pipeline.dossiers import DossierBook, rollup_deltas
from motcua.reference.official_calendar import default_calendar
from tests.builders import local_ms
from tests.strategies import delivered, histories

cal = default_calendar()


def states_of(events):
    states: dict[str, DossierState] = {}
    for e in events:
        states.setdefault(e["dossier_id"], DossierState(e["dossier_id"])).absorb(e)
    return states


def facts_by_id(events):
    return {k: derive_facts(s, cal) for k, s in states_of(events).items()}


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fold_ignores_order_and_duplicates(data):
    events = data.draw(histories())
    stream = data.draw(delivered(events))
    a, b = states_of(events), states_of(stream)
    assert {k: s.to_dict() for k, s in a.items()} == {k: s.to_dict() for k, s in b.items()}
    assert facts_by_id(events) == facts_by_id(stream)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_kpi_rows_ignore_order_and_duplicates(data):
    events = data.draw(histories())
    stream = data.draw(delivered(events))
    period = Period(date(2025, 3, 1), date(2025, 4, 1))
    as_of = data.draw(st.sampled_from([local_ms(2025, 3, 15), local_ms(2025, 4, 1, 0), local_ms(2025, 6, 1)]))
    by = data.draw(st.sampled_from(["level", "unit", "procedure", "field", "all"]))
    rows_a = kpi_rows(facts_by_id(events).values(), period, as_of, by, cal)
    rows_b = kpi_rows(facts_by_id(stream).values(), period, as_of, by, cal)
    assert rows_a == rows_b


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_merge_of_partial_states_equals_the_whole(data):
    events = data.draw(histories(max_dossiers=3))
    mask = data.draw(st.lists(st.booleans(), min_size=len(events), max_size=len(events)))
    left = states_of([e for e, m in zip(events, mask) if m])
    right = states_of([e for e, m in zip(events, mask) if not m])
    for k, s in right.items():
        if k in left:
            left[k].merge(s)
        else:
            left[k] = s
    assert {k: s.to_dict() for k, s in left.items()} == {k: s.to_dict() for k, s in states_of(events).items()}


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_rollup_deltas_sum_to_the_final_contributions(data):
    """However the stream is cut into batches, the signed deltas add up to exactly the
    contributions of the final states (no double counting of state changes)."""
    events = data.draw(histories())
    stream = data.draw(delivered(events))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=5)))
    book = DossierBook(
        cal,
        max_dossiers=data.draw(st.integers(1, 20)),
        load_events=lambda ids: {d: [e for e in stream_so_far if e["dossier_id"] == d] for d in ids},
    )
    totals: dict = {}
    stream_so_far: list = []
    for lo, hi in zip([0] + cuts, cuts + [len(stream)]):
        batch = stream[lo:hi]
        transitions, _fresh = book.apply(batch)
        stream_so_far.extend(batch)
        for row in rollup_deltas(transitions):
            key, vec = row[:7], row[7:]
            acc = totals.setdefault(key, [0] * len(vec))
            for i, v in enumerate(vec):
                acc[i] += v
    from motcua.pipeline.dossiers import Transition

    expected: dict = {}
    for f in facts_by_id(events).values():
        for row in rollup_deltas([Transition(f["dossier_id"], None, f)]):
            acc = expected.setdefault(row[:7], [0] * len(row[7:]))
            for i, v in enumerate(row[7:]):
                acc[i] += v
    nonzero = {k: v for k, v in totals.items() if any(v)}
    assert nonzero == {k: v for k, v in expected.items() if any(v)}


def _old_form(s: DossierState) -> dict:
    """to_dict as it was before the compact form (whole events per slot): what a
    changelog written by an older processor holds."""
    return {
        "dossier_id": s.dossier_id,
        "event_ids": sorted(s.event_ids),
        "first": s.first,
        "received": s.received,
        "submitted": s.submitted,
        "end": s.end,
        "resolved": s.resolved,
        "returned": s.returned,
        "digitised": s.digitised,
        "rated": s.rated,
        "supplements": {k: [list(v[0]), v[1], v[2]] for k, v in s.supplements.items()},
        "extensions": {k: [v[0], v[1]] for k, v in s.extensions.items()},
        "online_payment": s.online_payment,
        "payment_requested": s.payment_requested,
    }


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_state_restored_from_its_dict_folds_on_like_the_whole(data):
    """What a restarted processor does: restore each dossier's state from the table value
    (compact or older whole-event form) and fold the rest of the stream into it. Facts and
    the next table value equal those of folding everything at once."""
    import orjson

    events = data.draw(histories())
    stream = data.draw(delivered(events))
    cut = data.draw(st.integers(0, len(stream)))
    old = data.draw(st.booleans())
    whole = states_of(stream)
    restored = {
        k: DossierState.from_dict(orjson.loads(orjson.dumps(_old_form(s) if old else s.to_dict())))
        for k, s in states_of(stream[:cut]).items()
    }
    for e in stream[cut:]:
        restored.setdefault(e["dossier_id"], DossierState(e["dossier_id"])).absorb(e)
    assert {k: derive_facts(s, cal) for k, s in restored.items()} == {
        k: derive_facts(s, cal) for k, s in whole.items()
    }

    def table_value(s: DossierState) -> dict:
        d = s.to_dict()
        if old:  # an older value has no content digests: its ids come back without them
            d["event_ids"] = sorted(d["event_ids"])
        return d

    assert {k: table_value(s) for k, s in restored.items()} == {k: table_value(s) for k, s in whole.items()}
