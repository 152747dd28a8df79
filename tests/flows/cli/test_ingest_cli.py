"""End to end: real documents (tests/factory.py) → parse → dlt → GX → promotion, and the CLI commands."""

from __future__ import annotations

import json

import pytest
from factory import break_t4_total, make_facts, render, render_notice_html
from typer.testing import CliRunner
from whkit import lock_held

from flows.cli import app
from flows.ingest import expand_paths, ingest_paths

runner = CliRunner()
HONGZE_MESSAGE = "表四 行政复议：总计(0) ≠ 结果维持(10)+结果纠正(1)+其他结果(0)+尚未审结(0)"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Three report files and a notice, written to a folder, plus a warehouse path."""
    root = tmp_path_factory.mktemp("e2e")
    docs = root / "docs"
    docs.mkdir()
    good = make_facts("示例市教育局", 2023, seed=1)
    (docs / "jyj-2023.html").write_bytes(render(good, "html"))
    hongze = make_facts("示例县人民政府", 2023, seed=2, single_other=True)
    hongze["cells"] = break_t4_total(hongze["cells"], "review", (10, 1, 0, 0), 0)
    (docs / "xzf-2023.txt").write_bytes(render(hongze, "text"))
    older = make_facts("示例市交通运输局", 2020, template="gov2019", seed=3)
    (docs / "jtysj-2020.html").write_bytes(render(older, "html"))
    (docs / "notice-2024.html").write_bytes(render_notice_html())
    (docs / "README.md").write_text("not a report", encoding="utf-8")
    wh = root / "wh" / "xxgk.duckdb"
    result = runner.invoke(app, ["ingest", str(docs), "--warehouse", str(wh), "--json"])
    assert result.exit_code == 0, result.output
    return {
        "root": root,
        "docs": docs,
        "wh": wh,
        "facts": {"good": good, "hongze": hongze},
        "ingest": json.loads(result.stdout),
    }


def test_folder_expansion_skips_readme(corpus):
    names = sorted(p.name for p in expand_paths([corpus["docs"]]))
    assert names == ["jtysj-2020.html", "jyj-2023.html", "notice-2024.html", "xzf-2023.txt"]


def test_ingest_json_reports_each_document(corpus):
    out = corpus["ingest"]
    by_name = {d["path"].rsplit("/", 1)[-1]: d for d in out["documents"]}
    assert by_name["jyj-2023.html"]["state"] == "promoted"
    assert by_name["jtysj-2020.html"]["state"] == "promoted"
    assert by_name["notice-2024.html"]["state"] == "rejected"
    hz = by_name["xzf-2023.txt"]
    assert hz["state"] == "quarantined" and hz["failing_rules"] == ["T4_BLOCK_TOTAL"]
    assert hz["messages"] == [HONGZE_MESSAGE]
    assert out["counts"]["promoted"] == 2 and out["counts"]["quarantined"] == 1 and out["counts"]["rejected"] == 1
    assert "disagreements" not in out  # one engine decides: nothing to disagree


def test_status_json(corpus):
    result = runner.invoke(app, ["status", "--warehouse", str(corpus["wh"]), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["counts"] == {"promoted": 2, "quarantined": 1, "rejected": 1, "superseded": 0}
    entries = {(v["agency"], v["year"]): v for v in data["versions"]}
    assert entries[("示例县人民政府", 2023)]["state"] == "quarantined"
    assert entries[("示例县人民政府", 2023)]["failing_rules"] == ["T4_BLOCK_TOTAL"]
    assert entries[("示例市教育局", 2023)]["failing_rules"] == []
    assert {v["state"] for v in data["versions"]} == {"promoted", "quarantined", "rejected"}
    assert {row["year"] for row in data["by_year"]} == {2020, 2023, None}


def test_checks_json_and_filters(corpus):
    wh = str(corpus["wh"])
    result = runner.invoke(app, ["checks", "--warehouse", wh, "--json", "--rule", "T4_BLOCK_TOTAL"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert (row["agency"], row["year"], row["rule_id"], row["instance"]) == (
        "示例县人民政府",
        2023,
        "T4_BLOCK_TOTAL",
        "review",
    )
    assert (row["severity"], row["blocking"], row["outcome"], row["lhs"], row["rhs"]) == (
        "error",
        True,
        "fail",
        0.0,
        11.0,
    )
    assert row["message"] == HONGZE_MESSAGE
    none = json.loads(runner.invoke(app, ["checks", "-w", wh, "--json", "--agency", "教育局"]).stdout)
    assert all(r["severity"] != "error" for r in none)
    county = json.loads(runner.invoke(app, ["checks", "-w", wh, "--json", "--agency", "县人民"]).stdout)
    assert {r["agency"] for r in county} == {"示例县人民政府"} and "T4_BLOCK_TOTAL" in {r["rule_id"] for r in county}
    by_year = json.loads(
        runner.invoke(app, ["checks", "-w", wh, "--json", "--year", "2020", "--severity", "error"]).stdout
    )
    assert by_year == []


def test_human_output_is_chinese(corpus):
    wh = str(corpus["wh"])
    checks = runner.invoke(app, ["checks", "-w", wh], env={"COLUMNS": "200"})
    assert checks.exit_code == 0 and "已隔离" in checks.stdout and "T4_BLOCK_TOTAL" in checks.stdout
    assert "结果维持(10)" in checks.stdout
    status = runner.invoke(app, ["status", "-w", wh], env={"COLUMNS": "200"})
    assert status.exit_code == 0 and "已发布" in status.stdout and "按年度统计" in status.stdout


def test_second_ingest_changes_nothing(corpus):
    result = runner.invoke(app, ["ingest", str(corpus["docs"]), "-w", str(corpus["wh"]), "--json", "--no-docs"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["counts"]["unchanged"] == 4 and out["counts"]["promoted"] == 0
    hz = next(d for d in out["documents"] if d["path"].endswith("xzf-2023.txt"))
    assert hz["state"] == "quarantined" and not hz["new"] and hz["messages"] == [HONGZE_MESSAGE]


def test_corrected_document_replaces_nothing_until_it_passes_then_publishes(corpus):
    facts = corpus["facts"]["hongze"]
    facts["cells"]["t4.review.total"] = 11  # the corrected re-publication
    fixed = corpus["root"] / "xzf-2023-corrected.txt"
    fixed.write_bytes(render(facts, "text"))
    summary = ingest_paths([fixed], warehouse=corpus["wh"], data_docs=False)
    (doc,) = summary.documents
    assert doc.state == "promoted" and doc.new
    data = json.loads(runner.invoke(app, ["status", "-w", str(corpus["wh"]), "--json"]).stdout)
    states = sorted(v["state"] for v in data["versions"] if v["agency"] == "示例县人民政府")
    assert states == ["promoted", "quarantined"]


def test_agency_and_year_options_override_the_document(corpus):
    facts = make_facts("示例市审计局", 2023, seed=8)
    path = corpus["root"] / "sjj.html"
    path.write_bytes(render(facts, "html"))
    summary = ingest_paths([path], agency="示例市审计局（办公室）", year=2022, warehouse=corpus["wh"], data_docs=False)
    (doc,) = summary.documents
    assert (doc.agency, doc.year) == ("示例市审计局（办公室）", 2022)
    # published in 2024 for a 2022 report: late, but the deadline is a warning, not a blocking rule
    assert doc.state == "promoted" and doc.failing_rules == [] and "S_DEADLINE" in doc.warning_rules


def test_locked_warehouse_is_one_line_on_stderr(corpus):
    with lock_held(corpus["wh"]) as holder:
        result = runner.invoke(app, ["status", "-w", str(corpus["wh"])])
        assert result.exit_code == 2
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and f"正被进程 {holder.pid}" in lines[0]


def test_missing_path_and_empty_warehouse(tmp_path):
    result = runner.invoke(app, ["ingest", str(tmp_path / "nope.pdf"), "-w", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 2 and "文件或文件夹不存在" in result.stderr
    # a warehouse path that does not exist is an error (a mistyped path is not an empty warehouse)
    status = runner.invoke(app, ["status", "-w", str(tmp_path / "w.duckdb"), "--json"])
    assert status.exit_code == 2 and "不存在" in status.stderr and status.stdout == ""
    assert not (tmp_path / "w.duckdb").exists()
