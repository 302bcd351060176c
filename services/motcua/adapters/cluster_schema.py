"""The cluster form of the store schema, generated from the single-node migrations.

``MOTCUA_SCHEMA=cluster`` (docs/clickhouse-cluster.md) applies these statements instead of
``migrations/NNNN_*.sql``: the same versions, one cluster statement list per single-node
migration, so ``schema_migrations`` means the same in both forms. Generating them (rather
than keeping a second copy by hand) means a new single-node migration either gets its
cluster twin or fails the generator, which names the statement it cannot translate.

Every table is one of:

- sharded (``SHARDED``): a local ``<name>_local`` ``Replicated*MergeTree`` on every node
  (Keeper path per shard) and a ``Distributed`` table ``<name>``, the name the code queries
  and inserts into. The key is the table's ``SHARDED`` expression: for every table with a
  province, a hash of the province it belongs to since the 2025 merger (a former code such
  as "70" hashes like "75"), so every version of a dossier, every event of it and every
  rollup row of a unit land on one shard whatever code their source wrote. ``FINAL`` and
  ``ReplacingMergeTree`` only deduplicate within a shard: co-location is what keeps them
  right.
- replicated everywhere (``EVERYWHERE``): small reference tables without a province, or
  joined into queries over the sharded tables (``work_calendar``, ``reference_names``,
  the registries, targets). One ``Replicated*MergeTree`` with the code's name whose Keeper
  path has no shard, so every node holds all of it and a join on any shard reads it locally.

Materialized views fire on the table an insert reaches, so in the cluster form they read
the local source and write the local target (``…_local``): they fire on the shard that
stores the block, once its replicated deduplication has judged it, as in the single form.
A view over the ``Distributed`` table would fire on whichever node received the insert,
with every province of the block, and its rows would stay on that node: a retried batch
sent to another node would be counted again there. The generator checks that source and
target are sharded by the same key and that the view keeps the key's column, so a
rolled-up row stays on the shard its ``Distributed`` table would send it to.

Placeholders: ``{db}`` (the database) and ``{cluster}`` (``MOTCUA_CLICKHOUSE_CLUSTER``) are
filled in by the store; ``{shard}``, ``{replica}`` and ``{database}`` are the server's
macros, expanded by ClickHouse when a replicated table is created.
"""

from __future__ import annotations

import re
from functools import lru_cache

LOCAL_SUFFIX = "_local"
KEEPER_ROOT = "/clickhouse/tables"


class ClusterSchemaError(ValueError):
    """A single-node statement without a cluster form (names the statement)."""


@lru_cache(maxsize=1)
def province_shard_key(column: str = "province_code") -> str:
    """``cityHash64`` of the new province's two-digit code of ``column`` (a former
    province's code counts as the province it merged into; unknown codes as themselves)."""
    from ..reference.reform import former_provinces

    pairs = sorted((p.code, f"{p.new_gso:02d}") for p in former_provinces() if p.code != f"{p.new_gso:02d}")
    keys = ", ".join(f"'{k}'" for k, _v in pairs)
    values = ", ".join(f"'{v}'" for _k, v in pairs)
    return f"cityHash64(transform(toString({column}), [{keys}], [{values}], toString({column})))"


_PROVINCE = "province"
# table -> sharding key; _PROVINCE stands for province_shard_key()
SHARDED: dict[str, str] = {
    "events": _PROVINCE,
    "dossier_state": _PROVINCE,
    "dossier_state_0027": _PROVINCE,  # 0027's rebuild of dossier_state
    "kpi_daily": _PROVINCE,
    "open_backlog": _PROVINCE,
    "kpi_daily_unit": _PROVINCE,
    "open_backlog_unit": _PROVINCE,
    "kpi_daily_level": _PROVINCE,
    "kpi_monthly_unit": _PROVINCE,
    "open_backlog_level": _PROVINCE,
    "open_backlog_total_unit": _PROVINCE,
    "open_backlog_due_unit": _PROVINCE,
    "period_closes": _PROVINCE,
    "period_close_rows": _PROVINCE,
    "period_close_dossiers": _PROVINCE,
    # no province: a rejected record may not even name one. Its id is its
    # ReplacingMergeTree key, so a retried dead letter lands where the first one did.
    "dead_letters": "cityHash64(dead_letter_id)",
}
EVERYWHERE = frozenset(
    {
        "work_calendar",
        "calendar_versions",
        "targets",
        "reference_names",
        "registry_units",
        "registry_procedures",
        "schema_migrations",
    }
)


