"""Control-room dashboards: panel SQL (``panels``), Grafana macro expansion (``macros``),
the ClickHouse dataquery variant (``clickhouse``) and the generator (``build``)."""
