"""The ClickHouse server of docker-compose.yml runs the engine the tests run: chDB embeds
one ClickHouse release, and the compose file pins the server image to the same
major.minor (no server can run here, so this pin is what makes the chDB proofs hold for
the deployment)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
IMAGE = re.compile(r"^clickhouse/clickhouse-server:(\d+)\.(\d+)(?:\.\d+)*$")


def major_minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def test_the_server_image_is_the_release_chdb_embeds(store):
    embedded = store.client.query("SELECT version()").result_rows[0][0]
    image = SERVICES["clickhouse"]["image"]
    pinned = IMAGE.match(image)
    assert pinned, f"{image}: pin clickhouse/clickhouse-server:MAJOR.MINOR (no 'latest', no variant)"
    assert (int(pinned[1]), int(pinned[2])) == major_minor(embedded), (
        f"docker-compose.yml runs {image}, chDB embeds ClickHouse {embedded}: "
        f"set the image to clickhouse/clickhouse-server:{'.'.join(embedded.split('.')[:2])}"
    )


def test_major_minor_reads_a_full_version():
    assert major_minor("26.9.2.1") == (26, 9)
    assert not IMAGE.match("clickhouse/clickhouse-server:latest")
    assert IMAGE.match("clickhouse/clickhouse-server:26.9")
