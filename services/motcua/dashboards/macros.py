"""Expansion of the Grafana variables and ClickHouse-plugin macros used by panel SQL, as
Grafana and grafana-clickhouse-datasource 4.3.2 do it, ported from their code:

1. frontend, ``CHDatasource.applyConditionalAll``: ``$__conditionalAll(phrase, $var)``
   from the last one to the first; the variable's name is read with the plugin's regex
   (``${unit:singlequote}`` yields no name, so the phrase is kept); an undefined variable
   keeps the phrase; a value of All, ``''`` or ``[]`` gives ``1=1``; the phrase is put in
   with JavaScript's ``String.replace`` (``$'`` and friends are replacement patterns); a
   call with other than 2 arguments stops the pass and leaves the rest as it is;
2. frontend, Grafana's template service with the plugin's format function: ``$var`` /
   ``${var}`` / ``${var:fmt}``; an unknown name stays as written; no format quotes a
   multi-value (``'a','b'``, nothing escaped) and leaves a single value raw;
   ``singlequote`` escapes ``'`` as ``\\'`` and nothing else (a backslash reaches
   ClickHouse as an escape);
3. backend, ``sqlutil.Interpolate`` (grafana-plugin-sdk-go 0.242) with the plugin's macro
   map: longest names first, ``\\$__name\\b``, arguments only when ``(`` follows at once,
   ``strings.ReplaceAll`` of each match. ``$__dateFilter`` formats dates in the Grafana
   server process's time zone (``PanelContext.grafana_tz``).

Forms the dashboards must not use are refused by ``dashboards.conformance`` (and
``tests/integration/dashboards/test_macro_conformance.py`` checks this expander against
the plugin's real expansions). Used by tests (to run every panel's SQL) and by
``motcua snapshot``."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ..domain.calendar import VN_TZ

ALL = "$__all"
Value = list[str] | str


@dataclass
class PanelContext:
    """A time range (ms since epoch) and variable values; a variable given as ALL, or
    absent while the dashboard defines it (``all_values``), is "All"."""

    from_ms: int
    to_ms: int
    variables: dict[str, Value] = field(default_factory=dict)
    interval_s: int = 60
    interval_ms: int | None = None  # Grafana's $__interval; wins over interval_s
    grafana_tz: str = "UTC"  # the Grafana server process's zone (the container's: UTC)

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
        """The selected values, or None for All (or absent)."""
        v = self.variables.get(name, ALL)
        if v == ALL or v == [ALL]:
            return None
        return [v] if isinstance(v, str) else list(v)

    @property
    def interval(self) -> int:
        """Grafana's interval in milliseconds."""
        return self.interval_ms if self.interval_ms is not None else self.interval_s * 1000


# -- 1. $__conditionalAll (CHDatasource.ts) ----------------------------------------------
_COND = "$__conditionalAll("
_COND_VAR = re.compile(r"(?<=\$\{)[\w\d]+(?=\})|(?<=\$)[\w\d]+", re.ASCII)


def _macro_args(sql: str, open_paren: int) -> list[str]:
    """``getMacroArgs``: split on commas at depth 1 (quotes are not seen); [] when the
    call is not closed."""
    args, depth, last = [], 0, 1
    sub = sql[open_paren:]
    for m in re.finditer(r"[(),]", sub):
        ch = m.group()
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 1:
            args.append(sub[last : m.start()])
            last = m.end()
        if depth == 0:
            args.append(sub[last : m.start()])
            return args
    return []


