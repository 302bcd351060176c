"""The exporter's forecast gauges are the CLI's forecast (motcua forecast --format json)
for the running official period and calendar month, per level and per unit."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from motcua.cli.main import app
from motcua.exporter.forecast_metrics import ForecastCollector, read_forecast, running_periods
from motcua.reference.official_calendar import default_calendar
from tests.builders import local_ms

CAL = default_calendar()
AS_OF = local_ms(2025, 3, 20, 12)


def test_running_periods():
    from datetime import date

    got = running_periods(date(2025, 3, 20))
    assert (got["official"].start, got["official"].end) == (date(2025, 3, 15), date(2025, 4, 15))
    assert (got["calendar"].start, got["calendar"].end) == (date(2025, 3, 1), date(2025, 4, 1))
    assert running_periods(date(2025, 12, 14))["official"].code == "2025-12"
    assert running_periods(date(2025, 12, 15))["official"].code == "2026-01"


def test_gauges_equal_the_cli_json(loaded_store):
    registry = CollectorRegistry()
    collector = ForecastCollector(lambda: read_forecast(loaded_store, AS_OF, CAL))
    registry.register(collector)
    collector.refresh()
    got: dict = {}
    for family in registry.collect():
        for s in family.samples:
            if s.name in ("motcua_forecast_ratio", "motcua_unit_forecast_ratio"):
                key = (
                    s.labels["period_kind"],
                    s.labels["level"],
                    s.labels.get("unit", ""),
                    s.labels["metric"],
                )
                got.setdefault(key, {})[s.labels["bound"]] = s.value
    dsn = f"{loaded_store.location.dsn}?database={loaded_store.db}"
    want: dict = {}
    for kind, period, extra in (("official", "2025-04", []), ("calendar", "2025-03", ["--calendar-month"])):
        for by in ("level", "unit"):
            res = CliRunner().invoke(
                app,
                [
                    "forecast",
                    "--period",
                    period,
                    *extra,
                    "--as-of",
                    "2025-03-20T12:00",
                    "--by",
                    by,
                    "--format",
                    "json",
                    "--store",
                    dsn,
                ],
                catch_exceptions=False,
            )
            assert res.exit_code == 0, res.output
            for row in json.loads(res.stdout)["rows"]:
                for metric in ("on_time_rate",) if by == "unit" else ("on_time_rate", "progress_766"):
                    bounds = {
                        b: row[metric][b] for b in ("expected", "best", "worst") if row[metric][b] is not None
                    }
                    if bounds:
                        want[(kind, row["unit_level"], row.get("unit_code", ""), metric)] = bounds
    assert got == want
    assert any(k[2] for k in got) and any("expected" in v for v in got.values())
