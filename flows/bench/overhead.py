"""Prefect's own cost in a run: per task kind, how long a task waited to start and how long its bodies ran.

The year run keeps ``(submitted, started, ended)`` per task run (the tasks return their start and end);
:func:`task_overhead` turns them into the ``tasks`` figures of ``--json`` and ``xxgk bench run``.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any


def task_overhead(times: Mapping[str, list[tuple[float, float, float]]]) -> dict[str, Any]:
    """Per task kind: runs, cache hits, median start latency (submit → body starts, ms), the sum of the
    bodies' seconds and their span (first start → last end: they overlap).

    A cache hit returns the body times of the run that computed it (before the submit): it is
    counted as ``cached`` and left out of the latency.
    """
    out: dict[str, Any] = {}
    for kind, rows in times.items():
        ran = [(sub, s, e) for sub, s, e in rows if s >= sub - 0.5]
        if rows:
            out[kind] = {
                "tasks": len(rows),
                "cached": len(rows) - len(ran),
                "start_latency_ms": round(statistics.median(s - sub for sub, s, _e in ran) * 1000, 1) if ran else None,
                "body_seconds": round(sum(e - s for _sub, s, e in ran), 3),
                "span_seconds": round(max(e for *_x, e in ran) - min(s for _sub, s, _e in ran), 3) if ran else 0.0,
            }
    return out
