"""The deployments defined in code: cron strings, time zone, parameters, and the years they collect."""

from __future__ import annotations

from datetime import date

from typer.testing import CliRunner

from flows.cli import app
from flows.deployments import TIMEZONE, build_deployments, schedule_specs
from flows.pipeline import last_report_year, quarterly_years


def test_deployments_and_their_cron_schedules():
    deps = {d.name: d for d in build_deployments()}
    assert sorted(deps) == ["annual", "quarterly"]
    annual, quarterly = deps["annual"], deps["quarterly"]
    assert (annual.flow_name, quarterly.flow_name) == ("annual-run", "quarterly-run")
    assert [(s.schedule.cron, s.schedule.timezone) for s in annual.schedules] == [
        ("0 2 1 2 *", TIMEZONE),
        ("0 2 1 4 *", TIMEZONE),
    ]  # 1 February (after 31 January) and 1 April
    assert [(s.schedule.cron, s.schedule.timezone) for s in quarterly.schedules] == [("0 3 10 1,4,7,10 *", TIMEZONE)]
    assert annual.entrypoint == "flows/pipeline.py:annual_run"
    assert annual.parameters == quarterly.parameters == {}  # year, registry and warehouse resolved at run time
    assert TIMEZONE == "Asia/Shanghai"


def test_registry_and_warehouse_can_be_fixed_as_parameters(tmp_path):
    deps = build_deployments(sources=tmp_path / "agencies.toml", warehouse=tmp_path / "wh.duckdb")
    for d in deps:
        assert d.parameters == {"sources": str(tmp_path / "agencies.toml"), "warehouse": str(tmp_path / "wh.duckdb")}


def test_years_collected_by_the_annual_and_quarterly_runs():
    assert last_report_year(date(2025, 2, 1)) == 2024
    assert last_report_year(date(2025, 1, 10)) == 2024
    assert quarterly_years(date(2025, 4, 10)) == [2024, 2023]
    assert quarterly_years(date(2026, 1, 10)) == [2025, 2024]


def test_serve_list_prints_the_schedules():
    result = CliRunner().invoke(app, ["serve", "--list"])
    assert result.exit_code == 0, result.output
    for text in ("annual", "quarterly", "0 2 1 2 *", "0 2 1 4 *", "0 3 10 1,4,7,10 *", "Asia/Shanghai"):
        assert text in result.output
    assert [s.name for s in schedule_specs()] == ["annual", "quarterly"]
