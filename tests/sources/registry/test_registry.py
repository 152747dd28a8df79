"""The agency registry: loading, validation with file/line/entry, title patterns and discovery."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sources.fetching import FetchConfig, Fetcher, discover
from sources.fetching.archive import Archive
from sources.registry import (
    DirectSource,
    ListingSource,
    LocalSource,
    RegistryError,
    load_registry,
    parse_registry,
    title_regex,
)

MINIMAL = """\
[[agency]]
id = "meizhou-rsj"
name = "梅州市人力资源和社会保障局"
region = "441400"
level = "city"
oversight = "meizhou"
allowed_hosts = ["127.0.0.1"]
[agency.reports]
2023 = "http://127.0.0.1:8000/meizhou/2023.html"
"""


def _problems(text: str, tmp_path) -> list:
    path = tmp_path / "agencies.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    for p in err.value.problems:
        assert p.file == str(path)
    return err.value.problems


# ------------------------------------------------------------------------------------ loading


def test_minimal_form_from_the_issue_loads(tmp_path):
    path = tmp_path / "agencies.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    reg = load_registry(path)
    agency = reg.agency("meizhou-rsj")
    assert (agency.name, agency.region, agency.level, agency.oversight) == (
        "梅州市人力资源和社会保障局",
        "441400",
        "city",
        "meizhou",
    )
    assert agency.allowed_hosts == ("127.0.0.1",)
    assert agency.sources == (DirectSource(((2023, ("http://127.0.0.1:8000/meizhou/2023.html",)),)),)
    assert agency.attachment == "auto" and agency.line == 1
    assert reg.oversight == ()


def test_full_form_with_oversight_listing_and_local(tmp_path):
    (tmp_path / "reports" / "xq").mkdir(parents=True)
    text = """\
[[oversight]]
id = "meizhou"
name = "梅州市政务公开办公室"
recipients = ["gkb@meizhou.gov.cn", "audit@example.org"]

[[agency]]
id = "meizhou-xq"
name = "梅州市梅县区人民政府"
region = "441403"
level = "county"
oversight = "meizhou"
allowed_hosts = ["*.meixian.gov.cn", "127.0.0.1"]
attachment = "always"
[agency.listing]
url = ["http://www.meixian.gov.cn/gk/ndbg/", "http://www.meixian.gov.cn/gk/ndbg/index_2.html"]
title = "{year}年…年度报告"
selector = "ul.list a"
[agency.local]
path = "reports/xq"
glob = "*{year}*.pdf"
[agency.reports]
2019 = ["http://127.0.0.1:8000/a.html", "old/2019.pdf"]
"""
    path = tmp_path / "agencies.toml"
    path.write_text(text, encoding="utf-8")
    reg = load_registry(path)
    office = reg.office("meizhou")
    assert office.recipients == ("gkb@meizhou.gov.cn", "audit@example.org")
    agency = reg.agency("meizhou-xq")
    assert reg.agencies_of("meizhou") == (agency,)
    assert agency.attachment == "always" and agency.line == 6
    listing, local, direct = agency.sources  # file order
    assert listing == ListingSource(
        ("http://www.meixian.gov.cn/gk/ndbg/", "http://www.meixian.gov.cn/gk/ndbg/index_2.html"),
        "{year}年…年度报告",
        "ul.list a",
        ("解读", "图解"),
    )
    assert local == LocalSource(tmp_path / "reports" / "xq", "*{year}*.pdf")
    assert direct.for_year(2019) == ("http://127.0.0.1:8000/a.html", str(tmp_path / "old" / "2019.pdf"))
    assert direct.for_year(2020) == ()


def test_unknown_key_is_reported_with_its_line(tmp_path):
    problems = _problems(MINIMAL.replace('level = "city"\n', 'level = "city"\nwebsite = "x"\n'), tmp_path)
    assert [(p.line, p.entry) for p in problems] == [(6, "meizhou-rsj")]
    assert "unknown key 'website'" in problems[0].message
    assert str(problems[0]).endswith(":6: [meizhou-rsj] unknown key 'website'")


def test_missing_url_is_reported(tmp_path):
    problems = _problems(MINIMAL.replace('"http://127.0.0.1:8000/meizhou/2023.html"', '""'), tmp_path)
    assert [(p.line, p.entry) for p in problems] == [(9, "meizhou-rsj")]
    assert "missing URL for 2023" in problems[0].message


def test_listing_without_url_is_reported(tmp_path):
    text = MINIMAL.replace(
        '[agency.reports]\n2023 = "http://127.0.0.1:8000/meizhou/2023.html"\n',
        '[agency.listing]\ntitle = "{year}年*年度报告"\n',
    )
    problems = _problems(text, tmp_path)
    assert len(problems) == 1 and problems[0].line == 8 and "missing URL" in problems[0].message


def test_duplicate_id_is_reported_at_the_second_entry(tmp_path):
    problems = _problems(MINIMAL + "\n" + MINIMAL, tmp_path)
    assert [(p.line, p.entry) for p in problems] == [(12, "meizhou-rsj")]
    assert "duplicate agency id 'meizhou-rsj' (first defined at line 1)" in problems[0].message


def test_every_problem_is_collected_before_anything_is_fetched(tmp_path):
    text = """\
