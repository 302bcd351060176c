"""Topics against the real broker: the facts and changelog topics allow the processor's
4 MiB producer batches, also when they were created by an older version (the limit is
raised in place, other settings kept)."""

from __future__ import annotations

import os

import pytest

from motcua.live.config import LiveSettings
from motcua.live.topics import LARGE_MESSAGE_BYTES, PRODUCER_BATCH_BYTES, ensure_topics

pytestmark = pytest.mark.kafka


def topic_config(admin, topic: str) -> dict:
    from kafka.admin import ConfigResource, ConfigResourceType

    described = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="modified"
    )
    return {k: v.get("value") for k, v in described["topic"][topic].items()}


def test_large_batches_allowed_on_new_and_existing_topics(kafka_broker):
    from kafka.admin import KafkaAdminClient, NewTopic

    tag = f"tt{os.getpid()}"
    s = LiveSettings(
        kafka_bootstrap=kafka_broker,
        events_topic=f"{tag}-events",
        facts_topic=f"{tag}-facts",
        dead_letters_topic=f"{tag}-dead",
        processor_app_id=f"{tag}-processor",
    )
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker)
    try:
        # the facts topic as an older version created it: no message limit of its own
        admin.create_topics([NewTopic(s.facts_topic, 2, 1, topic_configs={"retention.ms": "12345"})])
        created = ensure_topics(s)
        assert s.facts_topic not in created and s.changelog_topic() in created
        facts = topic_config(admin, s.facts_topic)
        assert facts["max.message.bytes"] == str(LARGE_MESSAGE_BYTES)
        assert facts["retention.ms"] == "12345"  # only the limit was changed
        changelog = topic_config(admin, s.changelog_topic())
        assert changelog["max.message.bytes"] == str(LARGE_MESSAGE_BYTES)
        assert changelog["cleanup.policy"] == "compact"
        assert LARGE_MESSAGE_BYTES > PRODUCER_BATCH_BYTES
        assert ensure_topics(s) == []  # idempotent
        assert topic_config(admin, s.facts_topic)["max.message.bytes"] == str(LARGE_MESSAGE_BYTES)
    finally:
        admin.close()
