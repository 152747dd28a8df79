"""The three plain-text layouts produce the same rows."""

import pytest

from sources.parsing.document import UnreadableDocument
from sources.parsing.readers.text import read_text


def test_tab_rows_keep_blank_cells():
    doc = read_text("标题\n一、本年新收政府信息公开申请数量\t\t3\t0\t0\t0\t0\t0\t3\n".encode())
    assert doc.rows[0].cells == ("一、本年新收政府信息公开申请数量", "", "3", "0", "0", "0", "0", "0", "3")
    assert doc.rows[0].line == 2


def test_tab_cells_layout_joins_wrapped_cells_into_one_row():
    text = "\t（三）\n不予\n公开\n\t1.属于国家秘密\n\t0\n\t1\n\n\t（七）总计\n\t5\n"
    doc = read_text(text.encode())
    assert doc.rows[0].cells == ("（三）\n不予\n公开", "1.属于国家秘密", "0", "1")
    assert doc.rows[1].cells == ("（七）总计", "5")


def test_cell_lines_layout_groups_labels_then_values():
    text = "规章\n\n0\n\n1\n\n行政规范性文件\n\n4\n\n9\n"
    doc = read_text(text.encode())
    assert [r.cells for r in doc.rows] == [("规章", "0", "1"), ("行政规范性文件", "4", "9")]


def test_gb18030_and_artefacts():
    doc = read_text("行政许可\t[bookmark: _GoBack]18\t\t\n".encode("gb18030"))
    assert doc.rows[0].cells == ("行政许可", "18", "", "")


def test_empty_file_is_unreadable():
    with pytest.raises(UnreadableDocument) as exc:
        read_text(b"")
    assert exc.value.code == "empty_file"


def test_bytes_neither_utf8_nor_gb18030_are_replaced_and_reported():
    doc = read_text("行政许可\t18\t\n".encode() + b"\xff\xfe\n")
    assert doc.rows[0].cells == ("行政许可", "18", "")
    assert [i.code for i in doc.issues] == ["encoding_guessed"]
    assert read_text("行政许可\t18\n".encode("gb18030")).issues == []
