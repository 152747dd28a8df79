"""The bench's peak memory: the RSS of a process and of the processes it started, summed by role."""

from __future__ import annotations

import subprocess
import sys

from flows.bench.memory import PeakMemory, run_role

# A child holding 200 MB of touched memory until told to end (a line on stdin).
_HOLD = "import sys; b = bytearray(200 * 1024 * 1024); print('ready', flush=True); sys.stdin.readline()"


def _holding_child() -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _end(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.wait(timeout=30)


def test_a_child_s_memory_counts_in_the_peak_under_its_role():
    proc = _holding_child()
    try:
        with PeakMemory(interval=0.05, role=lambda pid, _cmd: "holder" if pid == proc.pid else "other") as memory:
            memory.sample()
    finally:
        _end(proc)
    peak = memory.peak
    assert peak.by_role["holder"] >= 200
    assert peak.total_mb >= peak.by_role["holder"] + peak.by_role["flow"] - 0.01
    assert peak.processes >= 2 and peak.samples >= 2
    assert peak.root_maxrss_mb is not None and peak.root_maxrss_mb >= peak.by_role["flow"] * 0.5
    assert "holder 2" in peak.line() and peak.to_json()["by_role"]["holder"] >= 200


def test_a_process_given_no_role_is_left_out():
    proc = _holding_child()
    try:
        with PeakMemory(interval=0.05, role=run_role(list, lambda: [proc.pid])) as memory:
            memory.sample()
    finally:
        _end(proc)
    assert set(memory.peak.by_role) == {"flow"}
    assert memory.peak.total_mb == memory.peak.by_role["flow"]


def test_the_server_and_parse_processes_are_told_apart():
    role = run_role(lambda: [11], lambda: [12])
    assert role(11, ["python"]) == "Prefect API server"
    assert role(13, ["python", "-m", "uvicorn", "--factory", "prefect.server.api.server:create_app"]) == (
        "Prefect API server"
    )
    assert role(12, ["python"]) is None
    assert role(14, ["python", "-c", "from multiprocessing.spawn import spawn_main"]) == "parse processes"
