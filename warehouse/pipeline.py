"""The dlt pipeline that loads staged reports into the ``stg`` dataset of the warehouse file.

One ``pipeline.run`` per ingest run loads the four Arrow tables of :mod:`warehouse.frames`
(report versions, cells, parse issues, narrative facts) with ``merge`` (delete-insert on the merge
key ``version_id``: every row of a re-loaded version is replaced), so loading the same document
twice leaves the same rows.  The composite keys of :data:`warehouse.frames.STAGING_TABLES` are not
given to dlt as ``primary_key``: with both hints dlt deletes ``WHERE pk matches OR merge key
matches``, which DuckDB can only run as a nested loop (8 s for 1,000 re-loaded reports instead of
0.2 s); the frames carry no duplicate keys (one document = one version).
The schema contract freezes columns and data types: a parse result with an unexpected column or
type fails the load (and its package is aborted) instead of silently drifting.

A run that was killed leaves its load package pending in the dlt working directory.  dlt's
``run`` would then load that old package *instead of* the new data, so :func:`load_frames` first
aborts whatever is pending: the documents of the killed run are parsed and loaded again by the
next run (nothing of the killed run was promoted — promotion happens after the load, in one
DuckDB transaction).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pyarrow as pa

from warehouse.config import WarehouseConfig, prepare_environment
from warehouse.db import (  # noqa: F401 - check_not_locked: also imported from here
    WarehouseError,
    WarehouseLocked,
    check_not_locked,
    connect,
    is_lock_error,
    lock_message,
    storage_error,
)
from warehouse.frames import STAGING_TABLES

PIPELINE_NAME = "xxgk"
STAGING_DATASET = "stg"
SCHEMA_CONTRACT = {"tables": "evolve", "columns": "freeze", "data_type": "freeze"}


class LoadFailed(WarehouseError):
    """The dlt load failed (schema contract, destination error); the package was aborted."""


@dataclass(frozen=True)
class LoadResult:
    """Rows handed to dlt per table and the wall time of the run."""

    rows: dict[str, int]
    seconds: float


def make_pipeline(cfg: WarehouseConfig):  # -> dlt.Pipeline
    """The dlt pipeline writing dataset ``stg`` of the warehouse file, state under ``cfg.dlt_dir``."""
    prepare_environment(cfg)
    import dlt

    logging.getLogger("dlt").setLevel(logging.ERROR)
    cfg.db_path.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        pipelines_dir=str(cfg.dlt_dir),
        destination=dlt.destinations.duckdb(str(cfg.db_path)),
        dataset_name=STAGING_DATASET,
    )


def _resources(frames: dict[str, pa.Table]):
    import dlt

    out = []
    for name, (schema, key) in STAGING_TABLES.items():
        table = frames[name]
        if table.schema != schema and table.schema.names == schema.names:
            try:
                table = table.cast(schema)  # same columns: normalise nullability/precision
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
                pass  # a different type: left to dlt's frozen data_type contract
        out.append(
            dlt.resource(  # type: ignore[call-overload]  # dlt loads Arrow tables; its overloads list only lists/iterators
                table,
                name=name,
                write_disposition={"disposition": "merge", "strategy": "delete-insert"},
                merge_key="version_id",
                # clears the primary-key hints that warehouses loaded before kept in dlt's schema
                columns={column: {"primary_key": False} for column in key},
                schema_contract=SCHEMA_CONTRACT,
            )
        )
    return out


def _abort(pipeline) -> None:
    """Abort packages left pending by a failed or killed run so the next run starts clean.

    Falls back to dropping the local pipeline state (dlt restores it from the destination on the
    next run) when the abort itself fails.
    """
    try:
        if pipeline.has_pending_data:
            pipeline.abort_packages()
    except Exception:
        # the caller reports the failure itself (one line); this detail is for --debug / the logs
        logging.getLogger(__name__).info("aborting pending dlt packages failed; dropping local pipeline state")
        pipeline.drop()


def load_frames(frames: dict[str, pa.Table], cfg: WarehouseConfig) -> LoadResult:
    """Load the staging tables in one ``pipeline.run`` (merge, frozen contract)."""
    started = time.perf_counter()
    pipeline = make_pipeline(cfg)
    if pipeline.has_pending_data:  # a killed run: its documents are in this batch again
        _abort(pipeline)
        pipeline = make_pipeline(cfg)
    try:
        pipeline.run(_resources(frames))
    except Exception as exc:  # dlt wraps everything in PipelineStepFailed
        text = str(exc)
        _abort(pipeline)
        if is_lock_error(text):
            raise WarehouseLocked(lock_message(cfg.db_path, text)) from None
        translated = storage_error(exc, cfg.db_path)  # disk full, read-only, damaged file: what to do
        if translated is not None:
            raise translated from exc
        first = next((line.strip() for line in text.splitlines() if "contract" in line.lower()), None)
        raise LoadFailed(f"dlt load into {cfg.db_path} failed: {first or text.splitlines()[0]}") from exc
    return LoadResult({name: frames[name].num_rows for name in STAGING_TABLES}, time.perf_counter() - started)
