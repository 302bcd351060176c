"""The writer's pure parts: which facts become transitions, which events get written."""

from __future__ import annotations

from motcua.pipeline.rounds import batch_events, plan_facts


def msg(dossier: str, version: int, *event_ids: str) -> dict:
    return {
        "facts": {"dossier_id": dossier, "version": version},
        "events": [{"dossier_id": dossier, "event_id": e} for e in event_ids],
        "ts": [],
    }


def test_highest_version_per_dossier_above_the_written_one():
    messages = [
        msg("A", 1, "a1"),
        msg("A", 3, "a2", "a3"),
        msg("A", 2, "a2"),
        msg("B", 2, "b2"),
        msg("C", 1, "c1"),
    ]
    written = {"B": {"dossier_id": "B", "version": 2}, "C": {"dossier_id": "C", "version": 0}}
    plan = {t.dossier_id: (t.old, t.new["version"]) for t in plan_facts(messages, written)}
    assert plan == {"A": (None, 3), "C": ({"dossier_id": "C", "version": 0}, 1)}


def test_a_replayed_batch_after_its_states_landed_plans_nothing():
    messages = [msg("A", 2, "a1", "a2")]
    assert plan_facts(messages, {"A": {"dossier_id": "A", "version": 2}}) == []


def test_events_of_a_batch_are_deduplicated_but_kept_even_when_facts_are_skipped():
    events, payloads = batch_events([msg("A", 1, "a1"), msg("A", 1, "a1"), msg("B", 1, "b1")])
    assert [e["event_id"] for e in events] == ["a1", "b1"] and len(payloads) == 2


# -- rounds -------------------------------------------------------------------------------
import orjson  # noqa: E402

from motcua.pipeline.rounds import Round, plan_rounds  # noqa: E402


def batch(partition: int, first: int, last: int) -> tuple[int, int, int]:
    return (partition, first, last)


def test_a_round_of_one_partition_keeps_the_token_of_the_previous_version():
    assert Round.of("facts", [(3, 10, 20)]).token == "facts:3:10-20"


def test_the_token_depends_on_the_composition_only_and_long_ones_are_hashed():
    a = Round.of("facts", [(2, 5, 9), (0, 1, 4)])
    assert a == Round.of("facts", [(0, 1, 4), (2, 5, 9)])
    assert a.token == "facts:0:1-4,2:5-9"
    assert a.token != Round.of("facts", [(0, 1, 4), (2, 5, 10)]).token
    long = Round.of("facts", [(p, 10**9 + p, 10**9 + 2 * p) for p in range(40)])
    assert long.token.startswith("facts:round-") and len(long.token) < 64
    assert long.token == Round.of("facts", reversed(long.parts)).token


def test_an_intent_names_its_whole_round_and_is_read_back_from_any_of_its_partitions():
    r = Round.of("facts", [(0, 1, 4), (2, 5, 9), (5, 7, 7)])
    meta = r.metadata()
    assert orjson.loads(meta) == {"round": [[0, 1, 4], [2, 5, 9], [5, 7, 7]]}
    for p, first, _last in r.parts:
        assert Round.from_commit("facts", p, first, meta) == r
    assert Round.from_commit("facts", 2, 6, meta) is None  # not this partition's first offset
    assert Round.from_commit("facts", 3, 5, meta) is None  # not one of its partitions
    assert Round.from_commit("facts", 2, 5, "") is None  # a final commit
    assert Round.from_commit("facts", 2, 5, "garbage") is None


def test_an_intent_of_the_previous_version_is_a_round_of_one_partition():
    r = Round.from_commit("facts", 4, 100, '{"last": 180}')
    assert r == Round("facts", ((4, 100, 180),)) and r.token == "facts:4:100-180"
    assert Round.from_commit("facts", 4, 100, '{"last": 99}') is None


def test_rounds_take_every_batch_unless_the_metadata_would_not_fit():
    batches = [batch(p, 1000 + 100 * p, 1050 + 100 * p) for p in (3, 0, 2, 1)]
    [r] = plan_rounds(batches, "facts")
    assert [p for p, _f, _l in r.parts] == [0, 1, 2, 3]
    two = len(Round.of("facts", sorted(batches)[:2]).metadata())
    small = plan_rounds(batches, "facts", max_metadata_bytes=two)
    assert [[p for p, _f, _l in x.parts] for x in small] == [[0, 1], [2, 3]]
    assert all(len(x.metadata()) <= two for x in small)
    many = [batch(p, 10**12, 10**12 + 5) for p in range(400)]
    rounds = plan_rounds(many, "facts")
    assert len(rounds) > 1 and all(len(x.metadata().encode()) <= 4096 for x in rounds)
    assert sum(len(x.parts) for x in rounds) == 400


def test_unusable_tells_a_writable_facts_message_from_junk():
    from motcua.adapters.clickhouse_store import ClickHouseStore
    from motcua.domain.events import validate
    from motcua.domain.lifecycle import DossierState, derive_facts
    from motcua.pipeline.rounds import unusable
    from motcua.reference.official_calendar import default_calendar
    from tests.builders import local_ms, received

    e = validate(received("D1", local_ms(2025, 3, 3)))
    st = DossierState("D1")
    st.absorb(e)
    good = {"facts": derive_facts(st, default_calendar()), "events": [e], "ts": [0]}
    assert unusable(good, ClickHouseStore.state_table) is None
    assert unusable({"facts": {"dossier_id": 1, "version": 1}, "events": []}, ClickHouseStore.state_table)
    assert unusable(
        {"facts": {"dossier_id": "D1", "version": 1}, "events": []}, ClickHouseStore.state_table
    )  # no facts fields
    assert unusable(
        {**good, "events": [{"event_id": "x"}]}, ClickHouseStore.state_table
    )  # an event that is not one
    assert unusable({"events": []}, ClickHouseStore.state_table)
