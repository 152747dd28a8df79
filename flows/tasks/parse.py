"""The parse task and the task runner it runs on.

One ``parse-chunk`` task parses a few archived documents, one after the other, and returns their
parse-output dicts.  The task runner gives the parallelism (:func:`parse_runner`): Prefect's
``ProcessPoolTaskRunner`` (``local``: ``parse_workers`` processes; parsing is CPU-bound), prefect-dask's
``DaskTaskRunner`` (``dask``, ``dask://host:port``), or the flow's own thread pool when
``parse_workers`` ≤ 1 (tests and tiny runs).  On every runner the flows parse each document in a
child process killed past the parse time limit (``hard_limit``, :mod:`flows.tasks.parse_guard`).
Results are cached by the documents' sha256 and the parser's code (``PREFECT_HOME/storage``), so an
unchanged chunk is not parsed again.
"""

from __future__ import annotations

import functools
import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from prefect import task
from prefect.task_runners import ProcessPoolTaskRunner

from flows import stopping
from flows.tasks.parse_guard import PARSE_FAILED, child_cpu, parse_guarded, parse_here

__all__ = ["PARSE_FAILED", "parse_chunk", "parse_item", "parse_runner"]


@functools.cache
def code_fingerprint() -> str:
    """A hash of the parser's code and templates: a cached parse is reused only by the same parser."""
    root = Path(__file__).resolve().parents[2] / "sources"
    h = hashlib.sha256()
    for p in sorted([*root.rglob("*.py"), *root.rglob("*.yaml")]):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def parse_cache_key(_context: Any, parameters: Mapping[str, Any]) -> str:
    """Cache key of a parse chunk: parser version + code fingerprint + the documents' sha256."""
    from sources.parsing.assemble import PARSER_VERSION

    shas = sorted(sha for sha, _label in parameters["items"])
    parts = [PARSER_VERSION, code_fingerprint(), repr(read_limits()), *shas]  # other limits, other outcome
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"xxgk-parse-{digest}"


@functools.cache
def read_limits() -> Any:
    """The project's parse limits (``flows.limits``), read once per process."""
    from flows.limits import read_limits as project_limits

    return project_limits()


def parse_item(sha: str, label: str, archive_root: str, *, hard_limit: bool = False) -> dict[str, Any]:
    """Parse one archived document within the project's read limits; a crash of the parser becomes a
    dict marked :data:`PARSE_FAILED`.  ``hard_limit``: in a child process killed past the parse time
    limit (:mod:`flows.tasks.parse_guard`), else in this process (the limit then only checked between
    pages and steps)."""
    if hard_limit:
        return parse_guarded(sha, label, archive_root, read_limits())
    return parse_here(sha, label, archive_root, read_limits())


@task(
    name="parse-chunk",
    task_run_name="parse {year} #{index}",
    cache_key_fn=parse_cache_key,
    persist_result=True,
    cache_expiration=timedelta(days=120),
)
def parse_chunk(
    items: list[tuple[str, str]], archive_root: str, year: int, index: int, hard_limit: bool = False
) -> dict[str, Any]:
    """Parse the archived documents ``items`` (``(sha256, label)``) in order; ``{"docs": [parse dicts],
    "started", "ended", "pid", "cpu", "cpu_by_format"}`` (``cpu``: CPU seconds spent parsing, the parse
    children's included; ``cpu_by_format``: format → [CPU seconds, documents]).  ``hard_limit``: each
    document in a child process killed past the parse time limit (what the flows do on every runner),
    else in this process."""
    started, cpu = time.time(), _cpu()
    docs: list[dict[str, Any]] = []
    by_format: dict[str, list[float]] = {}
    for sha, label in items:
        one = _cpu()
        doc = parse_item(sha, label, archive_root, hard_limit=hard_limit)
        docs.append(doc)
        entry = by_format.setdefault(str((doc.get("source") or {}).get("format") or "unreadable"), [0.0, 0])
        entry[0] += _cpu() - one
        entry[1] += 1
    return {
        "docs": docs,
        "started": started,
        "ended": time.time(),
        "pid": os.getpid(),
        "cpu": _cpu() - cpu,
        "cpu_by_format": by_format,
    }


def _cpu() -> float:
    """CPU seconds of this process, of its parse children (as they report them) and of the children
    killed and waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system + child_cpu()


def init_parse_worker(parent: int) -> None:
    """Set up a parse process started by the process ``parent``: it dies with it (SIGKILL included),
    leaves Ctrl-C to the run (a terminal's Ctrl-C reaches the whole process group; the run stops its
    workers itself), and imports the readers before its first task."""
    stopping.die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import sources.parsing.parse  # noqa: F401


@contextmanager
def _children_ignore_sigint() -> Iterator[None]:
    """Processes started in the block ignore SIGINT from their first instruction (an ignored signal
    stays ignored across ``exec``, and Python then installs no KeyboardInterrupt handler).  This
    process blocks SIGINT meanwhile, so a Ctrl-C arriving then waits and is handled after the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


class ParseProcessPool(ProcessPoolTaskRunner):
    """Prefect's ``ProcessPoolTaskRunner`` whose processes are all started at the first submission, with
    SIGINT ignored, instead of one by one from the thread that hands tasks to the executor.

    Kept for measured reasons: a terminal's Ctrl-C reaches every process of its group, and a parse
    process spawned by Prefect spends its first seconds importing Prefect (2–10 s here) before any
    initializer can ignore SIGINT — a Ctrl-C then printed one KeyboardInterrupt traceback per process.
    Started ignoring SIGINT, they never see it; the run stops them itself (``flows/cli/signals.py``).
    Started at the first submission, not when the runner is entered: a run with nothing new to parse
    (an unchanged re-run) starts no process (each costs ~3 s of CPU importing Prefect and the readers,
    and ~90 MB, on a machine the fetching shares).
    """

    _launched = False

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self._launch()
        return super().submit(*args, **kwargs)

    def _launch(self) -> None:
        """Start every process of the pool, ignoring SIGINT (once; later calls do nothing)."""
        if self._launched:
            return
        self._launched = True
        executor: Any = self._executor  # the executor would spawn them lazily, at submit (private API)
        if executor is None:
            return
        with _children_ignore_sigint():
            executor._launch_processes()
            # Its manager thread is what tells the processes to end at shutdown (started here with them).
            executor._start_executor_manager_thread()


def parse_runner(runner: str, workers: int) -> Any:
    """The task runner of the parse tasks: ``None`` (the flow's own thread pool) for ``local`` with
    ``workers`` ≤ 1, Prefect's ``ProcessPoolTaskRunner`` of ``workers`` processes for ``local``, or a
    prefect-dask ``DaskTaskRunner``: ``dask`` starts a local cluster of ``workers`` processes,
    ``dask://host:port`` (or ``tcp://host:port``) connects to a running scheduler."""
    if runner in ("local", "process", "threads"):
        if workers <= 1 or runner == "threads":
            return None
        return ParseProcessPool(max_workers=workers, initializer=init_parse_worker, initargs=(os.getpid(),))
    from prefect_dask import DaskTaskRunner

    if runner == "dask":
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": max(1, workers),
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    if runner.startswith(("dask://", "tcp://")):
        return DaskTaskRunner(address="tcp://" + runner.split("://", 1)[1])
    raise ValueError(f"unknown runner {runner!r}: use local, dask or dask://host:port")
