"""The report rendered: HTML and plain text, charts (PNG, Chinese font), Excel workbook, folder output."""

from __future__ import annotations

import dataclasses
import io
import re
import warnings
from datetime import date

import report_world
from openpyxl import load_workbook
from PIL import Image
from report_world import EDU, FIN, HONGZE, JUSTICE, YEAR, agency
from typer.testing import CliRunner

from flows.report.charts import cjk_font, render_charts
from flows.report.data import AgencyStatus, ExpectedAgency
from flows.report.excel import workbook_bytes
from flows.report.html import data_uris, render_html, render_text, safe_link

world = report_world.world  # the shared warehouse (a session fixture)
report = report_world.report


def test_html_has_the_statutory_labels_and_the_hongze_failure(report):
    html = render_html(report, {"regions": "cid:a@x", "rules": "cid:b@x", "trend": "cid:c@x"})
    assert '<html lang="zh-CN">' in html
    assert "淮安市政务公开办公室" in html and f"{YEAR} 年度政府信息公开工作年度报告" in html
    assert "表四 行政复议：总计(0) ≠ 结果维持(10)+结果纠正(1)+其他结果(0)+尚未审结(0)" in html
    assert "表四 总计 = 维持+纠正+其他+尚未审结（每块）" in html and "T4_BLOCK_TOTAL" in html
    assert "结果维持 10 + 结果纠正 1 + 其他结果 0 + 尚未审结 0（合计 11）" in html
    assert "#page=3" in html and "第 3 页" in html
    for label in ("应报送机关", "已找到报告", "已发布", "已隔离", "缺失", "逾期发布", "自上次修订"):
        assert label in html
    assert re.search(r"<img src=\"cid:a@x\"", html)
    assert "跨年度衔接" in html and "正文与表格" in html and "发布期限" in html
    assert f'<b style="color:#2e7d32">已修正</b> {FIN}' in html
    assert JUSTICE in html and "逾期 20 天" in html


def test_plain_text_alternative(report):
    text = render_text(report)
    assert text.startswith("淮安市政务公开办公室 2023 年度政府信息公开年报数据质量报告\n")
    assert "应报送机关 5；已找到报告 4；已发布 2；已隔离 2；缺失 1；逾期发布 1；自上次修订 1" in text
    assert "表四 行政复议：总计(0) ≠ 结果维持(10)+结果纠正(1)+其他结果(0)+尚未审结(0)" in text
    assert f"已修正 {FIN}" in text


def test_html_escapes_names_and_refuses_script_links(report):
    evil = AgencyStatus(
        ExpectedAgency("x", "<script>alert(1)</script>局", "x"),
        "quarantined",
        link="javascript:alert(1)",
        failures=agency(report, HONGZE).failures,
        published_on=date(2024, 1, 5),
    )
    html = render_html(dataclasses.replace(report, agencies=[evil]))
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html
    assert safe_link("https://a.gov.cn/x.pdf") and safe_link("file:///tmp/x.pdf") and not safe_link("data:x")


def test_charts_are_pngs_drawn_with_a_chinese_font(report):
    assert cjk_font() == "Noto Sans SC"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts = render_charts(report)
    assert not [w for w in caught if "missing from font" in str(w.message)]  # no tofu boxes
    assert set(charts) == {"regions", "rules", "trend"}
    for png in charts.values():
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        image = Image.open(io.BytesIO(png)).convert("L")
        assert image.width >= 800 and image.height >= 200
        assert sum(1 for n in image.histogram() if n) > 20  # drawn, not blank


def _sheet_rows(ws) -> list[tuple]:
    return [row for row in ws.iter_rows(values_only=True) if any(v is not None for v in row)]


