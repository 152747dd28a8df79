"""A three-year backfill of four agencies against a real HTTP server, run twice.

The second run must download nothing new, parse nothing and leave the warehouse unchanged.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from flows.pipeline import backfill

pytestmark = pytest.mark.usefixtures("prefect_harness")

YEARS = (2021, 2022, 2023)
SPECS = [  # (id, name, format, how it is published)
    ("t-jyj", "示例市教育局", "html", "direct"),
    ("t-rsj", "示例市人力资源和社会保障局", "text", "direct"),
    ("t-xzf", "示例县人民政府", "pdf", "attachment"),
    ("t-zrzyj", "示例县自然资源局", "docx", "listing"),
]
TODAY = date(2026, 6, 1)


def snapshot(db) -> dict[str, list[tuple]]:
    """Every table of the warehouse (except the acquisitions log), rows sorted."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
            "and not (table_schema = 'qa' and table_name = 'acquisitions') order by 1, 2"
        ).fetchall()
        return {f"{s}.{t}": sorted(con.execute(f'select * from "{s}"."{t}"').fetchall(), key=repr) for s, t in tables}
    finally:
        con.close()


def archived(wh) -> list[str]:
    return sorted(p.name for p in (wh.parent / "archive" / "objects").rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def twice(tmp_path_factory, prefect_harness, site_kit):
    """Run the backfill twice against one site; the summaries and warehouse snapshots."""
    site = site_kit.serve([site_kit.Spec(i, n, f, how=h) for i, n, f, h in SPECS], YEARS)
    wh = tmp_path_factory.mktemp("backfill") / "wh" / "xxgk.duckdb"
    params = dict(sources=str(site.registry), warehouse=str(wh), min_interval=0.0, today=TODAY, data_docs=False)
    first = backfill(2021, 2023, **params)
    before, objects = snapshot(wh), archived(wh)
    second = backfill(2023, 2021, **params)  # reversed bounds: the same years, oldest first
    return {
        "first": first,
        "second": second,
        "before": before,
        "after": snapshot(wh),
        "wh": wh,
        "facts": site.facts,
        "archived": (objects, archived(wh)),
    }


def test_first_run_fetches_parses_and_decides_every_report(twice):
    first = twice["first"]
    assert [s["year"] for s in first] == list(YEARS)
    for s in first:
        c = s["counts"]
        got = (c["agencies_attempted"], c["documents_fetched"], c["parsed"], c["missing"], c["failed"])
        assert got == (4, 4, 4, 0, 0)
        assert c["promoted"] + c["quarantined"] == 4
        by_id = {a["agency_id"]: a for a in s["agencies"]}
        assert by_id["t-xzf"]["format"] == "pdf" and by_id["t-xzf"]["url"].endswith(f"/t-xzf/{s['year']}/index.html")
        assert by_id["t-xzf"]["final_url"].endswith(f"/t-xzf/{s['year']}/report.pdf")
        assert by_id["t-zrzyj"]["format"] == "docx" and by_id["t-rsj"]["format"] == "text"
        assert all(a["version_id"] == a["sha256"][:16] and a["new_document"] for a in s["agencies"])


def test_warehouse_holds_the_registry_identity_and_printed_values(twice):
    con = duckdb.connect(str(twice["wh"]), read_only=True)
    try:
        rows = con.execute(
            "select a.agency_id, a.year, v.agency, v.year, c.value from qa.acquisitions a "
            "join stg.report_versions v using (version_id) "
            "join stg.cells c on c.version_id = v.version_id and c.address = 't3.new_received.total' "
            "where a.status = 'fetched'"  # the first backfill's rows
        ).fetchall()
    finally:
        con.close()
    names = {i: n for i, n, _f, _h in SPECS}
    got = {(aid, y): (agency, vyear, float(value)) for aid, y, agency, vyear, value in rows}
    assert len(got) == 12
    for (aid, year), facts in twice["facts"].items():
        assert got[(aid, year)] == (names[aid], year, float(facts["cells"]["t3.new_received.total"]))


def test_second_run_downloads_nothing_parses_nothing_and_changes_nothing(twice):
    for s in twice["second"]:
        c = s["counts"]
        assert (c["documents_fetched"], c["not_modified"], c["parsed"], c["unchanged"]) == (0, 4, 0, 4)
        assert (c["promoted"], c["quarantined"], c["failed"]) == (0, 0, 0)
        assert sum(a["downloaded_bytes"] for a in s["agencies"]) == 0
        assert "parse" not in s["tasks"] and "load" not in s["tasks"]
    assert twice["after"] == twice["before"]
    assert twice["archived"][0] == twice["archived"][1]


def test_second_run_keeps_states_and_links(twice):
    first = {(a["agency_id"], s["year"]): a for s in twice["first"] for a in s["agencies"]}
    for s in twice["second"]:
        for a in s["agencies"]:
            before = first[(a["agency_id"], s["year"])]
            assert (a["version_id"], a["doc_state"], a["failing_rules"]) == (
                before["version_id"],
                before["doc_state"],
                before["failing_rules"],
            )
            assert a["new_document"] is False


def test_every_run_is_recorded_in_qa_acquisitions(twice):
    con = duckdb.connect(str(twice["wh"]), read_only=True)
    try:
        by_status = con.execute(
            "select status, count(*), count(distinct run_id) from qa.acquisitions group by 1 order by 1"
        ).fetchall()
        latest = con.execute("select count(*), min(status), max(status) from qa.v_acquisitions_latest").fetchone()
    finally:
        con.close()
    assert by_status == [("fetched", 12, 3), ("not_modified", 12, 3)]
    assert latest == (12, "not_modified", "not_modified")
