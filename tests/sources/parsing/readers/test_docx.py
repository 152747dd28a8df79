"""DOCX reader: merged cells, nested tables, Word artefacts, unreadable files, the real blank template."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
from docx.oxml import parse_xml
from refdata import SHARED

from sources.parsing.document import UnreadableDocument
from sources.parsing.readers.docx import read_docx

CORPUS = SHARED / "corpus"
W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _save(document) -> bytes:
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def _fill(table, prefix: str) -> None:
    for i, row in enumerate(table.rows):
        for j, cell in enumerate(row.cells):
            cell.text = f"{prefix}{i}{j}"


def _merged_doc() -> bytes:
    d = docx.Document()
    d.add_paragraph("某县2023年政府信息公开工作年度报告")
    d.add_paragraph("三、收到和处理政府信息公开申请情况")
    t = d.add_table(rows=4, cols=4)
    _fill(t, "c")
    head = t.cell(0, 0).merge(t.cell(0, 3))  # gridSpan=4
    head.text = "申请人情况"
    group = t.cell(1, 0).merge(t.cell(3, 0))  # vMerge restart + 2 continuations
    group.text = "三、本年度办理结果"
    d.add_paragraph("四、政府信息公开行政复议、行政诉讼情况")
    return _save(d)


def test_merged_cells_are_physical_cells_once():
    doc = read_docx(_merged_doc())
    assert doc.format == "docx"
    assert [(r.table, r.line, r.cells) for r in doc.rows] == [
        (0, 1, ("申请人情况",)),
        (0, 2, ("三、本年度办理结果", "c11", "c12", "c13")),
        (0, 3, ("c21", "c22", "c23")),  # the vMerge continuation cell is covered: omitted
        (0, 4, ("c31", "c32", "c33")),
    ]
    assert doc.text.split("\n") == [
        "某县2023年政府信息公开工作年度报告",
        "三、收到和处理政府信息公开申请情况",
        "申请人情况",
        "三、本年度办理结果\tc11\tc12\tc13",
        "c21\tc22\tc23",
        "c31\tc32\tc33",
        "四、政府信息公开行政复议、行政诉讼情况",
    ]
    assert doc.title == "某县2023年政府信息公开工作年度报告"


def test_nested_table_rows_follow_the_outer_row():
    d = docx.Document()
    t = d.add_table(rows=3, cols=2)
    _fill(t, "o")
    inner = t.cell(1, 1).add_table(rows=2, cols=2)
    _fill(inner, "n")
    t.cell(1, 1).paragraphs[0].text = ""  # the cell holds only the nested table
    doc = read_docx(_save(d))
    assert [(r.table, r.line, r.cells) for r in doc.rows] == [
        (0, 1, ("o00", "o01")),
        (0, 2, ("o10", "")),  # the nested table's text is not part of the outer cell
        (1, 1, ("n00", "n01")),
        (1, 2, ("n10", "n11")),
        (0, 3, ("o20", "o21")),
    ]
    assert doc.text.split("\n") == ["o00\to01", "o10\t", "n00\tn01", "n10\tn11", "o20\to21"]


def test_word_artefacts_field_codes_tabs_breaks_hidden_and_deleted_text():
    d = docx.Document()
    d.element.body.insert(
        0,
        parse_xml(
            f"<w:p {W_NS}>"
            '<w:bookmarkStart w:id="0" w:name="_Toc123"/>'
            "<w:r><w:t>第</w:t></w:r>"
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            '<w:r><w:instrText xml:space="preserve"> PAGE \\* MERGEFORMAT </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
            "<w:r><w:t>3</w:t></w:r>"
            '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
            '<w:r><w:t xml:space="preserve">页</w:t><w:tab/><w:t>甲</w:t><w:br/><w:t>乙</w:t></w:r>'
            "<w:r><w:rPr><w:vanish/></w:rPr><w:t>隐藏文字</w:t></w:r>"
            '<w:del w:id="1" w:author="x"><w:r><w:delText>删除文字</w:delText></w:r></w:del>'
            '<w:ins w:id="2" w:author="x"><w:r><w:t>插入</w:t></w:r></w:ins>'
            "<w:hyperlink><w:r><w:t>链接</w:t></w:r></w:hyperlink>"
            '<w:bookmarkEnd w:id="0"/>'
            "</w:p>"
        ),
    )
    doc = read_docx(_save(d))
    assert doc.text == "第3页\t甲\n乙插入链接"


def test_content_control_wrapped_paragraphs_and_rows_are_read():
    d = docx.Document()
    d.add_paragraph("前")
    t = d.add_table(rows=1, cols=2)
    _fill(t, "s")
    body = d.element.body
    sdt = parse_xml(
        f"<w:sdt {W_NS}><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>控件内</w:t></w:r></w:p></w:sdtContent></w:sdt>"
    )
    body.insert(1, sdt)
    doc = read_docx(_save(d))
    assert doc.text.split("\n") == ["前", "控件内", "s00\ts01"]
    assert [r.cells for r in doc.rows] == [("s00", "s01")]


# ------------------------------------------------------------------------------ unreadable


def _code(data: bytes) -> str:
    with pytest.raises(UnreadableDocument) as exc:
        read_docx(data)
    assert exc.value.message
    return exc.value.code


def test_empty_file():
    assert _code(b"") == "empty_file"


def test_truncated_and_corrupt_zip():
    data = _merged_doc()
    assert _code(data[: len(data) // 2]) == "truncated"
    assert _code(b"PK\x03\x04" + b"\x00" * 100) == "truncated"


def test_not_a_document():
    assert _code(b"hello, this is not a word file") == "not_a_document"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    assert _code(buf.getvalue()) == "not_a_document"


def _cfb(*stream_names: str) -> bytes:
    """Enough of an OLE compound file for the reader: the magic and UTF-16LE directory names."""
    body = b"".join(name.encode("utf-16-le") + b"\x00" * (64 - 2 * len(name)) for name in stream_names)
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + body + b"\x00" * 512


def test_password_protected_word_is_encrypted():
    assert _code(_cfb("Root Entry", "EncryptionInfo", "EncryptedPackage")) == "encrypted"


def test_old_binary_doc_without_libreoffice_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no soffice on it: conversion is tests/…/test_convert.py
    with pytest.raises(UnreadableDocument) as exc:
        read_docx(_cfb("Root Entry", "WordDocument", "1Table"))
    assert exc.value.code == "converter_missing"
    assert "libreoffice-writer" in exc.value.message


# ------------------------------------------------------------------------------ real document


def test_blank_template_2021():
    path = CORPUS / "docs" / "blank-template-2021.docx"
    if not path.is_file():
        pytest.skip(f"shared corpus not available ({path} missing): real-document test skipped")
    doc = read_docx(path.read_bytes())
    assert doc.title == "政府信息公开工作年度报告格式模板"
    assert {r.table for r in doc.rows} == {0, 1, 2}
    rows = [r.cells for r in doc.rows]
    assert ("信息内容", "本年制发件数", "本年废止件数", "现行有效件数") in rows
    assert ("一、本年新收政府信息公开申请数量", "", "", "", "", "", "", "") in rows
    assert ("三、本年度办理结果", "（一）予以公开", "", "", "", "", "", "", "") in rows
    assert rows[-1] == ("",) * 15
    assert all(not any(ch.isdigit() for cell in r[1:] for ch in cell) for r in rows if r and r[0].startswith("（七）"))
    assert "一、总体情况" in doc.text.split("\n")


def test_text_box_is_read_once_not_from_its_vml_fallback():
    mc = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    d = docx.Document()
    d.element.body.insert(
        0,
        parse_xml(
            f"<w:p {W_NS} {mc}><w:r><w:t>正文</w:t></w:r><w:r><mc:AlternateContent>"
            '<mc:Choice Requires="wps"><w:drawing><w:txbxContent><w:p><w:r><w:t>文本框</w:t></w:r></w:p>'
            "</w:txbxContent></w:drawing></mc:Choice>"
            "<mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>文本框</w:t></w:r></w:p></w:txbxContent>"
            "</w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"
        ),
    )
    assert read_docx(_save(d)).text == "正文\n文本框"


def test_cell_text_is_stripped_of_ideographic_spaces():
    d = docx.Document()
    t = d.add_table(rows=1, cols=2)
    t.cell(0, 0).text = "\u3000\u3000行政许可 "
    t.cell(0, 1).text = " 12\u3000"
    doc = read_docx(_save(d))
    assert [r.cells for r in doc.rows] == [("行政许可", "12")]
    assert doc.text == "行政许可\t12"


def test_layout_table_yields_its_text_and_the_inner_rows_only():
    d = docx.Document()
    cell = d.add_table(rows=1, cols=1).cell(0, 0)
    cell.text = "某局2022年政府信息公开工作年度报告"
    cell.add_paragraph("一、总体情况")
    cell.add_paragraph("本机关认真贯彻落实政府信息公开条例。" * 12)
    inner = cell.add_table(rows=1, cols=2)
    inner.cell(0, 0).text = "行政许可"
    inner.cell(0, 1).text = "12"
    doc = read_docx(_save(d))
    assert [(r.table, r.line, r.cells) for r in doc.rows] == [(1, 1, ("行政许可", "12"))]
    assert doc.text.split("\n")[:2] == ["某局2022年政府信息公开工作年度报告", "一、总体情况"]
    assert doc.text.split("\n")[-1] == "行政许可\t12"
