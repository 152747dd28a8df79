"""The one module that imports Great Expectations: build the suite, validate a run, write Data Docs.

One validation per rule and ingest run: the check inputs of every report version of the run (a
pandas DataFrame read via Arrow from the warehouse's ``run_check_inputs``, sorted by rule) are cut
into one frame per rule id, each validated against that rule's single expectation
(:mod:`expectations.specs`).  The rows GX reports unexpected are the checks that did not pass; the
warehouse's ``assessable`` flag tells ``not_assessable`` (a side without value) from ``fail``.  This
is the only place a stored check is decided.

The GX project is a file context in the configured GX directory (default ``warehouse/gx``: suites
and validation definitions as JSON; validation results and the Data Docs site under
``uncommitted/``; the whole folder is gitignored because the suites are rebuilt from the rule
catalogue on every run).  Data Docs list one validation result per rule and run: its pass rate and
the report versions (``version_id``) and check keys of the checks it rejected.

We validate DataFrames, not the DuckDB file: GX 1.24's SQL datasource returns wrong results on
DuckDB and would keep the file open for the rest of the process.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from expectations.specs import KEY_COLUMN, VERSION_COLUMN, RuleExpectation, rule_expectations, rule_frame

DATASOURCE = "warehouse_checks"
ASSET = "rule_checks"
BATCH = "run_batch"
# COMPLETE: every unexpected row, by report version and check key.  Without the unexpected *values*
# GX returns each key column as one list instead of a dict per row (several times faster when tens
# of thousands of checks fail) — but Data Docs then show only the count, so a run writing Data Docs
# keeps the values: its pages list the failing report versions with both sides.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": [VERSION_COLUMN, KEY_COLUMN],
    "exclude_unexpected_values": True,
}
RESULT_FORMAT_DOCS: dict[str, Any] = {**RESULT_FORMAT, "exclude_unexpected_values": False}


class GxValidationError(RuntimeError):
    """An expectation raised instead of evaluating: nothing may be promoted on such a run."""


@dataclass(frozen=True)
class RuleRun:
    """One rule's validation in a run: its checks and the ones GX rejected."""

    rule_id: str
    checks: int
    unexpected: int

    @property
    def pass_rate(self) -> float:
        return 1.0 if not self.checks else (self.checks - self.unexpected) / self.checks


@dataclass
class GxRun:
    """The verdict of every check GX rejected (every other check passed) and run statistics."""

    failed: list[int] = field(default_factory=list)  # check keys of assessable checks that do not hold
    not_assessable: list[int] = field(default_factory=list)  # check keys of checks with a side without value
    rows: int = 0
    rules: list[RuleRun] = field(default_factory=list)
    seconds: float = 0.0
    data_docs: str | None = None

    @property
    def evaluated_expectations(self) -> int:
        return len(self.rules)

    @property
    def unsuccessful_expectations(self) -> int:
        return sum(1 for r in self.rules if r.unexpected)

    @property
    def outcomes(self) -> dict[int, str]:
        """Outcome of every key that did not pass."""
        out = dict.fromkeys(self.failed, "fail")
        out.update(dict.fromkeys(self.not_assessable, "not_assessable"))
        return out

    def outcome_of(self, key: int) -> str:
        """pass / fail / not_assessable of one check key."""
        return self.outcomes.get(key, "pass")


def _quiet() -> None:
    for name in ("great_expectations", "great_expectations.core", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.ERROR)


@functools.cache
def _context(root: str) -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _quiet()
    Path(root).mkdir(parents=True, exist_ok=True)
    ctx = gx.get_context(mode="file", context_root_dir=root)
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _expectation(spec: RuleExpectation) -> Any:
    import great_expectations.expectations as gxe

    cls = getattr(gxe, spec.expectation)
    return cls(**spec.kwargs, meta=spec.meta, severity=spec.gx_severity, description=spec.description)


def _unchanged(stored: Any, wanted: Any, batch: Any) -> bool:
    """Whether a stored validation definition already validates ``wanted`` (one expectation) on ``batch``.

    Expectations are compared without their ids: GX gives an expectation a new id on every write."""
    if stored.data.id != batch.id:
        return False
    have = [e.dict(exclude={"id", "rendered_content"}) for e in stored.suite.expectations]
    return have == [wanted.dict(exclude={"id", "rendered_content"})]