def js_replace(text: str, search: str, replacement: str) -> str:
    """JavaScript ``text.replace(search, replacement)`` with a string pattern: the first
    occurrence, and ``$$ $& $` $'`` in the replacement are substitution patterns."""
    at = text.find(search)
    if at < 0:
        return text
    before, after = text[:at], text[at + len(search) :]
    patterns = {"$": "$", "&": search, "`": before, "'": after}
    out, i = [], 0
    while i < len(replacement):
        ch = replacement[i]
        if ch == "$" and i + 1 < len(replacement) and replacement[i + 1] in patterns:
            out.append(patterns[replacement[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    return before + "".join(out) + after


def _js_string(v: Value) -> str:
    return ",".join(v) if isinstance(v, list) else v


def _conditional_all(sql: str, current: Callable[[str], Value | None]) -> str:
    idx = sql.rfind(_COND)
    while idx != -1:
        params = _macro_args(sql, idx + len(_COND) - 1)
        if len(params) != 2:
            return sql
        name = _COND_VAR.search(params[1].strip())
        phrase = params[0]
        if name:
            value = current(name.group())
            if value is not None and _js_string(value) in ("", ALL):
                phrase = "1=1"
        sql = js_replace(sql, f"{_COND}{params[0]},{params[1]})", phrase)
        idx = sql.rfind(_COND)
    return sql


# -- 2. template variables (Grafana's template service + the plugin's format) ------------
_VARIABLE = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}", re.ASCII
)


def _singlequote(v: str) -> str:
    return "'" + v.replace("'", "\\'") + "'"


def _format(value: Value, fmt: str | None) -> str:
    values = value if isinstance(value, list) else [value]
    if fmt is None:  # the plugin's format(): arrays quoted and joined, anything else raw
        return "'" + "','".join(value) + "'" if isinstance(value, list) else value
    if fmt == "singlequote":
        return ",".join(_singlequote(v) for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    if fmt in ("raw", "csv"):
        return ",".join(values)
    raise ValueError(f"unsupported variable format {fmt!r}")


def _variables(sql: str, resolve: Callable[[str], Value | None]) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        if m.group(5):
            raise ValueError(f"variable field paths are not supported: {m.group(0)}")
        value = resolve(name)
        if value is None:  # not a variable of the dashboard: Grafana leaves it as written
            return m.group(0)
        return _format(value, m.group(3) or m.group(6))

    return _VARIABLE.sub(sub, sql)


# -- 3. backend macros (plugin pkg/macros, sdk sqlutil.Interpolate) ----------------------
def _to_datetime(ms: int) -> str:
    return f"toDateTime({math.floor(ms / 1000)})"


def _to_datetime64(ms: int) -> str:
    return f"fromUnixTimestamp64Milli({ms})"


def _to_date(ms: int, tz: str) -> str:
    day = datetime.fromtimestamp(ms / 1000, UTC).astimezone(ZoneInfo(tz)).date()
    return f"toDate('{day.isoformat()}')"


def _one(args: list[str] | None, name: str) -> str:
    if args is None or len(args) != 1:
        raise ValueError(f"$__{name}: expected 1 argument, received {len(args or [])}")
    return args[0]


def _date_time_filter(c: PanelContext, a: list[str] | None) -> str:
    if a is None or len(a) != 2:
        raise ValueError(f"$__dateTimeFilter: expected 2 arguments, received {len(a or [])}")
    d, t = a
    lo, hi = _to_date(c.from_ms, c.grafana_tz), _to_date(c.to_ms, c.grafana_tz)
    return (
        f"({d} >= {lo} AND {d} <= {hi}) AND "
        f"({t} >= {_to_datetime(c.from_ms)} AND {t} <= {_to_datetime(c.to_ms)})"
    )


def _filter(lo: str, hi: str, name: str, args: list[str] | None) -> str:
    col = _one(args, name)
    return f"{col} >= {lo} AND {col} <= {hi}"


Macro = Callable[[PanelContext, list[str] | None], str]
BACKEND_MACROS: Mapping[str, Macro] = {
    "fromTime": lambda c, a: _to_datetime(c.from_ms),
    "toTime": lambda c, a: _to_datetime(c.to_ms),
    "fromTime_ms": lambda c, a: _to_datetime64(c.from_ms),
    "toTime_ms": lambda c, a: _to_datetime64(c.to_ms),
    "timeFilter": lambda c, a: _filter(_to_datetime(c.from_ms), _to_datetime(c.to_ms), "timeFilter", a),
    "timeFilter_ms": lambda c, a: _filter(
        _to_datetime64(c.from_ms), _to_datetime64(c.to_ms), "timeFilter_ms", a
    ),
    "dateFilter": lambda c, a: _filter(
        _to_date(c.from_ms, c.grafana_tz), _to_date(c.to_ms, c.grafana_tz), "dateFilter", a
    ),
    "dateTimeFilter": _date_time_filter,
    "dt": _date_time_filter,
    "timeInterval": lambda c, a: (
        f"toStartOfInterval(toDateTime({_one(a, 'timeInterval')}), "
        f"INTERVAL {int(max(c.interval / 1000, 1))} second)"
    ),
    "timeInterval_ms": lambda c, a: (
        f"toStartOfInterval(toDateTime64({_one(a, 'timeInterval_ms')}, 3), "
        f"INTERVAL {int(max(c.interval, 1))} millisecond)"
    ),
    "interval_s": lambda c, a: str(int(max(c.interval / 1000, 1))),
}
# The SDK's default macros the plugin does not override: not emulated, refused.
SDK_DEFAULT_MACROS = ("interval", "interval_ms", "timeFrom", "timeTo", "timeGroup", "table", "column")


def _parse_args(rest: str) -> tuple[list[str] | None, int]:
    """``parseArgs``: a bracketed list right at the start, trimmed; (None, 0) if none."""
    if not rest.startswith("("):
        return None, 0
    args: list[str] = []
    cur: list[str] = []
    depth = 0
    for i, ch in enumerate(rest):
        if ch == "(":
            depth += 1
            if depth == 1:
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(cur).strip())
                return args, i + 1
        elif ch == "," and depth == 1:
            args.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    raise ValueError("failed to parse macro arguments (missing close bracket?)")


def _backend_macros(sql: str, ctx: PanelContext) -> str:
    for name in sorted(BACKEND_MACROS, key=lambda n: (-len(n), n)):
        matches = []
        for m in re.finditer(rf"\$__{name}\b", sql, re.ASCII):
            args, length = _parse_args(sql[m.end() :])
            matches.append((sql[m.start() : m.end() + length], args))
        for full, args in matches:
            sql = sql.replace(full, BACKEND_MACROS[name](ctx, args))
    if "$__" in sql:
        raise ValueError(f"unexpanded macro in: {sql[sql.index('$__') :][:40]}")
    return sql


def expand(sql: str, ctx: PanelContext, all_values: dict[str, list[str]] | None = None) -> str:
    """Panel SQL -> the SQL ClickHouse receives. The dashboard's variables are the names
    of ``ctx.variables`` and ``all_values`` (every option of each variable, what All
    stands for); any other ``$name`` is left as written, as Grafana does."""
    options = all_values or {}

    def current(name: str) -> Value | None:
        if name in ctx.variables:
            return ctx.variables[name]
        return ALL if name in options else None

    def resolve(name: str) -> Value | None:
        value = current(name)
        if value == ALL or value == [ALL]:
            return list(options.get(name, []))
        return value

    sql = _conditional_all(sql, current)
    sql = _variables(sql, resolve)
    return _backend_macros(sql, ctx)