def sharding_key(table: str) -> str:
    key = SHARDED[table]
    return province_shard_key() if key == _PROVINCE else key


def local_name(table: str) -> str:
    """The table that holds the rows on a node: ``<name>_local`` when sharded."""
    return table + LOCAL_SUFFIX if table in SHARDED else table


def _placed(table: str, statement: str) -> None:
    if table not in SHARDED and table not in EVERYWHERE:
        raise ClusterSchemaError(
            f"table {table!r} is neither in SHARDED nor in EVERYWHERE "
            f"(adapters/cluster_schema.py): decide where it lives. Statement: {statement[:120]}"
        )


_CREATE = re.compile(
    r"CREATE TABLE IF NOT EXISTS \{db\}\.(?P<name>\w+) \((?P<columns>.*)\)\s*"
    r"ENGINE = (?P<engine>\w*MergeTree)(?:\((?P<args>[^)]*)\))?(?P<rest>.*)",
    re.S,
)
_SETTINGS_WINDOW = re.compile(r"\bnon_replicated_deduplication_window\b")


def _replicated_engine(table: str, engine: str, args: str | None) -> str:
    if table in SHARDED:
        path, replica = f"{KEEPER_ROOT}/{{shard}}/{{database}}/{local_name(table)}", "{replica}"
    else:
        # one Keeper path for the whole cluster: a replica name must be unique across it
        path, replica = f"{KEEPER_ROOT}/all/{{database}}/{table}", "{shard}-{replica}"
    extra = f", {args.strip()}" if args and args.strip() else ""
    return f"Replicated{engine}('{path}', '{replica}'{extra})"


def _dedup_settings(rest: str) -> str:
    """The single form deduplicates only where it sets ``non_replicated_deduplication_window``;
    a replicated table deduplicates by default, so the others get a window of 0 (no
    deduplication: a reload of identical rows, e.g. the calendar after TRUNCATE, must land)."""
    if _SETTINGS_WINDOW.search(rest):
        return _SETTINGS_WINDOW.sub("replicated_deduplication_window", rest)
    if "SETTINGS" in rest:
        return rest.rstrip() + ", replicated_deduplication_window = 0"
    return rest.rstrip() + "\nSETTINGS replicated_deduplication_window = 0"


def distributed(table: str) -> str:
    """The ``Distributed`` table of a sharded table, with the local table's columns."""
    return (
        f"CREATE TABLE IF NOT EXISTS {{db}}.{table} ON CLUSTER '{{cluster}}' AS {{db}}.{local_name(table)}\n"
        f"ENGINE = Distributed('{{cluster}}', '{{db}}', '{local_name(table)}', {sharding_key(table)})"
    )


def _create_table(m: re.Match[str], statement: str) -> list[str]:
    table = m["name"]
    _placed(table, statement)
    engine = _replicated_engine(table, m["engine"], m["args"])
    local = (
        f"CREATE TABLE IF NOT EXISTS {{db}}.{local_name(table)} ON CLUSTER '{{cluster}}' ({m['columns']})"
        f" ENGINE = {engine}{_dedup_settings(m['rest'])}"
    )
    return [local, distributed(table)] if table in SHARDED else [local]


_VIEW = re.compile(
    r"CREATE MATERIALIZED VIEW IF NOT EXISTS \{db\}\.(?P<name>\w+) TO \{db\}\.(?P<target>\w+) AS"
    r"(?P<select>.*\bFROM \{db\}\.)(?P<source>\w+)\b(?P<tail>.*)",
    re.S,
)


def _view(m: re.Match[str], statement: str) -> list[str]:
    target, source = m["target"], m["source"]
    for table in (target, source):
        _placed(table, statement)
        if table not in SHARDED:
            raise ClusterSchemaError(
                f"materialized view {m['name']}: {table} is not sharded: {statement[:120]}"
            )
    if SHARDED[target] != SHARDED[source] or SHARDED[target] != _PROVINCE:
        raise ClusterSchemaError(
            f"materialized view {m['name']}: {source} and {target} are sharded differently"
        )
    if not re.search(r"\bprovince_code\b", m["select"]):
        raise ClusterSchemaError(
            f"materialized view {m['name']} drops province_code, its target's sharding key"
        )
    return [
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.{m['name']} ON CLUSTER '{{cluster}}' "
        f"TO {{db}}.{local_name(target)} AS{m['select']}{local_name(source)}{m['tail']}"
    ]


