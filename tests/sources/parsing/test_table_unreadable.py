"""A document that prints the statutory labels is a report: when its tables cannot be read it keeps a
template chosen from the labels, every cell null with the reason, and a ``table_unreadable`` error —
never ``template: null`` / ``not_statutory_report``."""

from __future__ import annotations

import factory
import pytest

from sources.parsing.assemble import parse_document
from sources.parsing.document import Document
from sources.parsing.parse import parse_bytes, unread_for_time


def spaced_text(template: str) -> tuple[dict, bytes]:
    """A report exported as text whose table cells are separated by spaces (no tabs, no pipes)."""
    year = 2020 if template == "gov2019" else 2023
    facts = factory.make_facts("示例市统计局", year, template, seed=7)
    return facts, factory.render(facts, "text").decode().replace("\t", "  ").encode()


@pytest.mark.parametrize("template", ["gov2021", "gov2019"])
def test_labels_in_text_without_readable_tables_make_a_report_with_unreadable_tables(template):
    facts, data = spaced_text(template)
    result = parse_bytes(data, "report.txt")
    assert result["error"] is None
    assert result["template"] == template  # from the labels printed, not from the year
    assert (result["agency"], result["year"]) == ("示例市统计局", facts["year"])
    codes = {i["code"]: i for i in result["issues"]}
    assert "not_statutory_report" not in codes
    assert codes["table_unreadable"]["severity"] == "error"
    assert "表格无法读取" in codes["table_unreadable"]["message"]
    assert {c["address"] for c in result["cells"]} == set(facts["cells"])
    assert all(c["value"] is None and c["semantic"] == "MISSING" for c in result["cells"])
    assert all("表格无法读取" in c["reason"] for c in result["cells"])


def test_tables_whose_rows_are_all_refused_are_unreadable_not_a_blank_template():
    facts = factory.make_facts("示例市统计局", 2023, "gov2021", seed=7)
    lines = factory.render(facts, "text", layout="pipe").decode().split("\n")
    start = next(i for i, line in enumerate(lines) if "一、本年新收" in line)
    end = next(i for i, line in enumerate(lines) if "四、结转下年度继续办理" in line)
    for i in range(start, end + 1):  # every 表三 data row lost its 总计 cell in the export
        cells = lines[i].strip().strip("|").split("|")
        lines[i] = "|" + "|".join(cells[:-1]) + "|"
    result = parse_bytes("\n".join(lines).encode(), "report.md")
    assert result["template"] == "gov2021"
    issue = next(i for i in result["issues"] if i["code"] == "table_unreadable")
    assert issue["address"] == "t3" and "少1格" in issue["message"]
    cells = {c["address"]: c for c in result["cells"]}
    assert all(c["value"] is None for a, c in cells.items() if a.startswith("t3."))
    # what could be read still is
    t2 = {a: v for a, v in facts["cells"].items() if a.startswith("t2")}
    assert {a: cells[a]["value"] for a in t2} == t2


def test_blank_template_and_unrelated_pages_are_still_not_reports():
    blank = parse_bytes(factory.render_blank_template("docx"), "blank.docx")
    assert blank["template"] is None and "blank_template" in {i["code"] for i in blank["issues"]}
    notice = parse_bytes(factory.render_notice_html(), "notice.html")
    assert notice["template"] is None and "not_statutory_report" in {i["code"] for i in notice["issues"]}


def test_a_scan_with_pages_left_unread_for_time_is_not_called_not_a_report():
    """OCR read the first pages of a scan (narrative), the rest did not fit in the parse time limit: the
    tables may be on those pages, so the parse ends as ``parse_timeout`` saying so, never as "not a
    statutory report" (a 13-page scan of a real 2019 report was called that when its table pages
    were left for time)."""
    narrative = "平潭综合实验区2019年政府信息公开工作年度报告\n一、总体情况\n本年度，我区坚持以公开为常态。"
    late = Document(format="pdf", text=narrative, pages=13, ocr_pages=3, ocr_late=3)
    parsed = parse_document(late)
    assert parsed["template"] is None  # the labels it would need were on the pages not read
    assert unread_for_time(late, parsed["template"]) == (
        "OCR 读了 3 页，另有 3 页在时限内未能读取，无法判断是否为法定年报"
    )
    whole = Document(format="pdf", text=narrative, pages=13, ocr_pages=6, ocr_late=0)
    assert unread_for_time(whole, parse_document(whole)["template"]) is None  # all read: not a report
