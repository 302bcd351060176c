"""No personal data in the live pipeline (real broker): events carrying names, addresses,
e-mails, phone and citizen-ID numbers in free text, in ids, in unknown fields and inside
records rejected for other reasons, posted to the gateway and loaded with ``motcua
publish``. Afterwards a scan of every topic of the pipeline (events, facts, dead letters,
the processor's changelog and internal topics), every service log and every table of the
store finds none of them, while the good events' figures arrived."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import date

import orjson
import pytest
from devtools.kafka_broker import free_port

from .conftest import PY, REPO, probe
from .tools import API_KEY, kcat_binary, post, simulated, wait_http

pytestmark = pytest.mark.kafka

PII = [
    "0912 345 678",
    "0912.345.678",
    "+84-912-345-678",
    "079.203.001.234",
    "079203001234",
    "0792 0300 1234",
    "nguyen.van.an@gmail.com",
]
NAMES = ["Nguyễn Văn An", "Lê Lợi"]


def forms(secret: str) -> list[str]:
    if "@" in secret:
        return [secret, secret.split("@")[0]]
    return [secret, re.sub(r"[^0-9]", "", secret)]


def personal_records(template: dict) -> list[bytes]:
    def ev(**changes) -> bytes:
        return orjson.dumps({**template, **changes})

    rejected = {**template, "event_type": "REJECTED", "sequence": 99}
    for k in ("channel", "online_service", "due_at", "time_limit", "has_fee", "requires_paper_result"):
        rejected.pop(k, None)
    return [
        # accepted, the free text not kept
        orjson.dumps(
            {
                **rejected,
                "event_id": "pii-reason",
                "reason": "Ông Nguyễn Văn An, sinh năm 1980, 123 Lê Lợi, SĐT 0912 345 678",
            }
        ),
        # refused: personal ids and fields
        ev(event_id="pii-dossier", dossier_id="079.203.001.234"),
        ev(event_id="pii-field", ho_ten="Nguyễn Văn An", email="nguyen.van.an@gmail.com"),
        ev(event_id="pii-unit", unit_code="+84-912-345-678"),
        # refused for another reason, with personal data inside
        ev(event_id="pii-enum", channel="CCCD 079203001234 / 0792 0300 1234"),
        ev(event_id="pii-type", event_type="GỌI 0912.345.678"),
        b'{"event_id": "pii-broken", "note": "Nguy\xc3\xa1\xbb\x85n V\xc4\x83n An 0912 345 678", ',
    ]


def test_no_personal_data_in_topics_logs_or_tables(pipeline, tmp_path):
    lines = simulated(tmp_path / "events.jsonl", date(2025, 3, 3), date(2025, 3, 5), seed=21, scale=0.05)
    template = next(orjson.loads(x) for x in lines if b'"RECEIVED"' in x)
    bad = personal_records(template)
    port = free_port()
    services = [pipeline.processor(), pipeline.writer(), pipeline.gateway(port)]
    for s in services:
        s.start()
    wait_http(port)
    status, body = post(port, b"\n".join(lines[: len(lines) // 2] + bad[:-1]), "application/x-ndjson")
    assert status == 422 and body["accepted"] == len(lines) // 2 + 1, body
    status, body = post(port, bad[-1], "application/json")
    assert status == 422 and body["accepted"] == 0, body
    publish_file = tmp_path / "publish.jsonl"
    publish_file.write_bytes(b"\n".join(lines[len(lines) // 2 :] + bad) + b"\n")
    subprocess.run(
        [PY, "-m", "motcua.cli.main", "publish", str(publish_file)],
        cwd=REPO,
        env=pipeline.env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    pipeline.wait_drained(watch=services[:2], timeout=300)
    pipeline.stop_all()

    live = probe(pipeline.store)
    assert live["events"] == len(lines) + 1  # the good events and the REJECTED without its reason
    assert live["dead_letters"].get("PERSONAL_DATA", 0) >= 6

    # every topic of this pipeline, keys and values
    tag = pipeline.settings.events_topic.rsplit("-dossier-events", 1)[0]
    listed = subprocess.run(
        [kcat_binary(), "-L", "-b", pipeline.bootstrap], capture_output=True, text=True, check=True
    ).stdout
    topics = sorted(set(re.findall(rf'topic "({re.escape(tag)}[^"]*)"', listed)))
    assert {
        pipeline.settings.events_topic,
        pipeline.settings.facts_topic,
        pipeline.settings.dead_letters_topic,
    } <= set(topics)
    assert any("changelog" in t for t in topics)
    dumped = b""
    for topic in topics:
        dumped += subprocess.run(
            [
                kcat_binary(),
                "-C",
                "-b",
                pipeline.bootstrap,
                "-t",
                topic,
                "-e",
                "-q",
                "-o",
                "beginning",
                "-f",
                "%k\t%s\n",
            ],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
    assert template["dossier_id"].encode() in dumped  # the scan sees the data
    logs = b"".join(p.read_bytes() for p in pipeline.root.glob("*.log"))
    assert logs
    tables = subprocess.run(
        [
            PY,
            "-c",
            (
                "import sys; from motcua.adapters.clickhouse_store import ClickHouseStore;"
                "from tests.integration.test_bad_input_corpus import scan_every_table;"
                "sys.stdout.write(scan_every_table(ClickHouseStore(sys.argv[1])))"
            ),
            pipeline.store,
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "services"), str(REPO)])},
        capture_output=True,
        check=True,
    ).stdout
    assert b'"redacted":true' in tables
    for where, text in (("topics", dumped), ("logs", logs), ("tables", tables)):
        text = text.decode("utf-8", "replace")
        for secret in PII:
            for form in forms(secret):
                assert form not in text, f"{form!r} found in the {where}"
        for name in NAMES:
            assert name not in text, f"{name!r} found in the {where}"
        assert API_KEY not in text, f"the API key found in the {where}"
