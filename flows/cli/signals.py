"""Ctrl-C (SIGINT) and SIGTERM stop any ``xxgk`` command within 5 s, with one Chinese line.

:func:`install` (when the command starts, before its start-up work) sets up two paths:

* **graceful** — the signal handler raises :class:`Stopped` in the main thread and sets the stop
  request (:mod:`flows.stopping`): fetch tasks start no new agency, parse processes are killed (their
  work is abandoned: nothing of it was written), the flow unwinds and Prefect records the run as
  crashed, then :func:`finish` prints the line, stops the Prefect server and exits;
* **forced** — Python runs signal handlers only between bytecodes of the main thread, which can be
  inside DuckDB, dlt or Great Expectations for seconds.  A watcher thread is woken by the signal
  itself (``signal.set_wakeup_fd``): it forces the same exit :data:`GRACE` seconds after the first
  signal, and at once on a second Ctrl-C.

Abandoning is safe at any point: a load or promotion not committed is rolled back by DuckDB (as
after SIGKILL), documents are archived before they are parsed, and a re-run starts where this run
stopped (unchanged documents cost a conditional request).  Exit status 130 (SIGINT) / 143 (SIGTERM).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from flows import stopping
from flows.cli import progress

GRACE = 3.0  # seconds the graceful path gets before the exit is forced (the promise is 5 s)
SIGNALS = (signal.SIGINT, signal.SIGTERM)
_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class Stopped(BaseException):
    """Raised in the main thread by the first Ctrl-C / SIGTERM (a BaseException: no ``except Exception``
    of a task or library swallows it, and click does not turn it into "Aborted!")."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class _State:
    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0
        self.lock = threading.Lock()
        self.exiting = False
        self.cleanups: list[Callable[[], None]] = []
        self.installed = False


_state = _State()


def on_exit(cleanup: Callable[[], None]) -> None:
    """Run ``cleanup`` (e.g. stop the Prefect server) when a signal ends the command."""
    _state.cleanups.append(cleanup)


def install() -> None:
    """Handle SIGINT and SIGTERM as the module docstring says (main thread only; idempotent)."""
    if _state.installed or threading.current_thread() is not threading.main_thread():
        return
    _state.installed = True
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    for sig in SIGNALS:
        signal.signal(sig, _handler)
    stopping.own_signals({sig: _handler for sig in SIGNALS})
    threading.Thread(target=_watch, args=(reader, writer), name="xxgk-signals", daemon=True).start()


def _handler(signum: int, _frame: FrameType | None) -> None:
    """Main thread: the first signal unwinds the command; later ones are the watcher's."""
    with _state.lock:
        first = _state.signum is None
        if first:
            _state.signum = signum
    if first:
        stopping.request()
        _quiet()
        raise Stopped(signum)


def _quiet() -> None:
    """No more log output: the unwinding flow's crash report would print a traceback of Stopped."""
    logging.disable(logging.CRITICAL)


def _watch(reader: socket.socket, _writer: socket.socket) -> None:
    """Woken by every signal (the wakeup fd): first → stop request, kill the parse processes, force the
    exit after :data:`GRACE`; second → force it now."""
    while True:
        try:
            data = reader.recv(64)
        except OSError:
            return
        for byte in data:
            if byte not in SIGNALS:
                continue
            with _state.lock:
                _state.count += 1
                count = _state.count
                if _state.signum is None:
                    _state.signum = byte
            if count == 1:
                stopping.request()
                _quiet()
                threading.Thread(target=_kill_workers, name="xxgk-stop-workers", daemon=True).start()
                timer = threading.Timer(GRACE, force_exit)
                timer.daemon = True
                timer.start()
            else:
                force_exit()


def _kill_workers() -> None:
    """SIGKILL every descendant process except the Prefect server (kept to record the run's end) and
    multiprocessing's resource tracker (it ignores signals and ends with this process; killed, it would
    be relaunched and complain)."""
    keep = set(_server_pids())
    for pid in descendants(os.getpid()):
        if pid not in keep and "resource_tracker" not in _cmdline(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _server_pids() -> list[int]:
    from flows import settings

    return settings.local_server_pids()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    """The pids of every process below ``pid`` (children first), from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        p = todo.pop(0)
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def summary_line(signum: int) -> str:
    """The one Chinese line saying what the interrupted command had completed."""
    label, done, totals = progress.tally()
    what = _NAMES.get(signal.Signals(signum), f"信号 {signum}")
    if label is None:
        return f"已中断（{what}）：采集尚未开始，数据仓库未改动。"
    kind, stage = progress.position()
    if kind == "files":
        return f"已中断（{what}）：{_files_done(stage, done, totals)}"
    agencies = f"{done.get('agencies', 0)}/{totals.get('agencies', 0)}"
    return (
        f"已中断（{what}）：{label} 年度已处理机构 {agencies}，新下载 {done.get('fetched', 0)}，"
        f"已解析 {done.get('parsed', 0)}，已入库发布 {done.get('promoted', 0)}；未完成的工作已放弃，"
        "数据仓库保持一致，重新运行即可继续。"
    )


def _files_done(stage: str, done: dict[str, int], totals: dict[str, int]) -> str:
    """What an interrupted ``xxgk ingest`` had completed, by the stage it reached."""
    parsed = f"已解析 {done.get('parsed', 0)}/{totals.get('parsed', 0)} 个文件"
    if stage in ("", "read"):
        return "正在读取文件，尚未解析，数据仓库未改动。"
    if stage == "parse":
        return f"{parsed}，尚未入库，数据仓库未改动。"
    if stage == "load":
        return f"{parsed}；入库（校验、发布）未完成，已放弃：未提交的部分已回滚，数据仓库保持一致，重新运行即可。"
    return (
        f"{parsed}，已入库并发布 {done.get('promoted', 0)} 份；之后的工作（发送到发布目标）已放弃，"
        "数据仓库保持一致，重新运行即可补发。"
    )


def force_exit() -> None:
    """Print the line, run the cleanups, kill every descendant process and exit (128 + signal)."""
    with _state.lock:
        other = _state.exiting
        _state.exiting = True
        signum = _state.signum or signal.SIGINT
    if other:
        # another thread is exiting (the forced exit's timer, or a second Ctrl-C): wait for it to end
        # the process.  Returning would let the command end normally, with status 0, while it still
        # runs the cleanups (seen when the graceful unwinding took longer than GRACE on a loaded machine)
        threading.Event().wait()
    try:
        sys.stderr.write(summary_line(signum) + "\n")
        sys.stderr.flush()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        for cleanup in _state.cleanups:
            with contextlib.suppress(Exception):
                cleanup()
        for pid in descendants(os.getpid()):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    finally:
        os._exit(128 + int(signum))


def finish_if_signalled() -> None:
    """End the command as :func:`finish` does when a signal was received (whatever else ended it)."""
    with _state.lock:
        signum = _state.signum
    if signum is not None:
        finish(Stopped(signum))


def finish(exc: Stopped) -> None:
    """The graceful path's end: the command unwound after :class:`Stopped`."""
    with _state.lock:
        if _state.signum is None:
            _state.signum = exc.signum
    force_exit()
