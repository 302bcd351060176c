"""The embedded pipeline against real in-process ClickHouse (chDB): the SQL KPIs equal the
pure-Python reference, whatever the batches, duplicates, order and restarts."""

from __future__ import annotations

from datetime import date

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motcua.domain.lifecycle import derive_facts, fold
from motcua.domain.metrics import kpi_rows
from motcua.domain.periods import Period
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from tests.builders import local_ms
from tests.strategies import delivered, histories

cal = default_calendar()
MARCH = Period(date(2025, 3, 1), date(2025, 4, 1))


def reference(events, period, as_of, by):
    by_id: dict = {}
    for e in events:
        by_id.setdefault(e["dossier_id"], []).append(e)
    facts = [derive_facts(fold(k, v), cal) for k, v in by_id.items()]
    return kpi_rows(facts, period, as_of, by, cal)


def records(stream):
    return [(f"test:{i}", orjson.dumps(e)) for i, e in enumerate(stream)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_sql_kpis_equal_reference_across_batches_restarts_and_duplicates(new_store, data):
    store = new_store()
    events = data.draw(histories())
    stream = data.draw(delivered(events))
    cut = data.draw(st.integers(0, len(stream)))
    batch = data.draw(st.integers(1, 8))
    # first process ingests a prefix, then "crashes"; a new one (empty cache) goes on
    EmbeddedPipeline(store, cal, batch_size=batch).ingest(records(stream[:cut]))
    EmbeddedPipeline(store, cal, batch_size=batch).ingest(records(stream[cut:]))
    as_of = data.draw(
        st.sampled_from([local_ms(2025, 3, 12, 10), local_ms(2025, 4, 1, 0), local_ms(2025, 7, 1)])
    )
    for by in ("level", "unit", "all"):
        assert store.kpi(MARCH, as_of, by, cal) == reference(events, MARCH, as_of, by)


def test_replaying_the_same_input_twice_changes_nothing(store):
    from tests.builders import make_event, received

    evs = [
        received("R1", local_ms(2025, 3, 3)),
        make_event("R1", 2, "RESOLVED", local_ms(2025, 3, 4)),
        received("R2", local_ms(2025, 3, 5), channel="DIRECT"),
    ]
    recs = records(evs) + [("bad:1", b"not json"), ("bad:2", b'{"event_id": "x"}')]
    first = EmbeddedPipeline(store, cal).ingest(recs)
    assert (first.accepted, first.rejected) == (3, 2)
    before = store.kpi(MARCH, local_ms(2025, 4, 1), "unit", cal)
    second = EmbeddedPipeline(store, cal).ingest(recs)
    assert second.duplicates == 3 and second.dossiers_changed == 0
    assert store.kpi(MARCH, local_ms(2025, 4, 1), "unit", cal) == before
    assert store.count("events") == 3 and store.count("dead_letters") == 2
    assert store.held_dossiers() == 0
    assert dict(store.dead_letter_summary()) == {"BAD_JSON": 1, "MISSING_FIELD": 1}


def test_a_retried_insert_is_dropped_by_its_token(store):
    """Simulates a crash after the rollup insert: the rerun repeats it with the same token."""
    from motcua.pipeline.dossiers import DossierBook, rollup_deltas, transition_token_parts
    from motcua.pipeline.rounds import content_token
    from tests.builders import received

    book = DossierBook(cal)
    transitions, _ = book.apply([received("T1", local_ms(2025, 3, 3))])
    parts = transition_token_parts(transitions)
    rows = rollup_deltas(transitions)
    store.insert_rollup(rows, content_token("rollup", parts))
    store.insert_rollup(rows, content_token("rollup", parts))  # the retry
    got = store.client.query(f"SELECT sum(received) FROM {store.db}.kpi_daily").result_rows[0][0]
    assert got == 1


VIEW_TARGETS = {  # materialized-view target -> a column it sums
    "kpi_daily_unit": "received",
    "kpi_daily_level": "received",
    "kpi_monthly_unit": "received",
    "open_backlog_unit": "open",
    "open_backlog_level": "open",
    "open_backlog_total_unit": "open",
    "open_backlog_due_unit": "open",
}


def test_a_retried_write_is_dropped_in_every_view_target(store):
    """A writer batch repeated after a crash (same transitions, same tokens) changes no
    rollup the panels read: the views' targets drop the repeated blocks like their
    sources (migration 0026). Two different batches with equal content both count."""
    from motcua.pipeline.dossiers import DossierBook
    from motcua.pipeline.rounds import write_transitions
    from tests.builders import received

    def sums():
        return {
            t: store.client.query(f"SELECT sum({col}) FROM {store.db}.{t}").result_rows[0][0]
            for t, col in VIEW_TARGETS.items()
        }

    once = DossierBook(cal).apply([received("V1", local_ms(2025, 3, 3))])[0]
    write_transitions(store, once, token_prefix="facts:0:0-0")
    first = sums()
    assert all(v == 1 for v in first.values()), first
    write_transitions(store, once, token_prefix="facts:0:0-0")  # the crash rerun
    assert sums() == first
    other = DossierBook(cal).apply([received("V2", local_ms(2025, 3, 3))])[0]
    write_transitions(store, other, token_prefix="facts:0:1-1")
    assert all(v == 2 for v in sums().values())


def test_migrations_create_the_rollup_with_every_counter(store):
    from motcua.adapters.clickhouse_store import ROLLUP_KEYS, STATE_COLUMNS
    from motcua.domain.metrics import COUNTERS

    cols = [
        r[0]
        for r in store.client.query(
            "SELECT name FROM system.columns WHERE database = {db:String} AND table = 'kpi_daily' ORDER BY position",
            parameters={"db": store.db},
        ).result_rows
    ]
    assert cols == list(ROLLUP_KEYS) + list(COUNTERS)
    cols = {
        r[0]
        for r in store.client.query(
            "SELECT name FROM system.columns WHERE database = {db:String} AND table = 'dossier_state'",
            parameters={"db": store.db},
        ).result_rows
    }
    # state_rank: the MATERIALIZED order of the ReplacingMergeTree (version, revision)
    assert cols == set(STATE_COLUMNS) | {"state_rank"}
    assert store.migrate() == []  # idempotent


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_stored_facts_read_back_equal_and_backlog_matches_status(new_store, data):
    """dossier_state rows read back are the domain facts; the open backlog gives the same
    in progress / overdue / due soon "now" as status_at."""
    from motcua.domain.lifecycle import status_at

    store = new_store()
    events = data.draw(histories())
    pipeline = EmbeddedPipeline(store, cal, batch_size=data.draw(st.integers(1, 10)))
    pipeline.ingest(records(data.draw(delivered(events))))
    expected = {f["dossier_id"]: f for f in pipeline.book.all_facts()}
    assert store.facts_of(list(expected)) == expected
    now = local_ms(2025, 9, 1)  # after every event
    today = date(2025, 9, 1)
    nxt = date.fromordinal(cal.next_working_day(today))
    got = store.client.query(
        f"SELECT sum(open), sumIf(open, due_date < {{t:Date}}), "
        f"sumIf(open, due_date IN ({{t:Date}}, {{n:Date}})) FROM {store.db}.open_backlog",
        parameters={"t": today, "n": nxt},
    ).result_rows[0]
    statuses = [status_at(f, now, cal) for f in expected.values()]
    assert tuple(int(x) for x in got) == (
        sum(s.in_progress for s in statuses),
        sum(s.overdue for s in statuses),
        sum(s.due_soon for s in statuses),
    )


def test_orphan_events_are_held_then_counted_once(store):
    from tests.builders import make_event, received

    resolved = make_event("O1", 2, "RESOLVED", local_ms(2025, 3, 4))
    EmbeddedPipeline(store, cal).ingest(records([resolved]))
    assert store.held_dossiers() == 1
    assert store.kpi(MARCH, local_ms(2025, 4, 1), "all", cal) == []
    EmbeddedPipeline(store, cal).ingest(records([received("O1", local_ms(2025, 3, 3)), resolved]))
    assert store.held_dossiers() == 0
    (row,) = store.kpi(MARCH, local_ms(2025, 4, 1), "all", cal)
    assert (row["on_time_rate_num"], row["on_time_rate_den"], row["received"]) == (1, 1, 1)
