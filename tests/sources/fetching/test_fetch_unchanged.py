"""An unchanged report fetched again (a re-run): one conditional request on a kept connection and no
rewrite of what the first fetch recorded — against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sitekit import RecordingSite

from sources.fetching.archive import Archive
from sources.fetching.fetch import FetchConfig, Fetcher

CONFIG = FetchConfig(timeout=2, retries=0, backoff=0, min_interval=0, max_seconds=10, trust_env=False)
ALLOWED = ["127.0.0.1"]
SECTIONS = "".join(
    f"<h2>{s}</h2><p>……</p>"
    for s in (
        "一、总体情况",
        "二、主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况",
    )
)


def report_page(images: str = "") -> bytes:
    """A report page (its statutory tables missing, so its images are worth fetching) showing ``images``."""
    title = "示例市2023年政府信息公开工作年度报告"
    head = f'<html><head><meta charset="utf-8"><title>{title}</title></head>'
    return f"{head}<body><h1>{title}</h1>{SECTIONS}{images}</body></html>".encode()


class _KeepAliveSite(ThreadingHTTPServer):
    """Serves a folder over HTTP/1.1 (connections kept open) and counts the TCP connections it accepted."""

    daemon_threads = True

    def __init__(self, root: Path):
        site = self

        class Handler(SimpleHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                site.connections += 1
                super().setup()

            def log_message(self, *args: Any) -> None:
                pass

        self.connections = 0
        super().__init__(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.base = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def keep_alive_site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    (root / "report.pdf").write_bytes(b"%PDF-1.4\n% 2023 annual report\n%%EOF\n")
    site = _KeepAliveSite(root)
    threading.Thread(target=site.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield site
    site.shutdown()
    site.server_close()


def test_a_304_keeps_the_connection_for_the_next_request(keep_alive_site, tmp_path):
    url = f"{keep_alive_site.base}/report.pdf"
    with Fetcher(Archive(tmp_path / "archive"), CONFIG) as fetcher:
        statuses = [fetcher.fetch(url, ALLOWED).status for _ in range(4)]
    assert statuses == ["fetched", "not_modified", "not_modified", "not_modified"]
    assert keep_alive_site.connections == 1  # the 304s' responses were ended, not dropped with their connection


def test_a_304_leaves_the_url_record_as_the_download_wrote_it(keep_alive_site, tmp_path):
    url = f"{keep_alive_site.base}/report.pdf"
    with Fetcher(Archive(tmp_path / "archive"), CONFIG) as fetcher:
        first = fetcher.fetch(url, ALLOWED)
        record = fetcher.archive._ref_path(url).read_bytes()
        again = fetcher.fetch(url, ALLOWED)
        assert (again.status, again.sha256) == ("not_modified", first.sha256)
        assert again.fetched_at > first.fetched_at  # the check's own time, in the result and the fetch log
        assert fetcher.archive._ref_path(url).read_bytes() == record
        assert [e["status"] for e in fetcher.archive.events()] == ["fetched", "not_modified"]


def test_an_unchanged_page_tries_again_an_image_that_failed(tmp_path):
    import socket

    with socket.socket() as sock:  # a port nothing listens on: the image's host refuses the connection
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/t3.png"
    root = tmp_path / "site"
    root.mkdir()
    (root / "page.html").write_bytes(report_page(f'<p><img src="{dead}"></p>'))
    with RecordingSite(root) as site, Fetcher(Archive(tmp_path / "archive"), CONFIG) as fetcher:
        fetcher.fetch(f"{site.base}/page.html", ALLOWED)
        fetcher.fetch(f"{site.base}/page.html", ALLOWED)
        tried = [e["status"] for e in fetcher.archive.events() if e["url"] == dead]
    assert tried == ["failed", "failed"]