[[oversight]]
id = "meizhou"
name = "梅州市政务公开办公室"
recipients = ["not-an-address"]

[[agency]]
id = "a"
name = "甲"
region = "4414"
level = "prefecture"
oversight = "meizhou"
allowed_hosts = ["www.a.gov.cn"]
[agency.reports]
2023 = "http://evil.example.org/2023.html"
twenty = "http://www.a.gov.cn/x.html"

[[agency]]
id = "b"
name = "乙"
region = "441400"
level = "city"
oversight = "shantou"
"""
    problems = _problems(text, tmp_path)
    found = {(p.line, p.entry, p.message.split(" ")[0]) for p in problems}
    assert (4, "meizhou", "recipient") in found
    assert (9, "a", "region") in found
    assert (10, "a", "level") in found
    assert (13, "a", "URL") in found  # evil.example.org is not in allowed_hosts
    assert (15, "a", "[agency.reports]") in found  # "twenty" is not a year
    assert (17, "b", "no") in found  # no report source at all
    assert any(p.entry == "b" and "'shantou' is not an [[oversight]] id" in p.message for p in problems)
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_urls_need_allowed_hosts_and_plain_host_names(tmp_path):
    problems = _problems(MINIMAL.replace('allowed_hosts = ["127.0.0.1"]\n', ""), tmp_path)
    assert "missing required key 'allowed_hosts'" in problems[0].message
    problems = _problems(MINIMAL.replace('["127.0.0.1"]', '["http://127.0.0.1:8000/"]'), tmp_path)
    assert problems[0].line == 7 and "not a host name" in problems[0].message


def test_invalid_toml_names_the_line(tmp_path):
    problems = _problems(MINIMAL.replace('level = "city"', "level = city"), tmp_path)
    assert problems[0].line == 5 and problems[0].message.startswith("invalid TOML")


def test_bad_local_path_and_selector(tmp_path):
    text = MINIMAL.replace('2023 = "http://127.0.0.1:8000/meizhou/2023.html"\n', '2023 = "r/2023.pdf"\n')
    text += '[agency.local]\npath = "nowhere"\n[agency.listing]\nurl = "http://127.0.0.1/"\nselector = "ul[["\n'
    problems = _problems(text, tmp_path)
    assert [p.line for p in problems] == [11, 14]
    assert "does not exist" in problems[0].message and "CSS selector" in problems[1].message


# ------------------------------------------------------------------------------------ title patterns


@pytest.mark.parametrize(
    ("title", "pattern", "year", "hit"),
    [
        ("梅州市人力资源和社会保障局2023年政府信息公开工作年度报告", "{year}年*年度报告", 2023, True),
        ("梅州市人力资源和社会保障局2023年政府信息公开工作年度报告", "{year}年*年度报告", 2022, False),
        ("2023年 政府資訊公開工作 年度報告", "{year}年…年度报告", 2023, True),  # traditional, spaces
        ("2023年政府資訊公開工作年度報告", "{year}年政府信息公开工作年度报告", 2023, True),  # 資訊 = 信息
        ("梅州市二〇二三年政府信息公开工作年度报告", "{year}年*年度报告", 2023, True),
        ("２０２３年政府信息公开工作年度报告", "{year}年*年度报告", 2023, True),  # fullwidth digits
        ("12023年度报告", "{year}年*报告", 2023, False),
        ("关于2023年政府信息公开工作年度报告的解读", "re:^[^关]*{year}年.*年度报告$", 2023, False),
    ],
)
def test_title_patterns(title, pattern, year, hit):
    from sources.registry import normalize_title

    assert bool(title_regex(pattern, year).search(normalize_title(title))) is hit


# ------------------------------------------------------------------------------------ discovery


def test_discover_direct_and_local(tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    for name in ("xq-2022.pdf", "xq-2023.pdf", "xq-2023.docx", ".xq-2023.pdf.tmp"):
        (folder / name).write_bytes(b"%PDF-1.4")
    text = MINIMAL + '[agency.local]\npath = "reports"\nglob = "*{year}*"\n'
    (tmp_path / "agencies.toml").write_text(text, encoding="utf-8")
    agency = load_registry(tmp_path / "agencies.toml").agencies[0]
    found = discover(agency, 2023)
    assert [(c.kind, c.source, c.location) for c in found] == [
        ("url", "direct", "http://127.0.0.1:8000/meizhou/2023.html"),
        ("path", "local", str(folder / "xq-2023.docx")),
        ("path", "local", str(folder / "xq-2023.pdf")),
    ]
    none = discover(agency, 2021)
    assert len(none) == 0
    assert none.notes == ("no URL configured for 2021 in [agency.reports]", f"no file matching '*2021*' in {folder}")


LISTING_UTF8 = """<html><head><meta charset="utf-8"><base href="/gk/ndbg/"></head><body>
<div class="nav"><a href="/2023-news.html">2023年政府信息公开工作年度报告发布会新闻</a></div>
<ul class="list">
<li><a href="2023/report.html" title="梅州市人社局2023年政府信息公开工作年度报告">梅州市人社局2023年…</a></li>
<li><a href="/gk/ndbg/2022/report.html">梅州市人社局2022年政府信息公开工作年度报告</a></li>
<li><a href="http://127.0.0.1:{port}/gk/jd/2023.html">关于2023年政府信息公开工作年度报告的解读</a></li>
<li><a href="javascript:void(0)">2023年年度报告</a></li>
</ul></body></html>"""

LISTING_BIG5 = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=big5"></head><body>
<a href="nb/2023.pdf">二零二三年政府資訊公開工作年度報告</a>
<a href="nb/2022.pdf">二零二二年政府資訊公開工作年度報告</a>
</body></html>"""


