"""Staging frames: what a parse result becomes before dlt loads it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from warehouse.frames import RunInfo, build_frames
from warehouse.synthetic import synthetic_cells, synthetic_report

RUN = RunInfo("run-1", datetime(2024, 2, 1, tzinfo=UTC))


def test_an_unreadable_publication_date_is_null_with_a_reason_never_guessed():
    bad = synthetic_report("示例市教育局", 2023, synthetic_cells("gov2021", seed=1), published_on="2024年13月")
    good = synthetic_report("示例市档案局", 2023, synthetic_cells("gov2021", seed=2), published_on="2024-01-20")
    frames = build_frames([bad, good], RUN)
    versions = frames["report_versions"].to_pylist()
    assert [v["published_on"] for v in versions] == [None, date(2024, 1, 20)]
    issues = [i for i in frames["parse_issues"].to_pylist() if i["code"] == "published_on_unreadable"]
    assert [(i["version_id"], i["severity"]) for i in issues] == [(versions[0]["version_id"], "warning")]
    assert "2024年13月" in issues[0]["message"]
    assert versions[0]["issue_count"] == len(bad["issues"]) + 1 and versions[1]["issue_count"] == len(good["issues"])
