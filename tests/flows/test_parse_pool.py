"""The parse process pool: its processes start at the first submission (ignoring SIGINT) and end with it."""

from __future__ import annotations

from pathlib import Path

from flows.tasks.parse import parse_runner


def _ignores_sigint(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    ignored = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")), 16)
    return bool(ignored & (1 << 1))  # SIGINT is signal 2


def test_no_process_starts_when_nothing_is_submitted():
    # a re-run with nothing new submits no parse task: no process is started (nor left waiting at exit)
    runner = parse_runner("local", 2)
    with runner:
        assert not runner._executor._processes


def test_processes_start_at_the_first_submission_ignoring_sigint_and_end_with_the_pool():
    runner = parse_runner("local", 2)
    with runner:
        runner._launch()  # what the first submit does
        processes = list(runner._executor._processes.values())
        assert len(processes) == 2 and all(p.is_alive() for p in processes)
        assert all(_ignores_sigint(p.pid) for p in processes)
        runner._launch()  # once only
        assert list(runner._executor._processes.values()) == processes
    for p in processes:
        p.join(60)
    assert [p.exitcode for p in processes] == [0, 0]
