"""Settings and topic specifications of the live services."""

from __future__ import annotations

import pytest

from motcua.live.config import LiveSettings
from motcua.live.topics import changelog_config, topic_specs


def test_api_keys_parse_and_reject_garbage():
    assert LiveSettings(api_keys="a:1, b:2").api_key_map() == {"a": "1", "b": "2"}
    with pytest.raises(ValueError):
        LiveSettings(api_keys="nokey").api_key_map()


def test_topics_state_is_compacted_and_copartitioned():
    s = LiveSettings(events_partitions=8)
    specs = {t.name: t for t in topic_specs(s)}
    changelog = specs["motcua-processor-dossier-state-changelog"]
    assert changelog.config["cleanup.policy"] == "compact"
    assert changelog.partitions == specs["dossier-events"].partitions == 8
    assert specs["dossier-facts"].config["cleanup.policy"] == "delete"
    assert specs["dead-letters"].config["retention.ms"] == str(30 * 24 * 3600 * 1000)


def test_faust_creates_the_changelog_as_durable_as_the_other_topics():
    single = changelog_config(LiveSettings())
    assert single == {"min.compaction.lag.ms": "60000", "max.message.bytes": "8388608"}
    cluster = changelog_config(LiveSettings(replication_factor=3, min_insync_replicas=2))
    assert cluster == {**single, "min.insync.replicas": "2"}
    events = topic_specs(LiveSettings(replication_factor=3, min_insync_replicas=2))[0]
    assert events.config["min.insync.replicas"] == cluster["min.insync.replicas"]


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MOTCUA_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("MOTCUA_EVENTS_TOPIC", "ev")
    s = LiveSettings()
    assert (s.kafka_bootstrap, s.events_topic) == ("kafka:9092", "ev")
