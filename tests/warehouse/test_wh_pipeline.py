"""The warehouse on a real DuckDB file with real dlt and real GX: layers, states, views, idempotency, revisions."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
from factory import APPLICANT_COLUMNS
from whkit import hongze_cells, q, vid

from flows.ingest import ingest_documents
from warehouse.config import WarehouseConfig
from warehouse.synthetic import not_statutory, synthetic_cells, synthetic_report


def docs_run1() -> dict[str, dict[str, Any]]:
    blank_total = synthetic_cells("gov2021", seed=3)
    blank_total["t3.result_total.total"] = None
    return {
        "A22": synthetic_report("示例市教育局", 2022, synthetic_cells("gov2021", seed=1)),
        # a 2021 report with the old single （六） row and 洪泽区's 表四 errors
        "B": synthetic_report("淮安市洪泽区人民政府（区政府办公室编制）", 2023, hongze_cells("gov2021_hybrid")),
        "C": synthetic_report("示例区财政局", 2023, blank_total),
        "D": synthetic_report("示例区卫生健康委员会", 2023, synthetic_cells("gov2021", seed=4), missing_tables=["t4"]),
        "E": not_statutory("notice-2024.html"),
        "F": synthetic_report("示例市交通运输局", 2020, synthetic_cells("gov2019", seed=5)),
        "G": synthetic_report("示例县自然资源局", 2023, synthetic_cells("gov2021", seed=6)),
    }


def a23_doc(a22: dict[str, Any]) -> dict[str, Any]:
    """示例市教育局 2023 whose 上年结转 disagrees with its 2022 结转下年度 in the 自然人 column."""
    prev = {c["address"]: c["value"] for c in a22["cells"]}
    carried = {c: prev[f"t3.carry_to_next.{c}"] for c in APPLICANT_COLUMNS}
    carried["natural_person"] += 2
    return synthetic_report("示例市教育局", 2023, synthetic_cells("gov2021", seed=2, carried_over=carried))


SNAPSHOT_TABLES = (
    "stg.report_versions",
    "stg.cells",
    "stg.parse_issues",
    "stg.narrative_facts",
    "pub.report_versions",
    "pub.cells",
    "pub.parse_issues",
    "pub.check_results",
    "qa.version_state",
    "qa.check_results",
)


def snapshot(cfg: WarehouseConfig) -> dict[str, list[tuple]]:
    return {t: q(cfg, f"SELECT * FROM {t} ORDER BY ALL") for t in SNAPSHOT_TABLES}


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    cfg = WarehouseConfig.resolve(tmp_path_factory.mktemp("wh") / "xxgk.duckdb")
    docs = docs_run1()
    run1 = ingest_documents(list(docs.values()), warehouse=cfg, data_docs=True)
    docs["A23"] = a23_doc(docs["A22"])
    run2 = ingest_documents([docs["A23"]], warehouse=cfg, data_docs=False)
    ids = {k: vid(d) for k, d in docs.items()}
    return {"cfg": cfg, "docs": docs, "ids": ids, "run1": run1, "run2": run2}


def state_of(cfg: WarehouseConfig, vid: str) -> tuple:
    (row,) = q(cfg, "SELECT state, failing_rules, warning_rules FROM qa.version_state WHERE version_id = ?", [vid])
    return row


def test_layers_and_dlt_state_are_project_local(wh):
    cfg = wh["cfg"]
    schemas = {r[0] for r in q(cfg, "SELECT DISTINCT table_schema FROM information_schema.tables")}
    assert {"stg", "pub", "qa", "ref"} <= schemas
    assert "staging" not in schemas
    assert (cfg.dlt_dir / "xxgk").is_dir()  # dlt pipeline state next to the warehouse, not /var/dlt
    assert cfg.data_docs_index.is_file()


def test_states_after_first_runs(wh):
    cfg, ids = wh["cfg"], wh["ids"]
    assert state_of(cfg, ids["A22"])[0] == "promoted"
    assert state_of(cfg, ids["B"])[:2] == ("quarantined", ["T4_BLOCK_TOTAL"])
    state, failing, _w = state_of(cfg, ids["C"])
    assert state == "quarantined" and "T3_BALANCE" in failing and "T3_RESULT_SUM_2021" in failing
    state, failing, _w = state_of(cfg, ids["D"])
    assert state == "quarantined" and {"T4_PRESENT", "S_CELLS_COMPLETE", "T4_BLOCK_TOTAL"} <= set(failing)
    assert state_of(cfg, ids["E"])[0] == "rejected"
    assert state_of(cfg, ids["F"])[0] == "promoted"
    assert state_of(cfg, ids["G"])[0] == "promoted"
    counts = wh["run1"].counts
    assert (counts["promoted"], counts["quarantined"], counts["rejected"]) == (3, 3, 1)


def test_hongze_style_quarantine_with_exact_messages(wh):
    cfg, vid = wh["cfg"], wh["ids"]["B"]
    rows = q(
        cfg,
        "SELECT instance, outcome, lhs_value, rhs_value, message "
        "FROM qa.check_results WHERE version_id = ? AND rule_id = 'T4_BLOCK_TOTAL' ORDER BY instance",
        [vid],
    )
    by = {r[0]: r for r in rows}
    assert by["review"][1:5] == (
        "fail",
        0.0,
        11.0,
        "表四 行政复议：总计(0) ≠ 结果维持(10)+结果纠正(1)+其他结果(0)+尚未审结(0)",
    )
    assert (
        by["litigation_after_review"][4]
        == "表四 行政诉讼（复议后起诉）：总计(0) ≠ 结果维持(5)+结果纠正(0)+其他结果(0)+尚未审结(0)"
    )
    assert by["litigation_direct"][1] == "pass"
    # the hybrid （六） row is summed by T3_RESULT_SUM_2021, which passes
    (res,) = q(
        cfg,
        "SELECT count(*) FILTER (WHERE outcome <> 'pass') FROM qa.check_results "
        "WHERE version_id = ? AND rule_id = 'T3_RESULT_SUM_2021'",
        [vid],
    )
    assert res == (0,)
    doc = next(d for d in wh["run1"].documents if d.version_id == vid)
    assert doc.messages[0] == "表四 行政复议：总计(0) ≠ 结果维持(10)+结果纠正(1)+其他结果(0)+尚未审结(0)"


def test_blank_total_blocks_as_not_assessable(wh):
    cfg, vid = wh["cfg"], wh["ids"]["C"]
    rows = q(
        cfg,
        "SELECT rule_id, instance, outcome, message FROM qa.check_results WHERE version_id = ? "
        "AND outcome <> 'pass' ORDER BY rule_id, instance",
        [vid],
    )
    assert (
        "T3_BALANCE",
        "total",
        "not_assessable",
        "表三 总计列：办理结果总计未填写，无法核对 本年新收+上年结转 = 办理结果总计+结转下年度",
    ) in rows
    assert all(r[2] == "not_assessable" for r in rows)
    (sem,) = q(cfg, "SELECT semantic FROM stg.cells WHERE version_id = ? AND address = 't3.result_total.total'", [vid])
    assert sem == ("EMPTY",)


def test_missing_table_blocks(wh):
    cfg, vid = wh["cfg"], wh["ids"]["D"]
    rows = dict(
        q(
            cfg,
            "SELECT rule_id || ':' || instance, message FROM qa.check_results "
            "WHERE version_id = ? AND outcome <> 'pass'",
            [vid],
        )
    )
    assert rows["T4_PRESENT:t4"] == "表四缺失：文档中未找到该表"
    assert rows["S_CELLS_COMPLETE:t4"].startswith("表四：应有15个单元格，读到0个，缺15个")


def test_rejected_document_has_a_version_but_no_cells(wh):
    cfg, vid = wh["cfg"], wh["ids"]["E"]
    assert q(cfg, "SELECT template, reject_reason FROM stg.report_versions WHERE version_id = ?", [vid]) == [
        (None, "不是法定格式（2019 试行 / 2021 版）的政府信息公开工作年度报告")
    ]
    assert q(cfg, "SELECT count(*) FROM stg.cells WHERE version_id = ?", [vid]) == [(0,)]
    assert q(cfg, "SELECT count(*) FROM qa.check_results WHERE version_id = ?", [vid]) == [(0,)]


def test_cross_year_carry_mismatch_is_a_recorded_warning_but_promoted(wh):
    cfg, ids = wh["cfg"], wh["ids"]
    state, failing, warnings = state_of(cfg, ids["A23"])
    assert state == "promoted" and failing == [] and "XY_T3_CARRY" in warnings
    rows = q(
        cfg,
        "SELECT instance, outcome, severity, blocking, message, prev_version_id FROM pub.check_results "
        "WHERE version_id = ? AND rule_id = 'XY_T3_CARRY' ORDER BY instance",
        [ids["A23"]],
    )
    by = {r[0]: r for r in rows}
    assert len(rows) == 7
    prev = {c["address"]: c["value"] for c in wh["docs"]["A22"]["cells"]}
    n = prev["t3.carry_to_next.natural_person"]
    assert by["natural_person"][1:5] == (
        "fail",
        "warning",
        False,
        f"表三 自然人列：上年结转({n + 2}) ≠ 上年报告结转下年度({n})",
    )
    assert by["natural_person"][5] == ids["A22"]
    assert by["total"][1] == "fail" and by["legal_research"][1] == "pass"


def test_published_layer_holds_only_promoted_versions(wh):
    cfg, ids = wh["cfg"], wh["ids"]
    published = {r[0] for r in q(cfg, "SELECT version_id FROM pub.report_versions")}
    assert published == {ids["A22"], ids["A23"], ids["F"], ids["G"]}
    for table in ("cells", "check_results"):
        (n,) = q(cfg, f"SELECT count(DISTINCT version_id) FROM pub.{table}")[0]
        assert n == 4
    assert q(cfg, "SELECT count(*) FROM pub.cells WHERE version_id = ?", [ids["G"]]) == [(200,)]
    assert q(cfg, "SELECT count(*) FROM pub.cells WHERE version_id = ?", [ids["F"]]) == [(198,)]


def test_printed_shape_views(wh):
    cfg, ids = wh["cfg"], wh["ids"]
    con = duckdb.connect(str(cfg.db_path))
    try:
        t3 = con.sql(f"SELECT * FROM pub.v_t3 WHERE version_id = '{ids['G']}' ORDER BY row_no").df()
        t4 = con.sql(f"SELECT * FROM pub.v_t4 WHERE version_id = '{ids['G']}' ORDER BY row_no").df()
        t2 = con.sql(f"SELECT * FROM pub.v_t2_gov2021 WHERE version_id = '{ids['G']}' ORDER BY row_no").df()
        t2_19 = con.sql(f"SELECT * FROM pub.v_t2_gov2019 WHERE version_id = '{ids['F']}'").df()
        qa_t3 = con.execute(
            "SELECT DISTINCT version_id, state FROM qa.v_t3 WHERE version_id = ?", [ids["B"]]
        ).fetchall()
    finally:
        con.close()
    value_cols = ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
    assert t3.shape[0] == 25 and list(t3.columns[-7:]) == value_cols
    assert t3["项目"].iloc[0] == "一、本年新收政府信息公开申请数量" and t3["项目"].iloc[-1] == "四、结转下年度继续办理"
    cells = wh["docs"]["G"]["cells"]
    value = {c["address"]: c["value"] for c in cells}
    assert int(t3["自然人"].iloc[0]) == value["t3.new_received.natural_person"]
    assert int(t3["总计"].iloc[23]) == value["t3.result_total.total"]
    assert list(t4["类别"]) == ["行政复议", "行政诉讼（未经复议直接起诉）", "行政诉讼（复议后起诉）"]
    assert list(t4.columns[-5:]) == ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    assert t2.shape[0] == 6 and "本年收费金额（单位：万元）" in t2.columns
    assert float(t2["本年收费金额（单位：万元）"].dropna().iloc[0]) == pytest.approx(
        value["t2_art20_8.admin_fees.fee_amount"]
    )
    assert t2_19.shape[0] == 8 and "采购总金额" in t2_19.columns
    assert qa_t3 == [(ids["B"], "quarantined")]


def test_loading_the_same_documents_again_changes_nothing(wh):
    cfg = wh["cfg"]
    before = snapshot(cfg)
    again = ingest_documents(list(wh["docs"].values()), warehouse=cfg, data_docs=False)
    assert again.counts["unchanged"] == len(wh["docs"])
    assert all(not d.new for d in again.documents)
    assert snapshot(cfg) == before


def test_forced_reload_merges_in_place(wh):
    """Bypassing the sha256 short-cut, dlt's merge on the composite keys still leaves the same rows."""
    cfg = wh["cfg"]
    stable = {
        "stg.cells": "SELECT * FROM stg.cells ORDER BY ALL",
        "stg.parse_issues": "SELECT * FROM stg.parse_issues ORDER BY ALL",
        "pub.cells": "SELECT * FROM pub.cells ORDER BY ALL",
        "qa.version_state": "SELECT version_id, state, failing_rules, warning_rules FROM qa.version_state ORDER BY ALL",
        "qa.check_results": "SELECT version_id, rule_id, instance, outcome, lhs_value, rhs_value, message "
        "FROM qa.check_results ORDER BY ALL",
        "stg.report_versions": "SELECT count(*) FROM stg.report_versions",
    }
    before = {k: q(cfg, sql) for k, sql in stable.items()}
    docs = [wh["docs"][k] for k in ("A22", "B", "C", "E")]
    again = ingest_documents(docs, warehouse=cfg, data_docs=False, skip_known=False)
    assert again.counts["unchanged"] == 0
    assert {k: q(cfg, sql) for k, sql in stable.items()} == before


