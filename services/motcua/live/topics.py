"""The pipeline's Kafka topics, created by the project with an admin client.

| topic | key | value | cleanup |
|---|---|---|---|
| dossier-events | dossier_id | Avro single object (or JSON from outside clients) | delete, 7 days |
| dossier-facts | dossier_id | JSON: the dossier's facts + the events that produced them | delete, 7 days |
| dead-letters | dead_letter_id | Avro ``vn.motcua.DeadLetter`` | delete, 30 days |
| <app>-dossier-state-changelog | dossier_id | the Faust table's DossierState dicts | compact |

The facts topic is not compacted: its messages also carry the raw events for the events
table, and a compacted-away message would lose them if the writer lagged. The state that
must survive forever is the changelog, which is compacted and partitioned like the events
topic (Faust requires co-partitioning).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import LiveSettings


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict = field(default_factory=dict)


def topic_specs(s: LiveSettings) -> list[TopicSpec]:
    return [
        TopicSpec(s.events_topic, s.events_partitions,
                  {"cleanup.policy": "delete", "retention.ms": str(s.events_retention_ms)}),
        TopicSpec(s.facts_topic, s.facts_partitions,
                  {"cleanup.policy": "delete", "retention.ms": str(s.facts_retention_ms)}),
        TopicSpec(s.dead_letters_topic, s.dead_letters_partitions,
                  {"cleanup.policy": "delete", "retention.ms": str(s.dead_letters_retention_ms)}),
        TopicSpec(s.changelog_topic(), s.events_partitions,
                  {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}),
    ]


def ensure_topics(s: LiveSettings, timeout_s: float = 60.0) -> list[str]:
    """Create missing topics; returns the names created. Existing topics are left as they
    are (a partition count that differs is reported, not changed)."""
    from ..adapters.kafka_clients import admin_client

    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = admin_client(s.kafka_bootstrap, timeout_s)
    try:
        existing = set(admin.list_topics())
        created = []
        for spec in topic_specs(s):
            if spec.name in existing:
                continue
            try:
                admin.create_topics([NewTopic(spec.name, spec.partitions, s.replication_factor,
                                              topic_configs=spec.config)])
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        admin.close()
