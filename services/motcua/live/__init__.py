"""The live pipeline: gateway (HTTP -> Kafka), processor (faust-streaming fold keyed by
dossier_id), writer (Kafka -> ClickHouse, idempotent batches), plus topics, settings,
structured logs, Prometheus metrics and a local development broker.

Every service runs the same domain code as ``motcua replay`` (``pipeline.ingest.
decode_record``, ``pipeline.dossiers``), so the KPIs of the live path equal the embedded
replay of the same events. See docs/live-pipeline.md.
"""
