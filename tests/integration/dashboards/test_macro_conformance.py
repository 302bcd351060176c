"""The test expander (``dashboards.macros``) against what the pinned plugin really
produces: ``data/grafana-macro-vectors.json`` holds, for grafana-clickhouse-datasource
4.3.2, the expansions of its own unit tests and of edge forms (a mistyped variable in
``$__conditionalAll``, nothing selected, bare multi-value variables, backslashes and
quotes in values, ``$__dateFilter`` and the Grafana server's zone), made by running the
plugin's code. Every vector: the same text, or (the plugin leaves a macro ClickHouse
rejects) a loud refusal; where the vector holds the rows the plugin's SQL gave on chDB,
our SQL gives them on a table rebuilt from those rows. The forms that differ from what a
reader expects are refused in the dashboards by ``dashboards.conformance``."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import pytest

from motcua.adapters.clickhouse_store import ClickHouseStore
from motcua.dashboards.conformance import dashboard_sql, dashboard_variables, refused_forms
from motcua.dashboards.macros import ALL, PanelContext, expand

VECTORS = json.loads((Path(__file__).parent / "data/grafana-macro-vectors.json").read_text())["vectors"]
# The boundary vectors' dashboard: unit (multi, All = its options U1, U2), level, bottom_n.
BOUNDARY_OPTIONS = {"unit": ["U1", "U2"]}
MULTI = {"unit": True, "level": True, "bottom_n": False, "fieldVal": True, "fieldVal2": True}
KPI_ROWS = [  # rebuilt from the vectors' rows: one row per (day, unit)
    ("2025-02-28", "U1", "COMMUNE", 1),
    ("2025-03-01", "U1", "COMMUNE", 10),
    ("2025-03-31", "U2", "DISTRICT", 100),
    ("2025-04-01", "U1", "COMMUNE", 1000),
    ("2025-03-15", "", "PROVINCE", 10000),
    ("2025-03-15", "U9", "COMMUNE", 100000),
    ("2025-03-15", "a\\b", "COMMUNE", 1000000),
]
DEAD_LETTERS = [  # local 01/03 00:00 = 2025-02-28 17:00 UTC; 31/03 23:59:59.999 = 16:59:59.999
    ("dl1_before_from", "E_dl1", "2025-02-28 16:59:59.999"),
    ("dl2_at_from", "E_dl2", "2025-02-28 17:00:00.000"),
    ("dl3_to_whole_second", "E_dl3", "2025-03-31 16:59:59.000"),
    ("dl4_to_half_second", "E_dl4", "2025-03-31 16:59:59.500"),
    ("dl5_at_to", "E_dl5", "2025-03-31 16:59:59.999"),
    ("dl6_after_to", "E_dl6", "2025-03-31 17:00:00.000"),
]


def context(v: dict) -> tuple[PanelContext, dict[str, list[str]]]:
    variables = dict(v["variables"] or {})
    options = dict(BOUNDARY_OPTIONS) if v["source"].startswith("boundary") else {}
    for name, value in variables.items():
        options.setdefault(name, value if isinstance(value, list) else [])
    ctx = PanelContext(
        v["from_ms"],
        v["to_ms"],
        variables,
        interval_ms=v.get("interval_ms"),
        grafana_tz=v["grafana_server_tz"],
    )
    return ctx, options


def ident(v: dict) -> str:
    return f"{VECTORS.index(v)}:{v['source'].split(' ', 1)[-1][:50]}"


@pytest.mark.parametrize("vector", VECTORS, ids=ident)
def test_the_expander_writes_what_the_plugin_writes(vector):
    ctx, options = context(vector)
    plugin = vector["plugin"]
    if "$__" in plugin:  # the plugin left a macro: ClickHouse rejects it; we refuse at once
        with pytest.raises(ValueError):
            expand(vector["sql"], ctx, options)
    else:
        assert expand(vector["sql"], ctx, options) == plugin
    if vector.get("plugin_test_expected") is not None:
        assert plugin == vector["plugin_test_expected"]  # the vector is the plugin's own test


@pytest.fixture(scope="module")
def edge_store(chdb_path):
    store = ClickHouseStore(f"chdb://{chdb_path}?database=macro_vectors", migrate=False)
    c = store.client
    c.command(f"CREATE DATABASE IF NOT EXISTS {store.db}")
    c.command(
        f"CREATE TABLE {store.db}.kpi (day Date, unit_code String, unit_level String, ended UInt64) "
        "ENGINE = MergeTree ORDER BY (day, unit_code)"
    )
    c.insert(
        f"{store.db}.kpi",
        [(date.fromisoformat(d), u, lvl, n) for d, u, lvl, n in KPI_ROWS],
        column_names=["day", "unit_code", "unit_level", "ended"],
    )
    c.command(
        f"CREATE TABLE {store.db}.dead_letters (dead_letter_id String, code String, "
        "received_at DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree ORDER BY dead_letter_id"
    )
    for i, code, at in DEAD_LETTERS:
        c.command(
            f"INSERT INTO {store.db}.dead_letters VALUES ({{i:String}}, {{c:String}}, {{t:String}})",
            parameters={"i": i, "c": code, "t": at},
        )
    return store


def _text(x) -> str:
    if isinstance(x, datetime):
        return str(x.replace(tzinfo=None))
    return str(x)


def rows_of(store, sql: str, tz: str = "UTC") -> list[list[str]]:
    store.client.command(f"USE {store.db}")
    # a SETTINGS clause, not query settings: chDB keeps those for the whole session
    assert re.fullmatch(r"[A-Za-z_/]+", tz), tz
    result = store.client.query(f"{sql} SETTINGS session_timezone = '{tz}'")
    return sorted([_text(x) for x in r] for r in result.result_rows)


RUN = [v for v in VECTORS if isinstance(v.get("plugin_rows"), list)]


@pytest.mark.parametrize("vector", RUN, ids=ident)
def test_our_sql_gives_the_plugins_rows(edge_store, vector):
    ctx, options = context(vector)
    ours = expand(vector["sql"], ctx, options)
    assert rows_of(edge_store, ours) == sorted(vector["plugin_rows"])
    for tz, rows in (vector.get("plugin_rows_by_session_timezone") or {}).items():
        assert rows_of(edge_store, ours, tz) == sorted(rows), tz


SURPRISES = [v for v in VECTORS if v["source"].startswith("boundary") and v["same_rows"] is not True]
VALUE_LEVEL = {"nothing selected", "backslash"}  # about selected values, not the SQL's form


@pytest.mark.parametrize("vector", SURPRISES, ids=ident)
def test_the_dashboard_check_refuses_every_surprising_form(vector):
    """Each edge form where the plugin does what a reader of the SQL would not expect is
    refused by the check over the dashboards' SQL (values are the registries' concern)."""
    variables = {"unit": True, "level": True, "bottom_n": False}
    problems = refused_forms(vector["sql"], variables)
    if any(k in vector["source"] for k in VALUE_LEVEL):
        assert problems == [], problems
    else:
        assert problems, vector["sql"]


def test_the_dashboards_way_of_writing_passes_the_check():
    for v in VECTORS:
        if v["source"].startswith("boundary") and v["same_rows"] is True and "$__dateFilter" not in v["sql"]:
            assert refused_forms(v["sql"], {"unit": True, "level": True, "bottom_n": False}) == [], v["sql"]
    assert ALL == "$__all"


DASHBOARDS = sorted((Path(__file__).resolve().parents[3] / "dashboards").glob("*.json"))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_dashboard_query_is_written_in_a_plain_form(path):
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    queries = list(dashboard_sql(dashboard))
    assert queries, path.name
    variables = dashboard_variables(dashboard)
    for where, sql in queries:
        assert refused_forms(sql, variables) == [], where
