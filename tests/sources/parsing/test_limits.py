"""Every read of the parser is bounded: hostile files are refused with a stable code, cheaply.

The hostile inputs are made here (``tests/hostile.py``); big cases are made cheap by lowering the
limit under test (:class:`ReadLimits`), except where memory is the point: there the document is as
big as the attack and the parse runs in a fresh interpreter whose peak memory is measured.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest
from factory import make_cells, render_html, render_pdf, render_text
from hostile import (
    DOC_FOOT,
    DOC_HEAD,
    MB,
    ROOT,
    chained_page_bomb,
    docx_bomb,
    encrypted_page_bomb,
    flate_page_bomb,
    lzw_encode,
    lzw_page_bomb,
    member,
    paragraph,
    pdf_file,
    peak_parse,
    text_page,
    zip_file,
)

from sources.parsing.limits import ReadLimits
from sources.parsing.parse import parse_bytes, parse_path, read_file

SAMPLES = ROOT / "sources" / "samples"


def _code(result: dict) -> str | None:
    return result["issues"][0]["code"] if result.get("error") else None


def _values(result: dict) -> list:
    return [(c["address"], c["value"]) for c in result["cells"]]


# ------------------------------------------------------------------------------ files on disk


def test_special_files_are_refused_at_once_not_read(tmp_path):
    """``/dev/zero`` and a FIFO nobody writes to: refused from the file type, in a child process so that
    a regression blocks or eats memory there (and fails by the timeout), not here."""
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    good = tmp_path / "good.txt"
    good.write_bytes((SAMPLES / "rsj-2023.txt").read_bytes())
    script = (
        "import json, resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from sources.parsing.parse import parse_path\n"
        "print(json.dumps([parse_path(p) for p in sys.argv[1:]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "/dev/zero", str(fifo), str(tmp_path), str(good)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-1000:]
    import json

    zero, pipe, folder, ok = json.loads(done.stdout)
    assert [_code(zero), _code(pipe), _code(folder), _code(ok)] == [
        "not_regular_file",
        "not_regular_file",
        "not_regular_file",
        None,
    ]
    assert "字符设备" in zero["error"] and "FIFO" in pipe["error"] and "目录" in folder["error"]
    assert zero["source"]["sha256"] is None and ok["template"] == "gov2021"


def test_file_over_the_size_limit_is_refused(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 5000)
    result = parse_path(big, ReadLimits(file_bytes=4096))
    assert _code(result) == "too_large" and "4 KB" in result["error"]
    with pytest.raises(Exception) as exc:
        read_file(big, 4096)
    assert getattr(exc.value, "code", None) == "too_large"
    assert read_file(big, 5000) == b"x" * 5000


# ------------------------------------------------------------------------------------- DOCX


def test_docx_part_inflating_to_300_mb_is_refused_cheaply(tmp_path):
    path = tmp_path / "bomb.docx"
    path.write_bytes(docx_bomb(300 * MB))
    assert path.stat().st_size < 2 * MB  # the attack: 300 MB of valid XML in a small file
    out = peak_parse(path)
    assert out["code"] == "too_large" and "word/document.xml" in out["error"]
    assert out["maxrss_mb"] < 1024, out


def test_docx_member_lying_about_its_size_is_cut_at_the_declared_size(tmp_path):
    name, data, _size, crc = docx_member = member("word/document.xml", DOC_HEAD + paragraph("x" * 100) * 20000)
    lying = zip_file([(name, data, 1000, crc)])  # declares 1000 bytes, inflates to 2 MB
    del docx_member
    result = parse_bytes(lying, "lying.docx")
    assert _code(result) == "truncated"


def test_docx_xml_over_its_limit_is_refused():
    doc = zip_file([member("word/document.xml", DOC_HEAD + paragraph("本年新收") * 200 + DOC_FOOT)])
    assert parse_bytes(doc, "ok.docx", limits=ReadLimits(xml_bytes=64 * 1024))["error"] is None
    result = parse_bytes(doc, "big.docx", limits=ReadLimits(xml_bytes=4096))
    assert _code(result) == "too_large" and "word/document.xml" in result["error"]
    result = parse_bytes(doc, "big.docx", limits=ReadLimits(part_bytes=4096))
    assert _code(result) == "too_large"


def test_docx_deep_xml_billion_laughs_and_xxe_are_refused(tmp_path):
    deep = DOC_HEAD + b"<w:sdt><w:sdtContent>" * 400 + b"</w:sdtContent></w:sdt>" * 400 + DOC_FOOT
    assert _code(parse_bytes(zip_file([member("word/document.xml", deep)]), "deep.docx")) == "too_deep"
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lollollollollollollollollollol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
        )
        + b"]>"
        + DOC_HEAD[DOC_HEAD.index(b"<w:document") :]
        + b"<w:p><w:r><w:t>&lol9;</w:t></w:r></w:p>"
        + DOC_FOOT
    )
    secret = tmp_path / "secret.txt"
    secret.write_text("机密内容", encoding="utf-8")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'.encode()
        + DOC_HEAD[DOC_HEAD.index(b"<w:document") :]
        + b"<w:p><w:r><w:t>&x;</w:t></w:r></w:p>"
        + DOC_FOOT
    )
    for data in (laughs, xxe):
        path = tmp_path / "x.docx"
        path.write_bytes(zip_file([member("word/document.xml", data)]))
        out = peak_parse(path)
        assert out["maxrss_mb"] < 1024
        result = parse_path(path)
        assert "lollol" not in str(result) and "机密内容" not in str(result)


# -------------------------------------------------------------------------------------- PDF


@pytest.mark.parametrize(
    ("inflated", "operators"),
    [(1024 * MB, b" "), (60 * MB, b"0 0 m 1 1 l S\n"), (60 * MB, b"BT /F1 1 Tf 0 0 Td (x) Tj ET\n")],
    ids=["1 GB of blanks", "60 MB of paths", "60 MB of text runs"],
)
def test_pdf_flate_bombs_are_refused_in_bounded_memory(tmp_path, inflated, operators):
    """Before the streams were checked these cost 2.1 GB / 27 s, 1.2 GB / 209 s and 1.1 GB / 68 s."""
    path = tmp_path / "bomb.pdf"
    path.write_bytes(flate_page_bomb(inflated, operators))
    assert path.stat().st_size < 4 * MB
    out = peak_parse(path)
    assert out["code"] == "too_large" and "页面内容流" in out["error"]
    assert out["maxrss_mb"] < 1024, out


@pytest.mark.parametrize(
    "make",
    [
        lambda n: chained_page_bomb(n, "ASCII85Decode"),
        lambda n: chained_page_bomb(n, "ASCIIHexDecode"),
        encrypted_page_bomb,
    ],
    ids=["behind ASCII85", "behind ASCIIHex", "encrypted (RC4, no password)"],
)
def test_pdf_flate_streams_behind_a_filter_chain_or_encryption_are_bounded_too(make):
    """The stream is read by pdfium (its text is there), inflated within the limits, refused past them."""
    pdf = make(3 * MB)
    assert _code(parse_bytes(pdf, "c.pdf", limits=ReadLimits(content_bytes=4 * MB))) is None
    result = parse_bytes(pdf, "c.pdf", limits=ReadLimits(content_bytes=2 * MB))
    assert _code(result) == "too_large" and "一个页面内容流" in result["error"] and "2 MB" in result["error"]


@pytest.mark.parametrize(
    "make", [chained_page_bomb, encrypted_page_bomb, lzw_page_bomb], ids=["behind ASCII85", "encrypted", "LZW"]
)
def test_pdf_gigabyte_bomb_behind_ascii85_or_encryption_is_refused_in_bounded_memory(tmp_path, make):
    """Before these streams were checked, pdfium inflated them whole (1 GB of blanks: 2.1 GB of memory)."""
    path = tmp_path / "bomb.pdf"
    path.write_bytes(make(1024 * MB))
    assert path.stat().st_size < 4 * MB
    out = peak_parse(path)
    assert out["code"] == "too_large" and "页面内容流" in out["error"]
    assert out["maxrss_mb"] < 1024, out


def test_pdf_flate_behind_another_filter_is_refused_with_its_filters_named():
    pdf = pdf_file([zlib.compress(text_page("x"))], extra=[b"/Filter [/LZWDecode /FlateDecode]"])
    result = parse_bytes(pdf, "l.pdf")
    assert _code(result) == "too_large" and "LZWDecode FlateDecode" in result["error"]


def test_the_test_lzw_encoder_is_what_pdfminer_decodes():
    from pdfminer.lzw import lzwdecode

    from sources.parsing.readers.pdf_streams import _lzw_sizes

    for data in [b"x", b"abababababab", bytes(range(256)) * 40, text_page("x") + b" " * 300_000]:
        assert lzwdecode(lzw_encode(data)) == data
        assert sum(_lzw_sizes(iter([lzw_encode(data)]), 1)) == len(data)


@pytest.mark.parametrize(
    "make",
    [
        lzw_page_bomb,
        lambda n: lzw_page_bomb(n, "ASCII85Decode"),
        lambda n: encrypted_page_bomb(n, lzw=True),
    ],
    ids=["LZW", "LZW behind ASCII85", "LZW encrypted (RC4, no password)"],
)
def test_pdf_lzw_streams_are_bounded_like_flate_ones(make):
    """An LZW content stream (``/Filter /LZWDecode``) is read by pdfium within the limits and refused past
    them: sized from its codes before pdfium decodes it (a few KB of codes decode to megabytes)."""
    pdf = make(3 * MB)
    assert len(pdf) < 64 * 1024
    within = parse_bytes(pdf, "l.pdf", limits=ReadLimits(content_bytes=4 * MB))
    assert _code(within) is None and within["source"]["pages"] == 1
    result = parse_bytes(pdf, "l.pdf", limits=ReadLimits(content_bytes=2 * MB))
    assert _code(result) == "too_large" and "一个页面内容流" in result["error"] and "2 MB" in result["error"]
    result = parse_bytes(pdf, "l.pdf", limits=ReadLimits(inflated_bytes=2 * MB))
    assert _code(result) == "too_large" and "全部压缩流" in result["error"]


def test_pdf_stream_limits_per_stream_and_in_total():
    bomb = flate_page_bomb(3 * MB)
    assert _code(parse_bytes(bomb, "b.pdf")) is None
    result = parse_bytes(bomb, "b.pdf", limits=ReadLimits(content_bytes=2 * MB))
    assert _code(result) == "too_large" and "一个页面内容流" in result["error"] and "2 MB" in result["error"]
    image = flate_page_bomb(3 * MB, extra=b"/Subtype /Image /Width 1024 /Height 1024")  # a data stream
    assert _code(parse_bytes(image, "i.pdf", limits=ReadLimits(content_bytes=2 * MB))) is None
    result = parse_bytes(image, "i.pdf", limits=ReadLimits(part_bytes=2 * MB))
    assert _code(result) == "too_large" and "一个数据流" in result["error"]
    import zlib

    pages = [zlib.compress(text_page("x") + b" " * MB) for _ in range(3)]
    many = pdf_file(pages, filters=["FlateDecode"] * 3)
    assert _code(parse_bytes(many, "m.pdf", limits=ReadLimits(content_total=4 * MB))) is None
    result = parse_bytes(many, "m.pdf", limits=ReadLimits(content_total=2 * MB))
    assert _code(result) == "too_large" and "全部页面内容流" in result["error"]
    result = parse_bytes(many, "m.pdf", limits=ReadLimits(inflated_bytes=2 * MB))
    assert _code(result) == "too_large" and "全部压缩流" in result["error"]


def test_pdf_pages_over_the_limit_are_refused():
    pdf = pdf_file([text_page(f"page {i}") for i in range(3)])
    assert parse_bytes(pdf, "p.pdf", limits=ReadLimits(pdf_pages=3))["source"]["pages"] == 3
    result = parse_bytes(pdf, "p.pdf", limits=ReadLimits(pdf_pages=2))
    assert _code(result) == "too_many_pages" and "3 页" in result["error"]


def test_pdf_table_page_too_dense_for_the_table_reader_is_refused():
    pdf = render_pdf(make_cells(seed=3))
    assert parse_bytes(pdf, "r.pdf")["template"] == "gov2021"
    result = parse_bytes(pdf, "r.pdf", limits=ReadLimits(page_chars=100))
    assert _code(result) == "too_large" and "字符数" in result["error"]
    result = parse_bytes(pdf, "r.pdf", limits=ReadLimits(page_objects=5))
    assert _code(result) == "too_large" and "绘图对象数" in result["error"]


@pytest.mark.parametrize("sample", ["xzf-2023.pdf", "jyj-2023.docx", "zrzyj-2023.html", "rsj-2023.txt"])
def test_parse_past_its_deadline_stops_with_parse_timeout(sample):
    data = (SAMPLES / sample).read_bytes()
    assert parse_bytes(data, sample)["error"] is None
    result = parse_bytes(data, sample, limits=ReadLimits(parse_seconds=1e-9))
    assert _code(result) == "parse_timeout" and "秒" in result["error"]


# ------------------------------------------------------------------------------------- HTML


def _wrapped(html: str, tag: str, depth: int, close: bool = True) -> bytes:
    start = html.index(">", html.index("<body")) + 1
    end = html.rindex("</body>")
    inner = f"<{tag}>" * depth + html[start:end] + (f"</{tag}>" * depth if close else "")
    return (html[:start] + inner + html[end:]).encode("utf-8")


@pytest.mark.parametrize(("tag", "close"), [("div", True), ("span", True), ("font", True), ("div", False)])
def test_report_nested_10000_deep_is_still_read(tag, close):
    html = (SAMPLES / "zrzyj-2023.html").read_text(encoding="utf-8")
    flat = parse_bytes(html.encode("utf-8"), "flat.html")
    deep = parse_bytes(_wrapped(html, tag, 10_000, close), "deep.html")
    assert deep["error"] is None and deep["template"] == flat["template"] == "gov2021"
    assert _values(deep) == _values(flat) and deep["sections"] == flat["sections"]


def test_tables_nested_past_the_parser_limit_are_too_deep():
    html = "<html><body>" + "<table><tr><td>" * 100 + "x" + "</td></tr></table>" * 100 + "</body></html>"
    result = parse_bytes(html.encode(), "tables.html")
    assert _code(result) == "too_deep"


def test_html_and_text_over_their_size_limit_are_refused():
    html = render_html(make_cells(seed=1))
    assert parse_bytes(html, "r.html")["template"] == "gov2021"
    assert _code(parse_bytes(html, "r.html", limits=ReadLimits(text_bytes=len(html) - 1))) == "too_large"
    text = render_text(make_cells(seed=1))
    assert _code(parse_bytes(text, "r.txt", limits=ReadLimits(text_bytes=len(text) - 1))) == "too_large"


# --------------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("sample", ["rsj-2023.txt", "zrzyj-2023.html", "scjgj-2022-gbk.html"])
def test_utf16_and_utf32_reports_are_read_with_or_without_bom(sample, codec):
    raw = (SAMPLES / sample).read_bytes()
    text = raw.decode("gb18030" if "gbk" in sample else "utf-8")
    expected = parse_bytes(raw, sample)
    result = parse_bytes(text.encode(codec), sample)
    assert result["error"] is None and result["template"] == expected["template"] == "gov2021"
    assert result["source"]["format"] == expected["source"]["format"]
    assert (result["agency"], result["year"]) == (expected["agency"], expected["year"])
    assert _values(result) == _values(expected)
    codes = [i["code"] for i in result["issues"]]
    assert ("encoding_guessed" in codes) == (codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"))


def test_binary_with_zero_bytes_is_not_taken_for_utf16():
    from sources.parsing.readers import sniff_format, wide_encoding

    junk = bytes(range(256)) * 16
    assert wide_encoding(junk) is None and sniff_format(junk) == "unknown"
    assert wide_encoding("年度报告 2023\n".encode("utf-16-le")) == ("utf-16-le", 0)


def test_parse_of_a_fifo_never_blocks_in_process(tmp_path):
    """The same refusal in this process, guarded by a thread so that a regression fails, not hangs."""
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    box: list[dict] = []
    worker = threading.Thread(target=lambda: box.append(parse_path(fifo)), daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():  # unblock the reader so the thread ends, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("parse_path blocked on a FIFO")
    assert _code(box[0]) == "not_regular_file" and Path(box[0]["source"]["path"]) == fifo


def test_limit_settings_are_coerced_to_their_fields_and_checked():
    limits = ReadLimits.from_settings({"parse_seconds": "2", "ocr_page_seconds": "0.5", "pdf_pages": "10"})
    assert (limits.parse_seconds, limits.ocr_page_seconds, limits.pdf_pages) == (2.0, 0.5, 10)
    for bad in ({"ocr_page_seconds": "0"}, {"pdf_pages": "1.5"}, {"pdf_pagez": "1"}):
        with pytest.raises(ValueError):
            ReadLimits.from_settings(bad)
