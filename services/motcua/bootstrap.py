"""The composition root: every object the entry points run with, built from settings.

The command line and the services get their calendar, registries, store, targets and
service objects here, and nowhere else decides which file, store or catalogue is used.
Lower layers take what they need as arguments (docs/architecture.md, the layer rule;
``tests/unit/test_architecture.py`` checks it)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .settings import Settings

if TYPE_CHECKING:
    import faust
    from aiohttp import web

    from .adapters.clickhouse_store import ClickHouseStore
    from .domain.calendar import WorkingCalendar
    from .domain.targets import Target
    from .live.config import LiveSettings
    from .live.writer import Writer
    from .reference.registry import Registry
    from .replay import EmbeddedPipeline

log = logging.getLogger("motcua.bootstrap")


class ConfigError(Exception):
    """A setting names something unusable (a file that does not read, a bad entry). The
    message is Vietnamese, for the operator; the command line prints it as its one-line
    error (``cli.common.CliError``)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


# -- reference data ------------------------------------------------------------------------


def calendar(settings: Settings) -> WorkingCalendar:
    """The product's calendar: the ``holidays`` package < the shipped official schedule <
    the overrides file of the setting ``calendar_overrides`` (docs/calendar.md). A file
    that does not read, or a bad entry, is a ``ConfigError`` naming it."""
    import yaml

    from .reference.official_calendar import (
        CalendarDataError,
        calendar_from_overrides,
        calendar_with_overrides,
    )

    path = settings.calendar_overrides
    if path is None:
        return calendar_from_overrides(None)
    with open(path, encoding="utf-8") as fh:
        try:
            data = yaml.safe_load(fh)
        except (yaml.YAMLError, ValueError) as err:  # ValueError: a date like 2026-13-01
            raise ConfigError(
                f"tệp cấu hình lịch {path} (MOTCUA_CALENDAR_OVERRIDES) không đọc được: "
                f"{_first_line(str(err), 200)} (ngày viết YYYY-MM-DD)"
            ) from None
    if not data:
        return calendar_from_overrides(None)
    try:
        return calendar_with_overrides(data, name=f"tệp cấu hình lịch {path}")
    except CalendarDataError as err:
        raise ConfigError(err.message) from None


def _first_line(text: str, limit: int = 160) -> str:
    line = (text.strip().splitlines() or [""])[0].strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def unit_registry(store: ClickHouseStore | None = None) -> Registry:
    """The registry of units, fields and procedure names: with ``store``, the units and
    the procedure catalogue loaded into it (``motcua registry load units|procedures``) are
    installed as the process-wide registry, which the reports and labels read; without
    (or a store that loaded none), the shipped reference data."""
    from .reference.registry import default_registry

    if store is not None:
        from .adapters.clickhouse_procedures import use_store_catalogue
        from .adapters.clickhouse_units import use_store_registry

        use_store_registry(store)
        use_store_catalogue(store)
    return default_registry()


def procedure_catalogue(settings: LiveSettings) -> dict:
    """The procedure catalogue the processor folds with, read once at start from the
    setting ``procedure_catalogue`` (``MOTCUA_PROCEDURE_CATALOGUE``): a catalogue file (any
    shape ``motcua registry load procedures`` reads; its refused items are left out), or
    ``store`` for the one loaded into ``MOTCUA_STORE`` (a ClickHouse server: an embedded
    store is the writer's alone). Unset: none. A catalogue that cannot be read stops the
    start (figures would differ from a replay's otherwise)."""
    where = settings.procedure_catalogue
    if not where:
        return {}
    if where.strip().lower() == "store":
        from .adapters.clickhouse_procedures import ProceduresRepository

        return ProceduresRepository(store(settings)).catalogue()
    from .reference.procedures_loader import read_catalogue

    loaded = read_catalogue(where)
    if loaded.refused:
        log.warning(
            "procedure catalogue %s: %d items refused (see motcua registry load procedures)",
            where,
            len(loaded.refused),
        )
    return {e.code: e for _pos, e in loaded.entries}


