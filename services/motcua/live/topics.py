"""The pipeline's Kafka topics, created by the project with an admin client.

| topic | key | value | cleanup |
|---|---|---|---|
| dossier-events | dossier_id | Avro single object (or JSON from outside clients) | delete, 7 days |
| dossier-facts | dossier_id | JSON: the dossier's facts + the events that produced them | delete, 7 days |
| dead-letters | dead_letter_id | Avro ``vn.motcua.DeadLetter`` | delete, 30 days |
| <app>-dossier-state-changelog | dossier_id | the Faust table's DossierState dicts | compact |

The processor writes facts and changelog records in producer batches of up to
``PRODUCER_BATCH_BYTES`` (the broker's default message limit is 1 MB); those two topics
allow ``LARGE_MESSAGE_BYTES`` per record batch, set on creation and raised on existing
topics by ``ensure_topics``.

The facts topic is not compacted: its messages also carry the raw events for the events
table, and a compacted-away message would lose them if the writer lagged. The state that
must survive forever is the changelog, which is compacted and partitioned like the events
topic (Faust requires co-partitioning).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import LiveSettings

# aiokafka keeps one record batch per partition open and one produce request per broker
# in flight, so a processor batch's output for a partition (a batch of 4,000 events is
# ~1.2 MB of changelog for one partition) waits a broker round trip per full producer
# batch; 4 MiB batches need one.
PRODUCER_BATCH_BYTES = 4 * 1024 * 1024
LARGE_MESSAGE_BYTES = 2 * PRODUCER_BATCH_BYTES
LARGE = {"max.message.bytes": str(LARGE_MESSAGE_BYTES)}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict = field(default_factory=dict)


def topic_specs(s: LiveSettings) -> list[TopicSpec]:
    specs = _specs(s)
    if s.replication_factor > 1:
        for spec in specs:
            spec.config["min.insync.replicas"] = str(s.min_insync_replicas)
    return specs


def changelog_config(s: LiveSettings) -> dict:
    """The configs of the processor's changelog topic, for Faust to create it with when the
    processor starts before ``motcua run topics`` did: the same message limit and, in
    cluster mode, the same ``min.insync.replicas`` as the project's other topics (without
    it a changelog write would be acknowledged by one replica)."""
    (spec,) = [t for t in topic_specs(s) if t.name == s.changelog_topic()]
    return {k: v for k, v in spec.config.items() if k != "cleanup.policy"}  # Faust sets compact


def _specs(s: LiveSettings) -> list[TopicSpec]:
    return [
        TopicSpec(
            s.events_topic,
            s.events_partitions,
            {"cleanup.policy": "delete", "retention.ms": str(s.events_retention_ms)},
        ),
        TopicSpec(
            s.facts_topic,
            s.facts_partitions,
            {"cleanup.policy": "delete", "retention.ms": str(s.facts_retention_ms), **LARGE},
        ),
        TopicSpec(
            s.dead_letters_topic,
            s.dead_letters_partitions,
            {"cleanup.policy": "delete", "retention.ms": str(s.dead_letters_retention_ms)},
        ),
        TopicSpec(
            s.changelog_topic(),
            s.events_partitions,
            {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000", **LARGE},
        ),
    ]


def ensure_topics(s: LiveSettings, timeout_s: float = 60.0) -> list[str]:
    """Create missing topics; returns the names created. Existing topics are left as they
    are (a partition count that differs is reported, not changed), except that a
    ``max.message.bytes`` below the spec's is raised to it (a topic created by an older
    version)."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    from ..adapters.kafka_clients import admin_client

    admin = admin_client(s.kafka_bootstrap, timeout_s)
    try:
        existing = set(admin.list_topics())
        created = []
        for spec in topic_specs(s):
            if spec.name in existing:
                _raise_message_limit(admin, spec)
                continue
            try:
                admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, s.replication_factor, topic_configs=spec.config)]
                )
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()


def _raise_message_limit(admin, spec: TopicSpec) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType

    wanted = spec.config.get("max.message.bytes")
    if wanted is None:
        return
    described = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, spec.name, configs={"max.message.bytes": None})],
        config_filter="all",
    )
    entry = described.get("topic", {}).get(spec.name, {}).get("max.message.bytes") or {}
    current = entry.get("value")
    if current is None or int(current) < int(wanted):
        admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, spec.name, configs={"max.message.bytes": wanted})]
        )
