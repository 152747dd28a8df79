"""A report of another year found at the asked year's address: stored for the year it prints, the asked
year recorded as ``wrong_year`` and counted missing (run summary, ``qa.v_missing_reports``, the report)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from factory import make_facts, render

from flows.pipeline import ingest_year
from sources import chinese
from sources.fetching import wrong_year

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_wrong_year_is_decided_from_the_printed_and_the_asked_year():
    assert wrong_year(2023, 2023) is None
    assert wrong_year(2023, None) is None  # prints no year: taken for the asked one
    reason = wrong_year(2023, 2022)
    assert reason == "the document at this address is the 2022 report, not the 2023 report"
    assert chinese.chinese(reason).startswith("该地址发布的是2022年度报告，不是2023年度报告")


@pytest.fixture(scope="module")
def run(site_kit, tmp_path_factory, prefect_harness):
    """2023: one agency publishes its 2023 report; the other's 2023 address serves its 2022 report."""
    Spec = site_kit.Spec
    site = site_kit.serve([Spec("ok", "示例市教育局", "html"), Spec("stale", "示例市财政局", "html")], [2023])
    (site.root / "stale" / "2023" / "report.html").write_bytes(render(make_facts("示例市财政局", 2022, seed=7), "html"))
    wh = tmp_path_factory.mktemp("wrong-year") / "xxgk.duckdb"
    out = ingest_year(
        2023,
        sources=str(site.registry),
        warehouse=str(wh),
        min_interval=0.0,
        parse_workers=1,
        today=date(2024, 3, 1),
        data_docs=False,
        fetch_options={"retries": 0, "timeout": 5},
    )
    return out, {a["agency_id"]: a for a in out["agencies"]}, site, wh


def test_the_asked_year_is_wrong_year_and_counted_missing(run):
    out, by_id, _site, _wh = run
    stale = by_id["stale"]
    assert (stale["status"], stale["year"], stale["doc_year"]) == ("wrong_year", 2023, 2022)
    assert stale["reason"] == wrong_year(2023, 2022)
    assert stale["doc_state"] == "promoted" and stale["version_id"]
    assert (by_id["ok"]["status"], by_id["ok"]["doc_year"]) == ("fetched", 2023)
    c = out["counts"]
    assert (c["missing"], c["wrong_year"], c["promoted"], c["failed"]) == (1, 1, 2, 0)


def test_the_document_is_stored_for_the_year_it_prints(run):
    _out, by_id, _site, wh = run
    con = duckdb.connect(str(wh), read_only=True)
    try:
        stored = con.execute(
            "select year from stg.report_versions where version_id = ?", [by_id["stale"]["version_id"]]
        ).fetchall()
        acquisitions = con.execute(
            "select agency_id, year, status, doc_year from qa.acquisitions order by 1"
        ).fetchall()
        missing = con.execute("select agency_id, year, status, printed_year from qa.v_missing_reports").fetchall()
    finally:
        con.close()
    assert stored == [(2022,)]
    assert acquisitions == [("ok", 2023, "fetched", 2023), ("stale", 2023, "wrong_year", 2022)]
    assert missing == [("stale", 2023, "wrong_year", 2022)]


def test_the_oversight_report_lists_it_as_missing_with_the_printed_year(run):
    from flows.report.data import build_report, expected_from_registry
    from sources.registry import load_registry

    _out, _by_id, site, wh = run
    office, expected = expected_from_registry(load_registry(site.registry), "demo-gkb")
    con = duckdb.connect(str(wh), read_only=True)
    try:
        report = build_report(con, 2023, office, expected, warehouse=str(wh))
    finally:
        con.close()
    (gone,) = report.missing
    assert (gone.agency.id, gone.acquisition) == ("stale", "wrong_year")
    assert report.summary.missing == 1
    assert any("该地址发布的是2022年度报告" in note for note in gone.notes), gone.notes


def test_the_run_summary_shows_it_among_the_missing(run):
    from io import StringIO

    from rich.console import Console

    from flows.cli.run import render_year

    out, _by_id, _site, _wh = run
    buf = StringIO()
    render_year(out, Console(file=buf, width=200, color_system=None))
    text = buf.getvalue()
    assert "其中年度不符" in text and "年度不符（记为缺失）" in text
    assert "该地址发布的是2022年度报告" in text
