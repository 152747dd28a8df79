"""The rules of templates.yaml as expanded by sources.rules: instances, severities, blank policy, messages."""

from __future__ import annotations

import pytest
from factory import T3_COLUMNS

from sources import rules
from warehouse.synthetic import synthetic_cells, synthetic_report

COLUMNS = tuple(T3_COLUMNS)  # from templates.yaml itself, not through sources/template.py


def _by_rule(variant: str) -> dict[str, list[rules.RuleInstance]]:
    out: dict[str, list[rules.RuleInstance]] = {}
    for inst in rules.rule_instances(variant):
        out.setdefault(inst.rule_id, []).append(inst)
    return out


def _results(doc, prev=None) -> dict[tuple[str, str], rules.CheckResult]:
    return {(r.rule_id, r.instance): r for r in rules.evaluate_report(doc, prev)}


def test_instances_per_template_variant():
    g21, hyb, g19 = _by_rule("gov2021"), _by_rule("gov2021_hybrid"), _by_rule("gov2019")
    assert [i.instance for i in g21["T3_BALANCE"]] == list(COLUMNS)
    assert len(g21["T3_ROW_TOTAL"]) == 25 and len(hyb["T3_ROW_TOTAL"]) == 23 and len(g19["T3_ROW_TOTAL"]) == 23
    assert [i.instance for i in g21["T4_BLOCK_TOTAL"]] == ["review", "litigation_direct", "litigation_after_review"]
    assert len(g21["T3_RESULT_SUM_2021"]) == 7 and "T3_RESULT_SUM_2021" not in g19
    assert len(g19["T3_RESULT_SUM_2019"]) == 7 and "T3_RESULT_SUM_2019" not in g21
    # every cell of 表二/三/四 is type-checked, not only 表二
    assert len(g21["T3_TYPES"]) == 175 and len(g21["T4_TYPES"]) == 15 and len(g21["T2_TYPES_2021"]) == 10
    assert len(g19["T2_TYPES_2019"]) == 22
    assert len(rules.cell_specs("gov2021")) == 200
    assert len(rules.cell_specs("gov2019")) == 198
    assert len(rules.cell_specs("gov2021_hybrid")) == 186


def test_hybrid_result_sum_uses_the_single_other_handling_row():
    (nat,) = [i for i in _by_rule("gov2021_hybrid")["T3_RESULT_SUM_2021"] if i.instance == "natural_person"]
    addresses = [t.address for t in nat.rhs]
    assert "t3.other_handling.natural_person" in addresses
    assert not any("other_misc" in a or "other_fee_unpaid" in a or "no_correction" in a for a in addresses)
    assert len(addresses) == 19
    (full,) = [i for i in _by_rule("gov2021")["T3_RESULT_SUM_2021"] if i.instance == "natural_person"]
    assert len(full.rhs) == 21


def test_severities_decided_in_templates_yaml():
    g21 = _by_rule("gov2021")
    assert [i.severity for i in g21["XY_T3_CARRY"]] == ["warning"] * 7  # all 7 columns, also 总计
    assert not any(i.blocking for i in g21["XY_T3_CARRY"])
    for rule_id in (
        "T4_PRESENT",
        "T3_PRESENT",
        "T2_PRESENT",
        "S_CELLS_COMPLETE",
        "S_SIX_SECTIONS",
        "S_TEMPLATE_VS_YEAR",
    ):
        assert all(i.blocking for i in g21[rule_id]), rule_id
    for rule_id in ("S_DEADLINE", "XY_T2_INFORCE", "N_REQUESTS_RECEIVED", "T2_ISSUED_VS_INFORCE"):
        assert all(i.severity == "warning" for i in g21[rule_id]), rule_id
    for decl in rules.rule_catalogue():
        spec = rules.rule_specs()[decl.rule_id]
        assert decl.title == spec.title and decl.severity == spec.severity
        # a severity decided differently from the declared one says why, in templates.yaml
        assert (decl.severity != decl.declared_severity) == bool(spec.severity_reason), decl.rule_id
    assert rules.rule_specs()["XY_T3_CARRY"].declared_severity == "error"
    assert {d.rule_id for d in rules.rule_catalogue() if d.origin == "project"} == {
        "S_IDENTITY",
        "T2_PRESENT",
        "T3_PRESENT",
        "S_CELLS_COMPLETE",
        "T2_TYPES_2019",
        "S_OCR_VERIFIED",
    }


def test_consistent_report_passes_every_rule():
    for variant, year in (("gov2021", 2023), ("gov2021_hybrid", 2023), ("gov2019", 2020)):
        for seed in range(40):  # warnings too: a third of the hybrid seeds once broke T2_ISSUED_VS_INFORCE
            doc = synthetic_report("示例市教育局", year, synthetic_cells(variant, seed=seed))
            results = rules.evaluate_report(doc)
            assert results and all(r.outcome == "pass" for r in results), [
                (variant, seed, r.message) for r in results if r.outcome != "pass"
            ]


