"""Local OCR for reports that arrive as images: scanned PDF pages, pages whose text is drawn as
outlines, and image files.

:mod:`~sources.parsing.ocr.engine` is the only module that imports the OCR engine (RapidOCR on
onnxruntime, models inside the wheel, CPU only); :mod:`~sources.parsing.ocr.grid` finds ruled tables
with OpenCV; :mod:`~sources.parsing.ocr.page` turns one page image into text and rows of physical
cells, each cell with its provenance (:class:`~sources.parsing.document.CellSource`).  Only this
package imports OpenCV.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from sources.parsing.limits import PageBudget
from sources.parsing.ocr.engine import OcrUnavailable
from sources.parsing.ocr.page import MIN_CONFIDENCE, OcrPage, OcrTable

__all__ = ["FULL_READ_PAGES", "MIN_CONFIDENCE", "OcrPage", "OcrTable", "OcrUnavailable", "read_pages", "select_pages"]

#: A scanned document of at most this many pages is read in full; a longer one is looked at first
#: (:mod:`~sources.parsing.ocr.select`) and only its pages with a ruled table or a section heading
#: (and its first page: title, agency, year) are read.
FULL_READ_PAGES = 6


def select_pages(
    pages: list[tuple[int, np.ndarray]], budget: PageBudget | None = None
) -> tuple[list[tuple[int, np.ndarray]], list[Any], list[int]]:
    """The page images worth a full OCR pass, in the order to read them (ruled tables first, the first
    page last); the :class:`~sources.parsing.ocr.select.Triage` of the pages left out (all pages are
    kept, in page order, for a document of at most :data:`FULL_READ_PAGES` pages); and the numbers of
    the pages not looked at because no OCR page fits on the parse clock any more (``budget``)."""
    if len(pages) <= FULL_READ_PAGES:
        return pages, [], []
    from sources.parsing.ocr.select import triage

    kept: list[tuple[int, int, np.ndarray]] = []  # (rank, page number, image)
    skipped, late = [], []
    for i, (number, image) in enumerate(pages):
        if i == 0:
            kept.append((_RANK["first"], number, image))
        elif budget is not None and not budget.fits():  # no time to read what a look would find
            late.append(number)
        else:
            t = triage(image, number)
            if t.read:
                kept.append((_RANK[t.why], number, image))
            else:
                skipped.append(t)
    # the tables first: when the parse clock runs out, the pages left unread are the narrative ones
    return [(number, image) for _rank, number, image in sorted(kept, key=lambda k: k[:2])], skipped, late


#: The order in which the pages kept by the look are read: ruled tables (the statutory figures), pages
#: too dense to look at line by line, section headings, then the first page (title, agency, year).
_RANK = {"table": 0, "dense": 1, "heading": 2, "first": 3}


def read_pages(
    pages: Iterable[tuple[int, np.ndarray, float]], budget: PageBudget | None = None, rendered: bool = False
) -> tuple[list[OcrPage], list[int]]:
    """OCR page images given as ``(page number, greyscale uint8 array, page units per pixel)``: the
    pages read, and the numbers of those left unread because no OCR page fitted on the parse clock any
    more (``budget``: a page is started only when it fits).  ``rendered``: PDF pages rendered for OCR
    (:func:`~sources.parsing.ocr.page.read_page`)."""
    from sources.parsing.ocr.page import read_page

    out: list[OcrPage] = []
    late: list[int] = []
    for number, image, scale in pages:
        if late or (budget is not None and not budget.fits()):
            late.append(number)
            continue
        started = time.monotonic()
        out.append(read_page(image, number, scale, rendered))
        if budget is not None:
            budget.spent(time.monotonic() - started)
    return out, late
