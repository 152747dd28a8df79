"""Image reader: a PNG, JPEG or TIFF file (a photographed or scanned report) → Document, by OCR.

Every frame of the file is one page (multi-page TIFF); page coordinates of the cells'
provenance are the image's pixels.  Nothing here does I/O.
"""

from __future__ import annotations

import io

import numpy as np

from sources.parsing.document import Document, Issue, UnreadableDocument
from sources.parsing.limits import DEFAULT_LIMITS, ReadLimits

#: At most this many frames of one file are read.
MAX_FRAMES = 40


def _frames(data: bytes, limits: ReadLimits) -> list[np.ndarray]:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            # a page at 300 dpi is ~9 M pixels (8-bit grey): the decoded frame is bounded like a part
            limits.check_size(img.width * img.height, limits.part_bytes, "图像的像素数")
            return [np.asarray(frame.convert("L")) for frame in list(ImageSequence.Iterator(img))[:MAX_FRAMES]]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UnreadableDocument("truncated", f"the image cannot be decoded ({exc}): re-download it") from exc


def read_image(data: bytes, limits: ReadLimits = DEFAULT_LIMITS) -> Document:
    """Read an image file by OCR: its text and its table rows, every cell with its OCR provenance."""
    from sources.parsing import ocr
    from sources.parsing.readers.pdf import ocr_tables, tables_to_rows

    frames = _frames(data, limits)
    limits = limits.extended(len(frames) * limits.ocr_page_seconds)  # OCR pages bring their own time
    try:
        pages = ocr.read_pages(((n, frame, 1.0) for n, frame in enumerate(frames, start=1)), limits.check_time)
    except ocr.OcrUnavailable as exc:
        raise UnreadableDocument("unsupported_format", f"an image file needs OCR: {exc}") from exc
    issues = [
        Issue(
            "ocr_page",
            "info",
            f"Page {p.number} is an image: it was read by OCR ({p.boxes} text lines).",
            page=p.number,
        )
        for p in pages
    ]
    return Document(
        format="image",
        text="\n".join(p.text for p in pages),
        rows=tables_to_rows(ocr_tables(pages)),
        issues=issues,
        pages=len(pages),
        ocr_pages=len(pages),
        ocr_seconds=sum(p.seconds for p in pages),
    )
