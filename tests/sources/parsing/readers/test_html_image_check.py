"""Which images of an HTML page are worth fetching is decided without walking the page when every
statutory table's anchor label sits in a cell the walk surely reads; on every page below, whatever the
markup hides, the quick answer is the walk's own (the walk is the reference: ``missing_tables`` of
the rows it reads)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sources.parsing.limits import DEFAULT_LIMITS
from sources.parsing.readers import html as html_reader
from sources.parsing.readers.body_images import image_sources, missing_tables, worth_reading

ROOT = Path(__file__).resolve().parents[4]
T2 = "<table><tr><td>信息内容</td><td>本年制发件数</td></tr><tr><td>规章</td><td>0</td></tr></table>"
T3 = "<table><tbody><tr><th>（本列）</th><th>自然人</th></tr><tr><td>一、本年新收</td><td>3</td></tr></tbody></table>"
T4 = "<table><tr><td>行政复议</td><td>行政诉讼</td></tr><tr><td>0</td><td>1</td></tr></table>"
#: Ways of printing 表四 around its anchor cell: the walk may read it or leave it out.
T4_VARIANTS = {
    "plain": T4,
    "hidden table": T4.replace("<table>", '<table style="color:red; DISPLAY: none">'),
    "hidden row": T4.replace("<tr>", '<tr hidden="">', 1),
    "hidden cell": T4.replace("<td>行政复议", '<td aria-hidden="true">行政复议'),
    "hidden section": f'<table><tbody style="visibility:hidden">{T4[7:-8]}</tbody></table>',
    "hidden label part": T4.replace("行政复议", '行政<span style="display:none">x</span>复议'),
    "label half hidden": T4.replace("行政复议", '行政<span hidden="">复议</span>'),
    "zero-width inside": T4.replace("行政复议", "行政\u200b复议"),
    "label across a line break": T4.replace("行政复议", "行政<br>复议"),
    "in a footer div": f'<div class="footer">{T4}</div>',
    "in a site header": f"<header>{T4}</header>",
    "in an article aside": f"<article><aside>{T4}</aside></article>",
    "in nav": f"<nav>{T4}</nav>",
    "in a role=navigation": f'<div role="navigation">{T4}</div>',
    "in noscript": f"<noscript>{T4}</noscript>",
    "in a select": f"<select><option>{T4}</option></select>",
    "nested in a cell": f"<table><tr><td>附表{T4}</td><td>2</td></tr></table>",
    "nested in a hidden cell": f'<table><tr><td style="display:none">{T4}</td></tr></table>',
    "label only in a nested cell": "<table><tr><td>行政<table><tr><td>x</td></tr></table>复议</td></tr></table>",
    "layout row": T4.replace("<td>行政诉讼</td>", "<td>" + "说明文字。" * 60 + "<br>二<br>三</td>"),
    "long cell with a figure": T4.replace("<td>行政诉讼</td>", "<td>" + "说明。" * 60 + "</td><td>5</td>"),
    "row outside a table": "<div><tr><td>行政复议</td><td>1</td></tr></div>",
    "cell outside a row": "<div><td>行政复议</td></div>",
    "in a colgroup": "<table><colgroup><tr><td>行政复议</td></tr></colgroup><tr><td>1</td></tr></table>",
    "as a paragraph": "<p>行政复议</p>",
    "as a pipe table": "<pre>| 行政复议 | 行政诉讼 |\n|---|---|\n| 0 | 1 |</pre>",
    "traditional": T4.replace("行政复议", "行政復議"),
    "in a menu": f'<ul class="menu"><li>{T4}</li></ul>',
}


def _page(t4: str, img: str = '<img src="logo.png"><img src="t4.png">') -> bytes:
    return (
        '<html><head><meta charset="utf-8"><title>2023年政府信息公开工作年度报告</title></head><body>'
        f"<h1>2023年政府信息公开工作年度报告</h1><p>{img}</p>{T2}{T3}{t4}</body></html>"
    ).encode()


def _walked(data: bytes) -> list[str]:
    """What the image check gave before it had a quick answer: the walk's rows decide."""
    root, issues = html_reader._page_tree(data, None, DEFAULT_LIMITS)
    body = html_reader._body(root)
    rows = html_reader._walk_page(root, issues).doc.rows
    return worth_reading(rows, [img.get("src") or "" for img in body.iter("img")])


@pytest.mark.parametrize("variant", sorted(T4_VARIANTS))
def test_the_quick_answer_is_the_walks(variant):
    data = _page(T4_VARIANTS[variant])
    root, issues = html_reader._page_tree(data, None, DEFAULT_LIMITS)
    sure = html_reader._surely_complete(html_reader._body(root))
    missing = missing_tables(html_reader._walk_page(root, issues).doc.rows)
    assert not (sure and missing), variant  # never sure of a table the walk does not read
    assert image_sources(data) == _walked(data)


def test_the_quick_answer_is_used_where_it_is_sure(monkeypatch):
    assert html_reader._surely_complete(html_reader._body(html_reader._page_tree(_page(T4), None, DEFAULT_LIMITS)[0]))
    walks: list[int] = []
    real = html_reader._walk_page
    monkeypatch.setattr(html_reader, "_walk_page", lambda root, issues: walks.append(1) or real(root, issues))
    assert image_sources(_page(T4)) == []
    assert walks == []  # every table surely read: no walk
    assert image_sources(_page(T4_VARIANTS["hidden table"])) == ["logo.png", "t4.png"]
    assert walks == [1]  # 表四 hidden: the walk decides
    assert image_sources(_page(T4, img='<img src="data:image/png;base64,AAAA">')) == []
    assert walks == [1]  # no image worth fetching: neither answer needed


def _check_pages(pages: list[Path]) -> None:
    assert pages
    for path in pages:
        data = path.read_bytes().replace(b"</body>", b'<img src="t.png"></body>')
        assert image_sources(data) == _walked(data), path.name


def test_sample_and_bench_pages_get_the_walks_answer():
    _check_pages(sorted(ROOT.glob("sources/samples/*.htm*")) + sorted(ROOT.glob("flows/bench/corpus/*.html")))


def test_real_pages_get_the_walks_answer():
    from refdata import shared_dir

    _check_pages(sorted((shared_dir("corpus") / "docs").glob("*.htm*")))
