"""The Great Expectations suite, declared from :mod:`sources.rules` — without importing GX.

The suite validates every check of a run in one GX run: the frame has one row per report version
× rule × instance (``qa.v_check_inputs``) and, per *comparison*, its own masked columns (NaN on the
rows of other comparisons, which GX skips):

* ``ok`` — 1 when the check is assessable (no MISSING/TEXT term, no blank 总计);
* ``lhs_eq``/``rhs_eq`` (pair equal), ``lhs_le``/``rhs_le`` and ``lhs_ge``/``rhs_ge`` (pair A ≥ B),
  ``min`` (≥ 0), ``frac`` (in [0, 1e-6]: integral).

One expectation per comparison, each naming the rules that use it in its ``meta``.  The rows GX
reports as unexpected decide the outcome: ``not_assessable`` (the ``ok`` expectation) or ``fail``.
The frame used to have columns per *rule* (five per rule id, 130 columns); at 2.6 M checks (10,000
reports) that is 2.7 GB of floats and about 0.7 s of GX per expectation, so the masks are per
comparison (9 columns, 6 expectations, about 2 s for 2.6 M rows).  Which rule failed is known from
the row, not from the expectation.

:data:`GX_COLUMNS` declares the masks once; :func:`gx_frame_sql` (DuckDB, used by a run) and
:func:`gx_frame` (pandas, for a frame already in memory) both derive from it.
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
TOLERANCE = rules.TOLERANCE


@dataclass(frozen=True)
class GxColumn:
    """A column of the GX frame: ``source`` (a column of the check inputs) on the rows whose ``op``
    is in ``ops`` (every row when ``ops`` is None), NaN elsewhere."""

    name: str
    source: str
    ops: tuple[str, ...] | None = None


GX_COLUMNS: tuple[GxColumn, ...] = (
    GxColumn("ok", "assessable"),
    GxColumn("lhs_eq", "lhs", ("eq",)),
    GxColumn("rhs_eq", "rhs", ("eq",)),
    GxColumn("lhs_le", "lhs", ("le",)),
    GxColumn("rhs_le", "rhs", ("le",)),
    GxColumn("lhs_ge", "lhs", ("ge",)),
    GxColumn("rhs_ge", "rhs", ("ge",)),
    GxColumn("min", "lhs", ("nonneg", "nonneg_int")),
    GxColumn("frac", "lhs_frac", ("int", "nonneg_int")),
)


@dataclass(frozen=True)
class ExpectationSpec:
    """One GX expectation: class name, keyword arguments and what its unexpected rows mean."""

    role: str  # assessable | compare
    op: str | None  # eq | le | ge | nonneg | int (None for assessable)
    rule_ids: tuple[str, ...]
    expectation: str  # GX class name in great_expectations.expectations
    kwargs: dict[str, Any] = field(default_factory=dict)
    severity: str = "critical"
    description: str = ""

    @property
    def meta(self) -> dict[str, Any]:
        return {"role": self.role, "op": self.op, "rule_ids": list(self.rule_ids)}


_PAIR = {"ignore_row_if": "either_value_is_missing"}
_COMPARE: dict[str, tuple[str, dict[str, Any], str]] = {
    "eq": ("ExpectColumnPairValuesToBeEqual", {"column_A": "lhs_eq", "column_B": "rhs_eq", **_PAIR}, "左边 = 右边"),
    "le": (
        "ExpectColumnPairValuesAToBeGreaterThanB",
        {"column_A": "rhs_le", "column_B": "lhs_le", "or_equal": True, **_PAIR},
        "左边 ≤ 右边",
    ),
    "ge": (
        "ExpectColumnPairValuesAToBeGreaterThanB",
        {"column_A": "lhs_ge", "column_B": "rhs_ge", "or_equal": True, **_PAIR},
        "左边 ≥ 右边",
    ),
    "nonneg": ("ExpectColumnValuesToBeBetween", {"column": "min", "min_value": 0}, "不为负数"),
    "int": ("ExpectColumnValuesToBeBetween", {"column": "frac", "min_value": 0, "max_value": TOLERANCE}, "为整数"),
}


def comparisons(op: str) -> tuple[str, ...]:
    """The comparisons a rule op is checked with: nonneg_int is checked as nonneg plus int."""
    return ("nonneg", "int") if op == "nonneg_int" else (op,)


def _rules_by_comparison() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for variant in rules.VARIANTS:
        for inst in rules.rule_instances(variant):
            for part in comparisons(inst.op):
                ids = out.setdefault(part, [])
                if inst.rule_id not in ids:
                    ids.append(inst.rule_id)
    return out


@functools.cache
def suite_specs() -> tuple[ExpectationSpec, ...]:
    """Every expectation of the suite: "assessable" over all rules, then one per comparison used."""
    catalogue = rules.rule_catalogue()
    errors = {d.rule_id for d in catalogue if d.severity == "error"}
    all_ids = tuple(d.rule_id for d in catalogue)
    out = [
        ExpectationSpec(
            "assessable",
            None,
            all_ids,
            "ExpectColumnValuesToBeInSet",
            {"column": "ok", "value_set": [1.0]},
            "critical",
            "可核对：参与核对的单元格均有数值（无缺失、文字或未填写的总计）",
        )
    ]
    for op, ids in _rules_by_comparison().items():
        name, kwargs, title = _COMPARE[op]
        severity = "critical" if errors.intersection(ids) else "warning"
        out.append(ExpectationSpec("compare", op, tuple(ids), name, kwargs, severity, f"{title}：{'、'.join(ids)}"))
    return tuple(out)


def gx_frame_sql(table: str) -> str:
    """SELECT of the GX frame from a table of check inputs; ``check_key`` is the row's ``rowid``."""
    parts = [f"rowid AS {KEY_COLUMN}"]
    for c in GX_COLUMNS:
        if c.ops is None:
            parts.append(f"CAST({c.source} AS DOUBLE) AS {c.name}")
        else:
            ops = ", ".join(f"'{o}'" for o in c.ops)
            parts.append(f"CAST(CASE WHEN op IN ({ops}) THEN {c.source} END AS DOUBLE) AS {c.name}")
    return f"SELECT {', '.join(parts)} FROM {table}"


def gx_frame(inputs: pd.DataFrame) -> pd.DataFrame:
    """The GX frame of check inputs already in pandas (``check_key``, ``op``, ``lhs``, ``rhs``,
    ``assessable``, ``lhs_frac``): the same masks as :func:`gx_frame_sql`."""
    op = inputs["op"].to_numpy()
    out: dict[str, Any] = {KEY_COLUMN: inputs[KEY_COLUMN].to_numpy()}
    for c in GX_COLUMNS:
        values = inputs[c.source].to_numpy(dtype="float64", na_value=np.nan)
        out[c.name] = values if c.ops is None else np.where(np.isin(op, list(c.ops)), values, np.nan)
    return pd.DataFrame(out)
