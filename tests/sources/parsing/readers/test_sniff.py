"""Format sniffing from the bytes, and read_document's dispatch."""

from __future__ import annotations

import io
import sys
import types
import zipfile

import docx
import pytest

from sources.parsing.document import Document, UnreadableDocument
from sources.parsing.readers import read_document, sniff_format

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _docx_bytes(text: str = "正文") -> bytes:
    d = docx.Document()
    d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "pdf"),
        (b"\r\n\r\n" + b" " * 200 + b"%PDF-1.4\n", "pdf"),  # junk before the header, within 1 KB
        (OLE + b"\x00" * 600, "doc_cfb"),
        (b"<!DOCTYPE html><html><body>x</body></html>", "html"),
        (b"  \n<HTML><HEAD><META http-equiv=Content-Type content='text/html; charset=gb2312'>", "html"),
        ("<table><tr><td>行政许可</td><td>3</td></tr></table>".encode("gbk"), "html"),
        (b"\xef\xbb\xbf<meta charset=utf-8><p>x", "html"),
        ("\ufeff<html><body>中文</body></html>".encode("utf-16-le"), "html"),
        ("一、总体情况\n行政许可\t12\n".encode(), "text"),
        ("一、总体情况\r\n本年度共收到申请81件。\r\n".encode("gb18030"), "text"),
        (bytes(range(256)) * 8, "unknown"),
        (b"", "unknown"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image"),
        (b"II*\x00\x08\x00\x00\x00", "image"),
        (b"MM\x00*\x00\x00\x00\x08", "image"),
    ],
)
def test_sniff_format(data, expected):
    assert sniff_format(data) == expected


def test_sniff_docx_and_other_zips():
    data = _docx_bytes()
    assert sniff_format(data) == "docx"
    assert sniff_format(data[: len(data) // 2]) == "docx"  # truncated: the local headers still say so
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    assert sniff_format(buf.getvalue()) == "unknown"


def test_extension_is_irrelevant_html_bytes_with_text_content_type():
    html = "<html><body><p>依申请公开</p></body></html>".encode()
    assert read_document(html, "text/plain; charset=utf-8").format == "html"


def test_read_document_dispatch_html_docx_text():
    doc = read_document("<html><body><table><tr><td>行政许可</td><td>3</td></tr></table></body></html>".encode())
    assert doc.format == "html" and doc.rows[0].cells == ("行政许可", "3")
    big5 = "<p>資訊公開</p>".encode("big5")
    assert read_document(big5, "text/html; charset=big5").text == "資訊公開"
    assert read_document(_docx_bytes("年度报告")).text == "年度报告"
    assert read_document("一、总体情况\n行政许可\t12\n".encode()).format == "text"


def test_read_document_pdf_is_dispatched_lazily(monkeypatch):
    calls = []
    fake = types.ModuleType("sources.parsing.readers.pdf")

    def read_pdf(data: bytes, limits: object = None) -> Document:
        calls.append(data)
        return Document(format="pdf", text="pdf text")

    fake.read_pdf = read_pdf
    monkeypatch.setitem(sys.modules, "sources.parsing.readers.pdf", fake)
    doc = read_document(b"%PDF-1.4\n...")
    assert doc.format == "pdf" and calls == [b"%PDF-1.4\n..."]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (bytes(range(256)) * 8, "not_a_document"),
        (OLE + b"\x00" * 100 + "EncryptedPackage".encode("utf-16-le"), "encrypted"),
        (OLE + b"\x00" * 100 + "WordDocument".encode("utf-16-le"), "converter_missing"),
        (b"{\\rtf1\\ansi\\deff0 {\\fonttbl} \\par text}", "unsupported_format"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "truncated"),  # an image that cannot be decoded
    ],
)
def test_read_document_unreadable(data, code, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no LibreOffice: an old .doc is refused, not converted
    with pytest.raises(UnreadableDocument) as exc:
        read_document(data)
    assert exc.value.code == code
