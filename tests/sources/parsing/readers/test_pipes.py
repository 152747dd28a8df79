"""Markdown pipe tables (PDF → Markdown exports): rows as printed, defects split or refused, never shifted."""

from sources.parsing.readers.pipes import pipe_rows, split_cells
from sources.parsing.readers.text import read_text

HEAD = "| 信息内容 |  | 自然人 | 商业企业 | 总计 |\n|---|---|---|---|---|\n"


def test_cells_unescape_pipes_breaks_and_bold():
    assert split_cells(r"| **三、本年度办理结果** | 1.属于<br>国家秘密 | a\|b |  |") == [
        "三、本年度办理结果",
        "1.属于\n国家秘密",
        "a|b",
        "",
    ]


def test_full_rows_keep_their_blank_cells_and_line_numbers():
    doc = read_text(("标题\n\n" + HEAD + "| 一、本年新收政府信息公开申请数量 |  | 1259 | 36 | 1295 |\n").encode())
    assert [r.cells for r in doc.rows] == [
        ("信息内容", "", "自然人", "商业企业", "总计"),
        ("一、本年新收政府信息公开申请数量", "", "1259", "36", "1295"),
    ]
    assert [r.line for r in doc.rows] == [3, 5]
    assert all(r.short == 0 and r.refused is None for r in doc.rows)
    # the text keeps the table as tab-joined rows (as every reader writes tables), separator blank
    assert doc.text.split("\n")[4] == "一、本年新收政府信息公开申请数量\t\t1259\t36\t1295"


def test_short_row_says_how_many_cells_it_lacks():
    rows = pipe_rows((HEAD + "| （一）予以公开 | 5 | 0 | 5 |\n").split("\n"))
    assert rows[-1].cells == ("（一）予以公开", "5", "0", "5")
    assert rows[-1].short == 1


def test_stacked_rows_split_when_every_cell_splits_alike():
    text = HEAD + "| （三）不予公开 | 1.属于国家秘密<br>2.其他法律行政法规禁止公开 | 0<br>3 | 1<br>0 | 1<br>3 |\n"
    text += "|  | 3.危及“三安全一稳定” 4.保护第三方合法权益 | 2 0 | 0 0 |  |\n"
    rows = pipe_rows(text.split("\n"))[1:]
    assert [r.cells for r in rows] == [
        ("（三）不予公开", "1.属于国家秘密", "0", "1", "1"),
        ("", "2.其他法律行政法规禁止公开", "3", "0", "3"),
        ("", "3.危及“三安全一稳定”", "2", "0", ""),
        ("", "4.保护第三方合法权益", "0", "0", ""),
    ]
    assert all(r.refused is None for r in rows)


def test_stacked_row_with_a_cell_that_does_not_split_is_refused_never_glued():
    # "1259 36": two numbers in one cell beside cells holding one: whose is which is unknown.
    text = HEAD + "| 一、本年新收<br>二、上年结转 |  | 1259 36 | 7 | 1295 |\n"
    rows = pipe_rows(text.split("\n"))[1:]
    assert [r.cells for r in rows] == [("一、本年新收",), ("二、上年结转",)]
    assert all("拆不成2份" in (r.refused or "") for r in rows)


def test_stacked_row_with_one_text_among_the_values_is_refused():
    # "约10件" is text, not a number: whose row it belongs to is unknown, so neither row is read.
    text = HEAD + "| 1.属于国家秘密<br>2.其他法律行政法规禁止公开 |  | 0<br>3 | 约10件 | 1<br>3 |\n"
    rows = pipe_rows(text.split("\n"))[1:]
    assert len(rows) == 2 and all(r.refused for r in rows)


def test_run_on_row_is_split_before_the_glued_label():
    text = HEAD + "| （一）予以公开 |  | 5 | 0 | 5 | （二）部分公开 | 1 | 2 | 3 |\n"
    rows = pipe_rows(text.split("\n"))[1:]
    assert [(r.cells, r.short) for r in rows] == [
        (("（一）予以公开", "", "5", "0", "5"), 0),
        (("（二）部分公开", "1", "2", "3"), 1),
    ]


def test_prose_with_pipes_is_not_a_table():
    doc = read_text("首页 | 政务公开 | 年报\n\n| 只有一行 | 1 |\n\n规章\t1\t2\n".encode())
    assert [r.cells for r in doc.rows] == [("规章", "1", "2")]
