"""The warehouse tasks of a year run: load → validate → promote the new documents, record every
agency-year in ``qa.acquisitions``, publish to the configured dlt destination, e-mail the report.

Each runs once per run, in the flow's process (DuckDB has one writer), and takes its inputs as values.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.outcome import reason_of
from warehouse.config import WarehouseConfig


@dataclass
class LoadOutcome:
    """Ingest summaries of the batches that went through, and the documents that failed
    (sha256 → (step, reason); the step as recorded by the step that raised)."""

    summaries: list[Any] = field(default_factory=list)
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)
    attempts: int = 0


def ingest_isolating(
    docs: Sequence[dict[str, Any]], cfg: WarehouseConfig, data_docs: bool, budget: int = 24
) -> LoadOutcome:
    """``ingest_documents`` on the whole batch; if it fails, on halves, until the failing documents are found.

    A locked warehouse is not a document's fault and is raised.  After ``budget`` attempts the
    remaining documents are all marked failed with the last reason.
    """
    from flows import ingest
    from warehouse.db import WarehouseLocked

    outcome = LoadOutcome()

    def attempt(batch: Sequence[dict[str, Any]]) -> None:
        outcome.attempts += 1
        try:
            outcome.summaries.append(ingest.ingest_documents(batch, warehouse=cfg, data_docs=data_docs))
            return
        except WarehouseLocked:
            raise
        except Exception as exc:
            step, reason = ingest.failed_step(exc), reason_of(exc)
        if len(batch) == 1 or outcome.attempts >= budget:
            outcome.failures.update({d["source"]["sha256"]: (step, reason) for d in batch})
            return
        mid = len(batch) // 2
        attempt(batch[:mid])
        attempt(batch[mid:])

    if docs:
        attempt(docs)
    return outcome


@task(
    name="load-validate-promote",
    task_run_name="load-validate-promote {year}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def load_validate_promote(docs: list[dict[str, Any]], warehouse: str, data_docs: bool, year: int) -> dict[str, Any]:
    """One dlt load, one GX validation and one promotion for the run's new documents ``docs``;
    ``{"outcome": LoadOutcome, "started", "ended"}``."""
    started = time.time()
    outcome = ingest_isolating(docs, WarehouseConfig.resolve(warehouse), data_docs)
    return {"outcome": outcome, "started": started, "ended": time.time()}


@task(
    name="record-acquisitions",
    task_run_name="record-acquisitions {year}",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=1,
    retry_delay_seconds=1,
)
def record_acquisitions(rows: list[dict[str, Any]], warehouse: str, year: int) -> int:
    """Append this run's acquisition rows to ``qa.acquisitions``; the number written."""
    from warehouse import acquisitions

    return acquisitions.record(WarehouseConfig.resolve(warehouse), rows)


@task(name="publish-warehouse", task_run_name="publish-warehouse {year}", cache_policy=NO_CACHE, persist_result=False)
def publish_warehouse(warehouse: str, year: int) -> dict[str, Any] | None:
    """Send what changed to the dlt destination configured for ``xxgk_publish``; None when none is.

    A failure is logged and returned as ``{"error": …}``: the run's warehouse work is done and the next
    run sends the same data again."""
    from flows.ingest import publish_configured

    result = publish_configured(WarehouseConfig.resolve(warehouse))
    if result and result.get("error"):
        get_run_logger().warning(result["error"])
    return result


@task(name="send-oversight-report")
def send_report(year: int, sources: str | None, warehouse: str | None) -> dict[str, Any]:
    """E-mail the data-quality report of ``year`` to every oversight office (or keep it in the outbox).

    Never fails the run: an SMTP outage leaves the message in the outbox for the next run."""
    from flows.report import send_after_run
    from warehouse.config import default_registry

    registry = Path(sources) if sources else default_registry()
    summary = send_after_run(year, registry if registry.is_file() else None, warehouse)
    return dict(summary.to_json())


def warm_up_loading(cfg: WarehouseConfig) -> None:
    """Import dlt, pandas and Great Expectations (~6 s) while documents are still being parsed, so the
    load step at the end of the run does not pay for it (best effort: a failure shows up there)."""
    import importlib

    from warehouse.config import prepare_environment

    try:
        prepare_environment(cfg)  # dlt's state directories, before dlt is imported
        import dlt  # noqa: F401

        import expectations.gx_runner  # noqa: F401
        import warehouse.pipeline  # noqa: F401

        # only loaded here; Great Expectations is used through expectations.gx_runner alone
        importlib.import_module("great_expectations")
    except Exception:  # pragma: no cover - the load step imports them again and reports
        pass
