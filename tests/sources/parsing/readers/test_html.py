"""HTML reader: encodings, physical cells, nested/layout tables, text, and the real pingtan pages."""

from __future__ import annotations

import pytest
from refdata import SHARED

from sources.parsing.document import UnreadableDocument
from sources.parsing.readers.html import read_html

CORPUS = SHARED / "corpus"
DOCS = CORPUS / "docs"


def _corpus_file(name: str) -> bytes:
    path = DOCS / name
    if not path.is_file():
        pytest.skip(f"shared corpus not available ({path} missing): real-document test skipped")
    return path.read_bytes()


def _cells(doc):
    return [r.cells for r in doc.rows]


T3_HTML = """<html><head><meta charset="utf-8"><title>某区2023年政府信息公开工作年度报告_门户网站</title>
<script>var x = "<table><tr><td>不是表格</td></tr></table>";</script><style>td {color: red}</style></head>
<body>
<div class="header"><a href="/">首页</a><a href="/zwgk">政务公开</a></div>
<nav><a href="/">导航链接</a></nav>
<div class="breadcrumb">当前位置：首页 &gt; 年报</div>
<div class="article">
<h1>某区2023年政府信息公开工作年度报告</h1>
<p>一、总体情况</p><p>本年度共收到申请&nbsp;81&nbsp;件。<br>第二行</p>
<table border="1">
<tr><td rowspan="3" colspan="3">（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td>
    <td colspan="7">申请人情况</td></tr>
<tr><td rowspan="2">自然人</td><td colspan="5">法人或其他组织</td><td rowspan="2">总计</td></tr>
<tr><td>商业<br/>企业</td><td>科研<br>机构</td><td>社会公益组织</td><td>法律服务机构</td><td>其他</td></tr>
<tr><td colspan="3">一、本年新收政府信息公开申请数量</td>
    <td>80</td><td>1</td><td>0</td><td>0</td><td>0</td><td>0</td><td>81</td></tr>
<tr><td rowspan="2">三、本年度办理结果</td><td colspan="2">（一）予以公开</td>
    <td>22</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>22</td></tr>
<tr><td colspan="2"><p>（二）部分公开</p><p>（区分处理的，只计这一情形）</p></td>
    <td> 19 </td><td>1</td><td></td><td>&nbsp;</td><td>0</td><td>0</td><td>20</td></tr>
</table>
<p>六、其他需要报告的事项</p>
</div>
<div class="footer"><p>版权所有：某区人民政府</p><p>网站标识码：1234</p></div>
</body></html>"""


def test_rowspan_colspan_give_physical_cells_once():
    doc = read_html(T3_HTML.encode("utf-8"))
    assert doc.format == "html"
    assert doc.title == "某区2023年政府信息公开工作年度报告_门户网站"
    assert _cells(doc) == [
        ("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"),
        ("自然人", "法人或其他组织", "总计"),
        ("商业\n企业", "科研\n机构", "社会公益组织", "法律服务机构", "其他"),
        ("一、本年新收政府信息公开申请数量", "80", "1", "0", "0", "0", "0", "81"),
        ("三、本年度办理结果", "（一）予以公开", "22", "0", "0", "0", "0", "0", "22"),
        ("（二）部分公开\n（区分处理的，只计这一情形）", "19", "1", "", "", "0", "0", "20"),
    ]
    assert [r.line for r in doc.rows] == [1, 2, 3, 4, 5, 6]
    assert {r.table for r in doc.rows} == {0}


def test_text_is_visible_reading_order_without_boilerplate():
    doc = read_html(T3_HTML.encode("utf-8"))
    lines = doc.text.split("\n")
    assert lines[0] == "某区2023年政府信息公开工作年度报告"
    assert lines[1] == "一、总体情况"
    assert lines[2] == "本年度共收到申请 81 件。"  # &nbsp; → space
    assert lines[3] == "第二行"  # <br> → newline
    assert "一、本年新收政府信息公开申请数量\t80\t1\t0\t0\t0\t0\t81" in lines
    assert "（二）部分公开 （区分处理的，只计这一情形）\t19\t1\t\t\t0\t0\t20" in lines
    assert lines[-1] == "六、其他需要报告的事项"
    for junk in ("不是表格", "color", "首页", "导航链接", "当前位置", "版权所有", "网站标识码"):
        assert junk not in doc.text


