"""The one module that imports Great Expectations: build the suite, validate a run, write Data Docs.

One validation per ingest run: the check frame of every report version of the run (a pandas
DataFrame of numeric columns read via Arrow from DuckDB's ``qa.v_check_inputs``, integer keys) is
validated against the suite of :mod:`expectations.specs` through the checkpoint ``promotion_gate``.
The GX project is a file context in the configured GX directory (default ``warehouse/gx``:
suite, validation definition and checkpoint as JSON; validation results and the Data Docs site
under ``uncommitted/``; the whole folder is gitignored because the suite is rebuilt from
:mod:`sources.rules` on every run).

We validate DataFrames, not the DuckDB file: GX 1.24's SQL datasource returns wrong results on
DuckDB (great_expectations #10738/#11579) and would keep the file open for the rest of the process.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from expectations.specs import GX_COLUMNS, KEY_COLUMN, SUITE_NAME, ExpectationSpec, gx_frame, suite_specs

DATASOURCE = "warehouse_checks"
ASSET = "check_inputs"
BATCH = "run_batch"
VALIDATION = "statutory_rules_per_run"
CHECKPOINT = "promotion_gate"
# COMPLETE: every unexpected key.  Without the unexpected *values* GX returns the keys as one list
# ({check_key: [...]}) instead of a dict per row: 2.5 s instead of 10 s for 67,000 failing checks.
RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [KEY_COLUMN],
    "exclude_unexpected_values": True,
}


class GxValidationError(RuntimeError):
    """An expectation raised instead of evaluating: nothing may be promoted on such a run."""


@dataclass
class GxRun:
    """The check keys GX reported unexpected (every other key passed) and run statistics."""

    failed: list = field(default_factory=list)  # keys of rows a comparison rejected
    not_assessable: list = field(default_factory=list)  # keys of rows the "assessable" expectation rejected
    rows: int = 0
    evaluated_expectations: int = 0
    unsuccessful_expectations: int = 0
    seconds: float = 0.0
    data_docs: str | None = None

    @property
    def outcomes(self) -> dict:
        """Outcome of every key that did not pass (not_assessable wins over fail)."""
        out = dict.fromkeys(self.failed, "fail")
        out.update(dict.fromkeys(self.not_assessable, "not_assessable"))
        return out

    def outcome_of(self, key) -> str:
        """pass / fail / not_assessable of one check key."""
        return self.outcomes.get(key, "pass")


def _quiet() -> None:
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.ERROR)


@functools.cache
def _context(root: str):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _quiet()
    Path(root).mkdir(parents=True, exist_ok=True)
    ctx = gx.get_context(mode="file", context_root_dir=root)
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _expectation(spec: ExpectationSpec):  # -> a GX expectation
    import great_expectations.expectations as gxe

    cls = getattr(gxe, spec.expectation)
    return cls(**spec.kwargs, meta=spec.meta, severity=spec.severity, description=spec.description)


@functools.cache
def _validation_definition(root: str):
    """Suite, pandas datasource and validation definition (created or updated once per process)."""
    import great_expectations as gx

    ctx = _context(root)
    suite = ctx.suites.add_or_update(
        gx.ExpectationSuite(name=SUITE_NAME, expectations=[_expectation(s) for s in suite_specs()])
    )
    source = ctx.data_sources.add_or_update_pandas(DATASOURCE)
    try:
        asset = source.get_asset(ASSET)
    except LookupError:
        asset = source.add_dataframe_asset(ASSET)
    try:
        batch = asset.get_batch_definition(BATCH)
    except (KeyError, LookupError):
        batch = asset.add_batch_definition_whole_dataframe(BATCH)
    return ctx.validation_definitions.add_or_update(gx.ValidationDefinition(name=VALIDATION, data=batch, suite=suite))


@functools.cache
def _checkpoint(root: str):
    """The checkpoint ``promotion_gate``: the run's validation plus the Data Docs update."""
    import great_expectations as gx

    return _context(root).checkpoints.add_or_update(
        gx.Checkpoint(
            name=CHECKPOINT,
            validation_definitions=[_validation_definition(root)],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
            result_format=RESULT_FORMAT,
        )
    )


def _keys(result) -> Iterable:
    """The check keys of the rows an expectation reported unexpected (numpy ints → int).

    GX lists them as ``[{check_key: [k1, k2, …]}]`` (values excluded) or ``[{check_key: k1, …}, …]``.
    """
    for item in result.result.get("unexpected_index_list") or []:
        if isinstance(item, dict) and KEY_COLUMN in item:
            keys = item[KEY_COLUMN]
            for key in keys if isinstance(keys, list) else [keys]:
                yield key.item() if hasattr(key, "item") else key


def _as_gx_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame itself when it already has the masked columns, else the masks of check inputs."""
    if all(c.name in frame.columns for c in GX_COLUMNS):
        return frame
    return gx_frame(frame)


def validate(frame: pd.DataFrame, gx_root: Path, *, run_name: str, docs: bool = True) -> GxRun:
    """Validate the checks of one run; the rows GX reports unexpected decide each outcome.

    ``frame``: the GX frame (:func:`expectations.specs.gx_frame_sql`) or check inputs with
    ``check_key``, ``op``, ``lhs``, ``rhs``, ``assessable``, ``lhs_frac`` (masked here).
    """
    started = time.perf_counter()
    if frame.empty:
        return GxRun(seconds=time.perf_counter() - started)
    from great_expectations.core.run_identifier import RunIdentifier

    data = _as_gx_frame(frame)
    root = str(gx_root)
    if docs:
        result = _checkpoint(root).run(batch_parameters={"dataframe": data}, run_id=RunIdentifier(run_name=run_name))
        suite_results = list(result.run_results.values())
    else:
        suite_results = [
            _validation_definition(root).run(
                batch_parameters={"dataframe": data},
                result_format=RESULT_FORMAT,
                run_id=RunIdentifier(run_name=run_name),
            )
        ]
    failed: set = set()
    not_assessable: set = set()
    evaluated = unsuccessful = 0
    for suite_result in suite_results:
        for r in suite_result.results:
            evaluated += 1
            info = r.exception_info or {}
            if info.get("raised_exception"):
                raise GxValidationError(
                    f"GX expectation {r.expectation_config.type} for {r.expectation_config.meta} raised: "
                    f"{info.get('exception_message')}"
                )
            if r.success:
                continue
            unsuccessful += 1
            meta = r.expectation_config.meta or {}
            target = not_assessable if meta.get("role") == "assessable" else failed
            target.update(_keys(r))
    index = None
    if docs:
        sites = _context(str(gx_root)).get_docs_sites_urls()
        index = sites[0]["site_url"] if sites else None
    return GxRun(
        sorted(failed - not_assessable),
        sorted(not_assessable),
        len(data),
        evaluated,
        unsuccessful,
        time.perf_counter() - started,
        index,
    )
