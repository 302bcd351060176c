"""The cluster form of the schema, as generated from the single-node migrations: every
table has its twin (same engine family, keys and settings), the views read and write the
local tables, deduplication is the single form's, and a statement or table the generator
cannot place fails loudly. chDB parses, formats and runs the statements in
tests/integration/test_cluster_schema.py."""

from __future__ import annotations

import re

import pytest

from motcua.adapters import cluster_schema as cs
from motcua.adapters.clickhouse_store import (
    SchemaFormError,
    _distributed_cluster,
    choose_form,
    load_migrations,
    schema_migrations,
)
from motcua.reference.reform import former_provinces

SINGLE = load_migrations()
CLUSTER = schema_migrations("cluster")
CREATE = re.compile(
    r"CREATE TABLE IF NOT EXISTS \{db\}\.(?P<name>\w+) (?:ON CLUSTER '\{cluster\}' )?\((?P<columns>.*)\)\s*"
    r"ENGINE = (?P<engine>\w+)(?:\((?P<args>[^)]*)\))?\s*(?P<rest>.*)",
    re.S,
)


def creates(migrations) -> dict[str, re.Match[str]]:
    out = {}
    for _v, _n, statements in migrations:
        for st in statements:
            m = CREATE.fullmatch(st)
            if m:
                out[m["name"]] = m
    return out


def statements_of(migrations) -> list[str]:
    return [st for _v, _n, sts in migrations for st in sts]


def distributed_of(table: str) -> str | None:
    for st in statements_of(CLUSTER):
        if st.startswith(f"CREATE TABLE IF NOT EXISTS {{db}}.{table} ON CLUSTER") and "Distributed(" in st:
            return st
    return None


def without_dedup(rest: str) -> str:
    return re.sub(r",?\s*(?:SETTINGS\s+)?(?:non_)?replicated_deduplication_window = \d+", "", rest).strip()


def test_the_cluster_form_has_the_single_forms_versions_and_names():
    assert [(v, n) for v, n, _s in CLUSTER] == [(v, n) for v, n, _s in SINGLE]


def test_every_single_node_table_has_its_cluster_twin():
    single, cluster = creates(SINGLE), creates(CLUSTER)
    assert len(single) == sum(st.startswith("CREATE TABLE") for st in statements_of(SINGLE)) > 0
    for name, m in single.items():
        local = cluster[cs.local_name(name)]
        assert local["columns"] == m["columns"], name
        assert local["engine"] == "Replicated" + m["engine"], name
        keeper, replica, *args = [a.strip() for a in local["args"].split(",")]
        assert args == ([m["args"].strip()] if m["args"] else []), name
        if name in cs.SHARDED:
            assert (
                keeper == f"'/clickhouse/tables/{{shard}}/{{database}}/{name}_local'"
                and replica == "'{replica}'"
            )
            dist = distributed_of(name)
            assert dist is not None, f"{name}: no Distributed table"
            assert f"AS {{db}}.{name}_local" in dist
            assert f"Distributed('{{cluster}}', '{{db}}', '{name}_local', {cs.sharding_key(name)})" in dist
        else:
            assert name in cs.EVERYWHERE
            assert (
                keeper == f"'/clickhouse/tables/all/{{database}}/{name}'" and replica == "'{shard}-{replica}'"
            )
            assert distributed_of(name) is None, f"{name} is replicated everywhere, not distributed"
        # ORDER BY, PARTITION BY and every other setting as in the single form
        assert without_dedup(local["rest"]) == without_dedup(m["rest"]), name


def test_the_placement_names_exactly_the_tables_of_the_single_form():
    single = set(creates(SINGLE))
    assert set(cs.SHARDED) | (cs.EVERYWHERE - {"schema_migrations"}) == single
    assert not set(cs.SHARDED) & cs.EVERYWHERE


def test_deduplication_is_the_single_forms():
    """A window where the single form has one, the same size; none (0) where it has none:
    a replicated table would otherwise drop a repeated identical insert."""
    single, cluster = creates(SINGLE), creates(CLUSTER)
    for name, m in single.items():
        want = re.search(r"non_replicated_deduplication_window = (\d+)", m["rest"])
        got = re.search(r"\breplicated_deduplication_window = (\d+)", cluster[cs.local_name(name)]["rest"])
        assert got, name
        assert got[1] == (want[1] if want else "0"), name
    alters = [st for st in statements_of(CLUSTER) if st.startswith("ALTER TABLE")]
    assert alters and all(
        re.fullmatch(
            r"ALTER TABLE \{db\}\.\w+_local ON CLUSTER '\{cluster\}' MODIFY SETTING "
            r"replicated_deduplication_window = 10000",
            st,
        )
        for st in alters
    ), alters


