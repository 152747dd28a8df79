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

import numpy as np

from sources.parsing.ocr.engine import OcrUnavailable
from sources.parsing.ocr.page import MIN_CONFIDENCE, OcrPage, OcrTable

__all__ = ["MIN_CONFIDENCE", "OcrPage", "OcrTable", "OcrUnavailable", "read_pages"]


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
