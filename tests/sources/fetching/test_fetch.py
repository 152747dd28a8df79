"""Fetching against a real HTTP server on 127.0.0.1 serving a fixture site of real-world cases."""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sources.fetching import FetchConfig, Fetcher, acquire, analyse_page, pick_attachment, sniff_kind
from sources.fetching.archive import Archive
from sources.registry import parse_registry

SECTIONS = "".join(
    f"<h2>{s}</h2><p>……</p>"
    for s in (
        "一、总体情况",
        "二、主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况",
        "五、存在的主要问题及改进情况",
        "六、其他需要报告的事项",
    )
)


def report_html(title: str, extra: str = "", charset: str = "utf-8") -> str:
    return (
        f'<html><head><meta charset="{charset}"><title>{title}</title></head><body>'
        f"<h1>{title}</h1>{SECTIONS}{extra}</body></html>"
    )


REPORT_2023 = report_html("梅州市人力资源和社会保障局2023年政府信息公开工作年度报告").encode("utf-8")
REPORT_GBK = report_html("梅州市2023年政府信息公开工作年度报告（GBK）", charset="gb2312").encode("gbk")
PDF_2021 = b"%PDF-1.4\n% 2021 annual report\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PDF_2020 = b"%PDF-1.4\n% 2020 annual report\n%%EOF\n"
DOCX = b"PK\x03\x04\x14\x00\x06\x00" + b"[Content_Types].xml word/document.xml" + b"\x00" * 64
WRAPPER_2021 = """<html><head><meta charset="utf-8"><title>2021年政府信息公开工作年度报告</title></head><body>
<div class="header"><a href="/login">登录</a> <a href="/">首页</a></div>
<h1>梅州市人社局2021年政府信息公开工作年度报告</h1><p>发布日期：2022-01-20</p>
<div class="sidebar"><a href="/files/2020.pdf">2020年政府信息公开工作年度报告</a></div>
<p>附件：<a href="/files/2021.pdf">梅州市人社局2021年政府信息公开工作年度报告.pdf</a></p>
</body></html>""".encode()
SOFT_404 = (
    "<html><head><title>404 - 页面不存在</title></head><body><h1>404</h1>"
    "<p>抱歉，您访问的页面不存在或已被删除！</p><a href='/'>返回首页</a></body></html>"
).encode()
LOGIN = (
    "<html><head><title>统一身份认证平台</title></head><body><form action='/sso'>"
    "<h2>用户登录</h2>用户名<input name='u'>密码<input type='password' name='p'>"
    "<button>登录</button></form></body></html>"
).encode()
BIG = b"%PDF-1.4\n" + b"0" * 300_000
LAST_MODIFIED = "Sat, 20 Jan 2024 08:00:00 GMT"


