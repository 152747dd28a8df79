"""The format-neutral document every reader produces, and the parse result every reader ends in.

Readers (``sources.parsing.readers.*``) turn bytes into a :class:`Document`: the reading-order text of the
whole report plus its table rows, each row being the *physical* cells as printed (a cell covered
by a rowspan/colspan is not repeated).  ``sources.parsing.assemble`` then maps a Document onto the cells of
a statutory template.  Nothing here does I/O.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any


class UnreadableDocument(Exception):
    """Raised by a reader when the bytes cannot be read at all (truncated, encrypted, not a document).

    ``code`` is a stable machine code (``empty_file``, ``encrypted``, ``truncated``, ``not_a_document``,
    ``unsupported_format``); the message is one line a person can act on.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CellSource:
    """Where a cell's text came from when it was not in a text layer: an OCR reading.

    ``box`` is ``(x0, top, x1, bottom)`` in page coordinates (PDF points from the top-left corner
    for a PDF page, pixels for an image file); ``text`` is the text as the engine recognised it,
    ``confidence`` its score (0–1, None for a cell where nothing was recognised).  ``status``:
    ``ok``; ``low_confidence`` (a value read below the confidence threshold); ``unreadable`` (a
    value with a character that is not part of a number, or ink where nothing could be read).
    A cell whose status is not ``ok`` is a value cell whose value is not used.
    """

    page: int | None
    box: tuple[float, float, float, float]
    text: str
    confidence: float | None
    status: str = "ok"  # ok | low_confidence | unreadable
    method: str = "ocr"
    #: The cell's image as scanned (greyscale PNG, at most CROP_WIDTH px wide) for a value cell, so a
    #: person can compare it with the value read; kept in the parse result only where one must look.
    crop: bytes | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method,
            "page": self.page,
            "box": [round(v, 1) for v in self.box],
            "text": self.text,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "status": self.status,
        }
        if self.crop is not None:
            out["crop"] = base64.b64encode(self.crop).decode("ascii")
        return out


@dataclass(frozen=True)
class Row:
    """One printed table row: its physical cells left to right, with where it was found.

    ``cells`` holds the text of each cell as printed (whitespace inside kept; the assembler
    normalises).  ``page`` is 1-based (PDF/DOCX page when known), ``line`` is the 1-based line of a
    text document or the 1-based row index inside its table, ``table`` the 0-based index of the
    table in the document.  ``sources`` (OCR only) holds one :class:`CellSource` per cell.

    Exported text can lose cells (``sources.parsing.readers.pipes``): ``short`` is how many cells
    the row lacks against its table's width (which ones is unknown), and ``refused`` says why the
    reader could not tell its values apart; the row still names its label, so the assembler can
    say which template row could not be read.
    """

    cells: tuple[str, ...]
    page: int | None = None
    line: int | None = None
    table: int | None = None
    short: int = 0
    refused: str | None = None
    sources: tuple[CellSource, ...] | None = None

    def source(self, index: int) -> CellSource | None:
        """The OCR provenance of the cell at ``index`` (None for a cell of a text layer)."""
        if self.sources is None or not 0 <= index < len(self.sources):
            return None
        return self.sources[index]


@dataclass(frozen=True)
class Issue:
    """Something a reader or the assembler noticed about a document, with a stable ``code``."""

    code: str
    severity: str  # error | warning | info
    message: str
    address: str | None = None
    page: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "severity": self.severity, "message": self.message}
        if self.address:
            out["address"] = self.address
        if self.page is not None:
            out["page"] = self.page
        return out


@dataclass
class Document:
    """A report as read from one file: reading-order text and table rows.

    ``text`` is the whole document as plain text in reading order (headings, narrative and table
    text), used for section detection, agency/year/date and narrative checks.  ``rows`` are the
    table rows of every table, in reading order; rows of consecutive tables (a table continued on
    the next page) simply follow each other.
    """

    format: str  # text | html | pdf | docx | image
    text: str
    rows: list[Row] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    pages: int | None = None
    title: str | None = None  # <title> or first heading, when the format has one
    ocr_pages: int = 0  # pages (or images) read by OCR
    ocr_seconds: float = 0.0  # time spent on them
    ocr_late: int = 0  # pages (or images) not read by OCR because they did not fit in the parse time limit
