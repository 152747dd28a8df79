"""The GX suite is built from the rule catalogue of sources.rules."""

from __future__ import annotations

from expectations.specs import gx_frame, suite_specs
from sources import rules


def test_gx_suite_is_built_from_the_declarations():
    specs = suite_specs()
    ids = {d.rule_id for d in rules.rule_catalogue()}
    (assessable,) = [s for s in specs if s.role == "assessable"]
    assert set(assessable.rule_ids) == ids and assessable.severity == "critical"
    by_op = {s.op: s for s in specs if s.role == "compare"}
    assert set(by_op) == {"eq", "le", "ge", "nonneg", "int"}
    assert set().union(*(s.rule_ids for s in by_op.values())) == ids  # every rule compares something
    assert "T3_BALANCE" in by_op["eq"].rule_ids and "T4_TYPES" in by_op["int"].rule_ids
    assert "T4_TYPES" in by_op["nonneg"].rule_ids  # nonneg_int is checked as nonneg plus int
    # masked frame: a comparison's columns are NaN on the rows of other comparisons
    import pandas as pd

    frame = pd.DataFrame(
        {
            "check_key": ["a", "b"],
            "rule_id": ["T3_BALANCE", "T4_TYPES"],
            "op": ["eq", "nonneg_int"],
            "lhs": [1.0, 2.0],
            "rhs": [1.0, float("nan")],
            "assessable": [1.0, 1.0],
            "lhs_frac": [0.0, 0.0],
        }
    )
    wide = gx_frame(frame)
    assert wide["lhs_eq"].tolist()[0] == 1.0 and pd.isna(wide["lhs_eq"].tolist()[1])
    assert pd.isna(wide["min"].tolist()[0]) and wide["min"].tolist()[1] == 2.0 and wide["frac"].tolist()[1] == 0.0
    assert wide["ok"].tolist() == [1.0, 1.0] and pd.isna(wide["lhs_le"]).all()
