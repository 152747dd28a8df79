"""The parameters of one ``ingest_year`` run and their defaults, declared once.

:class:`RunOptions` holds every parameter with its default; the flow parameters of
:func:`flows.pipeline.ingest_year` and ``backfill``, and the ``xxgk run`` / ``backfill`` options, read
their defaults from it.  Light on purpose (nothing of Prefect, dlt or the warehouse at import): the
command line imports it before the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from warehouse.config import WarehouseConfig


@dataclass
class RunOptions:
    """Parameters of one ``ingest_year`` run (see the flow's docstring); class attributes are the defaults."""

    year: int
    sources: Path
    warehouse: WarehouseConfig
    today: date
    agencies: list[str] | None = None
    runner: str = "local"
    parse_workers: int = 2
    chunk_size: int = 25  # agencies per fetch task
    fetch_threads: int = 8  # concurrent fetches per fetch task
    host_limit: int = 4  # requests in flight to one host, over the whole run
    min_interval: float = 1.0  # seconds between two requests to one host, over the whole run
    data_docs: bool = True
    fetch_options: dict[str, Any] | None = None
    fetch_parallel: int = 2  # fetch chunks in flight
    # Documents per parse task: one per fetch chunk (two fetch chunks in flight keep both workers busy).
    # A parse task run costs the flow 60–350 ms to submit and its result is persisted, so fewer, larger
    # tasks: 13 gave 80 tasks for 1,000 reports.
    parse_chunk_size: int = 25


def make_options(
    year: int,
    *,
    agencies: Sequence[str] | None = None,
    sources: str | Path | None = None,
    warehouse: str | Path | None = None,
    today: date | None = None,
    fetch_options: Mapping[str, Any] | None = None,
    **settings: Any,
) -> RunOptions:
    """:class:`RunOptions` with the project defaults resolved (registry, warehouse, today in China);
    ``settings`` are the other fields (``runner``, ``chunk_size``, ``host_limit`` …), defaults where left out."""
    from datetime import datetime

    from sources.rules import CHINA_TZ
    from warehouse.config import WarehouseConfig, default_registry

    return RunOptions(
        year=year,
        agencies=list(agencies) if agencies else None,
        sources=Path(sources) if sources else default_registry(),
        warehouse=WarehouseConfig.resolve(warehouse),
        today=today or datetime.now(CHINA_TZ).date(),
        fetch_options=dict(fetch_options) if fetch_options else None,
        **settings,
    )
