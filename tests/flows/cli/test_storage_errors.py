"""Storage problems end in one line saying what to do (``--debug`` adds the traceback): a warehouse path
that does not exist (only ingest/run/demo create one), relative paths (the current directory), a
truncated DuckDB file, a read-only directory, a full disk."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from factory import make_facts, render
from typer.testing import CliRunner

from flows.cli import app
from warehouse.config import WarehouseConfig
from warehouse.db import StorageError, storage_error

runner = CliRunner()


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def _truncated(path: Path) -> Path:
    """A real DuckDB file cut to a third of its size (as after a crash while copying it)."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT range AS i FROM range(100000)")
    con.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    path = tmp_path / "docs" / "jyj-2023.txt"
    path.parent.mkdir()
    path.write_bytes(render(make_facts("示例市教育局", 2023, seed=1), "text"))
    return path


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["checks"],
        ["waivers"],
        ["waive", "abc123", "T4_BLOCK_TOTAL", "--reason", "印刷错误"],
        ["report", "--year", "2023", "--email"],
        ["report", "--year", "2023", "--out", "out"],
        ["publish"],
    ],
)
def test_a_warehouse_path_that_does_not_exist_is_an_error(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    mistyped = tmp_path / "wh" / "xxgk.duckbd"
    result = runner.invoke(app, [*command, "--warehouse", str(mistyped)])
    assert result.exit_code == 2, result.output
    lines = _lines(result.output)
    assert len(lines) == 1 and str(mistyped) in lines[0] and "不存在" in lines[0]
    assert not mistyped.exists() and not (tmp_path / "out").exists()
    assert not (tmp_path / "wh" / "outbox").exists()  # nothing was "sent" saying every agency is missing


def test_relative_paths_are_relative_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("XXGK__WAREHOUSE_PATH", raising=False)
    assert WarehouseConfig.resolve("rel/w.duckdb").db_path == tmp_path / "rel" / "w.duckdb"
    assert WarehouseConfig.resolve("rel/w.duckdb").dlt_dir == tmp_path / "rel" / ".dlt_data"
    monkeypatch.setenv("XXGK__WAREHOUSE_PATH", "env/w.duckdb")
    assert WarehouseConfig.resolve().db_path == tmp_path / "env" / "w.duckdb"
    result = runner.invoke(app, ["status", "--warehouse", "rel/w.duckdb"])
    assert result.exit_code == 2 and str(tmp_path / "rel" / "w.duckdb") in result.output


def test_relative_warehouse_is_created_in_the_current_directory(tmp_path, monkeypatch, report_file):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["ingest", str(report_file), "--no-docs", "--warehouse", "rel/w.duckdb", "--json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rel" / "w.duckdb").is_file()
    status = runner.invoke(app, ["status", "--warehouse", "rel/w.duckdb", "--json"])
    assert status.exit_code == 0 and '"promoted": 1' in status.stdout


def test_truncated_duckdb_file_is_one_line_and_debug_shows_the_traceback(tmp_path, report_file):
    wh = _truncated(tmp_path / "w.duckdb")
    for command in (["status"], ["checks"], ["ingest", str(report_file), "--no-docs"]):
        result = runner.invoke(app, [*command, "--warehouse", str(wh)])
        assert result.exit_code == 2, result.output
        lines = _lines(result.output)
        assert len(lines) == 1 and "已损坏" in lines[0] and "从备份恢复" in lines[0], lines
    debug = runner.invoke(app, ["--debug", "status", "--warehouse", str(wh)])
    assert debug.exit_code == 2
    lines = _lines(debug.output)
    assert "已损坏" in lines[0] and "Traceback (most recent call last)" in debug.output
    assert "Could not read enough bytes" in debug.output  # DuckDB's own error, for a bug report


@contextlib.contextmanager
def _tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A small tmpfs at ``path`` (root only; the test is skipped where mounting is not allowed)."""
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode(errors='replace').strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_read_only_directory_is_one_line(tmp_path, report_file):
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        cm: contextlib.AbstractContextManager[Path] = contextlib.nullcontext(ro)
    else:
        cm = _tmpfs(tmp_path / "ro", "size=1m,ro")
    with cm as ro:
        result = runner.invoke(app, ["ingest", str(report_file), "--no-docs", "--warehouse", str(ro / "w.duckdb")])
        assert result.exit_code == 2, result.output
        lines = _lines(result.output)
        assert len(lines) == 1 and "--warehouse 指定可写的位置" in lines[0], lines


def _xxgk(*args: str) -> subprocess.CompletedProcess[str]:
    """The real command in its own process (dlt's logging set up as in production, not by earlier tests)."""
    script = Path(sys.executable).parent / "xxgk"
    # without the dlt settings earlier tests of this process left in the environment (the user's would win)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNTIME__", "DLT_"))}
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=600, env=env)


def test_full_disk_during_the_load_is_one_line_and_a_rerun_is_right(tmp_path, report_file):
    with _tmpfs(tmp_path / "small", "size=600k") as small:
        wh = small / "w.duckdb"
        result = _xxgk("ingest", str(report_file), "--no-docs", "--warehouse", str(wh))
        assert result.returncode == 2, result.stdout + result.stderr
        lines = _lines(result.stdout + result.stderr)
        assert len(lines) == 1 and "磁盘已满" in lines[0] and "释放磁盘空间" in lines[0], lines
        subprocess.run(["mount", "-o", "remount,size=64m", str(small)], check=True)
        again = _xxgk("ingest", str(report_file), "--no-docs", "--warehouse", str(wh), "--json")
        assert again.returncode == 0, again.stderr
        assert '"promoted": 1' in again.stdout


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "磁盘已满"),
        (duckdb.IOException('Could not write file "w.duckdb.wal": No space left on device'), "磁盘已满"),
        (OSError(errno.EROFS, "Read-only file system"), "只读文件系统"),
        (PermissionError(errno.EACCES, "Permission denied"), "没有写入"),
        (duckdb.IOException('The file "w.duckdb" exists, but it is not a valid DuckDB database file!'), "已损坏"),
    ],
)
def test_storage_errors_are_found_in_the_exception_chain(error, expected):
    try:
        try:
            raise error
        except Exception as inner:
            raise RuntimeError("Pipeline execution failed at `step=load`") from inner  # as dlt wraps it
    except RuntimeError as wrapped:
        translated = storage_error(wrapped, Path("/data/w.duckdb"))
    assert isinstance(translated, StorageError)
    message = str(translated)
    assert expected in message and "\n" not in message and "重新运行" in message or "恢复" in message


def test_other_errors_are_not_storage_errors():
    assert storage_error(ValueError("bad value")) is None
    assert storage_error(OSError(errno.ECONNREFUSED, "Connection refused")) is None
