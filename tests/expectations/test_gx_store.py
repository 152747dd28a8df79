"""The GX suites and validation definitions are written when new or changed, never rewritten as they are."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from expectations import gx_runner
from expectations.specs import rule_expectations


def _fresh_process() -> None:
    """What a new process starts with: no context, no definitions read."""
    gx_runner.validation_definitions.cache_clear()
    gx_runner._context.cache_clear()


def _stored(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file of the GX project but the uncommitted folder: (mtime ns, content)."""
    files = [p for p in root.rglob("*") if p.is_file() and "uncommitted" not in p.parts]
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes()) for p in files}


@pytest.fixture
def gx_root(tmp_path):
    _fresh_process()
    yield tmp_path / "gx"
    _fresh_process()


def test_a_new_process_reads_unchanged_suites_without_writing_them(gx_root):
    first = gx_runner.validation_definitions(str(gx_root))
    assert set(first) == {s.rule_id for s in rule_expectations()}
    before = _stored(gx_root)
    suites = [k for k in before if k.startswith("expectations/xxgk_rule_")]
    assert len(suites) == len(first) == len([k for k in before if k.startswith("validation_definitions/xxgk_rule_")])
    _fresh_process()
    again = gx_runner.validation_definitions(str(gx_root))
    assert _stored(gx_root) == before  # not one file written again (same mtime, same bytes)
    assert {r: d.id for r, d in again.items()} == {r: d.id for r, d in first.items()}
    # the definitions read back validate: one T3_BALANCE check that holds, one that does not
    inputs = pd.DataFrame(
        {
            "check_key": np.array([0, 1], dtype="int64"),
            "version_id": pd.Categorical(["v1", "v2"]),
            "rule_id": pd.Categorical(["T3_BALANCE", "T3_BALANCE"]),
            "op": pd.Categorical(["eq", "eq"]),
            "lhs": [5.0, 5.0],
            "rhs": [5.0, 4.0],
            "assessable": [1.0, 1.0],
        }
    )
    run = gx_runner.validate(inputs, gx_root, run_name="store-test", docs=False)
    assert run.failed == [1] and run.not_assessable == []


def test_a_changed_suite_is_written_again_and_only_that_one(gx_root):
    gx_runner.validation_definitions(str(gx_root))
    path = gx_root / "expectations" / "xxgk_rule_T3_BALANCE.json"
    suite = json.loads(path.read_text(encoding="utf-8"))
    suite["expectations"][0]["kwargs"]["ignore_row_if"] = "both_values_are_missing"  # as an older catalogue said
    path.write_text(json.dumps(suite), encoding="utf-8")
    before = _stored(gx_root)
    _fresh_process()
    gx_runner.validation_definitions(str(gx_root))
    after = _stored(gx_root)
    rewritten = sorted(k for k in after if after[k] != before.get(k))
    assert rewritten == ["expectations/xxgk_rule_T3_BALANCE.json", "validation_definitions/xxgk_rule_T3_BALANCE.json"]
    restored = json.loads(path.read_text(encoding="utf-8"))
    assert restored["expectations"][0]["kwargs"]["ignore_row_if"] == "neither"
