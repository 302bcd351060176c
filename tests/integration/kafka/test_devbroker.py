"""The dev broker launcher against the real Kafka storage tool."""

from __future__ import annotations

import pytest
from devtools import kafka_broker as devbroker
from devtools.kafka_broker import free_port


@pytest.mark.parametrize("cluster_id", ["-Dt-40fARE2i0zyrN9cRZw", "q1Sh-9_ITSWEzcZ-Cg3Xqw"])
def test_storage_format_takes_any_base64url_cluster_id(tmp_path, monkeypatch, cluster_id):
    # A random id begins with "-" about once in 64 runs; passed as a separate argument, the
    # storage tool read it as an option and a CI run failed.
    monkeypatch.setattr(devbroker, "_random_uuid", lambda: cluster_id)
    broker = devbroker.Broker(tmp_path / "kafka", free_port(), free_port())
    broker.start(timeout=90)
    try:
        meta = (tmp_path / "kafka" / "kraft-logs" / "meta.properties").read_text()
        assert f"cluster.id={cluster_id}" in meta
    finally:
        broker.stop()
