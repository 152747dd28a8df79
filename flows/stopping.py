"""Stopping a run when told: the stop request the tasks look at, and processes that die with the run.

* :func:`request` / :func:`requested`: a process-wide flag set on Ctrl-C or SIGTERM (by the CLI's
  signal handling, ``flows/cli/signals.py``); fetch tasks stop starting new agencies once it is set.
* :func:`die_with_parent`: called first thing in a child process (the Prefect API server, parse
  processes) so that it ends when the process that started it ends — SIGKILL included: Linux's
  ``PR_SET_PDEATHSIG`` through ``prctl`` where available, and in every case a watchdog thread that
  polls the parent's pid.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from typing import Any

_STOP = threading.Event()
_PR_SET_PDEATHSIG = 1
_HANDLERS: dict[int, Any] = {}  # signal → the command's handler (set by the CLI)


def request() -> None:
    """Ask the run to stop (no new work is started)."""
    _STOP.set()


def requested() -> bool:
    """Whether a stop was requested."""
    return _STOP.is_set()


def own_signals(handlers: dict[int, Any]) -> None:
    """Remember the command's handlers of ``handlers`` (signal → handler) for :func:`reclaim_signals`."""
    _HANDLERS.update(handlers)


def reclaim_signals() -> None:
    """Re-install the command's signal handlers (a flow run installs Prefect's own SIGTERM bridge, made
    for runs a Prefect worker cancels; a CLI run stops on SIGTERM as on Ctrl-C).  Main thread only;
    nothing to do outside a command.  Prefect puts the handler back when the flow run ends."""
    if threading.current_thread() is threading.main_thread():
        for sig, handler in _HANDLERS.items():
            signal.signal(sig, handler)


def reset() -> None:
    """Forget a stop request (tests; a new run in the same process)."""
    _STOP.clear()


def _pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _watch(parent: int, sig: int, every: float) -> None:
    while True:
        time.sleep(every)
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)
            time.sleep(2)
            os._exit(1)


def die_with_parent(parent: int | None = None, sig: int = signal.SIGKILL, every: float = 1.0) -> None:
    """Make this process receive ``sig`` when its parent process dies (see the module docstring).

    ``parent``: the pid of the process that started this one, when it is known (a parent that died
    before this call is then noticed at once, and this process ends)."""
    parent = parent or os.getppid()
    _pdeathsig(sig)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), sig)
    threading.Thread(target=_watch, args=(parent, sig, every), name="die-with-parent", daemon=True).start()


def preexec_die_with_parent() -> None:
    """``subprocess.Popen(preexec_fn=…)``: the child gets SIGKILL when this process dies (Linux).

    SIGKILL, not SIGTERM: the child is the Prefect API server (uvicorn), and nobody is left to wait for
    its graceful shutdown; on SIGTERM that shutdown waits for the server's lifespan to end, and a
    server left with ``PPID 1`` after its run was killed was seen alive half an hour later.  Its
    SQLite database stays consistent (journalled) when it is killed."""
    _pdeathsig(signal.SIGKILL)