def test_views_read_and_write_the_local_tables():
    views = [st for st in statements_of(CLUSTER) if st.startswith("CREATE MATERIALIZED VIEW")]
    assert len(views) == sum(st.startswith("CREATE MATERIALIZED VIEW") for st in statements_of(SINGLE)) > 0
    for st in views:
        assert re.search(r" TO \{db\}\.\w+_local AS", st), st
        sources = re.findall(r"\bFROM \{db\}\.(\w+)", st)
        assert sources and all(s.endswith("_local") for s in sources), st


def test_every_ddl_statement_runs_on_the_whole_cluster():
    for st in [*cs.bootstrap_statements(), *statements_of(CLUSTER)]:
        if not st.startswith("INSERT"):
            assert " ON CLUSTER '{cluster}'" in st, st


def test_the_rebuild_of_0027_repoints_the_distributed_tables():
    (statements,) = [s for v, _n, s in CLUSTER if v == 27]
    swap = statements.index(
        "EXCHANGE TABLES {db}.dossier_state_local AND {db}.dossier_state_0027_local ON CLUSTER '{cluster}'"
    )
    replaced = statements[swap + 1]
    assert replaced.startswith(
        "CREATE OR REPLACE TABLE {db}.dossier_state ON CLUSTER '{cluster}' AS {db}.dossier_state_local"
    )
    assert "DROP TABLE {db}.dossier_state_0027_local ON CLUSTER '{cluster}' SYNC" in statements


def test_the_province_key_groups_a_former_province_with_its_successor():
    key = cs.province_shard_key()
    merged = [p for p in former_provinces() if p.code != f"{p.new_gso:02d}"]
    assert merged and all(f"'{p.code}'" in key for p in merged)
    pairs = re.search(r"\[(.*?)\], \[(.*?)\]", key)
    assert pairs
    mapping = dict(zip(re.findall(r"'(\d+)'", pairs[1]), re.findall(r"'(\d+)'", pairs[2])))
    assert mapping == {p.code: f"{p.new_gso:02d}" for p in merged}
    assert mapping["70"] == "75"


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("CREATE TABLE IF NOT EXISTS {db}.mystery (a String) ENGINE = MergeTree ORDER BY a", "SHARDED"),
        ("TRUNCATE TABLE {db}.work_calendar", "no cluster form"),
        (
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.x_mv TO {db}.kpi_daily_unit AS "
            "SELECT day, unit_code FROM {db}.kpi_daily GROUP BY day, unit_code",
            "drops province_code",
        ),
        (
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.x_mv TO {db}.kpi_daily_unit AS "
            "SELECT day, province_code FROM {db}.work_calendar",
            "not sharded",
        ),
        (
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.x_mv TO {db}.kpi_daily_unit AS "
            "SELECT province_code FROM {db}.dead_letters",
            "sharded differently",
        ),
    ],
)
def test_a_statement_without_a_sound_cluster_form_is_refused(statement, message):
    with pytest.raises(cs.ClusterSchemaError, match=message):
        cs.cluster_statements(statement)


def test_the_store_opens_the_form_asked_for_or_the_one_it_has():
    assert choose_form(None, None, embedded=True, db="m") == ("single", "motcua")
    assert choose_form("cluster", "cum_1", embedded=False, db="m") == ("cluster", "cum_1")
    # a service opening a store without the settings takes the store's form and cluster
    assert choose_form(None, None, embedded=False, db="m", present="cluster", present_cluster="c2") == (
        "cluster",
        "c2",
    )
    assert choose_form("single", None, embedded=False, db="m", present="single") == ("single", "motcua")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("cluster", None, True, "m"), "chDB"),
        (("sharded", None, False, "m"), "single hoặc cluster"),
        (("cluster", "x; DROP", False, "m"), "tên cụm"),
        (("single", None, False, "m", "cluster", "motcua"), "đã ở dạng cluster nhưng MOTCUA_SCHEMA=single"),
        (("cluster", None, False, "m", "single"), "đã ở dạng single nhưng MOTCUA_SCHEMA=cluster"),
    ],
)
def test_a_form_that_does_not_fit_the_store_is_refused(args, message):
    with pytest.raises(SchemaFormError, match=message):
        choose_form(*args)


def test_the_cluster_of_a_distributed_engine_is_read_back():
    assert _distributed_cluster("Distributed('motcua', 'db', 'events_local', cityHash64(x))") == "motcua"
    assert _distributed_cluster("Distributed(cum, db, events_local)") == "cum"
    assert _distributed_cluster("ReplacingMergeTree ORDER BY (dossier_id, event_id)") is None
