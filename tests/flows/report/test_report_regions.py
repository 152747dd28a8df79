"""Regional totals the office reports upward: per region × level, this year and the one before, the sums
of the statutory figures over published reports with their coverage — in the report model, the e-mail,
the workbook (each figure linked to its agencies) and the warehouse view ``pub.v_region_year``."""

from __future__ import annotations

import io
import shutil
from datetime import UTC, date, datetime

import duckdb
import pytest
import report_world
from openpyxl import load_workbook
from report_world import AGENCIES, EDU, HONGZE, JUSTICE, YEAR

from flows.report.data import build_report, expected_from_registry
from flows.report.excel import workbook_bytes
from flows.report.html import render_html, render_text
from flows.report.regions import COLUMNS, AgencyFigures, region_totals
from flows.report.service import reader
from warehouse.acquisitions import record
from warehouse.config import WarehouseConfig

world = report_world.world  # the shared warehouse (a session fixture)


@pytest.fixture(scope="module")
def recorded(world, tmp_path_factory):
    """A copy of the shared warehouse where the runs recorded every 淮安 agency for 2022 and 2023 (region,
    level and the versions they fetched), and the report of 淮安 built on it."""
    cfg = WarehouseConfig.resolve(tmp_path_factory.mktemp("regions") / "copy.duckdb")
    shutil.copy(world.cfg.db_path, cfg.db_path)
    with reader(cfg) as con:
        versions = dict(
            ((a, y), v)
            for v, a, y in con.execute("SELECT version_id, agency, year FROM stg.report_versions").fetchall()
        )
    rows = []
    for ident, name, region, office in AGENCIES:
        if office != "huaian":
            continue
        for year in (YEAR - 1, YEAR):
            vid = versions.get((name, year))
            rows.append(
                {
                    "run_id": f"run-{year}",
                    "agency_id": ident,
                    "year": year,
                    "agency_name": name,
                    "region": region,
                    "level": "county",
                    "oversight": office,
                    "status": "fetched" if vid else "missing",
                    "version_id": vid,
                    "deadline": date(year + 1, 1, 31),
                    "checked_at": datetime(year + 1, 2, 5, tzinfo=UTC),
                }
            )
    record(cfg, rows)
    office, expected = expected_from_registry(world.registry, "huaian")
    with reader(cfg) as con:
        rep = build_report(con, YEAR, office, expected)
        view = [
            dict(zip([d[0] for d in con.description], r, strict=True))
            for r in con.execute("SELECT * FROM pub.v_region_year ORDER BY region, level, year DESC").fetchall()
        ]
    return rep, view


def _cells(name: str) -> dict:
    return world_docs()[name]["cells"]


def world_docs() -> dict:
    return report_world.documents()


def test_totals_per_region_level_and_year_with_coverage(recorded):
    rep, _ = recorded
    keys = [(r.region, r.level, r.year) for r in rep.regions]
    assert keys == [
        ("320812", "county", 2023),
        ("320812", "county", 2022),
        ("320813", "county", 2023),
        ("320813", "county", 2022),
    ]
    hongze = rep.regions[2]  # 洪泽区 2023: 人民政府 quarantined (表四 error), 教育局 published
    assert hongze.coverage == "2 家中 1 家已纳入，缺失 0 家，隔离 1 家"
    assert hongze.region_label == "淮安市洪泽区（320813）" and hongze.level_label == "县级"
    edu = _cells("hz-edu-2023")
    assert hongze.total("new_received") == edu["t3.new_received.total"]
    assert hongze.total("concluded") == edu["t3.result_total.total"]
    denied = sum(v for k, v in edu.items() if k.startswith("t3.denied_") and k.endswith(".total"))
    assert hongze.total("denied") == denied
    rate = (edu["t3.granted.total"] + edu["t3.partially_granted.total"]) / edu["t3.result_total.total"]
    assert hongze.total("disclosure_rate") == pytest.approx(round(rate, 4))
    decided = edu["t4.review.total"] - edu["t4.review.pending"]
    assert hongze.total("review_correction_rate") == (
        round(edu["t4.review.corrected"] / decided, 4) if decided else None
    )
    assert [a.name for a in hongze.behind("new_received")] == [EDU]
    qjp = rep.regions[0]  # 清江浦区 2023: 财政局 published (revision), 卫健委 quarantined, 司法局 missing
    assert qjp.coverage == "3 家中 1 家已纳入，缺失 1 家，隔离 1 家"
    assert qjp.total("new_received") == _cells("qjp-fin-2023")["t3.new_received.total"]
    qjp_2022 = rep.regions[1]  # all three published in 2022
    assert qjp_2022.coverage == "3 家中 3 家已纳入，缺失 0 家，隔离 0 家"
    assert qjp_2022.total("new_received") == sum(
        _cells(f"{a}-2022")["t3.new_received.total"] for a in ("qjp-fin", "qjp-health", "qjp-justice")
    )


