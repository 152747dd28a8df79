"""Peak memory of a benchmark run: the resident memory of a process and of every process it started.

:class:`PeakMemory` samples, in a thread, the RSS of a process tree (the flow process, its parse
processes and their parse children, the Prefect API server it started …) and keeps the highest sum
seen, with how it was split at that moment.  Sampling can miss a spike shorter than its interval, so
the process's own ``ru_maxrss`` (the kernel's exact peak of that one process) is kept beside it.
RSS counts a page shared by two processes in each of them: the sum is an upper bound.
"""

from __future__ import annotations

import os
import resource
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MB = 1024 * 1024


@dataclass
class MemoryPeak:
    """The highest summed RSS of a process tree (MB), its split by role at that moment, and the root's
    own exact peak (``ru_maxrss``, MB; only when the root is this process)."""

    total_mb: float = 0.0
    by_role: dict[str, float] = field(default_factory=dict)
    processes: int = 0
    root_maxrss_mb: float | None = None
    samples: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "peak_mb": round(self.total_mb, 1),
            "by_role": {k: round(v, 1) for k, v in self.by_role.items()},
            "processes": self.processes,
            "root_maxrss_mb": None if self.root_maxrss_mb is None else round(self.root_maxrss_mb, 1),
            "samples": self.samples,
        }

    def line(self) -> str:
        """One line: the peak and its split (for the bench output)."""
        roles = sorted(self.by_role.items(), key=lambda kv: (kv[0] != "flow", -kv[1]))  # flow first, then largest
        split = ", ".join(f"{role} {mb:.0f} MB" for role, mb in roles if mb)
        exact = f"; flow process alone peaked at {self.root_maxrss_mb:.0f} MB" if self.root_maxrss_mb else ""
        return (
            f"peak memory {self.total_mb:.0f} MB RSS over {self.processes} processes ({split}){exact} "
            f"[{self.samples} samples; shared pages counted in each process]"
        )


def self_maxrss_mb() -> float:
    """This process's own peak resident memory so far (MB; Linux reports ``ru_maxrss`` in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakMemory:
    """Context manager sampling the RSS of the process ``pid`` (default: this one) and of all its
    descendants every ``interval`` seconds; ``peak`` is the :class:`MemoryPeak` (final after exit).

    ``role`` names a descendant's role from its pid and command line (default: ``child``), or ``None``
    for a process left out of the sum (and its own children with it); the root is ``flow``."""

    def __init__(
        self,
        pid: int | None = None,
        interval: float = 0.25,
        role: Callable[[int, list[str]], str | None] | None = None,
    ) -> None:
        self.pid = pid or os.getpid()
        self.interval = interval
        self.role = role or (lambda _pid, _cmd: "child")
        self.peak = MemoryPeak()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._roles: dict[int, str | None] = {}

    def sample(self) -> None:
        """Take one sample now (also called by the thread)."""
        import psutil

        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        split: dict[str, float] = {}
        alive = 0
        for p in procs:
            try:
                rss = p.memory_info().rss / MB
                if p.pid not in self._roles:
                    self._roles[p.pid] = self._role_of(p)
            except psutil.Error:  # ended meanwhile
                continue
            role = self._roles[p.pid]
            if role is None:
                continue
            alive += 1
            split[role] = split.get(role, 0.0) + rss
        self.peak.samples += 1
        total = sum(split.values())
        if total > self.peak.total_mb:
            self.peak.total_mb, self.peak.by_role, self.peak.processes = total, split, alive

    def _role_of(self, proc: Any) -> str | None:
        if proc.pid == self.pid:
            return "flow"
        parent = proc.ppid()
        if parent != self.pid and parent in self._roles:  # a child has its parent's role
            return self._roles[parent]
        return self.role(proc.pid, proc.cmdline())

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="peak-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()
        if self.pid == os.getpid():
            self.peak.root_maxrss_mb = self_maxrss_mb()


def run_role(
    server_pids: Callable[[], list[int]], site_pids: Callable[[], list[int]]
) -> Callable[[int, list[str]], str | None]:
    """Roles of a year run's processes: the Prefect API server (one of ``server_pids()``), parse
    processes (the rest); the bench's site server (``site_pids()``, the internet's stand-in) is left out."""

    def role(pid: int, cmdline: list[str]) -> str | None:
        text = " ".join(cmdline)
        if pid in site_pids():
            return None
        if pid in server_pids() or "prefect.server.api.server" in text:
            return "Prefect API server"
        if "resource_tracker" in text:
            return "other"
        return "parse processes"

    return role
