"""The read-only dashboard user (deploy/clickhouse/users.d/grafana_ro.xml, and the same in
grafana_ro.sql): read only, and able to change only the settings Grafana's ClickHouse
plugin 4.3.2 and the panel SQL send. Then, on chDB (no access control there: no
profile or user can be created), every dashboard query as the plugin expands it runs
under the profile's settings, put in its SETTINGS clause with the query's own settings
that ``changeable_in_readonly`` lets through; in a fresh chDB process with the profile
set on the session, writes and any other setting are refused."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
import yaml

from motcua.dashboards.conformance import dashboard_sql
from motcua.dashboards.macros import PanelContext, expand
from motcua.dashboards.runner import PanelRunner
from motcua.domain.formatting import fmt_int

ROOT = Path(__file__).resolve().parents[3]
XML = ROOT / "deploy/clickhouse/users.d/grafana_ro.xml"
SQL = ROOT / "deploy/clickhouse/grafana_ro.sql"
DATASOURCES = ROOT / "deploy/grafana/provisioning/datasources/motcua.yml"
# What may change in readonly mode, and who sends it.
PLUGIN_NEEDS = {
    # clickhouse-go 2.27 (the plugin's client) sends int(deadline + 5 s) from the query timeout
    "max_execution_time",
    # the plugin's ad hoc filters append SETTINGS additional_table_filters (adHocFilter.ts)
    "additional_table_filters",
    # the panel SQL: LEFT JOINs with NULL for a missing target
    "join_use_nulls",
}
CLICKHOUSE_GO_MARGIN_S = 5
READONLY = 164  # ClickHouse's error code


def xml_profile() -> dict:
    root = ET.parse(XML).getroot()
    (prof,) = root.find("profiles")
    settings = {e.tag: e.text for e in prof if e.tag != "constraints"}
    constraints = {
        c.tag: {x.tag: (x.text or "") for x in c}
        for c in (prof.find("constraints") if prof.find("constraints") is not None else [])
    }
    (user,) = root.find("users")
    return {
        "name": prof.tag,
        "settings": settings,
        "constraints": constraints,
        "user": user.tag,
        "user_profile": user.findtext("profile"),
        "grants": [g.text for g in user.find("grants")],
        "user_keys": {e.tag for e in user},
    }


def sql_profile() -> dict:
    text = "\n".join(ln for ln in SQL.read_text().splitlines() if not ln.lstrip().startswith("--"))
    m = re.search(r"CREATE SETTINGS PROFILE IF NOT EXISTS (\w+) SETTINGS(.*?);", text, re.S)
    assert m, "CREATE SETTINGS PROFILE"
    settings, constraints = {}, {}
    for item in (x.strip() for x in re.split(r",\s*\n", m.group(2).strip())):
        parts = re.match(
            r"(\w+)(?:\s*=\s*('[^']*'|\S+))?(?:\s+MAX\s+(\S+))?\s*(CHANGEABLE_IN_READONLY)?$", item
        )
        assert parts, item
        name, value, top, changeable = parts.groups()
        if value is not None:
            settings[name] = value.strip("'")
        if top or changeable:
            constraints[name] = {
                **({"max": top} if top else {}),
                **({"changeable_in_readonly": ""} if changeable else {}),
            }
    user = re.search(r"CREATE USER IF NOT EXISTS (\w+) .*?SETTINGS PROFILE (\w+);", text, re.S)
    grants = re.findall(r"^(GRANT .*?) TO (\w+);", text, re.M)
    return {
        "name": m.group(1),
        "settings": settings,
        "constraints": constraints,
        "user": user.group(1),
        "user_profile": user.group(2),
        "grants": [g for g, _to in grants],
    }


def test_the_xml_and_the_sql_forms_are_the_same_profile():
    x, s = xml_profile(), sql_profile()
    for key in ("name", "settings", "constraints", "user", "user_profile", "grants"):
        assert x[key] == s[key], key


def test_the_user_reads_only_and_changes_only_what_the_plugin_needs():
    p = xml_profile()
    assert p["settings"]["readonly"] == "1"  # not 2: no SET of anything else
    assert p["user_profile"] == p["name"]
    assert p["grants"] == ["GRANT SELECT ON motcua.*"]
    assert "access_management" not in p["user_keys"]
    changeable = {k for k, c in p["constraints"].items() if "changeable_in_readonly" in c}
    assert changeable == PLUGIN_NEEDS
    assert int(p["settings"]["max_execution_time"]) <= int(p["constraints"]["max_execution_time"]["max"])
    assert p["settings"]["max_result_rows"] == "100000" and p["settings"]["result_overflow_mode"] == "break"


def test_the_datasource_timeout_fits_the_constraint():
    """clickhouse-go sends max_execution_time = query timeout + 5 s; the plugin's default
    timeout (60 s) would send 64 and be refused by MAX 60: the provisioning sets it."""
    (ds,) = [d for d in yaml.safe_load(DATASOURCES.read_text())["datasources"] if "clickhouse" in d["type"]]
    top = int(xml_profile()["constraints"]["max_execution_time"]["max"])
    assert int(ds["jsonData"]["queryTimeout"]) + CLICKHOUSE_GO_MARGIN_S <= top
    assert not ds["jsonData"].get("customSettings")  # nothing else is sent
    assert ds["jsonData"]["username"] == xml_profile()["user"]


_SETTINGS = re.compile(r"\s+SETTINGS\s+((?:\w+\s*=\s*[^,\s]+\s*,?\s*)+)$", re.I)


class Refused(Exception):
    """What the server's constraint would refuse: a setting not changeable in readonly."""


def _literal(value: str) -> str:
    return value if re.fullmatch(r"-?\d+", value) else "'" + value.replace("'", "\\'") + "'"