def test_workbook_sheets_and_cells(report, world):
    wb = load_workbook(io.BytesIO(workbook_bytes(report)))
    assert wb.sheetnames == [
        "概况",
        "未通过的校验",
        "缺失与逾期",
        "解析提示",
        "地区汇总",
        "地区汇总明细",
        "已发布表二表三表四",
    ]
    summary = dict(_sheet_rows(wb["概况"])[1:])
    assert summary["应报送机关"] == 5 and summary["缺失"] == 1 and summary["逾期发布"] == 1

    checks = _sheet_rows(wb["未通过的校验"])
    header = checks[0]
    assert header[:8] == ("机关", "地区", "报告状态", "严重程度", "阻止发布", "结果", "规则编号", "规则")
    row = dict(zip(header, next(r for r in checks if r[0] == HONGZE and r[6] == "T4_BLOCK_TOTAL"), strict=True))
    assert (row["严重程度"], row["阻止发布"]) == ("错误", "是")
    assert (row["表"], row["行"], row["列"]) == ("表四", "行政复议", "总计")
    assert (row["左边数值"], row["右边数值"], row["页码"]) == (0, 11, 3)
    assert row["原文"] == str(world.paths["hz-gov-2023"])
    assert (
        wb["未通过的校验"]
        .cell(row=checks.index(tuple(row.values())) + 1, column=18)
        .hyperlink.target.endswith("#page=3")
    )

    missing = _sheet_rows(wb["缺失与逾期"])
    assert [r[0] for r in missing[1:]] == [JUSTICE, EDU]
    assert missing[2][4] == "逾期发布" and missing[2][7] == 20
    assert missing[0][10] == "状态代码" and (missing[1][10], missing[2][10]) == ("missing", "promoted; late")

    tables = wb["已发布表二表三表四"]
    cells = world.docs["hz-edu-2023"]["cells"]
    rows = _sheet_rows(tables)
    assert rows[0][0].startswith(EDU)
    t4_values = next(r for r in rows if r[0] == "件数")
    assert list(t4_values[1:16]) == [
        cells[f"t4.{b}.{m}"]
        for b in ("review", "litigation_direct", "litigation_after_review")
        for m in ("upheld", "corrected", "other", "pending", "total")
    ]
    new_row = next(r for r in rows if r[0] == "一、本年新收政府信息公开申请数量")
    assert new_row[1] == cells["t3.new_received.natural_person"] and new_row[7] == cells["t3.new_received.total"]
    assert "A1:A1" not in {str(r) for r in tables.merged_cells.ranges}
    assert any(str(r).startswith("B") for r in tables.merged_cells.ranges)  # 申请人情况 spans the columns


def test_workbook_keeps_formula_like_text_as_text(report):
    evil = AgencyStatus(
        ExpectedAgency("x", '=HYPERLINK("http://evil","x")\x07局', "x"), "missing", deadline=date(2024, 1, 31)
    )
    wb = load_workbook(io.BytesIO(workbook_bytes(dataclasses.replace(report, agencies=[evil], tables=[]))))
    cell = wb["缺失与逾期"]["A2"]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://evil","x")局'


def test_cli_writes_html_and_xlsx_to_a_folder(world, tmp_path, monkeypatch):
    from flows.cli import app

    monkeypatch.setenv("SMTP__OUTBOX_DIR", str(tmp_path / "outbox"))
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--year",
            str(YEAR),
            "--out",
            str(tmp_path / "out"),
            "--registry",
            str(world.registry_path),
            "--warehouse",
            str(world.cfg.db_path),
        ],
    )
    assert result.exit_code == 0, result.output
    html = (tmp_path / "out" / "report-huaian-2023.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and HONGZE in html
    assert (tmp_path / "out" / "report-suqian-2023.html").is_file()
    wb = load_workbook(tmp_path / "out" / "report-huaian-2023.xlsx")
    assert wb["概况"]["B3"].value == "淮安市政务公开办公室"
    assert "应报送 5，已找到 4，已发布 2，已隔离 2，缺失 1，逾期 1" in result.output
    assert not (tmp_path / "outbox").exists()  # writing a folder is not a report "issued": no snapshot


def test_data_uris_embed_the_png():
    assert data_uris({"x": b"\x89PNG"}) == {"x": "data:image/png;base64,iVBORw=="}


def test_workbook_parse_issues_are_chinese_with_their_stable_codes(report):
    from flows.report.data import ParseIssue
    from sources import chinese

    message = "Page 4 has no text layer (a scanned image): its content was not read; OCR it or get a text PDF."
    issue = {"code": "ocr_needed", "severity": "warning", "page": 4, "message": message}
    shown = dataclasses.replace(
        report.agencies[0], issues=[ParseIssue("ocr_needed", "warning", chinese.issue_text(issue), 4)]
    )
    wb = load_workbook(io.BytesIO(workbook_bytes(dataclasses.replace(report, agencies=[shown], tables=[]))))
    rows = _sheet_rows(wb["解析提示"])
    assert rows[0] == ("机关", "严重程度", "说明", "页码", "代码", "版本")
    assert rows[1][1:5] == (
        "警告",
        "第 4 页没有文字层（扫描图像），内容未读取：请做 OCR 或向发布机关索取文字版 PDF",
        4,
        "ocr_needed",
    )
