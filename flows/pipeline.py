"""The Prefect flows: one report year end to end, the annual and quarterly runs, backfills.

``ingest_year(year, agencies=None)`` runs, for every selected agency of the registry
(``sources/registry/``): discover → fetch → parse → load → validate → promote, and records what
became of each agency in ``qa.acquisitions`` (``warehouse/acquisitions.py``) — including reports
still missing after the deadline, with everything tried — then publishes the run's outcome as the
Prefect table artifact ``xxgk-ingest-<year>``.  The run itself is :func:`flows.year.run_year`; its
tasks are in ``flows/tasks/``.

``annual_run`` (last year), ``quarterly_run`` (the current and previous report year) and
``backfill`` call ``ingest_year`` once per year (a sub-flow run each).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from flows import stopping
from flows.options import RunOptions, make_options
from flows.outcome import publish_artifact
from flows.tasks.load import send_report
from flows.year import last_report_year, run_year

# The flow's own task runner: the fetch tasks (and the parse tasks when parsed in-process) run in its
# threads.  Typed loosely: prefect's stubs declare the decorator's parameter invariant in the future type.
FETCH_THREADS: Any = ThreadPoolTaskRunner(max_workers=16)

__all__ = ["annual_run", "backfill", "ingest_year", "last_report_year", "quarterly_run", "quarterly_years"]


@flow(
    name="ingest-year",
    flow_run_name="ingest-{year}",
    task_runner=FETCH_THREADS,
    persist_result=False,
)
def ingest_year(
    year: int,
    agencies: list[str] | None = None,
    sources: str | None = None,
    warehouse: str | None = None,
    runner: str = RunOptions.runner,
    parse_workers: int = RunOptions.parse_workers,
    chunk_size: int = RunOptions.chunk_size,
    fetch_threads: int = RunOptions.fetch_threads,
    host_limit: int = RunOptions.host_limit,
    min_interval: float = RunOptions.min_interval,
    today: date | None = None,
    data_docs: bool = RunOptions.data_docs,
    fetch_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Discover → fetch → parse → load → validate → promote the ``year`` reports of the selected agencies.

    ``agencies``: registry ids (default: all); ``sources``: the registry TOML (default
    ``XXGK_SOURCES`` or ``agencies.toml``); ``warehouse``: the DuckDB file; ``runner``: ``local``
    (parse tasks on Prefect's ``ProcessPoolTaskRunner`` of ``parse_workers`` processes; in the
    flow's threads when ``parse_workers`` ≤ 1), ``dask`` or ``dask://host:port``; ``host_limit``:
    concurrent requests per host; ``min_interval``: seconds between two requests to one host (both
    over every fetch thread of the run); ``fetch_threads``: concurrent fetches per fetch task;
    ``today``: decides missing vs not yet due; ``fetch_options``: other ``FetchConfig`` fields
    (``retries``, ``backoff``, ``timeout`` …).  Returns :meth:`flows.outcome.YearSummary.to_json`.
    """
    opts = make_options(**locals())  # the flow's parameters are make_options' (nothing else is bound yet)
    stopping.reclaim_signals()  # a CLI run stops on SIGTERM as on Ctrl-C (flows/cli/signals.py)
    summary = run_year(opts)
    publish_artifact(summary)
    return summary.to_json()


@flow(name="backfill", flow_run_name="backfill-{from_year}-{to_year}", persist_result=False)
def backfill(
    from_year: int,
    to_year: int,
    agencies: list[str] | None = None,
    sources: str | None = None,
    warehouse: str | None = None,
    runner: str = RunOptions.runner,
    min_interval: float = RunOptions.min_interval,
    today: date | None = None,
    data_docs: bool = RunOptions.data_docs,
) -> list[dict[str, Any]]:
    """``ingest_year`` for every year from ``from_year`` to ``to_year`` (inclusive, oldest first)."""
    lo, hi = sorted((from_year, to_year))
    return [
        ingest_year(
            y,
            agencies=agencies,
            sources=sources,
            warehouse=warehouse,
            runner=runner,
            min_interval=min_interval,
            today=today,
            data_docs=data_docs,
        )
        for y in range(lo, hi + 1)
    ]


@flow(name="annual-run", persist_result=False)
def annual_run(
    year: int | None = None,
    sources: str | None = None,
    warehouse: str | None = None,
    runner: str = RunOptions.runner,
    email: bool = True,
) -> dict[str, Any]:
    """The annual collection after the 31 January deadline: ``ingest_year`` of ``year`` (default last year),
    then the oversight report e-mailed (``email``)."""
    year = year or last_report_year()
    result = ingest_year(year, sources=sources, warehouse=warehouse, runner=runner)
    if email:
        result["report"] = send_report(year, sources, warehouse)
    return result


def quarterly_years(today: date | None = None) -> list[int]:
    """The report years a quarterly run re-checks: the current one (last calendar year) and the one before."""
    current = last_report_year(today)
    return [current, current - 1]


@flow(name="quarterly-run", persist_result=False)
def quarterly_run(
    sources: str | None = None,
    warehouse: str | None = None,
    runner: str = RunOptions.runner,
    today: date | None = None,
    email: bool = True,
) -> list[dict[str, Any]]:
    """Re-check the current and previous report year: new and revised reports, and those still missing;
    then one oversight report per year e-mailed (``email``)."""
    results = []
    for y in quarterly_years(today):
        result = ingest_year(y, sources=sources, warehouse=warehouse, runner=runner, today=today)
        if email:
            result["report"] = send_report(y, sources, warehouse)
        results.append(result)
    return results
