"""Page analysis (``sources.fetching.pages``) on the lxml tree: what counts as page text and links."""

from __future__ import annotations

from sources.fetching.pages import analyse_page, page_links

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
