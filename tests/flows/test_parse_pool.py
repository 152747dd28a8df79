"""The parse process pool: its processes start with it and end with it, also when no task ran."""

from __future__ import annotations

from flows.tasks.parse import parse_runner


def test_pool_processes_end_when_no_task_was_submitted():
    # a re-run with nothing new submits no parse task; the pool's processes must still be told to
    # end and end cleanly (without it they were left reading a queue nobody writes to: the CLI then
    # waited for them at exit, and here they die with exit code 1 when the queue is dropped)
    runner = parse_runner("local", 2)
    with runner:
        processes = list(runner._executor._processes.values())
        assert len(processes) == 2 and all(p.is_alive() for p in processes)
    for p in processes:
        p.join(60)
    assert [p.exitcode for p in processes] == [0, 0]