class _Site(BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self):  # noqa: N802 - http.server API
        status, headers, body = self.pages.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    port = server.server_address[1]
    html = {"Content-Type": "text/html"}
    _Site.pages = {
        "/gk/ndbg/": (200, html, LISTING_UTF8.replace("{port}", str(port)).encode("utf-8")),
        "/tw/list.html": (200, html, LISTING_BIG5.encode("big5")),
        "/moved/": (302, {"Location": "http://evil.example.org/list.html"}, b""),
    }
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def _listing_agency(tmp_path, url: str, extra: str = "", hosts: str = '["127.0.0.1"]'):
    text = MINIMAL.replace('["127.0.0.1"]', hosts).replace(
        '[agency.reports]\n2023 = "http://127.0.0.1:8000/meizhou/2023.html"\n',
        f'[agency.listing]\nurl = "{url}"\n{extra}',
    )
    return parse_registry(text, "agencies.toml", tmp_path).agencies[0]


def _fetcher(tmp_path) -> Fetcher:
    return Fetcher(Archive(tmp_path / "archive"), FetchConfig(timeout=2, retries=0, min_interval=0, trust_env=False))


def test_discover_listing_picks_the_year_link_and_resolves_it(tmp_path, site):
    agency = _listing_agency(tmp_path, f"{site}/gk/ndbg/", 'selector = "ul.list"\n')
    with _fetcher(tmp_path) as fetcher:
        found = discover(agency, 2023, fetcher)
        assert [(c.location, c.source, c.via) for c in found] == [
            (f"{site}/gk/ndbg/2023/report.html", "listing", f"{site}/gk/ndbg/")
        ]
        assert found.listing_fetches[0].status == "fetched"
        assert [c.location for c in discover(agency, 2022, fetcher)] == [f"{site}/gk/ndbg/2022/report.html"]
        again = discover(agency, 2023, fetcher).listing_fetches[0]  # no validators: fetched, unchanged
        assert again.status == "fetched" and again.changed is False


def test_discover_listing_without_selector_sees_every_link(tmp_path, site):
    agency = _listing_agency(tmp_path, f"{site}/gk/ndbg/", 'title = "{year}年政府信息公开工作年度报告"\n')
    with _fetcher(tmp_path) as fetcher:
        found = discover(agency, 2023, fetcher)
    # the 解读 (interpretation) link is excluded by default; the nav link matches the pattern
    assert [c.location for c in found] == [f"{site}/2023-news.html", f"{site}/gk/ndbg/2023/report.html"]


def test_discover_listing_in_big5_traditional(tmp_path, site):
    agency = _listing_agency(tmp_path, f"{site}/tw/list.html", 'title_pattern = "{year}年政府信息公开工作年度报告"\n')
    with _fetcher(tmp_path) as fetcher:
        found = discover(agency, 2023, fetcher)
    assert [(c.location, c.title) for c in found] == [(f"{site}/tw/nb/2023.pdf", "二零二三年政府資訊公開工作年度報告")]


def test_discover_listing_failures_become_notes(tmp_path, site):
    agency = _listing_agency(tmp_path, f"{site}/moved/")
    with _fetcher(tmp_path) as fetcher:
        found = discover(agency, 2023, fetcher)
        assert len(found) == 0 and found.listing_fetches[0].status == "refused"
        assert "evil.example.org" in found.notes[0]
        agency = _listing_agency(tmp_path, f"{site}/gk/ndbg/", 'title = "{year}年度统计"\n')
        found = discover(agency, 2023, fetcher)
    assert found.notes[0].endswith("no link matches '{year}年度统计' for 2023 (4 links)")
    assert "not read: no fetcher" in discover(agency, 2023).notes[0]


def test_listing_key_spelt_twice_is_a_problem(tmp_path):
    text = MINIMAL.replace(
        '[agency.reports]\n2023 = "http://127.0.0.1:8000/meizhou/2023.html"\n',
        '[agency.listing]\nurl = "http://127.0.0.1/"\ntitle = "{year}年"\npattern = "{year}"\n',
    )
    problems = _problems(text, tmp_path)
    assert [(p.line, p.message) for p in problems] == [(11, "'pattern' repeats 'title' in [agency.listing]")]
