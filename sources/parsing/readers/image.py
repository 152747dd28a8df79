"""Image reader: a PNG, JPEG or TIFF file (a photographed or scanned report) → Document, by OCR; and
one image inside a report body (an HTML page or a DOCX whose tables were pasted as pictures) → rows.

Every frame of the file is one page (multi-page TIFF); page coordinates of the cells'
provenance are the image's pixels.  Nothing here does I/O.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import numpy as np

from sources.parsing.document import Document, Issue, Row, UnreadableDocument
from sources.parsing.limits import DEFAULT_LIMITS, PageBudget, ReadLimits, timeout_message

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
    budget = PageBudget(limits)
    try:
        pages, late = ocr.read_pages(((n, frame, 1.0) for n, frame in enumerate(frames, start=1)), budget)
    except ocr.OcrUnavailable as exc:
        raise UnreadableDocument("unsupported_format", f"an image file needs OCR: {exc}") from exc
    if not pages:  # not even one page fitted in the parse time limit: nothing was read
        raise UnreadableDocument(
            "parse_timeout", timeout_message(limits.parse_seconds, "剩余时间不够 OCR 识别一页图像")
        )
    issues = [
        Issue(
            "ocr_page",
            "info",
            f"Page {p.number} is an image: it was read by OCR ({p.boxes} text lines).",
            page=p.number,
        )
        for p in pages
    ] + [
        Issue(
            "ocr_needed",
            "warning",
            f"Page {n} is an image: it was not read by OCR within the parse time limit of "
            f"{limits.parse_seconds:g} s; raise parse_seconds in [xxgk.limits] or get a text document "
            "from the publisher.",
            page=n,
        )
        for n in late
    ]
    return Document(
        format="image",
        text="\n".join(p.text for p in pages),
        rows=tables_to_rows(ocr_tables(pages)),
        issues=issues,
        pages=len(pages),
        ocr_pages=len(pages),
        ocr_seconds=sum(p.seconds for p in pages),
        ocr_late=len(late),
    )


# ------------------------------------------------------------------------ images inside a report body

#: A body image narrower or lower than this (pixels) is a logo, an icon or a seal, never a statutory table.
MIN_TABLE_WIDTH, MIN_TABLE_HEIGHT = 300, 100


@dataclass
class BodyImage:
    """What OCR read in one image of a report body: its text, its table rows (tables numbered from
    0, ``page`` = the image's number in the body), and the figures for the bench."""

    number: int
    text: str
    rows: list[Row]
    boxes: int
    seconds: float


def table_sized(data: bytes, limits: ReadLimits = DEFAULT_LIMITS) -> bool:
    """Whether an embedded image may hold a table: decodable, at least MIN_TABLE_WIDTH × MIN_TABLE_HEIGHT
    and within the pixel bound (read from the image header only: nothing is decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            w, h = img.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False
    return w >= MIN_TABLE_WIDTH and h >= MIN_TABLE_HEIGHT and w * h <= limits.part_bytes


def read_body_image(
    data: bytes, number: int, limits: ReadLimits = DEFAULT_LIMITS, budget: PageBudget | None = None
) -> BodyImage | None:
    """OCR one image of a report body (a table pasted as a screenshot), started only when it fits on the
    caller's parse clock (``budget``: the caller checks, this records the time it took); None when it
    cannot hold a table (see :func:`table_sized`) or cannot be decoded.
    Its cells carry their provenance with
    ``page`` = ``number`` and boxes in the image's pixels.  Raises :class:`ocr.OcrUnavailable`."""
    from sources.parsing import ocr
    from sources.parsing.readers.pdf import ocr_tables, tables_to_rows

    if not table_sized(data, limits):
        return None
    try:
        frame = _frames(data, limits)[0]
    except (UnreadableDocument, IndexError):
        return None
    started = time.monotonic()
    (page,), _late = ocr.read_pages([(number, frame, 1.0)])
    if budget is not None:
        budget.spent(time.monotonic() - started)
    return BodyImage(number, page.text, tables_to_rows(ocr_tables([page])), page.boxes, page.seconds)