def test_gbk_declared_in_meta_decodes_as_gb18030():
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        "<title>测试</title></head><body><p>申请人：陈喆、朱镕基</p>"
        "<table><tr><td>行政许可</td><td>12</td></tr></table></body></html>"
    )
    data = html.encode("gbk")  # 喆/镕 are GBK-only: a strict GB2312 decoder would fail
    doc = read_html(data)
    assert doc.text == "申请人：陈喆、朱镕基\n行政许可\t12"
    assert _cells(doc) == [("行政许可", "12")]
    assert doc.issues == []
    # A GB18030-only character under a "gbk" label still decodes.
    doc = read_html('<meta charset="GBK"><p>𠀀字</p>'.encode("gb18030"))
    assert doc.text == "𠀀字"


BIG5_HTML = (
    "<html><body><h1>臺北市政府資訊公開年度報告</h1>"
    "<table><tr><td>行政複議</td><td>3</td></tr><tr><td>申請人數量</td><td>5</td></tr></table>"
    "<p>本機關依法處理政府資訊公開申請。</p></body></html>"
)


def test_big5_declared_in_http_header_only():
    doc = read_html(BIG5_HTML.encode("big5"), "text/html; charset=Big5")
    assert doc.text == "臺北市政府資訊公開年度報告\n行政複議\t3\n申請人數量\t5\n本機關依法處理政府資訊公開申請。"
    assert _cells(doc) == [("行政複議", "3"), ("申請人數量", "5")]
    assert doc.issues == []
    assert doc.title == "臺北市政府資訊公開年度報告"  # no <title>: first heading


def test_undeclared_big5_is_detected_with_an_issue():
    doc = read_html(BIG5_HTML.encode("big5"))
    assert _cells(doc) == [("行政複議", "3"), ("申請人數量", "5")]
    assert [i.code for i in doc.issues] == ["encoding_guessed"]


def test_wrong_declaration_is_overridden_with_an_issue():
    html = '<html><head><meta charset="utf-8"></head><body><p>政府信息公开申请</p></body></html>'
    doc = read_html(html.encode("gbk"))
    assert doc.text == "政府信息公开申请"
    assert [i.code for i in doc.issues] == ["encoding_guessed"]
    assert doc.issues[0].severity == "warning"
    # latin-1 declared by a copied template, bytes are UTF-8
    doc = read_html(html.replace("utf-8", "iso-8859-1").encode("utf-8"))
    assert doc.text == "政府信息公开申请"
    assert [i.code for i in doc.issues] == ["encoding_guessed"]
    # unknown label in the header; the header wins over the meta when both are valid
    doc = read_html(html.encode("utf-8"), "text/html; charset=x-unheard-of")
    assert doc.text == "政府信息公开申请"
    assert [i.code for i in doc.issues] == ["encoding_guessed"]


def test_header_charset_beats_meta_and_bom_beats_both():
    html = '<html><head><meta charset="utf-8"></head><body><p>自然人</p></body></html>'
    assert read_html(html.encode("gb18030"), "text/html; charset=GBK").text == "自然人"
    assert read_html(b"\xef\xbb\xbf" + html.encode("utf-8"), "text/html; charset=gbk").text == "自然人"
    assert read_html(b"\xff\xfe" + html.encode("utf-16-le")).text == "自然人"


