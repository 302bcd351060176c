"""The cluster form of the schema on the embedded engine (chDB embeds the server's release,
tests/integration/test_server_parity.py): every statement parses and formats, its engines
exist, a broken statement fails the same check, and the whole form, run as far as chDB can
(tests/integration/cluster_emulation.py), has the single form's tables and columns and
gives the single form's figures through its Distributed tables. chDB itself refuses the
cluster form as a store."""

from __future__ import annotations

import re
import subprocess
import sys

import orjson
import pytest

from motcua.adapters.clickhouse_store import ClickHouseStore, SchemaFormError, schema_migrations
from motcua.adapters.cluster_schema import EVERYWHERE, SHARDED, bootstrap_statements, province_shard_key
from motcua.reference.reform import former_provinces
from tests.cli_runner import motcua

_ENGINE = re.compile(r"\bENGINE = (\w+)")


def cluster_statements() -> list[str]:
    """Every statement of the cluster form, filled in as the store fills it."""
    raw = [*bootstrap_statements(), *(st for _v, _n, sts in schema_migrations("cluster") for st in sts)]
    return [st.replace("{db}", "motcua").replace("{cluster}", "motcua") for st in raw]


def formatted(store: ClickHouseStore, sql: str) -> str:
    """``formatQuery``: parses ``sql`` with the engine's parser (an error if it cannot) and
    prints it back in the canonical form."""
    return store.client.query("SELECT formatQuery({q:String})", parameters={"q": sql}).result_rows[0][0]


def check_statement(store: ClickHouseStore, sql: str, engines: dict[str, int]) -> str:
    """The check every cluster statement passes: it parses, its canonical form is stable
    (formatting it again changes nothing), DDL keeps its ON CLUSTER, and every engine it
    names is one the engine has (replicated ones able to replicate). Returns the form."""
    out = formatted(store, sql)
    assert formatted(store, out) == out, sql
    if not sql.startswith("INSERT"):
        assert " ON CLUSTER motcua" in out or " ON CLUSTER 'motcua'" in out, out
    for engine in _ENGINE.findall(out):
        assert engine in engines, f"unknown table engine {engine}: {sql[:200]}"
        if engine.startswith("Replicated"):
            assert engines[engine], f"{engine} does not replicate"
    return out


@pytest.fixture(scope="module")
def engines(chdb_path) -> dict[str, int]:
    store = ClickHouseStore(f"chdb://{chdb_path}?database=cluster_engines", migrate=False)
    return dict(store.client.query("SELECT name, supports_replication FROM system.table_engines").result_rows)


def test_every_cluster_statement_parses_and_formats_with_the_embedded_engine(store, engines):
    statements = cluster_statements()
    assert len(statements) > 60
    seen = set()
    for sql in statements:
        seen.update(_ENGINE.findall(check_statement(store, sql, engines)))
    assert {"ReplicatedReplacingMergeTree", "ReplicatedSummingMergeTree", "ReplicatedMergeTree"} <= seen
    assert "Distributed" in seen


@pytest.mark.parametrize(
    "broken",
    [
        lambda s: s.replace("ON CLUSTER", "ON CLUSTR", 1),  # a keyword misspelt
        lambda s: s.replace("'{replica}')", "'{replica}'", 1),  # an argument list left open
        lambda s: s.replace("'/clickhouse/tables/", "/clickhouse/tables/'", 1),  # a quote misplaced
        lambda s: s.replace(
            "ReplicatedReplacingMergeTree", "ReplicatedReplacingMergTree", 1
        ),  # no such engine
        lambda s: s.replace(") ENGINE", " ENGINE", 1),  # the column list left open
    ],
    ids=["keyword", "arguments", "quote", "engine", "columns"],
)
def test_a_broken_cluster_statement_fails_the_check(store, engines, broken):
    (events_local,) = [s for s in cluster_statements() if "motcua.events_local ON CLUSTER" in s]
    check_statement(store, events_local, engines)  # the statement itself passes
    sql = broken(events_local)
    assert sql != events_local
    with pytest.raises(Exception):  # noqa: B017 - a syntax error or the engine assertion
        check_statement(store, sql, engines)


def test_the_sharding_key_puts_a_former_province_with_its_successor(store):
    merged = [p for p in former_provinces() if p.code != f"{p.new_gso:02d}"]
    codes = sorted({p.code for p in merged} | {f"{p.new_gso:02d}" for p in merged} | {"01", "79", "zz"})
    rows = store.client.query(
        f"SELECT province_code, {province_shard_key()} FROM "
        "(SELECT arrayJoin({codes:Array(String)}) AS province_code)",
        parameters={"codes": codes},
    ).result_rows
    key = dict(rows)
    assert all(key[p.code] == key[f"{p.new_gso:02d}"] for p in merged)
    assert key["70"] == key["75"] and len({key["01"], key["79"], key["75"]}) == 3
    assert key["zz"] == store.client.query("SELECT cityHash64('zz')").result_rows[0][0]  # unknown: itself