def test_balance_message_is_the_analyst_sentence():
    cells = synthetic_cells("gov2021", seed=3)
    cells.update(
        {
            "t3.new_received.natural_person": 21,
            "t3.carried_over.natural_person": 0,
            "t3.result_total.natural_person": 20,
            "t3.carry_to_next.natural_person": 0,
        }
    )
    r = _results(synthetic_report("示例市教育局", 2023, cells))[("T3_BALANCE", "natural_person")]
    assert r.outcome == "fail" and r.blocking
    assert r.message == "表三 自然人列：本年新收(21)+上年结转(0) ≠ 办理结果总计(20)+结转下年度(0)"
    assert (r.lhs, r.rhs) == (21.0, 20.0)


def test_t4_block_total_message_hongze_style():
    cells = synthetic_cells("gov2021_hybrid", seed=1)
    cells.update(
        {
            "t4.review.upheld": 10,
            "t4.review.corrected": 1,
            "t4.review.other": 0,
            "t4.review.pending": 0,
            "t4.review.total": 0,
        }
    )
    r = _results(synthetic_report("淮安市洪泽区人民政府", 2023, cells))[("T4_BLOCK_TOTAL", "review")]
    assert r.outcome == "fail"
    assert r.message == "表四 行政复议：总计(0) ≠ 结果维持(10)+结果纠正(1)+其他结果(0)+尚未审结(0)"


def test_blank_total_is_not_filled_in_but_blank_component_is_zero():
    cells = synthetic_cells("gov2021", seed=5)
    cells["t3.result_total.total"] = None  # blank 总计: "not filled in", never 0
    res = _results(synthetic_report("示例市教育局", 2023, cells))
    bal = res[("T3_BALANCE", "total")]
    assert bal.outcome == "not_assessable" and bal.blocking and bal.lhs is None
    assert bal.message.startswith("表三 总计列：办理结果总计未填写，无法核对")
    assert res[("T3_ROW_TOTAL", "result_total")].outcome == "not_assessable"
    assert ("T3_TYPES", "t3.result_total.total") not in res  # nothing to type-check in a blank cell

    cells = synthetic_cells("gov2021", seed=5)
    cells["t3.denied_state_secret.legal_research"] = None if cells["t3.denied_state_secret.legal_research"] == 0 else 0
    res = _results(synthetic_report("示例市教育局", 2023, cells))
    assert res[("T3_ROW_TOTAL", "denied_state_secret")].outcome in ("pass", "fail")  # assessable: blank part = 0


def test_types_and_text_cells():
    cells = synthetic_cells("gov2021", seed=2)
    cells["t2_art20_5.admin_licensing.decisions"] = -3
    cells["t2_art20_8.admin_fees.fee_amount"] = 12.5  # a decimal amount is fine
    cells["t4.litigation_direct.upheld"] = 1.5
    cells["t3.granted.legal_other"] = "若干"
    res = _results(synthetic_report("示例市教育局", 2023, cells))
    assert res[("T2_TYPES_2021", "t2_art20_5.admin_licensing.decisions")].outcome == "fail"
    assert res[("T2_TYPES_2021", "t2_art20_8.admin_fees.fee_amount")].outcome == "pass"
    assert res[("T4_TYPES", "t4.litigation_direct.upheld")].message.endswith("1.5 不是非负整数")
    text = res[("T3_TYPES", "t3.granted.legal_other")]
    assert text.outcome == "not_assessable" and text.message.endswith("“若干”不是数字")
    assert res[("T3_ROW_TOTAL", "granted")].outcome == "not_assessable"


def test_missing_table_and_completeness():
    doc = synthetic_report("示例市教育局", 2023, synthetic_cells("gov2021", seed=4), missing_tables=["t4"])
    res = _results(doc)
    assert res[("T4_PRESENT", "t4")].outcome == "fail"
    assert res[("T4_PRESENT", "t4")].message == "表四缺失：文档中未找到该表"
    complete = res[("S_CELLS_COMPLETE", "t4")]
    assert complete.outcome == "fail" and complete.message.startswith("表四：应有15个单元格，读到0个，缺15个")
    assert res[("T4_BLOCK_TOTAL", "review")].outcome == "not_assessable"
    assert res[("S_CELLS_COMPLETE", "t3")].outcome == "pass"


def test_template_year_deadline_and_identity():
    doc = synthetic_report("示例市教育局", 2023, synthetic_cells("gov2019", seed=1), published_on="2024-02-15")
    res = _results(doc)
    assert res[("S_TEMPLATE_VS_YEAR", "")].outcome == "fail"
    assert (
        res[("S_TEMPLATE_VS_YEAR", "")].message == "2021年及以后年度的报告应使用2021年版格式（gov2021），实际为 gov2019"
    )
    deadline = res[("S_DEADLINE", "")]
    assert deadline.outcome == "fail" and not deadline.blocking
    assert deadline.message == "发布日期 2024-02-15 晚于法定期限 2024-01-31（条例第四十九条）"
    gov = _results(synthetic_report("示例县人民政府", 2023, synthetic_cells("gov2021", 1), published_on="2024-03-20"))
    assert gov[("S_DEADLINE", "")].outcome == "pass"  # 本级政府: 31 March
    doc = synthetic_report("示例市教育局", 2023, synthetic_cells("gov2021", seed=1))
    doc["year"] = None
    res = _results(doc)
    assert res[("S_IDENTITY", "year")].outcome == "fail"
    assert res[("S_TEMPLATE_VS_YEAR", "")].outcome == "not_assessable"


