"""The store contract: what the service layer relies on, for every store.

``MemoryStore`` (tests/unit/pipeline/test_store_contract.py) and ``ClickHouseStore`` on
chDB (tests/integration/test_store_contract.py) run these same tests: a subclass gives
the ``make_store`` fixture (a fresh, empty store per call) and how many hypothesis
examples it can afford. The fake can then stand in for the real store in fast tests of
the handlers, and the real one is known to keep what the fake promises.
"""

from __future__ import annotations

from datetime import date

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motcua.adapters.codec import CODEC
from motcua.domain.events import validate
from motcua.domain.metrics import kpi_rows
from motcua.domain.periods import Period
from motcua.pipeline.dossiers import DossierBook
from motcua.pipeline.ingest import IngestService
from motcua.pipeline.rounds import RoundWriter, content_token, write_transitions
from motcua.reference.official_calendar import default_calendar
from tests.builders import local_ms, received
from tests.strategies import delivered, histories

CAL = default_calendar()
PERIOD = Period(date(2025, 2, 1), date(2025, 6, 1))
AS_OF = local_ms(2025, 4, 10, 12)


class Crash(BaseException):
    """A simulated process death at an insert (no ``except Exception`` handler of the
    service catches it, as none would survive a SIGKILL)."""


def crash_at(k: int):
    """A ``before_insert`` hook that dies at the k-th insert (1-based), once."""
    seen = {"n": 0}

    def hook(_table: str) -> None:
        seen["n"] += 1
        if seen["n"] == k:
            raise Crash(k)

    return hook


def reference(events: list[dict]) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    """The pure fold of the events: facts per dossier, KPI rows by grouping."""
    book = DossierBook(CAL)
    book.apply(validate(dict(e)) for e in events)
    facts = {f["dossier_id"]: f for f in book.all_facts()}
    return facts, {by: kpi_rows(facts.values(), PERIOD, AS_OF, by, CAL) for by in ("all", "unit", "field")}


def figures(store, ids) -> tuple[dict[str, dict], dict[str, list[dict]]]:
    return store.facts_of(sorted(ids)), {
        by: store.kpi(PERIOD, AS_OF, by, CAL) for by in ("all", "unit", "field")
    }


def records(events: list[dict]) -> list[tuple[str, bytes]]:
    return [(f"test.jsonl:{i + 1}", orjson.dumps(e)) for i, e in enumerate(events)]


