"""Settings from the environment (MOTCUA_*) via pydantic-settings.

This module (with ``live/config.py``, which extends it) is the only code of the package
that reads the environment. Every file the package needs has a default inside the
package, so an installed package works outside a checkout too."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The package's own directory (a real directory: the package is installed unzipped).
PACKAGE_DIR = Path(str(resources.files("motcua")))
PACKAGE_SCHEMA_DIR = PACKAGE_DIR / "adapters" / "schemas"
PACKAGE_TARGETS = PACKAGE_DIR / "reference" / "data" / "plan-targets.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_", extra="ignore")

    data_dir: Path = Path(".motcua")
    store: str | None = None  # a DSN; default: the embedded store under data_dir
    # the store's schema form (docs/clickhouse-cluster.md): "single" (one server or the
    # embedded chDB) or "cluster" (Replicated*MergeTree + Distributed, sharded by province,
    # created ON CLUSTER clickhouse_cluster; refused on chDB). Named store_schema because
    # pydantic's BaseModel has a `schema` attribute; the variable is MOTCUA_SCHEMA.
    store_schema: Literal["single", "cluster"] = Field(default="single", validation_alias="MOTCUA_SCHEMA")
    clickhouse_cluster: str = "motcua"  # a <remote_servers> name of the servers' config
    calendar_overrides: Path | None = (
        None  # YAML {days_off, working_days, confirmed_years, sources} (docs/calendar.md)
    )
    schema_dir: Path = PACKAGE_SCHEMA_DIR  # the Avro schemas (.avsc) of the event contract
    plan_targets: Path = PACKAGE_TARGETS  # the plan targets YAML (docs/control-room.md)
    dashboards_dir: Path = Path("dashboards")  # where `motcua dashboards` writes the provisioning JSON
    # the exporter's restatement gauges: how often they are recomputed (each closed
    # period's figures against today's), for closes of how many recent months, and the
    # move of a closed on-time rate (points) the alert MotcuaSoLieuDaChotThayDoi fires at
    restatement_interval_s: float = 600.0
    restatement_months: int = 13
    restatement_alert_points: float = 0.5

    def store_dsn(self) -> str:
        if self.store:
            return self.store
        return f"chdb://{(self.data_dir / 'store').resolve()}"


def get_settings() -> Settings:
    return Settings()
