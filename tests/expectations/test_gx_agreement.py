"""Great Expectations gates promotion, and GX, DuckDB SQL and the Python reference agree on every check."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from factory import APPLICANT_COLUMNS
from whkit import q, vid

from expectations.gx_runner import validate
from flows.ingest import ingest_documents
from sources import rules
from warehouse import checks
from warehouse.config import WarehouseConfig
from warehouse.synthetic import synthetic_cells, synthetic_report

ROOT = Path(__file__).resolve().parents[2]


def tricky_docs() -> list[dict]:
    """Reports that exercise every outcome of many rules (and a previous year for cross-year rules)."""
    docs = []
    prev = synthetic_cells("gov2021", seed=30)
    docs.append(synthetic_report("示例市统计局", 2022, prev))
    this = synthetic_cells("gov2021", seed=31)
    this["t3.carried_over.legal_other"] = prev["t3.carry_to_next.legal_other"] + 1  # XY warning (+ row total)
    this["t3.carry_to_next.natural_person"] += 3  # T3_BALANCE error
    this["t2_art20_1.rules.in_force"] = prev["t2_art20_1.rules.in_force"] + 50  # stock-flow warning
    docs.append(
        synthetic_report(
            "示例市统计局", 2023, this, narrative={"requests_received": 999, "review": 0}, published_on="2024-02-20"
        )
    )
    odd = synthetic_cells("gov2021_hybrid", seed=32)
    odd["t3.granted.natural_person"] = "若干"  # TEXT
    odd["t3.result_total.total"] = None  # blank 总计
    odd["t3.unable_not_held.legal_commercial"] = None  # blank component = 0
    odd["t2_art20_5.admin_licensing.decisions"] = -1  # negative count
    odd["t2_art20_8.admin_fees.fee_amount"] = 3.25  # decimal amount, fine
    odd["t4.review.corrected"] = 0.5  # not an integer
    docs.append(
        synthetic_report(
            "示例区司法局", 2023, odd, sections=["overall", "requests"], missing=["t2_art20_6.admin_coercion.decisions"]
        )
    )
    docs.append(synthetic_report("示例区民政局", 2021, synthetic_cells("gov2019", seed=33), missing_tables=["t4"]))
    y2020 = synthetic_cells("gov2019", seed=34)
    docs.append(synthetic_report("示例县人民政府", 2020, y2020, published_on="2021-03-30"))
    carried = {c: y2020[f"t3.carry_to_next.{c}"] for c in APPLICANT_COLUMNS}  # across the 2020 → 2021 template change
    docs.append(synthetic_report("示例县人民政府", 2021, synthetic_cells("gov2021", seed=35, carried_over=carried)))
    return docs


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    cfg = WarehouseConfig.resolve(tmp_path_factory.mktemp("gx") / "xxgk.duckdb")
    docs = tricky_docs()
    summary = ingest_documents(docs, warehouse=cfg, data_docs=True)
    con = duckdb.connect(str(cfg.db_path))
    try:
        results = con.sql("SELECT * FROM qa.check_results").df()
    finally:
        con.close()
    return cfg, docs, summary, results


def test_gx_sql_and_python_agree_on_every_check(run):
    _cfg, _docs, summary, results = run
    assert summary.disagreements == []
    assert len(results) > 1000
    assert (results["gx_outcome"] == results["sql_outcome"]).all()
    assert (results["gx_outcome"] == results["py_outcome"]).all()
    assert (results["outcome"] == results["gx_outcome"]).all()
    seen = set(zip(results["rule_id"], results["outcome"], strict=True))
    for expected in [
        ("T3_BALANCE", "fail"),
        ("T3_BALANCE", "not_assessable"),
        ("T3_ROW_TOTAL", "fail"),
        ("T3_TYPES", "not_assessable"),
        ("T2_TYPES_2021", "fail"),
        ("T4_TYPES", "fail"),
        ("T4_PRESENT", "fail"),
        ("S_CELLS_COMPLETE", "fail"),
        ("S_SIX_SECTIONS", "fail"),
        ("S_TEMPLATE_VS_YEAR", "fail"),
        ("XY_T3_CARRY", "fail"),
        ("XY_T3_CARRY", "pass"),
        ("XY_T2_INFORCE", "fail"),
        ("N_REQUESTS_RECEIVED", "fail"),
        ("N_REVIEW_LITIGATION", "fail"),
        ("S_DEADLINE", "fail"),
        ("S_DEADLINE", "pass"),
        ("T3_RESULT_SUM_2019", "pass"),
    ]:
        assert expected in seen, expected


def test_states_follow_the_blocking_failures(run):
    _cfg, docs, summary, results = run
    states = {d.agency: (d.year, d.state) for d in summary.documents if d.year != 2021 or d.agency != "示例县人民政府"}
    assert states["示例市统计局"] == (2023, "quarantined")  # the 2022 entry is overwritten in this dict
    assert states["示例区司法局"][1] == "quarantined"
    assert states["示例区民政局"][1] == "quarantined"
    assert states["示例县人民政府"][1] == "promoted"  # 本级政府 published 30 March: within its deadline
    by_version = results[(results["blocking"]) & (results["outcome"] != "pass")].groupby("version_id")["rule_id"]
    blocked = set(by_version.groups)
    for d in summary.documents:
        assert (d.state == "quarantined") == (d.version_id in blocked)


def test_cross_year_carry_over_spans_the_template_change(run):
    _cfg, docs, _summary, results = run
    prev = vid(docs[-2])
    mine = results[results["version_id"] == vid(docs[-1])]
    carry = mine[mine["rule_id"] == "XY_T3_CARRY"]
    assert len(carry) == 7 and (carry["outcome"] == "pass").all() and (carry["prev_version_id"] == prev).all()
    assert "XY_T2_INFORCE" not in set(mine["rule_id"])  # the stock-flow needs a 2021-template previous year


def test_printed_views_show_a_count_as_printed_never_rounded(run):
    """表四 行政复议 结果纠正 printed 0.5 (T4_TYPES fails): the printed-shape view leaves it empty instead of
    showing a whole number that nobody printed; the text cell of 表三 is empty there too."""
    cfg, docs, _summary, _results = run
    odd = docs[2]
    printed = {c["address"]: c["value"] for c in odd["cells"]}
    assert printed["t4.review.corrected"] == 0.5
    t4 = q(
        cfg,
        'SELECT "结果维持", "结果纠正", "总计" FROM qa.v_t4 WHERE version_id = ? AND row_key = ?',
        [vid(odd), "review"],
    )
    assert t4 == [(printed["t4.review.upheld"], None, printed["t4.review.total"])]
    t3 = q(cfg, 'SELECT "自然人", "商业企业" FROM qa.v_t3 WHERE version_id = ? AND row_key = ?', [vid(odd), "granted"])
    assert t3 == [(None, printed["t3.granted.legal_commercial"])]


def test_gx_decides_from_lhs_and_rhs_not_from_the_sql_verdict(run):
    cfg, _docs, _summary, _results = run
    con = duckdb.connect(str(cfg.db_path))
    try:
        frame = checks.check_inputs(con)
    finally:
        con.close()
    target = frame.index[(frame["rule_id"] == "T4_BLOCK_TOTAL") & (frame["sql_outcome"] == "pass")][0]
    frame.loc[target, "rhs"] = frame.loc[target, "rhs"] + 1  # a disagreement only GX can notice now
    frame["sql_outcome"] = "pass"
    outcome = validate(frame, cfg.gx_dir, run_name="tamper", docs=False)
    key = frame.loc[target, "check_key"]
    assert outcome.outcome_of(key) == "fail" and key in outcome.failed and outcome.rows == len(frame)


def test_parse_time_evaluation_equals_the_warehouse(run):
    _cfg, docs, _summary, results = run
    doc = docs[2]  # 示例区司法局: hybrid with text, blanks, negatives
    stored = results[results["version_id"] == vid(doc)].set_index(["rule_id", "instance"])
    local = rules.evaluate_report(doc)
    assert len(local) == len(stored)
    for r in local:  # the warehouse keeps the message of every check that did not pass
        row = stored.loc[(r.rule_id, r.instance)]
        message = None if pd.isna(row["message"]) else row["message"]
        assert (row["outcome"], message) == (r.outcome, None if r.outcome == "pass" else r.message)


def test_the_reference_on_selected_checks_equals_the_full_evaluation(run):
    """Outside its sample, the Python reference reads only the facts the non-passing checks need:
    the results (messages included) must be those of an evaluation with every fact."""
    cfg, _docs, _summary, results = run
    con = duckdb.connect(str(cfg.db_path))
    try:
        checks.materialise_inputs(con)
        targets = checks.reference_targets(con, sample=0)
        selected = checks.python_results(targets, checks.reference_facts(con, targets))
        full = checks.python_results(checks.batch_versions(con), checks.batch_facts(con))
    finally:
        con.close()
    nonpass = results[results["sql_outcome"] != "pass"]
    keys = set(nonpass["version_id"] + "|" + nonpass["rule_id"] + "|" + nonpass["instance"])
    assert all(t.keys is not None for t in targets) and set(selected) == keys
    assert len({k.split("|")[1] for k in keys}) >= 15  # many rules and message styles
    assert selected == {k: full[k] for k in keys}


def test_data_docs_and_suite_files_are_written(run):
    cfg, _docs, summary, _results = run
    assert summary.data_docs and cfg.data_docs_index.is_file()
    suite_json = cfg.gx_dir / "expectations" / "xxgk_statutory_rules.json"
    assert suite_json.is_file() and "T3_BALANCE" in suite_json.read_text(encoding="utf-8")


def test_great_expectations_is_imported_in_one_module_only():
    importers = []
    for folder in ("sources", "warehouse", "expectations", "flows"):
        for path in (ROOT / folder).rglob("*.py"):
            if re.search(r"^\s*(import|from)\s+great_expectations", path.read_text(encoding="utf-8"), re.M):
                importers.append(path.relative_to(ROOT).as_posix())
    assert importers == ["expectations/gx_runner.py"]
