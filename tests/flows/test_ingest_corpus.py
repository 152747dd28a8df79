"""The real reference reports of ../shared/corpus through the whole pipeline (skipped when absent)."""

from __future__ import annotations

from refdata import shared_dir

from flows.ingest import ingest_paths


def test_corpus_reports_promoted_quarantined_rejected(tmp_path):
    corpus = shared_dir("corpus") / "docs"
    summary = ingest_paths([corpus], warehouse=tmp_path / "xxgk.duckdb", data_docs=False)
    by_name = {d.path.rsplit("/", 1)[-1]: d for d in summary.documents}
    hz = by_name["hongzequ-2023.pdf"]
    assert hz.state == "quarantined" and hz.failing_rules == ["T4_BLOCK_TOTAL"]
    assert hz.messages == [
        "表四 行政复议：总计(0) ≠ 结果维持(10)+结果纠正(1)+其他结果(0)+尚未审结(0)",
        "表四 行政诉讼（复议后起诉）：总计(0) ≠ 结果维持(5)+结果纠正(0)+其他结果(0)+尚未审结(0)",
    ]
    assert by_name["pingtan-2023.html"].state == "promoted"
    assert by_name["pingtan-2019.html"].state == "promoted"
    assert by_name["pingtan-2018.html"].state == "rejected"
    assert by_name["blank-template-2021.docx"].state == "rejected"
