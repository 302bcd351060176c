"""Expansion of the Grafana variables and ClickHouse-plugin macros used by panel SQL, as
Grafana and grafana-clickhouse-datasource v4 do it (frontend: ``$__conditionalAll`` then
template variables; backend: ``$__fromTime``, ``$__toTime``, ``$__timeFilter`` ...).
Used by tests (to run every panel's SQL) and by ``motcua snapshot``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from ..domain.calendar import VN_TZ

ALL = "$__all"


@dataclass
class PanelContext:
    """A time range (ms since epoch) and variable values; a variable given as ALL (or
    absent) is "All"."""

    from_ms: int
    to_ms: int
    variables: dict[str, list[str] | str] = field(default_factory=dict)
    interval_s: int = 60

    @classmethod
    def for_days(cls, first: date, last_inclusive: date, **variables) -> PanelContext:
        """Local days [first, last] as Grafana sends them: from = first 00:00:00.000,
        to = last 23:59:59.999 (Asia/Ho_Chi_Minh)."""
        start = datetime(first.year, first.month, first.day, tzinfo=VN_TZ)
        end = datetime(
            last_inclusive.year, last_inclusive.month, last_inclusive.day, 23, 59, 59, 999000, tzinfo=VN_TZ
        )
        return cls(int(start.timestamp() * 1000), int(end.timestamp() * 1000), variables)

    def values(self, name: str) -> list[str] | None:
        v = self.variables.get(name, ALL)
        if v == ALL or v == [ALL]:
            return None
        return [v] if isinstance(v, str) else list(v)


def _macro_args(sql: str, open_paren: int) -> tuple[list[str], int]:
    """Arguments of a macro call starting at ``open_paren``; split on top-level commas."""
    depth, args, cur = 0, [], []
    i = open_paren
    while i < len(sql):
        ch = sql[i]
        if ch == "(":
            depth += 1
            if depth > 1:
                cur.append(ch)
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(cur))
                return args, i
            cur.append(ch)
        elif ch == "," and depth == 1:
            args.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    raise ValueError(f"unbalanced macro call at {open_paren}")


def _conditional_all(sql: str, ctx: PanelContext) -> str:
    macro = "$__conditionalAll("
    idx = sql.rfind(macro)
    while idx != -1:
        args, end = _macro_args(sql, idx + len(macro) - 1)
        if len(args) != 2:
            raise ValueError("$__conditionalAll takes 2 arguments")
        var = re.search(r"\$\{?(\w+)\}?", args[1].strip())
        phrase = args[0]
        if var and ctx.values(var.group(1)) is None:
            phrase = "1=1"
        sql = sql[:idx] + phrase + sql[end + 1 :]
        idx = sql.rfind(macro)
    return sql


def _quote(v: str) -> str:
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _variables(sql: str, ctx: PanelContext, all_values: dict[str, list[str]]) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(3)
        fmt = m.group(2)
        if name.startswith("__"):
            return m.group(0)
        vals = ctx.values(name)
        if vals is None:
            vals = all_values.get(name, [""])
        if fmt == "singlequote":
            return ",".join(_quote(v) for v in vals)
        if fmt not in (None, "raw", "csv"):
            raise ValueError(f"unsupported variable format {fmt!r}")
        return ",".join(vals)

    return re.sub(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)", sub, sql)


def _backend_macros(sql: str, ctx: PanelContext) -> str:
    f_s, t_s = ctx.from_ms // 1000, ctx.to_ms // 1000
    simple = {
        "$__fromTime_ms": f"fromUnixTimestamp64Milli({ctx.from_ms})",
        "$__toTime_ms": f"fromUnixTimestamp64Milli({ctx.to_ms})",
        "$__fromTime": f"toDateTime({f_s})",
        "$__toTime": f"toDateTime({t_s})",
        "$__interval_s": str(max(ctx.interval_s, 1)),
    }
    for name in ("timeFilter_ms", "timeFilter"):
        token = f"$__{name}("
        idx = sql.find(token)
        while idx != -1:
            args, end = _macro_args(sql, idx + len(token) - 1)
            col = args[0].strip()
            lo, hi = (
                (simple["$__fromTime_ms"], simple["$__toTime_ms"])
                if name.endswith("_ms")
                else (simple["$__fromTime"], simple["$__toTime"])
            )
            sql = sql[:idx] + f"{col} >= {lo} AND {col} <= {hi}" + sql[end + 1 :]
            idx = sql.find(token)
    for token in sorted(simple, key=len, reverse=True):
        sql = re.sub(re.escape(token) + r"(\(\))?(?!\w)", simple[token], sql)
    if "$__" in sql:
        raise ValueError(f"unexpanded macro in: {sql[sql.index('$__') :][:40]}")
    return sql


def expand(sql: str, ctx: PanelContext, all_values: dict[str, list[str]] | None = None) -> str:
    """Panel SQL -> the SQL ClickHouse receives."""
    sql = _conditional_all(sql, ctx)
    sql = _variables(sql, ctx, all_values or {})
    return _backend_macros(sql, ctx)
