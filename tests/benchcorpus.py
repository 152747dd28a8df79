"""The bench corpus: reports shaped like published ones, for ``xxgk bench run`` and ``xxgk bench parse``.

``python tests/benchcorpus.py`` (re)writes ``flows/bench/corpus/`` with ``expected.json`` (the facts of
every file, never produced by a parser).  Each document is made by :mod:`tests.factory` from a facts
dict and then given the weight of a real one:

* HTML: ~95 KB article pages — every table cell carries the inline border/padding style that Word
  exports and site editors leave (``<td style="padding:5px…;border-left:1px solid windowtext…">``),
  values wrapped in styled ``<p><span>``, a site-wide navigation of ~200 links, nine inline scripts
  (statistics, sharing, font size) and a footer of link lists; one page in four is GBK-encoded.
* PDF: 4–6 A4 pages (longer narrative), ruled tables drawn line by line, 表三 split across pages with
  the page footer between its rows; two files of three embed their CJK font (TrueType), as most
  real PDFs do, one uses a font that is not embedded (pdfium's text page then loses its one-character
  lines, and the reader falls back to pdfplumber for those pages).
* DOCX: Word files with real merged cells (gridSpan / vMerge), a nested table, vertical text.

The generator needs the test extras (reportlab, python-docx, a CJK TrueType font); the product only
reads the files written here.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import factory  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "flows" / "bench" / "corpus"

_EXTRA = [
    "围绕{topic}，及时发布政策文件、工作动态和办事指南，做好政策解读和回应关切，"
    "通过门户网站、政务新媒体同步推送，方便企业和群众查阅，持续提升公开的针对性和实效性。",
    "聚焦{topic}，梳理公开事项目录，细化公开标准，明确公开时限和责任科室，"
    "落实信息发布前保密审查和内容审核要求，确保公开信息准确、完整、及时。",
    "加强{topic}相关信息的集中发布，建立健全信息发布、政策解读、舆情回应联动机制，"
    "对涉及公众切身利益的事项广泛听取意见，主动回应社会关切。",
]
_TOPICS = [
    "优化营商环境",
    "财政预决算",
    "重大建设项目",
    "公共资源配置",
    "社会公益事业",
    "乡村振兴",
    "生态环境保护",
    "安全生产",
    "教育医疗",
    "就业创业",
    "行政执法公示",
    "民生实事",
]


@contextlib.contextmanager
def padded_narrative(paragraphs: int, seed: int) -> Iterator[None]:
    """While inside, :func:`factory.narrative` adds ``paragraphs`` sentences to 一、总体情况 and
    五、存在的主要问题 (real reports spend pages there; the tables do not change)."""
    original = factory.narrative

    def narrative(cells: dict[str, Any], agency: str, year: int, seed_: int = 0) -> dict[str, list[str]]:
        out = original(cells, agency, year, seed_)
        rng = random.Random(f"pad:{agency}:{seed}")
        extra = [rng.choice(_EXTRA).format(topic=rng.choice(_TOPICS)) for _ in range(paragraphs)]
        half = paragraphs * 2 // 3
        out["overall"] = out["overall"] + extra[:half]
        out["problems"] = out["problems"][:1] + extra[half:] + out["problems"][1:]
        return out

    factory.narrative = narrative
    try:
        yield
    finally:
        factory.narrative = original


# ---------------------------------------------------------------------------- HTML weight

_TD_STYLE = (
    "padding:5px 5px 5px 5px ;border-left:1px solid windowtext;border-right:1px solid windowtext;"
    "border-top:none;border-bottom:1px solid windowtext"
)
_P_STYLE = "text-indent:2em;line-height:150%"

_SCRIPTS = [
    "var _hmt=_hmt||[];(function(){{var hm=document.createElement('script');hm.src='/stat/hm.js?{k}';"
    "var s=document.getElementsByTagName('script')[0];s.parentNode.insertBefore(hm,s);}})();",
    "function doZoom(size){{var z=document.getElementById('zoom');if(!z)return;z.style.fontSize=size+'px';"
    "var ps=z.getElementsByTagName('p');for(var i=0;i<ps.length;i++){{ps[i].style.fontSize=size+'px';}}}}"
    "function doPrint(){{var b=window.document.body.innerHTML;var s='<!--startprint-->';var e='<!--endprint-->';"
    "var p=b.substr(b.indexOf(s)+17);p=p.substring(0,p.indexOf(e));window.document.body.innerHTML=p;"
    "window.print();window.document.body.innerHTML=b;}}",
    "(function(){{var share={{weixin:function(u){{return '/qr?u='+encodeURIComponent(u);}},"
    "weibo:function(u,t){{return 'https://service.weibo.com/share/share.php?url='+encodeURIComponent(u)+"
    "'&title='+encodeURIComponent(t);}}}};window.siteShare=share;}})();",
    "$(function(){{$('.nav li').hover(function(){{$(this).addClass('on').siblings().removeClass('on');"
    "$(this).find('.sub').stop(true,true).slideDown(200);}},function(){{$(this).find('.sub').stop(true,true)"
    ".slideUp(200);}});$('#searchBtn').click(function(){{var q=$.trim($('#q').val());if(q===''){{"
    "alert('请输入检索关键字');return false;}}location.href='/search?q='+encodeURIComponent(q);}});}});",
    "var siteConfig={{siteId:'{k}',columnId:'xxgknb',webId:'0f3a{k}',agentAnalysis:true,"
    "ariaUrl:'/aria/aria.js',oldAge:true,slogan:'坚持以公开为常态、不公开为例外'}};",
    "document.addEventListener('DOMContentLoaded',function(){{var t=document.querySelectorAll('.content table');"
    "for(var i=0;i<t.length;i++){{var w=document.createElement('div');w.className='table-wrap';"
    "t[i].parentNode.insertBefore(w,t[i]);w.appendChild(t[i]);}}}});",
    "var visitCount=function(id){{var x=new XMLHttpRequest();x.open('GET','/count?id='+id+'&t='+"
    "new Date().getTime(),true);x.onreadystatechange=function(){{if(x.readyState==4&&x.status==200)"
    "{{document.getElementById('hits').innerHTML=x.responseText;}}}};x.send(null);}};visitCount('{k}');",
    "window._ariaConfig={{toolbar:true,speech:true,magnifier:1.5,cursor:'big',textMode:false,"
    "lineGuide:true,highContrast:false,pages:['/','/zfxxgk/','/zfxxgk/nb/']}};",
    "if(/Android|webOS|iPhone|iPod|BlackBerry/i.test(navigator.userAgent)){{var m=document.createElement('link');"
    "m.rel='stylesheet';m.href='/css/mobile.css?v={k}';document.head.appendChild(m);}}",
]
_SECTIONS = [
    "政务公开",
    "政务服务",
    "互动交流",
    "政府信息公开",
    "新闻中心",
    "政策文件",
    "数据开放",
    "专题专栏",
    "走进示例",
    "办事指南",
]
_ITEMS = [
    "通知公告",
    "工作动态",
    "政策解读",
    "规范性文件",
    "人事信息",
    "财政资金",
    "规划计划",
    "统计信息",
    "应急管理",
    "重点领域",
    "建议提案",
    "回应关切",
    "机构职能",
    "领导信息",
    "政府公报",
    "权责清单",
    "公共服务",
    "招标采购",
    "民生实事",
    "公示公告",
]


def _nav(rng: random.Random) -> str:
    """A site-wide mega menu: ten sections of ten links each."""
    parts = ['<div class="mainnav"><ul class="nav">']
    for i, section in enumerate(_SECTIONS):
        subs = "".join(
            f'<li><a href="/{i:02d}/{j:02d}/index.html" target="_blank" title="{item}">{item}</a></li>'
            for j, item in enumerate(rng.sample(_ITEMS, 10))
        )
        parts.append(
            f'<li class="n{i}"><a href="/{i:02d}/" class="first">{section}</a><ul class="sub">{subs}</ul></li>'
        )
    return "".join(parts) + "</ul></div>"


def _footer_links(rng: random.Random) -> str:
    """The footer's link lists: government sites of the province, cities and departments."""
    groups = []
    for g, name in enumerate(("国务院部门网站", "省级政府网站", "市县政府网站", "市直部门网站")):
        opts = "".join(
            f'<option value="http://www{g}{k}.example.gov.cn/">示例{name[:2]}网站{k:02d}</option>'
            for k in range(rng.randint(8, 12))
        )
        groups.append(f'<select onchange="window.open(this.value)"><option>{name}</option>{opts}</select>')
    return '<div class="links">' + "".join(groups) + "</div>"


