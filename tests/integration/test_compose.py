"""docker-compose.yml checked against the code (no Docker engine runs here): every
service the pipeline needs is there, with healthchecks and volumes, and the ports,
topics and settings it sets are the ones the services read."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from devtools.kafka_broker import KAFKA_VERSION

from motcua.adapters.clickhouse_store import parse_dsn
from motcua.cli.main import app
from motcua.live import config
from motcua.live.config import LiveSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
PIPELINE = {"motcua-gateway": "gateway", "motcua-processor": "processor", "motcua-writer": "writer"}


def env_of(name: str) -> dict:
    return {k: str(v) for k, v in (SERVICES[name].get("environment") or {}).items()}


def test_every_pipeline_service_is_there_with_a_healthcheck():
    for name in ("kafka", "clickhouse", "motcua-topics", *PIPELINE):
        assert name in SERVICES, name
    for name in ("kafka", "clickhouse", *PIPELINE):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert COMPOSE["include"] == ["deploy/compose/observability.yml"]
    assert (ROOT / "deploy/compose/observability.yml").exists()


def test_one_image_several_commands_that_the_cli_has():
    images = {SERVICES[n]["image"] for n in (*PIPELINE, "motcua-topics")}
    assert images == {"${MOTCUA_IMAGE:-motcua:latest}"}
    run_group = next(g for g in app.registered_groups if g.name == "run")
    commands = {c.name or c.callback.__name__ for c in run_group.typer_instance.registered_commands}
    for name, sub in {**PIPELINE, "motcua-topics": "topics"}.items():
        assert SERVICES[name]["command"] == ["motcua", "run", sub]
        assert sub in commands
    assert (ROOT / SERVICES["motcua-gateway"]["build"] / "Dockerfile").exists()


def test_the_exporter_runs_as_a_service_like_the_others():
    observability = yaml.safe_load((ROOT / "deploy/compose/observability.yml").read_text())
    command = observability["services"]["motcua-exporter"]["command"]
    assert command[:3] == ["motcua", "run", "exporter"]
    run_group = next(g for g in app.registered_groups if g.name == "run")
    assert "exporter" in {c.name or c.callback.__name__ for c in run_group.typer_instance.registered_commands}


def test_settings_names_exist_and_topics_match_the_code_defaults():
    fields = set(LiveSettings.model_fields)
    for name in (*PIPELINE, "motcua-topics"):
        for key in env_of(name):
            assert key.startswith("MOTCUA_") and key[7:].lower() in fields, f"{name}: {key}"
    defaults = LiveSettings()
    env = env_of("motcua-processor")
    assert env["MOTCUA_EVENTS_TOPIC"] == defaults.events_topic
    assert env["MOTCUA_FACTS_TOPIC"] == defaults.facts_topic
    assert env["MOTCUA_DEAD_LETTERS_TOPIC"] == defaults.dead_letters_topic
    assert env["MOTCUA_PROCESSOR_APP_ID"] == defaults.processor_app_id
    # every service sees the same topics and partitions
    for name in PIPELINE:
        e = env_of(name)
        for key in (
            "MOTCUA_EVENTS_TOPIC",
            "MOTCUA_FACTS_TOPIC",
            "MOTCUA_DEAD_LETTERS_TOPIC",
            "MOTCUA_EVENTS_PARTITIONS",
            "MOTCUA_KAFKA_BOOTSTRAP",
        ):
            assert e[key] == env[key], (name, key)


def test_ports_match_what_the_services_listen_on():
    gw = env_of("motcua-gateway")
    assert int(gw["MOTCUA_GATEWAY_PORT"]) == config.GATEWAY_PORT
    assert f"{config.GATEWAY_PORT}:{config.GATEWAY_PORT}" in SERVICES["motcua-gateway"]["ports"]
    assert int(gw["MOTCUA_GATEWAY_METRICS_PORT"]) == config.GATEWAY_METRICS_PORT
    assert int(env_of("motcua-processor")["MOTCUA_PROCESSOR_METRICS_PORT"]) == config.PROCESSOR_METRICS_PORT
    assert int(env_of("motcua-writer")["MOTCUA_WRITER_METRICS_PORT"]) == config.WRITER_METRICS_PORT
    for name, port in (
        ("motcua-gateway", config.GATEWAY_PORT),
        ("motcua-processor", config.PROCESSOR_METRICS_PORT),
        ("motcua-writer", config.WRITER_METRICS_PORT),
    ):
        assert str(port) in " ".join(SERVICES[name]["healthcheck"]["test"]), name


def test_prometheus_scrapes_the_pipeline_where_it_serves_metrics():
    prom = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        t for job in prom["scrape_configs"] for sc in job.get("static_configs", []) for t in sc["targets"]
    }
    assert f"motcua-gateway:{config.GATEWAY_METRICS_PORT}" in targets
    assert f"motcua-processor:{config.PROCESSOR_METRICS_PORT}" in targets
    assert f"motcua-writer:{config.WRITER_METRICS_PORT}" in targets


def test_kafka_is_kraft_the_pinned_version_and_where_the_services_look():
    k = SERVICES["kafka"]
    assert k["image"] == f"apache/kafka:{KAFKA_VERSION}"
    kenv = env_of("kafka")
    assert "controller" in kenv["KAFKA_PROCESS_ROLES"] and "ZOOKEEPER" not in " ".join(kenv)
    assert kenv["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # the project creates topics
    advertised = kenv["KAFKA_ADVERTISED_LISTENERS"].split("://", 1)[1]
    assert env_of("motcua-processor")["MOTCUA_KAFKA_BOOTSTRAP"] == advertised


def test_writer_store_is_the_clickhouse_service():
    dsn = env_of("motcua-writer")["MOTCUA_STORE"]
    loc = parse_dsn(
        dsn.replace("${MOTCUA_CLICKHOUSE_USER:-default}", "default").replace(
            "${MOTCUA_CLICKHOUSE_PASSWORD:-}", ""
        )
    )
    assert not loc.embedded and loc.database == SERVICES["clickhouse"]["environment"]["CLICKHOUSE_DB"]
    assert "@clickhouse:8123/" in dsn and "8123:8123" in SERVICES["clickhouse"]["ports"]


@pytest.mark.parametrize(
    "name,path",
    [("kafka", "/var/lib/kafka/data"), ("clickhouse", "/var/lib/clickhouse"), ("motcua-processor", "/data")],
)
def test_state_lives_in_named_volumes(name, path):
    mounts = SERVICES[name]["volumes"]
    named = [m.split(":")[0] for m in mounts if m.split(":")[1] == path]
    assert named and named[0] in COMPOSE["volumes"]