_ALTER_SETTING = re.compile(r"ALTER TABLE \{db\}\.(?P<name>\w+) MODIFY SETTING (?P<setting>.*)", re.S)
_EXCHANGE = re.compile(r"EXCHANGE TABLES \{db\}\.(?P<a>\w+) AND \{db\}\.(?P<b>\w+)")
_DROP = re.compile(r"DROP TABLE \{db\}\.(?P<name>\w+)")
_INSERT = re.compile(r"INSERT INTO \{db\}\.(?P<name>\w+)\b.*", re.S)


def _alter_setting(m: re.Match[str], statement: str) -> list[str]:
    table = m["name"]
    _placed(table, statement)
    setting = _SETTINGS_WINDOW.sub("replicated_deduplication_window", m["setting"])
    return [f"ALTER TABLE {{db}}.{local_name(table)} ON CLUSTER '{{cluster}}' MODIFY SETTING {setting}"]


def _exchange(m: re.Match[str], statement: str) -> list[str]:
    """Swap the local tables, then point each ``Distributed`` table at its (new) local
    table again: a ``Distributed`` table has its own copy of the columns, so it is
    replaced rather than swapped (swapping it would keep the other table's name inside)."""
    a, b = m["a"], m["b"]
    for table in (a, b):
        _placed(table, statement)
    if not (a in SHARDED and b in SHARDED):
        return [f"EXCHANGE TABLES {{db}}.{a} AND {{db}}.{b} ON CLUSTER '{{cluster}}'"]
    out = [f"EXCHANGE TABLES {{db}}.{local_name(a)} AND {{db}}.{local_name(b)} ON CLUSTER '{{cluster}}'"]
    for table in (a, b):
        out.append(distributed(table).replace("CREATE TABLE IF NOT EXISTS", "CREATE OR REPLACE TABLE", 1))
    return out


def _drop(m: re.Match[str], statement: str) -> list[str]:
    table = m["name"]
    _placed(table, statement)
    names = [table, local_name(table)] if table in SHARDED else [table]
    # SYNC: the replica's Keeper path is removed now, not after the Atomic database's delay
    return [f"DROP TABLE {{db}}.{name} ON CLUSTER '{{cluster}}' SYNC" for name in names]


def _insert(m: re.Match[str], statement: str) -> list[str]:
    """``INSERT … SELECT`` (the backfills) stays as it is: it reads every shard through
    the ``Distributed`` tables and the target's ``Distributed`` table routes each row."""
    for table in re.findall(r"\{db\}\.(\w+)", statement):
        _placed(table, statement)
    return [statement]


_RULES = (
    (_CREATE, _create_table),
    (_VIEW, _view),
    (_ALTER_SETTING, _alter_setting),
    (_EXCHANGE, _exchange),
    (_DROP, _drop),
    (_INSERT, _insert),
)


def cluster_statements(statement: str) -> list[str]:
    """The cluster form of one single-node statement (``ClusterSchemaError`` if none)."""
    for pattern, rule in _RULES:
        m = pattern.fullmatch(statement.strip())
        if m:
            return rule(m, statement)
    raise ClusterSchemaError(f"no cluster form for the statement: {statement[:160]}")


def cluster_migrations(
    single: list[tuple[int, str, list[str]]],
) -> list[tuple[int, str, list[str]]]:
    """The cluster form of each single-node migration, with the same version and name."""
    return [
        (version, name, [out for st in statements for out in cluster_statements(st)])
        for version, name, statements in single
    ]


def bootstrap_statements() -> list[str]:
    """The database and the version table, before any migration (cluster form)."""
    return [
        "CREATE DATABASE IF NOT EXISTS {db} ON CLUSTER '{cluster}'",
        "CREATE TABLE IF NOT EXISTS {db}.schema_migrations ON CLUSTER '{cluster}' "
        "(version UInt32, description String, applied_at DateTime DEFAULT now()) "
        f"ENGINE = {_replicated_engine('schema_migrations', 'ReplacingMergeTree', None)} ORDER BY version "
        "SETTINGS replicated_deduplication_window = 0",
    ]
