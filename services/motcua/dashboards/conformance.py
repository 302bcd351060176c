"""The check over the dashboards' SQL: forms where Grafana + grafana-clickhouse-datasource
4.3.2 do something a reader of the SQL would not expect (each one is a vector of
``tests/integration/dashboards/data/grafana-macro-vectors.json``) are refused, so that
the expander (``dashboards.macros``, which agrees with the plugin on every vector) and
the plugin can only meet on forms whose meaning is plain:

- ``$__dateFilter`` / ``$__dateTimeFilter`` / ``$__dt``: dates in the Grafana *process's*
  time zone (UTC in the container: 28/02 counted in a March range); write
  ``toDate($__fromTime, 'Asia/Ho_Chi_Minh')`` instead;
- the SDK's own macros (``$__timeFrom`` …): not the plugin's, not emulated;
- ``$__conditionalAll`` with other than two arguments (the plugin stops and leaves the
  text), a second argument that is not exactly ``$name`` / ``${name}`` of a dashboard
  variable (``${unit:singlequote}`` or a typo keep the phrase: "All" filters to the
  options), a phrase holding ``$' $` $& $$`` (JavaScript replacement patterns);
- a name that is no variable of the dashboard (left as written: ``'$none'``);
- a multi-value variable without ``:singlequote`` (the plugin quotes without escaping),
  ``[[var]]``, ``${var.path}`` and other formats.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from .macros import _COND, _VARIABLE, BACKEND_MACROS, SDK_DEFAULT_MACROS, _macro_args

ALLOWED_MACROS = frozenset(BACKEND_MACROS) - {"dateFilter", "dateTimeFilter", "dt"}
_MACRO = re.compile(r"\$__(\w+)", re.ASCII)
_BARE = re.compile(r"\$(\w+)|\$\{(\w+)\}", re.ASCII)
_JS_PATTERNS = ("$'", "$`", "$&", "$$")


def _conditional_problems(sql: str, variables: Mapping[str, bool]) -> tuple[list[str], str]:
    """Problems of the ``$__conditionalAll`` calls, and the SQL with their second
    arguments blanked (they are names, not interpolations)."""
    problems: list[str] = []
    at = sql.find(_COND)
    while at != -1:
        args = _macro_args(sql, at + len(_COND) - 1)
        if len(args) != 2:
            problems.append(f"$__conditionalAll takes 2 arguments: {sql[at : at + 60]!r}")
            break
        phrase, var = args
        name = _BARE.fullmatch(var.strip())
        if not name:
            problems.append(
                f"$__conditionalAll's second argument must be $name or ${{name}}: {var.strip()!r}"
            )
        elif (name.group(1) or name.group(2)) not in variables:
            problems.append(f"$__conditionalAll names no variable of the dashboard: {var.strip()!r}")
        if any(p in phrase for p in _JS_PATTERNS):
            problems.append(f"$__conditionalAll phrase holds a JavaScript replacement pattern: {phrase!r}")
        end = at + len(_COND) + len(phrase) + 1
        sql = sql[:end] + " " * len(var) + sql[end + len(var) :]
        at = sql.find(_COND, at + 1)
    return problems, sql


def refused_forms(sql: str, variables: Mapping[str, bool]) -> list[str]:
    """What is wrong with a dashboard query; ``variables``: the dashboard's variables by
    name, True for multi-value. Empty when the form is plain."""
    problems, rest = _conditional_problems(sql, variables)
    for m in _MACRO.finditer(rest):
        name = m.group(1)
        if name in ("conditionalAll", "all") or name in ALLOWED_MACROS:
            continue
        why = "not the plugin's, not emulated" if name in SDK_DEFAULT_MACROS else "refused"
        if name in ("dateFilter", "dateTimeFilter", "dt"):
            why = "dates in the Grafana process's time zone; use toDate($__fromTime, 'Asia/Ho_Chi_Minh')"
        problems.append(f"$__{name}: {why}")
    for m in _VARIABLE.finditer(rest):
        name = m.group(1) or m.group(2) or m.group(4)
        fmt = m.group(3) or m.group(6)
        if name.startswith("__"):
            continue
        if m.group(2) or m.group(5):
            problems.append(f"{m.group(0)}: write ${{name}} or ${{name:singlequote}}")
        elif name not in variables:
            problems.append(f"{m.group(0)}: no variable of the dashboard (Grafana leaves it as written)")
        elif variables[name] and fmt != "singlequote":
            problems.append(f"{m.group(0)}: a multi-value variable needs ${{{name}:singlequote}}")
        elif fmt not in (None, "singlequote"):
            problems.append(f"{m.group(0)}: format {fmt!r} refused")
    return problems


def dashboard_variables(dashboard: dict) -> dict[str, bool]:
    """The dashboard's template variables: name -> multi-value."""
    return {v["name"]: bool(v.get("multi")) for v in dashboard.get("templating", {}).get("list", [])}


def dashboard_sql(dashboard: dict) -> Iterator[tuple[str, str]]:
    """(where, SQL) of every ClickHouse query of a dashboard's JSON: panel targets
    (rows included) and query variables."""

    def panels(ps: list) -> Iterator[dict]:
        for p in ps:
            yield p
            yield from panels(p.get("panels") or [])

    for p in panels(dashboard.get("panels") or []):
        for t in p.get("targets") or []:
            if "rawSql" in t:
                yield f"{dashboard.get('uid')}: {p.get('title')} [{t.get('refId')}]", t["rawSql"]
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query" and isinstance(v.get("query"), str):
            yield f"{dashboard.get('uid')}: variable {v['name']}", v["query"]
