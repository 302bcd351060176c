"""The composition root builds from settings; the settings default to files inside the
package; the exporter is a ``motcua run`` service (``motcua exporter`` a hidden alias)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from motcua import bootstrap
from motcua.cli.main import app
from motcua.live.config import LiveSettings
from motcua.reference.official_calendar import default_calendar
from motcua.settings import PACKAGE_DIR, PACKAGE_SCHEMA_DIR, PACKAGE_TARGETS, Settings


def test_file_settings_default_to_the_package_and_follow_the_environment(tmp_path, monkeypatch):
    for name in ("MOTCUA_SCHEMA_DIR", "MOTCUA_PLAN_TARGETS", "MOTCUA_DASHBOARDS_DIR"):
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert s.schema_dir == PACKAGE_SCHEMA_DIR and (s.schema_dir / "dossier_event_v2.avsc").is_file()
    assert s.plan_targets == PACKAGE_TARGETS and PACKAGE_TARGETS.is_file()
    assert PACKAGE_DIR in PACKAGE_TARGETS.parents
    monkeypatch.setenv("MOTCUA_PLAN_TARGETS", str(tmp_path / "t.yaml"))
    monkeypatch.setenv("MOTCUA_DASHBOARDS_DIR", str(tmp_path / "dash"))
    assert Settings().plan_targets == tmp_path / "t.yaml"
    assert LiveSettings().dashboards_dir == tmp_path / "dash"


def test_plan_targets_from_the_setting_or_a_given_file(tmp_path):
    assert len(bootstrap.plan_targets(Settings())) == 19
    f = tmp_path / "t.yaml"
    f.write_text(
        "- {province: '75', year: 2025, metric: on_time_rate, level: all, comparator: '>=', value: 0.9}\n",
        encoding="utf-8",
    )
    assert [t.value for t in bootstrap.plan_targets(Settings(plan_targets=f))] == [0.9]
    assert [t.value for t in bootstrap.plan_targets(Settings(), f)] == [0.9]


def test_calendar_without_overrides_is_the_default_one():
    assert bootstrap.calendar(Settings(calendar_overrides=None)).version == default_calendar().version


def test_a_bad_calendar_file_is_a_config_error_naming_it(tmp_path):
    f = tmp_path / "cal.yaml"
    f.write_text("days_off: [2026-13-01]\n", encoding="utf-8")
    with pytest.raises(bootstrap.ConfigError) as err:
        bootstrap.calendar(Settings(calendar_overrides=f))
    assert str(f) in err.value.message and "MOTCUA_CALENDAR_OVERRIDES" in err.value.message


def test_no_procedure_catalogue_configured_is_none():
    assert bootstrap.procedure_catalogue(LiveSettings(procedure_catalogue=None)) == {}


def test_processor_app_gets_calendar_and_catalogue_explicitly(tmp_path, monkeypatch):
    from motcua.live import processor

    seen = {}

    def create_app(settings, cal, catalogue, **options):
        seen.update(cal=cal, catalogue=catalogue)
        return "app"

    monkeypatch.setattr(processor, "create_app", create_app)
    assert bootstrap.processor_app(LiveSettings(procedure_catalogue=None)) == "app"
    assert seen["catalogue"] == {} and seen["cal"].version == default_calendar().version


def test_processor_app_builds_the_faust_app(tmp_path):
    import faust

    app = bootstrap.processor_app(LiveSettings(procedure_catalogue=None, processor_datadir=str(tmp_path)))
    assert isinstance(app, faust.App)


def test_the_exporter_runs_as_motcua_run_exporter_and_keeps_its_old_name():
    runner = CliRunner()
    res = runner.invoke(app, ["run", "exporter", "--help"])
    assert res.exit_code == 0 and "--unit-metric" in res.output
    res = runner.invoke(app, ["exporter", "--help"])  # docker-compose files of older deployments
    assert res.exit_code == 0 and "--unit-metric" in res.output
    alias = next(c for c in app.registered_commands if c.name == "exporter")
    assert alias.hidden  # not listed: `motcua run exporter` is the documented form
    assert "exporter" in runner.invoke(app, ["run", "--help"]).output


def test_run_gateway_reads_its_settings_before_starting(monkeypatch):
    monkeypatch.delenv("MOTCUA_API_KEYS", raising=False)
    res = CliRunner().invoke(app, ["run", "gateway", "--bootstrap", "127.0.0.1:1"])
    assert res.exit_code == 2 and "MOTCUA_API_KEYS" in res.output
