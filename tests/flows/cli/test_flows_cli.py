"""``xxgk run --json``, ``xxgk demo`` (local demo website) and ``xxgk demo --parse-only``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from flows.cli import app

pytestmark = pytest.mark.usefixtures("prefect_harness")
runner = CliRunner()


def test_run_json_summary(site_kit, tmp_path):
    Spec = site_kit.Spec
    site = site_kit.serve(
        [
            Spec("c-jyj", "示例市教育局", "html"),
            Spec("c-rsj", "示例市人力资源和社会保障局", "text"),
            Spec("c-gone", "示例市审计局", "html"),
        ],
        [2023],
        absent=[("c-gone", 2023)],
        seed=7,
    )
    wh = tmp_path / "wh.duckdb"
    args = [
        "run",
        "--year",
        "2023",
        "--sources",
        str(site.registry),
        "--warehouse",
        str(wh),
        "--min-interval",
        "0",
        "--no-docs",
        "--as-of",
        "2024-06-01",
        "--agencies",
        "c-jyj,c-gone",
        "--agency",
        "c-rsj",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["year"], out["agencies_attempted"], out["documents_fetched"], out["parsed"]) == (2023, 3, 2, 2)
    assert (out["promoted"] + out["quarantined"], out["missing"], out["failed"]) == (2, 1, 0)
    assert [a["agency_id"] for a in out["agencies"]] == ["c-jyj", "c-gone", "c-rsj"]
    assert {"imports", "api_wait", "ready", "flow_start", "first_fetch"} <= set(out["startup"])
    assert out["startup"]["first_fetch"] >= out["startup"]["ready"]

    again = json.loads(runner.invoke(app, args).stdout)
    assert (again["documents_fetched"], again["not_modified"], again["parsed"], again["unchanged"]) == (0, 2, 0, 2)


def test_run_reports_registry_problems_in_one_line(tmp_path):
    bad = tmp_path / "agencies.toml"
    bad.write_text('[[agency]]\nid = "x"\n', encoding="utf-8")
    result = runner.invoke(app, ["run", "--year", "2023", "--sources", str(bad), "--warehouse", str(tmp_path / "w")])
    assert result.exit_code == 2
    assert "agencies.toml" in result.stderr and "missing required key 'name'" in result.stderr


def test_run_rejects_unknown_agency_ids(site_kit, tmp_path):
    site = site_kit.serve([site_kit.Spec("u-jyj", "示例市教育局", "html")], [2023])
    result = runner.invoke(
        app,
        ["run", "--sources", str(site.registry), "--warehouse", str(tmp_path / "w.duckdb"), "--agencies", "u-jyj,nope"],
    )
    assert result.exit_code == 2 and "unknown agency id(s) nope" in result.stderr


def test_demo_collects_the_demo_site(tmp_path):
    result = runner.invoke(app, ["demo", "--warehouse", str(tmp_path / "demo.duckdb")])
    assert result.exit_code == 0, result.output
    text = result.stdout
    for expected in (
        "示例网站 http://127.0.0.1:",
        "demo-rsj",
        "demo-zrzyj",
        "demo-jyj",
        "已隔离（未通过校验，不发布）",
        "T4_BLOCK_TOTAL",
        "表四 行政复议：总计(0) ≠ 结果维持(6)+结果纠正(1)+其他结果(0)+尚未审结(1)",
        "缺失的年报",
        "demo-scjgj",
        "/scjgj/xxgk/2023nb.html → 不存在（HTTP 404，页面不存在）",  # Chinese, not "missing（HTTP 404）"
    ):
        assert expected in text, expected
    import duckdb

    con = duckdb.connect(str(tmp_path / "demo.duckdb"), read_only=True)
    try:
        states = dict(con.execute("select agency_id, coalesce(doc_state, status) from qa.acquisitions").fetchall())
    finally:
        con.close()
    assert states == {
        "demo-rsj": "promoted",
        "demo-zrzyj": "promoted",
        "demo-jyj": "promoted",
        "demo-xzf": "quarantined",
        "demo-scjgj": "missing",
    }


def test_demo_parse_only_prints_the_tables():
    result = runner.invoke(app, ["demo", "--parse-only"])
    assert result.exit_code == 0, result.output
    assert "xxgk 演示：解析内置示例年报" in result.stdout and "示例县人民政府" in result.stdout


def test_every_count_of_a_run_has_a_chinese_label():
    from flows.cli.run import COUNT_LABELS, STATUS_LABELS
    from flows.ingest import STATE_LABELS
    from flows.outcome import counts
    from warehouse.acquisitions import STATUSES
    from warehouse.queries import STATES

    assert list(COUNT_LABELS) == list(counts([], 0))  # shown in the run's order; backfill totals sum these
    assert set(STATUS_LABELS) == set(STATUSES)
    assert tuple(STATE_LABELS) == STATES  # every version state of the warehouse, in its order
    assert (COUNT_LABELS["documents_fetched"], COUNT_LABELS["promoted"], COUNT_LABELS["refused"]) == (
        "新下载",
        "已发布",
        "拒绝访问",
    )
