"""The Great Expectations suite, declared from the rule catalogue of :mod:`sources.rules` — without importing GX.

One expectation per rule id, named after the rule: Data Docs then show, per statutory rule, how many
checks it had in a run, how many did not pass and the report versions that broke it.  Each rule's
expectation validates its own frame — the rows of that rule only (one per report version ×
instance), as the warehouse computed them: ``lhs`` and ``rhs`` (the two sides; NULL when a side has
no value), ``version_id`` and ``check_key`` (the row of the run's check inputs).

* rules comparing two sides: ``eq`` → the pair is equal; ``le`` → ``rhs ≥ lhs``; ``ge`` → ``lhs ≥ rhs``;
* cell type rules (``nonneg_int``, ``int``, ``nonneg``): the value equals the nearest value the rule
  admits (:func:`admissible`: ``max(round(x), 0)`` for a non-negative integer …), so a rule whose cells
  have different types (表二 counts and amounts) still has one expectation.

A side without a value is NaN and fails every comparison (``ignore_row_if="neither"``): GX reports
the row unexpected, and the warehouse's ``assessable`` flag tells a ``not_assessable`` from a ``fail``.
Why per-rule frames and not one frame with ``row_condition`` per rule: on 2.6 M checks (10,000
reports) the pandas row conditions cost about 20 s, 26 small validations about 4 s.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sources import rules
from sources.rules.model import SIDE_OPS, TYPE_OPS

SUITE_PREFIX = "xxgk_rule_"
KEY_COLUMN = "check_key"
VERSION_COLUMN = "version_id"
# GX's severity of an expectation from the rule's severity.
GX_SEVERITY = {"error": "critical", "warning": "warning", "info": "info"}
_PAIR = {"ignore_row_if": "neither"}


@dataclass(frozen=True)
class RuleExpectation:
    """The expectation of one rule id: GX class name, keyword arguments, and what it stands for."""

    rule_id: str
    title: str
    severity: str  # the rule's: error | warning | info
    ops: tuple[str, ...]
    expectation: str  # GX class name in great_expectations.expectations
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def suite_name(self) -> str:
        """The suite (and validation definition) holding only this rule's expectation."""
        return SUITE_PREFIX + self.rule_id

    @property
    def gx_severity(self) -> str:
        return GX_SEVERITY[self.severity]

    @property
    def description(self) -> str:
        return f"{self.rule_id}：{self.title}"

    @property
    def meta(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "severity": self.severity, "ops": list(self.ops)}


def _ops_by_rule() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for variant in rules.VARIANTS:
        for inst in rules.rule_instances(variant):
            ops = out.setdefault(inst.rule_id, [])
            if inst.op not in ops:
                ops.append(inst.op)
    return out


def _comparison(rule_id: str, ops: list[str]) -> tuple[str, dict[str, Any]]:
    if set(ops) <= set(TYPE_OPS):
        return "ExpectColumnPairValuesToBeEqual", {"column_A": "lhs", "column_B": "rhs", **_PAIR}
    if len(ops) != 1 or ops[0] not in SIDE_OPS:
        raise ValueError(f"rule {rule_id} compares its sides in several ways ({ops}); one expectation cannot")
    if ops[0] == "eq":
        return "ExpectColumnPairValuesToBeEqual", {"column_A": "lhs", "column_B": "rhs", **_PAIR}
    a, b = ("rhs", "lhs") if ops[0] == "le" else ("lhs", "rhs")
    return "ExpectColumnPairValuesAToBeGreaterThanB", {"column_A": a, "column_B": b, "or_equal": True, **_PAIR}


@functools.cache
def rule_expectations() -> tuple[RuleExpectation, ...]:
    """One expectation per rule id of the catalogue, in catalogue order."""
    ops = _ops_by_rule()
    out = []
    for decl in rules.rule_catalogue():
        name, kwargs = _comparison(decl.rule_id, ops[decl.rule_id])
        out.append(RuleExpectation(decl.rule_id, decl.title, decl.severity, tuple(ops[decl.rule_id]), name, kwargs))
    return tuple(out)


def admissible(op: np.ndarray, lhs: np.ndarray) -> np.ndarray:
    """For type rules, the nearest value the rule admits: the value itself exactly when it passes.

    ``nonneg_int`` → ``max(round(x), 0)``, ``int`` → ``round(x)``, ``nonneg`` → ``max(x, 0)``; NaN stays NaN.
    """
    rounded = np.round(lhs)
    return np.where(op == "int", rounded, np.where(op == "nonneg", np.maximum(lhs, 0.0), np.maximum(rounded, 0.0)))


def rule_frame(inputs: pd.DataFrame, expectation: RuleExpectation) -> pd.DataFrame:
    """The frame one rule's expectation validates, from that rule's rows of the check inputs
    (``version_id``, ``check_key``, ``op``, ``lhs``, ``rhs``)."""
    lhs = inputs["lhs"].to_numpy(dtype="float64", na_value=np.nan)
    if set(expectation.ops) <= set(TYPE_OPS):
        rhs = admissible(inputs["op"].to_numpy().astype(str), lhs)
    else:
        rhs = inputs["rhs"].to_numpy(dtype="float64", na_value=np.nan)
    return pd.DataFrame(
        {
            VERSION_COLUMN: inputs[VERSION_COLUMN].reset_index(drop=True),  # categorical: cheap for GX to hash
            KEY_COLUMN: inputs[KEY_COLUMN].to_numpy(),
            "lhs": lhs,
            "rhs": rhs,
        }
    )
