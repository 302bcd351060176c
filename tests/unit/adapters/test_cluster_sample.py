"""The operators' sample of the cluster form (deploy/clickhouse/cluster/) agrees with the
code: the cluster has the default name of MOTCUA_CLICKHOUSE_CLUSTER, every shard
replicates internally (a Distributed insert writes one replica, the Replicated*MergeTree
table copies it), the macros the Keeper paths use are defined, and the profiles set what
the store sets on its own sessions."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from motcua.adapters.clickhouse_store import CLUSTER_SESSION_SETTINGS, DEFAULT_CLUSTER, schema_migrations
from motcua.settings import Settings

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "clickhouse" / "cluster"


def test_the_sample_cluster_is_the_one_the_settings_name():
    root = ET.parse(SAMPLE / "config.xml").getroot()
    assert Settings.model_fields["clickhouse_cluster"].default == DEFAULT_CLUSTER
    cluster = root.find(f"remote_servers/{DEFAULT_CLUSTER}")
    assert cluster is not None
    shards = cluster.findall("shard")
    assert len(shards) >= 2
    for shard in shards:
        assert shard.findtext("internal_replication") == "true"
        assert len(shard.findall("replica")) >= 2
    assert root.findtext("macros/shard") and root.findtext("macros/replica")
    assert root.findall("zookeeper/node")


def test_the_keeper_paths_use_only_the_sample_macros():
    root = ET.parse(SAMPLE / "config.xml").getroot()
    defined = {child.tag for child in root.find("macros")} | {"database"}  # {database}: built in
    used = set()
    for _v, _n, statements in schema_migrations("cluster"):
        for st in statements:
            for args in re.findall(r"Replicated\w*MergeTree\('([^']*)', '([^']*)'", st):
                used.update(re.findall(r"\{(\w+)\}", " ".join(args)))
    assert used and used <= defined, used - defined


def test_the_sample_profiles_set_what_the_store_sets():
    root = ET.parse(SAMPLE / "users.xml").getroot()
    default = root.find("profiles/default")
    assert default is not None
    for name, value in CLUSTER_SESSION_SETTINGS.items():
        assert default.findtext(name) == str(value), name
    assert root.findtext("profiles/grafana_readonly/distributed_product_mode") == "global"
