"""``python -m tests.integration.cluster_emulation WORKDIR``: the cluster form of the schema,
run on chDB as far as chDB can, next to the single form; JSON on stdout.

chDB has no ClickHouse Keeper and runs no distributed DDL, so two things of the cluster
form cannot run here and are taken out, and only those: ``ON CLUSTER '…'`` and the Keeper
arguments of the ``Replicated*MergeTree`` engines (each becomes the engine it replicates,
``replicated_deduplication_window`` its ``non_replicated_`` twin). Everything else runs
as generated: the ``_local`` tables, the real ``Distributed`` tables with their sharding
keys over a one-shard cluster ``motcua`` of this process (the config below; chDB executes
the local shard in-process), the views on the local tables, 0027's exchange and the
backfills through ``Distributed``. The store's own code then replays the same simulated
events into both databases, so its queries and inserts go through the ``Distributed``
tables (with the cluster form's session settings)."""

from __future__ import annotations

import re
import sys
from datetime import date
from pathlib import Path

import clickhouse_connect
import orjson

from motcua.adapters import clickhouse_store
from motcua.adapters.clickhouse_store import CLUSTER_SESSION_SETTINGS, ClickHouseStore, schema_migrations
from motcua.adapters.clickhouse_targets import TargetsRepository
from motcua.adapters.cluster_schema import bootstrap_statements
from motcua.bootstrap import plan_targets
from motcua.dashboards.runner import collect_overview
from motcua.domain.calendar import local_midnight_ms
from motcua.domain.periods import Period
from motcua.reference.official_calendar import default_calendar
from motcua.replay import EmbeddedPipeline
from motcua.settings import get_settings
from motcua.simulate import simulate

from .kafka.storeprobe import rollup_totals

# tcp_port is never listened on (chDB is no server): it only makes "localhost:9000" this
# process, so the shard is local and queried in-process.
CONFIG = """<clickhouse>
  <tcp_port>9000</tcp_port>
  <remote_servers>
    <motcua>
      <shard>
        <internal_replication>true</internal_replication>
        <replica><host>localhost</host><port>9000</port></replica>
      </shard>
    </motcua>
  </remote_servers>
  <macros><shard>01</shard><replica>emulated</replica></macros>
</clickhouse>
"""

_ON_CLUSTER = re.compile(r" ON CLUSTER '[^']*'")
_REPLICATED = re.compile(r"\bReplicated(\w*MergeTree)\('[^']*', '[^']*'(?:, )?")


def emulated(statement: str) -> str:
    """The cluster statement minus what needs Keeper (see the module's docstring)."""
    out = _ON_CLUSTER.sub("", statement)
    out = _REPLICATED.sub(r"\1(", out)
    return re.sub(r"\breplicated_deduplication_window\b", "non_replicated_deduplication_window", out)


def open_engine(workdir: Path) -> str:
    """The chDB engine of this process, started with the cluster config; returns its DSN."""
    config = workdir / "config.xml"
    config.write_text(CONFIG, encoding="utf-8")
    path = workdir / "store"
    dsn = f"chdb://{path}"
    client = clickhouse_connect.get_client(dsn=dsn, chdb_options={"config-file": str(config)})
    clickhouse_store._CLIENTS[dsn] = client  # every store of this process uses this engine
    return dsn


def apply_cluster_form(dsn: str, db: str) -> ClickHouseStore:
    """A store whose database ``db`` holds the (emulated) cluster form, all versions applied."""
    store = ClickHouseStore(f"{dsn}?database={db}", migrate=False)
    fill = {"{db}": db, "{cluster}": "motcua"}
    statements = list(bootstrap_statements())
    versions = []
    for version, name, migration in schema_migrations("cluster"):
        statements.extend(migration)
        versions.append([version, name])
    for sql in statements:
        for key, value in fill.items():
            sql = sql.replace(key, value)
        store.client.command(emulated(sql))
    store.client.insert(f"{db}.schema_migrations", versions, column_names=["version", "description"])
    for name, value in CLUSTER_SESSION_SETTINGS.items():
        store.client.set_client_setting(name, value)
    return store


def structure(store: ClickHouseStore) -> dict:
    q = store.client.query
    tables = {
        r[0]: dict(
            zip(("engine", "engine_full", "sorting_key", "partition_key", "create_table_query"), r[1:])
        )
        for r in q(
            "SELECT name, engine, engine_full, sorting_key, partition_key, create_table_query FROM system.tables "
            "WHERE database = {db:String}",
            parameters={"db": store.db},
        ).result_rows
    }
    for name, kind, default_kind, default_expression, codec in q(
        "SELECT table, name || ' ' || type, default_kind, default_expression, compression_codec "
        "FROM system.columns WHERE database = {db:String} ORDER BY table, position",
        parameters={"db": store.db},
    ).result_rows:
        tables[name].setdefault("columns", []).append([kind, default_kind, default_expression, codec])
    return tables


def workload(store: ClickHouseStore) -> dict:
    """The same simulated history (two provinces, duplicates, a replayed prefix, bad
    lines) through the store's own code, and what the store and the dashboards then answer."""
    cal = default_calendar()
    store.load_calendar(cal)
    events = [
        *simulate("75", date(2025, 3, 1), date(2025, 3, 31), seed=3, scale=0.02, duplicates=0.02),
        *simulate("01", date(2025, 3, 1), date(2025, 3, 31), seed=4, scale=0.02, duplicates=0.02),
    ]
    records = [(f"s:{i}", e) for i, e in enumerate(events)]
    pipe = EmbeddedPipeline(store, cal, batch_size=5_000)
    pipe.ingest(records)
    pipe.ingest(records[: len(records) // 3])  # a retried prefix: dropped by its tokens
    pipe.ingest([("bad:1", b"not json")])
    targets = TargetsRepository(store)
    targets.replace(plan_targets(get_settings()))
    targets.load_reference_names(["75", "01"], targets.stored_unit_codes())
    period, as_of = Period(date(2025, 3, 1), date(2025, 4, 1)), local_midnight_ms(date(2025, 3, 20))
    return {
        "kpi": {by: store.kpi(period, as_of, by, cal) for by in ("all", "level", "unit")},
        "events": store.count("events"),
        "dossiers": store.count("dossier_state"),
        "dead_letters": dict(store.dead_letter_summary()),
        "rollups": rollup_totals(store),
        # the overview's panel queries (joins of Distributed rollups, reference names)
        "overview": collect_overview(store, date(2025, 3, 1), date(2025, 3, 31)),
        "calendar_days": store.client.query(f"SELECT count() FROM {store.db}.work_calendar").result_rows[0][
            0
        ],
    }


def main(argv: list[str]) -> None:
    dsn = open_engine(Path(argv[0]))
    single = ClickHouseStore(f"{dsn}?database=single")
    cluster = apply_cluster_form(dsn, "clu")
    out = {
        "clusters": [
            list(r) for r in single.client.query("SELECT cluster, is_local FROM system.clusters").result_rows
        ],
        "single": {"structure": structure(single), "figures": workload(single)},
        "cluster": {"structure": structure(cluster), "figures": workload(cluster)},
    }
    out["forms"] = {"single": single.present_form(), "cluster": cluster.present_form()}
    out["cluster"]["rows"] = {
        t: cluster.client.query(f"SELECT count() FROM clu.{t}").result_rows[0][0] for t in ("events_local",)
    }
    sys.stdout.buffer.write(orjson.dumps(out, default=str, option=orjson.OPT_NON_STR_KEYS))


if __name__ == "__main__":
    main(sys.argv[1:])
