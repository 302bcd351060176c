"""Settings of the live services (environment ``MOTCUA_*``, see docker-compose.yml)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from pydantic_settings import SettingsConfigDict

from ..settings import Settings

# Defaults that docker-compose.yml and tests/integration/test_compose.py check against.
DEFAULT_BOOTSTRAP = "localhost:9092"
GATEWAY_PORT = 8080
GATEWAY_METRICS_PORT = 9100
PROCESSOR_METRICS_PORT = 9101
WRITER_METRICS_PORT = 9102


class LiveSettings(Settings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_", extra="ignore")

    kafka_bootstrap: str = DEFAULT_BOOTSTRAP
    events_topic: str = "dossier-events"
    facts_topic: str = "dossier-facts"
    dead_letters_topic: str = "dead-letters"
    # Partitions: the processor's parallelism is bounded by events_partitions.
    events_partitions: int = 6
    facts_partitions: int = 6
    dead_letters_partitions: int = 1
    replication_factor: int = 1
    # acks=all producers wait for this many in-sync replicas of a topic's partition (a
    # topic setting, given when replication_factor > 1: 3 and 2 on a three-broker cluster,
    # so one broker may be lost without losing or refusing anything; docs/live-pipeline.md)
    min_insync_replicas: int = 1
    events_retention_ms: int = 7 * 24 * 3600 * 1000
    facts_retention_ms: int = 7 * 24 * 3600 * 1000
    dead_letters_retention_ms: int = 30 * 24 * 3600 * 1000

    # Consumer group liveness: how long a killed worker holds its partitions.
    session_timeout_s: float = 30.0
    heartbeat_interval_s: float = 3.0

    # gateway
    gateway_host: str = "0.0.0.0"
    gateway_port: int = GATEWAY_PORT
    # API keys, each bound to the source_system values it may post:
    # "source_system:key,source_system:key"; each key as the SHA-256 of the key,
    # "sha256:<64 hex digits>" (e.g. "motcua-dongnai:sha256:5e88...,dvcqg:sha256:..."), or,
    # for development, the key itself (the gateway warns at start).
    # A key listed under several sources may post for each of them; a source listed with
    # several keys accepts each (key rotation). Events naming another source: 403.
    api_keys: str = ""
    # mixed into the DVCQG session tokens' signing secret (the same on every replica): with
    # it, the hashes of MOTCUA_API_KEYS alone cannot sign a session; empty: not mixed in
    dvcqg_session_secret: str = ""
    max_body_bytes: int = 8 * 1024 * 1024
    # a POST waits this long for Kafka's acknowledgement, then answers 503 (Retry-After)
    gateway_publish_timeout_s: float = 5.0
    # the whole body must arrive within this, or the gateway answers 408 and closes
    gateway_body_timeout_s: float = 30.0
    # a slow client: after this grace, the body must keep arriving at this average rate
    # (bytes received >= rate x (seconds since the headers - grace)), or 408 and closed; 0: off
    gateway_body_min_rate_bytes_s: float = 1024.0
    gateway_body_grace_s: float = 5.0
    # per API key (DVCQG: per source): this many requests a second on average, bursts of
    # gateway_rate_limit_burst; over it: 429 with Retry-After. 0: no limit
    gateway_rate_limit_per_s: float = 200.0
    gateway_rate_limit_burst: int = 1000
    # period of the Kafka metadata probe behind /health (and of the fast 503s)
    gateway_health_interval_s: float = 2.0
    # SIGTERM: grace for requests in flight, then as long again for the producer's flush
    gateway_shutdown_s: float = 3.0
    # lifetime of a session token of the drop-in DVCQG endpoint (POST /v1/dvcqg/token)
    dvcqg_session_ttl_s: float = 8 * 3600
    # /metrics is also on the HTTP port; this one is what Prometheus scrapes (0: off)
    gateway_metrics_port: int = GATEWAY_METRICS_PORT

    # processor (faust)
    processor_app_id: str = "motcua-processor"
    # the state table's store: RocksDB (rocksdict) on disk under the data dir, so the
    # worker's memory does not grow with the dossiers it holds; "memory://" keeps the
    # table in the process (tests)
    processor_store: str = "rocksdb://"
    # DossierState objects kept decoded for the dossiers folded last (a miss reads and
    # decodes the table value: ~15 us); bounds the worker's memory beside the store's caches
    processor_state_cache: int = 20_000
    processor_metrics_port: int = PROCESSOR_METRICS_PORT
    # most events per poll, i.e. per batch the agent folds (records of one partition from
    # one poll are delivered to the agent as one batch)
    processor_batch: int = 10_000
    processor_datadir: str | None = None
    # exit (to be restarted) when holding unread events without progress this long, not
    # counting time while the Kafka client logs errors (brokers down); 0: never
    processor_stall_exit_s: float = 60.0
    # the procedure catalogue the processor folds with (read at start): a catalogue file,
    # or "store" for the one loaded into MOTCUA_STORE (a ClickHouse server); unset: none
    procedure_catalogue: str | None = None

    # writer
    writer_group: str = "motcua-writer"
    writer_metrics_port: int = WRITER_METRICS_PORT
    writer_batch_size: int = 20000
    writer_batch_seconds: float = 0.2
    # the facts of the dossiers written last, kept so that a round reads from the store
    # only those it has not seen (pipeline.rounds.RecentFacts, ≈ 0.9 KiB each); 0: none.
    # Off by default: in two soaks side by side (docs/performance.md, soak) 20,000 of them
    # saved no CPU and cost the writer ~300 MiB more anonymous memory.
    writer_recent_facts: int = 0
    # while the store fails the writer retries its round after a wait that doubles from
    # 0.5 s up to this cap (each wait jittered down by up to a quarter)
    writer_retry_max_s: float = 30.0
    # glibc malloc arenas of the writer process, set at its start (live.allocator): the
    # default (8 a core) let its anonymous memory swing with chDB's merges; 0: glibc's
    # default; MALLOC_ARENA_MAX in the environment wins
    writer_malloc_arenas: int = 2
    # TEST FACILITY, never set in production (docs/operating-cluster.md#store-outage): while this
    # file exists, every call the writer makes to its store raises what clickhouse-connect
    # raises when a ClickHouse server is unreachable (OperationalError), whatever the DSN.
    # Unset (the default): the store's client is not wrapped at all.
    fault_store_down_file: Path | None = None

    def writer_arena_limit(self) -> int:
        """The malloc arenas the writer limits itself to; 0: none, glibc's default or the
        ``MALLOC_ARENA_MAX`` of the environment, which glibc read at start and which wins."""
        return 0 if "MALLOC_ARENA_MAX" in os.environ else max(self.writer_malloc_arenas, 0)

    def changelog_topic(self) -> str:
        return f"{self.processor_app_id}-{STATE_TABLE}-changelog"

    def api_key_pairs(self) -> list[tuple[str, str]]:
        """(source_system, key) for every item of ``api_keys``, in order."""
        out: list[tuple[str, str]] = []
        for item in self.api_keys.split(","):
            item = item.strip()
            if not item:
                continue
            source, sep, key = item.partition(":")
            source, key = source.strip(), key.strip()
            if not sep or not source or not key:
                raise ValueError("MOTCUA_API_KEYS must be 'source_system:key,source_system:key'")
            out.append((source, key))
        return out

    def api_key_map(self) -> dict[str, str]:
        """source -> key (the last one listed; the gateway uses ``api_key_bindings``)."""
        return dict(self.api_key_pairs())

    def api_key_bindings(self) -> dict[bytes, frozenset[str]]:
        """The SHA-256 digest of each key -> the source_system values it may post."""
        out: dict[bytes, set[str]] = {}
        for source, key in self.api_key_pairs():
            out.setdefault(key_digest(key), set()).add(source)
        return {k: frozenset(v) for k, v in out.items()}

    def plain_api_key_sources(self) -> list[str]:
        """The sources whose key is given as itself, not as its hash (development)."""
        return sorted({s for s, key in self.api_key_pairs() if not key.lower().startswith(HASH_PREFIX)})


STATE_TABLE = "dossier-state"
HASH_PREFIX = "sha256:"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def key_digest(spec: str) -> bytes:
    """The SHA-256 digest a configured key stands for: ``sha256:<hex>`` as given, a plain
    key hashed. ``ValueError`` (without the value) for a malformed hash."""
    if spec.lower().startswith(HASH_PREFIX):
        hexed = spec[len(HASH_PREFIX) :]
        if not _HEX64.fullmatch(hexed):
            raise ValueError("MOTCUA_API_KEYS: a key given as sha256: needs 64 hex digits after it")
        return bytes.fromhex(hexed)
    return hashlib.sha256(spec.encode()).digest()


def get_live_settings(**overrides) -> LiveSettings:
    return LiveSettings(**overrides)
