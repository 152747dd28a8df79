"""Waivers: a reviewer waives a failing check of one report version; it is stored, listed, survives
re-validation, and the version is decided again (promoted, superseded, or taken out of pub)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from whkit import cli, hongze, ingest_once, private_copy, q, vid

from flows.ingest import ingest_documents
from warehouse.config import WarehouseConfig
from warehouse.db import connect
from warehouse.synthetic import not_statutory, synthetic_cells, synthetic_report
from warehouse.waivers import WaiverError, add_waiver, remove_waiver, resolve_version

REASON = "原件如此，已向发布机关核实：表四总计栏印刷错误"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, dict[str, dict[str, Any]]]:
    """One ingest run: B quarantined (T4_BLOCK_TOTAL ×2), L promoted with a warning, E rejected."""
    root = tmp_path_factory.mktemp("waivers-base")
    late = synthetic_cells("gov2021", seed=5)
    docs = {
        "B": hongze(),
        "L": synthetic_report("示例市档案局", 2023, late, published_on="2024-03-15"),  # S_DEADLINE warning
        "E": not_statutory("notice.html"),
    }
    return ingest_once(root, docs, ["quarantined", "promoted", "rejected"]), docs


@pytest.fixture()
def wh(base, tmp_path) -> tuple[WarehouseConfig, dict[str, dict[str, Any]]]:
    """A private copy of the base warehouse (file, dlt state, GX project) for one test."""
    root, docs = base
    return private_copy(root, tmp_path), docs


def test_waiver_promotes_and_the_check_still_shows_fail(wh):
    cfg, docs = wh
    b = vid(docs["B"])
    result = cli(cfg, "waive", b[:6], "t4_block_total", "--reason", REASON, "--by", "张审核", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["action"], out["version_id"], out["rule_id"], out["instance"]) == ("added", b, "T4_BLOCK_TOTAL", "*")
    assert (out["state_before"], out["state"], out["failing_rules"], out["waived_rules"]) == (
        "quarantined",
        "promoted",
        [],
        ["T4_BLOCK_TOTAL"],
    )
    state = q(cfg, "SELECT state, failing_rules, waived_rules, reason FROM qa.version_state WHERE version_id = ?", [b])
    assert state == [("promoted", [], ["T4_BLOCK_TOTAL"], None)]
    rows = q(
        cfg,
        "SELECT instance, outcome, waived FROM pub.check_results WHERE version_id = ? AND rule_id = 'T4_BLOCK_TOTAL' "
        "ORDER BY instance",
        [b],
    )
    assert rows == [
        ("litigation_after_review", "fail", True),
        ("litigation_direct", "pass", False),
        ("review", "fail", True),
    ]
    assert q(cfg, "SELECT count(*) FROM pub.cells WHERE version_id = ?", [b]) == [(200,)]
    assert q(cfg, "SELECT count(*) FROM qa.check_results WHERE waived") == [(2,)]
    (row,) = q(cfg, "SELECT rule_id, instance, reason, waived_by, waived_at IS NOT NULL FROM qa.waivers")
    assert row == ("T4_BLOCK_TOTAL", "*", REASON, "张审核", True)


def test_waivers_are_listed_and_shown_distinctly(wh):
    cfg, docs = wh
    b = vid(docs["B"])
    assert cli(cfg, "waive", b, "T4_BLOCK_TOTAL", "--reason", REASON, "--instance", "review").exit_code == 0
    listed = json.loads(cli(cfg, "waivers", "--json").stdout)
    assert len(listed) == 1
    w = listed[0]
    assert (w["version_id"], w["agency"], w["year"], w["state"], w["rule_id"], w["instance"]) == (
        b,
        "示例区人民政府",
        2023,
        "quarantined",  # litigation_after_review still blocks
        "T4_BLOCK_TOTAL",
        "review",
    )
    assert w["reason"] == REASON and w["waived_by"] and w["waived_at"] and w["checks_waived"] == 1
    checks = json.loads(cli(cfg, "checks", "--json", "--rule", "T4_BLOCK_TOTAL").stdout)
    by = {c["instance"]: c for c in checks}
    assert (by["review"]["outcome"], by["review"]["waived"], by["review"]["waiver_reason"]) == ("fail", True, REASON)
    assert by["litigation_after_review"]["waived"] is False
    assert checks[0]["instance"] == "litigation_after_review"  # unwaived blocking checks come first
    human = cli(cfg, "checks", "--rule", "T4_BLOCK_TOTAL")
    assert "不通过（已豁免）" in human.stdout and REASON in human.stdout
    status = json.loads(cli(cfg, "status", "--json").stdout)
    entry = next(v for v in status["versions"] if v["version_id"] == b)
    assert entry["state"] == "quarantined" and entry["failing_rules"] == ["T4_BLOCK_TOTAL"]
    assert entry["waived_rules"] == ["T4_BLOCK_TOTAL"]
    assert "已豁免：T4_BLOCK_TOTAL" in cli(cfg, "status").stdout
    table = cli(cfg, "waivers").stdout
    assert "豁免（1 项）" in table and "T4_BLOCK_TOTAL（review）" in table


def test_waiver_survives_revalidation_and_a_forced_ingest(wh, tmp_path):
    cfg, docs = wh
    b = vid(docs["B"])
    con = connect(cfg.db_path)
    try:
        add_waiver(con, b, "T4_BLOCK_TOTAL", REASON, by="张审核")
    finally:
        con.close()
    again = ingest_documents([docs["B"]], warehouse=cfg, data_docs=False, skip_known=False)
    (doc,) = again.documents
    assert (doc.state, doc.failing_rules, doc.waived_rules, doc.messages) == ("promoted", [], ["T4_BLOCK_TOTAL"], [])
    assert q(cfg, "SELECT count(*) FROM qa.check_results WHERE version_id = ? AND waived", [b]) == [(2,)]
    assert q(cfg, "SELECT count(*) FROM qa.waivers") == [(1,)]
    unchanged = ingest_documents([docs["B"]], warehouse=cfg, data_docs=False)
    assert unchanged.documents[0].state == "promoted" and not unchanged.documents[0].new
    assert unchanged.documents[0].waived_rules == ["T4_BLOCK_TOTAL"]


def test_unwaive_takes_the_version_out_of_pub(wh):
    cfg, docs = wh
    b = vid(docs["B"])
    assert cli(cfg, "waive", b, "T4_BLOCK_TOTAL", "-r", REASON).exit_code == 0
    result = cli(cfg, "unwaive", b, "T4_BLOCK_TOTAL")
    assert result.exit_code == 0, result.output
    assert "已发布 → 已隔离" in result.stdout
    assert q(cfg, "SELECT state, failing_rules FROM qa.version_state WHERE version_id = ?", [b]) == [
        ("quarantined", ["T4_BLOCK_TOTAL"])
    ]
    assert q(cfg, "SELECT count(*) FROM pub.report_versions WHERE version_id = ?", [b]) == [(0,)]
    assert q(cfg, "SELECT count(*) FROM qa.check_results WHERE waived") == [(0,)]
    assert cli(cfg, "waivers", "--json").stdout.strip() == "[]"


def test_waiving_a_warning_records_it_without_changing_the_state(wh):
    cfg, docs = wh
    late = vid(docs["L"])
    result = cli(cfg, "waive", late, "S_DEADLINE", "--reason", "系统故障，延迟发布已报备")
    assert result.exit_code == 0, result.output
    assert "警告级" in result.stdout and "已发布 → 已发布" in result.stdout
    assert q(cfg, "SELECT state, warning_rules, waived_rules FROM qa.version_state WHERE version_id = ?", [late]) == [
        ("promoted", [], ["S_DEADLINE"])
    ]


@pytest.mark.parametrize(
    "args,expected",
    [
        (["zzzzzz", "T4_BLOCK_TOTAL", "-r", "x"], "no report version 'zzzzzz'"),
        (["{B}", "T3_BALANCE", "-r", "x"], "rule T3_BALANCE does not fail for version {B}"),
        (["{B}", "T9_NOPE", "-r", "x"], "unknown rule 'T9_NOPE'"),
        (["{B}", "T4_BLOCK_TOTAL", "-r", "x", "--instance", "direct"], "no failing instance 'direct'"),
        (["{B}", "T4_BLOCK_TOTAL", "-r", "  "], "a waiver needs a reason"),
        (["{E}", "S_IDENTITY", "-r", "x"], "is rejected"),
    ],
)
def test_refused_waivers_say_what_to_do(wh, args, expected):
    cfg, docs = wh
    ids = {"B": vid(docs["B"]), "E": vid(docs["E"])}
    result = cli(cfg, "waive", *[a.format(**ids) for a in args])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected.format(**ids) in lines[0], result.stderr
    if "does not fail" in expected:
        assert "its failing checks: T4_BLOCK_TOTAL (litigation_after_review, review)" in lines[0]
    assert q(cfg, "SELECT count(*) FROM qa.waivers") == [(0,)]


def test_a_waived_older_version_does_not_replace_a_newer_published_one(wh):
    """Waiving the quarantined original after its corrected re-publication passed: it stays out of pub."""
    cfg, docs = wh
    b = vid(docs["B"])
    fixed_cells = {c["address"]: c["value"] for c in docs["B"]["cells"]}
    fixed_cells["t4.review.total"], fixed_cells["t4.litigation_after_review.total"] = 11, 5
    fixed = synthetic_report("示例区人民政府", 2023, fixed_cells, revision=1)
    assert ingest_documents([fixed], warehouse=cfg, data_docs=False).documents[0].state == "promoted"
    con = connect(cfg.db_path)
    try:
        result = add_waiver(con, b, "T4_BLOCK_TOTAL", REASON)
    finally:
        con.close()
    assert (result.redecision.after, result.redecision.superseded_by) == ("superseded", vid(fixed))
    assert q(cfg, "SELECT version_id FROM pub.report_versions WHERE agency_key = '示例区人民政府'") == [(vid(fixed),)]


def test_a_waived_newer_version_supersedes_and_unwaiving_restores(tmp_path):
    cfg = WarehouseConfig.resolve(tmp_path / "xxgk.duckdb")
    good = synthetic_report("示例区人民政府", 2023, synthetic_cells("gov2021", seed=7))
    ingest_documents([good], warehouse=cfg, data_docs=False)
    revised = hongze(revision=3)
    assert ingest_documents([revised], warehouse=cfg, data_docs=False).documents[0].state == "quarantined"
    con = connect(cfg.db_path)
    try:
        waived = add_waiver(con, vid(revised)[:8], "T4_BLOCK_TOTAL", REASON)
        assert (waived.redecision.after, waived.redecision.superseded) == ("promoted", vid(good))
        old = con.execute("SELECT state, superseded_by FROM qa.version_state WHERE version_id = ?", [vid(good)])
        assert old.fetchall() == [("superseded", vid(revised))]
        removed = remove_waiver(con, vid(revised), "T4_BLOCK_TOTAL")
        assert (removed.redecision.after, removed.redecision.restored) == ("quarantined", vid(good))
        published = con.execute("SELECT version_id FROM pub.report_versions").fetchall()
    finally:
        con.close()
    assert published == [(vid(good),)]


def test_version_prefixes(tmp_path):
    """A version is named by its id, a unique prefix of it, or its sha256; ambiguity is explained."""
    con = duckdb.connect(str(tmp_path / "v.duckdb"))
    try:
        con.execute("CREATE SCHEMA stg; CREATE SCHEMA qa")
        con.execute(
            "CREATE TABLE stg.report_versions AS SELECT * FROM (VALUES "
            "('abcd111100000000', 'abcd1111' || repeat('0', 56), '甲局', 2023, NULL, NULL, NULL), "
            "('abcd222200000000', 'abcd2222' || repeat('0', 56), '乙局', 2023, NULL, NULL, NULL)) "
            "t(version_id, sha256, agency, year, reject_reason, source_url, source_path)"
        )
        con.execute("CREATE TABLE qa.check_results (version_id VARCHAR)")
        con.execute("CREATE TABLE qa.version_state (version_id VARCHAR, state VARCHAR)")
        con.execute("CREATE TABLE qa.waivers (version_id VARCHAR)")
        assert resolve_version(con, "ABCD1111").version_id == "abcd111100000000"
        assert resolve_version(con, "abcd2222" + "0" * 56).agency == "乙局"
        with pytest.raises(WaiverError, match=r"'abcd' matches 2 report versions .*give more characters"):
            resolve_version(con, "abcd")
        with pytest.raises(WaiverError, match="too short"):
            resolve_version(con, "ab")
    finally:
        con.close()
