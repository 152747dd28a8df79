"""Tests for sources.parsing.readers.pdf: PDFs built here with reportlab, plus the real hongzequ-2023 report."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence

import pytest
from PIL import Image
from refdata import SHARED
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from sources.parsing.document import Document, UnreadableDocument
from sources.parsing.readers.pdf import (
    clean_page_text,
    is_footer_line,
    is_table_page,
    physical_rows,
    read_pdf,
    table_blocks,
)

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
PAGE_W, PAGE_H = 595.0, 842.0

CORPUS = SHARED / "corpus"
HONGZEQU = CORPUS / "docs" / "hongzequ-2023.pdf"


# ---------------------------------------------------------------------------------------------
# Building test PDFs
# ---------------------------------------------------------------------------------------------


def make_pdf(pages: Sequence[Callable[[canvas.Canvas], None]], **kwargs: object) -> bytes:
    """A PDF with one page per drawing function (A4, STSong-Light 10.5 pt preset)."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(PAGE_W, PAGE_H), **kwargs)
    for draw in pages:
        c.setFont(FONT, 10.5)
        draw(c)
        c.showPage()
    c.save()
    return buf.getvalue()


def text_at(c: canvas.Canvas, x: float, top: float, text: str, size: float = 10.5) -> None:
    """Draw text with its top at ``top`` points from the page top."""
    c.setFont(FONT, size)
    c.drawString(x, PAGE_H - top - size, text)


def hline(c: canvas.Canvas, x0: float, x1: float, top: float) -> None:
    """A horizontal rule at ``top`` from the page top."""
    c.line(x0, PAGE_H - top, x1, PAGE_H - top)


def vline(c: canvas.Canvas, x: float, top: float, bottom: float) -> None:
    """A vertical rule from ``top`` to ``bottom`` (from the page top)."""
    c.line(x, PAGE_H - top, x, PAGE_H - bottom)


def footer(c: canvas.Canvas, number: int) -> None:
    """A WPS-style page number "- N -" at the bottom centre."""
    text_at(c, PAGE_W / 2 - 10, 800, f"- {number} -", size=9)


# Ruled table over two pages. Columns: label 70-250, then three 60-pt number columns.
XS = [70, 250, 310, 370, 430]


def ruled_page_1(c: canvas.Canvas) -> None:
    """Narrative, a heading, then the first rows of a ruled table running to the page bottom."""
    text_at(c, 70, 60, "一、总体情况")
    text_at(c, 70, 80, "本年度共收到申请21件，均在法定期限内答复。")
    text_at(c, 70, 110, "三、收到和处理政府信息公开申请情况")
    # header: "本列数据" spans two rows, "申请人情况" spans three columns
    top, mid, bottom = 640.0, 670.0, 700.0
    hline(c, XS[0], XS[-1], top)
    hline(c, XS[1], XS[-1], mid)
    hline(c, XS[0], XS[-1], bottom)
    vline(c, XS[0], top, bottom)
    vline(c, XS[1], top, bottom)
    for x in XS[2:4]:
        vline(c, x, mid, bottom)
    vline(c, XS[-1], top, bottom)
    text_at(c, 75, 660, "本列数据")
    text_at(c, 315, 645, "申请人情况")
    for x, label in zip(XS[1:], ["自然人", "法人", "总计"], strict=False):
        text_at(c, x + 5, 675, label)
    body = [("一、本年新收申请数量", "21", "0", "21"), ("二、上年结转申请数量", "0", "0", "0")]
    draw_body(c, body, top=700.0, row_h=30.0)
    footer(c, 1)


def ruled_page_2(c: canvas.Canvas) -> None:
    """The rest of the table at the page top, a row with a wrapped label, then narrative."""
    footer(c, 2)
    rows = [("（七）总计", "21", "0", "21"), ("四、结转下年度继续办理", "0", "0", "0")]
    draw_body(c, rows, top=70.0, row_h=30.0)
    # a taller row whose label wraps onto a second printed line
    top, bottom = 130.0, 170.0
    hline(c, XS[0], XS[-1], bottom)
    for x in XS:
        vline(c, x, top, bottom)
    text_at(c, 75, 135, "4.无正当理由大量反复")
    text_at(c, 75, 152, "申请")
    for x, value in zip(XS[1:], ["0", "0", "0"], strict=False):
        text_at(c, x + 5, 143, value)
    text_at(c, 70, 200, "五、存在的主要问题及改进情况")
    text_at(c, 70, 220, "下一步将继续加强业务培训。")


