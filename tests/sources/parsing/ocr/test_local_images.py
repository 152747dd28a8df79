"""A local HTML report page whose table is an image beside it (``page_files/t3.png``, as a browser
saves a page): the image is read from the page's own folder and OCR'd like a fetched one; an image
path leading out of that folder (``..``, a symlink, an absolute path) or a web address is refused
with a recorded reason, and nothing outside the folder is read."""

from __future__ import annotations

import hashlib
import os

import factory
import ocrkit
import pytest

from sources import chinese
from sources.parsing.parse import local_images, parse_bytes, parse_path
from sources.parsing.readers.body_images import MAX_BODY_IMAGES


def _page(facts: dict, srcs: list[str]) -> bytes:
    """The report as HTML with 表三 replaced by ``<img>`` of each of ``srcs`` (no OCR needed to build it)."""
    import re

    html = factory.render(facts, "html").decode("utf-8")
    spans = [(m.start(), html.index("</table>", m.start()) + len("</table>")) for m in re.finditer("<table", html)]
    start, end = spans[1]
    imgs = "".join(f'<img src="{s}" alt="表格">' for s in srcs)
    return (html[:start] + f"<p>{imgs}</p>" + html[end:]).encode("utf-8")


def test_local_html_page_reads_the_table_image_beside_it(tmp_path):
    pytest.importorskip("rapidocr")
    facts = factory.make_facts(seed=3)
    text = parse_bytes(factory.render(facts, "html"), "text.html")
    assert {c["address"]: c["value"] for c in text["cells"]} == facts["cells"]  # the text version
    page, png = ocrkit.html_with_table_image(facts, src="page_files/t3.png")
    (tmp_path / "page_files").mkdir()
    (tmp_path / "page_files" / "t3.png").write_bytes(png)
    result = ocrkit.parse_in_child(page, "page.html", tmp_path)  # parse_path of tmp_path/page.html
    assert result["error"] is None and result["template"] == "gov2021" and result["source"]["ocr_pages"] == 1
    got = {c["address"]: c for c in result["cells"]}
    assert {a: c["value"] for a, c in got.items()} == {c["address"]: c["value"] for c in text["cells"]}
    assert {a for a, c in got.items() if c.get("method") == "ocr"} == {a for a in facts["cells"] if a.startswith("t3.")}
    assert result["source"]["body_images"] == [
        {"src": "page_files/t3.png", "sha256": hashlib.sha256(png).hexdigest(), "bytes": len(png)}
    ]
    read = [i for i in result["issues"] if i["code"] == "ocr_page"]
    assert len(read) == 1 and "page_files/t3.png" in read[0]["message"]
    assert not [i for i in result["issues"] if i["code"] == "body_image_refused"]


def test_image_paths_leading_out_of_the_folder_are_refused_with_a_reason(tmp_path):
    facts = factory.make_facts(seed=3)
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)  # would be read if a path could lead here
    site = tmp_path / "site"
    (site / "page_files").mkdir(parents=True)
    os.symlink(outside, site / "page_files" / "link.png")  # a symlink out of the folder
    (site / "page_files" / "sub").mkdir()
    big = site / "page_files" / "big.png"
    with big.open("wb") as f:  # sparse: 17 MB without writing them
        f.truncate(17 * 1024 * 1024)
    srcs = [
        "../outside.png",
        "page_files/sub/../../../outside.png",
        "page_files/link.png",
        str(outside),
        "http://images.example.org/t3.png",
        "page_files/missing.png",
        "page_files/sub",
        "page_files/big.png",
    ]
    page = site / "page.html"
    page.write_bytes(_page(facts, srcs))
    images, refused = local_images(page, page.read_bytes())
    assert images == {}
    reasons = {i.message.split(" of the body was not read: ")[0].removeprefix("Image "): i.message for i in refused}
    assert set(reasons) == set(srcs)
    for src in srcs[:3]:
        assert reasons[src].endswith("it lies outside the folder of the page"), src
    assert reasons[str(outside)].endswith("an absolute path, not a file beside the page")
    assert reasons["http://images.example.org/t3.png"].endswith("a web address, not a file beside the page")
    assert reasons["page_files/missing.png"].endswith("no such file, or it cannot be opened")
    assert reasons["page_files/sub"].endswith("not a regular file")
    assert reasons["page_files/big.png"].endswith("larger than 16 MB")
    assert {i.code for i in refused} == {"body_image_refused"} and {i.severity for i in refused} == {"warning"}

    result = parse_path(page)  # the whole parse: the refusals are recorded, in Chinese for a person
    assert "body_images" not in result["source"]
    assert not any(c.get("method") == "ocr" for c in result["cells"])
    shown = [chinese.issue_text(i) for i in result["issues"] if i["code"] == "body_image_refused"]
    assert len(shown) == len(srcs)
    assert "正文图片 ../outside.png 未读取：位于网页所在文件夹之外，拒绝读取" in shown
    assert all("not read" not in s for s in shown)


