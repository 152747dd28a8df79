"""Great Expectations decides every stored check, one named expectation per rule, from the sides the
warehouse computes in SQL; the verdicts, values and messages equal the parse-time evaluation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from factory import APPLICANT_COLUMNS
from whkit import q, vid

from expectations.gx_runner import validate
from expectations.specs import rule_expectations
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


def test_every_outcome_is_decided_and_stored(run):
    _cfg, _docs, _summary, results = run
    assert len(results) > 1000
    assert set(results["outcome"]) == {"pass", "fail", "not_assessable"}
    assert not {"gx_outcome", "sql_outcome", "py_outcome"} & set(results.columns)  # one verdict, one engine
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


def _gx_of_the_last_batch(cfg) -> tuple[pd.DataFrame, object]:
    """The check inputs of the fixture's run recomputed from the warehouse, and GX's run over them."""
    con = duckdb.connect(str(cfg.db_path))
    try:
        checks.materialise_inputs(con)
        frame = checks.check_frame(con)
    finally:
        con.close()
    return frame, validate(frame, cfg.gx_dir, run_name="again", docs=False)


def test_each_rule_has_its_expectation_and_its_verdicts(run):
    cfg, docs, _summary, results = run
    catalogue = [d.rule_id for d in rules.rule_catalogue()]
    assert [e.rule_id for e in rule_expectations()] == catalogue  # one expectation per rule, named after it
    for e in rule_expectations():
        suite = json.loads((cfg.gx_dir / "expectations" / f"{e.suite_name}.json").read_text(encoding="utf-8"))
        (expectation,) = suite["expectations"]
        assert expectation["meta"]["rule_id"] == e.rule_id and expectation["description"].startswith(e.rule_id)
    by_rule = {r.rule_id: r for r in _gx_of_the_last_batch(cfg)[1].rules}
    stored = results.groupby("rule_id")["outcome"]
    assert set(by_rule) == set(results["rule_id"])  # every rule with checks ran its expectation
    for rule_id, run_of_rule in by_rule.items():  # GX's counts per rule are the stored verdicts
        outcomes = stored.get_group(rule_id)
        assert (run_of_rule.checks, run_of_rule.unexpected) == (len(outcomes), int((outcomes != "pass").sum()))
    assert by_rule["T3_BALANCE"].unexpected == 2 and 0 < by_rule["T3_TYPES"].pass_rate < 1
    # with values: 示例市统计局 2023 carried 3 more to next year than its 自然人 column balances
    balance = results[(results["version_id"] == vid(docs[1])) & (results["rule_id"] == "T3_BALANCE")]
    row = balance.set_index("instance").loc["natural_person"]
    assert row["outcome"] == "fail" and row["lhs_value"] + 3 == row["rhs_value"]
    assert row["message"].startswith("表三 自然人列：本年新收(") and " ≠ " in row["message"]
    text = results[(results["rule_id"] == "T3_TYPES") & (results["outcome"] == "not_assessable")]
    assert list(text["instance"]) == ["t3.granted.natural_person"] and text["lhs_value"].isna().all()
    assert text["message"].iloc[0] == "表三 （一）予以公开 / 自然人：“若干”不是数字"


def test_gx_decides_from_lhs_and_rhs(run):
    cfg, _docs, _summary, results = run
    frame, _gx = _gx_of_the_last_batch(cfg)
    ids = zip(results["version_id"], results["rule_id"], results["instance"], strict=True)
    stored = dict(zip(ids, results["outcome"], strict=True))
    con = duckdb.connect(str(cfg.db_path))
    try:
        checks.materialise_inputs(con)
        keys = con.sql(f"SELECT rowid, version_id, rule_id, instance FROM {checks.INPUTS_TABLE}").fetchall()
    finally:
        con.close()
    passing = [k for k, *check in keys if stored[tuple(check)] == "pass" and check[1] == "T4_BLOCK_TOTAL"]
    target = frame.index[frame["check_key"] == passing[0]][0]
    frame.loc[target, "rhs"] = frame.loc[target, "rhs"] + 1  # sides that no longer hold
    outcome = validate(frame, cfg.gx_dir, run_name="tamper", docs=False)
    assert outcome.outcome_of(passing[0]) == "fail" and outcome.rows == len(frame)
    assert outcome.outcome_of(passing[1]) == "pass"


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


def test_data_docs_show_each_rule_and_the_failing_versions(run):
    cfg, docs, summary, results = run
    assert summary.data_docs and cfg.data_docs_index.is_file()
    pages = list((cfg.gx_dir / "uncommitted" / "data_docs" / "local_site" / "validations").rglob("*.html"))
    shown = {
        rule
        for rule in {r.rule_id for r in rule_expectations()}
        if any(f"xxgk_rule_{rule}/" in p.as_posix() for p in pages)
    }
    assert shown == set(results["rule_id"])  # one validation result per rule that had checks in the run
    balance = [p for p in pages if "xxgk_rule_T3_BALANCE/" in p.as_posix()]
    assert vid(docs[1]) in balance[0].read_text(encoding="utf-8")  # the version that broke it


def test_great_expectations_is_imported_in_one_module_only():
    importers = []
    for folder in ("sources", "warehouse", "expectations", "flows"):
        for path in (ROOT / folder).rglob("*.py"):
            if re.search(r"^\s*(import|from)\s+great_expectations", path.read_text(encoding="utf-8"), re.M):
                importers.append(path.relative_to(ROOT).as_posix())
    assert importers == ["expectations/gx_runner.py"]


def test_a_run_id_that_reads_as_a_date_with_a_bad_offset_is_stored(run):
    """Run ids end in six random hex digits; ``-6354ad`` parses (dateutil) as a -63 h offset, which GX
    used as the run time when none was given and then failed to store the result."""
    cfg, _docs, _summary, _results = run
    frame, _gx = _gx_of_the_last_batch(cfg)
    outcome = validate(frame, cfg.gx_dir, run_name="20261203T125844Z-6354ad", docs=True)
    assert outcome.rows == len(frame)