def draw_body(c: canvas.Canvas, rows: Sequence[Sequence[str]], top: float, row_h: float) -> None:
    """Body rows of the ruled table: one full grid row per entry, with its top rule."""
    for i, row in enumerate(rows):
        y = top + i * row_h
        hline(c, XS[0], XS[-1], y)
        hline(c, XS[0], XS[-1], y + row_h)
        for x in XS:
            vline(c, x, y, y + row_h)
        for x, value in zip(XS, row, strict=False):
            text_at(c, x + 5, y + 10, value)


def unruled_page(c: canvas.Canvas) -> None:
    """Narrative, a table printed with no lines at all (a label above its numbers), narrative, a signature."""
    text_at(c, 70, 60, "二、主动公开政府信息情况")
    text_at(c, 70, 80, "本年度主动公开信息1136条，具体如下。")
    text_at(c, 70, 110, "第二十条第（一）项")
    cols = [70, 230, 330, 430]
    lines = [
        ("信息内容", "本年制发件数", "本年废止件数", "现行有效件数"),
        ("规章", "0", "0", "0"),
        ("行政规范性文件", "0", "5", "5"),
    ]
    for i, line in enumerate(lines):
        for x, value in zip(cols, line, strict=False):
            text_at(c, x, 135 + i * 20, value)
    # a label on its own line, with its numbers printed on the next line
    text_at(c, 70, 195, "（二）部分公开")
    for x, value in zip(cols[1:], ["4", "0", "4"], strict=False):
        text_at(c, x, 212, value)
    text_at(c, 70, 260, "三、收到和处理政府信息公开申请情况")
    text_at(c, 70, 280, "本年度共收到申请21件。")
    text_at(c, 70, 300, "均在法定期限内答复。")
    text_at(c, 70, 320, "无行政复议和行政诉讼。")
    # a signature line with a wide gap is two "cells", but alone it is no table
    text_at(c, 70, 360, "淮安市洪泽区人民政府办公室")
    text_at(c, 400, 360, "2024年1月20日")
    footer(c, 1)


def text_page(c: canvas.Canvas) -> None:
    """A page of plain narrative."""
    text_at(c, 70, 60, "洪泽区人民政府2023年政府信息公开工作年度报告")
    text_at(c, 70, 90, "本报告根据《中华人民共和国政府信息公开条例》编制。")
    footer(c, 1)


def image_page(c: canvas.Canvas) -> None:
    """A scanned page: one full-page image, no text layer."""
    img = Image.new("RGB", (200, 280), "white")
    for x in range(20, 180):
        for y in (40, 41, 80, 81):
            img.putpixel((x, y), (0, 0, 0))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    buf.seek(0)
    c.drawImage(ImageReader(buf), 0, 0, width=PAGE_W, height=PAGE_H)


# ---------------------------------------------------------------------------------------------
# Tables and text
# ---------------------------------------------------------------------------------------------


def test_ruled_table_split_over_two_pages_continues_as_one_table() -> None:
    doc = read_pdf(make_pdf([ruled_page_1, ruled_page_2]))

    assert [(r.page, r.table, r.line, r.cells) for r in doc.rows] == [
        (1, 0, 1, ("本列数据", "申请人情况")),
        (1, 0, 2, ("自然人", "法人", "总计")),
        (1, 0, 3, ("一、本年新收申请数量", "21", "0", "21")),
        (1, 0, 4, ("二、上年结转申请数量", "0", "0", "0")),
        (2, 0, 5, ("（七）总计", "21", "0", "21")),
        (2, 0, 6, ("四、结转下年度继续办理", "0", "0", "0")),
        (2, 0, 7, ("4.无正当理由大量反复\n申请", "0", "0", "0")),
    ]
    assert doc.format == "pdf"
    assert doc.pages == 2
    assert doc.issues == []


