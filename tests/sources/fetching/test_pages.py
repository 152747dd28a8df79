"""Page analysis (``sources.fetching.pages``) on the lxml tree: what counts as page text and links."""

from __future__ import annotations

from pathlib import Path

from sources.fetching.pages import analyse_page, page_links

# The bench's pages: ~100 KB with a site navigation of ~200 links (the links weighed for an attachment).
BENCH_CORPUS = Path(__file__).resolve().parents[3] / "flows" / "bench" / "corpus"

MARKERS = "主动公开政府信息情况 收到和处理政府信息公开申请情况 行政复议 行政诉讼"


def _page(body: str, head: str = "") -> bytes:
    return f'<html><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'.encode()


def test_markers_in_scripts_styles_and_comments_are_not_page_text():
    hidden = (
        f"<script>var t='{MARKERS}';</script><style>/* {MARKERS} */</style>"
        f"<!-- {MARKERS} --><template>{MARKERS}</template><p>正文</p>"
    )
    assert analyse_page(_page(hidden), None, "http://h/a.html").markers == ()
    shown = analyse_page(_page(f"<p>{MARKERS}</p>"), None, "http://h/a.html")
    assert shown.report_like and len(shown.markers) == 4


def test_text_after_a_removed_script_is_kept():
    page = _page(f"<p>前文<script>x()</script>{MARKERS}</p>")
    assert analyse_page(page, None, "http://h/a.html").report_like


def test_links_attachment_base_and_login():
    body = (
        '<a href="javascript:void(0)">无</a><a href="nb.pdf" title="附件">2023年<b>年度报告</b></a>'
        '<a href="2022.pdf">2022年年度报告</a><iframe src="v.html"></iframe>'
        "<script>document.write('<a href=\"z.pdf\">z</a>')</script>"
    )
    page = _page(body, '<base href="http://x/files/">')
    assert page_links(page, None, "http://h/p/a.html") == [
        ("http://x/files/nb.pdf", "2023年 年度报告 附件"),
        ("http://x/files/2022.pdf", "2022年年度报告"),
    ]
    assert analyse_page(page, None, "http://h/p/a.html", 2023).attachment == "http://x/files/nb.pdf"
    login = _page('<form><input type="PASSWORD" name="p"></form><p>统一身份认证 登录</p>')
    assert analyse_page(login, None, "http://h/a.html").error == "login wall: password form and '登录'"
    notfound = b"<html><head><title>404 - \xe6\x9c\xaa\xe6\x89\xbe\xe5\x88\xb0</title></head><body>x</body></html>"
    assert analyse_page(notfound, None, "http://h/a.html").error == "error page: 404"


def test_empty_and_selector_pages():
    assert analyse_page(b"", None, "http://h/a.html").report_like is False
    listing = _page('<ul class="list"><li><a href="1.html">一</a></li></ul><a href="2.html">二</a>')
    assert page_links(listing, None, "http://h/", "ul.list") == [("http://h/1.html", "一")]


def _every_link(data: bytes, base: str) -> list[tuple[str, str]]:
    from sources.fetching import pages

    root = pages._tree(data, None)
    return pages._attachment_links(root, pages._base(root, base))


def test_the_attachment_is_looked_for_only_where_the_fetcher_follows_it():
    report = _page(f'<p>{MARKERS}</p><a href="nb.pdf">2023年年度报告</a>')
    wrapper = _page('<p>2023年报</p><a href="nb.pdf">2023年年度报告</a>')
    base = "http://h/p/a.html"
    assert analyse_page(report, None, base, 2023).attachment == "http://h/p/nb.pdf"
    assert analyse_page(report, None, base, 2023, links="auto").attachment is None
    assert analyse_page(wrapper, None, base, 2023, links="auto").attachment == "http://h/p/nb.pdf"
    assert analyse_page(wrapper, None, base, 2023, links="never").attachment is None
    for page in (report, wrapper):  # the rest of the analysis does not depend on the links
        full, lean = analyse_page(page, None, base, 2023), analyse_page(page, None, base, 2023, links="never")
        assert (full.report_like, full.error, full.markers) == (lean.report_like, lean.error, lean.markers)


def test_a_link_is_weighed_without_conversion_only_when_it_cannot_name_the_year():
    """The cheap test (NFKC, no script conversion) never drops a link the full normalisation would keep,
    on the links of every bench page and on spellings of the year that need normalising."""
    import re

    from sources.fetching.pages import _may_name_year
    from sources.registry.titles import normalize_title, year_pattern

    texts = [
        "２０２３年度报告",
        "二〇二三年年度報告",
        "二零二三年政府信息公開工作年度報告",
        "20 23 年报",
        "2023年報",
        "12023号",
        "2022年年度报告",
        "首页 政务公开",
    ]
    for path in sorted(BENCH_CORPUS.glob("*.html")):
        texts += [text for _url, text in _every_link(path.read_bytes(), "http://h/")]
    assert len(texts) > 400
    for text in texts:
        full = bool(re.search(year_pattern(2023), normalize_title(text)))
        assert _may_name_year(text, 2023) == full, text


def test_the_attachment_chosen_on_every_bench_page_and_wrapper_is_unchanged():
    """pick_attachment with the cheap test chooses what weighing every link with the full
    normalisation chooses (the scoring as it was, written out here)."""
    import re
    from urllib.parse import unquote, urlsplit

    from sources.fetching.pages import _ANY_YEAR, _DOC_LINK, pick_attachment
    from sources.registry.titles import normalize_title, year_pattern

    def reference(links: list[tuple[str, str]], year: int) -> str | None:
        best = None
        for url, text in links:
            name = normalize_title(text + " " + unquote(urlsplit(url).path.rsplit("/", 1)[-1]))
            is_doc, reportish = bool(_DOC_LINK.search(url)), "年度报告" in name or "年报" in name
            year_hit = bool(re.search(year_pattern(year), name))
            if (not year_hit and _ANY_YEAR.search(name)) or not (is_doc or (reportish and year_hit)):
                continue
            score = 3 * is_doc + 2 * reportish + 2 * year_hit + ("附件" in name)
            if best is None or score > best[0]:
                best = (score, url)
        return best[1] if best else None

    pages = [p.read_bytes() for p in sorted(BENCH_CORPUS.glob("*.html"))]
    nav = "".join(f'<a href="/n{i}.html">栏目{i}</a>' for i in range(50))
    pages.append(
        _page(f'{nav}<p>2023年报</p><a href="/a/2023nb.pdf">示例市2023年年度报告</a><a href="/a/x.docx">附件</a>')
    )
    for data in pages:
        links = _every_link(data, "http://h/a/b.html")
        for year in (2022, 2023):
            assert pick_attachment(links, year) == reference(links, year)
