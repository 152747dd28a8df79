"""One run at a time per warehouse: an exclusive lock on ``<warehouse>.run.lock`` held for a whole run.

DuckDB locks its file only while a connection is open, and a run opens it only briefly before its
load, so without this a second run would fetch and parse for minutes before meeting the first
run's lock at the load.  The lock (``flock``) is taken before anything is fetched, refused at once
with one line naming the holder, and released by the kernel when the holding process ends (SIGKILL
included).  Re-entrant within one process (the CLI takes it, then the flow it runs).
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from warehouse.db import WarehouseLocked, lock_message

_HELD: dict[str, tuple[int, int]] = {}  # lock file → (fd, holders in this process)
_GUARD = threading.Lock()


def lock_path(db_path: Path) -> Path:
    """The run-lock file of the warehouse ``db_path``."""
    return db_path.with_name(db_path.name + ".run.lock")


def acquire(db_path: Path) -> None:
    """Take the run lock of ``db_path`` (again, when this process holds it); :class:`WarehouseLocked`
    when another process holds it."""
    path = lock_path(db_path)
    key = str(path.resolve()) if path.parent.exists() else str(path)
    with _GUARD:
        if key in _HELD:
            fd, n = _HELD[key]
            _HELD[key] = (fd, n + 1)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise WarehouseLocked(lock_message(db_path, f"(PID {holder})" if holder.isdigit() else "")) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _HELD[key] = (fd, 1)


def release(db_path: Path) -> None:
    """Give back one hold of the run lock of ``db_path`` (the lock goes with the last one)."""
    path = lock_path(db_path)
    key = str(path.resolve()) if path.parent.exists() else str(path)
    with _GUARD:
        if key not in _HELD:
            return
        fd, n = _HELD.pop(key)
        if n > 1:
            _HELD[key] = (fd, n - 1)
            return
        os.close(fd)  # closing the descriptor releases the flock


@contextmanager
def hold(db_path: Path) -> Iterator[None]:
    """The run lock of ``db_path`` for the block (see :func:`acquire`)."""
    acquire(db_path)
    try:
        yield
    finally:
        release(db_path)
