"""PDF reader: bytes of a 政府信息公开工作年度报告 PDF → :class:`~sources.parsing.document.Document`.

Two libraries, each used for what it is good at:

* **pypdfium2** (C, about 5 ms/page) reads the text layer of every page: the document text, the
  choice of which pages hold the statutory tables, the detection of image-only pages, and on a
  table page its characters with their boxes and the ruling edges of its drawn paths
  (:mod:`sources.parsing.readers.pdfgrid`).  pdfium is not thread-safe, so every pdfium call runs
  under :data:`_PDFIUM_LOCK`.
* **pdfplumber**'s table algorithm finds the ruled tables on that pdfium page model (measured on
  the real 5-page hongzequ report: 96 ms for its tables against 763 ms when pdfplumber parses the
  pages itself with pdfminer, the same cells), its costly parts rewritten for the same results in
  :mod:`sources.parsing.readers.pdftables` (cells, cell text, a second pass left out where it
  changes nothing).  pdfplumber parses a page itself only when the model cannot be trusted (a
  rotated page, a media box off the origin, a text object pdfium's text page lost) or holds no
  ruled table: there a table without ruling lines is rebuilt from word positions.  A font that is
  not embedded (reportlab's ``STSong-Light``, a ``宋体`` the publisher's PDF only names) gets
  glyphs from :mod:`sources.parsing.readers.pdffont`, without which pdfium's text page would lose
  its one-character lines and such pages would all go to pdfplumber (0.4 s of CPU per report).

Nothing here does I/O; :func:`read_pdf` is a pure function of the bytes.

(Over 500 lines: with ``pdftables.py`` this is the one module allowed to import pdfplumber (an
import-linter contract), and the ruled tables, the word-position tables and the stitching of tables
over pages all go through pdfplumber (its table algorithm, or its own page parse) into the same
:class:`_Table`; the pdfium page model, the table algorithm's rewritten parts, the fonts and the
stream checks already live apart in ``pdfgrid.py``, ``pdftables.py``, ``pdffont.py`` and
``pdf_streams.py``, and the pdfium page scan, which uses no pdfplumber, is the next seam to split
along.)
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pdfminer.pdfparser import PDFSyntaxError
from pdfminer.psparser import PSException
from pdfplumber.page import Page

from sources.parsing.document import CellSource, Document, Issue, Row, UnreadableDocument
from sources.parsing.limits import DEFAULT_LIMITS, PageBudget, ReadLimits
from sources.parsing.readers import pdffont
from sources.parsing.readers.pdf_streams import check_streams
from sources.parsing.readers.pdfgrid import PageModel, page_model, usable
from sources.parsing.readers.pdfminer_fonts import FontRepairs
from sources.parsing.readers.pdftables import extract_cells, find_tables, finder, outlines_drawn

if TYPE_CHECKING:
    from sources.parsing.ocr import OcrPage

#: pdfium crashes the interpreter when two threads use it at once: hold this around every call.
_PDFIUM_LOCK = threading.Lock()

#: A line that is only a page number: "- 3 -", "— 3 —", "－3－", "第3页", "第 3 页 共 5 页".
_FOOTER_RE = re.compile(
    r"^\s*(?:[-—–－―~]+\s*\d{1,4}\s*[-—–－―~]+|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?)\s*$"
)

#: Labels printed in the statutory tables (compared with all whitespace removed).
_TABLE_MARKERS = (
    "第二十条第",
    "信息内容",
    "本年制发件数",
    "本年废止件数",
    "现行有效件数",
    "处理决定数量",
    "收费金额",
    "本年新制作数量",
    "本年新公开数量",
    "对外公开总数量",
    "采购总金额",
    "申请人情况",
    "法人或其他组织",
    "本年新收",
    "上年结转",
    "予以公开",
    "部分公开",
    "不予公开",
    "无法提供",
    "不予处理",
    "其他处理",
    "结转下年度",
    "行政复议",
    "行政诉讼",
    "结果维持",
    "结果纠正",
    "尚未审结",
    "未经复议直接起诉",
    "复议后起诉",
)

#: Every character a page-number line (:data:`_FOOTER_RE`) can hold besides digits and blanks.
_FOOTER_CHARS = frozenset("-—–－―~第页共,，/")
_NUMBER_RE = re.compile(r"^[-+]?\d[\d,，]*(?:\.\d+)?%?$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

#: Page text shorter than this (non-whitespace chars, footer removed) counts as "no text layer".
_MIN_TEXT_CHARS = 16
#: An image covering at least this share of the page makes a text-less page a scanned page.
_MIN_IMAGE_SHARE = 0.2
#: A text-less page drawing at least this many paths probably has its text as outlines.
_MIN_OUTLINE_PATHS = 200

#: Line-based table finding: ruling lines only (text-box backgrounds are removed beforehand).
_LINE_SETTINGS: dict[str, Any] = {"vertical_strategy": "lines", "horizontal_strategy": "lines"}


@dataclass(frozen=True)
class _PageScan:
    """What pdfium saw on one page: footer-free text and whether it needs OCR."""

    number: int  # 1-based
    text: str
    needs_ocr: bool
    ocr_reason: str = ""
    chars: int = 0  # characters in pdfium's text layer
    objects: int = 0  # page objects (text runs, paths, images): what pdfplumber would have to parse
    model: PageModel | None = None  # characters and ruling edges of a table page (pdfium)
    table: bool = False  # not needing OCR and holding (part of) a statutory table (is_table_page)


@dataclass
class _Table:
    """One table found on one page: its position and its rows of physical cells."""

    page: int  # 1-based
    bbox: tuple[float, float, float, float]  # x0, top, x1, bottom
    rows: list[tuple[str, ...]]
    starts_page: bool = False  # no body text above it on its page
    ends_page: bool = False  # no body text below it on its page
    sources: list[tuple[CellSource, ...]] | None = None  # OCR provenance, row for row


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def read_pdf(data: bytes, limits: ReadLimits = DEFAULT_LIMITS) -> Document:
    """Read a PDF into a Document: reading-order text of all pages plus the statutory table rows.

    Raises :class:`UnreadableDocument` (``empty_file``, ``not_a_document``, ``encrypted``,
    ``truncated``) when the bytes cannot be read at all, and when a limit is reached: a stream
    inflating past its limit (``too_large``, found by :func:`check_streams` before any library
    inflates it), more than ``pdf_pages`` pages (``too_many_pages``), a table page too dense for
    pdfplumber (``too_large``), the parse clock (``parse_timeout``, checked between pages).
    Image-only pages are not an error: each gives an ``ocr_needed`` warning.
    """
    _check_bytes(data)
    check_streams(data, limits)
    scans, title = _scan_with_pdfium(data, limits)
    table_pages = [scan for scan in scans if scan.table]
    tables, table_issues = _extract_tables(data, table_pages, limits)
    # OCR last, in the time left on the parse clock: the pages that do not fit stay unread, with why
    needs_ocr = [scan.number for scan in scans if scan.needs_ocr][:MAX_OCR_PAGES]
    ocr_pages, ocr_issues, late = _ocr(data, needs_ocr, limits)
    issues = [
        _ocr_issue(scan, late=scan.number in late, limit=limits.parse_seconds)
        for scan in scans
        if scan.needs_ocr and scan.number not in ocr_pages
    ]
    tables += ocr_tables(ocr_pages.values())
    tables.sort(key=lambda t: (t.page, t.bbox[1]))
    texts = [ocr_pages[scan.number].text if scan.number in ocr_pages else scan.text for scan in scans]
    return Document(
        format="pdf",
        text="\n".join(texts),
        rows=tables_to_rows(tables),
        issues=issues + ocr_issues + table_issues,
        pages=len(scans),
        title=title,
        ocr_pages=len(ocr_pages),
        ocr_seconds=sum(p.seconds for p in ocr_pages.values()),
        ocr_late=len(late),
    )


# --------------------------------------------------------------------------------------------
# Byte checks and pdfium pass
# --------------------------------------------------------------------------------------------


def _check_bytes(data: bytes) -> None:
    """Raise UnreadableDocument for bytes that are empty, not a PDF, or cut off before the end."""
    if not data:
        raise UnreadableDocument("empty_file", "The file is empty (0 bytes): re-download it from the source.")
    if b"%PDF-" not in data[:1024]:
        raise UnreadableDocument(
            "not_a_document", "The file is not a PDF (no %PDF header): check the link points at the report."
        )
    if b"%%EOF" not in data[-2048:]:
        raise UnreadableDocument("truncated", "The PDF is cut off (no %%EOF at the end): re-download the file.")


def _scan_with_pdfium(data: bytes, limits: ReadLimits) -> tuple[list[_PageScan], str | None]:
    """Open the PDF with pdfium and return each page's footer-free text and OCR need, plus the title.

    All pdfium calls happen here, under the module lock.
    """
    with _PDFIUM_LOCK:
        pdffont.install()  # a Chinese font for fonts not embedded: else pdfium's text page loses text
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise _unreadable_from_pdfium(exc) from exc
        try:
            if len(pdf) > limits.pdf_pages:
                raise UnreadableDocument(
                    "too_many_pages",
                    f"PDF 有 {len(pdf)} 页，超过 {limits.pdf_pages} 页的上限：不像年度报告，请人工检查",
                )
            title = _clean_title(pdf.get_metadata_dict().get("Title"))
            scans = []
            for index in range(len(pdf)):
                limits.check_time(f"读取 PDF 第 {index + 1} 页")
                scans.append(_scan_page(pdf, index, limits))
        except pdfium.PdfiumError as exc:
            raise UnreadableDocument(
                "truncated", f"A page of the PDF is damaged ({exc}): re-download the file."
            ) from exc
        finally:
            pdf.close()
    return scans, title


def _unreadable_from_pdfium(exc: pdfium.PdfiumError) -> UnreadableDocument:
    """Map a pdfium load error onto an UnreadableDocument with an actionable one-line message."""
    code = getattr(exc, "err_code", None)
    if code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
        return UnreadableDocument(
            "encrypted", "The PDF is password-protected: ask the publisher for an unprotected copy."
        )
    if code == pdfium_c.FPDF_ERR_FORMAT:
        return UnreadableDocument("truncated", "The PDF is damaged or incomplete: re-download the file.")
    return UnreadableDocument("not_a_document", f"The file cannot be opened as a PDF ({exc}).")


def _scan_page(pdf: pdfium.PdfDocument, index: int, limits: ReadLimits = DEFAULT_LIMITS) -> _PageScan:
    """Read one page's text layer with pdfium and decide whether the page needs OCR (lock held).

    A page holding (part of) a statutory table also gets its :class:`PageModel` (characters and
    ruling edges), once its size is within ``page_chars`` / ``page_objects``."""
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            chars = textpage.count_chars()
            text = clean_page_text(textpage.get_text_bounded())
            reason = ""
            if len(re.sub(r"\s", "", text)) < _MIN_TEXT_CHARS:
                reason = _ocr_reason(page)
            objects = pdfium_c.FPDFPage_CountObjects(page.raw)
            model = None
            table = not reason and is_table_page(text)
            if table:
                limits.check_size(chars, limits.page_chars, f"PDF 第 {index + 1} 页的字符数")
                limits.check_size(objects, limits.page_objects, f"PDF 第 {index + 1} 页的绘图对象数")
                model = page_model(page, textpage) if usable(page) else None
        finally:
            textpage.close()
        return _PageScan(
            number=index + 1,
            text=text,
            needs_ocr=bool(reason),
            ocr_reason=reason,
            chars=chars,
            objects=objects,
            model=model,
            table=table,
        )
    finally:
        page.close()


def _ocr_reason(page: pdfium.PdfPage) -> str:
    """Why a page with (almost) no text layer still has content: "image", "outlines" or "" (lock held)."""
    width, height = page.get_size()
    page_area = max(width * height, 1.0)
    paths = 0
    for obj in page.get_objects(max_depth=4):
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            left, bottom, right, top = obj.get_bounds()
            if (right - left) * (top - bottom) >= _MIN_IMAGE_SHARE * page_area:
                return "image"
        elif obj.type == pdfium_c.FPDF_PAGEOBJ_PATH:
            paths += 1
    return "outlines" if paths >= _MIN_OUTLINE_PATHS else ""


def _ocr_issue(scan: _PageScan, late: bool = False, limit: float = 0.0) -> Issue:
    """The ``ocr_needed`` warning for a page whose content is not in the text layer (``late``: not read
    by OCR because it did not fit in the parse time limit of ``limit`` seconds)."""
    what = "a scanned image" if scan.ocr_reason == "image" else "drawn outlines, not text"
    if late:
        return Issue(
            code="ocr_needed",
            severity="warning",
            page=scan.number,
            message=f"Page {scan.number} has no text layer ({what}): it was not read by OCR within the parse "
            f"time limit of {limit:g} s; raise parse_seconds in [xxgk.limits] or get a text PDF from the publisher.",
        )
    return Issue(
        code="ocr_needed",
        severity="warning",
        page=scan.number,
        message=f"Page {scan.number} has no text layer ({what}): its content was not read; "
        "OCR it or get a text PDF from the publisher.",
    )


def _clean_title(value: object) -> str | None:
    """The metadata title when it is a real title (not empty, not a file name)."""
    if not isinstance(value, str):
        return None
    title = value.strip()
    if not title or re.search(r"\.(docx?|wps|pdf)$", title, re.IGNORECASE):
        return None
    return title


# --------------------------------------------------------------------------------------------
# OCR of pages without a text layer
# --------------------------------------------------------------------------------------------

#: Pages are rendered at this resolution for OCR (table text of 8–9 pt is then ~24 px high).
OCR_DPI = 200
#: At most this many pages of one document are OCR'd (a scanned book would take minutes).
MAX_OCR_PAGES = 40


def _ocr(data: bytes, numbers: Sequence[int], limits: ReadLimits) -> tuple[dict[int, OcrPage], list[Issue], list[int]]:
    """OCR the given 1-based pages in the time left on the parse clock: page number → what was read,
    issues about the reading, and the numbers of the pages left unread because they did not fit.

    Pages beyond :data:`MAX_OCR_PAGES`, or all of them when the engine is not installed, are
    left out (they keep their ``ocr_needed`` warning).
    """
    if not numbers:
        return {}, [], []
    from sources.parsing import ocr

    budget = PageBudget(limits)
    images, late = _render_pages(data, numbers, OCR_DPI, budget)
    try:
        images, skipped, unlooked = ocr.select_pages(images, budget)
        pages, unread = ocr.read_pages(((n, image, 72 / OCR_DPI) for n, image in images), budget, rendered=True)
    except ocr.OcrUnavailable as exc:
        return {}, [Issue("ocr_unavailable", "warning", f"{exc}; the scanned pages were not read")], []
    late = sorted([*unread, *unlooked, *late])
    read = [p for p in pages if p.boxes]  # a page where OCR saw no text keeps its ocr_needed warning
    issues = [
        Issue(
            "ocr_page",
            "info",
            f"Page {p.number} has no text layer: it was read by OCR ({p.boxes} text lines).",
            page=p.number,
        )
        for p in read
    ] + [
        Issue(
            "ocr_page",
            "info",
            f"Page {t.number} has no text layer and shows neither a ruled table nor a section heading "
            f"(a look of {t.seconds:.1f} s): not read by OCR.",
            page=t.number,
        )
        for t in skipped
    ]
    if read and skipped:  # the look is part of the OCR time
        read[0].seconds += sum(t.seconds for t in skipped)
    return {p.number: p for p in read}, issues, late


def _render_pages(
    data: bytes, numbers: Sequence[int], dpi: int, budget: PageBudget | None = None
) -> tuple[list[tuple[int, Any]], list[int]]:
    """The given 1-based pages as greyscale numpy arrays at ``dpi`` (pdfium, under the lock), and the
    numbers of those not rendered because no OCR page fits on the parse clock any more (``budget``)."""
    import numpy as np

    out: list[tuple[int, Any]] = []
    late: list[int] = []
    with _PDFIUM_LOCK:
        pdffont.install()
        pdf = pdfium.PdfDocument(data)
        try:
            for number in numbers:
                if late or (budget is not None and not budget.fits()):
                    late.append(number)
                    continue
                page = pdf[number - 1]
                try:
                    image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
                finally:
                    page.close()
                out.append((number, np.asarray(image)))
        finally:
            pdf.close()
    return out, late


def ocr_tables(pages: Iterable[OcrPage]) -> list[_Table]:
    """The tables OCR found, as the tables of a text layer (with their cells' provenance)."""
    return [
        _Table(
            page=t.page,
            bbox=t.bbox,
            rows=t.rows,
            starts_page=t.starts_page,
            ends_page=t.ends_page,
            sources=t.sources,
        )
        for p in pages
        for t in p.tables
    ]


# --------------------------------------------------------------------------------------------
# Text helpers (pure)
# --------------------------------------------------------------------------------------------


def clean_page_text(raw: str) -> str:
    """Normalise one page of pdfium text: "\\n" line ends, no control chars, no page-number lines."""
    text = _CONTROL_RE.sub("", raw.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip() for line in text.split("\n") if not is_footer_line(line)]
    return "\n".join(lines).strip("\n")


def is_footer_line(line: str) -> bool:
    """True when the line is only a page number such as "- 3 -", "— 3 —" or "第3页"."""
    return bool(_FOOTER_RE.match(line))


def is_table_page(text: str) -> bool:
    """True when a page's text looks like it holds (part of) a statutory table.

    Counts distinct table labels (第二十条, 本年新收, 行政复议, 结果维持 …) and lines that end in two
    or more numbers (a table row as pdfium prints it); two signals of either kind are enough.
    """
    compact = re.sub(r"\s", "", text)
    markers = sum(1 for marker in _TABLE_MARKERS if marker in compact)
    number_rows = sum(1 for line in text.split("\n") if _trailing_numbers(line.split()) >= 2)
    return markers + number_rows >= 2


def _trailing_numbers(tokens: Sequence[str]) -> int:
    """How many of the tokens at the end of a line are numbers."""
    count = 0
    for token in reversed(tokens):
        if not _NUMBER_RE.match(token):
            break
        count += 1
    return count


def _is_number(text: str) -> bool:
    """True for a cell text that is a number ("21", "7730.28", "1,234")."""
    return bool(_NUMBER_RE.match(text.strip()))


# --------------------------------------------------------------------------------------------
# Tables (pdfplumber)
# --------------------------------------------------------------------------------------------


def _extract_tables(
    data: bytes, scans: Sequence[_PageScan], limits: ReadLimits = DEFAULT_LIMITS
) -> tuple[list[_Table], list[Issue]]:
    """Find the tables on the given table pages.

    Ruled tables are found on the page's pdfium model (:mod:`pdfgrid`) by pdfplumber's own table
    algorithm; a page without a model (rotated, offset media box) or without ruled tables there is
    parsed by pdfplumber (ruled tables, then word positions), each such page once.
    """
    tables: list[_Table] = []
    issues: list[Issue] = []
    rest = []
    for scan in scans:
        limits.check_time(f"读取 PDF 第 {scan.number} 页的表格")
        found = _model_tables(scan.model, scan.number) if scan.model is not None else []
        if found:
            tables.extend(found)
        else:
            rest.append(scan.number)
    if not rest:
        return tables, issues
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except (PSException, PDFSyntaxError) as exc:
        raise UnreadableDocument("truncated", f"The PDF is damaged ({exc}): re-download the file.") from exc
    pdf.rsrcmgr = FontRepairs()  # CID fonts whose /CIDSystemInfo an encryption garbled still read as text
    with pdf:
        for number in rest:
            limits.check_time(f"读取 PDF 第 {number} 页的表格")
            page = pdf.pages[number - 1]
            try:
                page_tables, from_words = _page_tables(page, number)
            except (PSException, PDFSyntaxError, ValueError, KeyError, TypeError) as exc:
                issues.append(
                    Issue(
                        code="pdf_table_error",
                        severity="error",
                        page=number,
                        message=f"Tables on page {number} could not be read ({exc}); check the page by hand.",
                    )
                )
                continue
            finally:
                page.close()  # drop the parsed objects: each page is parsed once and never revisited
            if from_words:
                issues.append(
                    Issue(
                        code="pdf_table_from_words",
                        severity="info",
                        page=number,
                        message=f"Page {number} has no ruling lines: table rows were rebuilt "
                        "from word positions; check merged or split rows.",
                    )
                )
            tables.extend(page_tables)
    tables.sort(key=lambda t: (t.page, t.bbox[1]))
    return tables, issues


def _model_tables(model: PageModel, number: int) -> list[_Table]:
    """The ruled tables of one page model, with whether body text lies above / below each."""
    found = _ruled_tables(model, number)
    for table in found:
        table.starts_page, table.ends_page = _model_touches_edges(model, table.bbox)
    return found


def _model_touches_edges(model: PageModel, bbox: tuple[float, float, float, float]) -> tuple[bool, bool]:
    """:func:`_touches_page_edges` on a page model: the text of the characters overlapping the page
    above / below the table (as pdfplumber's ``crop(…).extract_text()`` takes them)."""
    _, top, _, bottom = bbox
    above = _text_in(model, (0, 0, model.width, max(top - 1, 0)))
    below = _text_in(model, (0, min(bottom + 1, model.height), model.width, model.height))
    return _only_footers(above), _only_footers(below)


def _text_in(model: PageModel, box: tuple[float, float, float, float]) -> str:
    """The text of the characters overlapping ``box`` as pdfplumber's ``crop(box).extract_text()``
    gives it — or, when one of them cannot be part of a page-number line, just that character (the
    caller only asks whether all lines are page numbers; a table has body text above it on most pages,
    and pdfplumber's text extraction cost as much as the table itself)."""
    from pdfplumber.utils import crop_to_bbox, extract_text

    x0, top, x1, bottom = box
    near = []
    for c in model.index.band(
        top, bottom
    ):  # pdfplumber's overlap test (get_bbox_overlap): touching counts, a point does not
        width, height = min(c["x1"], x1) - max(c["x0"], x0), min(c["bottom"], bottom) - max(c["top"], top)
        if width >= 0 and height >= 0 and width + height > 0:
            text = c["text"]
            if text and not (text.isspace() or text.isdecimal() or text in _FOOTER_CHARS):
                return str(text)
            near.append(c)
    return str(extract_text(crop_to_bbox(near, box))) if near else ""


def _page_tables(page: Page, number: int) -> tuple[list[_Table], bool]:
    """The tables of one page (ruled first, word positions as fallback), and whether the fallback ran."""
    tables = _ruled_tables(page, number)
    from_words = False
    if not tables:
        tables = _word_tables(page, number)
        from_words = bool(tables)
    for table in tables:
        table.starts_page, table.ends_page = _touches_page_edges(page, table.bbox)
    return tables, from_words


def _is_ruling_or_content(obj: dict[str, Any]) -> bool:
    """Filter for table finding: drop filled, unstroked, non-thin rects (text-box/shading backgrounds).

    WPS draws a white rect behind every text paragraph and shaded rects behind header rows; as
    table edges they turn narrative into pseudo-tables.  Lines, curves, stroked rects and thin
    filled rects (rules drawn as bars) are kept.
    """
    if obj.get("object_type") != "rect":
        return True
    if obj.get("stroke"):
        return True
    return min(obj.get("width", 0.0), obj.get("height", 0.0)) <= 2.0


def _ruled_tables(page: Page | PageModel, number: int, second_pass: bool = False) -> list[_Table]:
    """Tables bounded by ruling lines, with their outlines closed and 1-column pseudo-tables dropped.

    A table split over pages often lacks part of its top or bottom rule (WPS leaves the bottom
    rule of a page's last row to a white cell background, which is filtered out), so its first or
    last row would be lost.  The second pass closes each table's outline at the extent of the
    ruling lines that touch it.  It is left out when it cannot change anything
    (:func:`~sources.parsing.readers.pdftables.outlines_drawn`) unless ``second_pass``: it costs as
    much as the first.
    """
    ruled = page.filter(_is_ruling_or_content) if isinstance(page, Page) else page  # a model has no backgrounds
    found_by = finder(ruled, _LINE_SETTINGS)
    found = found_by.tables
    if not found:
        return []
    edges = ruled.edges
    extents = [ruling_extent(table.bbox, edges) for table in found]
    if second_pass or not outlines_drawn(extents, found, found_by.edges):
        outlines = [_bbox_rect(extent, page) for extent in extents]
        settings = {**_LINE_SETTINGS, "explicit_vertical_lines": outlines, "explicit_horizontal_lines": outlines}
        found = find_tables(ruled, settings)
    tables = []
    for table in sorted(found, key=lambda t: (t.bbox[1], t.bbox[0])):
        if isinstance(page, PageModel):
            rows = physical_rows(
                extract_cells(table.rows, page.chars, page.index)
            )  # a row's characters lie in its table
        else:
            rows = physical_rows(table.extract())
        if rows and max(len(row) for row in rows) >= 2:
            tables.append(_Table(page=number, bbox=table.bbox, rows=rows))
    return tables


def ruling_extent(
    bbox: tuple[float, float, float, float], edges: Sequence[dict[str, Any]], tolerance: float = 3.0
) -> tuple[float, float, float, float]:
    """A table's bounding box grown to the full extent of the ruling edges that touch it.

    Vertical rules reaching below the last horizontal rule mark a row that has lost its bottom
    rule; the grown box restores it.
    """
    x0, top, x1, bottom = bbox
    out = list(bbox)
    for edge in edges:
        if (
            edge["x0"] <= x1 + tolerance
            and edge["x1"] >= x0 - tolerance
            and edge["top"] <= bottom + tolerance
            and edge["bottom"] >= top - tolerance
        ):
            out = [
                min(out[0], edge["x0"]),
                min(out[1], edge["top"]),
                max(out[2], edge["x1"]),
                max(out[3], edge["bottom"]),
            ]
    return (out[0], out[1], out[2], out[3])


def _bbox_rect(bbox: tuple[float, float, float, float], page: Page | PageModel) -> dict[str, Any]:
    """A rect object (as pdfplumber describes one) with the given bounding box, for explicit edges."""
    x0, top, x1, bottom = bbox
    return {
        "object_type": "rect",
        "x0": x0,
        "x1": x1,
        "top": top,
        "bottom": bottom,
        "width": x1 - x0,
        "height": bottom - top,
        "y0": page.height - bottom,
        "y1": page.height - top,
        "doctop": (page.initial_doctop if isinstance(page, Page) else 0) + top,
    }


def physical_rows(grid: Iterable[Sequence[str | None]]) -> list[tuple[str, ...]]:
    """pdfplumber table grid → rows of physical cells.

    ``None`` marks a position covered by a merged cell and is dropped; "" (a real, empty cell) is
    kept; cell text is stripped at the ends only.  Rows with no text at all are dropped.
    """
    rows = []
    for grid_row in grid:
        cells = tuple((cell or "").strip() for cell in grid_row if cell is not None)
        if any(cells):
            rows.append(cells)
    return rows


def _touches_page_edges(page: Page, bbox: tuple[float, float, float, float]) -> tuple[bool, bool]:
    """Whether there is no body text above / below the table on its page (page numbers ignored)."""
    _, top, _, bottom = bbox
    above = page.crop((0, 0, page.width, max(top - 1, 0)), strict=False).extract_text()
    below = page.crop((0, min(bottom + 1, page.height), page.width, page.height), strict=False).extract_text()
    return _only_footers(above), _only_footers(below)


def _only_footers(text: str) -> bool:
    """True when the text is empty or only page-number lines."""
    return all(not line.strip() or is_footer_line(line) for line in text.split("\n"))


# --------------------------------------------------------------------------------------------
# Word-position fallback for tables without ruling lines
# --------------------------------------------------------------------------------------------


def _word_tables(page: Page, number: int) -> list[_Table]:
    """Tables rebuilt from word positions on a page without usable ruling lines."""
    words = [w for w in page.extract_words(keep_blank_chars=False) if w["text"].strip()]
    lines = [line for line in cluster_lines(words) if not is_footer_line(" ".join(w["text"] for w in line))]
    cells = [split_cells(line) for line in lines]
    tables = []
    for start, end in table_blocks([len(c) for c in cells]):
        block = merge_label_and_number_lines(cells[start:end])
        rows = [tuple(cell["text"] for cell in row) for row in block]
        if max(len(row) for row in rows) < 2:
            continue
        bbox = _words_bbox([w for line in lines[start:end] for w in line])
        tables.append(_Table(page=number, bbox=bbox, rows=rows))
    return tables


def cluster_lines(words: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Group words into printed lines (a word joins a line when its middle lies inside the line's band).

    Lines come top to bottom, words in a line left to right.
    """
    lines: list[list[dict[str, Any]]] = []
    band: tuple[float, float] | None = None
    for word in sorted(words, key=lambda w: (w["top"], w["x0"])):
        middle = (word["top"] + word["bottom"]) / 2
        if band is not None and band[0] <= middle <= band[1]:
            lines[-1].append(word)
            band = (min(band[0], word["top"]), max(band[1], word["bottom"]))
        else:
            lines.append([word])
            band = (word["top"], word["bottom"])
    return [sorted(line, key=lambda w: w["x0"]) for line in lines]


def split_cells(line: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Split one line of words into cells: a gap wider than the smaller neighbouring font starts a cell.

    Returns cells as ``{"text", "x0", "x1", "size"}``; words inside a cell are joined with one
    space (so a label with a space in it stays one cell), and justified narrative (gaps of a few
    points) stays one cell.  The smaller of the two word heights is used because digits often
    report taller boxes than the CJK label before them.
    """
    cells: list[dict[str, Any]] = []
    for word in line:
        size = word["bottom"] - word["top"]
        if cells and word["x0"] - cells[-1]["x1"] <= min(size, cells[-1]["size"]):
            cells[-1]["text"] += " " + word["text"]
            cells[-1]["x1"] = word["x1"]
            cells[-1]["size"] = size
        else:
            cells.append({"text": word["text"], "x0": word["x0"], "x1": word["x1"], "size": size})
    return cells


def table_blocks(cell_counts: Sequence[int], max_single_run: int = 2) -> list[tuple[int, int]]:
    """Index ranges [start, end) of lines that form tables, from the lines' cell counts.

    A block runs from a multi-cell line to a later multi-cell line; up to ``max_single_run``
    single-cell lines in a row (a heading between sub-tables, a wrapped label) stay inside it, a
    longer run (a narrative paragraph) ends it.  Single-cell lines before or after a block are
    narrative and left out.  A block needs at least two multi-cell lines.
    """
    blocks: list[tuple[int, int]] = []
    multi = [i for i, count in enumerate(cell_counts) if count >= 2]
    group: list[int] = []
    for i in multi:
        if group and i - group[-1] - 1 > max_single_run:
            blocks.append((group[0], group[-1] + 1))
            group = []
        group.append(i)
    if group:
        blocks.append((group[0], group[-1] + 1))
    return [(start, end) for start, end in blocks if sum(1 for i in multi if start <= i < end) >= 2]


def merge_label_and_number_lines(lines: Sequence[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Join a label-only line with the numbers-only line right below it into one row.

    This undoes a wrapped label whose numbers are printed on their own line ("（二）部分公开…" /
    "4 0 0 0 0 0 4").  It only merges when the numbers all lie to the right of the label text, so
    two rows of a column (two labels, or a label above a header line) are never joined.
    """
    out: list[list[dict[str, Any]]] = []
    for cells in lines:
        previous = out[-1] if out else None
        if (
            previous is not None
            and all(_is_number(c["text"]) for c in cells)
            and not any(_is_number(c["text"]) for c in previous)
            and len(previous) == 1
            and cells[0]["x0"] > previous[-1]["x1"]
        ):
            out[-1] = [*previous, *cells]
        else:
            out.append(list(cells))
    return out


def _words_bbox(words: Sequence[dict[str, Any]]) -> tuple[float, float, float, float]:
    """The bounding box (x0, top, x1, bottom) of some words."""
    return (
        min(w["x0"] for w in words),
        min(w["top"] for w in words),
        max(w["x1"] for w in words),
        max(w["bottom"] for w in words),
    )


# --------------------------------------------------------------------------------------------
# Tables → rows
# --------------------------------------------------------------------------------------------


def tables_to_rows(tables: Sequence[_Table]) -> list[Row]:
    """Number the tables and their rows; a table continued on the next page keeps its table index.

    A table continues the previous one when the previous table is the last thing on its page, this
    one the first thing on the next page, with no body text in between.
    """
    rows: list[Row] = []
    index = -1
    line = 0
    previous: _Table | None = None
    for table in tables:
        if not _continues(previous, table):
            index += 1
            line = 0
        for i, cells in enumerate(table.rows):
            line += 1
            sources = table.sources[i] if table.sources is not None else None
            rows.append(Row(cells=cells, page=table.page, line=line, table=index, sources=sources))
        previous = table
    return rows


def _continues(previous: _Table | None, table: _Table) -> bool:
    """True when ``table`` is the next-page continuation of ``previous``."""
    return previous is not None and table.page == previous.page + 1 and previous.ends_page and table.starts_page