def test_text_is_reading_order_without_page_numbers() -> None:
    doc = read_pdf(make_pdf([ruled_page_1, ruled_page_2]))

    lines = doc.text.split("\n")
    assert "- 1 -" not in lines and "- 2 -" not in lines
    assert lines[0] == "一、总体情况"
    assert lines.index("三、收到和处理政府信息公开申请情况") < lines.index("五、存在的主要问题及改进情况")
    assert lines[-1] == "下一步将继续加强业务培训。"
    assert "\r" not in doc.text


def test_unruled_table_is_read_from_word_positions() -> None:
    doc = read_pdf(make_pdf([unruled_page]))

    assert [r.cells for r in doc.rows] == [
        ("信息内容", "本年制发件数", "本年废止件数", "现行有效件数"),
        ("规章", "0", "0", "0"),
        ("行政规范性文件", "0", "5", "5"),
        ("（二）部分公开", "4", "0", "4"),
    ]
    assert {r.table for r in doc.rows} == {0}
    assert [r.line for r in doc.rows] == [1, 2, 3, 4]
    assert [i.code for i in doc.issues] == ["pdf_table_from_words"]


def test_text_only_pages_give_no_rows() -> None:
    doc = read_pdf(make_pdf([text_page]))

    assert doc.rows == []
    assert doc.text.split("\n") == [
        "洪泽区人民政府2023年政府信息公开工作年度报告",
        "本报告根据《中华人民共和国政府信息公开条例》编制。",
    ]


# ---------------------------------------------------------------------------------------------
# Image-only pages
# ---------------------------------------------------------------------------------------------


def test_image_only_page_is_reported_not_read_as_empty() -> None:
    doc = read_pdf(make_pdf([text_page, image_page]))

    assert [(i.code, i.severity, i.page) for i in doc.issues] == [("ocr_needed", "warning", 2)]
    assert "OCR" in doc.issues[0].message
    assert doc.pages == 2
    assert doc.text.startswith("洪泽区人民政府2023年")


def test_all_pages_image_only_is_still_a_document() -> None:
    doc = read_pdf(make_pdf([image_page, image_page]))

    assert [(i.code, i.page) for i in doc.issues] == [("ocr_needed", 1), ("ocr_needed", 2)]
    assert doc.rows == []
    assert doc.text.strip() == ""


# ---------------------------------------------------------------------------------------------
# Unreadable files
# ---------------------------------------------------------------------------------------------


def _unreadable_code(data: bytes) -> str:
    with pytest.raises(UnreadableDocument) as info:
        read_pdf(data)
    assert "\n" not in info.value.message
    return info.value.code


def test_zero_bytes_is_empty_file() -> None:
    assert _unreadable_code(b"") == "empty_file"


