"""Prometheus metrics of the live services (one registry per process: the default)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

EVENTS_IN = Counter("motcua_events_in_total", "Records read or received", ["service"])
EVENTS_ACCEPTED = Counter("motcua_events_accepted_total", "Valid events accepted", ["service"])
EVENTS_OUT = Counter("motcua_events_out_total", "Messages or rows written downstream", ["service", "kind"])
DEAD_LETTERS = Counter(
    "motcua_dead_letters_total", "Rejected records sent to dead letters", ["service", "code"]
)
DUPLICATES = Counter("motcua_duplicate_events_total", "Events the dossier state already had", ["service"])
CONSUMER_LAG = Gauge(
    "motcua_consumer_lag", "Messages behind the partition end", ["service", "topic", "partition"]
)
INSERT_LATENCY = Histogram(
    "motcua_insert_latency_seconds",
    "ClickHouse insert latency per batch",
    ["table"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
INSERT_RETRIES = Counter("motcua_insert_retries_total", "ClickHouse insert attempts that failed")
# The writer's store (docs/operating-cluster.md#store-outage): up or failing, since when, how long
# until the next attempt.
STORE_UP = Gauge(
    "motcua_store_up", "1 when the last store call succeeded, 0 while the store fails", ["service"]
)
STORE_ERRORS = Counter("motcua_store_errors_total", "Store calls that failed (each is retried)", ["service"])
WRITER_BLOCKED = Gauge(
    "motcua_writer_blocked_seconds",
    "How long the writer has been retrying the store without success (0: not failing)",
)
WRITER_RETRY_BACKOFF = Gauge(
    "motcua_writer_retry_backoff_seconds",
    "The writer's current backoff before it retries the store (0: none)",
)
RECENT_FACTS = Counter(
    "motcua_writer_recent_facts_total",
    "Dossiers of the writer's rounds whose written facts it remembered (hit) or asked the store for (miss)",
    ["outcome"],
)
STORE_ENGINE_BYTES = Gauge(
    "motcua_store_engine_bytes",
    "The embedded store engine's (chDB) tracked memory and cache sizes, in bytes",
    ["kind"],
)
FRESHNESS = Histogram(
    "motcua_freshness_seconds",
    "Gateway accept (ingest record time) -> row acknowledged by ClickHouse",
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60),
)
HTTP_REQUESTS = Counter("motcua_http_requests_total", "Gateway requests", ["status"])
PUBLISH_LATENCY = Histogram(
    "motcua_publish_latency_seconds", "Gateway: Kafka acknowledgement wait per request"
)
BATCH_SIZE = Histogram(
    "motcua_batch_events",
    "Events per processed batch",
    ["service"],
    buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000, 50000),
)


def serve(port: int) -> None:
    """Expose /metrics on ``port`` (0: disabled)."""
    if port:
        start_http_server(port)
