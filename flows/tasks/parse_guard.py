"""A hard time limit on one parse: the document is parsed in a child process that is killed when the
parse runs past its limit.

The readers check the parse clock (``ReadLimits.parse_seconds``) between pages and steps, but one
pdfium call cannot be interrupted: a single dense page held a parse for minutes.  So every parse of
the flows — in a ``ProcessPoolTaskRunner`` worker, a Dask worker or the flow process itself
(``--parse-workers 1``) — and of ``xxgk parse`` hands its documents, one at a time, to a child
process of its own (``python -m flows.tasks.parse_guard``):

* the child reads the document (from the archive, or a file named on ``xxgk parse``'s command line),
  parses it and sends the parse dict back;
* the guard waits ``parse_seconds`` from the moment the child took the document (OCR included: the
  readers' own clock runs out a little earlier and OCR starts no page that does not fit, so the
  child ends in time when it can); past it, it kills the child (SIGKILL), records the document as
  unreadable with
  code ``parse_timeout`` (``sources.parsing.parse.stopped_result``) and starts a fresh child for the
  next document.  The other documents of the task and of the run are not touched; each document gets
  exactly one result.
* A child is reused for the next documents (its readers are imported once), ends by itself after
  :data:`IDLE_SECONDS` without work, and dies with the process that started it (SIGKILL included).
* Where no child can be started (the interpreter not executable by this user), the document is
  parsed in this process, on the readers' own clock only.

Frames on the pipes are ``multiprocessing.connection`` messages (length-prefixed pickles): to the
child ``(job, limits)`` with ``job`` ``("archive", sha256, label, archive_root)`` or ``("path",
path)``; from it ``("started",)`` and ``("done", (parse dict, CPU seconds))``.  The child's own
stdout goes to its stderr, so nothing a reader prints can corrupt a frame.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

PARSE_FAILED = "__parse_failed__"  # key of a parse dict whose parser raised: the value is the reason
START_SECONDS = 300.0  # for a new child to import the readers and take its first document (a loaded machine)
IDLE_SECONDS = 120.0  # a child without work for this long ends itself


class ParseChild:
    """One child parse process and the two pipes to it."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flows.tasks.parse_guard", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            process_group=0,  # a terminal's Ctrl-C is the run's to handle; the child dies with this process
            close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.send_conn = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.recv_conn = Connection(os.dup(self.proc.stdout.fileno()), writable=False)
        self.proc.stdin.close()
        self.proc.stdout.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """End the child at once and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.close()

    def close(self) -> None:
        for conn in (self.send_conn, self.recv_conn):
            try:
                conn.close()
            except OSError:
                pass

    def stop(self) -> None:
        """Ask the child to end (its input closed) and reap it; killed if it does not end soon."""
        self.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()


class _Lost(Exception):
    """The child ended before it took the document (it had just ended for idleness): try a new one."""


_idle: list[ParseChild] = []  # children of this process waiting for work
_lock = threading.Lock()
_child_cpu = [0.0]  # CPU seconds the children of this process reported for the documents they parsed


def child_cpu() -> float:
    """CPU seconds spent parsing in the children of this process so far (killed ones: see ``os.times``)."""
    return _child_cpu[0]


def _checkout() -> ParseChild:
    with _lock:
        while _idle:
            child = _idle.pop()
            if child.alive():
                return child
            child.stop()
    return ParseChild()


def _checkin(child: ParseChild) -> None:
    with _lock:
        _idle.append(child)


def stop_children() -> None:
    """End the idle children of this process (a run that ends; tests)."""
    with _lock:
        children, _idle[:] = list(_idle), []
    for child in children:
        child.stop()


def failed(sha: str, label: str, reason: str) -> dict[str, Any]:
    """The stand-in of a document whose parse crashed: marked :data:`PARSE_FAILED` with the reason."""
    return {"source": {"sha256": sha, "path": label}, PARSE_FAILED: reason}


def body_images(archive: Any, sha: str) -> dict[str, bytes] | None:
    """The images the fetcher archived for report page ``sha`` (``src`` as written → bytes), for OCR."""
    memo = archive.memo_get("body_images", sha)
    if not memo or not memo.get("images"):
        return None
    return {src: archive.get(image) for src, image in memo["images"] if archive.has(image)}


def parse_here(sha: str, label: str, archive_root: str, limits: Any) -> dict[str, Any]:
    """Parse one archived document (with the body images fetched with it) in this process within
    ``limits``; a crash of the parser becomes
    a dict marked :data:`PARSE_FAILED` (the parser reports unreadable files itself: this is a bug or a
    lost archive object)."""
    from sources.fetching.archive import Archive
    from sources.parsing.parse import parse_bytes

    try:
        archive = Archive(archive_root)
        return parse_bytes(archive.get(sha), label, limits=limits, images=body_images(archive, sha))
    except Exception as exc:
        text = str(exc).strip().splitlines()
        return failed(sha, label, f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": "))


def parse_guarded(sha: str, label: str, archive_root: str, limits: Any) -> dict[str, Any]:
    """Parse the archived document ``sha`` in a child process under a hard time limit: its parse
    dict; past the limit a parse dict with code ``parse_timeout`` (the child killed, and replaced for
    the next document); a child that died by itself (a reader crashing the interpreter) gives a
    :func:`failed` dict naming how it ended."""
    kind, value = _guarded(("archive", sha, label, archive_root), limits)
    if kind == "unstartable":
        return parse_here(sha, label, archive_root, limits)
    if kind == "done":
        return dict(value)
    if kind == "timeout":
        from sources.fetching.archive import Archive
        from sources.parsing.parse import stopped_result

        return stopped_result(Archive(archive_root).get(sha), label, value)
    return failed(sha, label, value)


def parse_path_guarded(path: str | os.PathLike[str], limits: Any) -> dict[str, Any]:
    """Parse the file ``path`` (``xxgk parse``) in a child process under a hard time limit: the object
    :func:`sources.parsing.parse.parse_path` gives; past the limit one with code ``parse_timeout``; a
    child that died by itself one with code ``parse_failed`` naming how it ended."""
    kind, value = _guarded(("path", os.fspath(path)), limits)
    if kind == "unstartable":
        return _do(("path", os.fspath(path)), limits)
    if kind == "done":
        return dict(value)
    from sources.parsing.parse import failed_path_result, stopped_path_result

    if kind == "timeout":
        return stopped_path_result(path, value, limits.file_bytes)
    return failed_path_result(path, value)


def _guarded(job: tuple[Any, ...], limits: Any) -> tuple[str, Any]:
    """Run ``job`` in a child: ``("done", parse dict)``, ``("timeout", seconds)`` (the child killed),
    ``("died", reason)`` (the child ended by itself, or twice before it took the job) or
    ``("unstartable", reason)``: no child can be started here (the interpreter not executable by this
    user, no processes left), so the caller parses in this process on the readers' own clock."""
    for attempt in (1, 2):
        try:
            child = _checkout()
        except OSError as exc:
            return "unstartable", str(exc)
        try:
            out = _run_one(child, (job, limits), limits)
        except _Lost:
            child.kill()
            if attempt == 2:
                return "died", "RuntimeError: the parse process ended before it took the document"
            continue
        if out[0] == "done":
            _checkin(child)
            return out
        child.kill()
        if out[0] == "timeout":
            return out
        return "died", f"RuntimeError: {out[1]}"
    raise AssertionError("unreachable")


