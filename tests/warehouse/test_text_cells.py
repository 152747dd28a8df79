"""A cell with text where a number belongs: stored as TEXT, every check reading it is 'not assessable'
(not pass, not a crash), and the report is not promoted."""

from __future__ import annotations

import duckdb

from flows.ingest import ingest_documents
from sources import rules
from warehouse.config import WarehouseConfig
from warehouse.synthetic import synthetic_cells, synthetic_report

ADDRESS = "t3.granted.natural_person"


def test_text_in_a_number_cell_is_not_assessable_and_blocks(tmp_path):
    cfg = WarehouseConfig.resolve(tmp_path / "xxgk.duckdb")
    cells = synthetic_cells("gov2021", seed=12)
    cells[ADDRESS] = "若干"
    doc = synthetic_report("示例市统计局", 2023, cells)
    summary = ingest_documents([doc], warehouse=cfg, data_docs=False)
    (out,) = summary.documents
    assert out.state == "quarantined"
    touching = {
        (i.rule_id, i.instance)
        for i in rules.rule_instances("gov2021")
        if any(t.address == ADDRESS for t in (*i.lhs, *i.rhs, *i.rhs_alt))
    }
    # its type, its row's 总计 and its column's （七）总计 — stated here, not only read from the rules
    assert touching == {("T3_TYPES", ADDRESS), ("T3_ROW_TOTAL", "granted"), ("T3_RESULT_SUM_2021", "natural_person")}
    con = duckdb.connect(str(cfg.db_path))
    try:
        stored = con.execute(
            "SELECT semantic, raw, value FROM stg.cells WHERE version_id = ? AND address = ?", [out.version_id, ADDRESS]
        ).fetchall()
        results = con.execute(
            "SELECT rule_id, instance, outcome, lhs_value, rhs_value, message FROM qa.check_results "
            "WHERE version_id = ?",
            [out.version_id],
        ).fetchall()
        published = con.execute("SELECT count(*) FROM pub.report_versions").fetchall()
    finally:
        con.close()
    assert stored == [("TEXT", "若干", None)]
    not_assessable = {(r[0], r[1]) for r in results if r[2] == "not_assessable"}
    assert not_assessable == touching
    assert all(r[2] == "pass" for r in results if (r[0], r[1]) not in touching)
    assert all(r[3] is None and r[4] is None for r in results if (r[0], r[1]) in touching)  # no side computed
    by = {(r[0], r[1]): r[5] for r in results}
    assert by[("T3_TYPES", ADDRESS)].endswith("“若干”不是数字")
    assert "为文字“若干”" in by[("T3_ROW_TOTAL", "granted")] and "无法核对" in by[("T3_ROW_TOTAL", "granted")]
    assert "T3_TYPES" in out.failing_rules and published == [(0,)]