def test_truncated_pdf_is_truncated() -> None:
    data = make_pdf([ruled_page_1, ruled_page_2])
    assert _unreadable_code(data[: len(data) // 2]) == "truncated"


def test_corrupt_body_is_truncated() -> None:
    data = make_pdf([text_page])
    assert _unreadable_code(b"%PDF-1.4\n" + b"\x00garbage" * 50 + b"\n%%EOF\n") == "truncated"
    assert data.startswith(b"%PDF")


def test_not_a_pdf_is_not_a_document() -> None:
    assert _unreadable_code("<html><body>404 页面不存在</body></html>".encode()) == "not_a_document"


def test_encrypted_pdf_is_encrypted() -> None:
    data = make_pdf([text_page], encrypt=StandardEncryption("secret", canPrint=0))
    assert _unreadable_code(data) == "encrypted"


# ---------------------------------------------------------------------------------------------
# Helpers and thread safety
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [("- 3 -", True), ("— 12 —", True), ("－3－", True), ("第3页", True), ("第 3 页 共 5 页", True)]
    + [("3", False), ("21 0 0 21", False), ("第二十条第（一）项", False), ("- 总体情况", False)],
)
def test_is_footer_line(line: str, expected: bool) -> None:
    assert is_footer_line(line) is expected


def test_clean_page_text_normalises_line_ends_and_drops_footers() -> None:
    assert clean_page_text("- 3 -\r\n标题\r\n正文\x00一行\r\n第3页\r\n") == "标题\n正文一行"


def test_is_table_page_needs_two_signals() -> None:
    assert is_table_page("信息内容 本年处理决定数量\n行政许可 550")
    assert is_table_page("3.补正后申请内容仍不明确 0 0 0 0 0 0 0\n（五）不予处理")
    assert not is_table_page("全年未发生行政复议案件。\n2023 年 1 月 1 日")


def test_table_blocks_stop_at_narrative_paragraphs() -> None:
    assert table_blocks([1, 4, 4, 1, 4, 1, 1, 1, 2, 1]) == [(1, 5)]
    assert table_blocks([3, 3, 1, 1, 1, 2, 2]) == [(0, 2), (5, 7)]
    assert table_blocks([1, 2, 1]) == []


def test_physical_rows_drop_spans_keep_empty_cells() -> None:
    grid = [["行政复议", None, "", "行政诉讼"], [None, None, None, None], ["  10 ", "1", "0", "0"]]
    assert physical_rows(grid) == [("行政复议", "", "行政诉讼"), ("10", "1", "0", "0")]


def test_concurrent_reads_do_not_crash_pdfium() -> None:
    data = make_pdf([ruled_page_1, ruled_page_2])
    expected = read_pdf(data).rows
    assert len(expected) == 7  # the rows asserted cell by cell in the split-table test above
    results: list[object] = []

    def work() -> None:
        results.append(read_pdf(data).rows)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


# ---------------------------------------------------------------------------------------------
# The real report
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hongzequ() -> Document:
    if not HONGZEQU.exists():
        pytest.skip(f"real corpus not available: {HONGZEQU} is missing (only in the shared workspace)")
    return read_pdf(HONGZEQU.read_bytes())


def _rows_by_label(doc: Document) -> dict[str, tuple[int | None, int | None, tuple[str, ...]]]:
    """Rows keyed by their last label cell (whitespace removed), as (page, table, cells)."""
    out = {}
    for row in doc.rows:
        labels = [c for c in row.cells if c and not c.replace(".", "").isdigit()]
        if labels:
            out["".join(labels[-1].split())] = (row.page, row.table, row.cells)
    return out


def test_hongzequ_text_and_pages(hongzequ: Document) -> None:
    assert hongzequ.pages == 5
    assert hongzequ.issues == []
    text = hongzequ.text
    assert text.startswith("洪泽区人民政府\n2023 年政府信息公开工作年度报告")
    assert "- 3 -" not in text
    assert "全年收取政府信息公开信息处理费 0 元" in text


def test_hongzequ_table_rows(hongzequ: Document) -> None:
    rows = hongzequ.rows
    by_label = _rows_by_label(hongzequ)

    # 表二 over pages 2-3, one table
    assert by_label["行政规范性文件"] == (2, 0, ("行政规范性文件", "0", "5", "5"))
    assert by_label["行政处罚"] == (3, 0, ("行政处罚", "4119"))
    assert by_label["行政事业性收费"] == (3, 0, ("行政事业性收费", "7730.28"))
    # 表三 over pages 3-4, one table; the wrapped (二) label stays with its numbers
    assert by_label["一、本年新收政府信息公开申请数量"][2][1:] == ("21", "0", "0", "0", "0", "0", "21")
    assert by_label["（二）部分公开（区分处理的，只计这一情形，不计其他情形）"] == (
        3,
        1,
        ("（二）部分公开（区分处理的，只计这一情 形，不\n计其他情形）", "4", "0", "0", "0", "0", "0", "4"),
    )
    assert by_label["2.没有现成信息需要另行制作"] == (3, 1, ("2.没有现成信息需要另行制作", *"3000003"))
    assert by_label["3.补正后申请内容仍不明确"] == (4, 1, ("", "", "3.补正后申请内容仍不明确", *"0000000"))
    assert by_label["（七）总计"][2] == ("（七）总计", "21", "0", "0", "0", "0", "0", "21")
    # 表四 with the totals printed as 0 (a publisher error, kept as printed)
    assert rows[-1].cells == ("10", "1", "0", "0", "0", "0", "0", "0", "0", "0", "5", "0", "0", "0", "0")
    assert rows[-1].page == 4 and rows[-1].table == 2
    assert {r.table for r in rows} == {0, 1, 2}
    # no narrative pseudo-rows from the text-box backgrounds
    assert all(len(r.cells) >= 2 or "第二十条" in r.cells[0] for r in rows)