class _Handler(BaseHTTPRequestHandler):
    server: _Site

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, length: bool = True) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.server.bodies[self.path] += 1
            try:
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (oversized, timeout)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST, before any response."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _cached(self, body: bytes, etag: str, ctype: str = "text/html; charset=utf-8") -> None:
        if self.headers.get("If-None-Match") == etag:
            self._send(304, headers={"ETag": etag})
        else:
            self._send(200, body, {"ETag": etag, "Content-Type": ctype})

    def do_GET(self):  # noqa: N802, C901 - http.server API; one route table
        s, p, hits = self.server, self.path, self.server.hits
        hits[p] += 1
        if p == "/reports/2023.html":
            self._cached(REPORT_2023, '"r2023"')
        elif p == "/reports/gbk.html":
            self._send(200, REPORT_GBK, {"Content-Type": "text/html"})
        elif p == "/reports/revised.html":
            body = report_html(f"2023年政府信息公开工作年度报告（修订版{s.revision}）").encode()
            self._cached(body, f'"v{s.revision}"')
        elif p == "/reports/lastmod.html":
            if self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                self._send(304)
            else:
                self._send(200, REPORT_2023, {"Last-Modified": LAST_MODIFIED, "Content-Type": "text/html"})
        elif p == "/flaky":
            self._send(500, b"busy") if hits[p] <= 2 else self._send(200, REPORT_2023, {"Content-Type": "text/html"})
        elif p == "/down":
            self._send(503, b"maintenance")
        elif p == "/slow":
            time.sleep(1.5)
            self._send(200, REPORT_2023)
        elif p == "/reset" or (p == "/reset-once" and hits[p] == 1):
            self._reset()
        elif p == "/reset-once":
            self._send(200, REPORT_2023, {"Content-Type": "text/html"})
        elif p == "/redirect/evil":
            self._send(302, headers={"Location": "http://evil.example.org/report.html"})
        elif p == "/redirect/private":
            self._send(302, headers={"Location": "http://10.0.0.1/report.html"})
        elif p == "/redirect/ok":
            self._send(301, headers={"Location": "/reports/2023.html"})
        elif p == "/redirect/loop":
            self._send(302, headers={"Location": "/redirect/loop"})
        elif p == "/drip":  # a server dripping one byte at a time, forever (until the client hangs up)
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.send_header("Content-Type", "application/pdf")
            self.end_headers()
            for _ in range(300):
                try:
                    self.wfile.write(b"%")
                    self.wfile.flush()
                except OSError:
                    break
                time.sleep(0.1)
        elif p == "/big":
            self._send(200, BIG, {"Content-Type": "application/pdf"})
        elif p == "/big-stream":
            self._send(200, BIG, {"Content-Type": "application/pdf"}, length=False)
        elif p == "/soft404":
            self._send(200, SOFT_404, {"Content-Type": "text/html; charset=utf-8"})
        elif p == "/login":
            self._send(200, LOGIN, {"Content-Type": "text/html; charset=utf-8"})
        elif p in s.pages:
            self._cached(s.pages[p][1], f'"{hashlib.md5(s.pages[p][1]).hexdigest()}"', s.pages[p][0])
        else:
            self._send(404, b"<html><body>404 Not Found</body></html>", {"Content-Type": "text/html"})


class _Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits: Counter[str] = Counter()
        self.bodies: Counter[str] = Counter()
        self.revision = 1
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        html = "text/html; charset=utf-8"
        self.pages = {
            "/attach/2021.html": (html, WRAPPER_2021),
            "/attach/docx.html": (
                html,
                '<html><body><h1>2022年年度报告</h1><a href="/files/report.docx">点击下载</a></body></html>'.encode(),
            ),
            "/attach/evil.html": (
                html,
                '<html><body><a href="http://evil.example.org/files/2021.pdf">'
                "2021年年度报告.pdf</a></body></html>".encode(),
            ),
            "/attach/dead.html": (html, b'<html><body><a href="/files/gone.pdf">download</a></body></html>'),
            "/attach/fake.html": (html, b'<html><body><a href="/soft404.pdf">report.pdf</a></body></html>'),
            "/soft404.pdf": (html, SOFT_404),
            "/files/2021.pdf": ("application/pdf", PDF_2021),
            "/files/2020.pdf": ("application/pdf", PDF_2020),
            "/files/report.docx": ("application/octet-stream", DOCX),
            "/gk/ndbg/": (
                html,
                (
                    '<html><body><ul class="list"><li><a href="../../attach/2021.html">梅州市人社局2021年政府'
                    '信息公开工作年度报告</a></li><li><a href="/reports/2023.html">梅州市人社局2023年政府信息公开'
                    "工作年度报告</a></li></ul></body></html>"
                ).encode(),
            ),
        }

    def handle_error(self, request, client_address):
        pass  # resets and abandoned downloads are part of the fixture