def dress_html(page: bytes, encoding: str, seed: int) -> bytes:
    """The factory's article page given the weight of a published one (see the module docstring);
    the text and the tables' structure are unchanged."""
    rng = random.Random(f"dress:{seed}")
    text = page.decode(encoding)
    text = re.sub(r"<td(?=[\s>])", f'<td style="{_TD_STYLE}" valign="center"', text)
    text = text.replace("<p>", f'<p style="{_P_STYLE}">')
    scripts = [s.format(k=f"{seed:04d}") for s in _SCRIPTS]
    head = "".join(f'<script type="text/javascript">{s}</script>' for s in scripts[:4])
    tail = "".join(f'<script type="text/javascript">{s}</script>' for s in scripts[4:])
    text = text.replace("</head>", head + "</head>", 1)
    text = text.replace('<div class="crumb">', _nav(rng) + '<div class="crumb">', 1)
    text = text.replace('<div class="footer">', _footer_links(rng) + '<div class="footer">', 1)
    text = text.replace("</body>", tail + "</body>", 1)
    return text.encode(encoding, errors="xmlcharrefreplace")


# ---------------------------------------------------------------------------- the corpus

AGENCIES = [
    "示例市发展和改革委员会",
    "示例县人民政府",
    "示例区教育局",
    "示例市生态环境局",
    "示例县卫生健康局",
    "示例市住房和城乡建设局",
    "示例区民政局",
    "示例市财政局",
    "示例县农业农村局",
]


