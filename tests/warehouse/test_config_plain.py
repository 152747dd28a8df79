"""Settings read without importing dlt when its answer is certain — and the same answer dlt gives."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.config import _ASK_DLT, _plain_setting, _use_project, setting

ROOT = Path(__file__).resolve().parents[2]
CONFIG = '[xxgk]\nwarehouse_path = "data/wh.duckdb"\nsources = "reg.toml"\n[xxgk.limits]\nparse_seconds = 12\n'


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("XXGK_PROJECT_DIR", str(tmp_path))
    for key in [k for k in os.environ if k.startswith(("XXGK__", "SMTP__"))]:
        monkeypatch.delenv(key)
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / ".dlt" / "secrets.toml").write_text('[smtp]\npassword = "s3cret"\n', encoding="utf-8")
    return tmp_path


def test_plain_answers_are_dlts(project, monkeypatch):
    import dlt

    _use_project()  # dlt pointed at the project, as a setting read that needs dlt does
    for key in ("xxgk.warehouse_path", "xxgk.sources", "xxgk.fetch", "xxgk.limits.parse_seconds", "smtp.password"):
        assert setting(key) == dlt.config.get(key), key
    assert _plain_setting("xxgk.fetch", None) is None  # absent everywhere: no dlt needed
    assert _plain_setting("xxgk.sources", None) == "reg.toml"
    assert _plain_setting("xxgk.limits", None) is _ASK_DLT  # a table: dlt's own answer
    monkeypatch.setenv("XXGK__SOURCES", "other.toml")  # the environment wins, as dlt reads it
    assert _plain_setting("xxgk.sources", None) is _ASK_DLT and setting("xxgk.sources") == "other.toml"
    monkeypatch.setenv("XXGK__FETCH__RETRIES", "5")
    assert _plain_setting("xxgk.fetch", None) is _ASK_DLT


def test_a_run_with_its_warehouse_given_reads_its_settings_without_dlt(project):
    (project / ".dlt" / "config.toml").write_text('[xxgk]\nsources = "reg.toml"\n', encoding="utf-8")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from warehouse.config import WarehouseConfig, default_registry\n"
        "from flows.limits import fetch_settings\n"
        "cfg = WarehouseConfig.resolve(Path(sys.argv[1]))\n"
        "print(cfg.dlt_dir.name, default_registry().name, fetch_settings())\n"
        "print('dlt' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DLT_", "XXGK__"))}
    out = subprocess.run(
        [sys.executable, "-c", code, str(project / "wh.duckdb")], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [".dlt_data reg.toml {}", "False"]


def test_a_publish_destination_is_ruled_out_without_dlt_only_when_nothing_could_name_one(project, monkeypatch):
    from warehouse.config import may_name

    keys = ("destination", "destination_type", "destination_name")
    assert may_name(keys) is False  # the fixture's settings name no destination
    config = project / ".dlt" / "config.toml"
    config.write_text(CONFIG + '[pipelines.xxgk_publish]\ndestination_type = "postgres"\n', encoding="utf-8")
    assert may_name(keys) is True
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("PIPELINES__XXGK_PUBLISH__DESTINATION_TYPE", "sqlalchemy")
    assert may_name(keys) is True
