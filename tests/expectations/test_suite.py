"""The GX suite is built from the rule catalogue of sources.rules: one expectation per rule id."""

from __future__ import annotations

import numpy as np
import pandas as pd

from expectations.specs import admissible, rule_expectations, rule_frame
from sources import rules


def test_one_expectation_per_rule_with_its_comparison():
    by_rule = {e.rule_id: e for e in rule_expectations()}
    assert list(by_rule) == [d.rule_id for d in rules.rule_catalogue()]
    assert by_rule["T3_BALANCE"].expectation == "ExpectColumnPairValuesToBeEqual"
    # le: the right side is at least the left; ge: the left side is at least the right
    issued = by_rule["T2_ISSUED_VS_INFORCE"]
    assert issued.expectation == "ExpectColumnPairValuesAToBeGreaterThanB"
    assert (issued.kwargs["column_A"], issued.kwargs["column_B"], issued.kwargs["or_equal"]) == ("rhs", "lhs", True)
    present = by_rule["T4_PRESENT"]
    assert (present.kwargs["column_A"], present.kwargs["column_B"]) == ("lhs", "rhs")
    # 表二 (2019) mixes signed counts, counts and amounts: still one expectation
    assert set(by_rule["T2_TYPES_2019"].ops) == {"nonneg_int", "int", "nonneg"}
    assert by_rule["T2_TYPES_2019"].expectation == "ExpectColumnPairValuesToBeEqual"
    assert all(e.kwargs["ignore_row_if"] == "neither" for e in by_rule.values())  # a side without value fails
    assert (by_rule["T3_BALANCE"].gx_severity, by_rule["XY_T3_CARRY"].gx_severity) == ("critical", "warning")
    assert by_rule["T3_BALANCE"].suite_name == "xxgk_rule_T3_BALANCE"


def test_type_rules_compare_a_value_with_the_nearest_admissible_one():
    op = np.array(["nonneg_int", "nonneg_int", "nonneg_int", "int", "int", "nonneg", "nonneg", "nonneg_int"])
    lhs = np.array([3.0, -2.0, 2.5, -4.0, 1.5, 7730.28, -0.5, np.nan])
    got = admissible(op, lhs)
    assert got[:7].tolist() == [3.0, 0.0, 2.0, -4.0, 2.0, 7730.28, 0.0] and np.isnan(got[7])
    holds = got == lhs  # what GX's pair equality sees
    assert holds.tolist() == [True, False, False, True, False, True, False, False]


def test_rule_frame_keeps_keys_and_versions():
    (types,) = [e for e in rule_expectations() if e.rule_id == "T4_TYPES"]
    inputs = pd.DataFrame(
        {
            "check_key": [7, 9],
            "version_id": pd.Categorical(["v1", "v2"]),
            "op": ["nonneg_int", "nonneg_int"],
            "lhs": [0.5, 2.0],
            "rhs": [np.nan, np.nan],
        }
    )
    frame = rule_frame(inputs, types)
    assert frame["check_key"].tolist() == [7, 9] and frame["version_id"].tolist() == ["v1", "v2"]
    assert frame["rhs"].tolist() == [0.0, 2.0]
