"""Local OCR for reports that arrive as images: scanned PDF pages, pages whose text is drawn as
outlines, and image files.

:mod:`~sources.parsing.ocr.engine` is the only module that imports the OCR engine (RapidOCR on
onnxruntime, models inside the wheel, CPU only); :mod:`~sources.parsing.ocr.grid` finds ruled tables
with OpenCV; :mod:`~sources.parsing.ocr.page` turns one page image into text and rows of physical
cells, each cell with its provenance (:class:`~sources.parsing.document.CellSource`).  Only this
package imports OpenCV.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from sources.parsing.ocr.engine import OcrUnavailable
from sources.parsing.ocr.page import MIN_CONFIDENCE, OcrPage, OcrTable

__all__ = ["FULL_READ_PAGES", "MIN_CONFIDENCE", "OcrPage", "OcrTable", "OcrUnavailable", "read_pages", "select_pages"]

#: A scanned document of at most this many pages is read in full; a longer one is looked at first
#: (:mod:`~sources.parsing.ocr.select`) and only its pages with a ruled table or a section heading
#: (and its first page: title, agency, year) are read.
FULL_READ_PAGES = 6


def select_pages(
    pages: list[tuple[int, np.ndarray]], check_time: Callable[[str], None] | None = None
) -> tuple[list[tuple[int, np.ndarray]], list[Any]]:
    """The page images worth a full OCR pass, and the :class:`~sources.parsing.ocr.select.Triage` of the
    pages left out (all pages are kept for a document of at most :data:`FULL_READ_PAGES` pages)."""
    if len(pages) <= FULL_READ_PAGES:
        return pages, []
    from sources.parsing.ocr.select import triage

    kept, skipped = [], []
    for i, (number, image) in enumerate(pages):
        if i == 0:
            kept.append((number, image))
            continue
        if check_time is not None:
            check_time(f"OCR 预判第 {number} 页")
        t = triage(image, number)
        if t.read:
            kept.append((number, image))
        else:
            skipped.append(t)
    return kept, skipped


def read_pages(
    pages: Iterable[tuple[int, np.ndarray, float]], check_time: Callable[[str], None] | None = None
) -> list[OcrPage]:
    """OCR page images given as ``(page number, greyscale uint8 array, page units per pixel)``;
    ``check_time(where)`` (the parse clock) is called before each page."""
    from sources.parsing.ocr.page import read_page

    out = []
    for number, image, scale in pages:
        if check_time is not None:
            check_time(f"OCR 第 {number} 页")
        out.append(read_page(image, number, scale))
    return out
