"""Readers: bytes of a report → :class:`~sources.parsing.document.Document`, the format told by the bytes.

:func:`sniff_format` looks at the bytes only (never the file name); :func:`read_document` dispatches
to the reader of that format.  Readers are imported lazily, so reading HTML never imports pdfium.
What more than one reader needs (:data:`OLE_MAGIC`, :func:`ole_kind`, :func:`is_layout_row`) is declared
here once.  Old Word ``.doc`` and WPS ``.wps`` files are converted to ``.docx`` by LibreOffice
(:mod:`sources.parsing.readers.convert`) and read like DOCX.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sources.parsing.document import Document, Issue, UnreadableDocument
from sources.parsing.limits import DEFAULT_LIMITS, ReadLimits

if TYPE_CHECKING:
    from sources.parsing.readers.body_images import ImageResolver

__all__ = ["sniff_format", "read_document", "wide_encoding"]

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE compound file (old .doc, encrypted .docx)
# PNG, JPEG, TIFF (read by OCR, sources.parsing.readers.image).
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")
_HTML_MARK = re.compile(
    r"<\s*(?:!doctype\s+html|html|head|body|table|meta|title|tr|td|div|p|br|span|font|style|script)[\s>/]",
    re.I,
)
_TEXT_EXTRA = frozenset("\n\r\t\f\u3000\xa0\ufeff")


_WIDE_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def wide_encoding(data: bytes) -> tuple[str, int] | None:
    """``(codec, BOM length)`` when the bytes are UTF-16 or UTF-32 text, with or without a byte-order mark.

    Without a BOM, such text is told by its zero bytes (every ASCII digit, tab or newline of a
    report has them; UTF-8 and GB18030 text never does) and confirmed by decoding a sample into
    printable text.  ``None`` for anything else (binary formats are sniffed before this).
    """
    for bom, codec in _WIDE_BOMS:
        if data.startswith(bom):
            # b"\xff\xfe\x00\x00" is also UTF-16LE text starting with U+0000: only UTF-32 if it decodes
            if codec.startswith("utf-32") and not _printable_as(data[len(bom) : len(bom) + 4096], codec):
                continue
            return codec, len(bom)
    sample = data[:4096]
    sample = sample[: len(sample) - len(sample) % 4]
    zeros = sample.count(0)
    if len(sample) < 8 or not zeros or zeros < len(sample) // 16:
        return None
    for _bom, codec in _WIDE_BOMS:
        if _printable_as(sample, codec):
            return codec, 0
    return None


def _printable_as(sample: bytes, codec: str) -> bool:
    try:
        text = codecs.getincrementaldecoder(codec)().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    if not text or "\x00" in text:
        return False
    printable = sum(1 for ch in text if ch.isprintable() or ch in _TEXT_EXTRA)
    return printable >= 0.95 * len(text)


def _head_text(data: bytes, size: int = 8192) -> str:
    """The first bytes as text, good enough to find ASCII markup in any ASCII-compatible encoding."""
    head = data[:size]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore")
    return head.decode("latin-1")


def _decodes_as_text(data: bytes) -> bool:
    sample = data[:65536]
    text = None
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = sample.decode("utf-16", errors="replace")
    else:
        for enc in ("utf-8", "gb18030"):
            try:
                text = sample.decode(enc)
                break
            except UnicodeDecodeError as exc:
                if len(data) > len(sample) and exc.start >= len(sample) - 4:
                    # The sample ends inside a multi-byte character: decode up to there.
                    try:
                        text = sample[: exc.start].decode(enc)
                        break
                    except UnicodeDecodeError:
                        continue
    if not text:
        return False
    printable = sum(1 for ch in text if ch.isprintable() or ch in _TEXT_EXTRA)
    return printable >= 0.95 * len(text)


def _has_name(data: bytes, name: str) -> bool:
    """An OLE directory holds its stream names in UTF-16LE; property sets may hold ASCII ones."""
    return name.encode("utf-16-le") in data or name.encode() in data


# What Kingsoft WPS Office writes into the files it saves (its build number property, its name).
_WPS_MARKS = ("KSOProductBuildVer", "WPS Office", "Kingsoft")


def ole_kind(data: bytes) -> str:
    """What an OLE compound file holds: ``encrypted`` (a password-protected Office file), ``wps``
    (saved by Kingsoft WPS, or a Works ``.wps``), ``doc`` (Word 97–2003), ``xls``, ``ppt`` or ``other``."""
    if _has_name(data, "EncryptedPackage"):
        return "encrypted"
    if _has_name(data, "WordDocument"):
        return "wps" if any(_has_name(data, mark) for mark in _WPS_MARKS) else "doc"
    if _has_name(data, "CONTENTS") or any(_has_name(data, mark) for mark in _WPS_MARKS):
        return "wps"
    if _has_name(data, "Workbook") or _has_name(data, "Book"):
        return "xls"
    if _has_name(data, "PowerPoint Document"):
        return "ppt"
    return "other"


def _is_docx_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
    except Exception:
        # A cut or corrupt zip: the local file headers still name the parts.
        return b"word/document.xml" in data[: 1 << 20] or b"word/_rels" in data[: 1 << 20]
    return "word/document.xml" in names or any(n.startswith("word/") and n.endswith(".xml") for n in names)


def _is_markdown(head: str) -> bool:
    """Text exported as Markdown: pipe tables, and no markup but ``<br>`` (a line break inside a cell)."""
    from sources.parsing.readers.pipes import has_pipe_table

    only_breaks = all(m.group(0).lstrip("<").lstrip().lower().startswith("br") for m in _HTML_MARK.finditer(head))
    return only_breaks and has_pipe_table(head.split("\n"))


def sniff_format(data: bytes) -> str:
    """``pdf`` | ``docx`` | ``doc_cfb`` | ``wps`` | ``image`` | ``html`` | ``text`` | ``unknown``, from the bytes alone.

    ``doc_cfb`` is any OLE compound file (old Word ``.doc``, or an encrypted or other Office file)
    except one saved by Kingsoft WPS (or a Works document), which is ``wps``."""
    if not data:
        return "unknown"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "docx" if _is_docx_zip(data) else "unknown"
    if data[:8] == OLE_MAGIC:
        return "wps" if ole_kind(data) == "wps" else "doc_cfb"
    if data.startswith(IMAGE_MAGIC):
        return "image"
    wide = wide_encoding(data)
    if wide is not None:
        codec, bom = wide
        head = codecs.getincrementaldecoder(codec)(errors="replace").decode(data[bom : bom + 32768])
        return "html" if _HTML_MARK.search(head) and not _is_markdown(head) else "text"
    head = _head_text(data)
    if _HTML_MARK.search(head) and not _is_markdown(head):
        return "html"
    if _decodes_as_text(data):
        return "text"
    return "unknown"


# Page layout, not a table cell (HTML and DOCX layout tables): a cell over _LAYOUT_CHARS characters on
# at least _LAYOUT_LINES lines (or over _LAYOUT_HUGE characters), in a row whose other cells hold no figure.
_LAYOUT_CHARS = 200
_LAYOUT_LINES = 3
_LAYOUT_HUGE = 1000
_FIGURE = re.compile(r"^[-+]?\d[\d,，.]*\s*(?:%|元|万元|件|条|个|次)?$")


def is_layout_row(texts: list[str]) -> bool:
    """A row of a layout table: a page of text in a cell, and no figure anywhere in the row."""
    long_cell = any(
        len(t) > _LAYOUT_HUGE or (len(t) > _LAYOUT_CHARS and t.count("\n") + 1 >= _LAYOUT_LINES) for t in texts
    )
    return long_cell and not any(_FIGURE.match(t) for t in texts)


def _from_wide(data: bytes, codec: str, bom: int) -> tuple[bytes, Issue | None]:
    """UTF-16/32 bytes → the same text as UTF-8 bytes, and an issue saying how they were decoded."""
    body = data[bom:]
    try:
        text = body.decode(codec)
    except UnicodeDecodeError:
        text = body.decode(codec, errors="replace")
        return text.encode("utf-8"), Issue(
            "encoding_guessed", "warning", f"文本按 {codec.upper()} 解码，个别无法解码的字节已替换（U+FFFD）"
        )
    if bom:
        return text.encode("utf-8"), None
    return text.encode("utf-8"), Issue("encoding_guessed", "info", f"文本没有字节序标记，按 {codec.upper()} 解码")


def read_document(
    data: bytes,
    content_type: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    images: Mapping[str, bytes] | ImageResolver | None = None,
) -> Document:
    """Bytes → Document, the reader chosen by :func:`sniff_format` (``content_type`` gives an HTML charset;
    ``images``: the images an HTML page's body shows, fetched, by their ``src`` as written, or a
    function reading them when the HTML reader asks: :func:`~sources.parsing.readers.html.read_html`).

    UTF-16/32 text (HTML or plain) is decoded first and read as the same text in UTF-8; every
    reader is bounded by ``limits``.
    """
    if not data:
        raise UnreadableDocument("empty_file", "the file is empty (0 bytes): re-download it")
    fmt = sniff_format(data)
    if fmt in ("html", "text"):
        limits.check_size(len(data), limits.text_bytes, "HTML 或文本文件")
        wide = wide_encoding(data)
        if wide is not None:
            data, issue = _from_wide(data, *wide)
            # now UTF-8 whatever its <meta charset> says
            doc = read_document(data, "text/html; charset=utf-8" if fmt == "html" else None, limits, images)
            if issue is not None:
                doc.issues.insert(0, issue)
            return doc
    if data[:64].lstrip()[:5] == b"{\\rtf":
        raise UnreadableDocument("unsupported_format", "this is an RTF file: save it as .docx or PDF and read that")
    if fmt == "text" and content_type and "html" in content_type.lower():
        fmt = "html"
    if fmt == "pdf":
        from sources.parsing.readers.pdf import read_pdf

        return read_pdf(data, limits)
    if fmt == "docx":
        from sources.parsing.readers.docx import read_docx

        return read_docx(data, limits)
    if fmt in ("doc_cfb", "wps"):
        from sources.parsing.readers.docx import read_ole

        return read_ole(data, limits)
    if fmt == "image":
        from sources.parsing.readers.image import read_image

        return read_image(data, limits)
    if fmt == "html":
        from sources.parsing.readers.html import read_html

        return read_html(data, content_type, limits, images)
    if fmt == "text":
        from sources.parsing.readers.text import read_text

        return read_text(data)
    if data[:4] == b"PK\x03\x04":
        raise UnreadableDocument(
            "not_a_document", "a zip file that is not a Word .docx (maybe .xlsx, .odt or an archive)"
        )
    raise UnreadableDocument("not_a_document", "the bytes are not a PDF, Word, HTML, text or image document")