class StoreContract:
    """Subclasses define the ``make_store`` fixture and ``EXAMPLES``."""

    EXAMPLES = 50

    @pytest.fixture
    def make_store(self):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @staticmethod
    def hook(store, fn) -> None:
        store.before_insert = fn

    def examples(self):
        return settings(
            max_examples=self.EXAMPLES,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )

    # -- facts and events -----------------------------------------------------------
    def test_facts_read_back_as_written(self, make_store):
        store = make_store()
        book = DossierBook(CAL)
        transitions, _ = book.apply(
            [
                validate(received("F1", local_ms(2025, 3, 3))),
                validate(received("F2", local_ms(2025, 3, 4), channel="DIRECT")),
            ]
        )
        write_transitions(store, transitions)
        assert store.facts_of(["F1", "F2", "F3"]) == {t.dossier_id: t.new for t in transitions}

    def test_stored_dossiers_are_those_with_written_facts(self, make_store):
        store = make_store()
        transitions, _ = DossierBook(CAL).apply(
            [validate(received("S1", local_ms(2025, 3, 3))), validate(received("S2", local_ms(2025, 3, 4)))]
        )
        write_transitions(store, transitions)
        assert store.stored_dossiers(["S2", "S3", "S1"]) == {"S1", "S2"}
        assert store.stored_dossiers([]) == set()
        # the writer keeps read facts encoded (pipeline.rounds.RecentFacts): they survive it
        read = store.facts_of(["S1", "S2"])
        assert orjson.loads(orjson.dumps(read)) == read

    def test_the_highest_version_is_read_back_whatever_the_insert_order(self, make_store):
        store = make_store()
        book = DossierBook(CAL)
        v1 = book.apply([validate(received("V1", local_ms(2025, 3, 3)))])[0][0].new
        v2 = book.apply(
            [
                validate(
                    dict(
                        received("V1", local_ms(2025, 3, 3)),
                        event_id="V1-2",
                        event_type="RESOLVED",
                        occurred_at=local_ms(2025, 3, 5),
                    )
                )
            ]
        )[0][0].new
        assert v2["version"] > v1["version"]
        store.insert_states([v2], "state-b")
        store.insert_states([v1], "state-a")
        assert store.facts_of(["V1"])["V1"]["version"] == v2["version"]

    def test_events_are_kept_once_per_id(self, make_store):
        store = make_store()
        e = validate(received("E1", local_ms(2025, 3, 3)))
        store.insert_events([e], [orjson.dumps(e)], "events-a")
        store.insert_events([e], [orjson.dumps(e)], "events-b")  # another batch, same event
        assert store.events_of(["E1", "E2"]) == {"E1": [orjson.dumps(e)]}

    def test_dead_letters_are_kept_once_per_id(self, make_store):
        store = make_store()
        d = CODEC.dead_letter(source="f.jsonl:1", stage="validate", code="BAD", reason="x", payload=b"{}")
        store.insert_dead_letters([d])
        store.insert_dead_letters([d])
        assert store.count("dead_letters") == 1

    # -- tokens ---------------------------------------------------------------------
    def test_a_retried_insert_is_dropped_by_its_token_and_other_tokens_count(self, make_store):
        store = make_store()
        transitions, _ = DossierBook(CAL).apply([validate(received("T1", local_ms(2025, 3, 3)))])
        write_transitions(store, transitions, token_prefix="facts:0:0-0")
        once = store.kpi(PERIOD, AS_OF, "all", CAL)
        write_transitions(store, transitions, token_prefix="facts:0:0-0")  # the retry
        assert store.kpi(PERIOD, AS_OF, "all", CAL) == once
        assert once[0]["received"] == 1
        write_transitions(store, transitions, token_prefix="facts:0:1-1")  # another batch
        assert store.kpi(PERIOD, AS_OF, "all", CAL)[0]["received"] == 2
        parts = [b"x"]
        assert content_token("rollup", parts) == content_token("rollup", [b"x"])

    # -- the handlers over the store ------------------------------------------------
    def test_kpi_equals_the_pure_reference(self, make_store):
        @self.examples()
        @given(st.data())
        def check(data):
            events = data.draw(histories())
            sent = data.draw(delivered(events))
            store = make_store()
            IngestService(store, CAL, CODEC, {}, batch_size=data.draw(st.integers(1, 40))).ingest(
                records(sent)
            )
            facts, kpi = reference(events)
            assert figures(store, facts) == (facts, kpi)

        check()

    def test_an_ingest_killed_at_any_insert_then_rerun_counts_once(self, make_store):
        @self.examples()
        @given(st.data())
        def check(data):
            events = data.draw(histories(max_dossiers=6))
            sent = data.draw(delivered(events))
            size = data.draw(st.integers(1, 20))
            store = make_store()
            self.hook(store, crash_at(data.draw(st.integers(1, 12))))
            try:
                IngestService(store, CAL, CODEC, {}, batch_size=size).ingest(records(sent))
            except Crash:
                pass
            self.hook(store, lambda table: None)
            # the restarted run: a new process (an empty book) reads the same input again
            IngestService(store, CAL, CODEC, {}, batch_size=size).ingest(records(sent))
            facts, kpi = reference(events)
            assert figures(store, facts) == (facts, kpi)

        check()

    def test_a_batch_killed_between_its_states_and_its_events_then_rerun_counts_once(self, make_store):
        """The case hypothesis found: batch 2 of 4 dies after its states insert, before its
        events insert. On the rerun D000 has stored facts but no stored events; its old
        facts must be the stored ones, or the batch's rollup token changes and D000's
        receipt counts twice."""
        from tests.builders import make_event

        at = local_ms(2025, 2, 20, 8)
        d000, d001 = received("D000", at, days=0), received("D001", at, days=0)
        asks = [make_event("D001", i, "SUPPLEMENT_REQUESTED", at + i * 3_600_000) for i in range(2, 6)]
        done = make_event("D001", 6, "RESOLVED", at + 6 * 3_600_000, electronic_result=False)
        sent = [d001, asks[0], d000, asks[1], asks[2], asks[3], done]
        store = make_store()
        inserts = {"n": 0}

        def die_at_batch_twos_events(table: str) -> None:
            inserts["n"] += 1 if table != "dead_letters" else 0
            if table == "events" and inserts["n"] == 8:
                raise Crash(table)

        self.hook(store, die_at_batch_twos_events)
        with pytest.raises(Crash):
            IngestService(store, CAL, CODEC, {}, batch_size=2).ingest(records(sent))
        self.hook(store, lambda table: None)
        IngestService(store, CAL, CODEC, {}, batch_size=2).ingest(records(sent))
        facts, kpi = reference(sent)
        assert figures(store, facts) == (facts, kpi)

    def test_a_writer_round_killed_at_any_insert_then_rerun_counts_once(self, make_store):
        """The writer's rounds: facts messages (each dossier's current facts after each
        processor batch) written round by round; one round dies at an insert and is
        written again, as a re-formed intent is, before the next round."""

        @self.examples()
        @given(st.data())
        def check(data):
            events = [validate(dict(e)) for e in data.draw(histories(max_dossiers=6))]
            sent = data.draw(delivered(events))
            messages = processor_messages(sent, data.draw(st.integers(1, 10)))
            per_round = data.draw(st.integers(1, 8))
            rounds = [messages[i : i + per_round] for i in range(0, len(messages), per_round)]
            doomed = data.draw(st.integers(0, len(rounds) - 1)) if rounds else -1
            store = make_store()
            for n, msgs in enumerate(rounds):
                raws = [(0, f"facts:0:{n}:{i}", orjson.dumps(m)) for i, m in enumerate(msgs)]
                token = f"facts:0:{n}"
                if n == doomed:
                    self.hook(store, crash_at(data.draw(st.integers(1, 5))))
                    try:
                        round_writer(store).write(token, raws)
                    except Crash:
                        pass
                    self.hook(store, lambda table: None)
                round_writer(store).write(token, raws)
            facts, kpi = reference(events)
            assert figures(store, facts) == (facts, kpi)

        check()


def processor_messages(events: list[dict], batch: int) -> list[dict]:
    """What the processor sends for ``events`` in batches of ``batch``: per batch and
    dossier, the dossier's current facts and the batch's events of it."""
    book = DossierBook(CAL)
    out = []
    for i in range(0, len(events), batch):
        chunk = events[i : i + batch]
        book.apply(chunk)
        for d in dict.fromkeys(e["dossier_id"] for e in chunk):
            facts = book.facts(d)
            if facts is not None:
                out.append({"facts": facts, "events": [e for e in chunk if e["dossier_id"] == d], "ts": []})
    return out


def round_writer(store, recent: int = 0, wait=lambda s: True) -> RoundWriter:
    """The writer's store side; ``recent``: how many written facts it remembers."""

    def refuse(source, raw, reason):
        return CODEC.dead_letter(
            source=source, stage="writer", code="BAD_FACTS_MESSAGE", reason=reason, payload=raw
        )

    return RoundWriter(
        store, check_states=store.check_states, dead_letter=refuse, wait=wait, recent_capacity=recent
    )