@pytest.mark.parametrize("variant", ["gov2021", "gov2021_hybrid", "gov2019"])
def test_rules_checked_once_per_report_on_two_meta_facts(variant):
    """S_TEMPLATE_VS_YEAR, S_DEADLINE and S_OCR_VERIFIED: one instance each, comparing two facts of the report."""
    got = {
        i.rule_id: (
            i.instance,
            i.op,
            [(t.address, t.const) for t in i.lhs],
            [(t.address, t.const) for t in i.rhs],
            i.guard,
        )
        for i in rules.rule_instances(variant)
        if i.rule_id in ("S_TEMPLATE_VS_YEAR", "S_DEADLINE", "S_OCR_VERIFIED")
    }
    assert got == {
        "S_TEMPLATE_VS_YEAR": (
            "",
            "eq",
            [("meta.template_edition", None)],
            [("meta.expected_edition", None)],
            "always",
        ),
        "S_DEADLINE": ("", "le", [("meta.published_on", None)], [("meta.deadline", None)], "lhs_present"),
        "S_OCR_VERIFIED": ("", "eq", [("meta.ocr_unverified", None)], [(None, 0.0)], "lhs_present"),
    }
    order = [i.rule_id for i in rules.rule_instances(variant)]
    assert order.index("S_TEMPLATE_VS_YEAR") < order.index("S_DEADLINE") < order.index("S_OCR_VERIFIED")


def test_cross_year_carry_over_all_columns_and_across_template_change():
    prev_cells = synthetic_cells("gov2019", seed=11)
    carried = {c: prev_cells[f"t3.carry_to_next.{c}"] for c in COLUMNS[:-1]}
    this_cells = synthetic_cells("gov2021", seed=12, carried_over=carried)
    prev = synthetic_report("示例市教育局", 2020, prev_cells)
    this = synthetic_report("示例市教育局", 2021, this_cells)
    res = _results(this, prev)
    assert all(res[("XY_T3_CARRY", c)].outcome == "pass" for c in COLUMNS)
    assert ("XY_T2_INFORCE", "rules") not in res  # stock-flow needs a 2021-template previous year
    this_cells["t3.carried_over.legal_research"] += 1
    this_cells["t3.carried_over.total"] += 1
    this_cells["t3.new_received.legal_research"] -= 0  # keep types
    res = _results(synthetic_report("示例市教育局", 2021, this_cells), prev)
    r = res[("XY_T3_CARRY", "legal_research")]
    assert r.outcome == "fail" and r.severity == "warning" and not r.blocking
    expected_prev = prev_cells["t3.carry_to_next.legal_research"]
    assert r.message == f"表三 科研机构列：上年结转({expected_prev + 1}) ≠ 上年报告结转下年度({expected_prev})"
    assert res[("XY_T3_CARRY", "total")].outcome == "fail"
    assert ("XY_T3_CARRY", "total") not in _results(synthetic_report("示例市教育局", 2021, this_cells))


def test_narrative_figures_against_the_tables():
    text = "本年度共收到政府信息公开申请3件。本年度未发生行政复议、行政诉讼案件。"
    assert rules.narrative_facts(text) == {"requests_received": 3, "review": 0, "litigation": 0}
    cells = synthetic_cells("gov2021", seed=9)
    doc = synthetic_report(
        "示例市教育局", 2023, cells, narrative={"requests_received": cells["t3.new_received.total"] + 5}
    )
    r = _results(doc)[("N_REQUESTS_RECEIVED", "")]
    assert r.outcome == "fail" and r.severity == "warning"
    both = cells["t3.new_received.total"] + cells["t3.carried_over.total"]
    ok = _results(synthetic_report("示例市教育局", 2023, cells, narrative={"requests_received": both}))
    assert ok[("N_REQUESTS_RECEIVED", "")].outcome == "pass"  # 新收 + 上年结转 is accepted too


@pytest.mark.parametrize(
    "agency,key",
    [
        ("平潭综合实验区（管委会办公室编制，全区汇总）", "平潭综合实验区"),
        ("平潭综合实验区（区管委会办公室编制，全区汇总）", "平潭综合实验区"),
        ("淮安市洪泽区人民政府（区政府办公室编制）", "淮安市洪泽区人民政府"),
        (" 示例市 教育局 ", "示例市教育局"),
    ],
)
def test_agency_key_ignores_compiler_notes(agency, key):
    assert rules.agency_key(agency) == key