def specs() -> list[dict[str, Any]]:
    """File name, format, facts and render options of every corpus document."""
    out = []
    plan = [
        ("html", {"encoding": "utf-8"}, 0),
        ("html", {"encoding": "utf-8"}, 0),
        ("html", {"encoding": "utf-8"}, 0),
        ("html", {"encoding": "gbk"}, 0),
        ("pdf", {"embed": True}, 14),
        ("pdf", {"split_after": "not_processed_duplicate"}, 24),
        ("pdf", {"embed": True}, 34),
        ("docx", {"nested": "t4"}, 10),
        ("docx", {}, 16),
    ]
    for i, ((fmt, opts, pad), agency) in enumerate(zip(plan, AGENCIES, strict=True)):
        facts = factory.make_facts(
            agency, 2023, seed=700 + i, requests=[12, 131, 48, 9, 260, 37, 75, 22, 540][i], fee=[0, 3.2][i % 2]
        )
        out.append(
            {
                "file": f"bench-{i}-{fmt}{'-gbk' if opts.get('encoding') == 'gbk' else ''}.{fmt}",
                "fmt": fmt,
                "facts": facts,
                "opts": opts,
                "padding": pad or 6,
            }
        )
    return out


def render_spec(s: dict[str, Any]) -> bytes:
    """The bytes of one corpus document."""
    opts = dict(s["opts"])
    seed = s["facts"]["seed"]
    with padded_narrative(s["padding"], seed):
        if s["fmt"] == "html":
            page = factory.render(s["facts"], "html", **opts)
            return dress_html(page, opts.get("encoding", "utf-8"), seed)
        if s["fmt"] == "pdf" and opts.pop("embed", False):
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from ocrkit import cjk_font

            opts["font_file"] = cjk_font()
        return factory.render(s["facts"], s["fmt"], **opts)


def write(out: Path = OUT) -> dict[str, int]:
    """Write every corpus document and ``expected.json`` to ``out``; the size of each file."""
    out.mkdir(parents=True, exist_ok=True)
    sizes, expected = {}, {}
    for s in specs():
        data = render_spec(s)
        (out / s["file"]).write_bytes(data)
        sizes[s["file"]] = len(data)
        f = s["facts"]
        expected[s["file"]] = {
            "agency": f["agency"],
            "year": f["year"],
            "template": f["template"],
            "format": s["fmt"],
            "published": f["published"],
            "cells": dict(f["cells"]),
        }
    (out / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return sizes


if __name__ == "__main__":
    for name, size in write().items():
        print(f"{size:>8}  {name}")
