"""The report model read from a real warehouse: summary, evidence, missing/late, changes, chart data."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import report_world
from report_world import EDU, FIN, HEALTH, HONGZE, JUSTICE, YEAR, agency

from flows.report.data import (
    Office,
    build_report,
    expected_from_warehouse,
    outcome_group,
    place_prefix,
    region_labels,
)
from flows.report.service import build_reports, load_snapshot, offices, reader, save_snapshot

world = report_world.world  # the shared warehouse (a session fixture)
report = report_world.report


def test_summary_counts(report):
    s = report.summary
    assert (s.expected, s.found, s.promoted, s.quarantined, s.missing, s.late, s.revised) == (5, 4, 2, 2, 1, 1, 1)
    assert report.office.name == "淮安市政务公开办公室"
    assert report.office.recipients == ("gkb@huaian.example.org", "audit@huaian.example.org")
    assert report.expected_from == "registry"


def test_hongze_t4_failure_has_the_printed_evidence(report, world):
    hz = agency(report, HONGZE)
    assert hz.state == "quarantined"
    (check,) = hz.failures
    assert (check.rule_id, check.instance, check.severity) == ("T4_BLOCK_TOTAL", "review", "error")
    assert check.blocking and check.outcome == "fail"
    assert check.title == "表四 总计 = 维持+纠正+其他+尚未审结（每块）"
    assert check.message == "表四 行政复议：总计(0) ≠ 结果维持(10)+结果纠正(1)+其他结果(0)+尚未审结(0)"
    assert (check.table, check.row, check.column) == ("表四", "行政复议", "总计")
    assert (check.lhs, check.rhs) == (0.0, 11.0)
    assert [(t.label, t.value) for t in check.lhs_terms] == [("总计", 0.0)]
    assert [(t.label, t.value) for t in check.rhs_terms] == [
        ("结果维持", 10.0),
        ("结果纠正", 1.0),
        ("其他结果", 0.0),
        ("尚未审结", 0.0),
    ]
    assert check.side_text("lhs") == "总计 0"
    assert check.side_text("rhs") == "结果维持 10 + 结果纠正 1 + 其他结果 0 + 尚未审结 0（合计 11）"
    assert check.page == 3  # 表四 is on page 3 of the factory PDF
    assert hz.link == world.paths["hz-gov-2023"].resolve().as_uri()
    assert hz.page_link(check.page) == hz.link + "#page=3"


def test_warnings_are_grouped_by_kind(report):
    hz = agency(report, HONGZE)
    kinds = {c.rule_id: c.kind for c in hz.warnings}
    assert kinds["XY_T3_CARRY"] == "cross_year" and kinds["N_REVIEW_LITIGATION"] == "narrative"
    carry = next(c for c in hz.warnings if c.rule_id == "XY_T3_CARRY")
    assert carry.rhs_terms[0].previous_year and carry.rhs_terms[0].label == "上年报告结转下年度"
    narrative = next(c for c in hz.warnings if c.rule_id == "N_REVIEW_LITIGATION")
    assert narrative.lhs_terms[0].label == "正文所称行政复议" and narrative.lhs_terms[0].value == narrative.lhs == 11
    assert narrative.side_text("rhs") == "表四 行政复议总计 0"
    edu = agency(report, EDU)
    deadline = next(c for c in edu.warnings if c.rule_id == "S_DEADLINE")
    assert deadline.kind == "deadline"
    assert (deadline.side_text("lhs"), deadline.side_text("rhs")) == ("发布日期 2024-02-20", "法定期限 2024-01-31")


def test_missing_and_late(report):
    justice = agency(report, JUSTICE)
    assert justice.state == "missing" and justice.version_id is None
    assert justice.deadline == date(2024, 1, 31)
    assert any(n.startswith("已超过法定发布期限（2024-01-31）") for n in justice.notes)
    edu = agency(report, EDU)
    assert edu.state == "promoted" and edu.late and edu.days_late == 20
    assert edu.published_on == date(2024, 2, 20)
    assert [a.name for a in report.missing] == [JUSTICE]
    assert [a.name for a in report.late] == [EDU]
    # a government's own report is due on 31 March: published 2024-01-xx it is not late
    assert agency(report, HONGZE).deadline == date(2024, 3, 31) and not agency(report, HONGZE).late


def test_revision_replaces_the_quarantined_version(report, world):
    fin = agency(report, FIN)
    assert fin.state == "promoted" and fin.revised and fin.versions == 2
    assert fin.failures == []
    assert fin.published_on == date(2024, 1, 28)
    assert world.first.summary.quarantined == 2  # after run 1: 洪泽区 and 财政局
    assert agency(world.first, FIN).failures[0].rule_id == "T3_BALANCE"


def test_changes_since_the_previous_report(report, world):
    ch = report.changes
    assert ch.baseline == world.first.generated_at.isoformat()
    assert {(name, c.rule_id, c.instance) for name, c in ch.new_failures} == {
        (HEALTH, "T3_ROW_TOTAL", "carried_over"),
        (HEALTH, "T3_BALANCE", "total"),
    }
    assert {(f.agency, f.rule_id, f.instance) for f in ch.fixed_failures} == {
        (FIN, "T3_BALANCE", "natural_person"),
        (FIN, "T3_BALANCE", "total"),
    }
    assert ch.newly_published == [FIN]
    assert ch.revised == [FIN]
    assert ch.newly_missing == []
    assert not ch.empty


def test_first_report_has_no_baseline(world):
    assert world.first.changes.baseline is None and world.first.changes.empty
    assert world.first.summary.revised == 0


def test_region_states_and_rule_counts(report):
    assert report.region_states == {
        "淮安市洪泽区（320813）": {"promoted": 1, "quarantined": 1, "missing": 0},
        "淮安市清江浦区（320812）": {"promoted": 1, "quarantined": 1, "missing": 1},
    }
    counts = {c.rule_id: c.reports for c in report.rule_counts}
    assert counts["XY_T3_CARRY"] == 4
    assert counts["T4_BLOCK_TOTAL"] == 1 and counts["T3_ROW_TOTAL"] == 1 and counts["S_DEADLINE"] == 1
    assert report.rule_counts[0].rule_id == "XY_T3_CARRY"


def test_trend_sums_published_table3(report, world):
    by_year = {p.year: p for p in report.trend}
    assert sorted(by_year) == [2022, 2023]
    published_2023 = [world.docs["hz-edu-2023"], world.docs["qjp-fin-2023-run2"]]
    published_2022 = [
        world.docs[k] for k in ("hz-gov-2022", "hz-edu-2022", "qjp-fin-2022", "qjp-health-2022", "qjp-justice-2022")
    ]
    for year, docs in ((2023, published_2023), (2022, published_2022)):
        point = by_year[year]
        assert point.reports == len(docs)
        assert point.new_received == sum(d["cells"]["t3.new_received.total"] for d in docs)
        assert point.outcomes["granted"] == sum(d["cells"]["t3.granted.total"] for d in docs)
        assert sum(point.outcomes.values()) == sum(d["cells"]["t3.result_total.total"] for d in docs)


def test_published_tables_are_the_promoted_cells(report, world):
    assert [t.agency for t in report.tables] == [EDU, FIN]
    edu = report.tables[0]
    facts = world.docs["hz-edu-2023"]["cells"]
    assert edu.values["t4.review.total"] == facts["t4.review.total"]
    assert edu.values["t3.new_received.natural_person"] == facts["t3.new_received.natural_person"]
    assert len(edu.values) == 200


def test_snapshot_round_trip_and_build_reports(world, tmp_path):
    (first,) = build_reports(YEAR, world.cfg, world.registry, "suqian", outbox=tmp_path)
    assert first.changes.baseline is None and first.summary.promoted == 1
    save_snapshot(tmp_path, first)
    assert load_snapshot(tmp_path, "suqian", YEAR)["agencies"]["宿迁市教育局"]["state"] == "promoted"
    (second,) = build_reports(YEAR, world.cfg, world.registry, "suqian", outbox=tmp_path)
    assert second.changes.baseline == first.generated_at.isoformat() and second.changes.empty
    assert [o.id for o, _ in offices(world.registry)] == ["huaian", "suqian"]


def test_without_registry_expected_agencies_come_from_the_warehouse(world):
    with reader(world.cfg) as con:
        expected = expected_from_warehouse(con, YEAR)
        names = {a.name for a in expected}
        assert {HONGZE, EDU, FIN, HEALTH, "宿迁市教育局"} == names  # 司法局: 2022 only, no 2023 acquisition
        rep = build_report(con, YEAR, Office("all", "全部机关"), None)
    assert rep.expected_from == "warehouse"
    assert (rep.summary.expected, rep.summary.missing, rep.summary.promoted) == (5, 0, 3)


def test_empty_warehouse_reports_everyone_missing(world):
    from flows.report.data import expected_from_registry

    office, expected = expected_from_registry(world.registry, "huaian")
    rep = build_report(duckdb.connect(), YEAR, office, expected)
    assert rep.summary.missing == 5 and rep.summary.found == 0 and rep.trend == [] and rep.tables == []


def test_place_names_and_outcome_groups():
    assert place_prefix("淮安市洪泽区人民政府（区政府办公室编制）") == "淮安市洪泽区"
    assert place_prefix("梅州市人力资源和社会保障局") == "梅州市"
    assert place_prefix("甘孜藏族自治州人民政府") == "甘孜藏族自治州"
    assert region_labels([("441400", "梅州市教育局"), ("441400", "梅州市财政局")]) == {"441400": "梅州市（441400）"}
    assert outcome_group("denied_state_secret") == "denied"
    assert outcome_group("other_handling") == "other_handling"
    assert outcome_group("result_total") is None


def test_acquisitions_of_the_flows_add_notes_and_lateness(world, tmp_path):
    from datetime import UTC, datetime

    from flows.report.data import expected_from_registry
    from warehouse.acquisitions import record
    from warehouse.config import WarehouseConfig

    cfg = WarehouseConfig.resolve(tmp_path / "copy.duckdb")
    shutil.copy(world.cfg.db_path, cfg.db_path)
    checked = {"deadline": date(2024, 1, 31), "region": "320812", "oversight": "huaian"}
    record(
        cfg,
        [
            {
                "run_id": "r1",
                "agency_id": "qjp-justice",
                "year": YEAR,
                "agency_name": JUSTICE,
                "status": "missing",
                "reason": "HTTP 404",
                "tried": [
                    {
                        "url": "http://sfj.example.gov.cn/2023.html",
                        "status": "missing",
                        "http_status": 404,
                        "reason": "HTTP 404",
                    }
                ],
                "checked_at": datetime(2024, 2, 5, tzinfo=UTC),
                **checked,
            },
            {
                "run_id": "r1",
                "agency_id": "qjp-fin",
                "year": YEAR,
                "agency_name": FIN,
                "status": "missing",
                "checked_at": datetime(2024, 2, 5, tzinfo=UTC),
                **checked,
            },
            {
                "run_id": "r2",
                "agency_id": "qjp-fin",
                "year": YEAR,
                "agency_name": FIN,
                "status": "fetched",
                "checked_at": datetime(2024, 4, 10, tzinfo=UTC),
                **checked,
            },
        ],
    )
    office, expected = expected_from_registry(world.registry, "huaian")
    with reader(cfg) as con:
        rep = build_report(con, YEAR, office, expected)
    justice = agency(rep, JUSTICE)
    assert "最近一次采集：截止日期后仍未找到（HTTP 404，页面不存在），尝试了 1 个地址" in justice.notes
    assert justice.codes == "missing; acquisition=missing"
    fin = agency(rep, FIN)
    assert fin.late and fin.days_late == 0 and fin.late_reason == "截止日期后检查时未发布（2024-02-05）"
    assert "逾期：截止日期后检查时未发布（2024-02-05）" in fin.notes
    assert rep.summary.late == 2


def test_trend_counts_every_report_of_a_year_whichever_rows_it_printed():
    """A 2021 report printing the old single （六）其他处理 row (gov2021_hybrid) beside a gov2021 one: the
    year has two reports, although some 表三 rows are printed by only one of them."""
    from flows.report.data import trend

    con = duckdb.connect()
    con.execute("CREATE SCHEMA pub")
    con.execute("CREATE TABLE pub.report_versions (version_id VARCHAR, agency_key VARCHAR, year INTEGER)")
    con.execute(
        "CREATE TABLE pub.cells (version_id VARCHAR, table_id VARCHAR, row_key VARCHAR, col_key VARCHAR, value DOUBLE)"
    )
    con.execute("INSERT INTO pub.report_versions VALUES ('v1', 'a', 2021), ('v2', 'b', 2021)")
    printed = [
        ("v1", "new_received", 3),
        ("v1", "granted", 1),
        ("v1", "other_misc", 2),
        ("v2", "new_received", 4),
        ("v2", "granted", 2),
        ("v2", "other_handling", 2),
    ]
    con.executemany("INSERT INTO pub.cells VALUES (?, 't3', ?, 'total', ?)", printed)
    (point,) = trend(con, ["a", "b"], 2021)
    assert (point.year, point.reports, point.new_received) == (2021, 2, 7)
    assert (point.outcomes["granted"], point.outcomes["other_handling"]) == (3, 4)
    assert point.unread == 0


def test_trend_leaves_an_unread_total_out_and_says_so():
    """A 总计 that is not a number (published through a waiver) is not summed as 0: the year names the report."""
    from flows.report.charts import trend_chart
    from flows.report.data import trend

    con = duckdb.connect()
    con.execute("CREATE SCHEMA pub")
    con.execute("CREATE TABLE pub.report_versions (version_id VARCHAR, agency_key VARCHAR, year INTEGER)")
    con.execute(
        "CREATE TABLE pub.cells (version_id VARCHAR, table_id VARCHAR, row_key VARCHAR, col_key VARCHAR, value DOUBLE)"
    )
    con.execute("INSERT INTO pub.report_versions VALUES ('v1', 'a', 2022), ('v2', 'b', 2022), ('v3', 'a', 2023)")
    printed = [
        ("v1", "new_received", 3),
        ("v1", "granted", None),
        ("v2", "new_received", None),
        ("v2", "granted", 2),
        ("v2", "carried_over", None),
        ("v3", "new_received", 5),
        ("v3", "granted", 5),
    ]
    con.executemany("INSERT INTO pub.cells VALUES (?, 't3', ?, 'total', ?)", printed)
    p2022, p2023 = trend(con, ["a", "b"], 2023)
    assert (p2022.reports, p2022.new_received, p2022.outcomes["granted"], p2022.unread) == (2, 3, 2, 2)
    assert (p2023.reports, p2023.unread) == (1, 0)
    assert trend_chart([p2022, p2023])  # the label names the unread reports


def test_outcome_groups_are_the_printed_result_groups_of_table_3():
    from flows.report.data import OUTCOME_GROUPS

    assert OUTCOME_GROUPS == {
        "granted": "予以公开",
        "partially_granted": "部分公开",
        "denied": "不予公开",
        "unable_to_provide": "无法提供",
        "not_processed": "不予处理",
        "other_handling": "其他处理",
    }
