"""The Great Expectations suite, declared from :mod:`sources.rules` — without importing GX.

The suite validates the check frame of one run (``qa.v_check_inputs``: one row per report version
× rule × instance, with ``lhs, rhs, assessable, lhs_frac``), widened by :func:`gx_frame` so that
every rule id has its own columns (NaN on the rows of other rules).  Each rule id gets

* an *assessable* expectation: ``ok__R`` is 1 (no MISSING/TEXT term, no blank 总计), and
* one *compare* expectation per comparison it uses: ``lhs__R == rhs__R`` (pair equal),
  ``lhs__R <= rhs__R`` / ``>=`` (pair A ≥ B), ``min__R >= 0`` (between), ``frac__R`` in [0, 1e-6]
  (integral).

The rows GX reports as unexpected decide the outcome: ``not_assessable`` (assessable
expectation) or ``fail`` (compare).
GX severity is ``critical`` for error-level rules, ``warning`` otherwise.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sources import rules

SUITE_NAME = "xxgk_statutory_rules"
KEY_COLUMN = "check_key"
TOLERANCE = 1e-6


@dataclass(frozen=True)
class ExpectationSpec:
    """One GX expectation: class name, keyword arguments and what its unexpected rows mean."""

    rule_id: str
    role: str  # assessable | compare
    op: str | None
    expectation: str  # GX class name in great_expectations.expectations
    kwargs: dict[str, Any] = field(default_factory=dict)
    severity: str = "critical"
    description: str = ""

    @property
    def meta(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "role": self.role, "op": self.op}


def col(role: str, rule_id: str) -> str:
    """Name of a rule's masked column in the GX frame, e.g. ``lhs__T3_BALANCE``."""
    return f"{role}__{rule_id}"


def _compare(rule_id: str, op: str) -> list[tuple[str, dict[str, Any]]]:
    pair = {"ignore_row_if": "either_value_is_missing"}
    lhs, rhs = col("lhs", rule_id), col("rhs", rule_id)
    if op == "eq":
        return [("ExpectColumnPairValuesToBeEqual", {"column_A": lhs, "column_B": rhs, **pair})]
    if op in ("le", "ge"):
        a, b = (rhs, lhs) if op == "le" else (lhs, rhs)
        return [("ExpectColumnPairValuesAToBeGreaterThanB", {"column_A": a, "column_B": b, "or_equal": True, **pair})]
    if op == "nonneg":
        return [("ExpectColumnValuesToBeBetween", {"column": col("min", rule_id), "min_value": 0})]
    if op == "int":
        return [
            ("ExpectColumnValuesToBeBetween", {"column": col("frac", rule_id), "min_value": 0, "max_value": TOLERANCE})
        ]
    raise ValueError(op)


def _ops(rule_ops: list[str]) -> list[str]:
    """The comparisons a rule needs: nonneg_int is checked as nonneg plus int."""
    out: list[str] = []
    for op in rule_ops:
        for part in ("nonneg", "int") if op == "nonneg_int" else (op,):
            if part not in out:
                out.append(part)
    return out


@functools.cache
def suite_specs() -> tuple[ExpectationSpec, ...]:
    """Every expectation of the suite, one group per rule id, in catalogue order."""
    ops: dict[str, list[str]] = {}
    for variant in rules.VARIANTS:
        for inst in rules.rule_instances(variant):
            ops.setdefault(inst.rule_id, [])
            if inst.op not in ops[inst.rule_id]:
                ops[inst.rule_id].append(inst.op)
    out: list[ExpectationSpec] = []
    for decl in rules.rule_catalogue():
        severity = "critical" if decl.severity == "error" else decl.severity
        out.append(
            ExpectationSpec(
                decl.rule_id,
                "assessable",
                None,
                "ExpectColumnValuesToBeInSet",
                {"column": col("ok", decl.rule_id), "value_set": [1.0]},
                severity,
                f"{decl.rule_id}（{decl.severity}）可核对：{decl.title}",
            )
        )
        for op in _ops(ops[decl.rule_id]):
            for name, kwargs in _compare(decl.rule_id, op):
                out.append(
                    ExpectationSpec(
                        decl.rule_id,
                        "compare",
                        op,
                        name,
                        kwargs,
                        severity,
                        f"{decl.rule_id}（{decl.severity}）：{decl.title}",
                    )
                )
    return tuple(out)


def gx_frame(inputs: pd.DataFrame) -> pd.DataFrame:
    """The frame GX validates: ``check_key`` plus, per rule id, its columns masked to its own rows.

    ``ok__R`` (assessable 1/0), ``lhs__R``/``rhs__R`` (rows compared with eq/le/ge), ``min__R``
    (rows that must be ≥ 0), ``frac__R`` (rows that must be integral); NaN on other rules' rows,
    which GX skips.  Masking replaces pandas ``row_condition`` filters (2.3× faster in GX 1.24).
    """
    out: dict[str, Any] = {KEY_COLUMN: inputs[KEY_COLUMN].to_numpy()}
    rule = inputs["rule_id"].to_numpy()
    op = inputs["op"].to_numpy()
    values = {c: inputs[c].to_numpy(dtype="float64", na_value=np.nan) for c in ("assessable", "lhs", "rhs", "lhs_frac")}
    compared = np.isin(op, ["eq", "le", "ge"])
    bounded = np.isin(op, ["nonneg", "nonneg_int"])
    integral = np.isin(op, ["int", "nonneg_int"])
    for rule_id in dict.fromkeys(s.rule_id for s in suite_specs()):
        mask = rule == rule_id
        out[col("ok", rule_id)] = np.where(mask, values["assessable"], np.nan)
        out[col("lhs", rule_id)] = np.where(mask & compared, values["lhs"], np.nan)
        out[col("rhs", rule_id)] = np.where(mask & compared, values["rhs"], np.nan)
        out[col("min", rule_id)] = np.where(mask & bounded, values["lhs"], np.nan)
        out[col("frac", rule_id)] = np.where(mask & integral, values["lhs_frac"], np.nan)
    return pd.DataFrame(out)
