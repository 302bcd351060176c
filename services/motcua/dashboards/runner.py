"""Runs dashboard panel SQL (unqualified tables, Grafana macros) against a store."""

from __future__ import annotations

from datetime import date

from ..domain.vocabulary import LEVEL_ORDER
from . import panels as P
from .macros import PanelContext, expand
from .panels import VARIABLE_QUERIES


class PanelRunner:
    """Expands a panel's macros for a context and runs it in the store's database, the
    way Grafana does through a datasource whose default database is the store's."""

    def __init__(self, store):
        self.store = store
        self._all: dict[str, list[str]] | None = None

    def _use(self) -> None:
        # chDB sessions are shared per path: select our database before every query.
        self.store.client.command(f"USE {self.store.db}")

    def all_values(self) -> dict[str, list[str]]:
        """What Grafana substitutes for a variable set to All (every option value)."""
        if self._all is None:
            ctx = PanelContext(0, 0, {})
            out: dict[str, list[str]] = {"level": list(LEVEL_ORDER), "bottom_n": ["20"], "min_volume": ["1"]}
            for name, sql in VARIABLE_QUERIES.items():  # in order: a variable's query sees the earlier ones
                self._use()
                rows = self.store.client.query(expand(sql, ctx, out)).result_rows
                out[name] = [str(r[0]) for r in rows] or [""]
            self._all = out
        return self._all

    def query(self, sql: str, ctx: PanelContext) -> tuple[list[str], list[tuple]]:
        defaults = {"bottom_n": "20", "min_volume": "1"}
        vars_: dict[str, list[str] | str] = dict(defaults)
        vars_.update(ctx.variables)
        ctx = PanelContext(ctx.from_ms, ctx.to_ms, vars_, ctx.interval_s, ctx.interval_ms, ctx.grafana_tz)
        text = expand(sql, ctx, self.all_values())
        self._use()
        result = self.store.client.query(text)
        return list(result.column_names), [tuple(r) for r in result.result_rows]

    def dicts(self, sql: str, ctx: PanelContext) -> list[dict]:
        cols, rows = self.query(sql, ctx)
        return [dict(zip(cols, r)) for r in rows]


def collect_overview(store, first: date, last: date, variables: dict | None = None) -> dict:
    """The rows of the overview's panel queries for local days [first, last], by query key
    (what ``dashboards.snapshot`` draws)."""
    ctx = PanelContext.for_days(first, last, **(variables or {}))
    run = PanelRunner(store)
    data = {q.key: run.dicts(q.sql, ctx) for q in P.overview_queries()}
    data["ranking_rate"] = run.dicts(
        P.ranking("rate"),
        PanelContext(ctx.from_ms, ctx.to_ms, {**ctx.variables, "bottom_n": "10", "min_volume": "10"}),
    )
    return data
