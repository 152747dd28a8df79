"""Configuration the dlt way: settings through dlt.config / dlt.secrets, nothing at import, the examples."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

from refdata import ROOT

from flows.limits import read_limits
from flows.report.settings import load_settings
from sources.registry import load_registry
from warehouse.config import WarehouseConfig, secret, setting


def test_example_registry_loads():
    registry = load_registry(ROOT / "agencies.example.toml")
    assert [a.id for a in registry.agencies] == ["example-rsj", "example-zrzyj", "example-xzf"]
    assert [o.id for o in registry.oversight] == ["example-city"]
    assert {a.oversight for a in registry.agencies} == {"example-city"}


def test_example_secrets_are_read_by_dlt(tmp_path, monkeypatch):
    text = (ROOT / ".dlt" / "secrets.toml.example").read_text(encoding="utf-8")
    assert "smtp" in tomllib.loads(text) and "password" in tomllib.loads(text)["smtp"]
    for key in [k for k in os.environ if k.startswith(("SMTP__", "XXGK__"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("XXGK_PROJECT_DIR", str(tmp_path))
    (tmp_path / ".dlt").mkdir()
    filled = text.replace('password = ""', 'password = "s3cret"').replace(
        '# warehouse_path = "warehouse/xxgk.duckdb"', 'warehouse_path = "data/w.duckdb"'
    )
    (tmp_path / ".dlt" / "secrets.toml").write_text(filled, encoding="utf-8")
    assert secret("smtp.password") == "s3cret"
    assert load_settings().password == "s3cret"
    assert WarehouseConfig.resolve().db_path == tmp_path / "data" / "w.duckdb"  # relative to the project
    monkeypatch.setenv("SMTP__PASSWORD", "from-env")  # the environment wins, as before
    assert load_settings().password == "from-env"


def test_limits_and_registry_through_dlt_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XXGK_PROJECT_DIR", str(tmp_path))
    monkeypatch.delenv("XXGK_SOURCES", raising=False)
    monkeypatch.delenv("XXGK__LIMITS__PARSE_SECONDS", raising=False)
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text(
        '[xxgk]\nsources = "registry/agencies.toml"\n[xxgk.limits]\nparse_seconds = 12\n', encoding="utf-8"
    )
    assert read_limits().parse_seconds == 12
    assert setting("xxgk.sources") == "registry/agencies.toml"
    monkeypatch.setenv("XXGK__LIMITS__PARSE_SECONDS", "7")
    assert read_limits().parse_seconds == 7


def test_nothing_happens_at_import():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DLT_", "RUNTIME__", "LOAD__"))}
    code = (
        "import os, sys; before = dict(os.environ)\n"
        "import flows.settings, flows.limits, flows.report.settings, flows.cli.app, warehouse.config\n"
        "changed = sorted(set(os.environ.items()) ^ set(before.items()))\n"
        "assert not changed, changed\n"
        "assert 'dlt' not in sys.modules and 'prefect' not in sys.modules, 'imported at import'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
