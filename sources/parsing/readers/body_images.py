"""Images inside a report body — an HTML page or a DOCX whose statutory tables were pasted as
pictures — read by OCR where they stand, so their rows reach the assembler in reading order.

Cheap first: the body's images are read only when its own tables lack a statutory table
(:func:`missing_tables`), only images that can hold a table (at least 300 × 100 pixels, read from
the image header), and at most :data:`~sources.parsing.readers.image.MAX_BODY_IMAGES` of them.
Every cell read carries its OCR provenance with ``page`` = the image's number in the body.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from sources.parsing.document import Document, Issue, Row
from sources.parsing.limits import PageBudget, ReadLimits

if TYPE_CHECKING:  # the image reader (numpy, the OCR engine) is imported only when an image is read
    from sources.parsing.readers.image import BodyImage

#: At most this many images inside one HTML or DOCX body are read by OCR.
MAX_BODY_IMAGES = 12
#: One image of a body (fetched, or read beside a local page) is at most this many bytes.
MAX_IMAGE_BYTES = 16 * 1024 * 1024

#: An ``<img`` tag anywhere in the page's bytes, in any letter case (ASCII-compatible encodings).
_IMG_TAG = re.compile(rb"<img", re.IGNORECASE)

#: Reads the images a page's body shows when the HTML reader asks for them: given the sources worth
#: reading (:func:`worth_reading`), their bytes by ``src`` as written.
ImageResolver = Callable[[Sequence[str]], Mapping[str, bytes]]

#: A statutory table is in the rows when one of its anchor labels is (表二 规章, 表三 本年新收, 表四 行政复议).
ANCHORS = {"t2": "规章", "t3": "本年新收", "t4": "行政复议"}


def missing_tables(rows: Iterable[Row]) -> set[str]:
    """The statutory tables (t2, t3, t4) none of whose anchor labels is in a cell of ``rows``."""
    missing = set(ANCHORS)
    for row in rows:
        for cell in row.cells:
            cell = "".join(cell.split())  # a narrow header cell breaks its label: 行政\n复议
            for table in [t for t in missing if ANCHORS[t] in cell]:
                missing.discard(table)
        if not missing:
            break
    return missing


def data_uri(src: str) -> bytes | None:
    """The bytes of a ``data:image/…;base64,`` source, None for any other or a broken one."""
    head, _, payload = src.partition(",")
    if not (head.startswith("data:image/") and head.endswith(";base64")):
        return None
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        return None


def wanted(rows: Sequence[Row], sources: Iterable[str], fetched: Mapping[str, bytes] | None) -> bool:
    """Whether the body's images are worth OCR: a statutory table is missing from its own tables and
    one of its images is at hand (fetched, or a ``data:`` URI)."""
    sources = [s.strip() for s in sources]
    at_hand = any(s in (fetched or {}) or s.startswith("data:image/") for s in sources)
    return at_hand and bool(missing_tables(rows))


@dataclass
class BodyImages:
    """Reads the images of one body as the walk meets them (``fetched``: bytes by ``src`` as written)."""

    fetched: Mapping[str, bytes]
    limits: ReadLimits
    done: list[tuple[str, BodyImage]] = field(default_factory=list)
    skipped: int = 0  # images past MAX_BODY_IMAGES
    late: int = 0  # images not read because no OCR page fitted on the parse clock any more
    unavailable: str | None = None
    budget: PageBudget | None = None  # made from ``limits`` at the first image

    def read(self, src: str, first_table: int, out: list[str], rows: list[Row]) -> int:
        """OCR image ``src`` (if at hand and table-sized): its text into ``out``, its rows into ``rows``
        with tables numbered from ``first_table``; returns the number of tables it added."""
        src = src.strip()
        data = self.fetched.get(src)
        if data is None:
            data = data_uri(src)
        if data is None or self.unavailable is not None:
            return 0
        if len(self.done) >= MAX_BODY_IMAGES:
            self.skipped += 1
            return 0
        from sources.parsing.ocr import OcrUnavailable
        from sources.parsing.readers.image import read_body_image, table_sized

        if not table_sized(data, self.limits):
            return 0
        self.budget = self.budget or PageBudget(self.limits)
        if not self.budget.fits():  # it would take the parse past its time limit
            self.late += 1
            return 0
        try:
            image = read_body_image(data, len(self.done) + 1, self.limits, self.budget)
        except OcrUnavailable as exc:
            self.unavailable = str(exc)
            return 0
        if image is None:
            return 0
        self.done.append((src, image))
        out.append("\n" + image.text + "\n")
        tables = sorted({r.table for r in image.rows if r.table is not None})
        number = {t: first_table + i for i, t in enumerate(tables)}
        rows.extend(replace(r, table=number.get(r.table) if r.table is not None else None) for r in image.rows)
        return len(tables)

    def document(self, doc: Document, text: str, rows: list[Row]) -> Document:
        """``doc`` with the text and rows of the walk that read the images, and what OCR did."""
        issues = list(doc.issues)
        for src, image in self.done:
            shown = src if not src.startswith("data:") else "data: URI"
            issues.append(
                Issue(
                    "ocr_page",
                    "info",
                    f"Image {image.number} of the body ({shown[:120]}) was read by OCR ({image.boxes} text lines).",
                    page=image.number,
                )
            )
        if self.skipped:
            issues.append(
                Issue(
                    "ocr_needed",
                    "warning",
                    f"{self.skipped} more image(s) of the body were not read (at most {MAX_BODY_IMAGES} are)",
                )
            )
        if self.late:
            issues.append(
                Issue(
                    "ocr_needed",
                    "warning",
                    f"{self.late} image(s) of the body were not read by OCR within the parse time limit of "
                    f"{self.limits.parse_seconds:g} s",
                )
            )
        if self.unavailable:
            issues.append(Issue("ocr_unavailable", "warning", f"images of the body were not read: {self.unavailable}"))
        return replace(
            doc,
            text=text,
            rows=rows,
            issues=issues,
            ocr_pages=doc.ocr_pages + len(self.done),
            ocr_seconds=doc.ocr_seconds + sum(i.seconds for _, i in self.done),
            ocr_late=doc.ocr_late + self.late,
        )


def worth_reading(rows: Sequence[Row], sources: Iterable[str]) -> list[str]:
    """Of the image ``sources`` (as written) a body shows, those worth fetching or reading from disk
    for OCR: none when ``rows`` (the body's own tables) hold every statutory table; ``data:`` URIs
    left out (they travel inside the page), duplicates once, at most MAX_BODY_IMAGES, in order."""
    found: list[str] = []
    for src in sources:
        src = src.strip()
        if src and not src.startswith("data:") and src not in found:
            found.append(src)
    if not found or not missing_tables(rows):
        return []
    return found[:MAX_BODY_IMAGES]


def shows_image(data: bytes) -> bool:
    """Whether the HTML bytes ``data`` hold an ``<img`` tag at all (any letter case; false for none means
    the page shows no image)."""
    return bool(_IMG_TAG.search(data))


def image_sources(data: bytes, content_type: str | None = None) -> list[str]:
    """The ``src`` (as written) of the images an HTML report page's body shows that are worth fetching
    for OCR (:func:`worth_reading`), from one read of the page by the HTML reader."""
    if not shows_image(data):  # no image at all: the page's tables need not be read (the fetcher's case)
        return []
    from sources.parsing.readers.html import html_image_sources

    return html_image_sources(data, content_type)