def test_layout_outer_table_yields_inner_rows_only():
    para = "本年度政府信息公开工作稳步推进，各项制度不断完善，公开质量持续提高。"
    narrative = "".join(f"<p>第{i}段：{para}</p>" for i in range(8))
    html = f"""<html><body>
<table width="100%"><tr><td>
  <h2>某局2022年政府信息公开工作年度报告</h2>{narrative}
  <table border="1">
    <tr><td>行政处罚</td><td>1330</td></tr>
    <tr><td>行政强制</td><td>54</td></tr>
  </table>
  <p>四、政府信息公开行政复议、行政诉讼情况</p>
  <table border="1"><tr><td>结果维持</td><td>结果纠正</td></tr><tr><td>1</td><td>0</td></tr></table>
</td></tr>
<tr><td>主办单位：某局办公室</td></tr>
</table></body></html>"""
    doc = read_html(html.encode("utf-8"))
    assert [(r.table, r.line, r.cells) for r in doc.rows] == [
        (1, 1, ("行政处罚", "1330")),
        (1, 2, ("行政强制", "54")),
        (2, 1, ("结果维持", "结果纠正")),
        (2, 2, ("1", "0")),
        (0, 2, ("主办单位：某局办公室",)),
    ]
    assert max(len(c) for r in doc.rows for c in r.cells) < 40
    lines = doc.text.split("\n")
    assert lines[0] == "某局2022年政府信息公开工作年度报告"
    assert lines[1].startswith("第0段：")
    assert lines[9:14] == [
        "行政处罚\t1330",
        "行政强制\t54",
        "四、政府信息公开行政复议、行政诉讼情况",
        "结果维持\t结果纠正",
        "1\t0",
    ]


def test_layout_table_of_long_text_only_is_not_a_row():
    para = "全年主动公开政府信息一千余条，依申请公开办理及时规范，答复质量稳步提升。"
    paras = "".join(f"<p>第{i}段：{para}</p>" for i in range(6))
    doc = read_html(f"<table><tr><td>{paras}</td></tr></table>".encode())
    assert doc.rows == []
    assert len(doc.text.split("\n")) == 6


def test_nested_table_in_a_labelled_cell():
    html = """<table border="1">
<tr><td>三、本年度办理结果</td><td>
   <table><tr><td>（一）予以公开</td><td>22</td></tr><tr><td>（二）部分公开</td><td>20</td></tr></table>
</td></tr>
<tr><td>四、结转下年度继续办理</td><td>0</td></tr>
</table>"""
    doc = read_html(html.encode("utf-8"))
    assert [(r.table, r.line, r.cells) for r in doc.rows] == [
        (0, 1, ("三、本年度办理结果", "")),  # the outer row, without the inner table's text
        (1, 1, ("（一）予以公开", "22")),
        (1, 2, ("（二）部分公开", "20")),
        (0, 2, ("四、结转下年度继续办理", "0")),
    ]


def test_one_html_table_holding_several_statutory_tables():
    html = """<table border="1"><tbody>
<tr><td colspan="4">第二十条第（一）项</td></tr>
<tr><td>信息内容</td><td>本年制发件数</td><td>本年废止件数</td><td>现行有效件数</td></tr>
<tr><td>规章</td><td>0</td><td>0</td><td>0</td></tr>
<tr><td colspan="4">第二十条第（五）项</td></tr>
<tr><td>信息内容</td><td colspan="3">本年处理决定数量</td></tr>
<tr><td>行政许可</td><td colspan="3">2629</td></tr>
</tbody><tbody>
<tr><th>行政复议</th><th>行政诉讼</th></tr>
</tbody></table>"""
    doc = read_html(html.encode("utf-8"))
    assert _cells(doc) == [
        ("第二十条第（一）项",),
        ("信息内容", "本年制发件数", "本年废止件数", "现行有效件数"),
        ("规章", "0", "0", "0"),
        ("第二十条第（五）项",),
        ("信息内容", "本年处理决定数量"),
        ("行政许可", "2629"),
        ("行政复议", "行政诉讼"),
    ]
    assert [r.line for r in doc.rows] == list(range(1, 8))


