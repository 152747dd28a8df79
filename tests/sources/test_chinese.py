"""What a person reads about parsing and fetching is Chinese: every message the parser writes for real
documents (the samples, a scanned PDF, broken files) and every fetch reason, through ``sources.chinese``."""

from __future__ import annotations

import re
import zipfile
from io import BytesIO
from pathlib import Path

import factory as f
import pytest

from sources import chinese
from sources.parsing.parse import parse_bytes

SAMPLES = Path(__file__).resolve().parents[2] / "sources" / "samples"
# three English words in a row outside parentheses: a sentence left untranslated
_ENGLISH = re.compile(r"[A-Za-z]{2,}[ ,]+[a-z]{2,}[ ,]+[a-z]{2,}")


def _outside_parentheses(text: str) -> str:
    while True:
        stripped = re.sub(r"（[^（）]*）|\([^()]*\)", "", text)
        if stripped == text:
            return text
        text = stripped


def assert_chinese(text: str) -> None:
    assert re.search(r"[\u4e00-\u9fff]", text), text
    assert not _ENGLISH.search(_outside_parentheses(text)), text


def _documents() -> dict[str, bytes]:
    docs = {p.name: p.read_bytes() for p in SAMPLES.iterdir() if p.suffix in (".html", ".docx", ".pdf", ".txt")}
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "x")
    cells = f.make_cells()
    docs |= {
        "scan.pdf": f.image_only_pdf(pages=2),
        "empty.pdf": b"",
        "cut.pdf": f.render_pdf(cells)[:-400],
        "notes.rtf": b"{\\rtf1 hello}",
        "archive.zip": buf.getvalue(),
        "blank.docx": f.render_blank_template("docx"),
        "noise.bin": bytes(range(256)) * 4,
    }
    return docs


def test_every_issue_and_error_of_real_documents_reads_in_chinese():
    seen: set[str] = set()
    for name, data in _documents().items():
        result = parse_bytes(data, f"/data/{name}")
        for issue in result["issues"]:
            seen.add(issue["code"])
            assert_chinese(chinese.issue_text(issue))
        if result.get("error"):
            assert_chinese(chinese.chinese(result["error"]))
    assert {"ocr_needed", "empty_file", "truncated", "unsupported_format", "not_a_document", "blank_template"} <= seen
    assert (
        chinese.issue_text(
            {
                "code": "ocr_needed",
                "page": 4,
                "message": "Page 4 has no text layer (a scanned image): its content was not read; OCR it or get a text "
                "PDF from the publisher.",
            }
        )
        == "第 4 页没有文字层（扫描图像），内容未读取：请做 OCR 或向发布机关索取文字版 PDF"
    )


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            "ocr_unverified",
            "t4.review.total: OCR read '0', but T4_BLOCK_TOTAL fails on it; compare the page image and confirm "
            "the value (xxgk confirm) before it is used",
            "第 4 页：t4.review.total：OCR 识别为“0”，但表内勾稽关系 T4_BLOCK_TOTAL 不成立，可能是识别错误："
            "请对照页面图像核实，用 xxgk confirm 记录原件上的数字后才能采信",
        ),
        (
            "ocr_low_confidence",
            "t3.new.natural: OCR read '18' with confidence 0.62 below 0.9; check the page image",
            "第 4 页：t3.new.natural：OCR 识别为“18”，置信度 0.62 低于 0.9，未采用：请对照页面图像核实",
        ),
        (
            "ocr_unreadable",
            "t3.new.natural: OCR could not read a number here (read '1S'); check the page image",
            "第 4 页：t3.new.natural：OCR 在此处未能识别出数字（识别为“1S”），未采用：请对照页面图像核实",
        ),
    ],
)
def test_ocr_cell_issues_read_as_one_chinese_sentence(code, message, expected):
    """The issue of an OCR cell not used or not verified, as the terminal, e-mail and workbook show it
    (it was shown as the code's label twice, the English words in parentheses between)."""
    assert chinese.issue_text({"code": code, "page": 4, "message": message}) == expected


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("HTTP 404", "HTTP 404，页面不存在"),
        ("http://a.gov.cn/2023.html: missing (HTTP 404)", "http://a.gov.cn/2023.html：不存在（HTTP 404，页面不存在）"),
        (
            "ConnectError: [Errno 111] Connection refused after 3 attempts",
            "连接失败（ConnectError: [Errno 111] Connection refused）（重试 3 次后仍失败）",
        ),
        (
            "host evil.example.com is not in allowed_hosts [a.gov.cn]",
            "主机 evil.example.com 不在允许的主机内（a.gov.cn）",
        ),
        (
            "listing http://a.gov.cn/nb/: no link matches '年报' for 2023 (12 links)",
            "栏目页 http://a.gov.cn/nb/ 的 12 个链接中没有与“年报”和 2023 年相符的",
        ),
        ("no URL configured for 2023 in [agency.reports]", "机关名录的 [agency.reports] 中没有 2023 年的地址"),
        (
            "RuntimeError: the parse process ended (signal 9) while parsing",
            "解析进程在解析中意外结束（信号 9）：文件可能异常，请人工检查；反复出现请检查机器内存",
        ),
        (
            "RuntimeError: the parse process did not start within 30 s",
            "解析进程未能在 30 秒内启动：请检查机器负载和内存后重跑",
        ),
        (
            "Page 3 has no text layer: it was read by OCR (40 text lines).",
            "第 3 页为图像，已用本地 OCR 识别（40 行文字），数字须经核验",
        ),
        (
            "Image 2 of the body (http://a.gov.cn/t3.png) was read by OCR (40 text lines).",
            "正文第 2 幅图片（http://a.gov.cn/t3.png）已用本地 OCR 识别（40 行文字），数字须经核验",
        ),
        ("larger than max_bytes=1000", "文件超过 1000 字节的上限，未下载"),
        ("attachment link gave an HTML page: error page: 404", "附件链接返回的是网页：错误页面（404，页面不存在）"),
        (
            "无法读取：/x/a.pdf: The PDF is cut off (no %%EOF at the end): re-download the file.",
            "无法读取：/x/a.pdf：PDF 文件不完整（缺少结尾标记 %%EOF），请重新下载",
        ),
    ],
)
def test_fetch_and_reject_reasons_in_chinese(reason, expected):
    assert chinese.chinese(reason) == expected
    assert_chinese(chinese.chinese(reason))


def test_every_stable_code_has_its_chinese_label():
    from sources.fetching.fetch import STATUSES as FETCH_STATUSES
    from warehouse.acquisitions import STATUSES

    assert set(STATUSES) <= set(chinese.ACQUISITION_STATUS)
    assert set(FETCH_STATUSES) <= set(chinese.FETCH_STATUS)
    readme = (SAMPLES.parents[1] / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"Issue codes: (.+?)\.\n\n", readme, re.DOTALL)
    assert listed is not None
    assert set(re.findall(r"`(\w+)`", listed.group(1))) <= set(chinese.ISSUE_TEXTS)


def test_every_issue_code_the_sources_raise_has_its_chinese_text():
    """A new code (a reader's error, a parse issue) is declared in sources/chinese.py with its Chinese."""
    root = SAMPLES.parent
    text = "\n".join(p.read_text(encoding="utf-8") for p in root.rglob("*.py"))
    codes = set(re.findall(r'(?:UnreadableDocument|Issue)\(\s*(?:code=)?"([a-z_]+)"', text))
    assert {"ocr_needed", "empty_file", "row_width"} <= codes
    assert codes - {"label_exact_match"} <= set(chinese.ISSUE_TEXTS)