@functools.cache
def validation_definitions(root: str) -> dict[str, Any]:
    """Rule id → its validation definition (a suite of the rule's one expectation on the pandas
    batch of the run), read once per process.

    Suites and definitions whose stored JSON already says what the rule catalogue says are used as
    stored, not written again: a process pays for reading them, and writes only the rules that are
    new or changed (writing all 26 was the larger part of a run's GX set-up)."""
    import great_expectations as gx
    from great_expectations.exceptions import DataContextError

    ctx = _context(root)
    try:
        source = ctx.data_sources.get(DATASOURCE)
    except KeyError:
        source = ctx.data_sources.add_pandas(DATASOURCE)
    try:
        asset = source.get_asset(ASSET)
    except LookupError:
        asset = source.add_dataframe_asset(ASSET)
    try:
        batch = asset.get_batch_definition(BATCH)
    except (KeyError, LookupError):
        batch = asset.add_batch_definition_whole_dataframe(BATCH)
    out = {}
    for spec in rule_expectations():
        wanted = _expectation(spec)
        try:
            stored = ctx.validation_definitions.get(spec.suite_name)
        except DataContextError:  # not stored yet (or its suite is gone)
            stored = None
        if stored is not None and _unchanged(stored, wanted, batch):
            out[spec.rule_id] = stored
            continue
        suite = ctx.suites.add_or_update(gx.ExpectationSuite(name=spec.suite_name, expectations=[wanted]))
        out[spec.rule_id] = ctx.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=spec.suite_name, data=batch, suite=suite)
        )
    return out


def prepare(root: Path | str) -> None:
    """Build the GX context, suites and validation definitions now (a process's fixed cost)."""
    validation_definitions(str(root))


def _keys(result: Any) -> list[int]:
    """The check keys of the rows an expectation reported unexpected (numpy ints → int).

    GX lists them as ``[{check_key: [k1, k2, …], …}]`` (values excluded) or ``[{check_key: k1, …}, …]``.
    """
    out: list[int] = []
    for item in result.result.get("unexpected_index_list") or []:
        if isinstance(item, dict) and KEY_COLUMN in item:
            keys = item[KEY_COLUMN]
            for key in keys if isinstance(keys, list) else [keys]:
                out.append(int(key))
    return out


def _slices(inputs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows of each rule id (contiguous when the inputs are sorted by rule, as the warehouse gives them)."""
    rule = inputs["rule_id"]
    codes = rule.cat.codes.to_numpy() if isinstance(rule.dtype, pd.CategoricalDtype) else pd.factorize(rule)[0]
    if len(codes) and np.all(codes[1:] >= codes[:-1]):
        starts = np.r_[0, np.flatnonzero(codes[1:] != codes[:-1]) + 1]
        ends = np.r_[starts[1:], len(codes)]
        return {str(rule.iloc[s]): inputs.iloc[s:e] for s, e in zip(starts, ends, strict=True)}
    return {str(k): g for k, g in inputs.groupby(rule, sort=False, observed=True)}


def validate(inputs: pd.DataFrame, gx_root: Path, *, run_name: str, docs: bool = True) -> GxRun:
    """Decide every check of one run: one GX validation per rule over that rule's rows.

    ``inputs``: one row per check with ``check_key``, ``version_id``, ``rule_id``, ``op``, ``lhs``,
    ``rhs`` and ``assessable`` (1.0/0.0).  A rejected row is ``not_assessable`` when its
    ``assessable`` is 0, else ``fail``.
    """
    started = time.perf_counter()
    if inputs.empty:
        return GxRun(seconds=time.perf_counter() - started)
    from great_expectations.core.run_identifier import RunIdentifier

    root = str(gx_root)
    definitions = validation_definitions(root)
    # run_time given explicitly: without it GX parses run_name with dateutil, and a run id such as
    # "20261203T125844Z-990000" reads as a -99 h offset that fails when the result is stored.
    run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
    slices = _slices(inputs)
    unexpected: list[int] = []
    runs: list[RuleRun] = []
    for spec in rule_expectations():
        rows = slices.get(spec.rule_id)
        if rows is None or rows.empty:
            continue
        result = definitions[spec.rule_id].run(
            batch_parameters={"dataframe": rule_frame(rows, spec)},
            result_format=RESULT_FORMAT_DOCS if docs else RESULT_FORMAT,
            run_id=run_id,
        )
        for r in result.results:
            info = r.exception_info or {}
            if info.get("raised_exception"):
                raise GxValidationError(
                    f"GX expectation of rule {spec.rule_id} raised: {info.get('exception_message')}"
                )
            keys = [] if r.success else _keys(r)
            unexpected += keys
            runs.append(RuleRun(spec.rule_id, len(rows), len(keys)))
    rejected = np.asarray(sorted(set(unexpected)), dtype="int64")
    rows_of = inputs[KEY_COLUMN].isin(rejected).to_numpy()
    without_value = inputs.loc[rows_of & (inputs["assessable"].to_numpy() == 0), KEY_COLUMN].to_numpy()
    failed = np.setdiff1d(rejected, without_value)
    index = _update_docs(root, run_name) if docs else None
    return GxRun(
        [int(k) for k in failed],
        sorted(int(k) for k in without_value),
        len(inputs),
        runs,
        time.perf_counter() - started,
        index,
    )


def _update_docs(root: str, run_name: str) -> str | None:
    """Render the validation results of this run into the Data Docs site; the site's index URL."""
    ctx = _context(root)
    ids = [k for k in ctx.validation_results_store.list_keys() if k.run_id.run_name == run_name]
    ctx.build_data_docs(resource_identifiers=ids)
    sites = ctx.get_docs_sites_urls()
    return sites[0]["site_url"] if sites else None
