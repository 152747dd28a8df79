"""Progress reporting from the pipeline to whoever watches (the CLI's rich bars, or nobody).

The pipeline calls :func:`advance` / :func:`set_total` with one of :data:`COUNTERS`; by default
nothing happens.  The CLI installs a sink with :func:`use` for the duration of a run.  Calls come
from the flow's thread and from fetch threads, so a sink must be thread-safe (rich's is).
:func:`tally` tells what the current run has done so far, with or without a sink (the line printed
when a run is interrupted): its label, its kind (``year``: a year run of ``run``/``backfill``/``demo``;
``files``: ``ingest`` of local files) and the stage it reached (:func:`stage`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

COUNTERS = ("agencies", "fetched", "parsed", "promoted")


class Sink(Protocol):
    """Receives progress: ``what`` is one of :data:`COUNTERS`."""

    def advance(self, what: str, n: int = 1) -> None: ...

    def set_total(self, what: str, total: int) -> None: ...

    def begin(self, label: str) -> None: ...


class _Null:
    def advance(self, what: str, n: int = 1) -> None:
        pass

    def set_total(self, what: str, total: int) -> None:
        pass

    def begin(self, label: str) -> None:
        pass


_sink: Sink = _Null()
_lock = threading.Lock()
_done: dict[str, int] = {}
_totals: dict[str, int] = {}
_label: list[str] = []
_kind: list[str] = ["year"]
_stage: list[str] = [""]


def advance(what: str, n: int = 1) -> None:
    """Count ``n`` more of ``what`` (agencies done, documents fetched / parsed / promoted)."""
    if n:
        with _lock:
            _done[what] = _done.get(what, 0) + n
        _sink.advance(what, n)


def set_total(what: str, total: int) -> None:
    """Set (or raise) the expected total of ``what``."""
    with _lock:
        _totals[what] = total
    _sink.set_total(what, total)


def begin(label: str, kind: str = "year") -> None:
    """A new run starts (e.g. the next year of a backfill): counters restart at zero.  ``kind``:
    ``year`` (a year run) or ``files`` (``ingest`` of local files)."""
    with _lock:
        _done.clear()
        _totals.clear()
        _label[:] = [label]
        _kind[:] = [kind]
        _stage[:] = [""]
    _sink.begin(label)


def stage(name: str) -> None:
    """The current run reached ``name`` (``ingest``: ``read``, ``parse``, ``load`` — loading, validating
    and promoting in progress — then ``loaded`` once that is committed)."""
    with _lock:
        _stage[:] = [name]


def tally() -> tuple[str | None, dict[str, int], dict[str, int]]:
    """The current run's label (None before any run began), what is done and the totals, per counter."""
    with _lock:
        return (_label[0] if _label else None), dict(_done), dict(_totals)


def position() -> tuple[str, str]:
    """The current run's kind (``year`` / ``files``) and the stage it reached (``""``: none declared)."""
    with _lock:
        return _kind[0], _stage[0]


@contextmanager
def use(sink: Sink) -> Iterator[Sink]:
    """Send progress to ``sink`` inside the ``with`` block."""
    global _sink
    previous, _sink = _sink, sink
    try:
        yield sink
    finally:
        _sink = previous
