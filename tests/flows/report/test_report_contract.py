"""The report never contradicts the run: expected agencies include what the flows recorded in
``qa.acquisitions``, an office the registry does not know is an error, and a year the warehouse never
saw is said in one line, not shown as a clean year."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime

import pytest
import report_world
from report_world import HEALTH, JUSTICE, YEAR, agency
from typer.testing import CliRunner

from flows.report.data import Office, build_report
from flows.report.html import render_html
from flows.report.service import ReportInputError, offices, reader
from warehouse.acquisitions import record
from warehouse.config import WarehouseConfig

world = report_world.world  # the shared warehouse (a session fixture)
ZHUJIAN = "淮安市清江浦区住房和城乡建设局"


def _acquisition(agency_id: str, name: str, status: str, **extra: object) -> dict[str, object]:
    return {
        "run_id": "run-a",
        "agency_id": agency_id,
        "year": YEAR,
        "agency_name": name,
        "region": "320812",
        "level": "county",
        "oversight": "huaian",
        "status": status,
        "deadline": date(2024, 1, 31),
        "checked_at": datetime(2024, 2, 5, tzinfo=UTC),
        **extra,
    }


@pytest.fixture
def recorded(world, tmp_path):
    """A copy of the shared warehouse where a run recorded 司法局 and 住建局 missing (HTTP 404) and fetched
    卫健委's report under the registry name 淮安市清江浦区卫健委 (the report prints the full name)."""
    cfg = WarehouseConfig.resolve(tmp_path / "copy.duckdb")
    shutil.copy(world.cfg.db_path, cfg.db_path)
    with reader(cfg) as con:
        (health_version,) = con.execute(
            "SELECT version_id FROM stg.report_versions WHERE agency = ? AND year = ?", [HEALTH, YEAR]
        ).fetchone()
    tried = [
        {"url": "http://x.example.gov.cn/2023.html", "status": "missing", "http_status": 404, "reason": "HTTP 404"}
    ]
    record(
        cfg,
        [
            _acquisition("qjp-justice", JUSTICE, "missing", reason="HTTP 404", tried=tried),
            _acquisition("qjp-zjj", ZHUJIAN, "missing", reason="HTTP 404", tried=tried),
            _acquisition("qjp-wjw", "淮安市清江浦区卫健委", "fetched", version_id=health_version),
        ],
    )
    return cfg


def test_without_registry_the_missing_agencies_of_the_run_are_missing(recorded):
    with reader(recorded) as con:
        rep = build_report(con, YEAR, Office("all", "全部机关"), None)
    s = rep.summary
    assert (s.expected, s.found, s.missing) == (7, 5, 2)
    assert {a.name for a in rep.missing} == {JUSTICE, ZHUJIAN}
    zjj = agency(rep, ZHUJIAN)
    assert zjj.agency.id == "qjp-zjj" and zjj.agency.region == "320812" and zjj.agency.level == "county"
    assert any("HTTP 404" in n for n in zjj.notes)
    # the report fetched for 卫健委 prints another name: it is that agency's, not a second agency
    wjw = agency(rep, "淮安市清江浦区卫健委")
    assert wjw.state == "quarantined" and wjw.reported_name == HEALTH and wjw.failures
    assert HEALTH not in {a.name for a in rep.agencies}
    html = render_html(rep)
    assert "应报送机关均已按期发布" not in html and ZHUJIAN in html


def test_oversight_needs_a_registry_that_knows_the_office(world):
    with pytest.raises(ReportInputError, match="--registry"):
        offices(None, "huaian")
    with pytest.raises(ReportInputError, match="huaian、suqian"):
        offices(world.registry, "nanjing")


def _cli(*args: str) -> object:
    from flows.cli import app

    return CliRunner().invoke(app, list(args))


def test_cli_oversight_without_registry_is_an_error(world, tmp_path, monkeypatch):
    monkeypatch.setenv("XXGK_PROJECT_DIR", str(tmp_path))  # no agencies.toml there
    monkeypatch.delenv("XXGK_SOURCES", raising=False)
    result = _cli("report", "--year", str(YEAR), "--oversight", "huaian", "-w", str(world.cfg.db_path))
    assert result.exit_code == 2
    assert "--oversight huaian 需要登记了该监督机关的机关名录" in result.output and "--registry" in result.output


def test_cli_a_year_never_seen_is_one_line(world, tmp_path, monkeypatch):
    monkeypatch.setenv("XXGK_PROJECT_DIR", str(tmp_path))
    wh = str(world.cfg.db_path)
    result = _cli("report", "--year", "2031", "--out", str(tmp_path / "out"), "-w", wh)
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "没有 2031 年度的任何记录" in result.output
    assert not (tmp_path / "out").exists()
    checks = _cli("checks", "--year", "2099", "-w", wh)
    assert checks.exit_code == 0 and "没有 2099 年度的任何记录" in checks.output
    assert "没有未通过的检查" not in checks.output
    status = _cli("status", "--year", "2099", "-w", wh)
    assert status.exit_code == 0 and "没有 2099 年度的任何记录" in status.output
    data = json.loads(_cli("status", "--year", str(YEAR), "-w", wh, "--json").stdout)
    assert data["year_seen"] is True and {v["year"] for v in data["versions"]} == {YEAR}
    assert data["counts"]["promoted"] == 3  # 教育局, 财政局 (revised), 宿迁市教育局