def test_hidden_elements_and_comments_are_not_text():
    html = """<body><p>可见</p><div style="display: none"><p>隐藏</p><table><tr><td>9</td></tr></table></div>
<!-- <p>注释</p> --><p hidden>也隐藏</p><p>结束</p></body>"""
    doc = read_html(html.encode("utf-8"))
    assert doc.text == "可见\n结束"
    assert doc.rows == []


def test_empty_and_blank_input():
    with pytest.raises(UnreadableDocument) as exc:
        read_html(b"")
    assert exc.value.code == "empty_file"
    doc = read_html(b"   \n ")
    assert doc.text == "" and doc.rows == []
    doc = read_html(b"<!DOCTYPE html>")
    assert doc.text == "" and doc.rows == []


def test_row_outside_a_table_is_its_own_table():
    doc = read_html(b"<p>x</p><tr><td>a</td><td>1</td></tr>")
    assert [(r.table, r.line, r.cells) for r in doc.rows] == [(0, 1, ("a", "1"))]


# ------------------------------------------------------------------------------ real documents


def test_pingtan_2023_rows_and_text():
    doc = read_html(_corpus_file("pingtan-2023.html"))
    assert doc.title.startswith("平潭综合实验区2023年度政府信息公开工作年度报告")
    tables = {r.table for r in doc.rows}
    assert tables == {0, 1, 2}
    rows = _cells(doc)
    assert ("行政规范性文件", "77", "132", "470") in rows
    assert ("行政事业性收费", "5949.088667") in rows
    assert ("一、本年新收政府信息公开申请数量", "80", "1", "0", "0", "0", "0", "81") in rows
    assert ("三、本年度办理结果", "（一）予以公开", "22", "0", "0", "0", "0", "0", "22") in rows
    assert ("（七）总计", "80", "1", "0", "0", "0", "0", "81") in rows
    assert rows[-1] == ("1", "1", "0", "0", "2", "4", "0", "0", "1", "5", "1", "0", "1", "0", "2")
    assert "一、总体情况" in doc.text.split("\n")
    assert "行政规范性文件\t77\t132\t470" in doc.text
    assert "var SiteInfo" not in doc.text and "版权所有" not in doc.text
    assert doc.issues == []


def test_pingtan_2019_and_2018():
    doc = read_html(_corpus_file("pingtan-2019.html"))
    rows = _cells(doc)
    assert ("政府集中采购", "135", "75394432.52元") in rows
    assert ("（六）其他处理", "0", "0", "0", "0", "0", "0", "0") in rows
    doc = read_html(_corpus_file("pingtan-2018.html"))
    assert _cells(doc)[0] == ("指标名称", "计量单位", "2018年度", "历年累计")
    assert "2018年度" in doc.text


def test_pre_keeps_line_breaks_and_cells_are_stripped():
    html = "<p>a\n  b</p><pre>一、总体情况\n  本年度\t共\n\n二、主动公开</pre><p>\u3000\u3000缩进</p>"
    html += "<table><tr><td>\u300080\u3000</td><td></td><td>1</td></tr></table>"
    doc = read_html(html.encode())
    assert doc.text.split("\n") == ["a b", "一、总体情况", "本年度 共", "二、主动公开", "缩进", "80\t\t1"]
    assert [r.cells for r in doc.rows] == [("80", "", "1")]


def test_article_header_is_kept_site_header_is_dropped():
    html = """<body><div class="site-header"><a>首页</a><a>政府工作报告</a></div>
<div class="article-header"><div class="title">某局2023年政府信息公开工作年度报告</div>
<div class="info">发布时间：2024-01-20</div></div>
<div id="zoom"><p>一、总体情况</p></div><div class="copyright_info">主办单位：某局</div></body>"""
    doc = read_html(html.encode())
    assert doc.text.split("\n") == ["某局2023年政府信息公开工作年度报告", "发布时间：2024-01-20", "一、总体情况"]
