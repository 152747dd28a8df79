"""The images of a report page whose own tables lack a statutory table: which to fetch is decided by
one read of the page, remembered for the next run (an unchanged page answers 304 and its images are
fetched again, conditionally, without the page being read again) — a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import struct
import zlib

from sitekit import RecordingSite

from sources.fetching.archive import Archive
from sources.fetching.fetch import FetchConfig, Fetcher
from sources.parsing.readers import html as html_reader

CONFIG = FetchConfig(timeout=5, retries=0, backoff=0, min_interval=0, max_seconds=30, trust_env=False)
SECTIONS = "".join(
    f"<h2>{s}</h2><p>……</p>"
    for s in ("一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "六、其他事项")
)
TABLES = "<table><tr><td>规章</td><td>0</td></tr></table><table><tr><td>本年新收</td><td>3</td></tr></table>"


def _page(body: str) -> bytes:
    head = '<html><head><meta charset="utf-8"><title>2023年政府信息公开工作年度报告</title></head>'
    return f"{head}<body><h1>2023年政府信息公开工作年度报告</h1>{SECTIONS}{body}</body></html>".encode()


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\0" + b"\xff" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_the_images_to_fetch_are_decided_by_one_read_and_remembered(tmp_path, monkeypatch):
    parses: list[int] = []
    real = html_reader._parse_tree

    def counted(text: str):
        parses.append(len(text))
        return real(text)

    monkeypatch.setattr(html_reader, "_parse_tree", counted)  # the reader's own parser, counted
    (tmp_path / "page.html").write_bytes(_page(TABLES + '<p><img src="t4.png"></p>'))  # 表四 is a picture
    (tmp_path / "plain.html").write_bytes(_page(TABLES + "<p>行政复议</p>"))  # no image at all
    (tmp_path / "t4.png").write_bytes(_png(400, 200))
    archive = Archive(tmp_path / "archive")
    with RecordingSite(tmp_path) as site, Fetcher(archive, CONFIG) as fetcher:
        first = fetcher.fetch(f"{site.base}/page.html", ["127.0.0.1"])
        assert first.status == "fetched" and first.report_like and len(parses) == 1
        second = fetcher.fetch(f"{site.base}/page.html", ["127.0.0.1"])
        assert second.status == "not_modified" and len(parses) == 1  # not read again
        plain = fetcher.fetch(f"{site.base}/plain.html", ["127.0.0.1"])
        hits = [h.path for h in site.hits]
    assert hits == ["/page.html", "/t4.png", "/page.html", "/t4.png", "/plain.html"]
    memo = archive.memo_get("body_images", first.sha256 or "")
    assert memo is not None and [src for src, _sha in memo["images"]] == ["t4.png"]
    assert plain.status == "fetched" and plain.report_like and len(parses) == 1  # no image: its tables not read
    assert archive.memo_get("body_images", plain.sha256 or "") is None  # nothing to list: nothing written