def prestart() -> None:
    """Start one child now (it imports the readers while this process does other work); nothing when
    none can be started (see :func:`_guarded`)."""
    try:
        child = ParseChild()
    except OSError:
        return
    _checkin(child)


def _run_one(child: ParseChild, request: tuple[Any, ...], limits: Any) -> tuple[str, Any]:
    """Send one document and wait for its result: ``("done", dict)``, ``("timeout", seconds)`` or
    ``("died", reason)``; :class:`_Lost` when the child was gone before it took the document."""
    try:
        child.send_conn.send(request)
        if not child.recv_conn.poll(START_SECONDS):
            return "died", f"the parse process did not start within {START_SECONDS:g} s"
        first = child.recv_conn.recv()
    except (OSError, EOFError) as exc:
        raise _Lost() from exc
    assert first == ("started",), first
    try:
        if not child.recv_conn.poll(float(limits.parse_seconds)):
            return "timeout", float(limits.parse_seconds)
        kind, (result, cpu) = child.recv_conn.recv()  # ("done", (parse dict, CPU seconds it took))
    except (OSError, EOFError):
        code = child.proc.wait()
        how = f"signal {-code}" if code < 0 else f"exit status {code}"
        return "died", f"the parse process ended ({how}) while parsing"
    with _lock:
        _child_cpu[0] += cpu
    return kind, result


# ============================================================================ the child


def _do(job: tuple[Any, ...], limits: Any) -> dict[str, Any]:
    """One job of the child: an archived document (``parse_here``) or a file on disk."""
    if job[0] == "archive":
        _kind, sha, label, archive_root = job
        return parse_here(sha, label, archive_root, limits)
    from sources.parsing.parse import failed_path_result, parse_path

    try:
        return parse_path(job[1], limits)
    except Exception as exc:  # a bug of a reader: this file's error object, the other files still parsed
        text = str(exc).strip().splitlines()
        return failed_path_result(job[1], f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": "))


def _child_main(parent: int) -> None:
    """The child's loop: one document at a time until its input closes or it idles too long."""
    from flows import stopping

    stopping.die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out_fd = os.dup(1)
    os.dup2(2, 1)  # whatever a reader prints goes to stderr, never into a frame
    recv_conn, send_conn = Connection(0, writable=False), Connection(out_fd, readable=False)

    from sources.parsing import parse  # noqa: F401  (the readers, imported before the first document)

    while True:
        try:
            if not recv_conn.poll(IDLE_SECONDS):
                return
            job, limits = recv_conn.recv()
        except (EOFError, OSError):
            return
        send_conn.send(("started",))
        cpu = time.process_time()
        result = _do(job, limits)
        send_conn.send(("done", (result, time.process_time() - cpu)))


if __name__ == "__main__":
    _child_main(int(sys.argv[1]))
