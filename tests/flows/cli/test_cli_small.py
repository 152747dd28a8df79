"""What a new user trips over in the command line and the README: the start-up clock, ``--help``, a
registry problem's entry name, the indentation of 表三, the Prefect server line, the cell counts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
from test_cli_parse import _report_text
from typer.testing import CliRunner

from flows.cli import app
from sources import rules

ROOT = Path(__file__).resolve().parents[3]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_startup_clock_does_not_count_what_the_shell_did_before_exec():
    """``pip install … && xxgk demo``: a shell may exec the last command in its own (older) process."""
    code = "from flows.cli import clock; print(clock.process_age(), clock.since_start())"
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        ["bash", "-c", f"sleep 6; exec {sys.executable} -c '{code}'"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    age, since = map(float, proc.stdout.split())
    assert age >= 6  # the process is the shell's, which slept first
    assert since < age - 5  # the program's clock does not count the shell's sleep


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    return result.output


def test_help_shows_no_bool_type_no_braces_and_no_rst_markup():
    texts = {
        args: _help(*args) for args in [(), ("parse",), ("ingest",), ("publish",), ("report",), ("bench", "parse")]
    }
    for args, text in texts.items():
        assert "<bool>" not in text, args
        assert not re.search(r"\{\w+\}", text), args
        assert "``" not in text, args
    assert "Usage: xxgk parse [OPTIONS] FILES..." in texts[("parse",)]
    assert "Usage: xxgk bench parse [OPTIONS] [FILES]..." in texts[("bench", "parse")]
    assert "pipeline xxgk_publish" in texts[("publish",)].replace("\n", " ")


def test_a_registry_problem_names_its_entry_and_table(tmp_path):
    (tmp_path / "docs").mkdir()
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[agency]]\nid = "demo-jyj"\nname = "示例市教育局"\nregion = "000000"\nlevel = "city"\n'
        'oversight = "demo"\n[agency.local]\npath = "docs"\nglobb = "*.pdf"\n',
        encoding="utf-8",
    )
    wh = tmp_path / "wh.duckdb"
    duckdb.connect(str(wh)).close()  # an existing warehouse: a path that does not exist is an error of its own
    result = CliRunner().invoke(app, ["report", "--year", "2023", "--registry", str(bad), "-w", str(wh)])
    assert result.exit_code != 0
    assert "[demo-jyj] unknown key 'globb' in [agency.local]" in result.output


def test_parse_table_indents_every_group_of_table_3_alike(tmp_path):
    good = tmp_path / "report.txt"
    good.write_text(_report_text(), encoding="utf-8")
    result = CliRunner().invoke(app, ["parse", str(good)], terminal_width=200)
    lines = {
        m.group(2): len(m.group(1))
        for m in re.finditer(r"│ │( *)(（[一二三四五六七]）|1\.属于国家秘密)", result.stdout)
    }
    groups = ["（一）", "（二）", "（三）", "（四）", "（五）", "（六）", "（七）"]
    assert {lines[g] for g in groups} == {lines["（一）"]}  # 予以公开 … 总计 at one level
    assert lines["1.属于国家秘密"] > lines["（三）"]  # the rows of （三）不予公开 one level deeper


def test_readme_prefect_server_line_sends_no_telemetry():
    (line,) = [ln for ln in README.splitlines() if "prefect server start" in ln]
    assert "PREFECT_SERVER_ANALYTICS_ENABLED=false" in line


def test_readme_states_the_cell_count_of_every_template_variant():
    text = " ".join(README.split())
    for variant in rules.VARIANTS:
        assert f"{len(rules.cell_specs(variant))} for " in text and f"`{variant}`" in text
    assert "one per template cell" not in text


def test_bench_parse_with_no_batch_times_the_files_only():
    """``--batch 0`` ended in a ZeroDivisionError traceback after the per-file lines."""
    sample = ROOT / "sources" / "samples" / "zrzyj-2023.html"
    result = CliRunner().invoke(
        app, ["bench", "parse", str(sample), "--repeat", "1", "--batch", "0"], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert "zrzyj-2023.html" in result.output
    assert "batch of" not in result.output