@pytest.fixture(scope="module")
def emulation(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("cluster-emulation")
    proc = subprocess.run(
        [sys.executable, "-m", "tests.integration.cluster_emulation", str(work)],
        capture_output=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    return orjson.loads(proc.stdout)


def test_the_emulated_cluster_has_the_single_forms_tables_and_columns(emulation):
    assert emulation["clusters"] == [["motcua", 1]]  # one shard, local: queried in-process
    # what a service opening the store without MOTCUA_SCHEMA reads its form from
    assert emulation["forms"] == {"single": ["single", None], "cluster": ["cluster", "motcua"]}
    single, cluster = emulation["single"]["structure"], emulation["cluster"]["structure"]
    for name, table in single.items():
        if name.endswith("_mv"):
            view = cluster[name]["create_table_query"]
            assert re.search(r" TO clu\.\w+_local ", view) and not re.search(
                r"FROM clu\.\w+(?<!_local) ", view
            )
            continue
        if name in SHARDED:
            dist, local = cluster[name], cluster[f"{name}_local"]
            assert dist["engine"] == "Distributed" and dist["engine_full"].startswith(
                f"Distributed('motcua', 'clu', '{name}_local', "
            )
            assert dist["columns"] == local["columns"] == table["columns"], name
            key = re.sub(r"'[^']*'", "", dist["engine_full"].split("_local', ", 1)[1])
            key_columns = set(re.findall(r"\b[a-z_]\w*\b(?!\()", key))
            assert key_columns and key_columns <= {c[0].split(" ")[0] for c in local["columns"]}, name
        else:
            assert name in EVERYWHERE, name
            local = cluster[name]
            assert local["columns"] == table["columns"], name
        assert (local["engine"], local["sorting_key"], local["partition_key"]) == (
            table["engine"],
            table["sorting_key"],
            table["partition_key"],
        ), name
    extra = set(cluster) - set(single) - {f"{t}_local" for t in SHARDED if t != "dossier_state_0027"}
    assert not extra, extra


def test_the_emulated_cluster_gives_the_single_forms_figures(emulation):
    """The store's own code writes and reads through the Distributed tables: the same
    history (duplicates, a retried prefix dropped by its tokens, a bad line) gives the same
    KPI rows, counts, dead letters and rollup totals, the rollups fed by the views on the
    local tables."""
    single, cluster = emulation["single"]["figures"], emulation["cluster"]["figures"]
    assert single["events"] > 1000 and single["rollups"]["kpi_daily_unit"]["received"] > 0
    assert cluster == single
    assert emulation["cluster"]["rows"]["events_local"] == single["events"]  # the rows are on the shard


def test_the_embedded_store_refuses_the_cluster_form(chdb_path, tmp_path):
    with pytest.raises(SchemaFormError, match="chDB"):
        ClickHouseStore(f"chdb://{chdb_path}?database=cluster_refused", schema="cluster")
    with pytest.raises(SchemaFormError, match="single hoặc cluster"):
        ClickHouseStore(f"chdb://{chdb_path}?database=cluster_refused", schema="sharded")
    proc = motcua(
        "targets",
        "load",
        "--store",
        f"chdb://{tmp_path / 'store'}",
        env={"MOTCUA_SCHEMA": "cluster"},
        check=False,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "MOTCUA_SCHEMA=cluster" in proc.stdout + proc.stderr and "Traceback" not in proc.stderr


def test_the_writer_opens_its_store_in_the_configured_form_and_does_not_retry_a_mismatch(chdb_path):
    """The writer's store follows MOTCUA_SCHEMA like every command (a writer started first
    on a new cluster must not create single-node tables); a form the store cannot take is a
    configuration error, raised at once rather than retried every 2 s like an outage."""
    import threading

    from motcua.live.config import LiveSettings
    from motcua.live.store_health import StoreHealth
    from motcua.live.writer import connect_store

    dsn = f"chdb://{chdb_path}?database=writer_form"
    health = StoreHealth()
    s = LiveSettings(store=dsn, MOTCUA_SCHEMA="cluster")
    assert s.store_schema == "cluster"
    with pytest.raises(SchemaFormError, match="chDB"):
        connect_store(s, None, threading.Event(), health)
    assert health.failures == 0  # refused, not counted as a store failure
    store = connect_store(LiveSettings(store=dsn), None, threading.Event(), health)
    assert store.schema == "single"