def test_the_warehouse_view_has_the_same_totals(recorded):
    rep, view = recorded
    assert [(v["region"], v["level"], v["year"]) for v in view] == [(r.region, r.level, r.year) for r in rep.regions]
    for r, v in zip(rep.regions, view, strict=True):
        assert (v["agencies"], v["included"], v["missing"], v["quarantined"]) == (
            r.expected,
            r.included,
            r.missing,
            r.quarantined,
        )
        assert v["coverage"] == r.coverage
        for column in COLUMNS:
            got = None if v[column] is None else float(v[column])
            assert got == pytest.approx(r.total(column)), (r.region, r.year, column)


def test_an_unread_figure_is_left_out_and_said(recorded):
    base = {
        f: 1.0
        for f in (
            "new_received",
            "concluded",
            "granted",
            "partially_granted",
            "denied",
            "unable_to_provide",
            "not_processed",
            "other_handling",
            "review_cases",
            "review_pending",
            "review_corrected",
            "litigation_cases",
            "litigation_pending",
            "litigation_corrected",
        )
    }
    agencies = [
        AgencyFigures("甲局", "1", "甲地", "city", 2023, "promoted", "v1", base),
        AgencyFigures("乙局", "1", "甲地", "city", 2023, "promoted", "v2", base | {"new_received": None}),
        AgencyFigures("丙局", "1", "甲地", "city", 2023, "missing"),
    ]
    (total,) = region_totals(agencies)
    assert total.total("new_received") == 1.0 and total.total("concluded") == 2.0  # 乙局's 新收 is not a 0
    assert total.coverage == "3 家中 2 家已纳入，缺失 1 家，隔离 0 家；其中 1 份报告有数值不可读，未计入相应合计"
    assert [a.name for a in total.behind("new_received")] == ["甲局"]


def test_email_and_text_carry_the_regional_table(recorded):
    rep, _ = recorded
    html, text = render_html(rep), render_text(rep)
    assert "七、地区汇总（2023 年度与上一年度，已发布报告合计）" in html
    assert "3 家中 1 家已纳入，缺失 1 家，隔离 1 家" in html and "公开率" in html
    assert "淮安市洪泽区（320813） 县级 2023 年度（2 家中 1 家已纳入，缺失 0 家，隔离 1 家）" in text


def test_workbook_regional_sheet_links_each_figure_to_its_agencies(recorded):
    rep, _ = recorded
    wb = load_workbook(io.BytesIO(workbook_bytes(rep)))
    ws, detail = wb["地区汇总"], wb["地区汇总明细"]
    header = [c.value for c in ws[1]]
    assert header[:5] == ["地区", "层级", "年度", "覆盖情况", "本年新收"]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "淮安市洪泽区（320813）" and r[2].value == 2023)
    assert row[3].value == "2 家中 1 家已纳入，缺失 0 家，隔离 1 家"
    figure = row[4]
    assert figure.value == _cells("hz-edu-2023")["t3.new_received.total"]
    target = figure.hyperlink.location or figure.hyperlink.target
    sheet, _, cell = target.lstrip("#").partition("!")
    assert sheet.strip("'") == "地区汇总明细"
    block = detail[cell].row
    assert detail.cell(row=block, column=1).value.startswith("淮安市洪泽区（320813） 县级 2023 年度")
    names = [detail.cell(row=block + 2 + i, column=1).value for i in range(2)]
    states = [detail.cell(row=block + 2 + i, column=2).value for i in range(2)]
    assert dict(zip(names, states, strict=True)) == {EDU: "已发布", HONGZE: "已隔离（未计入）"}
    edu_row = block + 2 + names.index(EDU)
    assert detail.cell(row=edu_row, column=4).value == figure.value


def test_view_exists_once_the_runs_recorded_acquisitions(world, tmp_path):
    """An ingest-only warehouse has no regions yet; the first recorded acquisition creates the view."""
    cfg = WarehouseConfig.resolve(tmp_path / "w.duckdb")
    shutil.copy(world.cfg.db_path, cfg.db_path)
    con = duckdb.connect(str(cfg.db_path), read_only=True)
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'v_region_year'").fetchone() == (0,)
    con.close()
    record(
        cfg,
        [
            {
                "run_id": "r",
                "agency_id": "x",
                "year": YEAR,
                "agency_name": JUSTICE,
                "region": "320812",
                "status": "missing",
                "checked_at": datetime(2024, 2, 5, tzinfo=UTC),
            }
        ],
    )
    con = duckdb.connect(str(cfg.db_path), read_only=True)
    assert con.execute("SELECT agencies, missing, coverage FROM pub.v_region_year").fetchall() == [
        (1, 1, "1 家中 0 家已纳入，缺失 1 家，隔离 0 家")
    ]
    con.close()