def under_profile(sql: str) -> str:
    """The query as the profile lets it run, in one SETTINGS clause (chDB keeps query
    settings for the whole session, a clause holds for its query only): the profile's
    settings, then the query's own SETTINGS where ``changeable_in_readonly`` lets them
    through. Any other setting of the query is refused, as the server does."""
    p = xml_profile()
    settings = dict(p["settings"])
    m = _SETTINGS.search(sql)
    if m:
        for item in (x.strip() for x in m.group(1).split(",") if x.strip()):
            name, value = (x.strip() for x in item.split("=", 1))
            if "changeable_in_readonly" not in p["constraints"].get(name, {}):
                raise Refused(f"Cannot modify '{name}' setting in readonly mode")
            settings[name] = value
        sql = sql[: m.start()]
    return sql + " SETTINGS " + ", ".join(f"{k} = {_literal(v)}" for k, v in settings.items())


def test_the_profile_clause_keeps_what_may_change_and_refuses_the_rest():
    text = under_profile("SELECT 1 SETTINGS join_use_nulls = 1")
    assert text.startswith("SELECT 1 SETTINGS readonly = 1,") and text.endswith("join_use_nulls = 1")
    with pytest.raises(Refused):
        under_profile("SELECT 1 SETTINGS join_use_nulls = 1, max_threads = 64")


CTX = PanelContext.for_days(date(2025, 3, 1), date(2025, 3, 31))
QUERIES = [
    (f"{path.stem}: {where}", sql)
    for path in sorted((ROOT / "dashboards").glob("*.json"))
    for where, sql in dashboard_sql(json.loads(path.read_text(encoding="utf-8")))
]


@pytest.fixture(scope="module")
def run(loaded_store):
    return PanelRunner(loaded_store)


def test_every_dashboard_query_runs_under_the_profile_within_the_row_cap(run):
    cap = int(xml_profile()["settings"]["max_result_rows"])
    assert len(QUERIES) >= 30
    vars_ = {"bottom_n": "20", "min_volume": "1"}
    for where, sql in QUERIES:
        text = under_profile(expand(sql, PanelContext(CTX.from_ms, CTX.to_ms, vars_), run.all_values()))
        run.store.client.command(f"USE {run.store.db}")
        result = run.store.client.query(text)
        assert len(result.result_rows) < cap, where
    assert run.store.client.query("SELECT getSetting('readonly')").result_rows == [(0,)]  # nothing leaked


WRITES = [
    "INSERT INTO motcua.a VALUES (1)",
    "INSERT INTO motcua.a SELECT * FROM motcua.a",
    "CREATE TABLE motcua.grafana_was_here (x UInt8) ENGINE = Memory",
    "ALTER TABLE motcua.a DELETE WHERE 1",
    "DROP TABLE motcua.a",
    "TRUNCATE TABLE motcua.a",
    "SET max_result_rows = 0",
    "SET readonly = 0",
    "SELECT count() FROM motcua.a SETTINGS max_threads = 64",
]
# A fresh chDB in its own process: the profile's settings set on the session (readonly
# cannot be unset there), then every write and setting change tried.
_PROBE = """
import json, sys
from chdb import session
s = session.Session(sys.argv[1])
s.query("CREATE DATABASE motcua")
s.query("CREATE TABLE motcua.a (x UInt32) ENGINE = MergeTree ORDER BY x")
s.query("INSERT INTO motcua.a SELECT number FROM numbers(3)")
for name, value in json.loads(sys.argv[2]).items():
    s.query(f"SET {name} = {value}")
out = {"select": str(s.query("SELECT count() FROM motcua.a", "CSV")).strip()}
for sql in json.loads(sys.argv[3]):
    try:
        s.query(sql)
        out[sql] = "ran"
    except Exception as e:
        out[sql] = str(e)
out["after"] = str(s.query("SELECT count() FROM motcua.a", "CSV")).strip()
print(json.dumps(out))
"""


def test_writes_and_other_settings_are_refused_under_the_profile(tmp_path):
    profile = {k: _literal(v) for k, v in xml_profile()["settings"].items() if k != "readonly"}
    profile["readonly"] = "1"  # last: after it nothing may be SET
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(tmp_path / "probe"), json.dumps(profile), json.dumps(WRITES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["select"] == "3" and out["after"] == "3"  # reads work, nothing was changed
    for sql in WRITES:
        assert f"Code: {READONLY}" in out[sql], (sql, out[sql])


def test_no_table_panel_can_be_cut_by_the_row_cap_unseen():
    """The profile cuts at max_result_rows without an error (overflow mode break): a table
    whose rows are not bounded by its grouping carries a LIMIT far below the cap and its
    description says so (Vietnamese number format); a LIMIT $bottom_n has options below it
    (the ranking is one row per unit: a province has fewer than 4,000)."""
    cap = int(xml_profile()["settings"]["max_result_rows"])
    for path in sorted((ROOT / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        options = {
            v["name"]: [x.strip() for x in str(v.get("query", "")).split(",") if x.strip()]
            for v in dashboard.get("templating", {}).get("list", [])
            if v.get("type") == "custom"
        }
        for p in dashboard.get("panels") or []:
            for t in p.get("targets") or []:
                limit = re.search(r"\bLIMIT\s+(\$?\w+)", t.get("rawSql", ""))
                if not limit:
                    continue
                if limit[1].startswith("$"):
                    # a typed value may be larger: the rows are one per unit anyway (< 4,000)
                    values = [int(o) for o in options[limit[1][1:]]]
                    assert values and max(values) < cap, (path.stem, p["title"])
                    continue
                n = int(limit[1])
                assert n < cap, (path.stem, p["title"])
                assert f"tối đa {fmt_int(n)}" in p.get("description", ""), (path.stem, p["title"])
