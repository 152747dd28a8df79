"""A report whose tables could not be read (template set, cells missing) is quarantined with its
reasons, not rejected as "not a statutory report" (template null)."""

from __future__ import annotations

import factory
from whkit import q

from flows.ingest import ingest_documents
from sources.parsing.parse import parse_bytes
from warehouse.config import WarehouseConfig


def test_unreadable_tables_are_quarantined_and_a_notice_rejected(tmp_path):
    facts = factory.make_facts("示例市统计局", 2023, "gov2021", seed=7)
    spaced = factory.render(facts, "text").decode().replace("\t", "  ").encode()
    docs = [parse_bytes(spaced, "report.txt"), parse_bytes(factory.render_notice_html(), "notice.html")]
    assert docs[0]["template"] == "gov2021" and docs[1]["template"] is None
    cfg = WarehouseConfig.resolve(tmp_path / "xxgk.duckdb")
    summary = ingest_documents(docs, warehouse=cfg, data_docs=False)
    report, notice = summary.documents
    assert (report.state, notice.state) == ("quarantined", "rejected")
    assert "S_CELLS_COMPLETE" in report.failing_rules
    rows = q(cfg, "SELECT template, reject_reason, cell_count FROM stg.report_versions ORDER BY template NULLS LAST")
    assert rows[0] == ("gov2021", None, 200)
    assert rows[1][0] is None and "不是法定格式" in rows[1][1]
    issues = q(cfg, "SELECT code, severity FROM stg.parse_issues WHERE code = 'table_unreadable'")
    assert issues == [("table_unreadable", "error")]
