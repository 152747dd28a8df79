"""The Chinese a person reads about fetching and parsing, declared once.

The parser, the fetcher and the pipeline keep their stable English codes and technical messages (the
``--json`` contract, ``stg.parse_issues``, ``qa.acquisitions``); everything shown to a person in
Chinese — the run summary, ``xxgk parse``, the report, its e-mail and workbook — goes through this
module:

* :data:`SEVERITY`, :data:`ACQUISITION_STATUS`, :data:`FETCH_STATUS`, :data:`STEP`, :data:`LEVEL` —
  labels of the stable codes;
* :data:`ISSUE_TEXTS` — per parse-issue code a Chinese description (what a reader needs when a
  message has no more specific rendering);
* :data:`MESSAGES` — the English messages and reasons of ``sources`` (issue messages, unreadable
  files, fetch and discovery reasons, refusals) as patterns, each with its Chinese sentence;
* :func:`chinese` turns such a text into Chinese (several ``;``-separated parts each), :func:`issue_text`
  one issue, :func:`tried_text` one URL tried.

A text no pattern knows (an exception's own words) keeps its technical part in parentheses after a
Chinese lead, so nothing is lost and the sentence still says what happened.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

SEVERITY = {"error": "错误", "warning": "警告", "info": "提示"}

#: The status of an agency-year in ``qa.acquisitions`` (what the run found).
ACQUISITION_STATUS = {
    "fetched": "新下载",
    "not_modified": "未变化",
    "missing": "缺失",
    "not_due": "未到截止日期",
    "failed": "失败",
    "refused": "拒绝访问",
    "wrong_year": "年度不符（记为缺失）",
}

#: The status of one URL tried (``FetchResult.status``).
FETCH_STATUS = {
    "fetched": "已下载",
    "not_modified": "未变化",
    "missing": "不存在",
    "refused": "拒绝访问",
    "soft_error": "错误页面",
    "oversized": "文件过大",
    "failed": "失败",
}

#: The registry's ``level`` of an agency.
LEVEL = {
    "national": "国家级",
    "province": "省级",
    "city": "市级",
    "county": "县级",
    "township": "乡镇级",
    "": "未登记层级",
}

# An OCR cell a person must compare with the page image: its status, and the command that records
# what the page prints (the terminal, the e-mail and the workbook all show both).
OCR_STATUS = {"unverified": "与勾稽关系不符", "low_confidence": "识别置信度低", "unreadable": "无法识别"}


def confirm_command(version_id: str | None, address: str) -> str:
    """The ``xxgk confirm`` command for one OCR cell (``版本号`` where the version is not known yet)."""
    return f"xxgk confirm {version_id or '版本号'} {address} --value 原件数字"


STEP = {"discover": "发现", "fetch": "下载", "parse": "解析", "load": "入库", "validate": "校验", "promote": "发布"}

HTTP_MEANING = {
    400: "请求无效",
    401: "需要登录",
    403: "禁止访问",
    404: "页面不存在",
    410: "页面已删除",
    429: "请求过多，被限流",
    500: "服务器内部错误",
    502: "网关错误",
    503: "服务暂不可用",
    504: "网关超时",
}

ISSUE_TEXTS = {
    "row_width": "表格行的数值个数与模板的列数不符，该行未采用",
    "unknown_label": "行标签与模板中的任何一行都不对应",
    "label_fuzzy_match": "行标签与模板略有不同，按最接近的模板行读取",
    "label_exact_match": "行标签按模板行读取",
    "duplicate_row": "同一行印了两次，采用第一次",
    "missing_table": "文档中没有找到法定统计表",
    "missing_section": "没有找到部分章节标题",
    "hybrid_other_handling": "2021 年模板但印的是 2019 年版的单行“（六）其他处理”，该行按原样保留",
    "blank_template": "法定统计表中没有任何数字（空白模板）",
    "not_statutory_report": "不是法定格式的政府信息公开工作年度报告",
    "ocr_needed": "页面没有文字层，内容未读取：请做 OCR 或向发布机关索取文字版 PDF",
    "pdf_table_error": "PDF 页面上的表格无法读取，请人工核对",
    "pdf_table_from_words": "PDF 页面上的表格没有框线，按文字位置重建了表格行，请核对",
    "encoding_guessed": "文件编码为推测所得，请核对文字是否正确",
    "empty_file": "文件为空（0 字节），请重新下载",
    "truncated": "文件不完整或已损坏，请重新下载",
    "encrypted": "文件已加密，无法读取",
    "not_a_document": "不是 PDF、Word、HTML 或文本文档",
    "unsupported_format": "不支持的文件格式",
    "cannot_open": "无法打开文件",
    "not_regular_file": "不是普通文件，未读取",
    "too_large": "文件或其中一部分超过读取上限，未读取",
    "too_deep": "文件嵌套过深，未读取",
    "too_many_pages": "PDF 页数超过上限，未读取",
    "parse_timeout": "解析超时，已停止",
    "parse_failed": "解析程序出错，文件未读取：请人工检查文件；反复出现请报告程序错误",
    "table_unreadable": "文中印有法定统计表的标签，但表格无法读取，单元格均为空",
    "converter_missing": "读取 .doc/.wps 文件需要 LibreOffice Writer，本机未安装",
    "conversion_failed": "LibreOffice 无法转换该文件，请另存为 .docx 后再读取",
    "published_on_unreadable": "发布日期无法识别，按空值保存",
    "ocr_page": "该页为图像，已用本地 OCR 识别，数字须经核验",
    "ocr_unavailable": "本地 OCR 引擎不可用，扫描页未读取",
    "body_image_refused": "网页正文中的图片未读取（只读取网页所在文件夹内的图片文件）",
    "ocr_low_confidence": "OCR 识别置信度过低，该单元格按空值处理，请人工核对原件",
    "ocr_unreadable": "OCR 识别结果含非数字字符，该单元格按空值处理，请人工核对原件",
    "ocr_unverified": "OCR 读数与报告自身的勾稽关系不符，须人工核对原件后才能采信",
}

_IMAGE_REFUSED = {
    "a web address, not a file beside the page": "是网址（本地网页只读取其所在文件夹内的图片）",
    "an absolute path, not a file beside the page": "是绝对路径（本地网页只读取其所在文件夹内的图片）",
    "it lies outside the folder of the page": "位于网页所在文件夹之外，拒绝读取",
    "not a regular file": "不是普通文件",
    "larger than 16 MB": "超过 16 MB",
    "no such file, or it cannot be opened": "文件不存在或无法打开",
}
_OCR_WHAT = {"a scanned image": "扫描图像", "drawn outlines, not text": "文字为绘制的轮廓而非文本"}
_EXCEPTIONS = {
    "ConnectError": "连接失败",
    "ConnectTimeout": "连接超时",
    "ReadTimeout": "读取超时",
    "TimeoutException": "超时",
    "RemoteProtocolError": "服务器协议错误",
    "ConnectionRefusedError": "连接被拒绝",
    "SSLError": "TLS 证书或加密连接错误",
    "TooManyRedirects": "重定向次数过多",
}


def _http(m: re.Match[str]) -> str:
    code = int(m["code"])
    meaning = HTTP_MEANING.get(code, "服务器返回错误")
    return f"HTTP {code}，{meaning}"


def _status(word: str) -> str:
    return FETCH_STATUS.get(word, ACQUISITION_STATUS.get(word, word))


# (pattern, Chinese): a full match of an English text; ``{name}`` are the pattern's named groups, and a
# group named ``rest…`` is itself turned into Chinese.  First match wins (specific before general).
MESSAGES: list[tuple[str, str | Callable[[re.Match[str]], str]]] = [
    # fetching: one URL tried
    (r"HTTP (?P<code>\d{3})", _http),
    (r"larger than max_bytes=(?P<n>\d+)", "文件超过 {n} 字节的上限，未下载"),
    (r"(?P<rest>.+) after (?P<n>\d+) attempts", "{rest}（重试 {n} 次后仍失败）"),
    (r"more than (?P<n>\d+) redirects", "重定向超过 {n} 次"),
    (r"redirect to (?P<rest>.+)", "重定向后的地址被拒绝：{rest}"),
    (r"scheme '(?P<s>.*)' is not http\(s\): (?P<url>.+)", "地址 {url} 不是 http(s) 协议（{s}）"),
    (r"no host in URL (?P<url>.+)", "地址 {url} 中没有主机名"),
    (
        r"IP literal (?P<host>\S+) \((?P<scope>.+)\) is not in allowed_hosts",
        "IP 地址 {host}（{scope}）不在允许的主机内",
    ),
    (r"host (?P<host>\S+) is not in allowed_hosts \[(?P<hosts>.*)\]", "主机 {host} 不在允许的主机内（{hosts}）"),
    (
        r"host (?P<host>\S+) resolves to non-public address (?P<addr>\S+), which is not in allowed_hosts",
        "主机 {host} 解析到非公网地址 {addr}，不在允许的主机内",
    ),
    (r"attachment link gave an HTML page: (?P<rest>.+)", "附件链接返回的是网页：{rest}"),
    (r"attachment (?P<url>\S+): (?P<rest>.+)", "附件 {url}：{rest}"),
    (r"HTML page without recognisable report content", "网页中没有可识别的年报内容"),
    (r"no report content", "没有年报内容"),
    (r"login wall: password form and (?P<hit>.+)", "需要登录的页面（密码表单与 {hit}）"),
    (r"error page: 404", "错误页面（404，页面不存在）"),
    (r"error page: (?P<hit>.+)", "错误页面（{hit}）"),
    (r"no such file (?P<path>.+)", "文件不存在：{path}"),
    # discovery
    (
        r"listing (?P<url>\S+): no link matches '(?P<title>.*)' for (?P<year>\d+) \((?P<n>\d+) links\)",
        "栏目页 {url} 的 {n} 个链接中没有与“{title}”和 {year} 年相符的",
    ),
    (r"listing (?P<url>.+) not read: no fetcher given", "栏目页 {url} 未读取"),
    (
        r"no URL configured for (?P<year>\d+) in \[agency\.reports\]",
        "机关名录的 [agency.reports] 中没有 {year} 年的地址",
    ),
    (r"no file matching '(?P<glob>.+)' in (?P<path>.+)", "{path} 中没有与 {glob} 相符的文件"),
    (r"no source configured", "机关名录中没有为该机关配置年报来源"),
    # a report of another year at the asked year's address (sources.fetching.wrong_year)
    (
        r"the document at this address is the (?P<printed>\d+) report, not the (?P<asked>\d+) report",
        "该地址发布的是{printed}年度报告，不是{asked}年度报告：已按{printed}年度保存，{asked}年度报告记为缺失",
    ),
    # unreadable files (the parser prefixes the path)
    (r"(?:the file|The file) is empty \(0 bytes\).*", "文件为空（0 字节），请重新下载"),
    (r"The PDF is cut off.*", "PDF 文件不完整（缺少结尾标记 %%EOF），请重新下载"),
    (r"The PDF is damaged \((?P<why>.*)\).*", "PDF 文件已损坏（{why}），请重新下载"),
    (r".*\bencrypted\b.*", "文件已加密，无法读取：请向发布机关索取未加密的版本"),
    (r"this is an RTF file.*", "这是 RTF 文件：请另存为 .docx 或 PDF 后再读取"),
    (r".*truncated or corrupt \((?P<why>.*)\).*", "文件不完整或已损坏（{why}），请重新下载"),
    (r"the Word document XML is corrupt \((?P<why>.*)\).*", "Word 文档内容已损坏（{why}），请重新下载或重新保存"),
    (r"a zip file that is not a Word \.docx.*", "这是 zip 文件但不是 Word .docx（可能是 .xlsx、.odt 或压缩包）"),
    (r"the bytes are not a \.docx \(zip\) file", "文件不是 Word .docx（zip）格式"),
    (r"the bytes are not a PDF, Word, HTML or text document", "文件不是 PDF、Word、HTML 或文本文档"),
    (r"(?P<name>\S+) is (?P<n>\d+) bytes: too large to read", "{name} 有 {n} 字节，过大，未读取"),
    (r"the \.docx file has no (?P<name>\S+): re-download it", "Word 文件缺少 {name}，请重新下载"),
    (r"cannot open the file \((?P<why>.+)\)", "无法打开文件（{why}）"),
    # parse issues
    (r"row label '(?P<label>.+)' matches no template row", "行标签“{label}”与模板中的任何一行都不对应"),
    (r"label '(?P<label>.+)' read as (?P<row>.+)", "标签“{label}”按模板行“{row}”读取"),
    (
        r"(?P<table>.+?) row (?P<row>.+) has (?P<n>\d+) values for (?P<m>\d+) columns; none were used",
        "{table}“{row}”一行有 {n} 个数值，模板有 {m} 列，未采用",
    ),
    (r"(?P<table>.+?) row (?P<row>.+) printed twice; first kept", "{table}“{row}”一行印了两次，采用第一次"),
    (
        r"(?P<table>.+?) data row has (?P<n>\d+) values for (?P<m>\d+) cells; none were used",
        "{table}数据行有 {n} 个数值，模板有 {m} 个单元格，未采用",
    ),
    (
        r"(?P<table>.+?) data row printed again; the (?P<n>\d+) cells read before were kept",
        "{table}数据行印了两次，采用先读到的 {n} 个单元格",
    ),
    (r"not a statutory annual report: pre-2019 report layout", "不是法定格式的年度报告：2019 年以前的版式"),
    (
        r"not a statutory annual report: no statutory 表三 labels found",
        "不是法定格式的年度报告：没有找到法定表三的行标签",
    ),
    (r"not a statutory annual report: (?P<rest>.+)", "不是法定格式的年度报告：{rest}"),
    (r"table (?P<table>.+) not found in the document", "文档中没有找到{table}"),
    (r"row (?P<row>.+) not found in table (?P<table>.+)", "{table}中没有找到“{row}”一行"),
    (r"section heading\(s\) not found: (?P<sections>.+)", "没有找到这些章节标题：{sections}"),
    (r"2021 template with the old single row.*", ISSUE_TEXTS["hybrid_other_handling"]),
    (r"the statutory tables carry no figures \(blank template\)", ISSUE_TEXTS["blank_template"]),
    # pages and images OCR did not start because they did not fit in the parse time limit
    (
        r"Page (?P<page>\d+) has no text layer \((?P<what>.+?)\): it was not read by OCR within the parse "
        r"time limit of (?P<s>[\d.]+) s; .*",
        lambda m: (
            f"第 {m['page']} 页没有文字层（{_OCR_WHAT.get(m['what'], m['what'])}），在 {m['s']} 秒的解析时限内"
            "未能做 OCR，内容未读取：请调高 [xxgk.limits] 的 parse_seconds 后重新解析，或向发布机关索取文字版 PDF"
        ),
    ),
    (
        r"Page (?P<page>\d+) is an image: it was not read by OCR within the parse time limit of (?P<s>[\d.]+) s; .*",
        "第 {page} 页为图像，在 {s} 秒的解析时限内未能做 OCR，内容未读取："
        "请调高 [xxgk.limits] 的 parse_seconds 后重新解析，或向发布机关索取文字版文件",
    ),
    (
        r"(?P<n>\d+) image\(s\) of the body were not read by OCR within the parse time limit of (?P<s>[\d.]+) s",
        "正文中 {n} 幅图片在 {s} 秒的解析时限内未能识别：请调高 [xxgk.limits] 的 parse_seconds 后重新解析",
    ),
    (
        r"Page (?P<page>\d+) has no text layer \((?P<what>.+?)\): .*",
        lambda m: (
            f"第 {m['page']} 页没有文字层（{_OCR_WHAT.get(m['what'], m['what'])}），内容未读取："
            "请做 OCR 或向发布机关索取文字版 PDF"
        ),
    ),
    # what OCR did with a page or a body image (sources.parsing.readers.pdf / image / body_images)
    (
        r"Page (?P<page>\d+) (?:has no text layer|is an image): it was read by OCR \((?P<n>\d+) text lines\)\.",
        "第 {page} 页为图像，已用本地 OCR 识别（{n} 行文字），数字须经核验",
    ),
    (
        r"Page (?P<page>\d+) has no text layer and shows neither a ruled table nor a section heading "
        r"\(a look of (?P<s>[\d.]+) s\): not read by OCR\.",
        "第 {page} 页没有文字层，预览（{s} 秒）未见带框线的表格或章节标题：未做 OCR",
    ),
    (
        r"Image (?P<n>\d+) of the body \((?P<src>.*)\) was read by OCR \((?P<lines>\d+) text lines\)\.",
        "正文第 {n} 幅图片（{src}）已用本地 OCR 识别（{lines} 行文字），数字须经核验",
    ),
    (
        r"(?P<n>\d+) more image\(s\) of the body were not read \(at most (?P<max>\d+) are\)",
        "正文另有 {n} 幅图片未识别（最多识别 {max} 幅）",
    ),
    (r"images of the body were not read: (?P<rest>.+)", "正文图片未识别：{rest}"),
    (
        r"Image (?P<src>.+) of the body was not read: (?P<why>.+)",
        lambda m: f"正文图片 {m['src']} 未读取：{_IMAGE_REFUSED.get(m['why'], m['why'])}",
    ),
    # one OCR cell not used or not verified (sources.parsing.cells)
    (
        r"(?P<address>\S+): OCR read '(?P<raw>.*)', but (?P<rules>.+) fails on it; compare the page image "
        r"and confirm the value \(xxgk confirm\) before it is used",
        "{address}：OCR 识别为“{raw}”，但表内勾稽关系 {rules} 不成立，可能是识别错误："
        "请对照页面图像核实，用 xxgk confirm 记录原件上的数字后才能采信",
    ),
    (
        r"(?P<address>\S+): OCR read '(?P<raw>.*)' with confidence (?P<c>\S+) below (?P<t>\S+); check the page image",
        "{address}：OCR 识别为“{raw}”，置信度 {c} 低于 {t}，未采用：请对照页面图像核实",
    ),
    (
        r"(?P<address>\S+): OCR could not read a number here \(read '(?P<raw>.*)'\); check the page image",
        "{address}：OCR 在此处未能识别出数字（识别为“{raw}”），未采用：请对照页面图像核实",
    ),
    (
        r"Tables on page (?P<page>\d+) could not be read \((?P<why>.*)\); .*",
        "第 {page} 页的表格无法读取（{why}），请人工核对该页",
    ),
    (
        r"Page (?P<page>\d+) has no ruling lines: .*",
        "第 {page} 页的表格没有框线：按文字位置重建了表格行，请核对合并或拆分的行",
    ),
    (r"no charset declared; detected and decoded as (?P<enc>\S+)", "网页未声明字符集，检测为 {enc} 并按其解码"),
    (r"bytes are neither UTF-8 nor GB18030.*", "文件既不是 UTF-8 也不是 GB18030 编码，无法解码的字节已替换"),
    (r"some bytes could not be decoded and were replaced", "部分字节无法解码，已替换"),
    (r"unknown charset '(?P<label>.+)' declared in the (?P<where>\w+)", "声明了未知的字符集 {label}"),
    (
        r"the (?P<where>\w+) declares '(?P<label>.+)' but the bytes (?:read as|are not valid) (?P<enc>\S+)",
        "声明的字符集 {label} 与实际字节不符（{enc}）",
    ),
    (r"decoded as (?P<enc>\S+)(?: \(declared in the \w+\))?", "按 {enc} 解码"),
    (r"detected and decoded as (?P<enc>\S+)", "检测为 {enc} 并按其解码"),
    (r"no byte-order mark; the bytes read as (?P<enc>\S+)", "没有字节顺序标记，按 {enc} 解码"),
    (
        r"bytes are not valid (?P<enc>\S+) despite the byte-order mark.*",
        "文件有 {enc} 字节顺序标记但内容不是有效的 {enc}，无法解码的字节已替换",
    ),
    # one URL tried, as acquire summarises it: "url: status (reason)"
    (
        r"listing (?P<url>\S+): (?P<status>[a-z_]+)(?: \((?P<rest>.+)\))?",
        lambda m: f"栏目页 {m['url']}：{_status(m['status'])}" + (f"（{chinese(m['rest'])}）" if m["rest"] else ""),
    ),
    (
        r"(?P<url>(?:https?|file)://\S+|/\S+): (?P<status>[a-z_]+)(?: \((?P<rest>.+)\))?",
        lambda m: f"{m['url']}：{_status(m['status'])}" + (f"（{chinese(m['rest'])}）" if m["rest"] else ""),
    ),
    # the flows' parse guard, when a parse process died (not a timeout: that is parse_timeout)
    (
        r"RuntimeError: the parse process ended \((?:signal (?P<sig>\d+)|exit status (?P<code>\d+))\) while parsing",
        lambda m: (
            "解析进程在解析中意外结束（"
            + (f"信号 {m['sig']}" if m["sig"] else f"退出码 {m['code']}")
            + "）：文件可能异常，请人工检查；反复出现请检查机器内存"
        ),
    ),
    (
        r"RuntimeError: the parse process did not start within (?P<s>\S+) s",
        "解析进程未能在 {s} 秒内启动：请检查机器负载和内存后重跑",
    ),
    (
        r"RuntimeError: the parse process ended before it took the document",
        "解析进程在接手文件前结束：请重跑；反复出现请检查机器内存",
    ),
    # an exception's own words, as the pipeline records them ("ConnectError: …")
    (
        r"(?P<exc>[A-Z]\w*(?:Error|Exception|Timeout|Redirects))(?:: (?P<detail>.*))?",
        lambda m: (
            _EXCEPTIONS.get(m["exc"], "程序或网络错误")
            + f"（{m['exc']}"
            + (f": {m['detail']}）" if m["detail"] else "）")
        ),
    ),
]
_COMPILED = [(re.compile(p, re.DOTALL), zh) for p, zh in MESSAGES]
_HAS_CJK = re.compile(r"[\u3400-\u9fff]")
_PATH_PREFIX = re.compile(r"^(?P<path>(?:[A-Za-z]:)?[^\s:]*[/\\][^:]*|[^\s:/]+\.\w{2,5}): (?P<rest>.+)$", re.DOTALL)


def _one(text: str) -> str | None:
    for pattern, zh in _COMPILED:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        if callable(zh):
            return zh(m)
        parts = {k: (chinese(v) if k.startswith("rest") else v) for k, v in m.groupdict().items() if v is not None}
        return zh.format(**parts)
    return None


def chinese(text: str | None, fallback: str = "") -> str:
    """``text`` (an English message or reason of ``sources``) in Chinese; ``;``-separated parts each.

    A part no pattern knows keeps its words in parentheses after ``fallback`` (or 说明) — it is then an
    exception's or a server's own text.  Text that already is Chinese is returned as it is.
    """
    if not text:
        return fallback
    text = text.strip()
    if (zh := _one(text)) is not None:
        return zh
    if (m := _PATH_PREFIX.match(text)) and (zh := _one(m["rest"].strip())) is not None:
        return f"{m['path']}：{zh}"
    parts = [p.strip() for p in text.split("; ") if p.strip()]
    if len(parts) > 1:
        return "；".join(chinese(p, fallback) for p in parts)
    if _HAS_CJK.search(text) and not re.search(r"[A-Za-z]{4,} [a-z]{3,} [a-z]{3,}", text):
        return text
    return f"{fallback or '说明'}（{text}）"


def issue_text(issue: Mapping[str, Any]) -> str:
    """One parse issue (``code``, ``message``, ``page``) as a Chinese sentence."""
    code = str(issue.get("code") or "")
    lead = ISSUE_TEXTS.get(code, "")
    text = chinese(issue.get("message"), lead)
    page = issue.get("page")
    if page and f"第 {page} 页" not in text:
        text = f"第 {page} 页：{text}"
    return text


def tried_text(tried: Mapping[str, Any]) -> str:
    """One URL tried (``url``, ``status``, ``reason``): ``http://… → 不存在（HTTP 404，页面不存在）``."""
    status = _status(str(tried.get("status") or ""))
    reason = tried.get("reason")
    return f"{tried.get('url')} → {status}" + (f"（{chinese(reason)}）" if reason else "")
