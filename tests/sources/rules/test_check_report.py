"""check_report: the within-report rules one parse result breaks (xxgk parse, OCR verification)."""

from __future__ import annotations

import json

from flows.cli.app import sample_paths
from sources import rules
from sources.parsing.parse import parse_path
from warehouse.synthetic import synthetic_cells, synthetic_report


def _broken() -> dict:
    cells = synthetic_cells("gov2021", seed=3)
    cells.update(
        {
            "t3.new_received.natural_person": 21,
            "t3.carried_over.natural_person": 0,
            "t3.result_total.natural_person": 20,
            "t3.carry_to_next.natural_person": 0,
            "t4.review.total": None,  # a blank total: not filled in, the block cannot be checked
        }
    )
    return synthetic_report("示例市教育局", 2023, cells)


def test_a_consistent_report_breaks_nothing():
    assert rules.check_report(synthetic_report("示例市教育局", 2023, synthetic_cells("gov2021", seed=1))) == []


def test_broken_rules_with_both_sides_and_the_message():
    found = {(r.rule_id, r.instance): r for r in rules.check_report(_broken())}
    balance = found[("T3_BALANCE", "natural_person")]
    assert (balance.outcome, balance.severity, balance.lhs, balance.rhs) == ("fail", "error", 21.0, 20.0)
    assert balance.message == "表三 自然人列：本年新收(21)+上年结转(0) ≠ 办理结果总计(20)+结转下年度(0)"
    block = found[("T4_BLOCK_TOTAL", "review")]
    assert (block.outcome, block.lhs, block.rhs) == ("not_assessable", None, None)
    assert block.message == "表四 行政复议：总计未填写，无法核对 总计 = 结果维持+结果纠正+其他结果+尚未审结"
    # every result is a rule that does not pass; cross-year rules need last year's report: never here
    assert all(r.outcome != "pass" for r in found.values())
    assert not any(r.rule_id.startswith("XY_") for r in found.values())
    assert json.loads(json.dumps(balance.to_json(), ensure_ascii=False)) == {
        "rule_id": "T3_BALANCE",
        "instance": "natural_person",
        "severity": "error",
        "outcome": "fail",
        "lhs": 21.0,
        "rhs": 20.0,
        "message": balance.message,
    }


def test_cross_year_rules_are_left_out_even_when_they_would_fail():
    prev = synthetic_report("示例市教育局", 2022, synthetic_cells("gov2021", seed=9))
    doc = synthetic_report("示例市教育局", 2023, synthetic_cells("gov2021", seed=1))
    with_prev = [r for r in rules.evaluate_report(doc, prev) if r.outcome != "pass"]
    assert any(r.rule_id == "XY_T3_CARRY" for r in with_prev)  # the two seeds do not carry over
    assert rules.check_report(doc) == []


def test_parse_output_carries_the_checks():
    by_name = {p.name: p for p in sample_paths()}
    result = parse_path(by_name["xzf-2023.pdf"])
    assert [(c["rule_id"], c["instance"], c["outcome"], c["lhs"], c["rhs"]) for c in result["checks"]] == [
        ("T4_BLOCK_TOTAL", "review", "fail", 0.0, 8.0),
        ("N_REVIEW_LITIGATION", "review", "fail", 8.0, 0.0),
    ]
    assert result["checks"][0]["message"] == "表四 行政复议：总计(0) ≠ 结果维持(6)+结果纠正(1)+其他结果(0)+尚未审结(1)"
    assert parse_path(by_name["zrzyj-2023.html"])["checks"] == []
    assert parse_path(by_name["notice-2024.html"])["checks"] == []  # not a statutory report: no rule applies