def plan_targets(settings: Settings, path: str | Path | None = None) -> list[Target]:
    """The plan targets of ``path``, else of the setting ``plan_targets`` (default: the
    package's copy of the province plans). Raises ``TargetError`` / ``OSError``."""
    from .reference.targets_loader import load_targets

    return load_targets(path or settings.plan_targets)


# -- the store -------------------------------------------------------------------------------


def store(settings: Settings, dsn: str | None = None, migrate: bool = True) -> ClickHouseStore:
    """The store of ``dsn``, else of the settings (``MOTCUA_STORE``, else the embedded
    store under ``MOTCUA_DATA_DIR``), in the schema form of ``MOTCUA_SCHEMA``.
    ``migrate``: apply pending migrations on opening."""
    from .adapters.clickhouse_store import ClickHouseStore

    return ClickHouseStore(
        dsn or settings.store_dsn(),
        migrate=migrate,
        schema=settings.store_schema,
        cluster=settings.clickhouse_cluster,
    )


# -- the services ----------------------------------------------------------------------------


def replay_pipeline(
    st: ClickHouseStore, cal: WorkingCalendar, catalogue: dict | None = None, **options
) -> EmbeddedPipeline:
    """The embedded pipeline of ``motcua replay`` / ``demo`` / imports: files -> the store.
    ``catalogue`` None: the one loaded into the store."""
    from .replay import EmbeddedPipeline

    return EmbeddedPipeline(st, cal, catalogue=catalogue, **options)


def gateway_app(settings: LiveSettings, allow_anonymous: bool = False, link=None) -> web.Application:
    """The gateway's aiohttp application (``live.gateway``)."""
    from .live.gateway import build_app

    return build_app(settings, allow_anonymous=allow_anonymous, link=link)


def run_gateway(settings: LiveSettings, allow_anonymous: bool = False) -> None:
    """HTTP ingest until stopped (``live.gateway.run`` builds its app with its Kafka link)."""
    from .live import gateway

    gateway.run(settings, allow_anonymous=allow_anonymous)


def processor_app(settings: LiveSettings) -> faust.App:
    """The processor's faust app, with the product calendar and the configured catalogue."""
    from .live.processor import create_app

    return create_app(settings, cal=calendar(settings), catalogue=procedure_catalogue(settings))


def run_processor(settings: LiveSettings, loglevel: str = "INFO") -> None:
    from .live import processor

    processor.run(settings, processor_app(settings), loglevel=loglevel)


def writer(settings: LiveSettings) -> Writer:
    """The writer (facts and dead letters -> the store), with the product calendar."""
    from .live.writer import Writer

    return Writer(settings, calendar=calendar(settings))


def run_writer(settings: LiveSettings) -> None:
    from .live import writer as live_writer

    # live.writer.run builds its Writer; it gets the same calendar as ``writer()``
    live_writer.run(settings, calendar=calendar(settings))


def run_exporter(
    settings: Settings,
    st: ClickHouseStore,
    *,
    port: int,
    addr: str,
    interval: float,
    now_ms: Callable[[], int],
    unit_metrics: Iterable[str],
    targets: list[Target] | None = None,
) -> None:
    """The Prometheus exporter over ``st`` until interrupted; ``targets`` None: the ones
    stored (``motcua targets load``)."""
    from .exporter.collector import serve
    from .exporter.restatements import RestatementCollector, read_closed_state

    cal = calendar(settings)
    restated = RestatementCollector(
        lambda: read_closed_state(st, cal, now_ms(), settings.restatement_months),
        settings.restatement_interval_s,
        settings.restatement_alert_points,
    )
    serve(
        st,
        port,
        interval,
        now_ms,
        addr=addr,
        targets=targets,
        unit_metrics=unit_metrics,
        calendar=cal,
        restatements=restated,
    )