@pytest.fixture(scope="module")
def server():
    site = _Site()
    thread = threading.Thread(target=site.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield site
    site.shutdown()
    site.server_close()


@pytest.fixture
def site(server):
    server.hits.clear()
    server.bodies.clear()
    server.revision = 1
    return server


CONFIG = FetchConfig(timeout=2, retries=3, backoff=0.01, min_interval=0, max_bytes=100_000, trust_env=False)
ALLOWED = ["127.0.0.1"]


@pytest.fixture
def fetcher(tmp_path):
    with Fetcher(Archive(tmp_path / "archive"), CONFIG) as f:
        yield f


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------------------- plain fetches


def test_report_page_is_archived_unchanged_then_not_modified(site, fetcher):
    url = f"{site.base}/reports/2023.html"
    first = fetcher.fetch(url, ALLOWED)
    assert (first.status, first.http_status, first.attempts, first.kind) == ("fetched", 200, 1, "html")
    assert first.report_like is True and first.reason is None and first.changed is True
    assert first.sha256 == sha(REPORT_2023) and first.downloaded == len(REPORT_2023)
    assert fetcher.archive.get(first.sha256) == REPORT_2023
    assert open(first.archive_path, "rb").read() == REPORT_2023
    assert first.headers["etag"] == '"r2023"' and fetcher.archive.latest(url).etag == '"r2023"'

    second = fetcher.fetch(url, ALLOWED)
    assert (second.status, second.http_status, second.downloaded, second.changed) == ("not_modified", 304, 0, False)
    assert second.sha256 == first.sha256 and second.archive_path == first.archive_path
    assert site.hits["/reports/2023.html"] == 2 and site.bodies["/reports/2023.html"] == 1


def test_last_modified_conditional_request(site, fetcher):
    url = f"{site.base}/reports/lastmod.html"
    assert fetcher.fetch(url, ALLOWED).status == "fetched"
    again = fetcher.fetch(url, ALLOWED)
    assert again.status == "not_modified" and again.downloaded == 0
    assert site.bodies["/reports/lastmod.html"] == 1


def test_revised_report_is_downloaded_again_and_both_versions_kept(site, fetcher):
    url = f"{site.base}/reports/revised.html"
    v1 = fetcher.fetch(url, ALLOWED)
    site.revision = 2
    v2 = fetcher.fetch(url, ALLOWED)
    v2_again = fetcher.fetch(url, ALLOWED)
    assert (v1.status, v2.status, v2_again.status) == ("fetched", "fetched", "not_modified")
    assert v2.sha256 != v1.sha256 and v2.changed is True and v2.headers["etag"] == '"v2"'
    assert "修订版2" in fetcher.archive.get(v2.sha256).decode()
    assert [e.sha256 for e in fetcher.archive.history(url)] == [v1.sha256, v2.sha256]


def test_gbk_page_is_kept_as_bytes_and_recognised(site, fetcher):
    result = fetcher.fetch(f"{site.base}/reports/gbk.html", ALLOWED)
    assert (result.status, result.kind, result.report_like) == ("fetched", "html", True)
    assert fetcher.archive.get(result.sha256) == REPORT_GBK


# ------------------------------------------------------------------------------- retries and limits


def test_500_recovers_on_retry(site, fetcher):
    result = fetcher.fetch(f"{site.base}/flaky", ALLOWED)
    assert (result.status, result.attempts, result.http_status) == ("fetched", 3, 200)
    assert site.hits["/flaky"] == 3


def test_persistent_503_fails_after_all_attempts(site, fetcher):
    result = fetcher.fetch(f"{site.base}/down", ALLOWED)
    assert (result.status, result.attempts) == ("failed", 4)
    assert result.reason == "HTTP 503 after 4 attempts" and result.sha256 is None


def test_timeout_is_retried_then_fails(site, tmp_path):
    config = FetchConfig(timeout=0.3, retries=1, backoff=0.01, min_interval=0, trust_env=False)
    with Fetcher(Archive(tmp_path), config) as fetcher:
        started = time.monotonic()
        result = fetcher.fetch(f"{site.base}/slow", ALLOWED)
    assert (result.status, result.attempts) == ("failed", 2)
    assert result.reason.startswith("timeout (ReadTimeout") and time.monotonic() - started < 1.5


def test_a_dripping_server_is_cut_by_the_total_budget_not_retried_past_it(site, tmp_path):
    """``max_seconds`` bounds the whole fetch: the first attempt spends it, no retry starts after it."""
    config = FetchConfig(timeout=2, retries=3, backoff=0.01, min_interval=0, max_seconds=0.5, trust_env=False)
    with Fetcher(Archive(tmp_path), config) as fetcher:
        result = fetcher.fetch(f"{site.base}/drip", ALLOWED)
    assert (result.status, result.attempts, site.hits["/drip"]) == ("failed", 1, 1)
    assert "max_seconds" in result.reason and "0.5 秒" in result.reason and result.sha256 is None


def test_connection_reset_is_retried(site, fetcher):
    once = fetcher.fetch(f"{site.base}/reset-once", ALLOWED)
    assert (once.status, once.attempts) == ("fetched", 2)
    always = fetcher.fetch(f"{site.base}/reset", ALLOWED)
    assert (always.status, always.attempts) == ("failed", 4)
    assert always.reason.startswith("connection error")


def test_404_is_missing(site, fetcher):
    result = fetcher.fetch(f"{site.base}/reports/2022.html", ALLOWED)
    assert (result.status, result.http_status, result.reason, result.attempts) == ("missing", 404, "HTTP 404", 1)
    assert result.sha256 is None


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
def test_oversized_document_is_cut_off_and_not_archived(site, fetcher, path):
    result = fetcher.fetch(f"{site.base}{path}", ALLOWED)
    assert result.status == "oversized" and "max_bytes=100000" in result.reason
    assert result.sha256 is None and fetcher.archive.latest(f"{site.base}{path}") is None
    if path == "/big":
        assert result.downloaded == 0 and "Content-Length 300009" in result.reason  # refused from the header
    else:
        assert 100_000 < result.downloaded < len(BIG)


def test_politeness_spaces_requests_to_one_host_across_threads(site, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    config = FetchConfig(timeout=2, retries=0, min_interval=0.15, trust_env=False)
    with Fetcher(Archive(tmp_path), config) as fetcher, ThreadPoolExecutor(4) as pool:
        started = time.monotonic()
        results = list(pool.map(lambda _: fetcher.fetch(f"{site.base}/reports/gbk.html", ALLOWED), range(4)))
        assert time.monotonic() - started >= 0.45  # 4 requests, 3 intervals
    assert {r.status for r in results} == {"fetched"} and site.hits["/reports/gbk.html"] == 4


# ------------------------------------------------------------------------------- host rules


def test_redirect_to_forbidden_host_is_refused_and_recorded(site, fetcher):
    url = f"{site.base}/redirect/evil"
    result = fetcher.fetch(url, ALLOWED)
    assert result.status == "refused"
    assert result.chain == (url, "http://evil.example.org/report.html")
    assert result.reason == "redirect to host evil.example.org is not in allowed_hosts [127.0.0.1]"
    logged = fetcher.archive.events()[-1]
    assert (logged["url"], logged["status"], logged["reason"]) == (url, "refused", result.reason)


def test_redirect_to_private_ip_literal_is_refused(site, fetcher):
    result = fetcher.fetch(f"{site.base}/redirect/private", ALLOWED)
    assert result.status == "refused"
    assert result.reason == "redirect to IP literal 10.0.0.1 (private/loopback) is not in allowed_hosts"


def test_allowed_redirect_is_followed(site, fetcher):
    url = f"{site.base}/redirect/ok"
    result = fetcher.fetch(url, ALLOWED)
    assert result.status == "fetched" and result.final_url == f"{site.base}/reports/2023.html"
    assert result.chain == (url, f"{site.base}/reports/2023.html")
    assert fetcher.archive.latest(result.final_url).requested_url == url


def test_redirect_loop_fails(site, fetcher):
    result = fetcher.fetch(f"{site.base}/redirect/loop", ALLOWED)
    assert result.status == "failed" and result.reason == "more than 5 redirects"


def test_loopback_needs_to_be_listed(site, fetcher):
    result = fetcher.fetch(f"{site.base}/reports/2023.html", ["www.meizhou.gov.cn"])
    assert result.status == "refused" and result.chain == (f"{site.base}/reports/2023.html",)
    assert site.hits["/reports/2023.html"] == 0


def test_check_url_rules(tmp_path):
    dns = {"www.meizhou.gov.cn": ["202.104.1.1"], "intra.meizhou.gov.cn": ["10.1.2.3"]}
    with Fetcher(Archive(tmp_path), resolver=lambda host: dns.get(host, [])) as f:
        wild = ["*.meizhou.gov.cn"]
        assert f.check_url("https://www.meizhou.gov.cn/a.pdf", wild) is None
        assert f.check_url("http://intra.meizhou.gov.cn/", wild) == (
            "host intra.meizhou.gov.cn resolves to non-public address 10.1.2.3, which is not in allowed_hosts"
        )
        assert f.check_url("http://intra.meizhou.gov.cn/", [*wild, "10.1.2.3"]) is None
        assert f.check_url("http://meizhou.gov.cn.evil.org/", wild).startswith("host meizhou.gov.cn.evil.org")
        assert f.check_url("http://[::1]:8000/", ["127.0.0.1"]).startswith("IP literal ::1")
        assert f.check_url("http://2130706433/", ["127.0.0.1"]).startswith("host 2130706433 is not")
        assert f.check_url("ftp://www.meizhou.gov.cn/a.pdf", wild).startswith("scheme 'ftp'")
        assert f.check_url("http://127.0.0.1:1/", ["127.0.0.1"]) is None


# ------------------------------------------------------------------------------- soft errors and attachments


def test_soft_404_and_login_wall_are_not_reports(site, fetcher):
    soft = fetcher.fetch(f"{site.base}/soft404", ALLOWED)
    assert (soft.status, soft.http_status, soft.report_like) == ("soft_error", 200, False)
    assert soft.reason.startswith("error page") and fetcher.archive.get(soft.sha256) == SOFT_404
    login = fetcher.fetch(f"{site.base}/login", ALLOWED)
    assert login.status == "soft_error" and login.reason.startswith("login wall")
    assert not soft.ok and not login.ok


def test_wrapper_page_is_followed_to_its_pdf(site, fetcher):
    url = f"{site.base}/attach/2021.html"
    result = fetcher.fetch(url, ALLOWED, year=2021)
    assert (result.status, result.kind, result.url) == ("fetched", "pdf", url)
    assert result.final_url == f"{site.base}/files/2021.pdf"
    assert result.chain == (url, f"{site.base}/files/2021.pdf")
    assert fetcher.archive.get(result.sha256) == PDF_2021
    assert result.page.sha256 == sha(WRAPPER_2021) and result.page.kind == "html"
    assert result.downloaded == len(WRAPPER_2021) + len(PDF_2021)
    again = fetcher.fetch(url, ALLOWED, year=2021)
    assert (again.status, again.downloaded, again.sha256) == ("not_modified", 0, result.sha256)
    never = fetcher.fetch(url, ALLOWED, year=2021, attachment="never")
    assert never.kind == "html" and never.report_like is False and "without recognisable report" in never.reason


def test_wrapper_page_with_docx_link(site, fetcher):
    result = fetcher.fetch(f"{site.base}/attach/docx.html", ALLOWED, year=2022)
    assert (result.status, result.kind) == ("fetched", "docx")
    assert fetcher.archive.get(result.sha256) == DOCX


def test_attachment_on_forbidden_host_is_refused(site, fetcher):
    result = fetcher.fetch(f"{site.base}/attach/evil.html", ALLOWED, year=2021)
    assert result.status == "refused" and result.chain[-1] == "http://evil.example.org/files/2021.pdf"
    assert "evil.example.org is not in allowed_hosts" in result.reason
    assert result.page.status == "fetched"


def test_dead_or_fake_attachment(site, fetcher):
    dead = fetcher.fetch(f"{site.base}/attach/dead.html", ALLOWED)
    assert dead.status == "missing" and dead.reason.endswith("/files/gone.pdf: HTTP 404")
    fake = fetcher.fetch(f"{site.base}/attach/fake.html", ALLOWED)
    assert fake.status == "soft_error" and fake.reason.startswith("attachment link gave an HTML page: error page")


def test_a_page_past_the_size_limit_is_not_analysed():
    from sources.parsing.limits import DEFAULT_LIMITS

    huge = REPORT_2023 + b"<p>" + b"x" * DEFAULT_LIMITS.text_bytes + b"</p>"
    info = analyse_page(huge, "text/html; charset=utf-8", "http://127.0.0.1/r.html", 2023)
    assert (info.report_like, info.attachment) == (False, None) and "上限" in (info.error or "")


def test_page_helpers():
    assert [sniff_kind(b) for b in (PDF_2021, DOCX, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", REPORT_GBK, b"plain")] == [
        "pdf",
        "docx",
        "doc_cfb",
        "html",
        "text",
    ]
    info = analyse_page(WRAPPER_2021, "text/html", "http://x.gov.cn/a/b.html", 2021)
    assert info.attachment == "http://x.gov.cn/files/2021.pdf" and not info.report_like and info.error is None
    links = [("http://x/2020.pdf", "2020年年度报告"), ("http://x/y.html", "2021年政府信息公开工作年度报告")]
    assert pick_attachment(links, 2021) == "http://x/y.html"
    assert pick_attachment(links, 2019) is None
    from opencc import OpenCC

    traditional = OpenCC("s2twp").convert(report_html("2023年政府信息公开工作年度报告", charset="big5"))
    assert "資訊公開" in traditional and "主動公開" in traditional
    info = analyse_page(traditional.encode("big5", errors="replace"), None, "http://x/")
    assert info.report_like and info.error is None


# ------------------------------------------------------------------------------- one agency-year


def _agency(site, tmp_path, body: str):
    text = f"""
[[oversight]]
id = "meizhou"
name = "梅州市政务公开办公室"
recipients = ["gkb@example.org"]

[[agency]]
id = "meizhou-rsj"
name = "梅州市人力资源和社会保障局"
region = "441400"
level = "city"
oversight = "meizhou"
allowed_hosts = ["127.0.0.1"]
{body}"""
    return parse_registry(text, "agencies.toml", tmp_path).agencies[0]


def test_acquire_direct_missing_not_due_and_failed(site, fetcher, tmp_path):
    agency = _agency(
        site,
        tmp_path,
        f"""[agency.reports]
2023 = "{site.base}/reports/2023.html"
2022 = "{site.base}/reports/2022.html"
2020 = "{site.base}/down"
""",
    )
    found = acquire(agency, 2023, fetcher, today=date(2024, 3, 1))
    assert found.status == "fetched" and found.result.sha256 == sha(REPORT_2023)

    missing = acquire(agency, 2022, fetcher, today=date(2023, 3, 1))
    assert (missing.status, missing.deadline) == ("missing", date(2023, 1, 31))
    assert [(r.url, r.status) for r in missing.tried] == [(f"{site.base}/reports/2022.html", "missing")]
    assert missing.reason == f"{site.base}/reports/2022.html: missing (HTTP 404)"
    assert missing.to_json()["deadline"] == "2023-01-31"
    assert json.loads(json.dumps(missing.to_json()))["tried"][0]["http_status"] == 404

    assert acquire(agency, 2022, fetcher, today=date(2023, 1, 31)).status == "not_due"
    assert acquire(agency, 2020, fetcher, today=date(2023, 3, 1)).status == "failed"
    nothing = acquire(agency, 2021, fetcher, today=date(2023, 3, 1))
    assert nothing.status == "missing" and nothing.tried == ()
    assert nothing.reason == "no URL configured for 2021 in [agency.reports]"


def test_acquire_through_listing_and_wrapper_page(site, fetcher, tmp_path):
    agency = _agency(
        site,
        tmp_path,
        f"""[agency.listing]
url = "{site.base}/gk/ndbg/"
title = "{{year}}年*年度报告"
""",
    )
    got = acquire(agency, 2021, fetcher, today=date(2024, 3, 1))
    assert (got.status, got.result.kind) == ("fetched", "pdf")
    assert got.candidates[0].location == f"{site.base}/attach/2021.html"
    assert fetcher.archive.get(got.result.sha256) == PDF_2021
    assert [r.status for r in got.tried] == ["fetched", "fetched"]  # the listing page, then the report
    none = acquire(agency, 2019, fetcher, today=date(2024, 3, 1))
    assert none.status == "missing" and "no link matches" in none.reason


def test_acquire_local_file(tmp_path, fetcher):
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / "rsj-2023.pdf").write_bytes(PDF_2021)
    text = f"""[[agency]]
id = "rsj"
name = "人社局"
region = "441400"
level = "city"
oversight = "meizhou"
[agency.local]
path = "{folder}"
"""
    agency = parse_registry(text).agencies[0]
    first = acquire(agency, 2023, fetcher)
    assert first.status == "fetched" and first.result.kind == "pdf"
    assert fetcher.archive.get(first.result.sha256) == PDF_2021
    assert acquire(agency, 2023, fetcher).status == "not_modified"


def test_sources_side_imports_no_orchestration_or_validation():
    code = (
        "import sys, sources.fetching.fetch, sources.registry, sources.fetching.archive; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('prefect', 'great_expectations')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_report_deadline_is_the_statutory_rule():
    from datetime import date

    from sources.fetching import report_deadline

    assert report_deadline(2023, "示例市教育局") == date(2024, 1, 31)
    assert report_deadline(2023, "示例县人民政府") == date(2024, 3, 31)  # a government's own report
    assert report_deadline(2023) == date(2024, 1, 31)
