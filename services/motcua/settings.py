"""Settings from the environment (MOTCUA_*) via pydantic-settings."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_", extra="ignore")

    data_dir: Path = Path(".motcua")
    store: str | None = None  # a DSN; default: the embedded store under data_dir
    calendar_overrides: Path | None = None  # YAML {days_off, working_days, confirmed_years, sources} (docs/calendar.md)

    def store_dsn(self) -> str:
        if self.store:
            return self.store
        return f"chdb://{(self.data_dir / 'store').resolve()}"


def get_settings() -> Settings:
    return Settings()