def test_revision_keeps_the_published_version_until_the_new_one_passes(wh):
    cfg, ids = wh["cfg"], wh["ids"]
    g_cells = {c["address"]: c["value"] for c in wh["docs"]["G"]["cells"]}
    broken = dict(g_cells)
    broken["t3.carry_to_next.natural_person"] += 1  # breaks T3_BALANCE (自然人, 总计) and T3_ROW_TOTAL
    bad = synthetic_report("示例县自然资源局", 2023, broken, revision=1)
    run = ingest_documents([bad], warehouse=cfg, data_docs=False)
    bad_id = vid(bad)
    assert run.documents[0].state == "quarantined" and "T3_BALANCE" in run.documents[0].failing_rules
    assert q(
        cfg, "SELECT version_id FROM pub.report_versions WHERE agency_key = '示例县自然资源局' AND year = 2023"
    ) == [(ids["G"],)]
    assert state_of(cfg, ids["G"])[0] == "promoted"

    fixed = dict(g_cells)
    fixed["t4.review.pending"] += 1
    fixed["t4.review.total"] += 1
    good = synthetic_report("示例县自然资源局", 2023, fixed, revision=2)
    run = ingest_documents([good], warehouse=cfg, data_docs=False)
    good_id = vid(good)
    assert run.documents[0].state == "promoted"
    assert run.superseded == {ids["G"]: good_id}
    assert q(
        cfg, "SELECT version_id FROM pub.report_versions WHERE agency_key = '示例县自然资源局' AND year = 2023"
    ) == [(good_id,)]
    assert q(cfg, "SELECT state, superseded_by FROM qa.version_state WHERE version_id = ?", [ids["G"]]) == [
        ("superseded", good_id)
    ]
    assert state_of(cfg, bad_id)[0] == "quarantined"
    assert q(cfg, "SELECT count(*) FROM pub.cells WHERE version_id = ?", [ids["G"]]) == [(0,)]
    (v,) = q(cfg, "SELECT CAST(尚未审结 AS BIGINT) FROM pub.v_t4 WHERE version_id = ? AND row_no = 1", [good_id])[0]
    assert v == fixed["t4.review.pending"]
