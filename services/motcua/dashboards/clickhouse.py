"""A dataquery variant of grafana-foundation-sdk for the ``grafana-clickhouse-datasource``
plugin (v4 query model: raw SQL editor, table or time-series format), registered with the
SDK runtime so dashboards holding it decode back into :class:`ClickHouseQuery`."""

from __future__ import annotations

from typing import Any, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

PLUGIN_ID = "grafana-clickhouse-datasource"
# The plugin's Format enum (src/types/queryBuilder.ts)
FORMAT_TIMESERIES = 0
FORMAT_TABLE = 1


class ClickHouseQuery(cogvariants.Dataquery):
    ref_id: str
    raw_sql: str
    format_val: int
    query_type: str
    editor_type: str
    datasource: dashboard.DataSourceRef | None
    hide: bool | None

    def __init__(
        self,
        ref_id: str = "A",
        raw_sql: str = "",
        format_val: int = FORMAT_TABLE,
        query_type: str = "table",
        editor_type: str = "sql",
        datasource: dashboard.DataSourceRef | None = None,
        hide: bool | None = None,
    ):
        self.ref_id = ref_id
        self.raw_sql = raw_sql
        self.format_val = format_val
        self.query_type = query_type
        self.editor_type = editor_type
        self.datasource = datasource
        self.hide = hide

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "refId": self.ref_id,
            "editorType": self.editor_type,
            "format": self.format_val,
            "queryType": self.query_type,
            "rawSql": self.raw_sql,
        }
        if self.datasource is not None:
            out["datasource"] = self.datasource.to_json()
        if self.hide is not None:
            out["hide"] = self.hide
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        ds = data.get("datasource")
        return cls(
            ref_id=data.get("refId", "A"),
            raw_sql=data.get("rawSql", ""),
            format_val=int(data.get("format", FORMAT_TABLE)),
            query_type=data.get("queryType", "table"),
            editor_type=data.get("editorType", "sql"),
            datasource=dashboard.DataSourceRef.from_json(ds) if isinstance(ds, dict) else None,
            hide=data.get("hide"),
        )


def variant_config() -> cogruntime.DataqueryConfig:
    return cogruntime.DataqueryConfig(identifier=PLUGIN_ID, from_json_hook=ClickHouseQuery.from_json)


def register() -> None:
    """Register the variant (idempotent) so decoding dashboards yields ClickHouseQuery."""
    from grafana_foundation_sdk.cog.plugins import register_default_plugins

    if PLUGIN_ID not in cogruntime.Runtime().dataquery_variants:
        register_default_plugins()
        cogruntime.register_dataquery_variant(variant_config())


class ClickHouseQueryBuilder(cogbuilder.Builder[ClickHouseQuery]):
    def __init__(self) -> None:
        self._internal = ClickHouseQuery()

    def build(self) -> ClickHouseQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def raw_sql(self, sql: str) -> Self:
        self._internal.raw_sql = sql
        return self

    def table(self) -> Self:
        self._internal.format_val, self._internal.query_type = FORMAT_TABLE, "table"
        return self

    def time_series(self) -> Self:
        self._internal.format_val, self._internal.query_type = FORMAT_TIMESERIES, "timeseries"
        return self

    def datasource(self, ref: dashboard.DataSourceRef) -> Self:
        self._internal.datasource = ref
        return self