def test_at_most_the_body_image_cap_is_looked_at(tmp_path):
    facts = factory.make_facts(seed=3)
    srcs = [f"page_files/t{i}.png" for i in range(MAX_BODY_IMAGES + 3)]
    page = tmp_path / "page.html"
    page.write_bytes(_page(facts, srcs))
    _images, refused = local_images(page, page.read_bytes())
    assert len(refused) == MAX_BODY_IMAGES  # the missing files, only the first MAX_BODY_IMAGES looked at


def test_a_page_with_its_own_tables_reads_no_image(tmp_path):
    facts = factory.make_facts(seed=3)
    html = factory.render(facts, "html").replace(b"</body>", b'<img src="../outside.png"></body>')
    page = tmp_path / "page.html"
    page.write_bytes(html)
    assert local_images(page, html) == ({}, [])  # statutory tables all there: no image looked at
    assert "body_images" not in parse_path(page)["source"]


def test_a_local_page_showing_an_image_is_parsed_once(tmp_path, monkeypatch):
    """The page's tables decide whether its images are read, and its parse reads them: one parse of
    the page for both (the images were once looked for by a parse of its own, then the page parsed again)."""
    from sources.parsing.readers import html as html_reader

    parses: list[int] = []
    real = html_reader._parse_tree

    def counted(text: str):
        parses.append(len(text))
        return real(text)

    monkeypatch.setattr(html_reader, "_parse_tree", counted)  # the real parser, counted
    facts = factory.make_facts(seed=3)
    icon = _png(40, 20)  # too small to hold a table: read from disk, not OCR'd
    (tmp_path / "page_files").mkdir()
    (tmp_path / "page_files" / "t3.png").write_bytes(icon)
    page = tmp_path / "page.html"
    page.write_bytes(_page(facts, ["page_files/t3.png", "page_files/gone.png"]))
    result = parse_path(page)
    assert len(parses) == 1
    assert result["source"]["body_images"] == [
        {"src": "page_files/t3.png", "sha256": hashlib.sha256(icon).hexdigest(), "bytes": len(icon)}
    ]
    refused = [i["message"] for i in result["issues"] if i["code"] == "body_image_refused"]
    assert refused == ["Image page_files/gone.png of the body was not read: no such file, or it cannot be opened"]
    assert not any(c.get("method") == "ocr" for c in result["cells"])

    parses.clear()  # a page with all its tables: parsed once, no image read
    (tmp_path / "full.html").write_bytes(
        factory.render(facts, "html").replace(b"</body>", b'<img src="page_files/t3.png"></body>')
    )
    result = parse_path(tmp_path / "full.html")
    assert len(parses) == 1 and "body_images" not in result["source"]
    assert {c["address"]: c["value"] for c in result["cells"]} == facts["cells"]


def _png(width: int, height: int) -> bytes:
    """A blank greyscale PNG of ``width`` × ``height`` pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\0" + b"\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
