"""Progress reporting from the pipeline to whoever watches (the CLI's rich bars, or nobody).

The pipeline calls :func:`advance` / :func:`set_total` with one of :data:`COUNTERS`; by default
nothing happens.  The CLI installs a sink with :func:`use` for the duration of a run.  Calls come
from the flow's thread and from fetch threads, so a sink must be thread-safe (rich's is).
"""

from __future__ import annotations

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


def advance(what: str, n: int = 1) -> None:
    """Count ``n`` more of ``what`` (agencies done, documents fetched / parsed / promoted)."""
    if n:
        _sink.advance(what, n)


def set_total(what: str, total: int) -> None:
    """Set (or raise) the expected total of ``what``."""
    _sink.set_total(what, total)


def begin(label: str) -> None:
    """A new run starts (e.g. the next year of a backfill): counters restart at zero."""
    _sink.begin(label)


@contextmanager
def use(sink: Sink) -> Iterator[Sink]:
    """Send progress to ``sink`` inside the ``with`` block."""
    global _sink
    previous, _sink = _sink, sink
    try:
        yield sink
    finally:
        _sink = previous
