"""The writer's pure parts: which facts become transitions, which events get written."""

from __future__ import annotations

from motcua.live.writer import batch_events, plan_facts


def msg(dossier: str, version: int, *event_ids: str) -> dict:
    return {"facts": {"dossier_id": dossier, "version": version},
            "events": [{"dossier_id": dossier, "event_id": e} for e in event_ids], "ts": []}


def test_highest_version_per_dossier_above_the_written_one():
    messages = [msg("A", 1, "a1"), msg("A", 3, "a2", "a3"), msg("A", 2, "a2"),
                msg("B", 2, "b2"), msg("C", 1, "c1")]
    written = {"B": {"dossier_id": "B", "version": 2}, "C": {"dossier_id": "C", "version": 0}}
    plan = {t.dossier_id: (t.old, t.new["version"]) for t in plan_facts(messages, written)}
    assert plan == {"A": (None, 3), "C": ({"dossier_id": "C", "version": 0}, 1)}


def test_a_replayed_batch_after_its_states_landed_plans_nothing():
    messages = [msg("A", 2, "a1", "a2")]
    assert plan_facts(messages, {"A": {"dossier_id": "A", "version": 2}}) == []


def test_events_of_a_batch_are_deduplicated_but_kept_even_when_facts_are_skipped():
    events, payloads = batch_events([msg("A", 1, "a1"), msg("A", 1, "a1"), msg("B", 1, "b1")])
    assert [e["event_id"] for e in events] == ["a1", "b1"] and len(payloads) == 2
